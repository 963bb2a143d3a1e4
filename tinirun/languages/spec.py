"""The schema of `language.toml`: every key a language folder may set, and nothing else.

A misspelt or unknown key fails loudly (LanguageError naming the file and the key), so a
language is never half-configured by a typo.
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

# Named groups a diagnostics pattern may use; `line` is required.
DIAGNOSTIC_GROUPS = frozenset({"file", "line", "column", "message", "severity"})


class LanguageError(Exception):
    """A language folder is malformed; the message names the file and the key."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _checked_regex(pattern: str, allowed: frozenset[str], required: frozenset[str]) -> str:
    try:
        compiled = re.compile(pattern)
    except re.error as exc:
        raise ValueError(f"not a valid regular expression: {exc}") from None
    groups = set(compiled.groupindex)
    if unknown := groups - allowed:
        raise ValueError(f"unknown named group(s) {sorted(unknown)}; allowed: {sorted(allowed)}")
    if missing := required - groups:
        raise ValueError(f"needs the named group(s) {sorted(missing)}")
    # The playground runs these in JavaScript, which knows `(?<name>` but not Python's
    # other extensions.
    if re.search(r"\(\?P[=>]|\(\?[aiLmsux]|\\[AZ]", pattern):
        raise ValueError("uses Python-only syntax (JavaScript runs these patterns too)")
    return pattern


class Rewrite(_Strict):
    """A dependency entry that matches `pattern` (in full) becomes `replace` (`\\1`, `\\g<name>`
    refer to its groups) before it reaches the package manager."""

    pattern: str
    replace: str

    @field_validator("pattern")
    @classmethod
    def _compiles(cls, value: str) -> str:
        try:
            re.compile(value)
        except re.error as exc:
            raise ValueError(f"not a valid regular expression: {exc}") from None
        return value

    def apply(self, entry: str) -> str | None:
        """The rewritten entry, or None when the rule does not match it."""
        match = re.fullmatch(self.pattern, entry)
        return match.expand(self.replace) if match else None


class DependencySpec(_Strict):
    """How dependencies are installed into a dependency image."""

    manager: str = Field(description="The package manager, as users know it (pip, npm, ...).")
    syntax: str = Field(description="One line on how an entry is written, for people.")
    install: str = Field(description="Shell command; {deps} is the shell-quoted entries.")
    options: tuple[str, ...] = Field(
        default=(), description="Entries starting with `-` that are allowed (as options).")
    keep_order: bool = Field(
        default=False, description="Entries are passed in the given order, not sorted.")
    rewrite: tuple[Rewrite, ...] = Field(
        default=(), description="Rules applied in order to each entry; the first match wins.")
    prefix: str = Field(
        default="", description="Where the manager installs as uid 1000 (this directory becomes "
        "the dependency image's layer); empty: a system install as root (apt).")
    links: dict[str, str] = Field(
        default_factory=dict, description="Symbolic links the dependency image gets (path: "
        "target), e.g. /node_modules into the prefix.")

    @field_validator("install")
    @classmethod
    def _has_placeholder(cls, value: str) -> str:
        if "{deps}" not in value:
            raise ValueError("must contain {deps}, where the entries go")
        return value

    def rewritten(self, entry: str) -> str:
        for rule in self.rewrite:
            if (new := rule.apply(entry)) is not None:
                return new
        return entry


class FunctionSpec(_Strict):
    """How a named function of this language is built into an image and called."""

    file: str = Field(description="The user's file in /app.")
    sample: str = Field(description="File of this folder with the sample function.")
    wrapper: str = Field(description="File of this folder that calls the user's function.")
    run: str = Field(description="Command that runs the wrapper in /app.")
    build: str = Field(default="", description="Command run in /app when the image is built.")
    files: dict[str, str] = Field(default_factory=dict, description="Extra files in /app.")


class EditorSpec(_Strict):
    """Hints for an editor of this language's snippets (the playground reads them)."""

    mode: str = Field(default="", description="Editor language mode; empty: plain text.")
    indent: str = Field(default="    ", description="One level of indentation: a tab or spaces.")

    @field_validator("indent")
    @classmethod
    def _tab_or_spaces(cls, value: str) -> str:
        if value != "\t" and not (value and set(value) == {" "} and len(value) <= 8):
            raise ValueError("must be a tab or 1 to 8 spaces")
        return value


