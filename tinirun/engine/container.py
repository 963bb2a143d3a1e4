"""Container settings as data: pure functions that build the Engine API's create body.

Every container that runs user code gets the isolation floor of the contract, and more:
no network, read-only root, small noexec /tmp, memory without swap, CPU quota, a pids limit
per container, no capabilities, no-new-privileges, private IPC and cgroup namespaces,
uid 1000, no core dumps, capped file size and open files, logs off (attach still streams).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from tinirun.labels import SERVICE

RUN_USER = "1000:1000"
WORK_DIR = "/work"
TMP_SIZE_MB = 100
SHM_SIZE_BYTES = 1024 * 1024
PIDS_LIMIT = 50
# Docker refuses memory limits under 6 MiB.
MIN_MEMORY_MB = 6
NOFILE_LIMIT = 256
# Largest file the program may write (bytes); tmpfs sizes bound the total.
FSIZE_LIMIT = 64 * 1024 * 1024
PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


@dataclass(frozen=True)
class Limits:
    """What a run may use."""

    memory_mb: int
    cpu: float
    pids: int = PIDS_LIMIT


@dataclass(frozen=True)
class Isolation:
    """Service-wide choices about isolation."""

    oci_runtime: str | None = None
    # Size of the exec-allowed work directory (code, files, build output). It also counts
    # against the memory limit, since tmpfs pages are memory.
    work_size_mb: int = 512
    extra_labels: Mapping[str, str] = field(default_factory=dict)
    # The engine's CPUs: a larger quota is refused by the engine, so it is capped here.
    max_cpus: float | None = None


def memory_bytes(memory_mb: int) -> int:
    """The memory limit in bytes, at least the engine's minimum (the contract allows less)."""
    return max(memory_mb, MIN_MEMORY_MB) * 1024 * 1024


def nano_cpus(cpu: float, isolation: Isolation) -> int:
    """The CPU quota in the engine's unit, at most the engine's CPUs."""
    if isolation.max_cpus is not None:
        cpu = min(cpu, isolation.max_cpus)
    return int(cpu * 1e9)


def work_dir_size_mb(memory_mb: int, isolation: Isolation) -> int:
    """The work tmpfs may not exceed the run's memory (its pages are charged there anyway)."""
    return max(1, min(isolation.work_size_mb, memory_mb))


def container_config(
    image: str,
    command: list[str],
    env: Mapping[str, str],
    limits: Limits,
    isolation: Isolation,
    labels: Mapping[str, str],
) -> dict[str, Any]:
    """The Engine API body that creates one hardened, single-use container."""
    memory = memory_bytes(limits.memory_mb)
    size = work_dir_size_mb(limits.memory_mb, isolation)
    tmpfs = {
        "/tmp": f"rw,noexec,nosuid,nodev,size={TMP_SIZE_MB}m,mode=1777",
        # The code and its build output: exec allowed (compiled languages run from here).
        WORK_DIR: f"rw,exec,nosuid,nodev,size={size}m,uid=1000,gid=1000,mode=0755",
    }
    host_config: dict[str, Any] = {
        "NetworkMode": "none",
        "ReadonlyRootfs": True,
        "Tmpfs": tmpfs,
        "ShmSize": SHM_SIZE_BYTES,
        "Memory": memory,
        "MemorySwap": memory,
        "MemorySwappiness": 0,
        "NanoCpus": nano_cpus(limits.cpu, isolation),
        "PidsLimit": limits.pids,
        "CapDrop": ["ALL"],
        "SecurityOpt": ["no-new-privileges"],
        "IpcMode": "private",
        "CgroupnsMode": "private",
        "Init": True,
        "Ulimits": [
            {"Name": "core", "Soft": 0, "Hard": 0},
            {"Name": "fsize", "Soft": FSIZE_LIMIT, "Hard": FSIZE_LIMIT},
            {"Name": "nofile", "Soft": NOFILE_LIMIT, "Hard": NOFILE_LIMIT},
        ],
        "LogConfig": {"Type": "none", "Config": {}},
        "AutoRemove": False,
        "Privileged": False,
    }
    if isolation.oci_runtime:
        host_config["Runtime"] = isolation.oci_runtime
    return {
        "Image": image,
        "Cmd": command,
        "Entrypoint": [],
        "User": RUN_USER,
        "WorkingDir": WORK_DIR,
        "Env": [f"{k}={v}" for k, v in {"HOME": "/tmp", "PATH": PATH, **env}.items()],
        "AttachStdin": True,
        "AttachStdout": True,
        "AttachStderr": True,
        "OpenStdin": True,
        "StdinOnce": True,
        "Tty": False,
        "NetworkDisabled": True,
        "Labels": {SERVICE: "1", **isolation.extra_labels, **labels},
        "HostConfig": host_config,
    }


@dataclass(frozen=True)
class BuildLimits:
    """What one image build (a dependency install, a function's compile) may use."""

    memory_mb: int = 2048
    cpu: float = 1.0
    pids: int = 512
    # Size of each place a build may write (its output, /tmp, /work); memory bounds them all.
    disk_mb: int = 1024
    timeout: int = 300


# What apt and dpkg need as root (to unpack as root and drop to the _apt user); nothing else.
APT_CAPABILITIES = ["CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "SETUID", "SETGID"]


def build_config(
    image: str,
    command: list[str],
    env: Mapping[str, str],
    limits: BuildLimits,
    isolation: Isolation,
    labels: Mapping[str, str],
    *,
    network: str | None,
    output: str | None,
) -> dict[str, Any]:
    """The create body of a build container: the run's floor (memory, CPU, pids, no
    capabilities, no-new-privileges, uid 1000, read-only root), plus, for an install, the
    install network (whose only way out is the egress proxy).

    `output` is the directory (a tmpfs of the disk cap) whose content becomes the new image
    layer. Without one the build is an apt install: it runs as root with the capabilities apt
    needs and writes to its own layer, which is committed.
    """
    config = container_config(
        image, command, env, Limits(memory_mb=limits.memory_mb, cpu=limits.cpu,
                                    pids=limits.pids),
        isolation, labels,
    )
    host = config["HostConfig"]
    disk = f"size={limits.disk_mb}m"
    # Builds compile and run what they install: exec is allowed in their scratch places.
    host["Tmpfs"] = {
        "/tmp": f"rw,exec,nosuid,nodev,{disk},mode=1777",
        WORK_DIR: f"rw,exec,nosuid,nodev,{disk},uid=1000,gid=1000,mode=0755",
    }
    host["Ulimits"] = [u for u in host["Ulimits"] if u["Name"] != "fsize"] + [
        {"Name": "fsize", "Soft": limits.disk_mb * 1024 * 1024,
         "Hard": limits.disk_mb * 1024 * 1024}]
    if output is not None:
        host["Tmpfs"][output] = f"rw,exec,nosuid,nodev,{disk},uid=1000,gid=1000,mode=0755"
    else:
        config["User"] = "0:0"
        host["ReadonlyRootfs"] = False
        host["CapAdd"] = list(APT_CAPABILITIES)
    if network is not None:
        config["NetworkDisabled"] = False
        host["NetworkMode"] = network
        # No IPv6 at all: not even a link-local address next to the host's on the bridge.
        host["Sysctls"] = {"net.ipv6.conf.all.disable_ipv6": "1",
                           "net.ipv6.conf.default.disable_ipv6": "1"}
    return config
