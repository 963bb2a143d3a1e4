"""Screenshots of the playground's main views for the README, taken in the same headless
Chromium as the tests against a real server: `scripts/screenshots [DIR]` (docs/screenshots)."""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path
from urllib.parse import urlencode

from playwright.sync_api import Browser, Page, expect, sync_playwright

from tests.browser.browser import launch
from tests.integration.server import API_KEY, Server, make_server

DESKTOP = {"width": 1280, "height": 760}
PHONE = {"width": 390, "height": 844}
PYTHON = """import sys
import time

print("Hello, world!")
for i in range(1, 4):
    time.sleep(0.3)
    print(f"tick {i}")
time.sleep(0.3)
print("this line went to stderr", file=sys.stderr)
"""
RUST_ERROR = """fn main() {
    let answer: i32 = "forty-two";
    println!("{answer}");
}
"""
FUNCTION = """def run(input: str) -> str:
    name = input.strip() or "world"
    return f"Hello, {name}! You have {len(name)} letters."
"""


def open_page(browser: Browser, srv: Server, scheme: str, viewport: dict[str, int],
              fragment: str = "") -> Page:
    page = browser.new_context(color_scheme=scheme, viewport=viewport,  # type: ignore[arg-type]
                               device_scale_factor=1).new_page()
    page.set_default_timeout(120_000)
    expect.set_options(timeout=120_000)
    page.goto(f"{srv.url}/{fragment}")
    page.fill("#api-key", API_KEY)
    page.click("#key-form button[type=submit]")
    # The key's check also brings the runtimes' versions shown beside the languages.
    expect(page.locator("#key-state")).to_have_text("saved")
    return page


def run_view(browser: Browser, srv: Server, out: Path, scheme: str, viewport: dict[str, int],
             lang: str, code: str, name: str, options: bool = False) -> None:
    page = open_page(browser, srv, scheme, viewport, "#" + urlencode({"lang": lang, "code": code}))
    if options:
        page.click("#run-options summary")
    page.click("#run-btn")
    expect(page.locator("#run-output .result")).to_be_visible()
    page.locator("#run-btn").focus()
    page.screenshot(path=out / name, full_page=True)
    page.context.close()


def functions_view(browser: Browser, srv: Server, out: Path, scheme: str, name: str) -> None:
    page = open_page(browser, srv, scheme, DESKTOP)
    page.click("#tab-functions")
    fn = f"greet-{scheme}"
    page.fill("#fn-new-name", fn)
    page.click("#fn-create button[type=submit]")
    expect(page.locator(f"#fn-rows tr[data-name='{fn}'] .badge")).to_have_text("ready")
    page.locator("#fn-editor .cm-content").click()
    page.keyboard.press("Control+a")
    page.keyboard.insert_text(FUNCTION)
    page.fill("#fn-desc", "Greets by name")
    page.click("#fn-save")
    expect(page.locator(f"#fn-rows tr[data-name='{fn}'] td").nth(2)).to_have_text("v1")
    expect(page.locator("#fn-status")).to_have_text("ready")
    page.fill("#fn-input", "Ada")
    page.click("#fn-run")
    expect(page.locator("#fn-output .result")).to_be_visible()
    page.screenshot(path=out / name, full_page=True)
    page.context.close()


def main(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as playwright:
        srv = make_server(Path(tmp))
        srv.start()
        browser = launch(playwright)
        try:
            run_view(browser, srv, out, "light", DESKTOP, "python", PYTHON, "run-light.png",
                     options=True)
            run_view(browser, srv, out, "dark", DESKTOP, "rust", RUST_ERROR, "run-dark.png")
            run_view(browser, srv, out, "light", PHONE, "python", PYTHON, "phone-light.png")
            run_view(browser, srv, out, "dark", PHONE, "python", PYTHON, "phone-dark.png")
            functions_view(browser, srv, out, "light", "functions-light.png")
            functions_view(browser, srv, out, "dark", "functions-dark.png")
        finally:
            browser.close()
            srv.stop()
    for path in sorted(out.glob("*.png")):
        print(path)


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "docs/screenshots"))
