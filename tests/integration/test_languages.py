"""GET /api/languages against the real images, and a seventh language added as a folder alone."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.integration.server import Server, result_of
from tinirun.languages import BUILTIN_DIR, all_languages

LUA = Path(__file__).parent / "languages" / "lua"
# The version each shipped runtime image reports.
VERSIONS = {
    "bash": r"GNU bash, version 5\.\d+.*",
    "go": r"go version go1\.\d+(\.\d+)? linux/\w+",
    "javascript": r"v\d+\.\d+\.\d+",
    "python": r"Python 3\.\d+\.\d+",
    "rust": r"rustc 1\.\d+\.\d+.*",
    "typescript": r"Node\.js v\d+\.\d+\.\d+, TypeScript 5\.\d+\.\d+",
}


def languages(server: Server) -> list[dict[str, Any]]:
    with server.client() as client:
        response = client.get("/api/languages")
    assert response.status_code == 200, response.text
    data: list[dict[str, Any]] = response.json()
    return data


def test_languages_need_the_key(server: Server) -> None:
    assert httpx.get(f"{server.url}/api/languages").status_code == 401


def test_languages_describe_each_folder_and_its_image(server: Server) -> None:
    listed = languages(server)
    assert [entry["name"] for entry in listed] == sorted(all_languages()) == sorted(VERSIONS)
    for entry in listed:
        language = all_languages()[entry["name"]]
        assert entry["version"] is not None, entry["name"]
        assert re.fullmatch(VERSIONS[entry["name"]], entry["version"]), entry
        assert entry["extension"] == language.extensions[0]
        assert entry["source"] == language.source
        assert entry["example"] == language.example_code
        assert entry["dependencies"]["manager"] == language.dependency_manager
        assert entry["dependencies"]["syntax"]
        assert entry["function"]["sample"] == language.sample_code
    by_name = {entry["name"]: entry for entry in listed}
    assert by_name["go"]["compiled"] and by_name["rust"]["compiled"]
    assert not by_name["python"]["compiled"] and not by_name["bash"]["compiled"]
    assert by_name["go"]["editor"] == {"mode": "go", "indent": "\t"}
    for name in ("go", "javascript", "python", "rust", "typescript"):
        assert by_name[name]["diagnostics"], name
    # Read once: the answer does not change (and runs no container) the second time.
    assert languages(server) == listed


@pytest.fixture(scope="module")
def lua_server(engine_ready: None, tmp_path_factory: pytest.TempPathFactory) -> Any:
    """A service whose languages directory holds the shipped six and a Lua folder."""
    from tests.integration.server import make_server

    tmp = tmp_path_factory.mktemp("lua")
    directory = tmp / "languages"
    directory.mkdir()
    for name in all_languages():
        (directory / name).symlink_to(BUILTIN_DIR / name, target_is_directory=True)
    (directory / "lua").symlink_to(LUA, target_is_directory=True)
    # Its runtime image is built by the first run, as on a new machine.
    subprocess.run(["docker", "image", "rm", "--force", lua_runtime_tag()], capture_output=True,
                   check=False)
    srv = make_server(tmp, RUNNER_LANGUAGES_DIR=str(directory))
    srv.start()
    yield srv
    srv.stop()


def lua_runtime_tag() -> str:
    from tinirun.languages import load_language
    from tinirun.runner.images import ImageManager

    return ImageManager(engine=None).runtime_tag(load_language(LUA))  # type: ignore[arg-type]


def test_a_seventh_language_is_a_folder(lua_server: Server) -> None:
    # A run, its runtime image built first: the stream says about how long that takes, then
    # the build's steps, then how long it took; then a runtime error read as data.
    example = (LUA / "example.lua").read_text()
    chunks = lua_server.run({"lang": "lua", "code": example})
    said = [c["data"] for c in chunks if c["event"] == "info"]
    assert "Building the lua runtime image, once on this machine (about 10 s)..." in said, said
    assert any(re.fullmatch(r"step 3/\d+: RUN apt-get update .* \(\d+ s\)", s) for s in said), said
    assert any(re.fullmatch(r"Built the lua runtime image in \d+ s", s) for s in said), said
    result = result_of(chunks)
    assert result["exit_code"] == 0, result
    assert result["stdout"] == "Hello, world!\ntick 1\ntick 2\ntick 3\n"
    failed = result_of(lua_server.run({"lang": "lua", "code": "print(1)\nnope()\n"}))
    assert failed["exit_code"] == 1
    assert "main.lua:2: attempt to call a nil value (global 'nope')" in failed["stderr"]
    # The language list knows it, with the version its image reports.
    entry = next(e for e in languages(lua_server) if e["name"] == "lua")
    assert re.fullmatch(r"Lua 5\.4\.\d+ .*", entry["version"]), entry
    assert entry["extension"] == "lua" and entry["editor"]["mode"] == "lua"
    # A function: created with its sample, updated, run.
    with lua_server.client() as client:
        created = client.post("/api/function", json={"name": "greet-lua", "language": "lua"})
        assert created.status_code == 200
        assert '"event":"error"' not in created.text.replace(" ", ""), created.text[-500:]
        ran = client.post("/api/function/greet-lua/run", json={"input": "tinirun"})
        assert ran.status_code == 200, ran.text
        assert ran.json()["stdout"] == "Hello, tinirun!"
        updated = client.post("/api/function/greet-lua",
                              json={"code": "function run(input)\n  return input:upper()\nend\n"})
        assert '"event":"error"' not in updated.text.replace(" ", ""), updated.text[-500:]
        assert client.post("/api/function/greet-lua/run",
                           json={"input": "abc"}).json()["stdout"] == "ABC"
        client.delete("/api/function/greet-lua")


# What the shipped Dockerfiles record for the boot commands, each with a way round it.
RECORDS = {"python": ["/usr/lib/tinirun/python-user-site"],
           "rust": ["/opt/tinirun/rust-link.args", "/opt/tinirun/prestarted"]}
OWN_HELLO = {"python": "print('own image')", "rust": 'fn main() { println!("own image"); }\n'}


def test_an_image_of_ones_own_needs_no_record_of_ours(server: Server, make) -> None:  # type: ignore[no-untyped-def]
    """RUNNER_IMAGE_<LANG> may name an image not built from the folder's Dockerfile: without
    the records that Dockerfile writes, python's launcher finds the user site directory from
    the interpreter's name, and rust links through gcc's driver (no ld.lld pre-started)."""
    from tinirun.languages import get_language
    from tinirun.runner.images import ImageManager

    images = ImageManager(engine=None)  # type: ignore[arg-type]
    tags = {}
    srv: Server | None = None
    try:
        for lang, record in RECORDS.items():
            assert result_of(server.run({"lang": lang, "code": OWN_HELLO[lang]}))["exit_code"] == 0
            tag = f"tinirun-test-own-{lang}:1"
            dockerfile = f"FROM {images.runtime_tag(get_language(lang))}\nRUN rm -r {' '.join(record)}\n"
            subprocess.run(["docker", "build", "-q", "-t", tag, "-"], input=dockerfile.encode(),
                           capture_output=True, check=True)
            tags[lang] = tag
        srv = make(**{f"RUNNER_IMAGE_{lang.upper()}": tag for lang, tag in tags.items()})
        srv.start()
        for lang in RECORDS:
            result = result_of(srv.run({"lang": lang, "code": OWN_HELLO[lang]}))
            assert (result["exit_code"], result["stdout"]) == (0, "own image\n"), (lang, result)
    finally:
        if srv is not None:
            srv.stop()  # its warm containers go first, then their images can
        for tag in tags.values():
            subprocess.run(["docker", "image", "rm", "--force", tag], capture_output=True,
                           check=False)
