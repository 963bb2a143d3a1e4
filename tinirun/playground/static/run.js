// The "Run code" view: language, editor, options, Run/Stop, the link that reproduces it, the
// problems the output names (marked in the editor) and this browser's history of runs.

import { ApiError, LOST, stream } from "./api.js";
import { findDiagnostics } from "./diagnostics.js";
import { $, argv, h, isRunShortcut, words } from "./dom.js";
import { loadHistory, remember } from "./history.js";
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
    mode: byName.get(lang).mode,
    indent: byName.get(lang).indent,
    label: "Code",
    onChange: (code) => {
      drafts.set(lang, code);
      saveLink();
    },
    onRun: () => run(),
  });

  /** Show `name`'s snippet (`code`, else its draft or example) in the editor. */
  function switchTo(name, code = null) {
    lang = name;
    select.value = name;
    editor.setLanguage(byName.get(name).mode, byName.get(name).indent);
    editor.setCode(code ?? drafts.get(name) ?? byName.get(name).example);
    editor.setProblems([]);
  }

  select.addEventListener("change", () => {
    drafts.set(lang, editor.getCode());
    switchTo(select.value);
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
    const args = argv($("run-args").value);
    if (args.length) request.args = args;
    return request;
  }

  // Problems the output names: marked in the editor, listed under the output.
  const diagnostics = new Map(); // language -> patterns, from /api/languages
  function markProblems(result) {
    const specs = diagnostics.get(lang) || [];
    const problems = result ? findDiagnostics(specs, `${result.stderr}\n${result.stdout}`) : [];
    editor.setProblems(problems);
    output.showProblems(problems, (problem) => editor.goTo(problem.line, problem.column || 1));
  }

  // This browser's last runs.
  const historyList = $("run-history-list");
  function showHistory(list = loadHistory()) {
    $("run-history-count").textContent = String(list.length);
    $("run-history-empty").hidden = list.length > 0;
    historyList.replaceChildren(...list.map((entry) => {
      const first = entry.code.split("\n").find((l) => l.trim()) || "(empty)";
      const when = new Date(entry.at).toLocaleString();
      const button = h("button", { type: "button", class: "link" },
        h("span", { class: "lang" }, entry.lang), " ", h("code", {}, first.slice(0, 60)));
      button.addEventListener("click", () => reopen(entry));
      return h("li", {}, button, h("span", { class: "when" }, ` ${entry.outcome}, ${when}`));
    }));
  }
  function reopen(entry) {
    if (!byName.has(entry.lang)) return;
    drafts.set(lang, editor.getCode());
    switchTo(entry.lang, entry.code);
    $("run-args").value = entry.args || "";
    $("run-stdin").value = entry.stdin || "";
    $("run-deps").value = (entry.dependencies || []).join(" ");
    saveLink();
    editor.focus();
  }
  function outcomeOf(last) {
    if (last?.event === "error") return "could not run";
    const result = last?.data;
    if (!result) return "no result";
    return result.timeout ? "timed out" : `exit ${result.exit_code}`;
  }
  showHistory();

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
    editor.setProblems([]);
    controller = new AbortController();
    setRunning(true);
    const request = body();
    try {
      const last = await stream("code/run", request, (chunk) => output.onChunk(chunk), controller.signal);
      if (!last || (last.event !== "result" && last.event !== "error")) {
        output.showMessage(LOST);
        output.setState("Connection lost", "bad");
      }
      if (last?.event === "result") markProblems(last.data);
      showHistory(remember({
        lang, code: request.code, args: $("run-args").value, stdin: request.stdin || "",
        dependencies: request.dependencies || [], at: Date.now(), outcome: outcomeOf(last),
      }));
    } catch (error) {
      if (error.name === "AbortError") {
        output.setState("Stopped", "bad");
        output.showMessage("Stopped: the run's container was removed.", "info");
      } else {
        output.showMessage(error.message, "error", "", error.kind || "");
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
    switchTo(next.lang, next.code ?? byName.get(next.lang).example);
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
  return {
    editor,
    /** The service's own account of its languages: versions beside the names, diagnostics. */
    describe(described) {
      for (const info of described) {
        diagnostics.set(info.name, info.diagnostics || []);
        const option = [...select.options].find((o) => o.value === info.name);
        // "rustc 1.85.1 (4eb161250 2025-03-15)" reads as "rustc 1.85.1".
        const version = (info.version || "").replace(/(\s*\([^()]*\))+$/, "").trim();
        if (option && version) option.textContent = `${info.name} (${version})`;
      }
    },
    /** A key was accepted: a message that asked for one is out of date. */
    keyAccepted() {
      output.clearMessageAbout("key");
    },
  };
}
