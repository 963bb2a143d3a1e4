"""Two tinirun nodes, each on its own Docker engine (in a network namespace), sharing a
Redis (function records, run queue, heartbeats) and a registry (function images)."""

from __future__ import annotations

import time
from typing import Any

import httpx

from tests.cluster.conftest import NODE_TTL, NodeFactory
from tests.cluster.fabric import Fabric
from tests.cluster.streams import HOLD, Stream
from tests.conftest import RedisServer
from tests.integration.server import Server, result_of


def cluster(srv: Server) -> dict[str, Any]:
    with srv.client() as client:
        response = client.get("/api/cluster")
    assert response.status_code == 200, response.text
    data: dict[str, Any] = response.json()
    return data


def wait_until(check: Any, limit: float = 60) -> bool:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.2)
    return bool(check())


def node_names(srv: Server) -> list[str]:
    return [n["name"] for n in cluster(srv)["nodes"]]


def wait_idle(srv: Server, name: str) -> bool:
    """Wait for node `name` to report no run in progress in a heartbeat written from now on.
    A client that hangs up has gone before its run's container has ended, and only then is
    the run's slot free."""
    since = time.time()

    def idle() -> bool:
        now = time.time()
        return any(n["name"] == name and n["running"] == 0
                   and now - n["heartbeat_age_s"] > since for n in cluster(srv)["nodes"])

    return wait_until(idle)


def both(nodes: NodeFactory) -> tuple[Server, Server]:
    n1, n2 = nodes(1), nodes(2)
    assert wait_until(lambda: node_names(n1) == ["node1", "node2"]), cluster(n1)
    return n1, n2


def test_a_busy_node_hands_runs_to_the_other_in_order(nodes: NodeFactory) -> None:
    n1, _ = both(nodes)
    hold = Stream(n1, HOLD)
    try:
        hold.wait_started()
        assert "Running on node node1" in hold.infos()
        expected = "".join(f"line {i}\n" for i in range(1, 201))
        crossing = Stream(n1, {"lang": "bash",
                               "code": "for i in $(seq 1 200); do echo line $i; done"})
        crossing.wait_end()
        chunks = crossing.chunks
        infos = crossing.infos()
        assert "Running on node node2" in infos, infos
        assert "".join(c["data"] for c in chunks if c["event"] == "stdout") == expected
        assert result_of(chunks)["stdout"] == expected
    finally:
        hold.close()
    # With a free slot, node 1 runs what reaches it itself.
    assert wait_idle(n1, "node1"), cluster(n1)
    chunks = n1.run({"lang": "bash", "code": "echo here"})
    assert chunks[0] == {"event": "info", "data": "Running on node node1"}
    assert result_of(chunks)["stdout"] == "here\n"


def test_a_function_is_built_once_and_pulled_by_the_other_node(
        nodes: NodeFactory, fabric: Fabric) -> None:
    n1, n2 = both(nodes)
    built = n1.stream("/api/function", {"name": "clustered", "language": "bash"})
    assert built[-1]["event"] == "info" and "is ready" in built[-1]["data"], built[-5:]
    assert any("Pushing the image" in str(c["data"]) for c in built)
    with n2.client() as client:
        info = client.get("/api/function/clustered/info").json()
    tag = info["status"]["tag"]
    assert info["status"]["type"] == "ready" and tag.startswith(fabric.registry + "/"), info
    assert fabric.engines[1].docker("image", "inspect", tag, check=False).returncode != 0
    ran = n2.stream("/api/function/clustered/run/stream", {"input": "cluster"})
    infos = [c["data"] for c in ran if c["event"] == "info"]
    assert "Running on node node2" in infos and any("Pulling" in i for i in infos), infos
    assert result_of(ran)["stdout"] == "Hello, cluster!"

    def image_id(i: int) -> str:
        return fabric.engines[i].docker("image", "inspect", "--format", "{{.Id}}", tag).stdout
    # Pulled, not built again: a second build would make another image id.
    assert image_id(0) == image_id(1)
    with n2.client() as client:
        again = client.post("/api/function/clustered/run", json={"input": "again"})
    assert again.status_code == 200 and again.json()["stdout"] == "Hello, again!"


