"""Stream format negotiation and chunk encoding."""

from __future__ import annotations

import json

import pytest

from tinirun.api.streaming import encode, stream_format
from tinirun.models import Chunk, ChunkEvent, ErrorData, ErrorKind, RunResult


@pytest.mark.parametrize(
    ("accept", "expected"),
    [("text/event-stream", "sse"), ("application/json", "ndjson"),
     ("application/jsonl", "ndjson"), ("application/json-lines", "ndjson"),
     ("application/x-ndjson", "ndjson"), ("text/event-stream;q=0.9, */*", "sse"),
     (None, "DEFAULT"), ("*/*", "DEFAULT"), ("text/html", "DEFAULT")],
)
def test_stream_format(accept: str | None, expected: str) -> None:
    assert stream_format(accept, "DEFAULT") == expected


def test_encode_ndjson_and_sse() -> None:
    chunk = Chunk.info("Starting container...")
    assert encode(chunk, "ndjson") == b'{"event":"info","data":"Starting container..."}\n'
    assert encode(chunk, "sse") == b'data: {"event":"info","data":"Starting container..."}\n\n'


def test_result_and_error_shapes() -> None:
    result = Chunk.result(RunResult(stdout="a", stderr="", exit_code=0, timeout=False))
    data = json.loads(encode(result, "ndjson"))["data"]
    assert {"stdout", "stderr", "exit_code", "timeout"} <= set(data)
    error = Chunk.error(ErrorData(error=ErrorKind.DOCKER, message="down"))
    assert json.loads(encode(error, "ndjson")) == {
        "event": "error", "data": {"error": "docker", "message": "down"}}
    missing = Chunk.error(ErrorData(error=ErrorKind.FUNCTION_IMAGE_NOT_FOUND, message="m",
                                    image_tag="t"))
    assert json.loads(encode(missing, "ndjson"))["data"]["image_tag"] == "t"


def test_utf8_is_not_escaped() -> None:
    assert "é".encode() in encode(Chunk(event="stdout", data="é"), "ndjson")  # type: ignore[arg-type]


@pytest.mark.parametrize("fmt", ["ndjson", "sse"])
def test_one_chunk_is_one_line_whatever_the_output(fmt: str) -> None:
    text = "a\x85b\u2028c\u2029d\r\ne\x00f\x1c\x1d\x1eg\x0b\x0ch"
    encoded = encode(Chunk(event=ChunkEvent.STDOUT, data=text), fmt).decode()
    body = encoded.removeprefix("data: ").rstrip("\n")
    assert len(body.splitlines()) == 1
    assert json.loads(body)["data"] == text
