"""The cluster's figures, in one run on this machine: two Docker engines in network
namespaces (the cluster test suite's fabric), a registry and a Redis.

- latency of a warm bash run: a lone service on engine 1; a cluster node that runs it itself;
  and a run that crosses to the other node (node 1's slot held);
- throughput of one node with 2 slots against two nodes with 1 slot each;
- a function image: build and push on node 1, pull and first run on node 2;
- a Redis Streams hand-over (XADD, XREADGROUP by one of two consumers, XACK), 300 times.

It is one machine: both engines share its cores, so two nodes cannot be faster than one
with the same slots here; the figures show what the cluster costs, not what it gains.
Run as root: `PYTHONPATH=. .venv/bin/python bench/cluster.py`. Writes bench/results/cluster.md.
"""

from __future__ import annotations

import concurrent.futures
import json
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import redis

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.cluster.fabric import make_fabric  # noqa: E402
from tests.cluster.streams import HOLD, Stream  # noqa: E402
from tests.conftest import RedisServer, free_port  # noqa: E402
from tests.integration.server import Server, make_server  # noqa: E402
from tinirun.cluster.wire import entries_of  # noqa: E402
from tinirun.languages import get_language  # noqa: E402
from tinirun.runner.images import ImageManager  # noqa: E402

HELLO = {"lang": "bash", "code": "echo hello"}
SAMPLES = 30
THROUGHPUT_RUNS = 40
CONCURRENCY = 4


def timed_run(srv: Server, body: dict[str, Any] = HELLO) -> tuple[float, list[dict[str, Any]]]:
    began = time.perf_counter()
    chunks = srv.run(body)
    elapsed = (time.perf_counter() - began) * 1000
    assert chunks[-1]["event"] == "result", chunks[-3:]
    return elapsed, chunks


def latency(srv: Server, expect_node: str | None) -> dict[str, float]:
    for _ in range(3):
        timed_run(srv)
    values = []
    for _ in range(SAMPLES):
        ms, chunks = timed_run(srv)
        if expect_node:
            assert {"event": "info", "data": f"Running on node {expect_node}"} in chunks, chunks
        values.append(ms)
    values.sort()
    return {"p50_ms": round(statistics.median(values), 1),
            "p90_ms": round(values[int(len(values) * 0.9) - 1], 1)}


def throughput(targets: list[Server]) -> dict[str, float]:
    body = {"lang": "bash", "code": "sleep 0.3; echo done"}
    for srv in targets:
        timed_run(srv, body)
    began = time.perf_counter()
    with concurrent.futures.ThreadPoolExecutor(CONCURRENCY) as pool:
        list(pool.map(lambda i: timed_run(targets[i % len(targets)], body),
                      range(THROUGHPUT_RUNS)))
    elapsed = time.perf_counter() - began
    return {"runs_per_s": round(THROUGHPUT_RUNS / elapsed, 2), "seconds": round(elapsed, 2)}


def streams_round_trip(url: str) -> dict[str, float]:
    client = redis.Redis.from_url(url, decode_responses=True)
    stream, group = "bench:stream", "bench"
    client.delete(stream)
    client.xgroup_create(stream, group, id="0", mkstream=True)
    taken: dict[str, float] = {}
    stop = threading.Event()

    def consume(name: str) -> None:
        own = redis.Redis.from_url(url, decode_responses=True)
        while not stop.is_set():
            answer = own.xreadgroup(group, name, {stream: ">"}, count=1, block=200)
            for entry_id, fields in entries_of(answer):
                own.xack(stream, group, entry_id)
                taken[(fields or {}).get("n", "")] = time.perf_counter()

    consumers = [threading.Thread(target=consume, args=(f"c{i}",), daemon=True)
                 for i in range(2)]
    for thread in consumers:
        thread.start()
    time.sleep(0.5)
    trips = []
    for n in range(300):
        sent = time.perf_counter()
        client.xadd(stream, {"n": str(n)})
        while str(n) not in taken:
            time.sleep(0.0002)
        trips.append((taken[str(n)] - sent) * 1000)
    stop.set()
    client.delete(stream)
    return {"p50_ms": round(statistics.median(trips), 2),
            "p90_ms": round(sorted(trips)[269], 2)}


