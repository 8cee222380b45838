"""Where usage rows are written: SQLite (embedded default: stdlib ``sqlite3`` on one dedicated thread,
WAL mode) or PostgreSQL (an asyncpg pool, ``executemany`` in one transaction per batch).

SQLite batches go in as multi-row ``INSERT ... VALUES (...), (...)`` statements rather than
``executemany``: the sqlite3 module releases and retakes the GIL around every
statement step, so one step per row made the writer thread and the event loop trade the GIL (two
futex calls and a context switch) for every row written. One statement per batch costs the loop
almost nothing."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from itertools import chain
from typing import Any

from switchyard.sqlite_files import open_database
from switchyard.usage.query import numbered, report_rows, report_sql
from switchyard.usage.schema import COLUMNS, Tables, row_dict

# sqlite3 binds int, float, str and bytearray as they are; anything else, None included, goes to the
# adapter registry and then to two attribute lookups (``__adapt__`` on the protocol type,
# ``__conform__`` on the value) that each raise and format an AttributeError before the value is
# bound as it was (CPython Modules/_sqlite/microprotocols.c). A usage row has several None columns, so
# that was several exceptions per row. A registered adapter ends the search at the registry;
# ``{}.get`` is a C callable that returns None for None, so NULL is still what gets bound.
sqlite3.register_adapter(type(None), {}.get)

MAX_ROWS_PER_INSERT = 1024  # x 28 columns: below SQLite's default bound of 32766 parameters


def multi_row(single: str, k: int) -> str:
    """``INSERT INTO t (a, b) VALUES (?, ?) ON CONFLICT ...`` -> the same for ``k`` rows."""
    head, _, rest = single.partition(" VALUES ")
    group, _, tail = rest.partition(")")
    return f"{head} VALUES {', '.join([group + ')'] * k)}{tail}"


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
        self._multi: dict[tuple[str, int], str] = {}

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
        self._conn = open_database(self.path, self._setup)

    def _setup(self, conn: sqlite3.Connection) -> None:
        # Larger pages: a batch of rows dirties fewer pages, so fewer WAL frames (pwrite calls) per
        # commit. Takes effect only on a new database (before WAL mode is set); old files keep theirs.
        conn.execute("PRAGMA page_size=16384")
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        # A multi-row INSERT keeps a statement journal (to undo a half-done statement): in memory,
        # not a temporary file created and deleted for every statement.
        conn.execute("PRAGMA temp_store=MEMORY")
        with conn:
            for stmt in self.tables.create:
                conn.execute(stmt)

    async def write(self, rows: Sequence[Sequence[Any]]) -> None:
        # The statements and their flat parameter lists are built here, on the event loop: the
        # writer thread then runs only C code (bind, step), so it takes the GIL a few times per
        # batch instead of contending with the loop for it all through the batch.
        statements = self._statements(self.tables.insert, rows)
        statements += self._statements(self.tables.insert_tag, _tag_rows(rows))
        await self._run(self._execute_all, statements)

    def _statements(self, single: str, rows: Sequence[Sequence[Any]]) -> list[tuple[str, list[Any]]]:
        """``single`` (one row's ``INSERT``) for all ``rows``: chunks of ``MAX_ROWS_PER_INSERT``, and the
        rest padded to a power of two with copies of its last row, which ``ON CONFLICT DO NOTHING``
        skips. So a batch is usually one statement, and there are only a dozen statement texts."""
        out = []
        for at in range(0, len(rows), MAX_ROWS_PER_INSERT):
            chunk = list(rows[at:at + MAX_ROWS_PER_INSERT])
            k = 1 << (len(chunk) - 1).bit_length()
            chunk += [chunk[-1]] * (k - len(chunk))
            sql = self._multi.get((single, k))
            if sql is None:
                sql = self._multi[(single, k)] = multi_row(single, k)
            out.append((sql, list(chain.from_iterable(chunk))))
        return out

    def _execute_all(self, statements: list[tuple[str, list[Any]]]) -> None:
        assert self._conn is not None
        with self._conn:  # one transaction per batch
            for sql, params in statements:
                self._conn.execute(sql, params)

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
