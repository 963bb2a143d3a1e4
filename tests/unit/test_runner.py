"""The core of a run against the fake engine: Runner.execute and Runner.run (warm or fresh
container, limits, output, the result), and how a container's end is classified (exit code,
timeout, OOM, a stop from outside)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from tests.fakes import FakeEngine, Program
from tests.wait import async_wait_until
from tinirun.engine.container import Isolation, memory_bytes
from tinirun.errors import EngineError
from tinirun.languages import get_language
from tinirun.models import Chunk, ChunkEvent, ErrorData, RunLimits, RunRequest, RunResult
from tinirun.runner import boot
from tinirun.runner.boot import Payload
from tinirun.runner.images import ImageManager
from tinirun.runner.pool import PoolSettings, WarmPool
from tinirun.runner.run import Runner

LIMITS = RunLimits()


def make_runner(engine: FakeEngine, pool_size: int = 0, max_stream_bytes: int = 1 << 20) -> Runner:
    images = ImageManager(engine)  # type: ignore[arg-type]
    for lang in ("python", "bash"):
        engine.add_image(images.runtime_tag(get_language(lang)))
    pool = WarmPool(engine, PoolSettings(size=pool_size))  # type: ignore[arg-type]
    return Runner(engine, images, Isolation(), pool, max_stream_bytes)  # type: ignore[arg-type]


async def execute(runner: Runner, limits: RunLimits = LIMITS, image: str = "img") -> list[Chunk]:
    return [c async for c in runner.execute(image, {}, Payload(b"payload", "n"), limits)]


def result(chunks: list[Chunk]) -> RunResult:
    assert chunks[-1].event == ChunkEvent.RESULT, chunks[-3:]
    assert isinstance(chunks[-1].data, RunResult)
    return chunks[-1].data


def error(chunks: list[Chunk]) -> ErrorData:
    assert chunks[-1].event == ChunkEvent.ERROR, chunks[-3:]
    assert isinstance(chunks[-1].data, ErrorData)
    return chunks[-1].data


def quick(timeout: float) -> RunLimits:
    """Limits with a deadline below the API's minimum (5 s), to test the kill quickly."""
    return RunLimits.model_construct(timeout=timeout, mem_limit_mb=256, cpu_limit=0.5)


def programs(*items: Program) -> Any:
    queue = list(items)
    return lambda config: queue.pop(0) if queue else Program()


async def test_output_streams_and_the_result_collects_it() -> None:
    engine = FakeEngine(programs(Program(output=[(1, b"out\n"), (2, b"err\n"), (1, b"more")],
                                         exit_code=0)))
    chunks = await execute(make_runner(engine))
    events = [(c.event, c.data) for c in chunks if c.event in (ChunkEvent.STDOUT,
                                                               ChunkEvent.STDERR)]
    assert events == [(ChunkEvent.STDOUT, "out\n"), (ChunkEvent.STDERR, "err\n"),
                      (ChunkEvent.STDOUT, "more")]
    res = result(chunks)
    assert (res.stdout, res.stderr, res.exit_code, res.timeout) == ("out\nmore", "err\n", 0, False)
    assert engine.containers == {} and len(engine.removed) == 1
    # The run ended: its removal waits for the stop (no kill by the engine).
    assert engine.removed_stopping == engine.removed


async def test_a_finished_run_hands_its_removal_to_on_exit() -> None:
    """The run's slot is its container's until the removal (which waits for the stop) is
    done: `on_exit` gets that removal."""
    engine = FakeEngine()
    engine.removal = asyncio.get_running_loop().create_future()
    told: list[Any] = []
    chunks = [c async for c in make_runner(engine).execute(
        "img", {}, Payload(b"payload", "n"), LIMITS, on_exit=lambda after=None: told.append(after))]
    assert result(chunks).exit_code == 0
    # (Told first by the engine's wait, which the fake's run without a trailer asks for.)
    assert told[-1] is engine.removal


