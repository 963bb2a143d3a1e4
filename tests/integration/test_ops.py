"""Health and metrics on real servers: the engine unreachable (a DOCKER_HOST socket that does
not exist; the host's engine is never touched), the store down (a Redis the test stops), and
the metrics' values after known runs."""

from __future__ import annotations

from collections.abc import Callable

import httpx
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import RedisServer
from tests.integration.server import API_KEY, Server, result_of
from tests.wait import wait_until

DEAD_ENGINE = "unix:///nonexistent/tinirun-test-docker.sock"


def health(server: Server) -> httpx.Response:
    return httpx.get(f"{server.url}/api/health", timeout=30)  # no key


def samples(server: Server) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of /metrics, by name and labels."""
    response = httpx.get(f"{server.url}/metrics", headers=server.headers, timeout=30)
    assert response.status_code == 200, response.text
    out = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            out[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return out


def value(all_samples: dict[tuple[str, tuple[tuple[str, str], ...]], float], name: str,
          **labels: str) -> float:
    return all_samples.get((name, tuple(sorted(labels.items()))), 0.0)


def test_health_is_open_and_says_ok(server: Server) -> None:
    response = health(server)
    assert response.status_code == 200, response.text
    assert response.json() == {"status": "ok", "engine": "ok", "store": "ok"}


def test_health_names_an_unreachable_engine(make: Callable[..., Server]) -> None:
    srv = make(DOCKER_HOST=DEAD_ENGINE, RUNNER_METRICS_PUBLIC="true")
    srv.start()
    response = health(srv)
    assert response.status_code == 503
    body = response.json()
    assert body["engine"] == "unreachable" and body["store"] == "ok"
    assert "engine" in body["message"] and "store" not in body["message"]
    assert "nonexistent" not in response.text  # no addresses, no error text
    # RUNNER_METRICS_PUBLIC: the scraper needs no key.
    assert httpx.get(f"{srv.url}/metrics", timeout=30).status_code == 200


def test_health_names_a_store_that_is_down(make: Callable[..., Server],
                                           redis_server: RedisServer) -> None:
    srv = make(RUNNER_REDIS_URL=redis_server.url, RUNNER_METRICS="false")
    srv.start()
    assert health(srv).status_code == 200
    redis_server.stop()
    response = health(srv)
    assert response.status_code == 503
    assert response.json()["store"] == "unreachable" and response.json()["engine"] == "ok"
    assert str(redis_server.port) not in response.text
    redis_server.start()
    assert health(srv).status_code == 200
    # RUNNER_METRICS=false: no metrics route at all.
    assert httpx.get(f"{srv.url}/metrics", headers=srv.headers, timeout=30).status_code == 404


def test_metrics_want_the_key(server: Server) -> None:
    url = f"{server.url}/metrics"
    assert httpx.get(url, timeout=30).status_code == 401
    assert httpx.get(url, headers={"X-Runner-Api-Key": "wrong"}, timeout=30).status_code == 401
    bearer = httpx.get(url, headers={"Authorization": f"Bearer {API_KEY}"}, timeout=30)
    assert bearer.status_code == 200 and "tinirun_runs_in_flight" in bearer.text


def test_metrics_count_known_runs(server: Server) -> None:
    before = samples(server)
    ok = result_of(server.run({"lang": "python", "code": "print('x' * 9)"}))
    failed = result_of(server.run({"lang": "python", "code": "import sys; sys.exit(3)"}))
    assert ok["exit_code"] == 0 and failed["exit_code"] == 3
    after = samples(server)

    def delta(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    runs = "tinirun_runs_total"
    assert delta(runs, language="python", kind="code", outcome="ok") == 1
    assert delta(runs, language="python", kind="code", outcome="failed") == 1
    assert delta("tinirun_run_duration_seconds_count", language="python") == 2
    assert delta("tinirun_queue_wait_seconds_count") == 2
    assert delta("tinirun_streamed_bytes_total", stream="stdout") == len("x" * 9 + "\n")
    # A run holds its slot until its container has stopped, a moment after its result.
    wait_until(lambda: value(samples(server), "tinirun_runs_in_flight") == 0,
               "the runs' containers stopped")
    assert value(after, "tinirun_queue_length") == 0
    assert any(name == "tinirun_warm_containers" for name, _ in after)
