"""End to end: embeddings through the real `openai` SDK."""

from __future__ import annotations

import base64
import struct

import openai
import pytest

from tests.e2e.test_openai_sdk import client, providers
from tests.fakes import embedding_vector
from tests.gateway_harness import gateway

EMBED = {"name": "Embed", "type": "embedding", "context_window": 8192, "dimensions": 8,
         "pricing": {"input": 0.02}, "providers": {"openai": {"id": "text-embedding-3-small"}}}


@pytest.mark.parametrize("fmt", ["float", "base64"])
async def test_embeddings_pass_through(fmt, openai_fake):
    async with gateway(providers(openai_fake), {"openai/text-embedding-3-small": EMBED}) as gw:
        r = await client(gw).embeddings.create(model="openai/text-embedding-3-small", input=["sunny day", "rain"],
                                               dimensions=8, encoding_format=fmt)
    vectors = [d.embedding if fmt == "float" else
               list(struct.unpack("<8f", base64.b64decode(d.embedding))) for d in r.data]
    assert [len(v) for v in vectors] == [8, 8]
    assert vectors[0] == pytest.approx(embedding_vector("sunny day", 8), rel=1e-6)
    sent = openai_fake.last_request.json
    assert sent["model"] == "text-embedding-3-small" and sent["dimensions"] == 8
    assert r.usage.prompt_tokens > 0
    meta = r.model_extra["provider_metadata"]["gateway"]
    assert meta["routing"]["resolvedProvider"] == "openai"
    assert float(meta["cost"]) == pytest.approx(r.usage.prompt_tokens * 0.02 / 1e6)


async def test_embeddings_fail_over_and_reject_language_models(openai_fake, openai_fake2):
    openai_fake.fail(503, times=1)
    entry = {**EMBED, "providers": {"openai": {"id": "e1"}, "compat": {"id": "e2"}}}
    chat = {"name": "Chat", "context_window": 1000, "max_output": 100, "providers": {"openai": {"id": "c"}}}
    async with gateway(providers(openai_fake, openai_fake2=openai_fake2),
                       {"acme/embed": entry, "acme/chat": chat}) as gw:
        c = client(gw)
        r = await c.embeddings.create(model="acme/embed", input="hello")
        assert [a["provider"] for a in r.model_extra["provider_metadata"]["gateway"]["routing"]["attempts"]] == \
            ["openai", "compat"]
        with pytest.raises(openai.BadRequestError) as exc:
            await c.embeddings.create(model="acme/chat", input="hello")
        assert exc.value.body["code"] == "model_type_mismatch"
        with pytest.raises(openai.BadRequestError) as exc:
            await c.chat.completions.create(model="acme/embed", messages=[{"role": "user", "content": "x"}])
        assert exc.value.body["param"] == "model"
