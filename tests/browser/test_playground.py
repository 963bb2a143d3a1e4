"""The playground in a real browser against a real server and real containers: what a person
does with it, and what they see."""

from __future__ import annotations

import re
import signal
import subprocess
import threading
from urllib.parse import urlencode

import httpx
import pytest
from playwright.sync_api import FilePayload, Page, expect

from tests.browser.conftest import OpenPage
from tests.integration.conftest import container_exists, containers_of, wait_gone
from tests.integration.server import Server

pytestmark = pytest.mark.browser

CONSOLE = "#run-output .console"
RESULT = "#run-output .result"
MESSAGE = "#run-output .message"
# Extra servers start no warm containers: these tests do not need them.
NO_POOL = {"RUNNER_POOL_SIZE": "0"}


def link(lang: str, code: str) -> str:
    """The fragment of a shared link: it opens the playground on this language and code."""
    return "#" + urlencode({"lang": lang, "code": code})


def run_container(page: Page) -> str:
    """The id of the run's container, from the service's own progress lines (the page keeps
    each as it came in `data-raw`, and shows it without the id)."""
    lines = page.locator("#run-output .progress-log span")
    expect(lines.first).to_be_attached()
    for _ in range(600):
        raw = " ".join(lines.evaluate_all("spans => spans.map(s => s.dataset.raw)"))
        match = re.search(r" container ([0-9a-f]{12})", raw)
        if match:
            return match.group(1)
        page.wait_for_timeout(100)
    raise AssertionError("no container named in the progress")


def test_python_hello_runs_with_the_keyboard_shortcut(server: Server, open_page: OpenPage) -> None:
    page = open_page(server)
    expect(page.locator("#run-lang")).to_have_value("python")
    expect(page.locator("#run-editor .cm-content")).to_contain_text('print("Hello, world!")')
    # Syntax highlighting and line numbers come from the editor.
    expect(page.locator("#run-editor .cm-lineNumbers")).to_contain_text("1")
    expect(page.locator("#run-editor .tok-keyword").first).to_be_visible()
    page.locator("#run-editor .cm-content").click()
    page.keyboard.press("Control+Enter")
    expect(page.locator(RESULT)).to_contain_text("exit 0")
    expect(page.locator(f"{CONSOLE} .out")).to_have_text("Hello, world!\ntick 1\ntick 2\ntick 3\n")
    expect(page.locator(f"{CONSOLE} .err")).to_have_count(0)
    # Progress is shown apart from the program's output; short, it stays open.
    expect(page.locator("#run-output .progress-log")).to_contain_text("Starting container")
    expect(page.locator("#run-output .progress")).to_have_attribute("open", "")
    expect(page.locator(CONSOLE)).not_to_contain_text("Starting container")


def test_output_streams_in_before_the_run_ends(server: Server, open_page: OpenPage) -> None:
    # The pauses keep the order of the lines: stdout and stderr are separate pipes.
    code = ("import sys, time\nprint('first', flush=True)\ntime.sleep(0.5)\n"
            "print('oops', file=sys.stderr, flush=True)\ntime.sleep(4)\nprint('second')\n")
    page = open_page(server, link("python", code))
    expect(page.locator("#run-editor .cm-content")).to_contain_text("print('first', flush=True)")
    page.click("#run-btn")
    expect(page.locator(f"{CONSOLE} .out").first).to_have_text("first\n")
    expect(page.locator(f"{CONSOLE} .err")).to_have_text("oops\n")
    # The run is still going: no result yet, Stop is on, the rest has not arrived.
    expect(page.locator(RESULT)).to_be_hidden()
    expect(page.locator("#stop-btn")).to_be_enabled()
    expect(page.locator(CONSOLE)).not_to_contain_text("second")
    expect(page.locator(RESULT)).to_contain_text("exit 0")
    expect(page.locator(CONSOLE)).to_have_text("first\noops\nsecond\n")
    expect(page.locator("#stop-btn")).to_be_disabled()


def test_rust_compile_error_is_shown_as_stderr(server: Server, open_page: OpenPage) -> None:
    page = open_page(server, link("rust", 'fn main() {\n    let x: i32 = "text";\n}\n'))
    expect(page.locator("#run-lang")).to_have_value("rust")
    page.click("#run-btn")
    expect(page.locator(RESULT)).to_be_visible()
    expect(page.locator(f"{RESULT} .badge.bad")).to_have_text("exit 1")
    expect(page.locator(f"{CONSOLE} .err")).to_contain_text("mismatched types")
    expect(page.locator(f"{CONSOLE} .out")).to_have_count(0)


