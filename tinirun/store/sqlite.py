"""The embedded back end: one SQLite file (`functions.sqlite3`) in the data directory."""

from __future__ import annotations

import asyncio
import builtins
import json
import sqlite3
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiosqlite

from tinirun.errors import FunctionExistsError, NotFoundError, StoreUnavailableError
from tinirun.function_models import FunctionStatus, dump_status, load_status
from tinirun.store.base import FunctionRecord

DB_FILENAME = "functions.sqlite3"
# How long a statement waits for another process's lock before failing.
BUSY_TIMEOUT_MS = 5000

_SCHEMA = """
CREATE TABLE IF NOT EXISTS functions (
    name         TEXT PRIMARY KEY,
    lang         TEXT NOT NULL,
    code         TEXT NOT NULL,
    description  TEXT,
    dependencies TEXT NOT NULL,  -- JSON list
    status       TEXT NOT NULL,  -- JSON object
    created_at   TEXT NOT NULL,
    updated_at   TEXT NOT NULL,
    version      INTEGER NOT NULL
) WITHOUT ROWID
"""
_COLUMNS = "name, lang, code, description, dependencies, status, created_at, updated_at, version"
_SELECT = f"SELECT {_COLUMNS} FROM functions"


def _decode(row: Iterable[Any]) -> FunctionRecord:
    name, lang, code, description, dependencies, status, created, updated, version = row
    return FunctionRecord(
        name=name, lang=lang, code=code, status=load_status(status), created_at=created,
        updated_at=updated, version=int(version), description=description,
        dependencies=json.loads(dependencies),
    )


async def _connect(path: Path) -> aiosqlite.Connection:
    # isolation_level=None: autocommit, so transactions are exactly the BEGINs written here.
    conn = await aiosqlite.connect(path, isolation_level=None)
    try:
        await conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        await conn.execute("PRAGMA journal_mode = WAL")
    except BaseException:
        await conn.close()
        raise
    return conn


class SqliteStore:
    """Function records in a SQLite file. One writer connection behind a lock (SQLite allows
    one writer at a time anyway) and one reader connection, which WAL lets run alongside."""

    def __init__(self, path: Path, writer: aiosqlite.Connection,
                 reader: aiosqlite.Connection) -> None:
        self.path = path
        self._writer = writer
        self._reader = reader
        self._write_lock = asyncio.Lock()

    @classmethod
    async def open(cls, data_dir: Path) -> SqliteStore:
        """Open (creating the directory, file and schema if needed) `data_dir`/functions.sqlite3."""
        path = data_dir / DB_FILENAME
        try:
            await asyncio.to_thread(data_dir.mkdir, parents=True, exist_ok=True)
            writer = await _connect(path)
        except (sqlite3.OperationalError, OSError) as exc:
            raise StoreUnavailableError(
                f"Function store unavailable: cannot open {path}: {exc}"
            ) from exc
        try:
            await writer.execute(_SCHEMA)
            reader = await _connect(path)
        except BaseException as exc:
            await writer.close()
            if isinstance(exc, sqlite3.OperationalError | OSError):
                raise StoreUnavailableError(
                    f"Function store unavailable: cannot open {path}: {exc}"
                ) from exc
            raise
        return cls(path, writer, reader)

    @asynccontextmanager
    async def _guard(self) -> AsyncIterator[None]:
        """Turn a database that cannot be used (locked, disk error, unreadable) into
        StoreUnavailableError."""
        try:
            yield
        except (sqlite3.OperationalError, OSError) as exc:
            raise StoreUnavailableError(
                f"Function store unavailable: SQLite database {self.path}: {exc}"
            ) from exc

    @asynccontextmanager
    async def _transaction(self) -> AsyncIterator[aiosqlite.Connection]:
        """A write transaction holding SQLite's write lock from its start (BEGIN IMMEDIATE),
        so a read-then-write inside it cannot interleave with another writer."""
        async with self._write_lock, self._guard():
            await self._writer.execute("BEGIN IMMEDIATE")
            try:
                yield self._writer
            except BaseException:
                # Some errors (disk full, I/O) make SQLite roll back by itself already.
                if self._writer.in_transaction:
                    await self._writer.execute("ROLLBACK")
                raise
            await self._writer.execute("COMMIT")

    async def ping(self) -> None:
        async with self._guard():
            await self._reader.execute_fetchall("SELECT 1")

    async def create(self, record: FunctionRecord) -> None:
        try:
            async with self._transaction() as db:
                await db.execute(
                    f"INSERT INTO functions ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (record.name, record.lang, record.code, record.description,
                     json.dumps(record.dependencies), dump_status(record.status),
                     record.created_at, record.updated_at, record.version),
                )
        except sqlite3.IntegrityError as exc:
            raise FunctionExistsError("Function already exists") from exc

    async def get(self, name: str) -> FunctionRecord | None:
        async with self._guard():
            rows = await self._reader.execute_fetchall(f"{_SELECT} WHERE name = ?", (name,))
        return next((_decode(row) for row in rows), None)

    async def list(self, offset: int = 0, limit: int | None = None) -> list[FunctionRecord]:
        # LIMIT -1 is SQLite's "no limit".
        params = (-1 if limit is None else max(limit, 0), max(offset, 0))
        async with self._guard():
            rows = await self._reader.execute_fetchall(
                f"{_SELECT} ORDER BY name LIMIT ? OFFSET ?", params
            )
        return [_decode(row) for row in rows]

    async def count(self) -> int:
        async with self._guard():
            rows = list(await self._reader.execute_fetchall("SELECT COUNT(*) FROM functions"))
        return int(rows[0][0])

    async def update_code(
        self, name: str, code: str, description: str | None, dependencies: builtins.list[str],
        updated_at: str, status: FunctionStatus,
    ) -> FunctionRecord:
        async with self._transaction() as db:
            rows = list(await db.execute_fetchall(
                "UPDATE functions SET code = ?, description = ?, dependencies = ?, status = ?,"
                f" updated_at = ?, version = version + 1 WHERE name = ? RETURNING {_COLUMNS}",
                (code, description, json.dumps(dependencies), dump_status(status), updated_at,
                 name),
            ))
        if not rows:
            raise NotFoundError("Not Found")
        return _decode(rows[0])

    async def set_status(
        self, name: str, status: FunctionStatus, version: int | None = None
    ) -> bool:
        async with self._transaction() as db:
            cursor = await db.execute(
                "UPDATE functions SET status = ? WHERE name = ? AND (? IS NULL OR version = ?)",
                (dump_status(status), name, version, version),
            )
            applied = cursor.rowcount > 0
            await cursor.close()
        return applied

    async def delete(self, name: str) -> bool:
        async with self._transaction() as db:
            cursor = await db.execute("DELETE FROM functions WHERE name = ?", (name,))
            deleted = cursor.rowcount > 0
            await cursor.close()
        return deleted

    async def close(self) -> None:
        # The lock lets a running write finish before its connection goes.
        async with self._write_lock:
            await self._writer.close()
        await self._reader.close()
