"""Browser fixtures: one Chromium per test module, a fresh context (empty storage) per test,
and the real server of the integration suite."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from tests.browser.browser import ChromiumMissingError, launch
from tests.integration.server import API_KEY, Server

# Runs compile and build images: give the page and every expectation time for that.
TIMEOUT_MS = 60_000
expect.set_options(timeout=TIMEOUT_MS)


# Module scope: Playwright's sync API drives an event loop of its own while it is open, and
# the async tests of the suite need theirs free afterwards.
@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        try:
            chromium = launch(playwright)
        except ChromiumMissingError as exc:
            pytest.fail(str(exc), pytrace=False)  # a missing browser fails; it never skips
        yield chromium
        chromium.close()


OpenPage = Callable[..., Page]


@pytest.fixture
def open_page(browser: Browser) -> Iterator[OpenPage]:
    """open_page(server, fragment="", key=API_KEY, **context options): the playground in a
    fresh context, with the key pasted and saved as a person would. Fails the test on any
    uncaught page error or any request that leaves the server (no CDN)."""
    contexts = []
    errors: list[str] = []
    foreign: list[str] = []

    def opener(srv: Server, fragment: str = "", key: str | None = API_KEY, **options: Any) -> Page:
        context = browser.new_context(**options)
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(TIMEOUT_MS)
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.on("request", lambda request: None if request.url.startswith(srv.url + "/")
                else foreign.append(request.url))
        page.goto(f"{srv.url}/{fragment}")
        if key is not None:
            page.fill("#api-key", key)
            page.click("#key-form button[type=submit]")
        return page

    yield opener
    for context in contexts:
        context.close()
    assert not errors, f"errors in the page: {errors}"
    assert not foreign, f"requests that left the service: {foreign}"
