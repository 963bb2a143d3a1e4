"""The compose set-up (compose.yaml) brought up for real on the host's engine, for the tests.

Images are built without a registry: the service image from the repository's Dockerfile on a
local Debian base, Valkey from deploy/valkey.Dockerfile. They keep fixed tags so that the next
run reuses their layers (the service's build stage too: tagged, it is not left dangling), and
an image a rebuild replaces is removed. Everything else the stack makes (containers, network,
volumes, function images) is removed on teardown.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import secrets
import shutil
import subprocess
import tarfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from tests.conftest import free_port

ROOT = Path(__file__).resolve().parents[2]
# A Debian 13 image made locally without a registry (the runtime images' base).
LOCAL_BASE = "tinirun-base:trixie"
SERVICE_IMAGE = "tinirun-test-service:latest"
SERVICE_BUILD_STAGE = "tinirun-test-service:build-stage"
VALKEY_IMAGE = "tinirun-test-valkey:latest"
# What the service image is built from: the files .dockerignore lets through.
CONTEXT_PATHS = ("Dockerfile", "pyproject.toml", "README.md", "tinirun", "clients/python",
                 "deploy/build-ca")
SOCKET = Path("/var/run/docker.sock")
BUILD_TIMEOUT = 600
COMPOSE_TIMEOUT = 180


class StackError(Exception):
    """A step of bringing the stack up or down failed; the message holds its output."""


def run(argv: Sequence[str], *, timeout: float = COMPOSE_TIMEOUT, input: bytes | None = None,
        env: dict[str, str] | None = None, check: bool = True) -> subprocess.CompletedProcess[str]:
    process = subprocess.run(
        list(argv), input=input, env=env, capture_output=True, timeout=timeout,
    )
    result = subprocess.CompletedProcess(
        process.args, process.returncode,
        process.stdout.decode(errors="replace"), process.stderr.decode(errors="replace"),
    )
    if check and result.returncode != 0:
        raise StackError(f"{' '.join(argv)} exited {result.returncode}:\n"
                         f"{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
    return result


def compose_command() -> list[str]:
    """`docker compose` (v2) when the plugin answers, else `docker-compose` (v1)."""
    if run(["docker", "compose", "version"], check=False, timeout=30).returncode == 0:
        return ["docker", "compose"]
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    raise StackError("no compose tool: install docker-compose (Debian: apt-get install "
                     "docker-compose) or the docker compose plugin")


def wait_for_engine(wait: float = 90) -> bool:
    """Whether the engine answers within `wait` seconds (it may be restarting)."""
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        if run(["docker", "info"], check=False, timeout=30).returncode == 0:
            return True
        time.sleep(2)
    return False


def remove_owned(owner: str) -> None:
    """Remove the containers and images (function images) a service installation made."""
    label = f"label=tinirun.owner={owner}"
    for kind in ("container", "image"):
        ids = run(["docker", kind, "ls", "-aq", "--filter", label], check=False)
        for item in ids.stdout.split():
            run(["docker", kind, "rm", "-f", item], check=False)


def image_id(ref: str) -> str | None:
    result = run(["docker", "image", "inspect", "--format", "{{.Id}}", ref], check=False)
    return result.stdout.strip() if result.returncode == 0 else None


def _build(tag: str, context: bytes, build_args: dict[str, str], dockerfile: str,
           target: str | None = None) -> None:
    """Build `tag` from a tar context on stdin; drop the image it replaces, if any."""
    before = image_id(tag)
    argv = ["docker", "build", "-q", "-t", tag, "-f", dockerfile]
    if target:
        argv += ["--target", target]
    for name, value in build_args.items():
        argv += ["--build-arg", f"{name}={value}"]
    run([*argv, "-"], input=context, timeout=BUILD_TIMEOUT)
    if before is not None and before != image_id(tag):
        run(["docker", "image", "rm", before], check=False)


def _tar(files: dict[str, Path | bytes]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for name, source in sorted(files.items()):
            data = source.read_bytes() if isinstance(source, Path) else source
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mode = 0o644
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def service_context(extra_ca: Path | None) -> bytes:
    """The service image's build context; `extra_ca` goes where the Dockerfile lets pip use it."""
    files: dict[str, Path | bytes] = {}
    for name in CONTEXT_PATHS:
        path = ROOT / name
        paths = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
        for item in paths:
            if ("__pycache__" in item.parts or "build" in item.parts
                    or any(part.endswith(".egg-info") for part in item.parts)
                    or item.suffix in (".pyc", ".pem")):
                continue
            files[str(item.relative_to(ROOT))] = item
    if extra_ca is not None:
        files["deploy/build-ca/extra.pem"] = extra_ca
    return _tar(files)


