"""The one error map: every exception becomes one kind of `error` chunk, and every fault has
one HTTP status."""

from __future__ import annotations

import pytest

from tinirun.api.errors import STATUS, status_of
from tinirun.errors import (
    BuildError,
    BusyError,
    EngineError,
    Fault,
    FunctionExistsError,
    FunctionImageMissingError,
    FunctionNotReadyError,
    InvalidBodyError,
    InvalidRequestError,
    NotFoundError,
    ServiceStoppingError,
    StoreUnavailableError,
)
from tinirun.failures import error_data, error_of
from tinirun.models import ErrorKind


def test_every_fault_has_one_status() -> None:
    assert set(STATUS) == set(Fault)


@pytest.mark.parametrize(("exc", "status"), [
    (InvalidRequestError("x"), 400), (InvalidBodyError("x"), 400), (NotFoundError("x"), 404),
    (FunctionNotReadyError("x"), 400), (FunctionExistsError("x"), 400),
    (BusyError("x", 1), 429), (StoreUnavailableError("x"), 503),
    (ServiceStoppingError("x"), 503), (EngineError("x"), 502), (ValueError("x"), 500),
])
def test_status_of_exceptions(exc: Exception, status: int) -> None:
    assert status_of(exc) == status


def test_error_data_of_each_kind() -> None:
    build = error_data(BuildError("Build failed", "the log"))
    assert build.public() == {"error": "build_failed", "message": "Build failed", "logs": "the log"}
    missing = error_data(FunctionImageMissingError("gone", "fn:v1"))
    assert missing.public() == {"error": "function_image_not_found", "message": "gone",
                                "image_tag": "fn:v1"}
    engine = error_data(EngineError("no engine"))
    assert engine.public() == {"error": "docker", "message": "no engine"}
    assert (engine.fault, STATUS[engine.fault]) == (Fault.ENGINE, 502)


def test_shutdown_and_bugs_are_docker_chunks_with_their_own_status() -> None:
    stopping = error_data(ServiceStoppingError("stopping"))
    assert stopping.error == ErrorKind.DOCKER and STATUS[stopping.fault] == 503
    bug = error_data(KeyError("oops"))
    assert bug.error == ErrorKind.DOCKER and "KeyError" in bug.message
    assert STATUS[bug.fault] == 500
    assert "fault" not in bug.public()


def test_error_of_keeps_the_fault() -> None:
    missing = error_of(error_data(FunctionImageMissingError("gone", "fn:v1")))
    assert (str(missing), status_of(missing)) == ("Function not ready: gone", 400)
    stopping = error_of(error_data(ServiceStoppingError("stopping")))
    assert status_of(stopping) == 503
