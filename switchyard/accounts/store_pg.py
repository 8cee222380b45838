"""The shared store: PostgreSQL through an asyncpg pool. Several gateway instances share it; each
keeps its own in-memory cache (accounts.cache) refreshed from ``keys_changed_since``."""

from __future__ import annotations

import asyncio
import re
from typing import Any

import asyncpg

from switchyard.accounts.config import redact_url
from switchyard.accounts.keys import KeyRecord, ProjectRecord
from switchyard.accounts.store import (
    SQL,
    key_from_row,
    key_row,
    key_update_args,
    project_from_row,
    project_row,
)


def _numbered(sql: str) -> str:
    """``?`` placeholders to ``$1, $2, ...`` (the statements contain no literal question marks)."""
    n = 0

    def sub(_: re.Match[str]) -> str:
        nonlocal n
        n += 1
        return f"${n}"
    return re.sub(r"\?", sub, sql)


class PostgresStore:
    def __init__(self, dsn: str, schema: str | None = None, prefix: str = "sy_",
                 min_size: int = 1, max_size: int = 4) -> None:
        self._dsn = dsn
        self.schema = schema
        sql = SQL(schema, prefix)
        self.sql = sql
        self._q = {name: _numbered(v) for name, v in vars(sql).items() if isinstance(v, str)}
        self._sizes = (min_size, max_size)
        self._pool: asyncpg.Pool | None = None
        self._init_lock = asyncio.Lock()

    def __repr__(self) -> str:
        return f"PostgresStore({redact_url(self._dsn)!r}, schema={self.schema!r})"

    async def init(self) -> None:
        async with self._init_lock:
            if self._pool is None:
                pool = await asyncpg.create_pool(self._dsn, min_size=self._sizes[0], max_size=self._sizes[1])
                try:
                    await self._create_tables(pool)
                except BaseException:
                    await pool.close()
                    raise
                self._pool = pool

    async def _create_tables(self, pool: asyncpg.Pool) -> None:
        async with pool.acquire() as conn, conn.transaction():
            # Several instances may start at once: one creates the tables, the others wait.
            await conn.execute("SELECT pg_advisory_xact_lock(hashtext('switchyard.accounts'))")
            if self.schema:
                await conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{self.schema}"')
            for stmt in self.sql.create:
                await conn.execute(stmt)

    async def close(self) -> None:
        if self._pool is not None:
            pool, self._pool = self._pool, None
            await pool.close()

    @property
    def pool(self) -> asyncpg.Pool:
        if self._pool is None:
            raise RuntimeError("the store is not open (call init())")
        return self._pool

    async def _all(self, name: str, *args: Any) -> list[Any]:
        return await self.pool.fetch(self._q[name], *args)

    async def _one(self, name: str, *args: Any) -> Any:
        return await self.pool.fetchrow(self._q[name], *args)

    async def insert_key(self, rec: KeyRecord) -> None:
        await self.pool.execute(self._q["insert_key"], *key_row(rec))

    async def update_key(self, rec: KeyRecord) -> bool:
        return await self.pool.execute(self._q["update_key"], *key_update_args(rec)) == "UPDATE 1"

    async def get_key(self, key_id: str) -> KeyRecord | None:
        row = await self._one("get_key", key_id)
        return None if row is None else key_from_row(row)

    async def get_key_by_hash(self, key_hash: str) -> KeyRecord | None:
        row = await self._one("get_key_by_hash", key_hash)
        return None if row is None else key_from_row(row)

    async def list_keys(self, created_by: str | None = None) -> list[KeyRecord]:
        rows = await (self._all("list_keys") if created_by is None else self._all("list_keys_by", created_by))
        return [key_from_row(r) for r in rows]

    async def keys_changed_since(self, ts: float) -> list[KeyRecord]:
        return [key_from_row(r) for r in await self._all("keys_since", ts)]

    async def revoke_key(self, key_id: str, now: float) -> list[str]:
        return [r[0] for r in await self._all("revoke", key_id, now, now)]

    async def put_project(self, project: ProjectRecord) -> None:
        await self.pool.execute(self._q["put_project"], *project_row(project))

    async def get_project(self, name: str) -> ProjectRecord | None:
        row = await self._one("get_project", name)
        return None if row is None else project_from_row(row)

    async def list_projects(self) -> list[ProjectRecord]:
        return [project_from_row(r) for r in await self._all("list_projects")]

    async def projects_changed_since(self, ts: float) -> list[ProjectRecord]:
        return [project_from_row(r) for r in await self._all("projects_since", ts)]