def test_the_queue_its_figures_and_429_when_full(nodes: NodeFactory) -> None:
    n1, n2 = both(nodes)
    holds = [Stream(n1, HOLD), Stream(n2, HOLD)]
    queued: list[Stream] = []
    try:
        for hold in holds:
            hold.wait_started()
        queued = [Stream(n2, {"lang": "bash", "code": f"echo queued {i}"}) for i in range(4)]
        assert wait_until(lambda: cluster(n1)["queue"]["length"] == 4), cluster(n1)
        for stream in queued:
            assert stream.wait(lambda s: s.has_info("Waiting in the cluster queue")), \
                stream.chunks
        places = sorted(int(s.infos()[-1].rsplit(" ", 1)[1]) for s in queued)
        assert places == [1, 2, 3, 4]
        # Each node's figures are those of its last heartbeat: wait for the one after the holds.
        assert wait_until(lambda: [n["running"] for n in cluster(n1)["nodes"]] == [1, 1]), \
            cluster(n1)
        figures = cluster(n1)
        assert figures["queue"]["oldest_wait_s"] is not None
        assert figures["queue"]["oldest_wait_s"] >= 0
        by_name = {n["name"]: n for n in figures["nodes"]}
        assert by_name["node1"]["running"] == 1 and by_name["node1"]["slots"] == 1
        assert by_name["node2"]["running"] == 1 and by_name["node2"]["engine"] == "up"
        assert by_name["node2"]["heartbeat_age_s"] < NODE_TTL
        # Both nodes full and the queue at RUNNER_QUEUE_SIZE (4): 429 with Retry-After.
        with n1.client() as client:
            refused = client.post("/api/code/run", json={"lang": "bash", "code": "echo no"})
        assert refused.status_code == 429, refused.text
        assert int(refused.headers["Retry-After"]) >= 1
        holds[0].close()  # node 1 frees its slot first: it takes the queue, in order
        for stream in queued:
            end = stream.wait_end()
            assert end["event"] == "result", stream.chunks[-5:]
            assert stream.has_info("Running on node node1")
        assert [s.stdout() for s in queued] == [f"queued {i}\n" for i in range(4)]
        assert wait_until(lambda: cluster(n1)["queue"]["length"] == 0)
        assert cluster(n1)["queue"]["oldest_wait_s"] is None
    finally:
        for stream in holds + queued:
            stream.close()


def test_a_node_joining_late_takes_work(nodes: NodeFactory) -> None:
    n1 = nodes(1)
    n2 = nodes(2, start=False)
    hold = Stream(n1, HOLD)
    try:
        hold.wait_started()
        waiting = Stream(n1, {"lang": "bash", "code": "echo late"})
        assert waiting.wait(lambda s: s.has_info("Waiting in the cluster queue: position 1"))
        n2.start(wait=120)
        end = waiting.wait_end(60)
        assert end["event"] == "result" and end["data"]["stdout"] == "late\n"
        assert waiting.has_info("Running on node node2")
    finally:
        hold.close()


def test_without_redis_runs_go_on_alone_and_the_cluster_reforms(
        nodes: NodeFactory, cluster_redis: RedisServer) -> None:
    n1 = nodes(1)
    assert wait_until(lambda: node_names(n1) == ["node1"])
    cluster_redis.stop()
    try:
        chunks = n1.run({"lang": "bash", "code": "echo alone"})
        assert result_of(chunks)["stdout"] == "alone\n"
        with n1.client() as client:
            assert client.get("/api/function").status_code == 503
            assert client.get("/api/cluster").status_code == 503
    finally:
        cluster_redis.start()
    assert wait_until(lambda: node_names(n1) == ["node1"])
    hold = Stream(n1, HOLD)
    try:
        hold.wait_started()
        queued = Stream(n1, {"lang": "bash", "code": "echo back"})
        assert queued.wait(lambda s: s.has_info("Waiting in the cluster queue: position 1"))
        hold.close()
        assert queued.wait_end()["event"] == "result"
    finally:
        hold.close()


def test_sigterm_drains_a_node(nodes: NodeFactory) -> None:
    n1, n2 = both(nodes)
    hold = Stream(n1, HOLD)
    try:
        hold.wait_started()
        code = "echo started; sleep 3; echo finished"
        crossing = Stream(n1, {"lang": "bash", "code": code})
        assert crossing.wait(lambda s: "started" in s.stdout()), crossing.chunks
        assert crossing.has_info("Running on node node2")
        n2.stop()  # SIGTERM: the run it took finishes; it takes nothing more
        end = crossing.wait_end()
        assert end["event"] == "result" and end["data"]["stdout"] == "started\nfinished\n"
        assert wait_until(lambda: node_names(n1) == ["node1"])
        later = Stream(n1, {"lang": "bash", "code": "echo later"})
        assert later.wait(lambda s: s.has_info("Waiting in the cluster queue: position 1"))
        hold.close()
        assert later.wait_end()["event"] == "result" and later.has_info("Running on node node1")
    finally:
        hold.close()


def test_a_node_that_loses_its_engine_ends_its_runs_and_gets_no_more(
        nodes: NodeFactory, fabric: Fabric) -> None:
    # Last in the module: engine 2 stays dead (the fabric's teardown removes it).
    n1, n2 = both(nodes)
    hold = Stream(n1, HOLD)
    try:
        hold.wait_started()
        victim = Stream(n1, HOLD)
        victim.wait_started()
        assert victim.has_info("Running on node node2")
        fabric.engines[1].kill()
        # The contract's `docker` error, within the node TTL (and the 15 s).
        assert victim.wait(lambda s: s.ended, min(15, NODE_TTL * 2)), victim.chunks[-3:]
        assert victim.chunks[-1]["event"] == "error", victim.chunks[-3:]
        assert victim.chunks[-1]["data"]["error"] == "docker"
        assert wait_until(lambda: {n["name"]: n["engine"] for n in cluster(n1)["nodes"]}
                          .get("node2") == "down"), cluster(n1)
        hold.close()
        for _ in range(2):
            assert wait_idle(n1, "node1"), cluster(n1)
            chunks = n1.run({"lang": "bash", "code": "echo survivor"})
            assert chunks[0]["data"] == "Running on node node1"
            assert result_of(chunks)["stdout"] == "survivor\n"
    finally:
        hold.close()
    with httpx.Client() as client:  # node 2 still serves (and says its engine is gone)
        assert client.get(n2.url + "/api/openapi.json").status_code == 200
