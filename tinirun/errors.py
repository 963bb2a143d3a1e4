"""The service's exceptions. The user's code failing is a result, never one of these.

    TinirunError
    ├── InvalidRequestError    the request is wrong (HTTP 400)
    ├── NotFoundError          no such function (HTTP 404)
    ├── FunctionNotReadyError  the function has no ready image (HTTP 400 "Function not ready")
    ├── FunctionExistsError    a function of that name exists (HTTP 400)
    ├── BusyError              the run queue is full (HTTP 429 with Retry-After)
    ├── StoreUnavailableError  the function store cannot be reached (HTTP 503)
    └── EngineError            the Docker engine failed or is unreachable (502 / `docker` chunk)
        └── BuildError         an image build failed (`build_failed` chunk)

The HTTP layer maps them to status codes in one place (`tinirun.api.errors`).
"""

from __future__ import annotations


class TinirunError(Exception):
    """Base of every error the service raises on purpose."""


class InvalidRequestError(TinirunError):
    """The request breaks a rule that the schema alone cannot say; the message names the field."""


class NotFoundError(TinirunError):
    """The named thing does not exist."""


class FunctionNotReadyError(TinirunError):
    """The function's image is not built (status is not `ready`)."""


class FunctionExistsError(TinirunError):
    """A function with that name already exists."""


class BusyError(TinirunError):
    """Too many runs are waiting; try again after `retry_after` seconds."""

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class StoreUnavailableError(TinirunError):
    """The function store (Redis or the embedded database) cannot be reached."""


class EngineError(TinirunError):
    """The Docker engine failed or cannot be reached."""


class BuildError(EngineError):
    """An image build failed; `logs` holds the build's output."""

    def __init__(self, message: str, logs: str) -> None:
        super().__init__(message)
        self.logs = logs
