"""The metrics registry: one per service, and what each recording function counts."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from tests.wait import async_wait_until
from tinirun.errors import BusyError
from tinirun.metrics import Metrics
from tinirun.models import Chunk, ErrorData, ErrorKind, RunResult
from tinirun.runner.gate import Gate


def sample(metrics: Metrics, name: str, **labels: str) -> float:
    return metrics.registry.get_sample_value(name, labels) or 0.0


def test_each_service_has_registries_of_its_own() -> None:
    one, two = Metrics(), Metrics()
    one.record_rejected()
    assert sample(one, "tinirun_rejected_runs_total") == 1
    assert sample(two, "tinirun_rejected_runs_total") == 0


async def test_a_full_queue_counts_a_rejection() -> None:
    metrics = Metrics()
    gate = Gate(slots=1, queue_size=0, metrics=metrics)
    release = asyncio.Event()

    async def job() -> AsyncIterator[Chunk]:
        await release.wait()
        yield Chunk.info("done")

    running: asyncio.Task[Chunk] = asyncio.create_task(anext(gate.stream(job())))  # type: ignore[arg-type]
    await async_wait_until(lambda: gate.running == 1, "the run in its slot")
    with pytest.raises(BusyError):
        gate.check()
    release.set()
    await running
    assert sample(metrics, "tinirun_rejected_runs_total") == 1


def test_builds_count_their_outcome() -> None:
    metrics = Metrics()
    with metrics.build("dependencies"):
        pass
    with pytest.raises(ValueError), metrics.build("dependencies"):
        raise ValueError("pip failed")
    assert sample(metrics, "tinirun_builds_total", kind="dependencies", outcome="ok") == 1
    assert sample(metrics, "tinirun_builds_total", kind="dependencies", outcome="failed") == 1
    assert sample(metrics, "tinirun_build_duration_seconds_count", kind="dependencies") == 2


async def test_run_outcomes_and_a_client_that_left() -> None:
    metrics = Metrics()

    async def chunks(last: Chunk) -> AsyncIterator[Chunk]:
        yield Chunk(event="stdout", data="héllo")  # type: ignore[arg-type]
        yield last

    timed_out = Chunk.result(RunResult(stdout="", stderr="", exit_code=None, timeout=True,
                                       duration_ms=5000))
    failed = Chunk.error(ErrorData(error=ErrorKind.BUILD_FAILED, message="no"))
    for last in (timed_out, failed):
        async for _ in metrics.observe_run(chunks(last), "python", "code"):
            pass
    left = metrics.observe_run(chunks(timed_out), "go", "function")
    await anext(left)
    await left.aclose()  # type: ignore[attr-defined]
    assert sample(metrics, "tinirun_runs_total", language="python", kind="code",
                  outcome="timeout") == 1
    assert sample(metrics, "tinirun_runs_total", language="python", kind="code",
                  outcome="build_failed") == 1
    assert sample(metrics, "tinirun_runs_total", language="go", kind="function",
                  outcome="cancelled") == 1
    assert sample(metrics, "tinirun_streamed_bytes_total", stream="stdout") == 3 * len(
        "héllo".encode())
    assert sample(metrics, "tinirun_run_duration_seconds_sum", language="python") == 5.0