class DiagnosticSpec(_Strict):
    """How to read one kind of line of the compiler's or interpreter's output as a diagnostic.

    `pattern` matches one line (in full after trailing whitespace is removed) with named groups
    `line` and optionally `column`, `message`, `severity`, `file`. Where the message is printed
    on another line than the location (rustc above it, Python's tracebacks below it),
    `message_pattern` finds it: the nearest line before (`message_at = "before"`) or after
    (`"after"`) that matches it gives `message` (and `severity`, if it has that group).
    """

    pattern: str
    message_pattern: str = ""
    message_at: Literal["before", "after"] = "after"
    severity: Literal["error", "warning", "info"] = Field(
        default="error", description="When the line's own `severity` group says nothing.")
    column_base: Literal[0, 1] = Field(
        default=1, description="0 when the tool counts columns from 0 (esbuild).")

    @field_validator("pattern")
    @classmethod
    def _location(cls, value: str) -> str:
        return _checked_regex(value, DIAGNOSTIC_GROUPS, frozenset({"line"}))

    @field_validator("message_pattern")
    @classmethod
    def _message(cls, value: str) -> str:
        if not value:
            return value
        return _checked_regex(value, frozenset({"message", "severity"}), frozenset({"message"}))


class LauncherSpec(_Strict):
    """A pre-started interpreter: warm containers start the run command at once with
    `program` loaded first, which waits for the payload and lets the interpreter run the
    snippet in that same process (tinirun/runner/boot.py says what a launcher must do)."""

    program: str = Field(description="File of this folder: the launcher.")
    prelude: str = Field(description="Shell lines of the boot command: put $l (the launcher's "
                         "text) where the interpreter loads it first; may rewrite \"$@\" (the "
                         "run command).")
    compiles: bool = Field(default=False, description="The launcher runs the payload's "
                           "compile steps (.tinirun/prepare.sh, .tinirun/compile) before the "
                           "program, so a language that compiles first can have it.")
    compile_prelude: str = Field(default="", description="Shell lines added to the prelude "
                                 "of boots that compile (the language's run command): e.g. "
                                 "pre-start the compiler's service, which the launcher uses "
                                 "and stops before the program loads.")


class LanguageSpec(_Strict):
    """The whole of `language.toml`."""

    name: str = Field(pattern=r"^[a-z][a-z0-9_-]*$")
    extensions: tuple[str, ...] = Field(min_length=1)
    source: str = Field(description="The snippet's file name in the work directory.")
    example: str = Field(description="File of this folder: a complete program, the playground's "
                         "starting snippet.")
    run: str = Field(description="Shell command that runs the (compiled) snippet.")
    compile: str = Field(default="", description="Shell command run before `run`, if any.")
    typecheck: str = Field(default="", description="Shell command run before `compile` when a "
                           "request asks for `typecheck`; empty: the language has none.")
    version: str = Field(description="Shell command whose output names the runtime's version; "
                         "run once per runtime image.")
    env: dict[str, str] = Field(default_factory=dict)
    files: dict[str, str] = Field(default_factory=dict,
                                  description="Extra files written beside the snippet.")
    editor: EditorSpec = Field(default_factory=EditorSpec)
    dependencies: DependencySpec
    function: FunctionSpec
    diagnostics: tuple[DiagnosticSpec, ...] = ()
    launcher: LauncherSpec | None = None
    prestart: str = Field(default="", description="The compile command of a one-off run "
                          "without dependencies, started in the warm container before the code "
                          "is known: the snippet's file (`source`) is then a fifo, which it must "
                          "read first; it must do what `compile` does for such a run. Empty: "
                          "the compile starts with the run.")
    image_seconds: int | None = Field(
        default=None, ge=1, description="About how long the runtime image takes to build the "
        "first time (seconds, on a 2-core machine with a nearby package mirror); the first run "
        "of the language on a new machine says it while it waits.")

    @model_validator(mode="after")
    def _prestart_compiles(self) -> LanguageSpec:
        if self.prestart and (not self.compile or self.launcher is not None):
            raise ValueError("prestart: only for a language that compiles and has no launcher")
        return self

    @model_validator(mode="after")
    def _extensions_plain(self) -> LanguageSpec:
        for extension in self.extensions:
            if not re.fullmatch(r"[a-z0-9]+", extension):
                raise ValueError(f"extensions: {extension!r} must be letters and digits, no dot")
        return self