def test_files_stdin_and_limits_reach_the_run(server: Server, open_page: OpenPage) -> None:
    code = 'cat files/data.txt\nread -r line\necho "stdin: $line"\nhead -c 20000000 /dev/zero | tail\n'
    page = open_page(server, link("bash", code))
    page.click("#run-options summary")
    page.set_input_files("#run-files", files=[
        FilePayload(name="data.txt", mimeType="text/plain", buffer=b"from a file\n")])
    expect(page.locator("#run-file-list")).to_contain_text("data.txt")
    page.fill("#run-stdin", "typed in")
    page.fill("#run-memory", "16")  # too little for tail's 20 MB line: killed for memory
    page.click("#run-btn")
    expect(page.locator(RESULT)).to_be_visible()
    expect(page.locator(f"{CONSOLE} .out")).to_have_text("from a file\nstdin: typed in\n")
    expect(page.locator(RESULT)).to_contain_text("out of memory")


def test_stop_ends_the_run_and_removes_its_container(server: Server, open_page: OpenPage) -> None:
    code = "import time\nfor i in range(1000):\n    print(f'tick {i}', flush=True)\n    time.sleep(0.2)\n"
    page = open_page(server, link("python", code))
    page.click("#run-btn")
    expect(page.locator(CONSOLE)).to_contain_text("tick 1")
    cid = run_container(page)
    assert container_exists(cid), "the run's container should exist while it runs"
    page.click("#stop-btn")
    expect(page.locator("#run-output .state")).to_have_text("Stopped")
    expect(page.locator("#run-btn")).to_be_enabled()
    assert wait_gone(cid, 30), "the stopped run's container is still there"


def test_wrong_key_gets_a_clear_message(server: Server, open_page: OpenPage) -> None:
    page = open_page(server, key="not-the-key")
    # Checked when saved, before anything runs.
    expect(page.locator("#key-state")).to_have_text("refused")
    expect(page.locator("#api-key")).to_have_attribute("aria-invalid", "true")
    page.click("#run-btn")
    expect(page.locator(MESSAGE)).to_contain_text("The API key was refused")
    expect(page.locator("#key-state")).to_have_text("refused")
    page.click("#tab-functions")
    expect(page.locator("#fn-message")).to_contain_text("The API key was refused")


def test_the_key_is_kept_in_the_browser(server: Server, open_page: OpenPage) -> None:
    page = open_page(server)
    page.reload()
    expect(page.locator("#api-key")).to_have_value("test-key")
    expect(page.locator("#key-state")).to_have_text("saved")


def test_busy_service_says_so(make, open_page: OpenPage) -> None:  # type: ignore[no-untyped-def]
    srv: Server = make(RUNNER_MAX_CONCURRENT_RUNS="1", RUNNER_QUEUE_SIZE="0", **NO_POOL)
    srv.start()
    started = threading.Event()

    def occupy() -> None:
        body = {"lang": "bash", "code": "echo go; sleep 4"}
        with srv.client() as client, client.stream("POST", "/api/code/run", json=body) as response:
            for line in response.iter_lines():
                if '"stdout"' in line:
                    started.set()

    holder = threading.Thread(target=occupy)
    holder.start()
    try:
        assert started.wait(60), "the first run did not start"
        page = open_page(srv)
        page.click("#run-btn")
        expect(page.locator(MESSAGE)).to_contain_text("The service is busy")
        expect(page.locator(MESSAGE)).to_contain_text("Try again in")
    finally:
        holder.join(60)


def test_lost_connection_says_so(make, open_page: OpenPage) -> None:  # type: ignore[no-untyped-def]
    srv: Server = make(**NO_POOL)
    srv.start()
    code = "import time\nfor i in range(30):\n    print(i, flush=True)\n    time.sleep(0.2)\n"
    page = open_page(srv, link("python", code))
    page.click("#run-btn")
    expect(page.locator(CONSOLE)).to_contain_text("3")
    try:
        srv.stop(sig=signal.SIGKILL)
        expect(page.locator(MESSAGE)).to_contain_text("The connection to the service was lost")
        expect(page.locator("#run-btn")).to_be_enabled()
    finally:
        # The killed server cannot remove its run's container: the test does.
        ids = containers_of(srv)
        if ids:
            subprocess.run(["docker", "rm", "-f", *ids], capture_output=True, check=False)


