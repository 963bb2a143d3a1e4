"""Container settings and the run's payload, tested as data."""

from __future__ import annotations

import io
import tarfile

from tinirun.engine.container import Isolation, Limits, container_config
from tinirun.languages import BUILTIN_DIR, all_languages, get_language
from tinirun.models import RunLimits
from tinirun.runner.boot import run_script
from tinirun.runner.run import BOOT_COMMAND, PreparedRun, payload


def config(**isolation: object) -> dict:  # type: ignore[type-arg]
    return container_config(
        image="img", command=["sh"], env={"A": "1"}, limits=Limits(memory_mb=256, cpu=0.5),
        isolation=Isolation(**isolation),  # type: ignore[arg-type]
        labels={"tinirun.kind": "run"},
    )


def test_isolation_floor() -> None:
    c = config()
    host = c["HostConfig"]
    assert host["NetworkMode"] == "none" and c["NetworkDisabled"] is True
    assert host["ReadonlyRootfs"] is True
    assert host["Memory"] == 256 * 1024 * 1024 == host["MemorySwap"]
    assert host["NanoCpus"] == 500_000_000
    assert host["PidsLimit"] == 50
    assert host["CapDrop"] == ["ALL"]
    assert host["SecurityOpt"] == ["no-new-privileges"]
    assert host["IpcMode"] == "private" and host["CgroupnsMode"] == "private"
    assert c["User"] == "1000:1000"
    assert "HOME=/tmp" in c["Env"] and "A=1" in c["Env"]
    assert host["Tmpfs"]["/tmp"].startswith("rw,noexec,nosuid,nodev,size=100m")
    assert "exec" in host["Tmpfs"]["/work"].split(",")
    assert host["LogConfig"]["Type"] == "none"
    assert host["Privileged"] is False


def test_no_nproc_ulimit_but_core_fsize_nofile() -> None:
    names = {u["Name"]: u for u in config()["HostConfig"]["Ulimits"]}
    assert "nproc" not in names
    assert names["core"]["Hard"] == 0
    assert names["fsize"]["Hard"] > 0 and names["nofile"]["Hard"] > 0


def test_labels_and_runtime() -> None:
    c = config(oci_runtime="runsc", extra_labels={"tinirun.owner": "me"})
    assert c["Labels"] == {"tinirun": "1", "tinirun.owner": "me", "tinirun.kind": "run"}
    assert c["HostConfig"]["Runtime"] == "runsc"
    assert "Runtime" not in config()["HostConfig"]


def test_work_dir_never_larger_than_memory() -> None:
    c = container_config("i", [], {}, Limits(memory_mb=64, cpu=1), Isolation(), {})
    assert "size=64m" in c["HostConfig"]["Tmpfs"]["/work"]


def test_boot_command_has_inner_timeout_with_kill() -> None:
    assert BOOT_COMMAND[:2] == ["/bin/sh", "-c"]
    assert "tar -x -f -" in BOOT_COMMAND[2]
    assert 'read -r t < .tinirun/timeout' in BOOT_COMMAND[2]
    assert 'timeout -k 2 "$t" /bin/sh .tinirun/run.sh' in BOOT_COMMAND[2]



def test_payload_holds_code_files_script_and_stdin() -> None:
    prepared = PreparedRun(
        language=get_language("go"), code="package main", dependencies=[],
        files=[("d/x.bin", b"\x00")], limits=RunLimits(), stdin="in",
    )
    with tarfile.open(fileobj=io.BytesIO(payload(prepared).data)) as tar:
        names = set(tar.getnames())
        script = tar.extractfile(".tinirun/run.sh").read().decode()  # type: ignore[union-attr]
        limit = tar.extractfile(".tinirun/timeout").read().decode()  # type: ignore[union-attr]
    assert {"main.go", "files/d/x.bin", ".tinirun/run.sh", ".tinirun/stdin", "files/d"} <= names
    assert "go build" in script and "< .tinirun/stdin" in script
    assert limit == "62\n"  # the default 60 s plus the inner slack


def test_every_language_has_its_files() -> None:
    folders = {toml.parent.name for toml in BUILTIN_DIR.glob("*/language.toml")}
    assert set(all_languages()) == folders and len(folders) >= 6
    for language in all_languages().values():
        assert "FROM ${BASE}" in language.dockerfile
        assert language.read(language.function.wrapper)
        assert language.sample_code
        assert "{deps}" in language.install
        script = run_script(language, ["a b", "c'd"])
        assert script.endswith(f"exec {language.run} 'a b' 'c'\"'\"'d' < .tinirun/stdin\n")


def test_cpu_quota_is_capped_at_the_engines_cpus() -> None:
    from tinirun.engine.container import nano_cpus

    assert nano_cpus(4.0, Isolation(max_cpus=2)) == 2_000_000_000
    assert nano_cpus(0.5, Isolation(max_cpus=2)) == 500_000_000
    assert nano_cpus(4.0, Isolation()) == 4_000_000_000


def test_memory_limit_is_at_least_the_engines_minimum() -> None:
    from tinirun.engine.container import MIN_MEMORY_MB, memory_bytes

    assert memory_bytes(1) == MIN_MEMORY_MB * 1024 * 1024
    assert memory_bytes(256) == 256 * 1024 * 1024
