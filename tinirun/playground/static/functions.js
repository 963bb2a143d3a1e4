// The "Functions" view: the list with statuses, create, edit with the live build log, run with
// an input, delete.

import { ApiError, call, LOST, stream } from "./api.js";
import { $, h, isRunShortcut, words } from "./dom.js";
import { Output } from "./output.js";
import { createEditor } from "./vendor/editor.js";

const STATUS_TEXT = { ready: "ready", building: "building", error: "build failed", not_built: "not built" };
const POLL_MS = 2000;

function statusBadge(status, element = h("span")) {
  const type = status?.type || "not_built";
  element.className = `badge status-${type}`;
  element.textContent = STATUS_TEXT[type] || type;
  element.title = type === "error" ? status.message || "" : "";
  return element;
}

export function setUpFunctionsView(languages, onKeyError) {
  const newLang = $("fn-new-lang");
  for (const lang of languages) newLang.append(h("option", { value: lang.name }, lang.name));
  if (languages.some((l) => l.name === "python")) newLang.value = "python";

  const rows = $("fn-rows");
  const message = $("fn-message");
  const detail = $("fn-detail");
  const output = new Output($("fn-output"), { title: "Build and run", idle: "Build logs and run output appear here." });
  const editor = createEditor($("fn-editor"), { label: "Function code", onRun: () => runFunction() });
  let current = null; // {name, info} of the open function
  let busy = false;
  let pollTimer = 0;

  function say(text, kind = "error", cause = "") {
    message.hidden = !text;
    message.textContent = text || "";
    message.dataset.kind = kind;
    message.dataset.cause = cause;
  }

  function fail(error) {
    if (error instanceof ApiError && error.kind === "key") onKeyError();
    if (!(error instanceof ApiError)) console.error(error);
    return error.message || String(error);
  }

  async function refresh() {
    clearTimeout(pollTimer);
    let list;
    try {
      list = await call("GET", "function");
    } catch (error) {
      say(fail(error), "error", error.kind || "");
      return;
    }
    say("");
    rows.replaceChildren(...list.map(({ name, info }) => {
      const open = h("button", { type: "button", class: "link", "aria-current": current?.name === name ? "true" : null }, name);
      open.addEventListener("click", () => openFunction(name));
      return h("tr", { "data-name": name, class: current?.name === name ? "current" : null },
        h("th", { scope: "row" }, open), h("td", {}, info.lang),
        h("td", {}, statusBadge(info.status)), h("td", {}, `v${info.version}`));
    }));
    $("fn-empty").hidden = list.length > 0;
    const open = current && list.find((f) => f.name === current.name);
    if (open) statusBadge(open.info.status, $("fn-status"));
    // Builds started elsewhere (or still running after a hang-up) finish by themselves: watch them.
    if (list.some((f) => f.info.status.type === "building") && !$("view-functions").hidden) {
      pollTimer = setTimeout(refresh, POLL_MS);
    }
  }

  async function openFunction(name, keepOutput = false) {
    let info;
    try {
      info = await call("GET", `function/${encodeURIComponent(name)}/detail`);
    } catch (error) {
      say(fail(error), "error", error.kind || "");
      return;
    }
    current = { name, info };
    detail.hidden = false;
    $("fn-confirm").hidden = true;
    $("fn-title").textContent = name;
    statusBadge(info.status, $("fn-status"));
    $("fn-desc").value = info.description || "";
    $("fn-deps").value = info.dependencies || "";
    const language = languages.find((l) => l.name === info.lang);
    editor.setLanguage(language?.mode || "", language?.indent);
    editor.setCode(info.code);
    if (!busy && !keepOutput) {
      output.reset();
      const status = info.status;
      if (status.type === "error") output.showMessage(`The last build failed: ${status.message}`, "error", status.logs || "");
      if (status.type === "not_built") output.showMessage("Not built yet: Save and build to build it.", "info");
    }
    for (const row of rows.querySelectorAll("tr")) {
      const here = row.dataset.name === name;
      row.classList.toggle("current", here);
      row.querySelector("button").toggleAttribute("aria-current", here);
    }
  }

  /** Stream a build into the output; returns its last chunk, or throws what kept it from starting. */
  async function build(path, body) {
    busy = true;
    output.reset();
    output.setState("Building…", "busy");
    try {
      const last = await stream(path, body, (chunk) => output.onChunk(chunk));
      if (!last) output.showMessage(LOST);
      else if (last.event !== "error") output.setState("Built", "ok");
      return last;
    } catch (error) {
      output.setState("Not built", "bad");
      throw error;
    } finally {
      busy = false;
    }
  }

  $("fn-create").addEventListener("submit", async (event) => {
    event.preventDefault();
    const name = $("fn-new-name").value.trim();
    const language = newLang.value;
    if (busy) return;
    say("");
    current = null;
    detail.hidden = false;
    $("fn-confirm").hidden = true;
    $("fn-title").textContent = name;
    statusBadge({ type: "building" }, $("fn-status"));
    const spec = languages.find((l) => l.name === language);
    editor.setLanguage(spec?.mode || "", spec?.indent);
    editor.setCode(spec?.function_sample || "");
    try {
      await build("function", { name, language });
    } catch (error) {
      detail.hidden = true;
      say(fail(error), "error", error.kind || "");
      return;
    }
    $("fn-new-name").value = "";
    await refresh();
    await openFunction(name, true);
  });

  $("fn-save").addEventListener("click", async () => {
    if (!current || busy) return;
    statusBadge({ type: "building" }, $("fn-status"));
    const body = { code: editor.getCode(), description: $("fn-desc").value, dependencies: words($("fn-deps").value) };
    const name = current.name;
    try {
      await build(`function/${encodeURIComponent(name)}`, body);
    } catch (error) {
      output.showMessage(fail(error));
    }
    await refresh();
    if (current?.name === name) {
      const info = await call("GET", `function/${encodeURIComponent(name)}/info`).catch(() => null);
      if (info) statusBadge(info.status, $("fn-status"));
    }
  });

  async function runFunction() {
    if (!current || busy) return;
    busy = true;
    output.reset();
    output.setState("Running…", "busy");
    try {
      const last = await stream(`function/${encodeURIComponent(current.name)}/run/stream`,
        { input: $("fn-input").value }, (chunk) => output.onChunk(chunk));
      if (!last || (last.event !== "result" && last.event !== "error")) output.showMessage(LOST);
    } catch (error) {
      output.showMessage(fail(error));
      output.setState("Not run", "bad");
    } finally {
      busy = false;
    }
  }

  $("fn-run").addEventListener("click", runFunction);
  $("fn-detail").addEventListener("keydown", (event) => {
    if (isRunShortcut(event) && !event.defaultPrevented) {
      event.preventDefault();
      runFunction();
    }
  });

  $("fn-delete").addEventListener("click", () => {
    if (!current) return;
    $("fn-confirm-text").textContent = `Delete ${current.name} and its images?`;
    $("fn-confirm").hidden = false;
    $("fn-confirm-no").focus();
  });
  $("fn-confirm-no").addEventListener("click", () => {
    $("fn-confirm").hidden = true;
    $("fn-delete").focus();
  });
  $("fn-confirm-yes").addEventListener("click", async () => {
    if (!current) return;
    try {
      await call("DELETE", `function/${encodeURIComponent(current.name)}`);
    } catch (error) {
      output.showMessage(fail(error));
      return;
    }
    const name = current.name;
    current = null;
    detail.hidden = true;
    await refresh();
    say(`Deleted ${name}.`, "info");
    $("fn-new-name").focus();
  });
  $("fn-refresh").addEventListener("click", refresh);

  return {
    refresh,
    /** A key was accepted: drop a message that asked for one; list the functions if shown. */
    keyAccepted() {
      if (message.dataset.cause === "key") say("");
      if (!$("view-functions").hidden) refresh();
    },
  };
}
