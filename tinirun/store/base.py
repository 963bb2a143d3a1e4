"""The store interface every back end honours, and the record it keeps per function."""

from __future__ import annotations

import builtins
from dataclasses import dataclass, field
from typing import Protocol

from tinirun.function_models import FunctionStatus


@dataclass
class FunctionRecord:
    """One function as stored: `status` is typed (stored as the contract's JSON object, e.g.
    {"type": "ready", "tag": ..., "id": ...}); times are RFC 3339 strings in UTC."""

    name: str
    lang: str
    code: str
    status: FunctionStatus
    created_at: str
    updated_at: str
    version: int = 0
    description: str | None = None
    dependencies: list[str] = field(default_factory=list)


class Store(Protocol):
    """Async store of function records.

    Every method raises StoreUnavailableError when the back end cannot be reached, and the
    store recovers by itself when it can be reached again.
    """

    async def ping(self) -> None:
        """Succeeds when the back end answers."""

    async def create(self, record: FunctionRecord) -> None:
        """Store a new record; FunctionExistsError when the name is taken (atomic)."""

    async def get(self, name: str) -> FunctionRecord | None:
        """The record called `name`, or None."""

    async def list(self, offset: int = 0, limit: int | None = None) -> list[FunctionRecord]:
        """Records ordered by name, from `offset`, at most `limit` (None: all)."""

    async def count(self) -> int:
        """How many records there are."""

    async def update_code(
        self, name: str, code: str, description: str | None, dependencies: builtins.list[str],
        updated_at: str, status: FunctionStatus,
    ) -> FunctionRecord:
        """Atomically replace code, description and dependencies, add 1 to version and set
        `status` and `updated_at`; return the new record. NotFoundError when missing."""

    async def set_status(
        self, name: str, status: FunctionStatus, version: int | None = None
    ) -> bool:
        """Set the status; when `version` is given, only if the stored version is still that
        one (a build of an older version must not overwrite a newer one). True if applied;
        False when the version differs or there is no such record (no NotFoundError)."""

    async def delete(self, name: str) -> bool:
        """Remove the record; False when there was none."""

    async def close(self) -> None:
        """Release connections."""
