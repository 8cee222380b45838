"""Self-correcting routing, end to end: failing and slow providers lose traffic, recover, and hedging."""

from __future__ import annotations

import asyncio

import aiohttp
import pytest

from tests.e2e.test_openai_sdk import client, gateway_meta
from tests.gateway_harness import gateway, model


def two_compat(fake_a, fake_b, **timeouts):
    extra = {"timeouts": timeouts} if timeouts else {}
    return {"a": {"protocol": "openai-chat", "base_url": fake_a.base_url, "api_key": "sk-openai-secret", **extra},
            "b": {"protocol": "openai-chat", "base_url": fake_b.base_url, "api_key": "sk-openai2-secret", **extra}}


MODELS = {"acme/chat": model({"a": "m-a", "b": "m-b"})}


async def ask(c, **kw):
    return await c.chat.completions.create(model="acme/chat", messages=[{"role": "user", "content": "hi"}], **kw)


async def test_failing_provider_is_routed_around_and_comes_back(openai_fake, openai_fake2):
    openai_fake.fail(500)  # provider a fails every request
    health = {"breaker_threshold": 2, "breaker_cooldown": 0.5, "half_life": 0.3}
    async with gateway(two_compat(openai_fake, openai_fake2), MODELS, health=health) as gw:
        c = client(gw)
        for _ in range(10):
            r = await ask(c)
            assert gateway_meta(r)["routing"]["resolvedProvider"] == "b"
        sent_to_a = len(openai_fake.api_requests("/chat/completions"))
        assert sent_to_a <= 2  # the circuit opened after two failures: a bounded number of requests
        r = await ask(c)
        skipped = gateway_meta(r)["routing"].get("skipped", [])
        assert any(s["provider"] == "a" and "circuit open" in s["reason"] for s in skipped) or \
            gateway_meta(r)["routing"]["attempts"][0]["provider"] == "b"
        # Recovery: a works again; once its cooldown passes and its failures fade, it is used again.
        openai_fake.clear_failures()
        await asyncio.sleep(1.5)
        providers = [gateway_meta(await ask(c))["routing"]["resolvedProvider"] for _ in range(5)]
        assert "a" in providers
        async with aiohttp.ClientSession() as h, h.get(gw.url + "/admin/health") as resp:
            view = {p["provider"]: p for p in (await resp.json())["providers"]}
        assert view["a"]["failures"] == sent_to_a and view["a"]["circuit"] == "closed"


async def test_slow_provider_loses_traffic(openai_fake, openai_fake2):
    openai_fake.delay_s = 0.25
    async with gateway(two_compat(openai_fake, openai_fake2), MODELS) as gw:
        c = client(gw)
        served = [gateway_meta(await ask(c))["routing"]["resolvedProvider"] for _ in range(12)]
    # The first request goes to a (catalog order, no data yet); the slow answer raises its peak
    # latency, and from then on power-of-two-choices prefers b.
    assert served[0] == "a"
    assert served[2:].count("b") >= 9


@pytest.mark.parametrize("stream", [False, True])
async def test_hedging_wins_against_a_stalled_provider(stream, openai_fake, openai_fake2):
    openai_fake.hang = True
    routing = {"hedge": True, "hedge_after": 0.2, "hedge_min": 0.1, "order": {"*": ["a", "b"]}}
    async with gateway(two_compat(openai_fake, openai_fake2), MODELS, routing=routing) as gw:
        c = client(gw)
        if stream:
            chunks = [ch async for ch in await ask(c, stream=True)]
            text = "".join(ch.choices[0].delta.content or "" for ch in chunks if ch.choices)
            meta = chunks[-1].model_extra["provider_metadata"]["gateway"]
        else:
            r = await ask(c)
            text, meta = r.choices[0].message.content, gateway_meta(r)
        assert text == "echo: hi"
        attempts = meta["routing"]["attempts"]
        assert [(a["provider"], a["success"]) for a in attempts] == [("a", False), ("b", True)]
        assert attempts[0]["errorCategory"] == "cancelled"
        await openai_fake.wait_for(lambda: openai_fake.cancelled == 1)  # the loser's request was cancelled


async def test_hedging_does_not_fire_for_a_fast_provider(openai_fake, openai_fake2):
    routing = {"hedge": True, "hedge_after": 1.0, "order": {"*": ["a", "b"]}}
    async with gateway(two_compat(openai_fake, openai_fake2), MODELS, routing=routing) as gw:
        r = await ask(client(gw))
    assert [a["provider"] for a in gateway_meta(r)["routing"]["attempts"]] == ["a"]
    assert openai_fake2.api_requests("/chat/completions") == []
