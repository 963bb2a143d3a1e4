// The "Run code" view: language, editor, options, Run/Stop, and the link that reproduces it.

import { ApiError, LOST, stream } from "./api.js";
import { $, h, isRunShortcut, words } from "./dom.js";
import { Output } from "./output.js";
import { createEditor } from "./vendor/editor.js";

/** Language and code from the URL's fragment: #lang=python&code=... */
function readLink() {
  const params = new URLSearchParams(location.hash.slice(1));
  return { lang: params.get("lang"), code: params.get("code") };
}

function linkFor(lang, code) {
  return `#${new URLSearchParams({ lang, code })}`;
}

function base64(file) {
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve(String(reader.result).split(",", 2)[1] || "");
    reader.onerror = () => reject(reader.error);
    reader.readAsDataURL(file);
  });
}

export function setUpRunView(languages, onKeyError) {
  const byName = new Map(languages.map((l) => [l.name, l]));
  const select = $("run-lang");
  for (const lang of languages) select.append(h("option", { value: lang.name }, lang.name));

  const link = readLink();
  let lang = byName.has(link.lang) ? link.lang : (byName.has("python") ? "python" : languages[0].name);
  const drafts = new Map(); // code typed per language, kept while switching
  if (link.code !== null && byName.has(link.lang)) drafts.set(lang, link.code);
  select.value = lang;

  let linkTimer = 0;
  const saveLink = () => {
    clearTimeout(linkTimer);
    linkTimer = setTimeout(() => history.replaceState(null, "", linkFor(lang, editor.getCode())), 250);
  };
  const output = new Output($("run-output"), { title: "Output", idle: "Run the code to see its output here." });
  const editor = createEditor($("run-editor"), {
    doc: drafts.get(lang) ?? byName.get(lang).example,
    language: lang,
    label: "Code",
    onChange: (code) => {
      drafts.set(lang, code);
      saveLink();
    },
    onRun: () => run(),
  });

  select.addEventListener("change", () => {
    drafts.set(lang, editor.getCode());
    lang = select.value;
    editor.setLanguage(lang);
    editor.setCode(drafts.get(lang) ?? byName.get(lang).example);
    saveLink();
  });

  // Files to send with the run, by name.
  const files = new Map();
  const fileList = $("run-file-list");
  const showFiles = () => {
    fileList.replaceChildren(...[...files.keys()].map((name) => {
      const remove = h("button", { type: "button", class: "small", "aria-label": `Remove ${name}` }, "Remove");
      remove.addEventListener("click", () => { files.delete(name); showFiles(); });
      return h("li", {}, h("code", {}, name), remove);
    }));
  };
  $("run-files").addEventListener("change", async (event) => {
    for (const file of event.target.files) files.set(file.name, await base64(file));
    event.target.value = "";
    showFiles();
  });

  const runButton = $("run-btn");
  const stopButton = $("stop-btn");
  let controller = null;
  let clock = 0;

  function body() {
    const request = {
      lang,
      code: editor.getCode(),
      timeout: Number($("run-timeout").value),
      mem_limit_mb: Number($("run-memory").value),
      cpu_limit: Number($("run-cpu").value),
    };
    const deps = words($("run-deps").value);
    if (deps.length) request.dependencies = deps;
    if (files.size) request.files = [...files].map(([path, content]) => ({ path, content }));
    if ($("run-stdin").value) request.stdin = $("run-stdin").value;
    return request;
  }

  function setRunning(running) {
    runButton.disabled = running;
    stopButton.disabled = !running;
    output.root.setAttribute("aria-busy", String(running));
    clearInterval(clock);
    if (running) {
      const started = Date.now();
      const tick = () => output.setState(`Running… ${Math.floor((Date.now() - started) / 1000)} s`, "busy");
      tick();
      clock = setInterval(tick, 1000);
    }
  }

  async function run() {
    if (controller) return;
    output.reset();
    controller = new AbortController();
    setRunning(true);
    try {
      const last = await stream("code/run", body(), (chunk) => output.onChunk(chunk), controller.signal);
      if (!last || (last.event !== "result" && last.event !== "error")) {
        output.showMessage(LOST);
        output.setState("Connection lost", "bad");
      }
    } catch (error) {
      if (error.name === "AbortError") {
        output.setState("Stopped", "bad");
        output.showMessage("Stopped: the run's container was removed.", "info");
      } else {
        output.showMessage(error.message);
        output.setState(error instanceof ApiError && error.kind === "busy" ? "Busy" : "Not run", "bad");
        if (error.kind === "key") onKeyError();
        if (!(error instanceof ApiError)) console.error(error);
      }
    } finally {
      setRunning(false);
      controller = null;
    }
  }

  // A link pasted into this tab's address bar changes only the fragment: load it.
  window.addEventListener("hashchange", () => {
    const next = readLink();
    if (!byName.has(next.lang)) return;
    lang = next.lang;
    select.value = lang;
    editor.setLanguage(lang);
    editor.setCode(next.code ?? byName.get(lang).example);
  });

  runButton.addEventListener("click", run);
  stopButton.addEventListener("click", () => controller?.abort());
  $("share-btn").addEventListener("click", async () => {
    history.replaceState(null, "", linkFor(lang, editor.getCode()));
    const button = $("share-btn");
    try {
      await navigator.clipboard.writeText(location.href);
      button.textContent = "Link copied";
    } catch {
      button.textContent = "Link in address bar";
    }
    setTimeout(() => { button.textContent = "Copy link"; }, 2000);
  });
  $("view-run").addEventListener("keydown", (event) => {
    if (isRunShortcut(event) && !event.defaultPrevented) {
      event.preventDefault();
      run();
    }
  });
  return { editor };
}
