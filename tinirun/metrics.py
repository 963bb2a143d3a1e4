"""The service's Prometheus metrics (served at /metrics), on a registry of each service's own.

One `Metrics` per service, made with the other services and passed in: two services in one
process (as in tests) never share counts, and nothing lives in module globals. The rest of
the code records through its methods; what can be read from live state (runs in flight, the
queue, warm containers) is read at scrape time instead of being counted.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import AsyncIterator, Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from tinirun.models import Chunk, ChunkEvent, ErrorData, RunResult

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
# Seconds: from a hello world in a warm container to the longest timeout.
RUN_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300)
WAIT_BUCKETS = (0.001, 0.01, 0.05, 0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 300)
BUILD_BUCKETS = (1, 5, 10, 30, 60, 120, 300, 600, 1200)


def outcome_of(chunk: Chunk) -> str | None:
    """The outcome label of a run's last chunk: ok, failed (non-zero exit), timeout,
    oom_killed, or the error kind (build_failed, docker, function_image_not_found)."""
    if isinstance(chunk.data, RunResult):
        result = chunk.data
        if result.timeout:
            return "timeout"
        if result.oom_killed:
            return "oom_killed"
        return "ok" if result.exit_code == 0 else "failed"
    if isinstance(chunk.data, ErrorData):
        return chunk.data.error.value
    return None


@dataclass
class LiveSources:
    """Where the gauges read from at scrape time (set once the services exist)."""

    running: Callable[[], int] = lambda: 0
    waiting: Callable[[], int] = lambda: 0
    warm: Callable[[], Mapping[str, int]] = dict


class _LiveCollector(Collector):
    def __init__(self, sources: LiveSources) -> None:
        self.sources = sources

    def collect(self) -> Iterable[Metric]:
        running = GaugeMetricFamily("tinirun_runs_in_flight", "Runs holding a slot now.")
        running.add_metric([], self.sources.running())
        waiting = GaugeMetricFamily("tinirun_queue_length", "Runs waiting for a slot now.")
        waiting.add_metric([], self.sources.waiting())
        warm = GaugeMetricFamily("tinirun_warm_containers",
                                 "Started containers waiting for a run, per image.",
                                 labels=["image"])
        for image, count in sorted(self.sources.warm().items()):
            warm.add_metric([image], count)
        return [running, waiting, warm]


class Metrics:
    """Counters and histograms of one service, and its registry."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.live = LiveSources()
        self.registry.register(_LiveCollector(self.live))
        r = self.registry
        self.runs = Counter("tinirun_runs", "Runs that ended, by language, kind and outcome.",
                            ["language", "kind", "outcome"], registry=r)
        self.run_duration = Histogram(
            "tinirun_run_duration_seconds", "Wall time of the user's program (compile "
            "included), by language.", ["language"], buckets=RUN_BUCKETS, registry=r)
        self.queue_wait = Histogram("tinirun_queue_wait_seconds",
                                    "Time a run waited for a slot.", buckets=WAIT_BUCKETS,
                                    registry=r)
        self.rejected = Counter("tinirun_rejected_runs",
                                "Runs refused with 429 because the queue was full.", registry=r)
        self.builds = Counter("tinirun_builds", "Image builds, by kind and outcome.",
                              ["kind", "outcome"], registry=r)
        self.build_duration = Histogram("tinirun_build_duration_seconds",
                                        "Time an image build took, by kind.", ["kind"],
                                        buckets=BUILD_BUCKETS, registry=r)
        self.streamed = Counter("tinirun_streamed_bytes",
                                "Bytes of the programs' output streamed to clients.",
                                ["stream"], registry=r)

    def render(self) -> bytes:
        """The metrics in Prometheus' text format."""
        return generate_latest(self.registry)

    # --- recording ----------------------------------------------------------------------------

    def record_rejected(self) -> None:
        self.rejected.inc()

    def record_queue_wait(self, seconds: float) -> None:
        self.queue_wait.observe(seconds)

    @contextlib.contextmanager
    def build(self, kind: str) -> Iterator[None]:
        """Time an image build of `kind` (runtime, dependencies, function); a build that
        raises counts as failed, one abandoned half-way (its client gone) as cancelled."""
        start = time.monotonic()
        outcome = "cancelled"
        try:
            yield
            outcome = "ok"
        except Exception:
            outcome = "failed"
            raise
        finally:
            self.builds.labels(kind, outcome).inc()
            self.build_duration.labels(kind).observe(time.monotonic() - start)

    async def observe_run(self, chunks: AsyncIterator[Chunk], language: str,
                          kind: str) -> AsyncIterator[Chunk]:
        """`chunks` as they are, counting the run's output bytes and, at its end, its
        outcome and duration (a run its client left is `cancelled`)."""
        outcome = "cancelled"
        try:
            async for chunk in chunks:
                if chunk.event in (ChunkEvent.STDOUT, ChunkEvent.STDERR) and isinstance(
                        chunk.data, str):
                    self.streamed.labels(chunk.event.value).inc(len(chunk.data.encode()))
                ended = outcome_of(chunk)
                if ended is not None:
                    outcome = ended
                    if isinstance(chunk.data, RunResult) and chunk.data.duration_ms is not None:
                        self.run_duration.labels(language).observe(chunk.data.duration_ms / 1000)
                yield chunk
        finally:
            self.runs.labels(language, kind, outcome).inc()
            close = getattr(chunks, "aclose", None)
            if close is not None:
                await close()