def main() -> None:
    image = ImageManager(engine=None).runtime_tag(get_language("bash"))  # type: ignore[arg-type]
    tmp = Path(tempfile.mkdtemp(prefix="tinirun-bench-cluster-"))
    fabric = make_fabric(2, image)
    store = RedisServer(free_port())
    store.start()
    made: list[Server] = []
    results: dict[str, Any] = {}

    def server(**env: str) -> Server:
        srv = make_server(tmp, RUNNER_LOG_LEVEL="warn", RUNNER_POOL_SIZE="2", **env)
        made.append(srv)
        srv.start()
        return srv

    def node(i: int, slots: int) -> Server:
        return server(DOCKER_HOST=fabric.engines[i - 1].url, RUNNER_CLUSTER="true",
                      RUNNER_REDIS_URL=store.url, RUNNER_REGISTRY=fabric.registry,
                      RUNNER_NODE_NAME=f"node{i}", RUNNER_MAX_CONCURRENT_RUNS=str(slots),
                      RUNNER_QUEUE_SIZE="256")

    def stop_all() -> None:
        for srv in made:
            srv.stop()
        made.clear()
        redis.Redis.from_url(store.url).flushall()

    try:
        lone = server(DOCKER_HOST=fabric.engines[0].url, RUNNER_MAX_CONCURRENT_RUNS="2")
        results["latency_lone_service"] = latency(lone, None)
        results["throughput_lone_service_2_slots"] = throughput([lone])
        stop_all()

        one = node(1, 2)
        results["throughput_one_node_2_slots"] = throughput([one])
        stop_all()

        n1, n2 = node(1, 1), node(2, 1)
        time.sleep(2)  # both heartbeats in
        results["latency_stays_on_node"] = latency(n1, "node1")
        results["throughput_two_nodes_1_slot_each_both_addressed"] = throughput([n1, n2])
        results["throughput_two_nodes_1_slot_each_all_to_node1"] = throughput([n1])
        hold = Stream(n1, HOLD)
        hold.wait_started()
        results["latency_crosses_to_other_node"] = latency(n1, "node2")
        hold.close()

        began = time.perf_counter()
        built = n1.stream("/api/function", {"name": "benchfn", "language": "bash"})
        assert "is ready" in built[-1]["data"], built[-3:]
        build_push = (time.perf_counter() - began) * 1000
        began = time.perf_counter()
        ran = n2.stream("/api/function/benchfn/run/stream", {"input": "x"})
        assert ran[-1]["event"] == "result", ran[-3:]
        first_run = (time.perf_counter() - began) * 1000
        began = time.perf_counter()
        n2.stream("/api/function/benchfn/run/stream", {"input": "x"})
        second_run = (time.perf_counter() - began) * 1000
        results["function_image"] = {
            "build_and_push_on_node1_ms": round(build_push),
            "first_run_on_node2_with_pull_ms": round(first_run),
            "second_run_on_node2_ms": round(second_run),
        }
        stop_all()
        results["redis_streams_hand_over"] = streams_round_trip(store.url)
    finally:
        stop_all()
        store.stop()
        fabric.down()
    out = ROOT / "bench" / "results"
    (out / "cluster.json").write_text(json.dumps(results, indent=2) + "\n")
    lines = ["# Cluster bench (one run, one machine, two engines in network namespaces)", "",
             "| figure | value |", "|---|---|"]
    for name, values in results.items():
        lines.append(f"| {name} | " + ", ".join(f"{k} {v}" for k, v in values.items()) + " |")
    (out / "cluster.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
