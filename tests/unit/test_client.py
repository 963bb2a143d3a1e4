"""The client's pure parts: URLs and keys, bodies, chunk parsing, errors from answers; and that
it stands alone (no server module, no pydantic)."""

from __future__ import annotations

import subprocess
import sys

import httpx
import pytest
import tinirun_client as client_package
from tinirun_client import (
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
    _json,
    _request,
)
from tinirun_client._chunks import parse_chunk

import tinirun.client


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


def test_the_client_loads_no_server_module_and_no_pydantic() -> None:
    # A fresh interpreter: import it, make a client, read every kind of answer.
    code = """if True:
        import sys, tinirun_client as c
        c.Client("http://127.0.0.1:9", "k").close()
        c.parse_chunk_checked = [type(c._chunks.parse_chunk(line)).__name__ for line in sys.argv[1:]]
        loaded = [m for m in sys.modules if m.split(".")[0] in ("tinirun", "pydantic")
                  or m.startswith("pydantic")]
        print(sorted(loaded), len(c.parse_chunk_checked))
    """
    lines = ['{"event":"info","data":"x"}',
             '{"event":"result","data":{"stdout":"","stderr":"","exit_code":0,"timeout":false}}',
             '{"event":"error","data":{"error":"docker","message":"m"}}']
    done = subprocess.run([sys.executable, "-c", code, *lines], capture_output=True, text=True,
                          check=True)
    assert done.stdout.split() == ["[]", "3"], done.stdout


def test_tinirun_client_is_the_same_client() -> None:
    assert tinirun.client.__all__ == client_package.__all__
    for name in client_package.__all__:
        assert getattr(tinirun.client, name) is getattr(client_package, name), name


INFO = {"lang": "cobol", "status": {"type": "ready", "tag": "t", "id": "i"},
        "created_at": "2026-01-01T00:00:00Z", "updated_at": "2026-01-01T00:00:00Z",
        "version": "3", "some_extension": 1}


def test_a_language_the_client_never_heard_of_is_no_trouble() -> None:
    info = client_package.FunctionInfo.from_json(INFO)
    assert (info.lang, info.version, info.status.type, info.status.tag) == ("cobol", 3, "ready", "t")
    assert info.to_json() == INFO
    detail = client_package.FunctionDetail.from_json({**INFO, "code": "x", "status": {
        "type": "error", "error": "a_new_kind", "message": "m"}})
    assert (detail.code, detail.dependencies, detail.status.error) == ("x", None, "a_new_kind")
    with pytest.raises(ProtocolError):
        _json.parse_json(client_package.FunctionInfo.from_json, b'{"lang": 1}')


def test_output_files_are_bytes() -> None:
    chunk = parse_chunk(
        '{"event":"result","data":{"stdout":"","stderr":"","exit_code":0,"timeout":false,'
        '"output_files":[{"path":"out/a.png","size":3,"media_type":"image/png",'
        '"content":"AAH/"}],"output_files_truncated":true,"output_files_omitted":["out/b"]}}')
    assert isinstance(chunk, ResultChunk)
    (made,) = chunk.data.output_files
    assert (made.path, made.size, made.media_type, made.content) == (
        "out/a.png", 3, "image/png", b"\x00\x01\xff")
    assert chunk.data.output_files_truncated and chunk.data.output_files_omitted == ("out/b",)
    plain = parse_chunk('{"event":"result","data":{"stdout":"","stderr":"","exit_code":null,'
                        '"timeout":true}}')
    assert isinstance(plain, ResultChunk) and plain.data.output_files == ()
    with pytest.raises(ProtocolError):
        parse_chunk('{"event":"result","data":{"stdout":"","stderr":"","exit_code":0,'
                    '"timeout":false,"output_files":[{"path":"a","content":"not base64!"}]}}')


def test_args_and_output_globs_are_sent() -> None:
    body = _request.run_body("x", "python", None, None, None, None, None, None,
                             ["a b", "ü"], ["out/**", "*.csv"])
    assert body == {"code": "x", "lang": "python", "args": ["a b", "ü"],
                    "output_globs": ["out/**", "*.csv"]}


def test_languages_are_read() -> None:
    (lang,) = _json.parse_json(_json.list_of(client_package.LanguageInfo.from_json), rb"""[
        {"name": "go", "version": "go1.25", "extension": "go", "source": "main.go",
         "compiled": true, "dependencies": {"manager": "go get", "syntax": "module@version"},
         "example": "package main", "diagnostics": [{"pattern": "^(?P<line>\\d+)"}]}]""")
    assert (lang.name, lang.version, lang.compiled, lang.dependencies.manager) == (
        "go", "go1.25", True, "go get")
    assert lang.diagnostics[0].pattern == "^(?P<line>\\d+)"
    assert (lang.diagnostics[0].message_at, lang.diagnostics[0].column_base) == ("after", 1)
