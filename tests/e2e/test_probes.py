"""Active probes run on schedule, feed health, and stop on shutdown."""

from __future__ import annotations

import asyncio

import aiohttp

from tests.e2e.test_openai_sdk import providers
from tests.gateway_harness import gateway, model


async def test_probes_run_on_schedule_and_stop_on_shutdown(openai_fake, anthropic_fake):
    models = {"acme/chat": model({"openai": "gpt", "anthropic": "claude"})}
    probes = [{"provider": "openai", "model": "acme/chat", "interval": 0.1, "jitter": 0.1},
              {"provider": "anthropic", "model": "acme/chat", "interval": 0.1, "jitter": 0.1}]
    anthropic_fake.fail(529)  # anthropic is down: probes should see it with no traffic at all
    async with gateway(providers(openai_fake, anthropic_fake), models,
                       health={"probes": probes, "breaker_threshold": 2}) as gw:
        await openai_fake.wait_for(lambda: len(openai_fake.api_requests("/chat/completions")) >= 3)
        await anthropic_fake.wait_for(lambda: len(anthropic_fake.api_requests("/v1/messages")) >= 3)
        async with aiohttp.ClientSession() as h, h.get(gw.url + "/admin/health") as r:
            view = {p["provider"]: p for p in (await r.json())["providers"]}
        probe = openai_fake.api_requests("/chat/completions")[0].json
        assert probe["stream"] is True and probe["max_tokens"] == 4 and probe["model"] == "gpt"
        assert view["openai"]["failures"] == 0 and view["openai"]["ttft_s"] is not None
        assert view["anthropic"]["failures"] >= 2 and view["anthropic"]["circuit"] in ("open", "half_open")
        assert gw.app.records._records == {}  # probes are not generations
    sent = len(openai_fake.api_requests("/chat/completions"))
    await asyncio.sleep(0.4)
    assert len(openai_fake.api_requests("/chat/completions")) == sent  # stopped with the gateway