def create_function(page: Page, name: str, language: str) -> None:
    page.fill("#fn-new-name", name)
    page.select_option("#fn-new-lang", language)
    page.click("#fn-create button[type=submit]")


def replace_code(page: Page, editor: str, code: str) -> None:
    page.locator(f"{editor} .cm-content").click()
    page.keyboard.press("Control+a")
    page.keyboard.insert_text(code)


def test_function_create_edit_run_delete(server: Server, open_page: OpenPage) -> None:
    page = open_page(server)
    page.click("#tab-functions")
    expect(page.locator("#view-functions")).to_be_visible()
    create_function(page, "pg-greet", "python")
    # The build log streams in, then the function is ready with its language's sample.
    expect(page.locator("#fn-output .progress-log")).to_contain_text("Building function pg-greet v0")
    row = page.locator("#fn-rows tr[data-name='pg-greet']")
    expect(row.locator(".badge")).to_have_text("ready")
    expect(page.locator("#fn-status")).to_have_text("ready")
    expect(page.locator("#fn-editor .cm-content")).to_contain_text("def run(input: str) -> str:")
    # The progress speaks of the build; Docker's build log is kept out of sight until asked for.
    progress = page.locator("#fn-output .progress")
    expect(progress.locator(".last")).to_contain_text("Function pg-greet is ready")
    expect(progress.locator(".count")).to_contain_text("of details")
    log = page.locator("#fn-output .progress-log")
    if progress.get_attribute("open") is None:
        progress.locator("summary").click()
    shown = log.inner_text()
    page.check("#fn-output .details-toggle input")
    expect(log).not_to_have_text(shown)
    assert len(log.inner_text()) > len(shown)

    replace_code(page, "#fn-editor",
                 "def run(input: str) -> str:\n    return input.upper() + '!'\n")
    page.fill("#fn-desc", "Shouts")
    page.click("#fn-save")
    expect(page.locator("#fn-output .progress-log")).to_contain_text("Building function pg-greet v1")
    expect(row.locator("td").nth(2)).to_have_text("v1")
    expect(row.locator(".badge")).to_have_text("ready")

    page.fill("#fn-input", "hello")
    page.click("#fn-run")
    expect(page.locator("#fn-output .result")).to_contain_text("exit 0")
    expect(page.locator("#fn-output .console")).to_have_text("HELLO!")

    # What the page saved is what the service stores.
    with server.client() as client:
        detail = client.get("/api/function/pg-greet/detail").json()
    assert detail["description"] == "Shouts" and "input.upper() + '!'" in detail["code"]

    page.click("#fn-delete")
    page.click("#fn-confirm-yes")
    expect(page.locator("#fn-message")).to_have_text("Deleted pg-greet.")
    expect(row).to_have_count(0)
    with server.client() as client:
        assert client.get("/api/function/pg-greet/info").status_code == 404


def test_phone_width_dark_mode_and_keyboard(server: Server, open_page: OpenPage) -> None:
    page = open_page(server, viewport={"width": 390, "height": 844}, color_scheme="dark")
    # Nothing runs off the side of a phone screen.
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"the page is {overflow}px wider than the screen"
    # Dark mode: a dark background under light text.
    background = page.evaluate("getComputedStyle(document.documentElement).backgroundColor")
    assert background == "rgb(14, 17, 23)", background
    # Tabs move with the arrow keys; a language is picked with the keyboard.
    page.focus("#tab-run")
    page.keyboard.press("ArrowRight")
    expect(page.locator("#tab-functions")).to_be_focused()
    expect(page.locator("#view-functions")).to_be_visible()
    expect(page.locator("#view-run")).to_be_hidden()
    page.keyboard.press("ArrowLeft")
    expect(page.locator("#view-run")).to_be_visible()
    # Tab indents in the editor; Escape then Tab leaves it.
    page.locator("#run-editor .cm-content").click()
    page.keyboard.press("Tab")
    expect(page.locator("#run-editor .cm-content")).to_be_focused()
    page.keyboard.press("Escape")
    page.keyboard.press("Tab")
    expect(page.locator("#run-options summary")).to_be_focused()
    page.focus("#run-lang")
    page.select_option("#run-lang", "go")
    expect(page.locator("#run-editor .cm-content")).to_contain_text("package main")
    # The link now reproduces the snippet.
    expect(page).to_have_url(re.compile(r"#lang=go&code=package\+main"))


