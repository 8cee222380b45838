"""/metrics reflects a known sequence of requests exactly."""

from __future__ import annotations

import re

import aiohttp
import openai
import pytest

from tests.e2e.test_openai_sdk import client, providers
from tests.gateway_harness import gateway, model


def sample(text: str, name: str, **labels: str) -> float:
    """The value of one sample, matched on the given labels (others may be present)."""
    for line in text.splitlines():
        if not line.startswith(name + "{") and line.split(" ")[0] != name:
            continue
        got = dict(re.findall(r'(\w+)="([^"]*)"', line.split("}")[0])) if "{" in line else {}
        if all(got.get(k) == v for k, v in labels.items()):
            return float(line.rsplit(" ", 1)[1])
    raise AssertionError(f"no sample {name} {labels}")


async def scrape(gw) -> str:
    async with aiohttp.ClientSession() as h, h.get(gw.url + "/metrics") as r:
        assert r.status == 200 and r.headers["content-type"].startswith("text/plain")
        return await r.text()


async def test_metrics_reflect_requests_exactly(openai_fake, anthropic_fake):
    models = {"acme/chat": model({"openai": "gpt", "anthropic": "claude"}, pricing={"input": 1.0, "output": 2.0}),
              "acme/other": model({"anthropic": "claude2"})}
    async with gateway(providers(openai_fake, anthropic_fake), models,
                       routing={"order": {"*": ["openai", "anthropic"]}}) as gw:
        c = client(gw)
        for _ in range(3):  # 3 successes on openai: 2 prompt + 2 completion tokens each
            await c.chat.completions.create(model="acme/chat", messages=[{"role": "user", "content": "x"}])
        openai_fake.fail(500, times=1)  # 1 request served by anthropic after a failed openai attempt
        await c.chat.completions.create(model="acme/chat", messages=[{"role": "user", "content": "x"}])
        stream = await c.chat.completions.create(model="acme/other", messages=[{"role": "user", "content": "a b"}],
                                                 stream=True)
        async for _ in stream:
            pass
        anthropic_fake.fail(529)
        with pytest.raises(openai.APIStatusError):
            await c.chat.completions.create(model="acme/other", messages=[{"role": "user", "content": "x"}])
        text = await scrape(gw)
    chat = {"gen_ai_operation_name": "chat", "gen_ai_request_model": "acme/chat", "key": "anonymous"}
    assert sample(text, "switchyard_requests_total", **chat, gen_ai_provider_name="openai", status="200") == 3
    assert sample(text, "switchyard_requests_total", **chat, gen_ai_provider_name="anthropic", status="200") == 1
    assert sample(text, "switchyard_requests_total", gen_ai_request_model="acme/other", status="502") == 1
    assert sample(text, "switchyard_tokens_total", **chat, gen_ai_provider_name="openai", type="input") == 6
    assert sample(text, "switchyard_tokens_total", **chat, gen_ai_provider_name="openai", type="output") == 6
    assert sample(text, "switchyard_cost_usd_total", **chat, gen_ai_provider_name="openai") == pytest.approx(18e-6)
    assert sample(text, "switchyard_attempts_total", gen_ai_provider_name="openai", gen_ai_request_model="acme/chat",
                  outcome="server_error") == 1
    assert sample(text, "switchyard_retries_total", gen_ai_provider_name="openai") == 1
    assert sample(text, "gen_ai_server_time_to_first_token_seconds_count", gen_ai_request_model="acme/other") == 1
    assert sample(text, "gen_ai_client_operation_duration_seconds_count", **chat,
                  gen_ai_provider_name="openai") == 3
    assert sample(text, "switchyard_circuit_state", provider="openai", provider_model="gpt") == 0
    assert sample(text, "switchyard_active_requests") == 0
    assert sample(text, "switchyard_upstream_connections") >= 1
    assert "process_resident_memory_bytes" in text and "switchyard_event_loop_lag_seconds" in text


async def test_metrics_token_guards_the_endpoint(openai_fake):
    models = {"acme/chat": model({"openai": "gpt"})}
    async with gateway(providers(openai_fake), models, server={"metrics_token": "scrape-secret"}) as gw:
        await client(gw).chat.completions.create(model="acme/chat", messages=[{"role": "user", "content": "x"}])
        async with aiohttp.ClientSession() as h:
            for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "scrape-secret"}):
                async with h.get(gw.url + "/metrics", headers=headers) as r:
                    assert r.status == 401 and r.headers["www-authenticate"] == "Bearer"
                    body = await r.json()
                    assert body["error"]["type"] == "authentication_error"
                    assert "scrape-secret" not in await r.text()
            async with h.get(gw.url + "/metrics", headers={"Authorization": "Bearer scrape-secret"}) as r:
                assert r.status == 200
                assert sample(await r.text(), "switchyard_requests_total", status="200") == 1
