"""Debian's Chromium, headless, driven by Playwright: the one way tests and the screenshot
script open the playground. Playwright's own browser builds are never used."""

from __future__ import annotations

import os
import shutil

from playwright.sync_api import Browser, Playwright

CHROMIUM_ENV = "TINIRUN_TEST_CHROMIUM"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--no-first-run", "--disable-sync"]


class ChromiumMissingError(Exception):
    """The system Chromium is not installed."""


def chromium_path() -> str:
    """The system browser: $TINIRUN_TEST_CHROMIUM, else chromium on PATH."""
    path = os.environ.get(CHROMIUM_ENV) or shutil.which("chromium") or shutil.which("chromium-browser")
    if not path:
        raise ChromiumMissingError(
            f"Chromium is not installed (apt-get install chromium), or set {CHROMIUM_ENV}")
    return path


def launch(playwright: Playwright) -> Browser:
    """A headless Chromium; each context it opens gets a fresh, empty profile."""
    return playwright.chromium.launch(executable_path=chromium_path(), headless=True, args=ARGS)
