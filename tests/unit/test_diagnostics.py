"""Each language's diagnostics patterns, read against real output of its compiler or
interpreter, captured from the runtime images (tests/unit/diagnostics/<case>.stderr, from the
program beside it in <case>.snippet)."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from tinirun.languages import all_languages, get_language
from tinirun.languages.diagnostics import Diagnostic, find_diagnostics

CAPTURED = Path(__file__).parent / "diagnostics"

E, W, INFO = "error", "warning", "info"
EXPECTED: dict[str, list[Diagnostic]] = {
    "go-compile": [Diagnostic(6, 14, "undefined: x", E),
                   Diagnostic(7, 2, "declared and not used: y", E)],
    "go-panic": [Diagnostic(6, None, "panic: runtime error: index out of range [3] with length 1",
                            E)],
    "rust-compile": [Diagnostic(3, 20, "cannot find value `x` in this scope", E)],
    "rust-warning": [Diagnostic(2, 9, "unused variable: `y`", W)],
    "rust-panic": [Diagnostic(4, 21, "index out of bounds: the len is 1 but the index is 3", E)],
    "python-syntax": [Diagnostic(2, None, "SyntaxError: '(' was never closed", E)],
    "python-syntax-invalid": [Diagnostic(1, None, "SyntaxError: invalid syntax", E)],
    "python-traceback": [Diagnostic(4, None, "ValueError: boom", E),
                         Diagnostic(2, None, "ValueError: boom", E)],
    "python-chained": [Diagnostic(5, None, "ZeroDivisionError: division by zero", E),
                       Diagnostic(7, None, "Boom: x", E)],
    # The frames inside the standard library are not the snippet's.
    "python-library": [Diagnostic(2, None, "json.decoder.JSONDecodeError: Expecting property name "
                                           "enclosed in double quotes: line 1 column 2 (char 1)", E)],
    "javascript-syntax": [Diagnostic(1, None, "SyntaxError: Missing initializer in const "
                                              "declaration", E)],
    "javascript-esm-syntax": [Diagnostic(2, None, "SyntaxError: Missing initializer in const "
                                                  "declaration", E)],
    # The location Node prints first and the trace's first frame are one mark.
    "javascript-throw": [Diagnostic(2, 9, "Error: boom", E), Diagnostic(4, 1, "Error: boom", INFO)],
    "javascript-esm-throw": [Diagnostic(4, 9, "TypeError: bad 1", E),
                             Diagnostic(6, 1, "TypeError: bad 1", INFO)],
    "typescript-throw": [Diagnostic(2, 9, "Error: boom", E), Diagnostic(4, 1, "Error: boom", INFO)],
    # esbuild counts columns from 0; tsc (with `typecheck`) prints one line per error.
    "typescript-syntax": [Diagnostic(2, 9, 'Expected ";" but found "z"', E)],
    "typescript-warning": [Diagnostic(2, 18, 'The "typeof" operator will never evaluate to '
                                             '"strng" [impossible-typeof]', W)],
    "typescript-typecheck": [Diagnostic(1, 7, "TS2322: Type 'string' is not assignable to type "
                                              "'number'.", E)],
    "bash-errors": [Diagnostic(2, None, "foo_not_here: command not found", E),
                    Diagnostic(3, None, "unexpected EOF while looking for matching `)'", E)],
}


def test_every_captured_case_is_checked() -> None:
    cases = {path.stem for path in CAPTURED.glob("*.stderr")}
    assert cases == set(EXPECTED)
    assert all((CAPTURED / f"{case}.snippet").is_file() for case in cases)


@pytest.mark.parametrize("case", sorted(EXPECTED))
def test_patterns_read_real_output(case: str) -> None:
    language = get_language(case.split("-")[0])
    output = (CAPTURED / f"{case}.stderr").read_text()
    assert find_diagnostics(language.diagnostics, output) == EXPECTED[case]


def test_lines_of_other_files_and_plain_output_are_not_diagnostics() -> None:
    python = get_language("python")
    noise = ('  File "/usr/lib/python3.13/json/decoder.py", line 345, in decode\n'
             "print('File \"/work/main.py\", line 3')\nline 3: fine\n")
    assert find_diagnostics(python.diagnostics, noise) == []
    go = get_language("go")
    assert find_diagnostics(go.diagnostics, "./other.go:1:2: undefined: x\n") == []


def test_every_pattern_compiles_in_javascript() -> None:
    """The playground turns `(?P<` into `(?<` and runs the patterns in JavaScript."""
    node = shutil.which("node")
    assert node, "node is needed to check the patterns as JavaScript reads them"
    patterns = [p.replace("(?P<", "(?<") for language in all_languages().values()
                for spec in language.diagnostics
                for p in (spec.pattern, spec.message_pattern) if p]
    script = ("const ps = JSON.parse(require('fs').readFileSync(0, 'utf8'));"
              "for (const p of ps) new RegExp('^(?:' + p + ')$', 'u');"
              "console.log(ps.length)")
    done = subprocess.run([node, "-e", script], input=json.dumps(patterns), text=True,
                          capture_output=True)
    assert done.returncode == 0, done.stderr
    assert int(done.stdout) == len(patterns) > 0
