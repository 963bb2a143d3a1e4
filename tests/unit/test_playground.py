"""The playground's page and assets as served (no browser: see tests/browser for that)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import httpx
import pytest

from tinirun.api.app import create_app
from tinirun.config import Config
from tinirun.languages import all_languages
from tinirun.playground import HERE

# A URL that would make the browser fetch from elsewhere (the SVG namespace is no fetch).
EXTERNAL = re.compile(r"(?:https?:)?//(?!www\.w3\.org/2000/svg)[a-z0-9.-]+\.[a-z]{2,}", re.I)


async def get(path: str, playground: bool = True) -> httpx.Response:
    # Without the lifespan: serving the page needs no engine or store.
    app = create_app(Config(api_key="k", playground=playground))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                 base_url="http://playground") as client:
        return await client.get(path)


async def test_page_embeds_every_language() -> None:
    response = await get("/")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "default-src 'self'" in response.headers["content-security-policy"]
    block = re.search(r'<script id="languages" type="application/json">(.*?)</script>',
                      response.text, re.S)
    assert block is not None
    embedded = {lang["name"]: lang for lang in json.loads(block.group(1))}
    assert set(embedded) == set(all_languages())
    for name, language in all_languages().items():
        assert embedded[name]["example"] == language.example_code != ""
        assert embedded[name]["function_sample"] == language.sample_code


def test_embedded_code_cannot_end_the_script_element() -> None:
    from tinirun.playground import languages_json

    assert "</" not in languages_json()


@pytest.mark.parametrize("asset", ["app.js", "api.js", "run.js", "functions.js", "output.js",
                                   "dom.js", "style.css", "icon.svg", "vendor/editor.js"])
async def test_assets_are_served(asset: str) -> None:
    response = await get(f"/static/{asset}")
    assert response.status_code == 200, asset
    if asset.endswith(".js"):
        assert response.headers["content-type"].startswith("text/javascript")


def test_every_asset_ships_in_the_package_and_nothing_comes_from_elsewhere() -> None:
    files = [HERE / "index.html", *sorted((HERE / "static").rglob("*.*"))]
    for path in files:
        if path.suffix not in (".html", ".js", ".css", ".svg"):
            continue
        found = EXTERNAL.findall(path.read_text())
        assert not found, f"{path.name} refers to {found}"
    referenced = re.findall(r'(?:src|href)="(static/[^"]+)"', (HERE / "index.html").read_text())
    assert referenced
    for ref in referenced:
        assert (HERE / ref).is_file(), ref


async def test_api_routes_still_answer_beside_the_page() -> None:
    assert (await get("/api/openapi.json")).status_code == 200
    assert (await get("/api/function")).status_code == 401


async def test_turned_off_the_root_is_404() -> None:
    assert (await get("/", playground=False)).status_code == 404
    assert (await get("/static/app.js", playground=False)).status_code == 404
    assert (await get("/api/openapi.json", playground=False)).status_code == 200


async def test_unknown_paths_are_404() -> None:
    assert (await get("/nope")).status_code == 404
    assert (await get("/static/nope.js")).status_code == 404


def test_served_files_are_package_data() -> None:
    pyproject = (Path(__file__).resolve().parents[2] / "pyproject.toml").read_text()
    patterns = re.search(r'^"\*" = \[(.*)\]$', pyproject, re.M)
    assert patterns is not None
    globs = re.findall(r'"([^"]+)"', patterns.group(1))
    for path in (HERE / "static").rglob("*"):
        if path.is_file():
            assert any(path.match(g) for g in globs), f"{path.name} would not be installed"
