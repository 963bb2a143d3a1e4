"""Reading the service's JSON with no library: fields checked for their type, and whole
answers read into the client's dataclasses.

Names the service may add to (a language, an error kind, a status) are plain strings, so a
newer service never makes this client raise; fields it does not know are ignored.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from tinirun_client._exceptions import ProtocolError

__all__ = ["Json", "ShapeError", "get", "list_of", "object_of", "parse_json"]

Json = Mapping[str, Any]
T = TypeVar("T")


class ShapeError(Exception):
    """A value of the wrong type, somewhere in an answer (raised as ProtocolError)."""


def _kinds(kind: type | tuple[type, ...]) -> tuple[type, ...]:
    return kind if isinstance(kind, tuple) else (kind,)


def get(data: Json, key: str, kind: type | tuple[type, ...], default: Any = ...) -> Any:
    """`data[key]` when it is of `kind`; `default` when it is missing or null (if given)."""
    if key not in data or (data[key] is None and default is not ...):
        if default is ...:
            raise ShapeError(f"no {key!r}")
        return default
    value = data[key]
    # bool is an int: a count must not be true or false.
    if not isinstance(value, kind) or (isinstance(value, bool) and bool not in _kinds(kind)):
        raise ShapeError(f"{key!r} is {type(value).__name__}")
    return value


def object_of(value: Any, what: str) -> Json:
    """`value` when it is a JSON object; `what` names it in the error."""
    if not isinstance(value, Mapping):
        raise ShapeError(f"{what} is not an object")
    return value


def parse_json(read: Callable[[Any], T], content: bytes) -> T:
    """An answer's body through `read` (a `from_json`); ProtocolError when it does not fit."""
    try:
        return read(json.loads(content))
    except (ValueError, ShapeError) as exc:
        raise ProtocolError(f"unexpected answer: {content[:200]!r} ({exc})") from exc


def list_of(read: Callable[[Json], T]) -> Callable[[Any], list[T]]:
    """A reader of a JSON list whose items `read` reads."""
    def read_list(data: Any) -> list[T]:
        if not isinstance(data, list):
            raise ShapeError("the answer is not a list")
        return [read(object_of(item, "an item")) for item in data]
    return read_list
