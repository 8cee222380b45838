"""Redis killed (SIGKILL) and restarted mid-load: a private redis-server on a free high port (AOF,
fsync always), never the shared one. No crash, and Redis ends with exactly the spend that was
settled: nothing lost while it was down, nothing counted twice by retries whose answers were lost."""

from __future__ import annotations

import asyncio
import random
import time

import pytest
import redis.asyncio as aioredis

from switchyard.catalog.pricing import Pricing
from switchyard.quotas import QuotaConfig, QuotaExceeded, QuotaService
from tests.quotas.conftest import Rec, principal, route, unique

PRICE = [Pricing(input=1.0, output=1.0)]  # $0.0002 reserved per request


async def wait_until(cond, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.02)


async def spent_in_redis(url: str, prefix: str, key: str) -> float:
    client = aioredis.from_url(url)
    try:
        raw = await client.hget(f"{prefix}:b:{{k:{key}}}:all", "spent")
    finally:
        await client.aclose()
    return float(raw or 0)


@pytest.mark.parametrize("policy", ["fail_open", "fail_closed"])
async def test_restart_mid_load_loses_no_spend(own_redis, policy):
    cfg = QuotaConfig(key_prefix="rt", batch_interval_ms=20, batch_size=50, redis_timeout_s=0.5,
                      on_redis_error=policy, lease_max_usd=0.05)
    q = QuotaService(cfg, redis_url=own_redis.url)
    await q.start()
    key = unique()
    p = principal(key, budget_usd=1_000_000.0, budget_period="total", rpm=10_000_000)
    rng = random.Random(7)
    tally = {"charged": 0.0, "admitted": 0, "unavailable": 0, "other": 0, "admitted_while_down": 0}
    stop = False

    async def load() -> None:
        while not stop:
            try:
                res = await q.admit(p, route(), PRICE, None)
            except QuotaExceeded as e:
                tally["unavailable" if e.status == 503 else "other"] += 1
                await asyncio.sleep(0.005)
                continue
            tally["admitted"] += 1
            tally["admitted_while_down"] += q.syncer.down
            await asyncio.sleep(rng.uniform(0, 0.003))
            cost = res.est_usd * rng.uniform(0.2, 1.5)
            tally["charged"] += cost
            q.submit(Rec(res, cost, tokens=120))

    tasks = [asyncio.create_task(load()) for _ in range(8)]
    try:
        await asyncio.sleep(0.8)
        before = tally["admitted"]
        own_redis.kill()
        await wait_until(lambda: q.syncer.down)
        await asyncio.sleep(1.0)  # the load goes on against a dead Redis
        during = tally["admitted"] - before
        own_redis.start()  # the same AOF: everything it acknowledged is back
        await wait_until(lambda: not q.syncer.down)
        after = tally["admitted"]
        await asyncio.sleep(0.8)
        assert tally["admitted"] > after  # and it goes on after
    finally:
        stop = True
        await asyncio.gather(*tasks)  # no task died of anything but what it caught
    await q.close()
    assert tally["other"] == 0 and before > 0
    if policy == "fail_open":
        assert during > 0 and tally["unavailable"] == 0  # kept admitting on local accounting
    else:
        assert tally["unavailable"] > 0  # beyond the lease it held: 503
    assert await spent_in_redis(own_redis.url, "rt", key) == pytest.approx(tally["charged"], rel=1e-9, abs=1e-12)
