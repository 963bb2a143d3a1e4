// The output panel of a run or a build: progress apart from the program's output (collapsed
// when long), stdout and stderr as they stream in, then the result or the error.

import { h } from "./dom.js";

const OPEN_UP_TO = 6; // progress lines shown open; more collapse to a summary line
const MAX_CONSOLE_CHARS = 2_000_000; // the page stops appending past this (the result says more)

function seconds(ms) {
  return ms < 1000 ? `${ms} ms` : `${(ms / 1000).toFixed(2)} s`;
}

function mib(bytes) {
  return `${(bytes / 1048576).toFixed(1)} MiB`;
}

export class Output {
  constructor(parent, { title = "Output", idle = "" } = {}) {
    this.state = h("span", { class: "state", role: "status" });
    this.progressCount = h("span", { class: "count" });
    this.progressLast = h("span", { class: "last" });
    this.progressLog = h("pre", { class: "progress-log", tabindex: "0", "aria-label": `${title}: progress` });
    const summary = h("summary", {}, h("span", { class: "label" }, "Progress"), this.progressCount, this.progressLast);
    // Build logs and the engine's details (debug chunks) stay out of sight until asked for.
    this.detailsToggle = h("input", { type: "checkbox" });
    this.detailsToggle.addEventListener("change", () => {
      this.progress.classList.toggle("with-details", this.detailsToggle.checked);
    });
    this.detailsLabel = h("label", { class: "details-toggle", hidden: "" }, this.detailsToggle, "Show build log and details");
    this.progress = h("details", { class: "progress", hidden: "" }, summary, this.detailsLabel, this.progressLog);
    // A person who opened or closed it decides from then on (Enter and Space click too).
    summary.addEventListener("click", () => { this.userToggled = true; });
    this.console = h("pre", { class: "console", role: "log", tabindex: "0", "aria-label": `${title}: stdout and stderr` });
    this.idle = idle;
    this.result = h("div", { class: "result", hidden: "" });
    this.message = h("div", { class: "message", role: "alert", hidden: "" });
    this.problems = h("div", { class: "problems", hidden: "" });
    this.files = h("div", { class: "files", hidden: "" });
    const legend = h("span", { class: "legend", "aria-hidden": "true" },
      h("span", { class: "out" }, "stdout"), " ", h("span", { class: "err" }, "stderr"));
    this.root = h("div", { class: "output" },
      h("div", { class: "output-head" }, h("h2", {}, title), legend, h("span", { class: "spacer" }), this.state),
      this.progress, this.message, this.console, this.problems, this.result, this.files);
    parent.append(this.root);
    this.reset();
  }

  reset(state = "") {
    this.progressLines = 0;
    this.detailLines = 0;
    this.detailsLabel.hidden = true;
    this.problems.hidden = true;
    this.problems.textContent = "";
    this.files.hidden = true;
    for (const url of this.fileUrls || []) URL.revokeObjectURL(url);
    this.fileUrls = [];
    this.files.textContent = "";
    this.console.hidden = false;
    this.userToggled = false;
    this.consoleChars = 0;
    this.lastStream = null;
    this.lastSpan = null;
    this.progressLog.textContent = "";
    this.progress.hidden = true;
    this.progress.open = false;
    this.console.textContent = "";
    this.console.dataset.empty = this.idle;
    this.result.hidden = true;
    this.result.textContent = "";
    this.hideMessage();
    this.setState(state);
  }

  setState(text, kind = "") {
    this.state.textContent = text;
    this.state.dataset.kind = kind;
  }

  addProgress(text, kind) {
    const lines = text.split("\n").filter((line) => line.trim());
    if (!lines.length) return;
    for (const line of lines) {
      // Container ids say nothing to a person; the raw line stays for those who look.
      const shown = kind === "info" ? line.replace(/\s*\b[0-9a-f]{12,64}\b/g, "") : line;
      this.progressLog.append(h("span", { class: kind, "data-raw": line }, `${shown}\n`));
      if (kind === "info") this.progressLast.textContent = shown;
    }
    this.progress.hidden = false;
    if (kind === "debug") {
      this.detailLines += lines.length;
      this.detailsLabel.hidden = false;
      if (!this.progressLines) this.progressLast.textContent = "";
    } else {
      this.progressLines += lines.length;
    }
    const details = this.detailLines ? `, ${this.detailLines} of details` : "";
    this.progressCount.textContent = `${this.progressLines} line${this.progressLines === 1 ? "" : "s"}${details}`;
    if (!this.userToggled) this.progress.open = this.progressLines <= OPEN_UP_TO;
    if (this.progress.open) this.progressLog.scrollTop = this.progressLog.scrollHeight;
  }

  addOutput(text, stream) {
    if (this.consoleChars >= MAX_CONSOLE_CHARS) return;
    if (this.consoleChars + text.length > MAX_CONSOLE_CHARS) {
      text = `${text.slice(0, MAX_CONSOLE_CHARS - this.consoleChars)}\n[the page shows no more output]\n`;
    }
    this.consoleChars += text.length;
    const pinned = this.console.scrollHeight - this.console.scrollTop - this.console.clientHeight < 24;
    delete this.console.dataset.empty;
    if (this.lastStream === stream) {
      this.lastSpan.append(text);
    } else {
      this.lastSpan = h("span", { class: stream === "stderr" ? "err" : "out" }, text);
      this.console.append(this.lastSpan);
      this.lastStream = stream;
    }
    if (pinned) this.console.scrollTop = this.console.scrollHeight;
  }

