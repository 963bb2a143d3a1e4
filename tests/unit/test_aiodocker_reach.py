"""The private parts of aiodocker that `tinirun/engine/_aiodocker.py` relies on still exist
in the installed release (a new release is adopted only when this passes)."""

from __future__ import annotations

import inspect

import aiodocker
from aiodocker.containers import DockerContainer
from aiodocker.stream import Stream

from tinirun.engine import _aiodocker


async def test_the_private_attributes_used_exist() -> None:
    docker = aiodocker.Docker(url="unix:///nonexistent.sock")
    try:
        container = DockerContainer(docker, id="0" * 64, Id="0" * 64, State="exited")
        stream = container.attach(stdout=True, stderr=True, stdin=True, logs=False)
        assert inspect.iscoroutinefunction(stream._init)
        assert stream._resp is None and stream._closed is False
        # Without a connection: closed, and closing is quiet.
        assert _aiodocker.attach_open(stream) is False
        _aiodocker.close_stdin(stream)
        _aiodocker.close_attach(stream)
        assert stream._closed is True
        assert _aiodocker.container_data(container)["State"] == "exited"
        assert callable(docker._query)
        assert "timeout" in inspect.signature(docker._query).parameters
    finally:
        await docker.close()


def test_stream_is_the_class_attach_returns() -> None:
    assert inspect.signature(DockerContainer.attach).return_annotation in (Stream, "Stream")
