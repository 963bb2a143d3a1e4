"""The playground for everyone: axe-core (from npm, injected by Playwright) finds no serious or
critical violation on any view, light or dark; every control is reached with Tab."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import OpenPage
from tests.browser.test_playground import RESULT, link
from tests.integration.server import Server

pytestmark = pytest.mark.browser

AXE = Path(__file__).resolve().parents[2] / "playground-src" / "node_modules" / "axe-core" / "axe.min.js"
BROKEN_RUST = 'fn main() {\n    let x: i32 = "text";\n}\n'


def violations(page: Page) -> list[dict[str, object]]:
    """axe-core's serious and critical violations on the page as it is now."""
    assert AXE.exists(), "axe-core is missing: run `npm ci` in playground-src (scripts/test does)"
    page.evaluate(AXE.read_text())
    found: list[dict[str, object]] = page.evaluate(
        "axe.run(document, {resultTypes: ['violations']}).then(r => r.violations.map(v => ({"
        "id: v.id, impact: v.impact, nodes: v.nodes.map(n => n.target.join(' '))})))")
    return [v for v in found if v["impact"] in ("serious", "critical")]


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_no_serious_violations_on_any_view(scheme: str, server: Server,
                                           open_page: OpenPage) -> None:
    page = open_page(server, link("rust", BROKEN_RUST), color_scheme=scheme)
    expect(page.locator("#key-state")).to_have_text("saved")
    seen = {"run": violations(page)}
    # After a run: output, the problem list, the marks, options and history open.
    page.click("#run-btn")
    expect(page.locator(RESULT)).to_be_visible()
    expect(page.locator("#run-output .problems")).to_be_visible()
    page.click("#run-options summary")
    page.click("#run-history summary")
    seen["run after a run"] = violations(page)
    # A refused key and its message.
    page.fill("#api-key", "wrong")
    page.click("#key-form button[type=submit]")
    expect(page.locator("#key-state")).to_have_text("refused")
    page.click("#run-btn")
    expect(page.locator("#run-output .message")).to_be_visible()
    seen["refused key"] = violations(page)
    page.fill("#api-key", "test-key")
    page.click("#key-form button[type=submit]")
    # Functions: the list, and one open with its build log.
    page.click("#tab-functions")
    name = f"axe-{scheme}"
    page.fill("#fn-new-name", name)
    page.select_option("#fn-new-lang", "bash")
    page.click("#fn-create button[type=submit]")
    expect(page.locator(f"#fn-rows tr[data-name='{name}'] .badge")).to_have_text("ready")
    seen["functions"] = violations(page)
    page.click("#fn-delete")
    seen["delete dialog"] = violations(page)
    page.click("#fn-confirm-yes")
    expect(page.locator("#fn-message")).to_have_text(f"Deleted {name}.")
    assert all(not v for v in seen.values()), json.dumps(seen, indent=1)


def test_every_control_is_reached_with_tab(server: Server, open_page: OpenPage) -> None:
    """Tab reaches every control of the run view (the tabs are one stop, arrow keys between
    them: the phone test checks those)."""
    page = open_page(server)
    expect(page.locator("#key-state")).to_have_text("saved")
    page.click("#run-options summary")
    page.click("#run-history summary")
    controls = page.evaluate(
        "[...document.querySelectorAll('#view-run button, #view-run input, #view-run select,"
        " #view-run textarea, #view-run summary, header a, header button, header input')]"
        ".filter(e => !e.disabled && e.offsetParent !== null && e.tabIndex >= 0)"
        ".map(e => e.id || e.textContent.trim())")
    reached: list[str] = []
    page.focus("#api-key")
    for _ in range(60):
        reached.append(page.evaluate(
            "(() => { const e = document.activeElement;"
            " return e.classList.contains('cm-content') ? 'editor' : (e.id || e.textContent.trim()); })()"))
        if reached[-1] == "editor":
            page.keyboard.press("Escape")  # Tab indents in the editor; Escape then Tab leaves
        page.keyboard.press("Tab")
    missing = [c for c in controls if c not in reached]
    assert not missing, (missing, reached)
    assert "editor" in reached
