"""A cluster on one machine: two extra Docker engines, each in a network namespace of its own
(own data root, exec root and socket, reachable over TCP on a test bridge), an image registry
(the distribution registry, Debian's `docker-registry`) on the bridge, and a Redis.

Everything made here is recorded as it is made and removed by its id at the end: the
namespaces, the bridge, the one DOCKER-USER rule, the processes (by pid), the data roots.
The host's engine is only read from (the runtime image is saved from it).
"""

from __future__ import annotations

import contextlib
import ipaddress
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

TOOLS = ("ip", "iptables", "nsenter", "dockerd", "docker", "docker-registry", "redis-server")
ENGINE_PORT = 2375


def sh(*argv: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, check=check, capture_output=True, text=True, timeout=120)


def wait_for(check: Callable[[], bool], limit: float, what: str) -> None:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.2)
    raise RuntimeError(f"{what} within {limit} s")


def _kill(pid: int, grace: float) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline and Path(f"/proc/{pid}").exists():
        with contextlib.suppress(ChildProcessError):
            if os.waitpid(pid, os.WNOHANG)[0] == pid:
                return
        time.sleep(0.1)
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, 0)


def _pids_mentioning(text: str) -> list[int]:
    """Processes whose command line names `text` (a path unique to this fabric)."""
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        with contextlib.suppress(OSError):
            if text.encode() in cmdline.read_bytes():
                found.append(int(cmdline.parent.name))
    return found


def _unmount_under(root: Path) -> None:
    mounts = [line.split()[4] for line in Path("/proc/self/mountinfo").read_text().splitlines()]
    for point in sorted((m for m in mounts if m.startswith(str(root))), reverse=True):
        sh("umount", "-l", point, check=False)


