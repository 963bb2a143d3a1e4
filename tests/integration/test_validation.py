"""Bad input is refused with a clear 4xx naming the field, before anything runs."""

from __future__ import annotations

import time
from typing import Any

import pytest

from tests.integration.conftest import containers_of
from tests.integration.server import Server

OK = {"code": "echo hi", "lang": "bash"}


def post(server: Server, body: Any, raw: bytes | None = None) -> tuple[int, str]:
    with server.client() as client:
        if raw is not None:
            response = client.post("/api/code/run", content=raw,
                                   headers={"Content-Type": "application/json"})
        else:
            response = client.post("/api/code/run", json=body)
    return response.status_code, response.text


@pytest.mark.parametrize(
    ("change", "status", "needle"),
    [
        ({"dependencies": ["requests;rm -rf /"]}, 400, "';'"),
        ({"dependencies": ["ok", "bad dep"]}, 400, "' '"),
        ({"dependencies": [""]}, 400, "empty"),
        ({"dependencies": ["--index-url=http://evil"]}, 400, "options are not allowed"),
        ({"dependencies": ["-e"]}, 400, "options are not allowed"),
        ({"files": [{"path": "../x", "content": ""}]}, 400, "files[0].path"),
        ({"files": [{"path": "/etc/x", "content": ""}]}, 400, "relative"),
        ({"files": [{"path": "a/./b", "content": ""}]}, 400, "files[0].path"),
        ({"files": [{"path": "Dockerfile", "content": ""}]}, 400, "not allowed"),
        ({"files": [{"path": "a\\b", "content": ""}]}, 400, "backslash"),
        ({"files": [{"path": "a", "content": "!!!"}]}, 400, "base64"),
        ({"files": [{"path": "a", "content": ""}, {"path": "a/b", "content": ""}]}, 400,
         "under another file"),
        ({"files": [{"path": f"f{i}", "content": ""} for i in range(51)]}, 422, "files"),
        ({"timeout": 4}, 422, "timeout"),
        ({"timeout": 301}, 422, "timeout"),
        ({"mem_limit_mb": 0}, 422, "mem_limit_mb"),
        ({"mem_limit_mb": 2049}, 422, "mem_limit_mb"),
        ({"cpu_limit": 0.05}, 422, "cpu_limit"),
        ({"cpu_limit": 4.5}, 422, "cpu_limit"),
        ({"lang": "cobol"}, 422, "lang"),
        ({"code": 5}, 422, "code"),
        ({"dependencies": "six"}, 422, "dependencies"),
    ],
)
def test_bad_input(server: Server, change: dict[str, Any], status: int, needle: str) -> None:
    code, text = post(server, {**OK, **change})
    assert code == status, text
    assert needle in text


def test_missing_code(server: Server) -> None:
    code, text = post(server, {"lang": "bash"})
    assert code == 422
    assert "code" in text


def test_invalid_json(server: Server) -> None:
    code, text = post(server, None, raw=b'{"code": ')
    assert code == 400
    assert "JSON" in text


def test_rust_features_are_allowed(server: Server) -> None:
    """`--features` passes validation for rust (the build itself needs crates.io)."""
    with server.client() as client, client.stream(
        "POST", "/api/code/run",
        json={"code": "fn main() {}", "lang": "rust",
              "dependencies": ["serde=1.0", "--features", "serde/derive"]},
    ) as response:
        assert response.status_code == 200


def test_nothing_started_for_bad_input(server: Server) -> None:
    server.run(OK)  # the pools are full once a run has gone through
    time.sleep(2)
    before = set(containers_of(server))
    for bad in ({"dependencies": ["a|b"]}, {"timeout": 1}, {"files": [{"path": "..", "content": ""}]}):
        assert post(server, {**OK, **bad})[0] in (400, 422)
    assert set(containers_of(server)) == before
