"""The client's exceptions: one small tree, each naming what went wrong and what it knows.

    ClientError                  every error this client raises
    ├── TransportError           no answer: the service is unreachable, too slow, or hung up
    ├── ProtocolError            an answer the API does not promise (a bad line, no final chunk)
    ├── StatusError              the service refused the request; .status_code, .message
    │   ├── AuthenticationError  401: the API key is missing or wrong
    │   ├── InvalidRequestError  400, 413, 422: the request breaks a rule; the message names it
    │   ├── NotFoundError        404: no such function
    │   ├── BusyError            429: the run queue is full; .retry_after seconds
    │   └── ServerError          5xx: the Docker engine (502) or the function store (503) failed
    └── RunError                 a stream ended with an `error` chunk: nothing ran
                                 (.kind build_failed, docker or function_image_not_found; .logs)

The user's program failing is not an error: it is a `RunResult` with a non-zero exit code.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import httpx

if TYPE_CHECKING:
    from tinirun_client._chunks import ErrorData


class ClientError(Exception):
    """Base of every error the client raises."""


class TransportError(ClientError):
    """The service could not be reached, did not answer in time, or hung up mid-stream."""


class ProtocolError(ClientError):
    """The service answered something the API does not promise."""


class StatusError(ClientError):
    """The service answered with an error status; `message` is its (plain-text) body."""

    def __init__(self, status_code: int, message: str) -> None:
        super().__init__(f"{status_code}: {message}" if message else str(status_code))
        self.status_code = status_code
        self.message = message


class AuthenticationError(StatusError):
    """401: the X-Runner-Api-Key header is missing or wrong."""


class InvalidRequestError(StatusError):
    """400, 413 or 422: the request breaks a rule (a dependency, a file, a field, its size)."""


class NotFoundError(StatusError):
    """404: no function of that name."""


class BusyError(StatusError):
    """429: too many runs are waiting; try again after `retry_after` seconds (None: unknown)."""

    def __init__(self, status_code: int, message: str, retry_after: int | None) -> None:
        super().__init__(status_code, message)
        self.retry_after = retry_after


class ServerError(StatusError):
    """5xx: the service failed; 502 is its Docker engine, 503 its function store."""


class RunError(ClientError):
    """A stream ended with an `error` chunk: the run or build could not start.

    `kind` is `build_failed` (an image build failed; `logs` holds its output), `docker` (the
    engine failed) or `function_image_not_found` (`image_tag` is gone; update the function).
    """

    def __init__(self, data: ErrorData) -> None:
        super().__init__(f"{data.error}: {data.message}")
        self.data = data
        self.kind: str = data.error
        self.message = data.message
        self.logs = data.logs
        self.image_tag = data.image_tag


def _message_of(response: httpx.Response) -> str:
    text = response.text.strip()
    # Our service answers in plain text; other servers may wrap the message in JSON.
    if text.startswith("{"):
        try:
            body = json.loads(text)
        except ValueError:
            return text
        if isinstance(body, dict):
            for key in ("message", "detail", "error"):
                if isinstance(body.get(key), str):
                    return str(body[key])
    return text or response.reason_phrase


def _retry_after(response: httpx.Response) -> int | None:
    value = response.headers.get("retry-after", "").strip()
    return int(value) if value.isdigit() else None


def error_for(response: httpx.Response) -> StatusError:
    """The exception for an error answer (its body must have been read)."""
    status = response.status_code
    message = _message_of(response)
    if status == 401:
        return AuthenticationError(status, message)
    if status in (400, 413, 422):
        return InvalidRequestError(status, message)
    if status == 404:
        return NotFoundError(status, message)
    if status == 429:
        return BusyError(status, message, _retry_after(response))
    if status >= 500:
        return ServerError(status, message)
    return StatusError(status, message)


def transport_error(exc: httpx.TransportError, url: str) -> TransportError:
    """Our TransportError for httpx's, naming the URL and what happened."""
    if isinstance(exc, httpx.ConnectError):
        what = "cannot connect"
    elif isinstance(exc, httpx.TimeoutException):
        what = "timed out"
    elif isinstance(exc, httpx.RemoteProtocolError):
        what = "the connection broke"
    else:
        what = "request failed"
    detail = str(exc) or type(exc).__name__
    return TransportError(f"{url}: {what} ({detail})")
