"""Output floods, binary output and a slow reader: the stream stays bounded (a per-run budget
of streamed bytes, RUNNER_MAX_STREAM_BYTES, 16 MiB by default), the result is capped at 1 MiB
per stream and says truncated, and the service's memory stays bounded."""

from __future__ import annotations

import json

from tests.hostile.harness import Hostile, bash, python

MIB = 1024 * 1024
STREAM_BUDGET = 16 * MIB
RESULT_CAP = MIB
# The service's resident memory may grow by this much during a flood (measured: a few MiB).
RSS_GROWTH_LIMIT_KIB = 64 * 1024


def flood(stream: str, total_mib: int, line: bool = True) -> str:
    block = "b'a' * (1024 * 1024 - 1) + b'\\n'" if line else "b'x' * (1024 * 1024)"
    return (
        "import sys\n"
        f"out = sys.{stream}.buffer\n"
        f"block = {block}\n"
        f"for _ in range({total_mib}):\n"
        "    out.write(block)\n"
        "out.flush()\n"
    )


def check_flood(outcome, stream: str) -> None:  # type: ignore[no-untyped-def]
    result = outcome.result
    assert result["exit_code"] == 0, result
    assert result["timeout"] is False
    assert result[f"{stream}_truncated"] is True
    assert len(result[stream].encode()) <= RESULT_CAP
    # The budget is for both streams together; past it nothing more is streamed.
    assert sum(outcome.streamed.values()) <= STREAM_BUDGET
    assert outcome.streamed[stream] >= STREAM_BUDGET - 64 * 1024
    assert any(i.startswith(f"Output past {STREAM_BUDGET} bytes") for i in outcome.infos)
    assert outcome.peak_rss_kib - outcome.base_rss_kib < RSS_GROWTH_LIMIT_KIB


def test_one_gib_to_stdout(hostile: Hostile) -> None:
    outcome = hostile.survive(python(flood("stdout", 1024), cpu_limit=1.0, timeout=120),
                              name="1 GiB to stdout")
    check_flood(outcome, "stdout")


def test_one_gib_to_stderr(hostile: Hostile) -> None:
    outcome = hostile.survive(python(flood("stderr", 1024), cpu_limit=1.0, timeout=120),
                              name="1 GiB to stderr")
    check_flood(outcome, "stderr")


def test_one_line_of_200_mib(hostile: Hostile) -> None:
    code = "head -c 200M /dev/zero | tr '\\0' x\n"
    outcome = hostile.survive(bash(code, cpu_limit=1.0, timeout=60), name="200 MiB line")
    check_flood(outcome, "stdout")
    assert "\n" not in outcome.text["stdout"]
    assert set(outcome.result["stdout"]) == {"x"}


BINARY = (
    "import os, sys, time\n"
    "out = sys.stdout.buffer\n"
    "out.write(b'ok \\xff\\xfe bad \\x00 nul \\xc3( half \\xed\\xa0\\x80 surrogate\\n')\n"
    "out.write(b'euro: \\xe2\\x82'); out.flush(); time.sleep(0.3)\n"
    "out.write(b'\\xac end\\n'); out.flush()\n"
    "out.write(os.urandom(64 * 1024)); out.flush()\n"
    "sys.stderr.buffer.write(b'\\x1b[31mred\\x1b[0m \\r\\n\\n\\x07\\n'); sys.stderr.flush()\n"
    "time.sleep(2)\n"
)


def test_invalid_utf8_and_binary_output(hostile: Hostile) -> None:
    """Bytes are decoded as UTF-8 incrementally (a character split across writes survives);
    invalid bytes become U+FFFD; NUL and control characters pass, escaped by JSON."""
    outcome = hostile.survive(python(BINARY), name="invalid UTF-8 and binary")
    result = outcome.result
    first, second = result["stdout"].split("\n")[:2]
    assert first == "ok \ufffd\ufffd bad \x00 nul \ufffd( half \ufffd\ufffd\ufffd surrogate"
    assert second == "euro: \u20ac end"
    assert result["stderr"] == "\x1b[31mred\x1b[0m \r\n\n\x07\n"
    assert outcome.text["stdout"] == result["stdout"]
    assert result["exit_code"] == 0
    # The same bytes as Server-Sent Events: each chunk still one `data:` line.
    with hostile.server.client() as client:
        response = client.post("/api/code/run", json=python(BINARY),
                               headers={"Accept": "text/event-stream"})
    events = [e for e in response.text.split("\n\n") if e]
    assert all(e.startswith("data: ") and "\n" not in e for e in events)
    last = json.loads(events[-1][len("data: "):])
    assert last["data"]["stdout"] == result["stdout"][:len(first) + len(second) + 2] + \
        last["data"]["stdout"][len(first) + len(second) + 2:]
    assert last["data"]["stderr"] == result["stderr"]


def test_slow_reader_loses_nothing(hostile: Hostile) -> None:
    """A client that reads slowly holds the program back (backpressure from the socket to
    the container's pipe): every line arrives, in order, and the service buffers little."""
    lines = 200_000
    code = (
        "import sys, time\n"
        "start = time.monotonic()\n"
        f"for start in range(0, {lines}, 4000):\n"
        "    batch = range(start, start + 4000)\n"
        "    sys.stdout.write(''.join(f'{i:08d} ' + 'z' * 31 + '\\n' for i in batch))\n"
        "print(f'writes took {time.monotonic() - start:.1f} s', file=sys.stderr)\n"
    )
    outcome = hostile.survive(python(code, timeout=120), name="slow reader", chunk_delay=0.02)
    result = outcome.result
    assert result["exit_code"] == 0, result
    expected = "".join(f"{i:08d} " + "z" * 31 + "\n" for i in range(lines))
    assert outcome.streamed["stdout"] == len(expected)
    assert outcome.text["stdout"] == expected[: len(outcome.text["stdout"])]
    assert result["stdout"] == expected[: len(result["stdout"])]
    assert outcome.peak_rss_kib - outcome.base_rss_kib < RSS_GROWTH_LIMIT_KIB
