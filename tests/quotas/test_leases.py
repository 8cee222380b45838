"""Leases: the hot path makes no round trip per request; leases shrink near the limit, are given back
when idle or closing, and a dead instance's leases (with its holds) expire on their own."""

from __future__ import annotations

import asyncio
import time

import pytest

from switchyard.catalog.pricing import Pricing
from switchyard.quotas import QuotaConfig, QuotaExceeded, QuotaService
from tests.quotas.conftest import REDIS_URL, Clock, Rec, principal, route, unique

CHEAP = [Pricing(input=1.0, output=1.0)]  # $0.0002 per request of route()


def die(q) -> None:
    """The instance stops dead: it never syncs again (its close() later finds nothing to give back)."""
    q.syncer.scopes.clear()
    q.syncer.dirty.clear()


async def budget_state(q, p) -> dict[str, float]:
    s = q._scopes(p, q.clock())[0]
    if hasattr(q.backend, "hashes"):
        return dict(q.backend.hashes.get(s.keys[1], {}))
    raw = await q.backend.redis.hgetall(s.keys[1])
    return {k.decode(): float(v) for k, v in raw.items()}


async def test_hot_path_has_no_round_trip_per_request(make_quotas):
    p = principal(unique(), budget_usd=1000.0, rpm=1_000_000, tpm=100_000_000)
    lease = make_quotas(batch_interval_ms=10_000, batch_size=10_000, lease_max_requests=1000,
                        lease_max_tokens=1_000_000, lease_max_usd=10.0)
    await lease.start()
    for _ in range(2000):
        lease.submit(Rec(await lease.admit(p, route(), CHEAP, None), 0.0001, tokens=150))
    assert lease.syncer.syncs <= 20, lease.syncer.syncs  # a few lease refills, not 2000 round trips
    naive = make_quotas(lease_fraction=0.0, batch_size=1)
    await naive.start()
    p2 = principal(unique(), budget_usd=1000.0, rpm=1_000_000, tpm=100_000_000)
    for _ in range(200):
        naive.submit(Rec(await naive.admit(p2, route(), CHEAP, None), 0.0001, tokens=150))
    assert naive.syncer.syncs >= 200  # per-request reserve: at least one round trip each


async def test_lease_shrinks_as_the_budget_nears_its_limit(make_quotas):
    clock = Clock()
    q = make_quotas(clock, lease_fraction=0.5, lease_max_usd=100.0)
    p = principal(unique(), budget_usd=10.0)
    s = None
    for i in range(40):
        res = await q.admit(p, route(), CHEAP, None)
        s = res.parts[0][0]
        q.submit(Rec(res, 0.2, tokens=100))
        await q.syncer.run_once()
        state = await budget_state(q, p)
        left = 10.0 - state["spent"]
        assert s.u_free <= 0.5 * left + 1e-9  # the lease is at most half of what is left
        assert state["spent"] + state["reserved"] <= 10.0 + 1e-9
        if left < 0.2:
            break
    with pytest.raises(QuotaExceeded):
        for _ in range(100):
            q.submit(Rec(await q.admit(p, route(), CHEAP, None), 0.2, tokens=100))
    await q.syncer.run_once()
    assert (await budget_state(q, p))["spent"] <= 10.0 + 1e-9


async def test_idle_instances_and_close_give_leases_back(make_quotas):
    clock = Clock()
    q = make_quotas(clock)
    p = principal(unique(), budget_usd=100.0, rpm=1000)
    for _ in range(3):
        q.submit(Rec(await q.admit(p, route(), CHEAP, None), 0.5, tokens=100))
    await q.syncer.run_once()
    assert (await budget_state(q, p))["reserved"] > 0  # this instance holds a lease
    clock.advance(q.cfg.idle_release_s + 1)
    await q.syncer.run_once(final=False)
    q.syncer._last_scan = 0
    await q.syncer.run_once()
    state = await budget_state(q, p)
    assert state["reserved"] == 0 and state["spent"] == pytest.approx(1.5)
    held = await q.admit(p, route(), CHEAP, None)
    await q.close()  # the hold of the request in flight stays (until its TTL); the rest goes back
    state = await budget_state(q, p)
    assert state["reserved"] == pytest.approx(held.est_usd)


async def test_dead_instance_reservations_expire(make_quotas):
    clock = Clock()
    a, b = make_quotas(clock, lease_ttl_s=30.0), make_quotas(clock, lease_ttl_s=30.0)
    p = principal(unique(), budget_usd=1.0)
    for _ in range(4):  # $0.8 held by a, never settled
        await a.admit(p, route(), [Pricing(input=1000.0, output=1000.0)], None)
    die(a)  # no more syncs, nothing given back
    await b.admit(p, route(), [Pricing(input=1000.0, output=1000.0)], None)  # the last $0.2
    with pytest.raises(QuotaExceeded) as err:
        await b.admit(p, route(), [Pricing(input=1000.0, output=1000.0)], None)
    assert err.value.status == 402 and err.value.retry_after == 1.0
    clock.advance(31)  # a's lease expired: its $0.8 of holds are free again
    for _ in range(4):
        await b.admit(p, route(), [Pricing(input=1000.0, output=1000.0)], None)
    with pytest.raises(QuotaExceeded):
        await b.admit(p, route(), [Pricing(input=1000.0, output=1000.0)], None)


async def test_dead_instance_reservations_expire_in_real_time(redis_prefix):
    """Redis TIME: the real clock of the real server."""
    cfg = QuotaConfig(key_prefix=redis_prefix, lease_ttl_s=1.0)
    a, b = QuotaService(cfg, redis_url=REDIS_URL), QuotaService(cfg, redis_url=REDIS_URL)
    price = [Pricing(input=1000.0, output=1000.0)]
    p = principal(unique(), budget_usd=0.4, budget_period="total")
    await a.admit(p, route(), price, None)
    await a.admit(p, route(), price, None)
    die(a)  # dies holding all of it
    with pytest.raises(QuotaExceeded):
        await b.admit(p, route(), price, None)
    deadline = time.monotonic() + 30
    while True:
        try:
            await b.admit(p, route(), price, None)
            break
        except QuotaExceeded:
            assert time.monotonic() < deadline, "the dead instance's lease never expired"
            await asyncio.sleep(0.2)
    await a.backend.close()
    await b.close()
