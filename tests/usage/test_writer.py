"""Usage rows on the real SQLite and PostgreSQL: survive a graceful shutdown, are found before they are
written, are never lost while the database is away (queue, retry, spill, replay)."""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import time

import asyncpg
import pytest

from switchyard.telemetry.generation_json import generation_json
from switchyard.telemetry.store import SinkChain
from switchyard.usage import UsageConfig, UsageWriter, generation
from switchyard.usage.stores import PostgresStore
from tests.usage.conftest import PG_DSN, record


async def wait_until(cond, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.02)


async def test_records_survive_graceful_shutdown(make_writer):
    w = make_writer(flush_interval_ms=60_000, batch_size=10_000)  # nothing is written before close
    await w.start()
    recs = [record(i, tags=["a", "b"] if i % 2 else [], stream=bool(i % 2)) for i in range(25)]
    recs.append(record(99, status=502, key=None, project=None, user=None))
    chain = SinkChain(w)
    for rec in recs:
        chain.submit(rec)
    await w.close()  # awaits the flush
    assert w.written == len(recs) and w.spilled == 0

    again = make_writer()
    await again.start()
    for rec in recs:
        row = await again.get(rec.id)
        assert row is not None
        assert (row["key_id"], row["project"], row["user_id"], row["tags"]) == \
            (getattr(rec.principal, "key_id", None), rec.principal.project, rec.user, rec.tags)
        assert (row["requested_model"], row["model"], row["provider"], row["status"], row["stream"]) == \
            (rec.requested_model, rec.model, rec.provider, rec.status, rec.stream)
        assert row["cost"] == rec.cost and row["created_at"] == pytest.approx(rec.created_at)
        u = rec.usage
        assert (row["input_tokens"], row["output_tokens"], row["cached_tokens"], row["cache_write_tokens"],
                row["reasoning_tokens"]) == ((u.input_tokens, u.output_tokens, u.cache_read_tokens,
                                              u.cache_write_tokens, u.reasoning_tokens) if u else (0, 0, 0, 0, 0))
        assert row["latency_ms"] == pytest.approx(250, abs=0.01) and row["ttft_ms"] == pytest.approx(12, abs=0.01)
        assert row["attempts"][0]["status"] == rec.attempts[0].status
        # GET /v1/generation for a record no longer in memory: the same body as from memory
        rebuilt = await generation(again, rec.id)
        assert json.loads(generation_json(rebuilt)) == json.loads(generation_json(rec))
    assert await again.get("gen_unknown") is None


async def test_queued_rows_are_found_before_they_are_written(make_writer):
    w = make_writer(flush_interval_ms=60_000, batch_size=10_000)
    await w.start()
    rec = record()
    w.submit(rec)
    assert w.written == 0 and (await w.get(rec.id))["id"] == rec.id
    await w.flush()
    assert w.written == 1 and (await w.get(rec.id))["id"] == rec.id


async def test_database_unreachable_spills_and_a_later_start_replays(make_writer, tmp_path):
    spill = f"{tmp_path}/spill.jsonl"
    dead = UsageWriter(UsageConfig(database="postgresql://postgres@127.0.0.1:9/test", spill_path=spill,
                                   max_queue=5, batch_size=2, flush_interval_ms=10, close_timeout_s=0.3))
    await dead.start()  # cannot connect: logged, rows queue
    recs = [record(i) for i in range(12)]
    for rec in recs:
        dead.submit(rec)  # the 6th and later go straight to the spill file (queue full)
    assert dead.spilled == 7
    await dead.close()  # the queued 5 cannot be written either: spilled too
    assert dead.spilled == 12 and dead.written == 0
    late = record(50)
    dead.submit(late)  # after close: spilled, not dropped
    with open(spill, "rb") as f:  # noqa: ASYNC230 - a test reading a small file
        assert len(f.read().splitlines()) == 13

    w = make_writer(spill_path=spill)
    await w.start()
    await wait_until(lambda: w.replayed == 13)
    for rec in [*recs, late]:
        assert (await w.get(rec.id))["id"] == rec.id
    assert not [n for n in os.listdir(tmp_path) if n.startswith("spill")]


async def test_database_going_away_and_back_loses_nothing(pg_proxy, tmp_path):
    schema = "sy_usage_" + secrets.token_hex(6)
    store = PostgresStore(pg_proxy.dsn, schema)
    w = UsageWriter(UsageConfig(spill_path=f"{tmp_path}/spill.jsonl", batch_size=20, flush_interval_ms=10,
                                max_queue=1000), store=store)
    try:
        await w.start()
        first = [record(i) for i in range(50)]
        for rec in first:
            w.submit(rec)
        await wait_until(lambda: w.written == 50)
        await pg_proxy.cut()  # the database goes away mid-run
        second = [record(i) for i in range(300)]
        for rec in second:
            w.submit(rec)
            await asyncio.sleep(0)
        await wait_until(lambda: w.failures > 0)
        await asyncio.sleep(0.3)
        assert w.written < 350
        await pg_proxy.start()  # ... and comes back
        await wait_until(lambda: w.written == 350)
        await w.close()
        conn = await asyncpg.connect(PG_DSN)
        try:
            ids = {r[0] for r in await conn.fetch(f'SELECT id FROM "{schema}".sy_generations')}
        finally:
            await conn.close()
        assert ids == {r.id for r in first + second}
    finally:
        if not w._closed:
            await w.close()
        conn = await asyncpg.connect(PG_DSN)
        try:
            await conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        finally:
            await conn.close()


async def test_under_steady_load_only_full_batches_go_back_to_back(make_writer):
    """A partial batch waits for the next tick rather than following the last write at once: else each
    write would take only what arrived during the previous one (many tiny commits)."""
    w = make_writer(flush_interval_ms=60_000, batch_size=50)
    sizes: list[int] = []
    real_write = w.store.write

    async def write(rows):
        sizes.append(len(rows))
        for i in range(3 if len(sizes) <= 2 else 0):  # rows keep arriving while a batch is written
            w.submit(record(10_000 + len(sizes) * 10 + i))
        await real_write(rows)

    w.store.write = write
    await w.start()
    for i in range(120):
        w.submit(record(i))
    await wait_until(lambda: len(sizes) >= 2)
    await asyncio.sleep(0.2)
    # 120 queued: two full batches back to back; the remaining 20 + 6 arrivals wait for the tick
    assert sizes == [50, 50]
    assert len(w._q) == 26
    await w.close()
    assert w.written == 126 and sizes == [50, 50, 26]