  showMessage(text, kind = "error", details = "", cause = "") {
    this.message.hidden = false;
    this.message.dataset.kind = kind;
    this.message.dataset.cause = cause;
    // No "run the code to see its output" under an error: the box says what happened.
    if (!this.consoleChars) this.console.hidden = true;
    this.message.replaceChildren(h("p", {}, text));
    if (details) {
      // Open at its end: a build log's last lines say what went wrong.
      const log = h("pre", { tabindex: "0" }, details);
      this.message.append(h("details", { open: "" }, h("summary", {}, "Log"), log));
      requestAnimationFrame(() => { log.scrollTop = log.scrollHeight; });
    }
  }

  hideMessage() {
    this.message.hidden = true;
    this.message.textContent = "";
    this.message.dataset.cause = "";
    this.console.hidden = false;
  }

  /** Hide the message when it was about `cause` (e.g. "key", once a key is accepted). */
  clearMessageAbout(cause) {
    if (!this.message.hidden && this.message.dataset.cause === cause) this.hideMessage();
  }

  /** List the problems found in the output; `onPick(problem)` when one is chosen. */
  showProblems(problems, onPick) {
    this.problems.hidden = !problems.length;
    if (!problems.length) return;
    const items = problems.map((problem) => {
      const where = `Line ${problem.line}${problem.column ? `:${problem.column}` : ""}`;
      const button = h("button", { type: "button", class: `problem ${problem.severity}` },
        h("span", { class: "where" }, where), ` ${problem.severity}: ${problem.message || "see the output"}`);
      button.addEventListener("click", () => onPick(problem));
      return h("li", {}, button);
    });
    const count = `${problems.length} problem${problems.length === 1 ? "" : "s"} in the code`;
    this.problems.replaceChildren(h("h3", {}, count), h("ul", {}, ...items));
  }

  /** The files the program left: images shown, the others offered as downloads. */
  showFiles(result) {
    const files = result.output_files || [];
    const omitted = result.output_files_omitted || [];
    if (!files.length && !omitted.length && !result.output_files_truncated) return;
    const items = files.map((file) => {
      const name = file.path.split("/").pop();
      const bytes = Uint8Array.from(atob(file.content), (c) => c.charCodeAt(0));
      const url = URL.createObjectURL(new Blob([bytes], { type: file.media_type || "application/octet-stream" }));
      this.fileUrls.push(url);
      const link = h("a", { href: url, download: name }, `Download ${file.path}`);
      const size = h("span", { class: "size" }, ` (${file.size} bytes)`);
      if ((file.media_type || "").startsWith("image/") && file.media_type !== "image/svg+xml") {
        const image = h("img", { src: `data:${file.media_type};base64,${file.content}`, alt: `Image ${file.path}` });
        return h("li", { class: "image" }, h("figure", {}, image, h("figcaption", {}, link, size)));
      }
      return h("li", {}, link, size);
    });
    const note = result.output_files_truncated
      ? h("p", { class: "note" }, `More files than the service returns: left out ${omitted.join(", ") || "some"}.`) : null;
    this.files.replaceChildren(h("h3", {}, `Files (${files.length})`), h("ul", {}, ...items), note);
    this.files.hidden = false;
  }

  showResult(result) {
    const badges = [];
    const ok = result.exit_code === 0 && !result.timeout;
    if (result.exit_code !== null && result.exit_code !== undefined) {
      badges.push(h("span", { class: `badge ${result.exit_code === 0 ? "ok" : "bad"}` }, `exit ${result.exit_code}`));
    }
    if (result.duration_ms !== null && result.duration_ms !== undefined) {
      badges.push(h("span", { class: "badge" }, seconds(result.duration_ms)));
    }
    if (result.timeout) badges.push(h("span", { class: "badge warn" }, "timed out"));
    if (result.oom_killed) badges.push(h("span", { class: "badge warn" }, "out of memory"));
    if (result.stdout_truncated) badges.push(h("span", { class: "badge warn" }, "stdout truncated"));
    if (result.stderr_truncated) badges.push(h("span", { class: "badge warn" }, "stderr truncated"));
    if (result.memory_peak_bytes) badges.push(h("span", { class: "badge" }, `peak ${mib(result.memory_peak_bytes)}`));
    this.result.replaceChildren(h("span", { class: "label" }, "Result"), ...badges);
    this.result.hidden = false;
    this.setState(ok ? "Finished" : result.timeout ? "Timed out" : "Failed", ok ? "ok" : "bad");
  }

  /** Show one chunk of a stream; returns true for the final ones (result, error). */
  onChunk(chunk) {
    switch (chunk.event) {
      case "info":
      case "debug":
        this.addProgress(String(chunk.data), chunk.event);
        return false;
      case "stdout":
      case "stderr":
        this.addOutput(String(chunk.data), chunk.event);
        return false;
      case "result":
        this.showResult(chunk.data);
        this.showFiles(chunk.data);
        return true;
      case "error":
        this.showMessage(chunk.data.message || chunk.data.error, "error", chunk.data.logs || "");
        this.setState("Error", "bad");
        return true;
      default:
        return false;
    }
  }
}
