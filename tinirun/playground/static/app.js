// The playground's entry: the API key field, the two views and their tabs.

import { apiKey, checkKey } from "./api.js";
import { $, languages } from "./dom.js";
import { setUpFunctionsView } from "./functions.js";
import { setUpRunView } from "./run.js";

const keyInput = $("api-key");
const keyState = $("key-state");

function showKeyState(text, kind = "") {
  keyState.textContent = text;
  keyState.dataset.kind = kind;
  keyInput.setAttribute("aria-invalid", String(kind === "bad"));
}

/** Point at the key field after the service refused it. */
function keyRefused() {
  showKeyState(apiKey.get() ? "refused" : "needed", "bad");
  keyInput.focus();
}

const all = languages();
const runView = setUpRunView(all, keyRefused);
const functions = setUpFunctionsView(all, keyRefused);

let checking = 0;
/** Check the stored key with the service; say whether it was taken. */
async function verifyKey() {
  const key = apiKey.get();
  if (!key) {
    showKeyState("needed", "bad");
    return;
  }
  const mine = ++checking;
  showKeyState("checking…", "busy");
  try {
    const described = await checkKey(key);
    if (mine !== checking) return;
    showKeyState(described ? "saved" : "saved (not checked)", "ok");
    if (described) runView.describe(described);
    runView.keyAccepted();
    functions.keyAccepted();
  } catch (error) {
    if (mine !== checking) return;
    if (error.kind === "key") showKeyState("refused", "bad");
    else showKeyState("saved; the service did not answer", "bad");
  }
}

keyInput.value = apiKey.get();
verifyKey();
$("key-form").addEventListener("submit", (event) => {
  event.preventDefault();
  apiKey.set(keyInput.value.trim());
  verifyKey();
});

// Tabs: click, or arrow keys between them (the WAI-ARIA tabs pattern).
const tabs = [$("tab-run"), $("tab-functions")];
function select(tab) {
  for (const other of tabs) {
    const on = other === tab;
    other.setAttribute("aria-selected", String(on));
    other.tabIndex = on ? 0 : -1;
    $(other.getAttribute("aria-controls")).hidden = !on;
  }
  if (tab.id === "tab-functions") functions.refresh();
}
for (const [index, tab] of tabs.entries()) {
  tab.addEventListener("click", () => select(tab));
  tab.addEventListener("keydown", (event) => {
    const step = { ArrowRight: 1, ArrowLeft: -1 }[event.key];
    if (!step) return;
    const next = tabs[(index + step + tabs.length) % tabs.length];
    next.focus();
    select(next);
  });
}
