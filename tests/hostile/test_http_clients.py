"""Hostile HTTP clients against a real server on the real engine: clients that open a stream
and never read it, keyless clients sending large bodies, and slowloris (requests sent a
little at a time, or never finished). None may pin a run slot, slow down a normal request,
or hold a connection open for ever."""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
from collections.abc import Iterator

import httpx
import pytest

from tests.hostile.harness import rss_kib
from tests.integration.conftest import containers_of
from tests.integration.server import Server, make_server

MIB = 1024 * 1024
# Bounds of each wait (a protection that does not work makes the wait run out).
BOUND = 120.0
# A program that writes until it is killed: its client's buffers fill at once.
FLOOD = {"code": "import sys\nwhile True:\n    sys.stdout.write('x' * 65536)\n",
         "lang": "python", "timeout": 5}
HELLO = {"code": "echo hi", "lang": "bash", "timeout": 10}


def start(tmp: object, **env: str) -> Server:
    server = make_server(tmp, RUNNER_POOL_SIZE="0", **env)  # type: ignore[arg-type]
    server.start(wait=BOUND)  # a loaded machine may take a while to import and start
    return server


@pytest.fixture(scope="module")
def two_slots(engine_ready: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """Two run slots, a short request deadline and a write timeout far beyond every wait
    here: a slot that comes free did so because its container ended."""
    server = start(tmp_path_factory.mktemp("two-slots"), RUNNER_MAX_CONCURRENT_RUNS="2",
                   RUNNER_REQUEST_TIMEOUT="3", RUNNER_WRITE_TIMEOUT="3600")
    yield server
    server.stop()


def request_bytes(server: Server, body: dict[str, object], key: bool = True) -> bytes:
    payload = json.dumps(body).encode()
    head = (f"POST /api/code/run HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(payload)}\r\n")
    if key:
        head += f"X-Runner-Api-Key: {server.headers['X-Runner-Api-Key']}\r\n"
    return head.encode() + b"\r\n" + payload


def open_socket(server: Server, small_buffer: bool = False) -> socket.socket:
    sock = socket.socket()
    if small_buffer:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.settimeout(BOUND)
    sock.connect(("127.0.0.1", server.port))
    return sock


def pin(server: Server, body: dict[str, object]) -> socket.socket:
    """A client that starts a streamed run, reads until its program runs, then stops reading
    for good."""
    sock = open_socket(server, small_buffer=True)
    sock.sendall(request_bytes(server, body))
    seen = b""
    while b"Using a " not in seen:
        data = sock.recv(4096)
        assert data, f"closed before the run started: {seen[-300:]!r}"
        seen += data
    return sock


def closed_by_server(sock: socket.socket, deadline: float) -> bytes | None:
    """Read what the server sends until it closes the connection (then return it all), or
    None if it is still open at `deadline`."""
    got = b""
    while time.monotonic() < deadline:
        sock.settimeout(max(0.1, min(1.0, deadline - time.monotonic())))
        try:
            data = sock.recv(65536)
        except TimeoutError:
            continue
        except ConnectionResetError:
            return got
        if not data:
            return got
        got += data
    return None


def wait_no_containers(server: Server, bound: float = BOUND) -> list[str]:
    deadline = time.monotonic() + bound
    left = containers_of(server)
    while left and time.monotonic() < deadline:
        time.sleep(0.3)
        left = containers_of(server)
    return left


def test_clients_that_never_read_do_not_pin_the_slots(two_slots: Server) -> None:
    """Two clients take both slots with programs that flood their never-read streams; once
    the programs are killed at their timeout the slots are free, and a third client's run
    goes through while the two still hold their connections."""
    pinned = [pin(two_slots, FLOOD) for _ in range(2)]
    try:
        with two_slots.client(timeout=BOUND) as client:
            response = client.post("/api/code/run", json=HELLO)
        lines = [json.loads(x) for x in response.text.splitlines() if x.strip()]
        assert lines[-1]["event"] == "result", lines[-3:]
        assert lines[-1]["data"]["stdout"] == "hi\n" and not lines[-1]["data"]["timeout"]
        for sock in pinned:  # still open: the slot came free without cutting anyone
            assert sock.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT) != b""
    finally:
        for sock in pinned:
            sock.close()
    assert wait_no_containers(two_slots) == []


def test_a_client_that_stops_reading_is_cut_and_its_run_killed(
    engine_ready: None, tmp_path_factory: pytest.TempPathFactory
) -> None:
    server = start(tmp_path_factory.mktemp("write-timeout"), RUNNER_WRITE_TIMEOUT="3")
    try:
        sock = pin(server, {**FLOOD, "timeout": 300})
        # The run would go on for 300 s; not reading gets it killed long before.
        assert wait_no_containers(server) == [], "the run of a client that stopped reading lives"
        got = closed_by_server(sock, time.monotonic() + BOUND)
        assert got is not None, "the server kept the connection of a client that stopped reading"
        assert b'"event":"result"' not in got
        sock.close()
        assert "left the answer unread for 3 s" in server.log()
    finally:
        server.stop()


