"""End to end over real HTTP: the admin API creates a key, the OpenAI SDK uses it through the
gateway, its model list and revocation are enforced. The gateway is wired here the way App will be
(authenticate before serving, check_model on the requested model, admin routes merged)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import openai
import pytest

from tests.gateway_harness import gateway as running_gateway
from tests.gateway_harness import model

ADMIN_KEY = "test-admin-key-0123456789abcdef"


@pytest.fixture
async def gateway(openai_fake: Any) -> AsyncIterator[str]:
    """The real App: it authenticates before serving, checks models, and serves the admin API."""
    providers = {"openai": {"protocol": "openai-chat", "base_url": openai_fake.base_url,
                            "api_key": "sk-openai-secret"}}
    models = {"acme/chat": model({"openai": "gpt-x"}), "acme/other": model({"openai": "gpt-y"})}
    async with running_gateway(providers, models, accounts={"admin_key": ADMIN_KEY}) as gw:
        yield gw.url


async def test_keys_over_http(gateway: str) -> None:
    async with aiohttp.ClientSession() as http:
        async with http.post(f"{gateway}/admin/keys", json={"name": "sdk", "allowed_models": ["acme/chat"]},
                             headers={"authorization": f"Bearer {ADMIN_KEY}"}) as r:
            assert r.status == 201
            created = await r.json()
        async with http.get(f"{gateway}/admin/keys", headers={"authorization": "Bearer nope"}) as r:
            assert r.status == 401 and (await r.json())["error"]["type"] == "authentication_error"
        async with http.get(f"{gateway}/v1/models", headers={"x-api-key": created["key"]}) as r:
            assert r.status == 200  # Anthropic-style header

    client = openai.AsyncOpenAI(base_url=f"{gateway}/v1", api_key=created["key"], max_retries=0)
    try:
        r = await client.chat.completions.create(model="acme/chat", messages=[{"role": "user", "content": "hi"}])
        assert r.choices[0].message.content == "echo: hi"
        with pytest.raises(openai.PermissionDeniedError) as denied:
            await client.chat.completions.create(model="acme/other", messages=[{"role": "user", "content": "hi"}])
        assert denied.value.code == "model_not_allowed"
        async with aiohttp.ClientSession() as http:
            async with http.delete(f"{gateway}/admin/keys/{created['id']}",
                                   headers={"authorization": f"Bearer {ADMIN_KEY}"}) as resp:
                assert resp.status == 200
        with pytest.raises(openai.AuthenticationError):
            await client.chat.completions.create(model="acme/chat", messages=[{"role": "user", "content": "hi"}])
    finally:
        await client.close()
    bad = openai.AsyncOpenAI(base_url=f"{gateway}/v1", api_key="unused", max_retries=0)
    try:
        with pytest.raises(openai.AuthenticationError):  # keys exist: auth is required now
            await bad.models.list()
    finally:
        await bad.close()
