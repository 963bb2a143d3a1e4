"""The service's exceptions. The user's code failing is a result, never one of these.

    TinirunError                      fault
    ├── InvalidRequestError           INVALID      the request is wrong (400, text)
    │   └── InvalidBodyError          INVALID_BODY the body breaks the schema (400, JSON message)
    ├── NotFoundError                 NOT_FOUND    no such function (404 `Not Found`)
    ├── FunctionNotReadyError         NOT_READY    no ready image (400 "Function not ready")
    ├── FunctionExistsError           EXISTS       the name is taken (400 "Function already exists")
    ├── FunctionImageMissingError     IMAGE_MISSING  a ready function's image is gone
    ├── BusyError                     BUSY         the run queue is full (429, Retry-After)
    ├── StoreUnavailableError         STORE        the function store cannot be reached (503)
    ├── ServiceStoppingError          STOPPING     the service is shutting down (503)
    ├── EngineError                   ENGINE       the Docker engine failed or is unreachable (502)
    │   └── BuildError                BUILD        an image build failed (logs attached)
    └── RunFailedError                (its chunk's) a run that ended with an `error` chunk
    any other exception               BUG          a bug of ours (500)

Each class names its `Fault`; `tinirun.failures` turns any exception into the data of an
`error` chunk, and `tinirun.api.errors.STATUS` maps each fault to its HTTP status: one table.
"""

from __future__ import annotations

from enum import StrEnum


class Fault(StrEnum):
    """What kind of failure an error is: its HTTP status and its `error` chunk follow."""

    INVALID = "invalid"
    INVALID_BODY = "invalid_body"
    NOT_FOUND = "not_found"
    NOT_READY = "not_ready"
    EXISTS = "exists"
    IMAGE_MISSING = "image_missing"
    BUSY = "busy"
    STORE = "store"
    STOPPING = "stopping"
    ENGINE = "engine"
    BUILD = "build"
    BUG = "bug"


class TinirunError(Exception):
    """Base of every error the service raises on purpose."""

    fault: Fault = Fault.BUG


class InvalidRequestError(TinirunError):
    """The request breaks a rule that the schema alone cannot say; the message names the field."""

    fault = Fault.INVALID


class InvalidBodyError(InvalidRequestError):
    """The body breaks the schema (the original answers these as JSON `{"message": ...}`)."""

    fault = Fault.INVALID_BODY


class NotFoundError(TinirunError):
    """The named thing does not exist."""

    fault = Fault.NOT_FOUND


class FunctionNotReadyError(TinirunError):
    """The function's image is not built (status is not `ready`)."""

    fault = Fault.NOT_READY


class FunctionExistsError(TinirunError):
    """A function with that name already exists."""

    fault = Fault.EXISTS


class FunctionImageMissingError(TinirunError):
    """The image of a ready function is gone (it must be rebuilt); `image_tag` names it."""

    fault = Fault.IMAGE_MISSING

    def __init__(self, message: str, image_tag: str) -> None:
        super().__init__(message)
        self.image_tag = image_tag


class BusyError(TinirunError):
    """Too many runs are waiting; try again after `retry_after` seconds."""

    fault = Fault.BUSY

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class StoreUnavailableError(TinirunError):
    """The function store (Redis or the embedded database) cannot be reached."""

    fault = Fault.STORE


class ServiceStoppingError(TinirunError):
    """The service is shutting down: the run was stopped, or not started."""

    fault = Fault.STOPPING


class EngineError(TinirunError):
    """The Docker engine failed or cannot be reached."""

    fault = Fault.ENGINE


class BuildError(EngineError):
    """An image build failed; `logs` holds the build's output."""

    fault = Fault.BUILD

    def __init__(self, message: str, logs: str) -> None:
        super().__init__(message)
        self.logs = logs


class RunFailedError(TinirunError):
    """A run ended with an `error` chunk where the answer had to be a result; it keeps the
    fault of the error it was made from (see `tinirun.failures.error_of`)."""

    def __init__(self, message: str, fault: Fault) -> None:
        super().__init__(message)
        self.fault = fault
