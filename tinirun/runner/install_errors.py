"""What a failed install or build says, in a line a person can act on.

`install_failure` reads the log of a dependency install (however it ran: an image build or
a container) and returns the package manager's own words — pip's "No matching distribution
found for ...", apt's "Unable to locate package ...", npm's "... is not in this registry" —
never our own commands or Docker's build chatter. Pure functions over text.
"""

from __future__ import annotations

import re

# Longest message we give; the whole log is in the error's `logs`.
MAX_MESSAGE = 300

# Lines the image builder or our install script writes, never the package manager's words.
_CHATTER = re.compile(
    r"^(Step \d+/\d+ :|\s*---> |Removing intermediate container|Successfully (built|tagged)"
    r"|The command '|#\d+ |Sending build context|returned a non-zero code)")

# Per package manager: (line prefix to strip, patterns in order of preference, lines to skip).
_MANAGERS: dict[str, tuple[str, tuple[str, ...], str]] = {
    "pip": (r"ERROR:\s*", (r"No matching distribution found", r"Could not find a version",
                           r"Failed to build", r"."), r"^$"),
    "npm": (r"npm (?:ERR!|error)\s*", (r"is not in this registry", r"No matching version",
                                       r"notarget|ETARGET", r"404 Not Found", r"."),
            r"^(code|errno|syscall)\b|^A complete log|^/|^\d+$|^$|Note that you can also"),
    "apt": (r"E:\s*", (r"Unable to locate package", r"has no installation candidate", r"."),
            r"^$"),
    "go": (r"go:\s*", (r".",), r"^(downloading|finding|added|upgraded)\b|^$"),
    "cargo": (r"error(?:\[[A-Z0-9]+\])?:\s*", (r"could not be found", r"."), r"^$"),
    "luarocks": (r"Error:\s*", (r".",), r"^$"),
}
_ANY_ERROR = re.compile(r"^\s*(?:error|fatal|E)\b[:!]?\s*(.+)$", re.I)


def _lines(log: str) -> list[str]:
    return [line.strip() for line in log.splitlines()
            if line.strip() and not _CHATTER.match(line)]


def _short(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= MAX_MESSAGE else text[: MAX_MESSAGE - 1] + "…"


def _cargo_cause(lines: list[str], start: int) -> str | None:
    """cargo's "Caused by:" chain after an error: its last link is the root cause."""
    cause = None
    for i in range(start + 1, len(lines)):
        if lines[i].startswith("error"):
            break
        if lines[i - 1] == "Caused by:":
            cause = lines[i]
    return cause


def manager_words(manager: str, log: str) -> str | None:
    """The package manager's own error line in `log`, or None when there is none."""
    lines = _lines(log)
    if manager in _MANAGERS:
        prefix, preferred, skip = _MANAGERS[manager]
        said = [(i, m.group(1)) for i, line in enumerate(lines)
                if (m := re.match(prefix + r"(.*)$", line))]
        said = [(i, text) for i, text in said if not re.search(skip, text)]
        for pattern in preferred:
            for i, text in said:
                if re.search(pattern, text):
                    if manager == "cargo":
                        cause = _cargo_cause(lines, i)
                        text = f"{text}: {cause}" if cause else text
                    return _short(text)
    for line in reversed(lines):
        match = _ANY_ERROR.match(line)
        if match:
            return _short(match.group(1))
    return None


def install_failure(manager: str, log: str, otherwise: str) -> str:
    """The message of a failed dependency install: the manager's words first, then what
    failed; `otherwise` (the builder's own: a time limit, a memory or disk cap) when the
    manager said nothing."""
    words = manager_words(manager, log)
    if words is None:
        return otherwise
    return f"{words} ({manager} could not install the dependencies)"


def build_failure(log: str, otherwise: str) -> str:
    """The message of a failed function build (its compile step): the tool's first error
    (later ones often only count the first), else `otherwise`."""
    for line in _lines(log):
        match = _ANY_ERROR.match(line)
        if match:
            return f"The function did not build: {_short(match.group(1))}"
    return otherwise
