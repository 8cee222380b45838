"""Health shared through the real Redis on 127.0.0.1:6379: one instance's failures steer another."""

from __future__ import annotations

import os

import pytest
import redis.asyncio as aioredis

from switchyard.catalog import Offering, Pricing
from switchyard.health.registry import ProviderHealth
from switchyard.health.shared import SharedHealth


def offering(provider: str) -> Offering:
    return Offering(provider, "m", 1000, 100, frozenset(), Pricing())


@pytest.fixture
async def redis_client():
    client = aioredis.from_url("redis://127.0.0.1:6379/0")
    try:
        await client.ping()
    except Exception as exc:  # pragma: no cover - the machine runs Redis; say so plainly if not
        pytest.fail(f"Redis at 127.0.0.1:6379 is required: {exc}")
    yield client
    await client.aclose()


async def test_failure_seen_by_one_instance_steers_another(redis_client):
    region = f"test-{os.urandom(4).hex()}"
    a_health, b_health = ProviderHealth(), ProviderHealth()
    a = SharedHealth(a_health, redis_client, "instance-a", region)
    b = SharedHealth(b_health, redis_client, "instance-b", region)
    try:
        for _ in range(3):
            a_health.begin("p1", "m")
            a_health.end("p1", "m", category="server_error", latency=0.1)
        offers = [offering("p1"), offering("p2")]
        assert [o.provider for o in b_health.rank(offers, None)] == ["p1", "p2"]  # b has seen nothing
        await a.sync()
        await b.sync()
        assert b_health.remote[("p1", "m")][0] < 0.75
        assert [o.provider for o in b_health.rank(offers, None)] == ["p2", "p1"]
        assert ("p1", "m") not in a_health.remote  # an instance does not count its own view twice
    finally:
        await a.stop()
        await b.stop()
        await redis_client.delete(f"switchyard:{region}:health")


async def test_stale_views_are_ignored_and_removed(redis_client):
    region = f"test-{os.urandom(4).hex()}"
    key = f"switchyard:{region}:health"
    await redis_client.hset(key, "dead-instance", b'{"ts": 1, "view": {"p1\\u001fm": [0.0, null, null]}}')
    health = ProviderHealth()
    shared = SharedHealth(health, redis_client, "live", region, stale_after=5)
    try:
        await shared.sync()
        assert health.remote == {}
        assert not await redis_client.hexists(key, "dead-instance")
    finally:
        await shared.stop()
        await redis_client.delete(key)
