"""Fixtures for the usage tests: real SQLite files and the real PostgreSQL ``test`` database (a unique
schema per test, dropped afterwards), a TCP proxy in front of PostgreSQL that a test can cut and
restore (the database going away and coming back), and record builders."""

from __future__ import annotations

import asyncio
import os
import secrets
from collections.abc import AsyncIterator, Callable
from typing import Any

import asyncpg
import pytest

from switchyard.accounts.principal import Principal
from switchyard.canonical import Usage
from switchyard.telemetry.record import Attempt, GenerationRecord
from switchyard.usage import UsageConfig, UsageWriter

PG_DSN = os.environ.get("SWITCHYARD_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")


def record(i: int = 0, *, key: str | None = "key-a", project: str | None = "proj", user: str | None = "u1",
           tags: list[str] | None = None, model: str = "acme/chat", provider: str | None = "openai",
           cost: float | None = 0.001, created_at: float | None = None, status: int = 200,
           stream: bool = False) -> GenerationRecord:
    rec = GenerationRecord(model, stream)
    rec.principal = Principal(key_id=key, project=project)
    rec.user, rec.tags = user, list(tags or [])
    rec.model, rec.provider, rec.provider_model_id = model, provider, f"{provider}-{model}"
    if created_at is not None:
        rec.created_at = created_at
    rec.attempts = [Attempt(provider or "p", model, "pm", 1_700_000_000_000.0, 1_700_000_000_500.0,
                            success=status == 200, status=status)]
    rec.usage = Usage(10 + i, 5 + i, 2, 1, 1) if status == 200 else None
    rec.cost = cost if status == 200 else None
    rec.status = status
    rec.error = None if status == 200 else "upstream failed"
    rec.finish_reason = "stop" if status == 200 else None
    rec.first_token_at = rec.started + 0.012
    rec.ended = rec.started + 0.25
    return rec


@pytest.fixture(params=["sqlite", "postgres"])
async def database(request: pytest.FixtureRequest, tmp_path: Any) -> AsyncIterator[tuple[str, str | None]]:
    """(database URL, schema) of a fresh usage database."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path}/usage.sqlite3", None
        return
    schema = "sy_usage_" + secrets.token_hex(6)
    yield PG_DSN, schema
    conn = await asyncpg.connect(PG_DSN)
    try:
        await conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    finally:
        await conn.close()


Factory = Callable[..., UsageWriter]


@pytest.fixture
async def make_writer(database: tuple[str, str | None], tmp_path: Any) -> AsyncIterator[Factory]:
    made: list[UsageWriter] = []

    def make(**overrides: Any) -> UsageWriter:
        url, schema = database
        settings: dict[str, Any] = {"database": url, "schema": schema, "spill_path": f"{tmp_path}/spill.jsonl",
                                    "flush_interval_ms": 20}
        settings.update(overrides)
        w = UsageWriter(UsageConfig(**settings))
        made.append(w)
        return w

    yield make
    for w in made:
        if not w._closed:
            await w.close()


class Proxy:
    """A TCP proxy on a free high port to PostgreSQL; ``cut()`` drops it (and every connection)."""

    def __init__(self, target: tuple[str, int] = ("127.0.0.1", 5432)) -> None:
        self.target = target
        self.port = 0
        self.server: asyncio.base_events.Server | None = None
        self.conns: set[asyncio.StreamWriter] = set()

    async def start(self) -> None:
        self.server = await asyncio.start_server(self._handle, "127.0.0.1", self.port)
        self.port = self.server.sockets[0].getsockname()[1]

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_r, up_w = await asyncio.open_connection(*self.target)
        except OSError:
            writer.close()
            return
        self.conns |= {writer, up_w}

        async def pipe(r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
            try:
                while data := await r.read(65536):
                    w.write(data)
                    await w.drain()
            except (OSError, asyncio.IncompleteReadError):
                pass
            finally:
                w.close()

        await asyncio.gather(pipe(reader, up_w), pipe(up_r, writer))
        self.conns -= {writer, up_w}

    async def cut(self) -> None:
        assert self.server is not None
        self.server.close()
        for w in list(self.conns):
            w.transport.abort()
        await self.server.wait_closed()
        self.server = None

    @property
    def dsn(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/test"


@pytest.fixture
async def pg_proxy() -> AsyncIterator[Proxy]:
    proxy = Proxy()
    await proxy.start()
    yield proxy
    if proxy.server is not None:
        await proxy.cut()
