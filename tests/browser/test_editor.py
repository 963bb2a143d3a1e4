"""Errors in the editor: a run's compiler or interpreter messages, read with the patterns its
language gives in /api/languages, marked in the editor (lint gutter and underline) and listed
under the output, where choosing one moves the cursor to it. Real runs in real Chromium."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import OpenPage
from tests.browser.test_playground import RESULT, link
from tests.integration.server import Server

pytestmark = pytest.mark.browser

# language: (a snippet that fails, the line the first problem is on, words of its message)
BROKEN = {
    "rust": ('fn main() {\n    let y = 1;\n    println!("{}", x);\n}\n', 3, "cannot find value"),
    "go": ('package main\n\nimport "fmt"\n\nfunc main() {\n\tfmt.Println(x)\n}\n', 6,
           "undefined: x"),
    "typescript": ('function f(): void {\n  throw new Error("boom");\n}\nf();\n', 2, "boom"),
    "python": ('print("a")\nprint(\n', 2, "never closed"),
    "javascript": ("const ok = 1;\nconst x y = 1;\n", 2, "Missing initializer"),
}


@pytest.mark.parametrize("lang", sorted(BROKEN))
def test_an_error_is_marked_in_the_editor_and_leads_there(lang: str, server: Server,
                                                         open_page: OpenPage) -> None:
    code, line, words = BROKEN[lang]
    page = open_page(server, link(lang, code))
    expect(page.locator("#key-state")).to_have_text("saved")
    page.click("#run-btn")
    expect(page.locator(RESULT)).to_be_visible()
    problems = page.locator("#run-output .problems .problem")
    expect(problems.first).to_contain_text(f"Line {line}")
    expect(problems.first).to_contain_text(words)
    # The lint gutter and the underline, on that line.
    expect(page.locator("#run-editor .cm-lint-marker-error").first).to_be_visible()
    marked = page.locator("#run-editor .cm-line", has=page.locator(".cm-lintRange-error"))
    text = code.split("\n")[line - 1].strip()
    expect(marked.first).to_have_text(text)
    # Choosing the problem (here with the keyboard) puts the cursor on its line.
    page.locator("#run-editor .cm-content").click()
    page.keyboard.press("Control+Home")
    problems.first.focus()
    page.keyboard.press("Enter")
    expect(page.locator("#run-editor .cm-content")).to_be_focused()
    expect(page.locator("#run-editor .cm-activeLine")).to_have_text(text)
    # A run that works clears the marks.
    page.locator("#run-editor .cm-content").click()
    page.keyboard.press("Control+a")
    page.keyboard.insert_text({"rust": "fn main() {}\n", "go": "package main\n\nfunc main() {}\n",
                               "typescript": "console.log(1);\n", "python": "print(1)\n",
                               "javascript": "console.log(1);\n"}[lang])
    page.click("#run-btn")
    expect(page.locator(f"{RESULT} .badge.ok")).to_have_text("exit 0")
    expect(page.locator("#run-editor .cm-lintRange")).to_have_count(0)
    expect(page.locator("#run-output .problems")).to_be_hidden()