def build_images() -> None:
    """The service and Valkey images, on the local Debian base (no registry needed)."""
    if image_id(LOCAL_BASE) is None:
        raise StackError(f"{LOCAL_BASE} is missing: build it with `tinirun images build` "
                         "(scripts/test does) before the deploy tests")
    ca = os.environ.get("RUNNER_EXTRA_CA_BUNDLE") or None
    context = service_context(Path(ca) if ca else None)
    try:
        _build(SERVICE_BUILD_STAGE, context, {"BASE": LOCAL_BASE}, "Dockerfile", target="build")
    except StackError as exc:
        if ca is None and "CERTIFICATE_VERIFY_FAILED" in str(exc):
            raise StackError("pip could not verify PyPI's certificate: set RUNNER_EXTRA_CA_BUNDLE "
                             f"to the proxy's CA bundle (scripts/test does)\n{exc}") from None
        raise
    _build(SERVICE_IMAGE, context, {"BASE": LOCAL_BASE}, "Dockerfile")
    valkey = (ROOT / "deploy" / "valkey.Dockerfile").read_bytes()
    _build(VALKEY_IMAGE, _tar({"Dockerfile": valkey}), {"BASE": LOCAL_BASE}, "Dockerfile")


@dataclass
class Stack:
    """One compose project of compose.yaml: its name, port, key and environment."""

    workdir: Path
    project: str = field(default_factory=lambda: f"tinirun-test-{secrets.token_hex(4)}")
    port: int = field(default_factory=free_port)
    api_key: str = ""
    owner: str | None = None
    compose: list[str] = field(default_factory=compose_command)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def env_file(self) -> Path:
        return self.workdir / f"{self.project}.env"

    def client(self, timeout: float = 300) -> httpx.Client:
        # NDJSON asked for: the service streams SSE unless asked otherwise.
        return httpx.Client(base_url=self.url, headers={"X-Runner-Api-Key": self.api_key,
                                                        "Accept": "application/x-ndjson"},
                            timeout=timeout)

    def write_env_file(self) -> None:
        """The .env as a user makes it (deploy/make-env: random key, the socket's group)."""
        run([str(ROOT / "deploy" / "make-env"), str(self.env_file)], timeout=30)
        values = dict(line.split("=", 1) for line in self.env_file.read_text().splitlines()
                      if line and not line.startswith("#"))
        if values.get("DOCKER_GID") != str(SOCKET.stat().st_gid) or not values["RUNNER_API_KEY"]:
            raise StackError(f"deploy/make-env wrote {values}")
        self.api_key = values["RUNNER_API_KEY"]
        with self.env_file.open("a") as env:
            # The engine is shared: no cleanup pass of this short-lived stack's (runs only).
            env.write("RUNNER_LOG_LEVEL=info\nRUNNER_CLEANUP_INTERVAL=86400\n")

    def _environ(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("RUNNER_", "TINIRUN_", "COMPOSE_", "DOCKER_GID"))}
        env.update({
            "TINIRUN_ENV_FILE": str(self.env_file),
            "TINIRUN_IMAGE": SERVICE_IMAGE,
            "TINIRUN_VALKEY_IMAGE": VALKEY_IMAGE,
            "TINIRUN_PORT": str(self.port),
        })
        return env

    def __call__(self, *args: str, timeout: float = COMPOSE_TIMEOUT,
                 check: bool = True) -> subprocess.CompletedProcess[str]:
        """Run a compose command on this project."""
        argv = [*self.compose, "-p", self.project, "-f", str(ROOT / "compose.yaml"),
                "--env-file", str(self.env_file), *args]
        return run(argv, env=self._environ(), timeout=timeout, check=check)

    def up(self) -> None:
        self("up", "-d", "--no-build")
        self.wait_healthy()
        self.owner = self.installation_id()

    def container(self, service: str) -> str:
        ids = self("ps", "-q", service).stdout.split()
        if len(ids) != 1:
            raise StackError(f"expected one {service} container, got {ids}")
        return ids[0]

    def inspect(self, service: str) -> dict[str, Any]:
        out = run(["docker", "inspect", self.container(service)]).stdout
        data: dict[str, Any] = json.loads(out)[0]
        return data

    def wait_healthy(self, wait: float = 120) -> None:
        """Until the service's own HEALTHCHECK says healthy (it runs every 10 s)."""
        deadline = time.monotonic() + wait
        status = "unknown"
        while time.monotonic() < deadline:
            state = self.inspect("tinirun")["State"]
            status = state.get("Health", {}).get("Status", "none")
            if status == "healthy":
                return
            if state.get("Status") in ("exited", "dead"):
                break
            time.sleep(1)
        raise StackError(f"service not healthy ({status}):\n{self.logs()}")

    def logs(self) -> str:
        result = self("logs", "--no-color", "--tail", "60", check=False)
        return result.stdout + result.stderr

    def installation_id(self) -> str:
        return self("exec", "-T", "tinirun", "cat", "/data/installation-id").stdout.strip()

    def down(self) -> None:
        """Remove the project's containers, network and volumes, and what the service made;
        once more after the engine answers again if it was away (the stack would come back
        with it: its services restart unless stopped)."""
        if self.owner is None:
            with contextlib.suppress(StackError, subprocess.TimeoutExpired):
                self.owner = self.installation_id()
        for _ in range(2):
            result = self("down", "-v", "--remove-orphans", "--timeout", "40", check=False,
                          timeout=300)
            if result.returncode == 0 or not wait_for_engine():
                break
        if self.owner:
            remove_owned(self.owner)
        self.env_file.unlink(missing_ok=True)
