"""A function as the service describes it: its status, info, detail and list item."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from tinirun_client._json import Json, ShapeError, get, object_of

__all__ = ["FunctionDetail", "FunctionInfo", "FunctionListItem", "FunctionStatus"]


@dataclass(frozen=True, kw_only=True)
class FunctionStatus:
    """A function's build status. `type` is `not_built`, `building`, `error` (with `error`,
    `message`, `logs`) or `ready` (with the image's `tag` and `id`)."""

    type: str
    tag: str | None = None
    id: str | None = None
    error: str | None = None
    message: str | None = None
    logs: str | None = None

    @classmethod
    def from_json(cls, data: Json) -> FunctionStatus:
        data = object_of(data, "the status")
        return cls(type=get(data, "type", str), tag=get(data, "tag", str, None),
                   id=get(data, "id", str, None), error=get(data, "error", str, None),
                   message=get(data, "message", str, None), logs=get(data, "logs", str, None))


def _info_fields(data: Json) -> dict[str, Any]:
    version = get(data, "version", (str, int))
    if isinstance(version, str) and not version.isdigit():
        raise ShapeError(f"'version' is {version!r}")
    return {
        "lang": get(data, "lang", str), "description": get(data, "description", str, None),
        "status": FunctionStatus.from_json(get(data, "status", Mapping)),
        "created_at": get(data, "created_at", str), "updated_at": get(data, "updated_at", str),
        "version": int(version), "raw": data,
    }


@dataclass(frozen=True, kw_only=True)
class FunctionInfo:
    """What the service knows of a function, without its code. `lang` is the language's
    name as the service gives it; `version` goes up by one per update."""

    lang: str
    status: FunctionStatus
    created_at: str
    updated_at: str
    version: int
    description: str | None = None
    raw: Json = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_json(cls, data: Json) -> FunctionInfo:
        return cls(**_info_fields(object_of(data, "the function's info")))

    def to_json(self) -> dict[str, Any]:
        """The info as the service sent it."""
        return dict(self.raw)


@dataclass(frozen=True, kw_only=True)
class FunctionDetail(FunctionInfo):
    """FunctionInfo plus the code and the dependencies (one space-separated string)."""

    code: str
    dependencies: str | None = None

    @classmethod
    def from_json(cls, data: Json) -> FunctionDetail:
        data = object_of(data, "the function's detail")
        return cls(**_info_fields(data), code=get(data, "code", str),
                   dependencies=get(data, "dependencies", str, None))


@dataclass(frozen=True, kw_only=True)
class FunctionListItem:
    """One function of the list: its name and info."""

    name: str
    info: FunctionInfo

    @classmethod
    def from_json(cls, data: Json) -> FunctionListItem:
        data = object_of(data, "a list item")
        return cls(name=get(data, "name", str),
                   info=FunctionInfo.from_json(get(data, "info", Mapping)))

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "info": self.info.to_json()}
