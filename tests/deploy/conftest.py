"""Deploy fixtures: the service and Valkey images, built once per session."""

from __future__ import annotations

import pytest

from tests.deploy.stack import build_images


@pytest.fixture(scope="session")
def service_images() -> None:
    build_images()
