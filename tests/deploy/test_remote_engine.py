"""The service image on an engine reached by DOCKER_HOST over TLS, with no socket mounted:
the safer set-up the README recommends, wired with `docker run` and a network."""

from __future__ import annotations

import re
import secrets
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.conftest import free_port
from tests.deploy.stack import (
    SERVICE_IMAGE,
    SOCKET,
    StackError,
    remove_owned,
    run,
    wait_for_engine,
)
from tests.deploy.test_compose import chunks_of
from tests.integration.server import result_of

pytestmark = [pytest.mark.docker, pytest.mark.slow, pytest.mark.timeout(600)]

HERE = Path(__file__).parent


def openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True, timeout=60)


def make_certs(root: Path) -> tuple[Path, Path]:
    """A CA, a server certificate for the name `engine` and a client certificate, laid out as
    DOCKER_CERT_PATH expects (ca.pem, cert.pem, key.pem); returns the server and client dirs."""
    key = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    # keyUsage on the CA: Python 3.13 refuses a CA without it (strict X.509 checks).
    openssl("req", "-x509", *key, "-keyout", "ca-key.pem", "-out", "ca.pem", "-days", "1",
            "-subj", "/CN=tinirun test CA", "-addext", "keyUsage=critical,keyCertSign,cRLSign",
            cwd=root)
    dirs = []
    for name, usage, extra in (("server", "serverAuth", "subjectAltName=DNS:engine\n"),
                               ("client", "clientAuth", "")):
        folder = root / name
        folder.mkdir()
        (root / f"{name}.ext").write_text(
            "basicConstraints=CA:FALSE\nkeyUsage=digitalSignature\n"
            f"extendedKeyUsage={usage}\nsubjectKeyIdentifier=hash\n"
            f"authorityKeyIdentifier=keyid,issuer\n{extra}"
        )
        openssl("req", *key, "-keyout", f"{name}/key.pem", "-out", f"{name}.csr",
                "-subj", f"/CN={name}", cwd=root)
        openssl("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.pem", "-CAkey", "ca-key.pem",
                "-CAcreateserial", "-out", f"{name}/cert.pem", "-days", "1",
                "-extfile", f"{name}.ext", cwd=root)
        (folder / "ca.pem").write_bytes((root / "ca.pem").read_bytes())
        # The containers run as uid 10001: the throwaway keys must be readable to it.
        for pem in folder.iterdir():
            pem.chmod(0o644)
        dirs.append(folder)
    return dirs[0], dirs[1]


@dataclass
class RemoteSetup:
    url: str
    api_key: str
    service: str


@pytest.fixture(scope="module")
def remote(service_images: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RemoteSetup]:
    root = tmp_path_factory.mktemp("tls")
    server_certs, client_certs = make_certs(root)
    name = f"tinirun-test-{secrets.token_hex(4)}"
    engine, service = f"{name}-engine", f"{name}-service"
    api_key = secrets.token_hex(16)
    port = free_port()
    owner = None
    try:
        run(["docker", "network", "create", name])
        run(["docker", "run", "-d", "--name", engine, "--network", name, "--no-healthcheck",
             "--network-alias", "engine", "--group-add", str(SOCKET.stat().st_gid),
             "-v", f"{SOCKET}:/var/run/docker.sock",
             "-v", f"{server_certs}:/certs:ro", "-v", f"{HERE / 'tls_engine.py'}:/tls_engine.py:ro",
             SERVICE_IMAGE, "python3", "/tls_engine.py", "/certs"])
        run(["docker", "run", "-d", "--name", service, "--network", name,
             "-p", f"127.0.0.1:{port}:8080", "-e", f"RUNNER_API_KEY={api_key}",
             "-e", "RUNNER_LOG_LEVEL=info", "-e", "RUNNER_CLEANUP_INTERVAL=86400",
             "-e", "DOCKER_HOST=tcp://engine:2376", "-e", "DOCKER_TLS_VERIFY=1",
             "-e", "DOCKER_CERT_PATH=/certs", "-v", f"{client_certs}:/certs:ro",
             SERVICE_IMAGE])
        wait_healthy(service)
        owner = run(["docker", "exec", service, "cat", "/data/installation-id"]).stdout.strip()
        yield RemoteSetup(f"http://127.0.0.1:{port}", api_key, service)
    finally:
        removal = ["docker", "rm", "-f", "-v", service, engine]
        if run(removal, check=False).returncode != 0 and wait_for_engine():
            run(removal, check=False)
        if owner:
            remove_owned(owner)
        run(["docker", "network", "rm", name], check=False)


def wait_healthy(container: str, wait: float = 120) -> None:
    deadline = time.monotonic() + wait
    status = ""
    while time.monotonic() < deadline:
        status = run(["docker", "inspect", "--format", "{{.State.Health.Status}}",
                      container]).stdout.strip()
        if status == "healthy":
            return
        time.sleep(1)
    logs = run(["docker", "logs", "--tail", "40", container], check=False)
    raise StackError(f"{container} not healthy ({status}):\n{logs.stdout}{logs.stderr}")


def test_service_has_no_engine_socket(remote: RemoteSetup) -> None:
    probe = run(["docker", "exec", remote.service, "sh", "-c",
                 "ls /var/run/docker.sock /run/docker.sock 2>&1 || true"]).stdout
    assert probe.count("No such file") == 2, probe
    logs = run(["docker", "logs", remote.service]).stderr
    assert re.search(r"Docker engine \S+ reachable", logs), logs[-2000:]


def test_hello_world_through_the_remote_engine(remote: RemoteSetup) -> None:
    body = {"lang": "python", "code": "import sys\nprint('over TLS', sys.stdin.read())",
            "stdin": "with input"}
    response = httpx.post(f"{remote.url}/api/code/run", json=body, timeout=300,
                          headers={"X-Runner-Api-Key": remote.api_key,
                                   "Accept": "application/x-ndjson"})
    assert response.status_code == 200, response.text
    result = result_of(chunks_of(response.text))
    assert result["stdout"] == "over TLS with input\n", result
    assert result["exit_code"] == 0