async def test_payload_is_written_to_the_container() -> None:
    engine = FakeEngine()
    runner = make_runner(engine)
    seen: list[bytes] = []
    original = engine.wait

    async def wait(cid: str) -> int | None:
        seen.append(engine.containers[cid].stdin)
        return await original(cid)

    engine.wait = wait  # type: ignore[method-assign,assignment]
    await execute(runner)
    assert seen == [b"payload"]


async def test_a_character_split_between_reads_is_decoded_whole() -> None:
    snowman = "☃".encode()
    engine = FakeEngine(programs(Program(output=[(1, snowman[:1]), (1, snowman[1:] + b"\n")])))
    res = result(await execute(make_runner(engine)))
    assert res.stdout == "☃\n"


async def test_exit_code_of_the_program() -> None:
    engine = FakeEngine(programs(Program(exit_code=3)))
    res = result(await execute(make_runner(engine)))
    assert (res.exit_code, res.timeout, res.oom_killed) == (3, False, False)


async def test_deadline_kills_and_says_timeout() -> None:
    engine = FakeEngine(programs(Program(output=[(1, b"started\n")], hang=True)))
    res = result(await execute(make_runner(engine), quick(0.05)))
    assert (res.exit_code, res.timeout, res.stdout) == (None, True, "started\n")
    assert engine.calls["kill"] == 1


async def test_the_trailers_oom_count_decides_over_the_engines_flag() -> None:
    """The kernel's count of OOM kills in the trailer decides the verdict: an engine whose flag
    comes too late (False) does not make an OOM kill a plain SIGKILL, and a count of 0 is not
    overruled by the flag either."""
    mark = boot.marker("n")
    engine = FakeEngine(programs(
        Program(output=[(1, mark), (2, mark + b"137 0 1\n")], exit_code=137, oom=False),
        Program(output=[(1, mark), (2, mark + b"137 0 0\n")], exit_code=137, oom=True)))
    runner = make_runner(engine)
    told = result(await execute(runner))
    assert (told.exit_code, told.oom_killed) == (137, True)
    plain = result(await execute(runner))
    assert (plain.exit_code, plain.oom_killed) == (137, False)
    assert engine.calls["inspect"] == 0


async def test_oom_kill_is_told_apart_from_a_program_killed_by_sigkill() -> None:
    engine = FakeEngine(programs(Program(exit_code=137, oom=True), Program(exit_code=137)))
    runner = make_runner(engine)
    oom = result(await execute(runner))
    assert (oom.exit_code, oom.oom_killed, oom.timeout) == (137, True, False)
    plain = result(await execute(runner))
    assert (plain.exit_code, plain.oom_killed) == (137, False)


async def test_a_stop_from_outside_is_an_engine_error_not_a_result() -> None:
    engine = FakeEngine(programs(Program(exit_code=143, signals=["15"]), Program(exit_code=143)))
    runner = make_runner(engine)
    assert "stopped the container" in error(await execute(runner)).message
    # The same exit code without a kill from the engine: the program's own signal.
    assert result(await execute(runner)).exit_code == 143


async def test_normal_exit_asks_the_engine_nothing_more_than_the_wait() -> None:
    engine = FakeEngine()
    await execute(make_runner(engine))
    assert engine.calls["inspect"] == 0 and engine.calls["events"] == 0


async def test_engine_failure_at_start_is_a_docker_error_chunk() -> None:
    engine = FakeEngine()
    engine.fail_start = EngineError("Cannot reach the Docker engine: gone")
    assert error(await execute(make_runner(engine))).message.endswith("gone")


async def test_output_past_the_budget_is_dropped_with_one_notice() -> None:
    flood = [(1, b"x" * 600)] * 5
    engine = FakeEngine(programs(Program(output=flood, exit_code=0)))
    chunks = await execute(make_runner(engine, max_stream_bytes=1000))
    notices = [c for c in chunks if c.event == ChunkEvent.INFO and "not streamed" in str(c.data)]
    assert len(notices) == 1
    res = result(chunks)
    assert len(res.stdout) == 1000 and res.stdout_truncated and res.exit_code == 0


