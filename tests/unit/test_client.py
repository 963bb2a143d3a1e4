"""The client's pure parts: URLs and keys, bodies, chunk parsing, errors from answers."""

from __future__ import annotations

import subprocess
import sys

import httpx
import pytest

import tinirun.client as client_package
from tinirun.client import (
    AuthenticationError,
    BusyError,
    ClientError,
    DebugChunk,
    ErrorChunk,
    InfoChunk,
    InvalidRequestError,
    NotFoundError,
    ProtocolError,
    ResultChunk,
    RunError,
    ServerError,
    StatusError,
    StderrChunk,
    StdoutChunk,
    _exceptions,
    _request,
)
from tinirun.client._models import parse_chunk


@pytest.mark.parametrize(("given", "expected"), [
    ("http://h:1", "http://h:1/api"), ("http://h:1/", "http://h:1/api"),
    ("http://h:1/api", "http://h:1/api"), ("http://h:1/api/", "http://h:1/api"),
    ("h:1", "http://h:1/api"), ("https://x.example/runner", "https://x.example/runner/api"),
])
def test_api_url(given: str, expected: str) -> None:
    assert _request.api_url(given) == expected


def test_url_and_key_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("TINIRUN_URL", "TINIRUN_API_KEY", "RUNNER_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    assert _request.api_url(None) == "http://127.0.0.1:8082/api"
    assert _request.api_key(None) is None
    monkeypatch.setenv("RUNNER_API_KEY", "server")
    assert _request.api_key(None) == "server"
    monkeypatch.setenv("TINIRUN_API_KEY", "client")
    monkeypatch.setenv("TINIRUN_URL", "http://elsewhere:9")
    assert (_request.api_key(None), _request.api_url(None)) == ("client", "http://elsewhere:9/api")
    assert _request.api_key("flag") == "flag"


def test_run_body_leaves_out_what_is_not_given() -> None:
    assert _request.run_body("x", None, None, None, None, None, None, None) == {"code": "x"}
    body = _request.run_body("x", "python", ("a",), {"f.txt": "hi", "b": b"\x00"}, 5, 64, 1.5,
                             "in")
    assert body == {"code": "x", "lang": "python", "dependencies": ["a"],
                    "files": [{"path": "f.txt", "content": "aGk="},
                              {"path": "b", "content": "AA=="}],
                    "stdin": "in", "timeout": 5, "mem_limit_mb": 64, "cpu_limit": 1.5}


@pytest.mark.parametrize(("line", "kind"), [
    ('{"event":"info","data":"x"}', InfoChunk), ('{"event":"debug","data":"x"}', DebugChunk),
    ('{"event":"stdout","data":"x"}', StdoutChunk), ('{"event":"stderr","data":"x"}', StderrChunk),
    ('{"event":"result","data":{"stdout":"","stderr":"","exit_code":null,"timeout":true,'
     '"unknown_extension":1}}', ResultChunk),
    ('{"event":"error","data":{"error":"docker","message":"m"}}', ErrorChunk),
])
def test_chunks_are_typed(line: str, kind: type) -> None:
    chunk = parse_chunk(line)
    assert type(chunk) is kind
    assert chunk.to_json()["event"] == chunk.event.value


@pytest.mark.parametrize("line", ['{"event":"result","data":"text"}', '{"event":"new","data":1}',
                                  "not json", '{"event":"stdout"}'])
def test_bad_lines_are_protocol_errors(line: str) -> None:
    with pytest.raises(ProtocolError):
        parse_chunk(line)


@pytest.mark.parametrize(("status", "kind"), [
    (400, InvalidRequestError), (401, AuthenticationError), (404, NotFoundError),
    (413, InvalidRequestError), (422, InvalidRequestError), (429, BusyError),
    (502, ServerError), (503, ServerError), (418, StatusError),
])
def test_errors_by_status(status: int, kind: type[StatusError]) -> None:
    answer = httpx.Response(status, text="the reason\n", headers={"Retry-After": "7"})
    error = _exceptions.error_for(answer)
    assert type(error) is kind
    assert (error.status_code, error.message) == (status, "the reason")
    if isinstance(error, BusyError):
        assert error.retry_after == 7


def test_json_error_bodies_and_empty_ones() -> None:
    assert _exceptions.error_for(httpx.Response(400, json={"message": "m"})).message == "m"
    assert _exceptions.error_for(httpx.Response(404)).message == "Not Found"


def test_outcome_reads_to_the_end_then_raises() -> None:
    outcome = _request.Outcome()
    outcome.see(parse_chunk('{"event":"error","data":{"error":"build_failed","message":"m",'
                            '"logs":"l"}}'))
    with pytest.raises(RunError) as caught:
        outcome.result()
    assert (caught.value.kind, caught.value.logs) == ("build_failed", "l")
    with pytest.raises(ProtocolError):
        _request.Outcome().result()


def test_every_exception_is_in_the_drawn_tree() -> None:
    doc = _exceptions.__doc__ or ""
    errors = [name for name in client_package.__all__
              if isinstance(getattr(client_package, name), type)
              and issubclass(getattr(client_package, name), ClientError)]
    assert len(errors) == 10
    for name in errors:
        assert f" {name} " in doc, name


def test_all_is_sorted_and_complete() -> None:
    assert client_package.__all__ == sorted(client_package.__all__)
    for name in client_package.__all__:
        assert hasattr(client_package, name)


def test_client_and_cli_import_no_server_module() -> None:
    code = ("import sys, tinirun.client, tinirun.cli; "
            "print(sorted(m for m in ('fastapi', 'starlette', 'uvicorn', 'aiodocker', 'redis', "
            "'aiosqlite', 'tinirun.api', 'tinirun.engine', 'tinirun.runner', 'tinirun.store') "
            "if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True)
    assert done.stdout.strip() == "[]"
