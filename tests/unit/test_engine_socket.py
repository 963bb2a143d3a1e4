"""An engine that cannot be found is an EngineError, not aiodocker's assertion."""

from __future__ import annotations

from pathlib import Path

import aiodocker.docker
import pytest

from tinirun.engine.docker import Engine
from tinirun.errors import EngineError


def test_no_socket_and_no_docker_host(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DOCKER_HOST", raising=False)
    monkeypatch.setattr(aiodocker.docker, "_sock_search_paths", [Path("/nonexistent/docker.sock")])
    with pytest.raises(EngineError, match="no socket found"):
        Engine().docker  # noqa: B018
