"""The fault suite uses the integration suite's real engine and server factory."""

from tests.integration.conftest import engine_ready, make  # noqa: F401  (fixtures)