def test_playground_can_be_turned_off(make) -> None:  # type: ignore[no-untyped-def]
    srv: Server = make(RUNNER_PLAYGROUND="false", **NO_POOL)
    srv.start()
    assert httpx.get(f"{srv.url}/").status_code == 404
    assert httpx.get(f"{srv.url}/static/app.js").status_code == 404
    assert httpx.get(f"{srv.url}/api/openapi.json").status_code == 200


def test_a_saved_key_is_checked_and_clears_what_asked_for_it(server: Server,
                                                             open_page: OpenPage) -> None:
    page = open_page(server, key=None)
    page.click("#run-btn")
    expect(page.locator(MESSAGE)).to_contain_text("Paste the service's API key above first")
    # No "run the code to see its output" placeholder under the error box.
    expect(page.locator(CONSOLE)).to_be_hidden()
    page.fill("#api-key", "test-key")
    page.click("#key-form button[type=submit]")
    expect(page.locator("#key-state")).to_have_text("saved")
    expect(page.locator(MESSAGE)).to_be_hidden()
    expect(page.locator(CONSOLE)).to_be_visible()
    # The versions the service's images report, beside the languages' names.
    expect(page.locator("#run-lang option[value=python]")).to_have_text(re.compile(r"python \(Python 3\."))


def test_progress_speaks_of_the_run_not_of_container_ids(server: Server,
                                                         open_page: OpenPage) -> None:
    page = open_page(server, link("bash", "echo hi"))
    page.click("#run-btn")
    expect(page.locator(RESULT)).to_contain_text("exit 0")
    log = page.locator("#run-output .progress-log")
    expect(log).to_contain_text("container")
    assert not re.search(r"[0-9a-f]{12}", log.inner_text()), log.inner_text()


def test_history_keeps_the_last_runs_and_reopens_one(server: Server, open_page: OpenPage) -> None:
    page = open_page(server, link("python", "print('first')"))
    # Twenty older runs already kept: the list stays at twenty.
    page.evaluate("""localStorage.setItem("tinirun.history", JSON.stringify(
        Array.from({length: 20}, (_, i) => ({lang: "bash", code: `echo old ${i}`, args: "",
        stdin: "", dependencies: [], at: 0, outcome: "exit 0"}))))""")
    page.click("#run-btn")
    expect(page.locator(RESULT)).to_contain_text("exit 0")
    page.click("#run-options summary")
    page.fill("#run-args", "a 'b c'")
    replace = page.locator("#run-editor .cm-content")
    replace.click()
    page.keyboard.press("Control+a")
    page.keyboard.insert_text("print('second')")
    page.click("#run-btn")
    expect(page.locator(f"{CONSOLE} .out")).to_have_text("second\n")
    expect(page.locator("#run-history-list li").first).to_contain_text("print('second')")
    page.reload()
    page.click("#run-history summary")
    expect(page.locator("#run-history-count")).to_have_text("20")
    items = page.locator("#run-history-list li")
    expect(items).to_have_count(20)
    expect(items.first).to_contain_text("print('second')")
    expect(items.first).to_contain_text("exit 0")
    items.nth(1).locator("button").focus()
    page.keyboard.press("Enter")
    expect(page.locator("#run-editor .cm-content")).to_have_text("print('first')")
    expect(page.locator("#run-lang")).to_have_value("python")
    items.first.locator("button").click()
    expect(page.locator("#run-args")).to_have_value("a 'b c'")


PLOT = """import os, sys
import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt
os.makedirs("out", exist_ok=True)
plt.plot([1, 2, 3], [1, 4, 9])
plt.savefig("out/plot.png")
open("out/args.txt", "w").write("|".join(sys.argv[1:]))
"""


def test_output_files_and_arguments(server: Server, open_page: OpenPage) -> None:
    page = open_page(server, link("python", PLOT))
    page.click("#run-options summary")
    page.fill("#run-deps", "matplotlib")
    page.fill("#run-args", "one 'two words' \"th\\\"ree\"")
    page.click("#run-btn")
    expect(page.locator(f"{RESULT} .badge.ok")).to_have_text("exit 0", timeout=280_000)
    files = page.locator("#run-output .files")
    image = files.locator("img[alt='Image out/plot.png']")
    expect(image).to_be_visible()
    assert image.evaluate("img => img.naturalWidth") > 100
    download = files.locator("a", has_text="out/args.txt")
    expect(download).to_have_attribute("download", "args.txt")
    with page.expect_download() as caught:
        download.click()
    path = caught.value.path()
    with open(path, encoding="utf-8") as saved:
        assert saved.read() == 'one|two words|th"ree'
