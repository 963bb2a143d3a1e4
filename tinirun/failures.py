"""The one map from failures to what a client sees: an exception becomes the data of an
`error` chunk here (`error_data`), and an `error` chunk that must be answered as an HTTP error
becomes an exception here (`error_of`). The HTTP status of each `Fault` is the one table in
`tinirun.api.errors`.

On the wire an error chunk is one of the original's three kinds: `build_failed` (with the
build's logs), `function_image_not_found` (with the tag) and `docker` for everything else —
a shutdown and a bug of ours included; the fault it came from goes along with the data
(not serialised), so its status is still told apart.
"""

from __future__ import annotations

import logging

from tinirun.errors import (
    BuildError,
    Fault,
    FunctionImageMissingError,
    RunFailedError,
    TinirunError,
)
from tinirun.models import ErrorData, ErrorKind

log = logging.getLogger(__name__)


def error_data(exc: BaseException) -> ErrorData:
    """The `error` chunk data of `exc`; a bug (not a TinirunError) is logged with its trace."""
    if isinstance(exc, BuildError):
        data = ErrorData(error=ErrorKind.BUILD_FAILED, message=str(exc), logs=exc.logs)
    elif isinstance(exc, FunctionImageMissingError):
        data = ErrorData(error=ErrorKind.FUNCTION_IMAGE_NOT_FOUND, message=str(exc),
                         image_tag=exc.image_tag)
    elif isinstance(exc, TinirunError):
        data = ErrorData(error=ErrorKind.DOCKER, message=str(exc))
    else:
        log.error("unexpected error", exc_info=exc)
        data = ErrorData(error=ErrorKind.DOCKER, message=f"Internal error: {exc!r}")
    data.fault = exc.fault if isinstance(exc, TinirunError) else Fault.BUG
    return data


def error_of(data: ErrorData) -> TinirunError:
    """The exception to answer with when a run that had to end in a result ended in `data`."""
    if data.fault is Fault.IMAGE_MISSING:
        return RunFailedError(f"Function not ready: {data.message}", Fault.NOT_READY)
    return RunFailedError(data.message, data.fault)
