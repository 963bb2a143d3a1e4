"""The hostile suite's server: fresh containers only (no warm pool, so that every container
of the server belongs to a run and none may remain), a key and a CA bundle of its own that the
runs try to read, and a temp dir of its own that must stay empty."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.hostile.harness import Hostile
from tests.integration.server import make_server

HOST_CA_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")


@pytest.fixture(scope="session")
def ca_marker() -> str:
    return f"tinirun-hostile-ca-{secrets.token_hex(8)}"


@pytest.fixture(scope="session")
def hostile(engine_ready: None, tmp_path_factory: pytest.TempPathFactory,  # noqa: F811
            ca_marker: str) -> Iterator[Hostile]:
    root = tmp_path_factory.mktemp("hostile")
    tmpdir = root / "service-tmp"
    tmpdir.mkdir()
    # The service's CA bundle: the host's (so installs still work behind a proxy) plus a line
    # no run may ever read.
    bundle = root / "ca-bundle.pem"
    host = HOST_CA_BUNDLE.read_text() if HOST_CA_BUNDLE.is_file() else ""
    bundle.write_text(f"# {ca_marker}\n{host}")
    key = secrets.token_hex(16)
    server = make_server(root, RUNNER_API_KEY=key, RUNNER_POOL_SIZE="0", TMPDIR=str(tmpdir),
                         RUNNER_EXTRA_CA_BUNDLE=str(bundle))
    server.headers = {"X-Runner-Api-Key": key}
    server.start()
    try:
        yield Hostile(server, tmpdir)
    finally:
        server.stop()
