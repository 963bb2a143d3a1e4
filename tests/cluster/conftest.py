"""Fixtures of the cluster suite: one fabric (two engines in namespaces, a registry) and one
Redis for the module, and tinirun nodes on them (processes on this host, each talking to its
engine over TCP)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.cluster.fabric import Fabric, make_fabric
from tests.conftest import RedisServer
from tests.integration.server import Server, make_server
from tinirun.languages import get_language
from tinirun.runner.images import ImageManager

# Short enough that a lost node is noticed quickly, long enough for a busy machine.
NODE_TTL = 6
NodeFactory = Callable[..., Server]


@pytest.fixture(scope="module")
def fabric(engine_ready: None) -> Iterator[Fabric]:
    image = ImageManager(engine=None).runtime_tag(get_language("bash"))  # type: ignore[arg-type]
    made = make_fabric(2, image)
    try:
        yield made
    finally:
        made.down()


@pytest.fixture(scope="module")
def cluster_redis() -> Iterator[RedisServer]:
    with RedisServer() as server:
        yield server


@pytest.fixture
def nodes(fabric: Fabric, cluster_redis: RedisServer, tmp_path: Path
          ) -> Iterator[NodeFactory]:
    """`nodes(i, **env)`: a node on engine i (1 or 2), one slot, started; stopped after the
    test. The cluster's Redis is emptied first, so each test starts from no queue."""
    import redis

    redis.Redis.from_url(cluster_redis.url).flushall()
    made: list[Server] = []

    def factory(i: int, start: bool = True, **env: str) -> Server:
        engine = fabric.engines[i - 1]
        settings = {
            "DOCKER_HOST": engine.url,
            "RUNNER_CLUSTER": "true",
            "RUNNER_REDIS_URL": cluster_redis.url,
            "RUNNER_REGISTRY": fabric.registry,
            "RUNNER_NODE_NAME": f"node{i}",
            "RUNNER_CLUSTER_NODE_TTL": str(NODE_TTL),
            "RUNNER_MAX_CONCURRENT_RUNS": "1",
            "RUNNER_POOL_SIZE": "1",
            "RUNNER_QUEUE_SIZE": "4",
            **env,
        }
        srv = make_server(tmp_path, **settings)
        made.append(srv)
        if start:
            srv.start(wait=120)
        return srv

    yield factory
    for srv in made:
        srv.stop()
