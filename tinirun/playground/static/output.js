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
    this.progressLog = h("pre", { class: "progress-log", tabindex: "0" });
    const summary = h("summary", {}, h("span", { class: "label" }, "Progress"), this.progressCount, this.progressLast);
    this.progress = h("details", { class: "progress", hidden: "" }, summary, this.progressLog);
    // A person who opened or closed it decides from then on (Enter and Space click too).
    summary.addEventListener("click", () => { this.userToggled = true; });
    this.console = h("pre", { class: "console", role: "log", tabindex: "0", "aria-label": `${title}: stdout and stderr` });
    this.idle = idle;
    this.result = h("div", { class: "result", hidden: "" });
    this.message = h("div", { class: "message", role: "alert", hidden: "" });
    const legend = h("span", { class: "legend", "aria-hidden": "true" },
      h("span", { class: "out" }, "stdout"), " ", h("span", { class: "err" }, "stderr"));
    this.root = h("div", { class: "output" },
      h("div", { class: "output-head" }, h("h2", {}, title), legend, h("span", { class: "spacer" }), this.state),
      this.progress, this.message, this.console, this.result);
    parent.append(this.root);
    this.reset();
  }

  reset(state = "") {
    this.progressLines = 0;
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
      this.progressLog.append(h("span", { class: kind }, `${line}\n`));
    }
    this.progressLines += lines.length;
    this.progress.hidden = false;
    this.progressCount.textContent = `${this.progressLines} line${this.progressLines === 1 ? "" : "s"}`;
    this.progressLast.textContent = lines[lines.length - 1];
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

  showMessage(text, kind = "error", details = "") {
    this.message.hidden = false;
    this.message.dataset.kind = kind;
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
