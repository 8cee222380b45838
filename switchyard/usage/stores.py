"""Where usage rows are written: SQLite (embedded default: stdlib ``sqlite3`` on one dedicated thread,
WAL mode) or PostgreSQL (an asyncpg pool, ``executemany`` in one transaction per batch)."""

from __future__ import annotations

import asyncio
import os
import sqlite3
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from switchyard.usage.query import numbered, report_rows, report_sql
from switchyard.usage.schema import COLUMNS, Tables, row_dict


def _tag_rows(rows: Sequence[Sequence[Any]]) -> list[tuple[str, str]]:
    import msgspec

    tags_at = COLUMNS.index("tags")
    return [(r[0], t) for r in rows for t in set(msgspec.json.decode(r[tags_at] or "[]"))]


class SQLiteStore:
    def __init__(self, path: str, prefix: str = "sy_") -> None:
        self.path = path
        self.tables = Tables(None, prefix)
        self._ex: ThreadPoolExecutor | None = None
        self._conn: sqlite3.Connection | None = None

    async def _run(self, fn: Any, *args: Any) -> Any:
        if self._ex is None:
            await self.open()
        assert self._ex is not None
        return await asyncio.get_running_loop().run_in_executor(self._ex, fn, *args)

    async def open(self) -> None:
        if self._ex is None:
            self._ex = ThreadPoolExecutor(1, thread_name_prefix="usage-sqlite")
            try:
                await asyncio.get_running_loop().run_in_executor(self._ex, self._open)
            except BaseException:
                self._ex.shutdown(wait=False)
                self._ex = None
                raise

    def _open(self) -> None:
        if self.path != ":memory:":
            os.makedirs(os.path.dirname(os.path.abspath(self.path)), exist_ok=True)
        conn = sqlite3.connect(self.path, check_same_thread=False, timeout=10.0)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        with conn:
            for stmt in self.tables.create:
                conn.execute(stmt)
        self._conn = conn

    async def write(self, rows: Sequence[Sequence[Any]]) -> None:
        await self._run(self._write, rows)

    def _write(self, rows: Sequence[Sequence[Any]]) -> None:
        assert self._conn is not None
        with self._conn:
            self._conn.executemany(self.tables.insert, rows)
            self._conn.executemany(self.tables.insert_tag, _tag_rows(rows))

    def _query(self, sql: str, args: Sequence[Any]) -> list[Any]:
        assert self._conn is not None
        return self._conn.execute(sql, args).fetchall()

    async def get(self, generation_id: str) -> dict[str, Any] | None:
        rows = await self._run(self._query, self.tables.get, (generation_id,))
        return row_dict(rows[0]) if rows else None

    async def report(self, start: Any, end: Any, group_by: str, filters: Mapping[str, Any] | None = None,
                     served_only: bool = True) -> list[dict[str, Any]]:
        sql, args = report_sql(self.tables, start, end, group_by, filters, served_only)
        raw = await self._run(self._query, sql, args)
        return report_rows(group_by, raw)

    async def close(self) -> None:
        if self._ex is not None:
            if self._conn is not None:
                await self._run(self._conn.close)
                self._conn = None
            self._ex.shutdown(wait=True)
            self._ex = None


class PostgresStore:
    def __init__(self, dsn: str, schema: str | None = None, prefix: str = "sy_", max_size: int = 4) -> None:
        self.dsn = dsn
        self.schema = schema
        self.tables = Tables(schema, prefix, postgres=True)
        self._insert = numbered(self.tables.insert)
        self._insert_tag = numbered(self.tables.insert_tag)
        self._max = max_size
        self._pool: Any = None

    def __repr__(self) -> str:  # never print a password
        import re

        dsn = re.sub(r"(://[^:/@]+):[^@/]*@", r"\1:***@", self.dsn)
        return f"PostgresStore({dsn!r}, schema={self.schema!r})"

    async def open(self) -> None:
        if self._pool is not None:
            return
        import asyncpg

        pool = await asyncpg.create_pool(self.dsn, min_size=1, max_size=self._max)
        try:
            async with pool.acquire() as conn, conn.transaction():
                await conn.execute("SELECT pg_advisory_xact_lock(hashtext('switchyard.usage'))")
                if self.schema:
                    await conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{self.schema}"')
                for stmt in self.tables.create:
                    await conn.execute(stmt)
        except BaseException:
            await pool.close()
            raise
        self._pool = pool

    async def write(self, rows: Sequence[Sequence[Any]]) -> None:
        if self._pool is None:
            await self.open()
        async with self._pool.acquire() as conn, conn.transaction():
            await conn.executemany(self._insert, rows)
            tags = _tag_rows(rows)
            if tags:
                await conn.executemany(self._insert_tag, tags)

    async def get(self, generation_id: str) -> dict[str, Any] | None:
        if self._pool is None:
            await self.open()
        row = await self._pool.fetchrow(numbered(self.tables.get), generation_id)
        return None if row is None else row_dict(tuple(row))

    async def report(self, start: Any, end: Any, group_by: str, filters: Mapping[str, Any] | None = None,
                     served_only: bool = True) -> list[dict[str, Any]]:
        if self._pool is None:
            await self.open()
        sql, args = report_sql(self.tables, start, end, group_by, filters, served_only)
        raw = await self._pool.fetch(numbered(sql), *args)
        return report_rows(group_by, [tuple(r) for r in raw])

    async def close(self) -> None:
        if self._pool is not None:
            pool, self._pool = self._pool, None
            await pool.close()


def open_store(database: str, schema: str | None = None, prefix: str = "sy_") -> SQLiteStore | PostgresStore:
    """``sqlite:///relative/or//absolute/path.sqlite3`` (or a bare path) or ``postgresql://…``."""
    if database.startswith(("postgres://", "postgresql://")):
        return PostgresStore(database, schema, prefix)
    path = database.removeprefix("sqlite:///")
    return SQLiteStore(path, prefix)