def test_a_keyless_request_gets_401_before_its_body_is_sent(two_slots: Server) -> None:
    """The key is checked before a byte of the body is read: a client that declares 16 MiB and
    sends 64 KiB hears 401 at once, and the connection is closed."""
    sock = open_socket(two_slots)
    head = (f"POST /api/code/run HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json"
            f"\r\nContent-Length: {16 * MIB}\r\n\r\n").encode()
    sock.sendall(head + b'{"code": "' + b"x" * (64 * 1024))
    answer = closed_by_server(sock, time.monotonic() + BOUND)
    sock.close()
    assert answer is not None, "no answer: the server waits for the body"
    assert answer.startswith(b"HTTP/1.1 401"), answer[:200]
    assert answer.endswith(b"Unauthorized")
    # Invalid JSON without a key is a 401 too, not a 400: the body is never parsed.
    response = httpx.post(f"{two_slots.url}/api/code/run", content=b"{not json", timeout=30)
    assert response.status_code == 401 and response.text == "Unauthorized"


def test_keyless_16_mib_bodies_in_a_loop_cost_nothing(two_slots: Server) -> None:
    """Eight clients post 16 MiB keyless bodies in a loop while an authenticated client runs
    programs: its runs all complete, every flood request is refused (401, or the connection
    closed under it) and the service's memory does not grow by the bodies."""
    assert two_slots.process is not None
    pid = two_slots.process.pid
    body = b'{"code": "' + b"x" * (16 * MIB - 32) + b'", "lang": "bash"}'
    stop = threading.Event()
    outcomes: list[str] = []
    peak = [rss_kib(pid)]
    base = peak[0]

    def flood() -> None:
        with httpx.Client(base_url=two_slots.url, timeout=60) as client:
            while not stop.is_set():
                try:
                    response = client.post("/api/code/run", content=body)
                    outcomes.append(str(response.status_code))
                except httpx.TransportError:
                    outcomes.append("closed")

    def sample() -> None:
        while not stop.is_set():
            peak[0] = max(peak[0], rss_kib(pid))
            time.sleep(0.05)

    threads = [threading.Thread(target=flood, daemon=True) for _ in range(8)]
    threads.append(threading.Thread(target=sample, daemon=True))
    for thread in threads:
        thread.start()
    try:
        while len(outcomes) < 8:  # the flood is on
            time.sleep(0.05)
        with two_slots.client(timeout=BOUND) as client:
            for _ in range(3):
                response = client.post("/api/code/run", json=HELLO)
                last = json.loads(response.text.splitlines()[-1])
                assert last["event"] == "result" and last["data"]["stdout"] == "hi\n", last
    finally:
        stop.set()
        for thread in threads:
            thread.join(BOUND)
    assert set(outcomes) <= {"401", "closed"}, set(outcomes)
    assert "401" in outcomes
    growth_mib = (peak[0] - base) / 1024
    # Reading the bodies costs 16 MiB each (and more to parse them); refusing them, nothing.
    assert growth_mib < 48, f"the service grew by {growth_mib:.0f} MiB during the flood"


def test_slowloris_connections_are_closed_and_cost_a_normal_request_nothing(
    two_slots: Server
) -> None:
    """300 requests sent in part (headers never finished, or a body never finished): a normal
    request is answered meanwhile, and the server closes every one of them itself."""
    count = 300
    socks: list[socket.socket] = []
    try:
        for i in range(count):
            sock = open_socket(two_slots)
            if i % 2:
                sock.sendall(b"GET /api/openapi.json HTTP/1.1\r\nHost: 127.0.0.1\r\nX-a: ")
            else:
                sock.sendall(request_bytes(two_slots, HELLO)[:-5])  # all but the body's end
            socks.append(sock)
        with two_slots.client(timeout=BOUND) as client:
            response = client.post("/api/code/run", json=HELLO)
        assert json.loads(response.text.splitlines()[-1])["data"]["stdout"] == "hi\n"
        deadline = time.monotonic() + BOUND
        answers = [closed_by_server(sock, deadline) for sock in socks]
        still_open = sum(answer is None for answer in answers)
        assert still_open == 0, f"{still_open} of {count} half-sent requests are still open"
        late_bodies = [a for i, a in enumerate(answers) if i % 2 == 0]
        assert all(a is not None and a.startswith(b"HTTP/1.1 408") for a in late_bodies), (
            late_bodies[:1])
    finally:
        for sock in socks:
            with contextlib.suppress(OSError):
                sock.close()
