"""The web playground: one page, served at / next to the API, that runs code and manages
functions through /api from the browser.

Every asset ships in this package (no CDN). The languages and their starting snippets are
embedded in the page as it is served, so a language added as a folder appears here too.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.routing import Mount, Route, Router
from starlette.staticfiles import StaticFiles

from tinirun.languages import all_languages

HERE = Path(__file__).parent
LANGUAGES_MARK = "<!-- languages -->"
# Only our own origin: scripts, styles, fetches. CodeMirror injects <style> elements.
CSP = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
       "img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'self'; "
       "frame-ancestors 'none'; form-action 'none'")


def languages_json() -> str:
    """Each language's name, file extensions, editor mode and indentation, starting snippet
    and function sample (what the page needs before it has a key for /api/languages)."""
    data = [
        {"name": lang.name, "extensions": list(lang.extensions), "example": lang.example_code,
         "mode": lang.editor.mode, "indent": lang.editor.indent,
         "function_file": lang.function.file, "function_sample": lang.sample_code}
        for lang in all_languages().values()
    ]
    # "</" would end the <script> element early.
    return json.dumps(data, ensure_ascii=False).replace("</", "<\\/")


@cache
def page() -> str:
    html = (HERE / "index.html").read_text()
    block = f'<script id="languages" type="application/json">{languages_json()}</script>'
    return html.replace(LANGUAGES_MARK, block)


async def index(request: Request) -> HTMLResponse:
    return HTMLResponse(page(), headers={"Content-Security-Policy": CSP,
                                         "Cache-Control": "no-cache",
                                         "X-Content-Type-Options": "nosniff"})


def create_playground() -> Router:
    """The playground's routes, to mount at /: the page and its static assets."""
    return Router(routes=[
        Route("/", index, methods=["GET", "HEAD"]),
        Mount("/static", StaticFiles(directory=HERE / "static"), name="playground-static"),
    ])