async def test_warm_container_used_then_limits_updated_then_fresh_when_update_fails() -> None:
    engine = FakeEngine()
    runner = make_runner(engine, pool_size=1)
    runner.warm("img", {})
    await async_wait_until(lambda: runner.pool.idle_count("img") == 1, "a warm container")
    infos = [str(c.data) for c in await execute(runner) if c.event == ChunkEvent.INFO]
    assert any(i.startswith("Using a warm container") and "limits" not in i for i in infos)

    await async_wait_until(lambda: runner.pool.idle_count("img") == 1, "the pool refilled")
    bigger = RunLimits(mem_limit_mb=512)
    chunks = await execute(runner, bigger)
    assert any("limits updated" in str(c.data) for c in chunks)
    assert engine.calls["update"] == 1

    await async_wait_until(lambda: runner.pool.idle_count("img") == 1, "the pool refilled")
    engine.fail_update = True
    chunks = await execute(runner, bigger)
    assert any(str(c.data).startswith("Using a fresh container") for c in chunks)
    fresh = [c for c in engine.containers.values()
             if c.config["HostConfig"]["Memory"] == memory_bytes(512)]
    assert result(chunks).exit_code == 0 and not fresh  # removed after its run
    await runner.pool.close()


async def test_hang_up_mid_run_removes_the_container() -> None:
    engine = FakeEngine(programs(Program(output=[(1, b"a\n"), (1, b"b\n")], hang=True)))
    stream = make_runner(engine).execute("img", {}, Payload(b"", "n"), LIMITS)
    async for chunk in stream:
        if chunk.event == ChunkEvent.STDOUT:
            break
    await stream.aclose()  # type: ignore[attr-defined]
    # The container's own generator is closed by the loop's finaliser, soon after.
    await async_wait_until(lambda: engine.containers == {}, "the container removed")
    assert len(engine.removed) == 1
    assert engine.removed_stopping == []  # still running: removed (killed) at once


async def test_run_builds_nothing_for_the_runtime_and_runs_the_request() -> None:
    engine = FakeEngine(programs(Program(output=[(1, b"hi\n")])))
    runner = make_runner(engine)
    prepared = runner.prepare(RunRequest.model_validate({"code": "print('hi')", "lang": "python"}))
    chunks = [c async for c in runner.run(prepared)]
    assert result(chunks).stdout == "hi\n" and engine.calls["build"] == 0


async def test_failed_dependency_build_is_a_build_failed_error() -> None:
    engine = FakeEngine()
    runner = make_runner(engine)
    prepared = runner.prepare(RunRequest.model_validate(
        {"code": "import six", "lang": "python", "dependencies": ["six"]}))
    tag = runner.images.dependency_tag(prepared.language, ["six"])
    engine.build_errors[tag] = "No matching distribution found for six"
    data = error([c async for c in runner.run(prepared)])
    assert data.error.value == "build_failed" and "No matching" in (data.logs or "")
    assert engine.calls["start"] == 0


@pytest.mark.parametrize("code", [0, 1, 2, 125, 255])
async def test_exit_codes_pass_through(code: int) -> None:
    engine = FakeEngine(programs(Program(exit_code=code)))
    assert result(await execute(make_runner(engine))).exit_code == code


RUST = get_language("rust")
HALF = int(0.5e9)


def test_the_compile_step_gets_the_compile_quota_when_the_run_has_less() -> None:
    runner = make_runner(FakeEngine())
    assert runner.compile_cpu(RUST, 0.5) == 1.0
    assert runner.compile_cpu(RUST, 0.3) == 1.0
    assert runner.compile_cpu(RUST, 1.0) is None  # nothing to hand off
    assert runner.compile_cpu(RUST, 2.0) is None
    assert runner.compile_cpu(get_language("go"), 0.5) == 1.0
    assert runner.compile_cpu(get_language("python"), 0.5) is None  # no compile step
    # TypeScript's launcher compiles in the program's own process: no handoff there.
    assert runner.compile_cpu(get_language("typescript"), 0.5) is None
    runner.compile_cpus = 0.5
    assert runner.compile_cpu(RUST, 0.5) is None


