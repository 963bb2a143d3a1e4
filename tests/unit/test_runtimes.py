"""The first run of a language on a new machine: the stream says what it waits for, about how
long it takes, the build's steps, the time so far while a step runs long, and how long it took."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from tests.fakes import FakeEngine
from tinirun.languages import get_language
from tinirun.metrics import Metrics
from tinirun.models import Chunk
from tinirun.runner import runtimes
from tinirun.runner.runtimes import BASE_TAG, ImageProgress, ImageReady, Runtimes

PY = get_language("python")


def runtimes_on(engine: FakeEngine) -> Runtimes:
    engine.add_image(BASE_TAG)
    return Runtimes(engine, "debian:trixie-slim", {}, lambda: b"",  # type: ignore[arg-type]
                    Metrics())


def infos(items: list[ImageProgress]) -> list[str]:
    return [item.data for item in items
            if isinstance(item, Chunk) and item.event == "info" and isinstance(item.data, str)]


async def collect(stream: AsyncIterator[ImageProgress]) -> list[ImageProgress]:
    return [item async for item in stream]


def test_a_missing_runtime_says_how_long_its_build_takes_and_its_steps() -> None:
    engine = FakeEngine()
    images = runtimes_on(engine)
    items = asyncio.run(collect(images.ensure(PY)))
    said = infos(items)
    assert PY.spec.image_seconds is not None
    assert said[0] == (f"Building the python runtime image, once on this machine "
                       f"(about {PY.spec.image_seconds} s)...")
    assert said[1].startswith(f"step 1/1: building {images.tag(PY)} (")
    assert said[-1].startswith("Built the python runtime image in ")
    assert items[-1] == ImageReady(images.tag(PY))
    # Found by its tag from then on: nothing more to say.
    assert infos(asyncio.run(collect(images.ensure(PY)))) == []


def test_a_long_step_says_the_time_so_far_and_a_second_run_says_it_waits(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(runtimes, "HEARTBEAT_SECONDS", 0.01)
    engine = FakeEngine()
    images = runtimes_on(engine)
    tag = images.tag(PY)
    gate = engine.build_gates[tag] = asyncio.Event()

    async def scenario() -> tuple[list[ImageProgress], list[ImageProgress]]:
        first: list[ImageProgress] = []
        stream = images.ensure(PY)
        async for item in stream:  # until the build has said it is still going
            first.append(item)
            if isinstance(item, Chunk) and str(item.data).startswith("... still building ("):
                break
        other = images.ensure(PY)
        second = [await anext(other)]  # said before it waits for the build's lock
        gate.set()
        first.extend([item async for item in stream])
        second.extend([item async for item in other])
        return first, second

    first, second = asyncio.run(scenario())
    assert any(text.startswith("... still building (") for text in infos(first))
    assert first[-1] == ImageReady(tag)
    assert infos(second)[0].startswith("Waiting for the python runtime image, which another "
                                       "run is building (about ")
    assert second[-1] == ImageReady(tag)
    assert engine.calls["image_build"] == 1