@dataclass
class NsEngine:
    """A dockerd in a network namespace of its own."""

    name: str
    netns: str
    address: str
    root: Path
    registry: str
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"tcp://{self.address}:{ENGINE_PORT}"

    def docker(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return sh("docker", "-H", self.url, *args, check=check)

    def answers(self) -> bool:
        try:
            return self.docker("version", "--format", "{{.Server.Version}}",
                               check=False).returncode == 0
        except subprocess.TimeoutExpired:
            return False

    def start(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        argv = [
            "nsenter", f"--net=/run/netns/{self.netns}",
            "dockerd", "--tls=false",
            "--data-root", str(self.root / "data"), "--exec-root", str(self.root / "exec"),
            "--pidfile", str(self.root / "dockerd.pid"),
            "--host", f"unix://{self.root / 'docker.sock'}", "--host", self.url,
            # No bridge and no NAT of its own: user containers have no network anyway.
            "--bridge=none", "--iptables=false", "--ip6tables=false",
            "--cgroup-parent", f"/{self.name}", "--insecure-registry", self.registry,
        ]
        log = (self.root / "dockerd.log").open("ab")
        self.process = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT,
                                        stdin=subprocess.DEVNULL, start_new_session=True)
        log.close()
        wait_for(self.answers, 90, f"dockerd {self.name} did not answer")

    def kill(self) -> None:
        """The engine dies at once (SIGKILL), as a crashed or unplugged engine does."""
        if self.process is not None:
            self.process.kill()
            self.process.wait(30)
            self.process = None

    def stop(self) -> None:
        """Stop this engine and everything it started (containerd, shims), by pid."""
        if self.process is not None and self.process.poll() is None:
            with contextlib.suppress(subprocess.SubprocessError, OSError):
                ids = self.docker("ps", "-aq", check=False).stdout.split()
                if ids:
                    self.docker("rm", "-f", *ids, check=False)
            _kill(self.process.pid, 30)
            with contextlib.suppress(subprocess.SubprocessError, OSError):
                self.process.wait(5)
        self.process = None
        for pid in _pids_mentioning(str(self.root)):
            _kill(pid, 5)


@dataclass
class Fabric:
    """The bridge, the namespaces, the engines, the registry."""

    tag: str
    subnet: ipaddress.IPv4Network
    root: Path
    engines: list[NsEngine] = field(default_factory=list)
    netns: list[str] = field(default_factory=list)
    bridge: str | None = None
    rule: list[str] | None = None
    registry_process: subprocess.Popen[bytes] | None = None
    registry: str = ""

    @property
    def gateway(self) -> str:
        return str(self.subnet.network_address + 1)

    def up(self, engines: int, image: str) -> None:
        bridge = f"trcb{self.tag}"
        sh("ip", "link", "add", bridge, "type", "bridge")
        self.bridge = bridge
        sh("ip", "addr", "add", f"{self.gateway}/{self.subnet.prefixlen}", "dev", bridge)
        sh("ip", "link", "set", bridge, "up")
        # The host engine's FORWARD policy drops bridged traffic it does not know.
        self.rule = ["DOCKER-USER", "-i", bridge, "-o", bridge, "-j", "ACCEPT"]
        sh("iptables", "-I", *self.rule)
        self._start_registry()
        for i in range(1, engines + 1):
            netns = f"tinirun-test-{self.tag}-{i}"
            sh("ip", "netns", "add", netns)
            self.netns.append(netns)
            host_end, ns_end = f"trcv{self.tag}h{i}", f"trcv{self.tag}n{i}"
            sh("ip", "link", "add", host_end, "type", "veth", "peer", "name", ns_end)
            sh("ip", "link", "set", ns_end, "netns", netns)
            sh("ip", "link", "set", host_end, "master", bridge, "up")
            address = str(self.subnet.network_address + 10 + i)
            sh("ip", "-n", netns, "addr", "add", f"{address}/{self.subnet.prefixlen}",
               "dev", ns_end)
            sh("ip", "-n", netns, "link", "set", ns_end, "up")
            sh("ip", "-n", netns, "link", "set", "lo", "up")
            self.engines.append(NsEngine(f"tinirun-test-{self.tag}-engine{i}", netns, address,
                                         self.root / f"engine{i}", self.registry))
        for engine in self.engines:
            engine.start()
        self._load(image)

    def _start_registry(self) -> None:
        port = 5000
        self.registry = f"{self.gateway}:{port}"
        config = self.root / "registry.yml"
        config.write_text(
            "version: 0.1\nlog:\n  level: warn\nstorage:\n  filesystem:\n"
            f"    rootdirectory: {self.root / 'registry'}\n  delete:\n    enabled: true\n"
            f"http:\n  addr: {self.registry}\n"
        )
        log = (self.root / "registry.log").open("ab")
        self.registry_process = subprocess.Popen(
            ["docker-registry", "serve", str(config)], stdout=log, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL, start_new_session=True)
        log.close()

        def answers() -> bool:
            try:
                socket.create_connection((self.gateway, port), timeout=1).close()
            except OSError:
                return False
            return True

        wait_for(answers, 30, "the registry did not answer")

    def _load(self, image: str) -> None:
        """Give every engine the runtime image the host engine has (saved once)."""
        archive = self.root / "image.tar"
        sh("docker", "save", "-o", str(archive), image)
        loads = [subprocess.Popen(["docker", "-H", e.url, "load", "-q", "-i", str(archive)],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
                 for e in self.engines]
        for load in loads:
            _, err = load.communicate(timeout=300)
            if load.returncode != 0:
                raise RuntimeError(f"docker load failed: {err.decode()[-2000:]}")
        archive.unlink()

    def down(self) -> None:
        for engine in self.engines:
            engine.stop()
        if self.registry_process is not None:
            _kill(self.registry_process.pid, 10)
            with contextlib.suppress(subprocess.SubprocessError, OSError):
                self.registry_process.wait(5)
        for netns in self.netns:
            sh("ip", "netns", "delete", netns, check=False)
        if self.bridge is not None:
            sh("ip", "link", "delete", self.bridge, check=False)
        if self.rule is not None:
            sh("iptables", "-D", *self.rule, check=False)
        _unmount_under(self.root)
        shutil.rmtree(self.root, ignore_errors=True)


def free_subnet() -> tuple[str, ipaddress.IPv4Network]:
    """A tag for names and a /24 no interface of this machine uses."""
    used = [ipaddress.ip_network(line.split()[0], strict=False)
            for line in sh("ip", "-4", "route", "show").stdout.splitlines()
            if line.split() and line.split()[0][0].isdigit()]
    base = os.getpid() % 200
    for offset in range(200):
        n = (base + offset) % 200 + 20
        subnet = ipaddress.IPv4Network(f"10.231.{n}.0/24")
        if not any(subnet.overlaps(u) for u in used) and \
                sh("ip", "link", "show", f"trcb{n}", check=False).returncode != 0:
            return str(n), subnet
    raise RuntimeError("no free 10.231.x.0/24 for the test bridge")


def make_fabric(engines: int, image: str) -> Fabric:
    missing = [tool for tool in TOOLS if shutil.which(tool) is None]
    if missing:
        raise RuntimeError(f"the cluster fixture needs {', '.join(missing)} (see .ci/run)")
    if os.geteuid() != 0:
        raise RuntimeError("the cluster fixture needs root (namespaces, a bridge, dockerd)")
    tag, subnet = free_subnet()
    fabric = Fabric(tag, subnet, Path(tempfile.mkdtemp(prefix=f"tinirun-cluster-{tag}-")))
    try:
        fabric.up(engines, image)
    except BaseException:
        fabric.down()
        raise
    return fabric