async def test_the_program_starts_only_after_the_runs_own_quota_is_set() -> None:
    # The compiled marker split across two reads, with compiler output before it.
    mark = boot.compiled_marker("n")
    engine = FakeEngine(programs(Program(
        output=[(2, b"warning: unused\n" + mark[:7]), (2, mark[7:] + b"linked\n"),
                (1, b"hello\n")],
        handoff_after=2)))
    runner = make_runner(engine)
    chunks = [c async for c in runner.execute("img", {}, Payload(b"payload", "n"), LIMITS,
                                              compiles=RUST)]
    done = result(chunks)
    assert done.stderr == "warning: unused\nlinked\n" and done.stdout == "hello\n"
    (container,) = [c for c in engine.started if c.stdin]
    # Started under the compile quota; the line that lets the program start was written
    # only once the run's own quota was set, and then stdin was closed.
    assert container.writes[0] == (b"payload", int(1e9))
    assert container.writes[1:] == [(b"\n", HALF)] and container.fed.is_set()
    assert container.quota_after_handoff == HALF
    assert engine.calls["update"] == 1


async def test_a_failed_handoff_fails_the_run_and_the_program_never_starts() -> None:
    engine = FakeEngine(programs(Program(
        output=[(2, boot.compiled_marker("n")), (1, b"must not run\n")], handoff_after=1)))
    engine.fail_update = True
    runner = make_runner(engine)
    chunks = [c async for c in runner.execute("img", {}, Payload(b"payload", "n"), LIMITS,
                                              compiles=RUST)]
    assert error(chunks).error == "docker"
    assert not any(c.event == ChunkEvent.STDOUT for c in chunks)
    assert all(data != b"\n" for c in engine.started for data, _ in c.writes)


async def test_without_a_handoff_the_runs_own_quota_is_set_from_the_start() -> None:
    engine = FakeEngine(programs(Program(output=[(1, b"hi\n")])))
    runner = make_runner(engine)
    chunks = [c async for c in runner.execute("img", {}, Payload(b"payload", "n"),
                                              RunLimits(cpu_limit=2.0), compiles=RUST)]
    assert result(chunks).stdout == "hi\n"
    assert engine.calls["update"] == 0
    (container,) = [c for c in engine.started if c.stdin]
    assert container.writes == [(b"payload", int(2e9))] and container.fed.is_set()


def test_warm_containers_of_a_compiled_language_wait_under_the_compile_quota() -> None:
    runner = make_runner(FakeEngine())
    rust = runner.config_for("img", {}, LIMITS, runner.boot_for(RUST),
                             runner.compile_cpu(RUST, LIMITS.cpu_limit))
    assert rust["HostConfig"]["NanoCpus"] == int(1e9)


def test_rust_without_dependencies_boots_with_rustc_prestarted() -> None:
    runner = make_runner(FakeEngine())
    prestarted = runner.boot_for(RUST)
    assert prestarted == boot.prestart_boot(RUST) and prestarted != boot.SHELL_BOOT
    assert runner.boot_for(RUST, dependencies=True) == boot.SHELL_BOOT
    assert runner.boot_for(get_language("go")) == boot.SHELL_BOOT  # no prestart
    # What rustc is pre-started with is what the compile command runs without dependencies,
    # but for the linker it is given when the image has a pre-started one.
    prestart, compile = RUST.spec.prestart, RUST.compile
    assert prestart.startswith("if [ -x /opt/tinirun/prestarted/ld.lld ] "
                               "&& [ -f /opt/tinirun/rust-link.args ]")
    assert prestart.split("; elif ", 1)[1] == compile.split("; elif ", 1)[1]
