"""The embedded store: one SQLite file, used from one dedicated thread so the event loop never
blocks on disk. WAL mode lets the CLI write while a gateway reads."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from switchyard.accounts.keys import KeyRecord, ProjectRecord
from switchyard.accounts.store import (
    SQL,
    key_from_row,
    key_row,
    key_update_args,
    project_from_row,
    project_row,
)
from switchyard.sqlite_files import open_database

T = TypeVar("T")


class SQLiteStore:
    def __init__(self, path: str, prefix: str = "sy_") -> None:
        self.path = path
        self.sql = SQL(None, prefix)
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="switchyard-accounts-sqlite")
        self._conn: sqlite3.Connection | None = None

    def __repr__(self) -> str:
        return f"SQLiteStore({self.path!r})"

    async def _run(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        def call() -> T:
            if self._conn is None:
                raise RuntimeError("the store is not open (call init())")
            return fn(self._conn)
        return await asyncio.get_running_loop().run_in_executor(self._pool, call)

    def _open(self) -> None:
        if self._conn is not None:
            return
        self._conn = open_database(self.path, self._setup, isolation_level=None)

    def _setup(self, conn: sqlite3.Connection) -> None:
        if self.path != ":memory:":
            conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        with conn:
            for stmt in self.sql.create:
                conn.execute(stmt)

    async def init(self) -> None:
        if self._conn is None:
            await asyncio.get_running_loop().run_in_executor(self._pool, self._open)

    async def close(self) -> None:
        if self._conn is not None:
            conn, self._conn = self._conn, None
            await asyncio.get_running_loop().run_in_executor(self._pool, conn.close)
        self._pool.shutdown(wait=False)

    async def _all(self, sql: str, args: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        return await self._run(lambda c: c.execute(sql, args).fetchall())

    async def _one(self, sql: str, args: tuple[Any, ...]) -> tuple[Any, ...] | None:
        return await self._run(lambda c: c.execute(sql, args).fetchone())

    async def insert_key(self, rec: KeyRecord) -> None:
        await self._run(lambda c: c.execute(self.sql.insert_key, key_row(rec)))

    async def update_key(self, rec: KeyRecord) -> bool:
        return await self._run(lambda c: c.execute(self.sql.update_key, key_update_args(rec)).rowcount) == 1

    async def get_key(self, key_id: str) -> KeyRecord | None:
        row = await self._one(self.sql.get_key, (key_id,))
        return None if row is None else key_from_row(row)

    async def get_key_by_hash(self, key_hash: str) -> KeyRecord | None:
        row = await self._one(self.sql.get_key_by_hash, (key_hash,))
        return None if row is None else key_from_row(row)

    async def list_keys(self, created_by: str | None = None) -> list[KeyRecord]:
        rows = await (self._all(self.sql.list_keys) if created_by is None
                      else self._all(self.sql.list_keys_by, (created_by,)))
        return [key_from_row(r) for r in rows]

    async def keys_changed_since(self, ts: float) -> list[KeyRecord]:
        return [key_from_row(r) for r in await self._all(self.sql.keys_since, (ts,))]

    async def revoke_key(self, key_id: str, now: float) -> list[str]:
        return [r[0] for r in await self._all(self.sql.revoke, (key_id, now, now))]

    async def put_project(self, project: ProjectRecord) -> None:
        await self._run(lambda c: c.execute(self.sql.put_project, project_row(project)))

    async def get_project(self, name: str) -> ProjectRecord | None:
        row = await self._one(self.sql.get_project, (name,))
        return None if row is None else project_from_row(row)

    async def list_projects(self) -> list[ProjectRecord]:
        return [project_from_row(r) for r in await self._all(self.sql.list_projects)]

    async def projects_changed_since(self, ts: float) -> list[ProjectRecord]:
        return [project_from_row(r) for r in await self._all(self.sql.projects_since, (ts,))]
