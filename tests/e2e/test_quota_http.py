"""End to end through the real HTTP server, the `openai` SDK and a fake provider, with quotas and usage
wired into App.serve exactly as ``wire`` below proposes (the wiring App will get): 429 / 402 with
retry-after and x-ratelimit-* headers, settlement to the real cost, a cut stream charged its
estimate, and one usage row per request."""

from __future__ import annotations

import asyncio
import os
import time

import aiohttp
import openai
import pytest

from switchyard.accounts.principal import Limits, Principal
from switchyard.errors import GatewayError
from switchyard.http import Response
from switchyard.quotas import QuotaConfig, QuotaExceeded, QuotaService, candidate_pricing
from switchyard.usage import UsageConfig, UsageWriter
from tests.e2e.test_openai_sdk import client, providers
from tests.gateway_harness import gateway, model

MODELS = {"acme/chat": model({"openai": "gpt-x"}, pricing={"input": 1000.0, "output": 2000.0}, max_output=100)}


def wire(app, quotas: QuotaService, usage: UsageWriter, principal_of) -> None:
    """The proposed App wiring: admit before the executor, settle and record through the sinks."""
    app.sinks.add(quotas)
    app.sinks.add(usage)

    async def serve(door, request):
        try:
            principal = principal_of(request)  # App: request.state / accounts.authenticator, check_model, byok
            inbound = door.parse(request.body, request.headers)
        except GatewayError as err:
            return Response(door.error_status(err), door.render_error(err, None))
        route = inbound.route
        pricings, max_output = candidate_pricing(app.catalog, route.model, route.fallbacks,
                                                 app.config.routing.fallbacks)
        try:
            reservation = await quotas.admit(principal, route, pricings, max_output)
        except QuotaExceeded as err:  # 429 / 402 / 503, with retry-after and x-ratelimit-*
            return Response(door.error_status(err), door.render_error(err, None), err.headers)
        app.in_flight += 1
        try:
            outcome = await app.executor.run(door, inbound, principal=principal, reservation=reservation)
        except BaseException:
            app.in_flight -= 1 if app.in_flight > 0 else 0
            reservation.release()
            raise
        outcome.headers.extend(reservation.headers())
        return app._respond(outcome)

    app.serve = serve


async def wait_until(cond, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.02)


@pytest.fixture
async def services(tmp_path):
    quotas = QuotaService(QuotaConfig())
    usage = UsageWriter(UsageConfig(database=f"sqlite:///{tmp_path}/usage.sqlite3",
                                    spill_path=f"{tmp_path}/spill.jsonl", flush_interval_ms=20))
    await quotas.start()
    await usage.start()
    yield quotas, usage
    await quotas.close()
    await usage.close()


async def test_rate_limit_and_budget_over_http(openai_fake, services):
    quotas, usage = services
    caller = Principal(key_id=f"key-{os.urandom(3).hex()}", limits=Limits(rpm=3, budget_usd=0.05))
    who = {"caller": caller}
    async with gateway(providers(openai_fake), MODELS) as gw:
        wire(gw.app, quotas, usage, lambda request: who["caller"])
        c = client(gw)
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
        spent = (await quotas.credits(caller))[1]
        assert spent == pytest.approx(sum(costs))

        poor = Principal(key_id=f"key-{os.urandom(3).hex()}", limits=Limits(budget_usd=0.015))
        who["caller"] = poor
        await c.chat.completions.create(model="acme/chat", messages=[{"role": "user", "content": "hi"}],
                                        max_tokens=5)  # reserves $0.015 (10 tokens in, 5 out)... at most
        with pytest.raises(openai.APIStatusError) as err:
            await c.chat.completions.create(model="acme/chat", messages=[{"role": "user", "content": "hi"}],
                                            max_tokens=5)
        assert err.value.status_code == 402 and "budget" in str(err.value).lower()
        await usage.flush()
        rows = await usage.report("2000-01-01", "2100-01-01", "key")
        assert {r["key"]: r["request_count"] for r in rows} == {caller.key_id: 3, poor.key_id: 1}


async def test_cut_stream_is_charged_its_estimate(openai_fake, services):
    quotas, usage = services
    caller = Principal(key_id=f"key-{os.urandom(3).hex()}", limits=Limits(budget_usd=10.0))
    async with gateway(providers(openai_fake), MODELS) as gw:
        wire(gw.app, quotas, usage, lambda request: caller)
        openai_fake.push("one two three four five six seven eight nine ten")
        openai_fake.for_next(1, chunk_delay_s=0.3)
        body = {"model": "acme/chat", "messages": [{"role": "user", "content": "count"}], "max_tokens": 50,
                "stream": True}
        async with aiohttp.ClientSession() as h, h.post(gw.base_url + "/chat/completions", json=body) as r:
            assert r.status == 200
            await r.content.readany()  # the first bytes, then the caller goes away
        await wait_until(lambda: any(rec.status == 499 for rec in gw.app.records.values()))
        rec = next(rec for rec in gw.app.records.values() if rec.status == 499)
        assert rec.usage is None
        # no usage ever came: charged the reservation, 50 output tokens at $2000/M plus the input
        # estimate (a few tokens at $1000/M)
        assert 0.1 < (await quotas.credits(caller))[1] <= 0.1 + 0.01
        await usage.flush()
        row = await usage.get(rec.id)
        assert row["status"] == 499 and row["key_id"] == caller.key_id
