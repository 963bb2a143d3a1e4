// The playground's entry: the API key field, the two views and their tabs.

import { apiKey } from "./api.js";
import { $, languages } from "./dom.js";
import { setUpFunctionsView } from "./functions.js";
import { setUpRunView } from "./run.js";

const keyInput = $("api-key");
const keyState = $("key-state");

function showKeyState(text, bad = false) {
  keyState.textContent = text;
  keyInput.setAttribute("aria-invalid", String(bad));
  keyState.classList.toggle("bad", bad);
}

/** Point at the key field after the service refused it. */
function keyRefused() {
  showKeyState(apiKey.get() ? "refused" : "needed", true);
  keyInput.focus();
}

keyInput.value = apiKey.get();
showKeyState(apiKey.get() ? "saved" : "needed", !apiKey.get());
$("key-form").addEventListener("submit", (event) => {
  event.preventDefault();
  apiKey.set(keyInput.value.trim());
  showKeyState(apiKey.get() ? "saved" : "needed", !apiKey.get());
  if (!$("view-functions").hidden) functions.refresh();
});

const all = languages();
setUpRunView(all, keyRefused);
const functions = setUpFunctionsView(all, keyRefused);

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
