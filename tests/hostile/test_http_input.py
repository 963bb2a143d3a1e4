"""Input no layer below the API can hold is refused at the door: text that UTF-8 cannot encode
(a lone surrogate, which JSON may carry as `"\\ud800"`) and file names longer than a file
system's 255 bytes are a 400 naming the field; every function name the API accepts builds."""

from __future__ import annotations

import base64
import json
import secrets
from typing import Any

import pytest

from tests.hostile.harness import Hostile
from tests.integration.server import iter_chunks

LONE = "\ud800"
FILE = {"path": "a.txt", "content": base64.b64encode(b"x").decode()}


def post_raw(hostile: Hostile, path: str, body: dict[str, Any]) -> tuple[int, str]:
    """POST `body` as JSON with its surrogates escaped, as any JSON encoder may send them."""
    with hostile.server.client(timeout=60) as client:
        response = client.post(path, content=json.dumps(body).encode(),
                               headers={"Content-Type": "application/json"})
    return response.status_code, response.text


RUN_CASES = [
    ("code", {"code": f"echo {LONE}", "lang": "bash"}),
    ("stdin", {"code": "cat", "lang": "bash", "stdin": f"in{LONE}"}),
    ("files[0].path", {"code": "ls", "lang": "bash", "files": [{**FILE, "path": f"a{LONE}"}]}),
    ("files[0].content", {"code": "ls", "lang": "bash",
                          "files": [{**FILE, "content": f"eA=={LONE}"}]}),
    ("dependencies[0]", {"code": "ls", "lang": "python", "dependencies": [f"six{LONE}"]}),
]


RUN_CASES += [
    ("args[0]", {"code": "echo", "lang": "bash", "args": [f"a{LONE}"]}),
    ("output_globs[0]", {"code": "echo", "lang": "bash", "output_globs": [f"out/{LONE}"]}),
]
CREATE_CASES = [
    ("code", {"code": f"def run(i):\n    return '{LONE}'\n"}),
    ("description", {"description": f"d{LONE}"}),
    ("dependencies[0]", {"dependencies": [f"a{LONE}"]}),
]


@pytest.mark.parametrize(("field", "extra"), CREATE_CASES, ids=[c[0] for c in CREATE_CASES])
def test_surrogate_in_a_new_function_is_a_400_naming_the_field(
    hostile: Hostile, field: str, extra: dict[str, Any]
) -> None:
    name = "created_" + "".join(secrets.choice("abcdefgh") for _ in range(8))
    status, text = post_raw(hostile, "/api/function", {"name": name, "language": "python",
                                                       **extra})
    assert status == 400, (status, text[-300:])
    assert field in text and "cannot be encoded" in text, text
    with hostile.server.client(timeout=60) as client:
        assert client.get(f"/api/function/{name}/info").status_code == 404


@pytest.mark.parametrize(("field", "body"), RUN_CASES, ids=[c[0] for c in RUN_CASES])
def test_surrogate_in_a_run_is_a_400_naming_the_field(hostile: Hostile, field: str,
                                                      body: dict[str, Any]) -> None:
    status, text = post_raw(hostile, "/api/code/run", body)
    assert status == 400, (status, text[-300:])
    assert field in text and "cannot be encoded" in text, text


FUNCTION_CASES = [
    ("code", "/api/function/{name}", {"code": f"def run(i):\n    return '{LONE}'\n"}),
    ("description", "/api/function/{name}", {"code": "x", "description": f"d{LONE}"}),
    ("dependencies[0]", "/api/function/{name}", {"code": "x", "dependencies": [f"a{LONE}"]}),
    ("input", "/api/function/{name}/run", {"input": f"i{LONE}"}),
    ("input", "/api/function/{name}/run/stream", {"input": LONE}),
]


@pytest.mark.parametrize(("field", "route", "body"), FUNCTION_CASES,
                         ids=[f"{c[1].rsplit('}', 1)[1] or '/update'}-{c[0]}" for c in FUNCTION_CASES])
def test_surrogate_in_a_function_is_a_400_naming_the_field(
    hostile: Hostile, field: str, route: str, body: dict[str, Any]
) -> None:
    name = "surrogate_" + "".join(secrets.choice("abcdefgh") for _ in range(8))
    with hostile.server.client(timeout=60) as client:
        created = client.post("/api/function", json={"name": name, "language": "python"})
        assert created.status_code == 200, created.text
    status, text = post_raw(hostile, route.format(name=name), body)
    assert status == 400, (status, text[-300:])
    assert field in text and "cannot be encoded" in text, text
    with hostile.server.client(timeout=60) as client:
        # Nothing was stored: the function reads back (a stored surrogate made this a 500).
        assert client.get(f"/api/function/{name}/detail").status_code == 200
        client.delete(f"/api/function/{name}")


@pytest.mark.parametrize("name", ["_x", "x_", "-x", "X-_-Y", "__"])
def test_every_accepted_name_builds(hostile: Hostile, name: str) -> None:
    """Names Docker would refuse as they are (a separator at an end, `-_`, upper case) still
    get an image: tags are derived from the name, never the name itself."""
    unique = name.replace("x", "x" + "".join(secrets.choice("abcdef") for _ in range(6)))
    with hostile.server.client(timeout=300) as client:
        with client.stream("POST", "/api/function",
                           json={"name": unique, "language": "bash"}) as response:
            assert response.status_code == 200, response.read()
            chunks = list(iter_chunks(response))
        assert chunks[-1]["event"] == "info" and "is ready" in chunks[-1]["data"], chunks[-3:]
        ran = client.post(f"/api/function/{unique}/run", json={"input": "hello"})
        assert ran.status_code == 200, ran.text
        assert ran.json()["exit_code"] == 0, ran.json()
        client.delete(f"/api/function/{unique}")


def test_file_name_over_255_bytes_is_a_400(hostile: Hostile) -> None:
    """200 characters but 400 bytes: the length that counts is the file system's."""
    body = {"code": "ls files", "lang": "bash",
            "files": [{**FILE, "path": "dir/" + "é" * 200}]}
    status, text = post_raw(hostile, "/api/code/run", body)
    assert status == 400, (status, text[-300:])
    assert "files[0].path" in text and "255 bytes" in text, text


def test_file_name_of_255_bytes_reaches_the_program(hostile: Hostile) -> None:
    name = "é" * 127 + "x"  # 255 bytes
    chunks = hostile.server.run({"code": "cat files/d/*", "lang": "bash", "timeout": 10,
                                 "files": [{**FILE, "path": f"d/{name}"}]})
    assert chunks[-1]["event"] == "result", chunks[-3:]
    assert chunks[-1]["data"]["stdout"] == "x", chunks[-1]
