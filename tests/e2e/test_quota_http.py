"""End to end through the real App and HTTP server, the `openai` SDK and a fake provider: keys created
through the admin API carry limits; 429 / 402 with retry-after and x-ratelimit-* headers, settlement
to the real cost, a cut stream charged its estimate, and one usage row per request."""

from __future__ import annotations

import asyncio
import time

import aiohttp
import openai
import pytest

from tests.e2e.test_openai_sdk import providers
from tests.gateway_harness import gateway, model

MODELS = {"acme/chat": model({"openai": "gpt-x"}, pricing={"input": 1000.0, "output": 2000.0}, max_output=100)}
ADMIN = "quota-test-admin-key-0123456789"


async def create_key(gw, name: str, **limits: float) -> tuple[str, str]:
    """(key id, secret) of a new key with ``limits``, made through the admin API."""
    async with aiohttp.ClientSession() as h, h.post(gw.url + "/admin/keys", json={"name": name, "limits": limits},
                                                    headers={"authorization": f"Bearer {ADMIN}"}) as r:
        assert r.status == 201, await r.text()
        body = await r.json()
    return body["id"], body["key"]


def sdk(gw, secret: str) -> openai.AsyncOpenAI:
    c = openai.AsyncOpenAI(base_url=gw.base_url, api_key=secret, max_retries=0)
    gw.on_close(c.close)
    return c


async def wait_until(cond, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.02)


async def test_rate_limit_and_budget_over_http(openai_fake):
    async with gateway(providers(openai_fake), MODELS, accounts={"admin_key": ADMIN}) as gw:
        usage = gw.app.usage
        caller_id, secret = await create_key(gw, "limited", rpm=3, budget_usd=0.05)
        c = sdk(gw, secret)
        costs = []
        for _ in range(2):
            raw = await c.chat.completions.with_raw_response.create(
                model="acme/chat", messages=[{"role": "user", "content": "hello"}], max_tokens=10)
            assert raw.headers["x-ratelimit-limit-requests"] == "3"
            costs.append(raw.parse().usage.model_extra["cost"])
        assert raw.headers["x-ratelimit-remaining-requests"] == "1"
        reset = raw.headers["x-ratelimit-reset-requests"]  # 2 of 3 used: full again in 40 s
        assert reset.endswith("s") and 35 < float(reset[:-1]) <= 40
        stream = await c.chat.completions.create(model="acme/chat", messages=[{"role": "user", "content": "a b"}],
                                                 max_tokens=10, stream=True, stream_options={"include_usage": True})
        async for chunk in stream:
            if chunk.usage is not None:
                costs.append(chunk.usage.model_extra["cost"])
        with pytest.raises(openai.RateLimitError) as err:
            await c.chat.completions.create(model="acme/chat", messages=[{"role": "user", "content": "x"}])
        assert err.value.response.headers["retry-after"] == "20"
        assert err.value.response.headers["x-ratelimit-remaining-requests"] == "0"
        assert err.value.code == "rate_limit_exceeded" or "rate" in str(err.value).lower()
        async with aiohttp.ClientSession() as h, h.get(gw.url + "/v1/credits",
                                                       headers={"authorization": f"Bearer {secret}"}) as r:
            credits = await r.json()  # what the AI SDK's getCredits reads
        assert float(credits["total_used"]) == pytest.approx(sum(costs), rel=1e-6)
        assert float(credits["balance"]) == pytest.approx(0.05 - sum(costs), rel=1e-6)

        poor_id, poor_secret = await create_key(gw, "poor", budget_usd=0.015)
        c = sdk(gw, poor_secret)
        await c.chat.completions.create(model="acme/chat", messages=[{"role": "user", "content": "hi"}],
                                        max_tokens=5)  # reserves $0.015 (10 tokens in, 5 out)... at most
        with pytest.raises(openai.APIStatusError) as err:
            await c.chat.completions.create(model="acme/chat", messages=[{"role": "user", "content": "hi"}],
                                            max_tokens=5)
        assert err.value.status_code == 402 and "budget" in str(err.value).lower()
        await usage.flush()
        rows = await usage.report("2000-01-01", "2100-01-01", "key")
        assert {r["key"]: r["request_count"] for r in rows} == {caller_id: 3, poor_id: 1}


async def test_cut_stream_is_charged_its_estimate(openai_fake):
    async with gateway(providers(openai_fake), MODELS, accounts={"admin_key": ADMIN}) as gw:
        quotas, usage = gw.app.quotas, gw.app.usage
        caller_id, secret = await create_key(gw, "streamer", budget_usd=10.0)
        openai_fake.push("one two three four five six seven eight nine ten")
        openai_fake.for_next(1, chunk_delay_s=0.3)
        body = {"model": "acme/chat", "messages": [{"role": "user", "content": "count"}], "max_tokens": 50,
                "stream": True}
        async with aiohttp.ClientSession() as h, h.post(gw.base_url + "/chat/completions", json=body,
                                                        headers={"authorization": f"Bearer {secret}"}) as r:
            assert r.status == 200
            await r.content.readany()  # the first bytes, then the caller goes away
        await wait_until(lambda: any(rec.status == 499 for rec in gw.app.records.values()))
        rec = next(rec for rec in gw.app.records.values() if rec.status == 499)
        assert rec.usage is None
        # no usage ever came: charged the reservation, 50 output tokens at $2000/M plus the input
        # estimate (a few tokens at $1000/M)
        caller = rec.principal
        assert caller.key_id == caller_id
        assert 0.1 < (await quotas.credits(caller))[1] <= 0.1 + 0.01
        await usage.flush()
        row = await usage.get(rec.id)
        assert row["status"] == 499 and row["key_id"] == caller_id


async def test_generation_lookup_is_scoped_to_the_callers_key(openai_fake):
    async with gateway(providers(openai_fake), MODELS, accounts={"admin_key": ADMIN}) as gw:
        _, mine = await create_key(gw, "mine", budget_usd=10.0)
        _, theirs = await create_key(gw, "theirs", budget_usd=10.0)
        r = await sdk(gw, mine).chat.completions.create(model="acme/chat", messages=[{"role": "user", "content": "x"}],
                                                       max_tokens=5)
        gen_id = r.model_extra["provider_metadata"]["gateway"]["generationId"]
        gw.app.records._records.clear()  # from the durable usage records, not memory
        await gw.app.usage.flush()
        async with aiohttp.ClientSession() as h:
            for secret, status in ((mine, 200), (theirs, 404), (ADMIN, 200)):
                async with h.get(gw.url + "/v1/generation", params={"id": gen_id},
                                 headers={"authorization": f"Bearer {secret}"}) as resp:
                    assert resp.status == status
                    if status == 200:
                        assert (await resp.json())["data"]["id"] == gen_id
