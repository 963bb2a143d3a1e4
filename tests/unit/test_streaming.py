"""Stream format negotiation and chunk encoding."""

from __future__ import annotations

import json

import pytest

from tinirun.api.streaming import JSONL, NDJSON, SSE, encode, stream_media_type
from tinirun.models import Chunk, ChunkEvent, ErrorData, ErrorKind, RunResult


@pytest.mark.parametrize(
    ("accept", "expected"),
    [("text/event-stream", SSE), ("application/json", JSONL), ("application/jsonl", JSONL),
     ("application/json-lines", "application/json-lines"), ("application/x-ndjson", NDJSON),
     ("Application/X-NDJSON; charset=utf-8", NDJSON), (" text/event-stream ", SSE)],
)
def test_a_named_stream_type_is_answered_with_it(accept: str, expected: str) -> None:
    assert stream_media_type(accept, "sse") == expected
    assert stream_media_type(accept, "ndjson") == expected


@pytest.mark.parametrize(
    "accept", [None, "", "*/*", "text/html", "text/event-stream;q=0.9, */*",
               "application/json, text/plain, */*"],
)
def test_anything_else_gets_the_default_sse_as_the_original(accept: str | None) -> None:
    # The original's code reads the whole header: a list, a wildcard or nothing gets SSE.
    assert stream_media_type(accept, "sse") == SSE
    assert stream_media_type(accept, "ndjson") == JSONL


def test_encode_ndjson_and_sse() -> None:
    chunk = Chunk.info("Starting container...")
    assert encode(chunk, sse=False) == b'{"event":"info","data":"Starting container..."}\n'
    assert encode(chunk, sse=True) == b'data: {"event":"info","data":"Starting container..."}\n\n'


def test_result_and_error_shapes() -> None:
    result = Chunk.result(RunResult(stdout="a", stderr="", exit_code=0, timeout=False))
    data = json.loads(encode(result, sse=False))["data"]
    assert {"stdout", "stderr", "exit_code", "timeout"} <= set(data)
    error = Chunk.error(ErrorData(error=ErrorKind.DOCKER, message="down"))
    assert json.loads(encode(error, sse=False)) == {
        "event": "error", "data": {"error": "docker", "message": "down"}}
    missing = Chunk.error(ErrorData(error=ErrorKind.FUNCTION_IMAGE_NOT_FOUND, message="m",
                                    image_tag="t"))
    assert json.loads(encode(missing, sse=False))["data"]["image_tag"] == "t"


def test_utf8_is_not_escaped() -> None:
    assert "é".encode() in encode(Chunk(event="stdout", data="é"), sse=False)  # type: ignore[arg-type]


@pytest.mark.parametrize("sse", [False, True])
def test_one_chunk_is_one_line_whatever_the_output(sse: bool) -> None:
    text = "a\x85b\u2028c\u2029d\r\ne\x00f\x1c\x1d\x1eg\x0b\x0ch"
    encoded = encode(Chunk(event=ChunkEvent.STDOUT, data=text), sse).decode()
    body = encoded.removeprefix("data: ").rstrip("\n")
    assert len(body.splitlines()) == 1
    assert json.loads(body)["data"] == text
