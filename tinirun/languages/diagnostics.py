"""Reading a compiler's or interpreter's output as diagnostics, with a language's patterns.

The patterns are data (`[[diagnostics]]` in each `language.toml`) and are served by
`GET /api/languages`; this is the reference reading of them, which the playground's editor
does the same way in JavaScript:

1. Each line (trailing whitespace removed) is tried against each pattern in order; the first
   that matches in full makes a diagnostic at its `line` (and `column`, if any).
2. Its message is the line's own `message` group; else, with a `message_pattern`, the
   `message` group of the nearest line before it (`message_at = "before"`) or after it
   (`"after"`) that matches that pattern in full; else empty.
3. Severity: the `severity` group (of the line, else of the message line), lower-cased,
   if it is error, warning or info; else the pattern's `severity`.
4. Columns count from 1 (a pattern with `column_base = 0` gets 1 added).
5. A diagnostic on the same line with the same message as an earlier one is merged into it
   (an error's location and the first frame of its trace are one mark).

Every pattern matches only lines about the snippet's own file, so each diagnostic is one the
editor can mark.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from tinirun.languages.spec import DiagnosticSpec

SEVERITIES = ("error", "warning", "info")


@dataclass(frozen=True)
class Diagnostic:
    """One place in the snippet that the output speaks of."""

    line: int
    column: int | None
    message: str
    severity: str


def _severity(*candidates: str | None, default: str) -> str:
    for candidate in candidates:
        if candidate and candidate.lower() in SEVERITIES:
            return candidate.lower()
    return default


def _nearby_messages(lines: Sequence[str], pattern: re.Pattern[str],
                     before: bool) -> list[re.Match[str] | None]:
    """For each line, the match of `pattern` on the nearest other line before (or after) it;
    one pass, so a long trace costs linear time."""
    nearest: list[re.Match[str] | None] = [None] * len(lines)
    seen: re.Match[str] | None = None
    order = range(len(lines)) if before else range(len(lines) - 1, -1, -1)
    for index in order:
        nearest[index] = seen
        found = pattern.fullmatch(lines[index])
        if found:
            seen = found
    return nearest


def find_diagnostics(specs: Sequence[DiagnosticSpec], output: str) -> list[Diagnostic]:
    """The diagnostics that `output` (stderr, stdout or both) holds, in order of appearance."""
    lines = [line.rstrip() for line in output.splitlines()]
    compiled = [re.compile(spec.pattern) for spec in specs]
    nearby: dict[int, list[re.Match[str] | None]] = {}
    for index, spec in enumerate(specs):
        if spec.message_pattern:
            nearby[index] = _nearby_messages(lines, re.compile(spec.message_pattern),
                                             before=spec.message_at == "before")
    found: list[Diagnostic] = []
    for number, text in enumerate(lines):
        for index, (spec, pattern) in enumerate(zip(specs, compiled, strict=True)):
            match = pattern.fullmatch(text)
            if not match:
                continue
            groups = match.groupdict()
            message = (groups.get("message") or "").strip()
            message_severity = None
            if not message and index in nearby and (other := nearby[index][number]):
                message = (other.groupdict().get("message") or "").strip()
                message_severity = other.groupdict().get("severity")
            column = int(groups["column"]) + (1 - spec.column_base) if groups.get("column") \
                else None
            found.append(Diagnostic(
                line=int(groups["line"]), column=column, message=message,
                severity=_severity(groups.get("severity"), message_severity,
                                   default=spec.severity),
            ))
            break
    return _merged(found)


def _merged(diagnostics: list[Diagnostic]) -> list[Diagnostic]:
    out: list[Diagnostic] = []
    for diagnostic in diagnostics:
        same = next((i for i, d in enumerate(out)
                     if (d.line, d.message) == (diagnostic.line, diagnostic.message)), None)
        if same is None:
            out.append(diagnostic)
        elif out[same].column is None and diagnostic.column is not None:
            out[same] = Diagnostic(diagnostic.line, diagnostic.column, out[same].message,
                                   out[same].severity)
    return out
