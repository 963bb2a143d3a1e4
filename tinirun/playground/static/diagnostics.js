// A run's output read as diagnostics of the snippet, with the patterns its language gives in
// /api/languages: the same reading as tinirun/languages/diagnostics.py (see its docstring).

const SEVERITIES = ["error", "warning", "info"];

/** A Python pattern as a JavaScript one that must match a whole line. */
function compile(pattern) {
  try {
    return new RegExp(`^(?:${pattern.replaceAll("(?P<", "(?<")})$`, "u");
  } catch {
    return null; // a pattern JavaScript cannot read marks nothing
  }
}

function severityOf(candidates, fallback) {
  for (const candidate of candidates) {
    if (candidate && SEVERITIES.includes(candidate.toLowerCase())) return candidate.toLowerCase();
  }
  return fallback;
}

/** For each line, the match of `pattern` on the nearest other line before (or after) it. */
function nearby(lines, pattern, before) {
  const nearest = new Array(lines.length).fill(null);
  let seen = null;
  const order = [...lines.keys()];
  if (!before) order.reverse();
  for (const index of order) {
    nearest[index] = seen;
    const found = pattern.exec(lines[index]);
    if (found) seen = found;
  }
  return nearest;
}

/** [{line, column, message, severity}] that `output` holds, in order, merged by line and message. */
export function findDiagnostics(specs, output) {
  const lines = output.split(/\r?\n/).map((line) => line.trimEnd());
  const compiled = specs.map((spec) => ({
    spec,
    pattern: compile(spec.pattern),
    near: spec.message_pattern && compile(spec.message_pattern)
      ? nearby(lines, compile(spec.message_pattern), spec.message_at === "before") : null,
  }));
  const found = [];
  lines.forEach((text, number) => {
    for (const { spec, pattern, near } of compiled) {
      const match = pattern?.exec(text);
      if (!match) continue;
      const groups = match.groups || {};
      let message = (groups.message || "").trim();
      let messageSeverity = null;
      const other = near?.[number];
      if (!message && other) {
        message = (other.groups?.message || "").trim();
        messageSeverity = other.groups?.severity;
      }
      const column = groups.column ? Number(groups.column) + (1 - (spec.column_base ?? 1)) : null;
      found.push({
        line: Number(groups.line), column, message,
        severity: severityOf([groups.severity, messageSeverity], spec.severity || "error"),
      });
      break;
    }
  });
  const merged = [];
  for (const item of found) {
    const same = merged.find((d) => d.line === item.line && d.message === item.message);
    if (!same) merged.push(item);
    else if (same.column === null && item.column !== null) same.column = item.column;
  }
  return merged;
}
