"""End to end over HTTP: the requests captured from the real ai 5/6/7 clients, posted to a running gateway
backed by fake OpenAI and Anthropic servers, with the JSON and SSE answers checked per spec version.

The captured requests name provider ``acme`` (``order``, ``only``, ``providerOptions.acme``) and models
``acme/echo-1``, ``acme/echo-2`` and ``acme/embed-1``: the gateway here has exactly those.
"""

from __future__ import annotations

import datetime
import json
from typing import Any

import aiohttp
import pytest

from switchyard.protocols.aisdk.metadata import all_records
from tests.fakes import ToolCall
from tests.fakes.anthropic_fake import thinking_signature
from tests.gateway_harness import gateway, model
from tests.protocols.aisdk.helpers import CAPTURED, sse_parts

EMBED = {"name": "Embed", "type": "embedding", "context_window": 8192, "pricing": {"input": 0.02},
         "providers": {"acme": {"id": "text-embedding-3-small"}}}
SKIP_HEADERS = {"host", "content-length", "connection", "accept-encoding"}


def providers(openai_fake, anthropic_fake) -> dict[str, Any]:
    return {"acme": {"protocol": "openai-chat", "base_url": openai_fake.base_url, "api_key": "sk-openai-secret"},
            "claude": {"protocol": "anthropic-messages", "base_url": anthropic_fake.base_url,
                       "api_key": "sk-ant-secret"}}


MODELS = {"acme/echo-1": model({"acme": "echo-1"}), "acme/echo-2": model({"acme": "echo-2"}),
          "acme/claude": model({"claude": "claude-x"}), "acme/embed-1": EMBED}


async def replay(session: aiohttp.ClientSession, url: str, key: str, **overrides: Any) -> tuple[int, str, Any]:
    entry = CAPTURED[key]
    headers = {k: v for k, v in entry["headers"].items() if k.lower() not in SKIP_HEADERS}
    headers.update(overrides.pop("headers", {}))
    body = overrides.pop("body", entry["body"])
    data = json.dumps(body) if body is not None else None
    async with session.request(entry["method"], url + entry["path"], headers=headers, data=data) as r:
        raw = await r.read()
        ctype = r.headers.get("content-type", "")
        return r.status, ctype, (sse_parts(raw) if ctype.startswith("text/event-stream") else json.loads(raw))


@pytest.mark.parametrize("spec", [2, 3, 4])
async def test_captured_generate(spec, openai_fake, anthropic_fake):
    async with gateway(providers(openai_fake, anthropic_fake), MODELS) as gw, aiohttp.ClientSession() as s:
        status, ctype, body = await replay(s, gw.url, f"POST /v1/ai/language-model spec={spec} stream=false")
    assert status == 200 and ctype.startswith("application/json")
    assert body["content"] == [{"type": "text", "text": "echo: hello world"}]
    assert body["warnings"] == []
    if spec == 2:
        assert body["finishReason"] == "stop"
        assert body["usage"] == {"inputTokens": 3, "outputTokens": 3, "totalTokens": 6, "reasoningTokens": 0,
                                 "cachedInputTokens": 0}
    else:
        assert body["finishReason"] == {"unified": "stop", "raw": "stop"}
        assert body["usage"]["inputTokens"] == {"total": 3, "noCache": 3, "cacheRead": 0, "cacheWrite": 0}
        assert body["usage"]["outputTokens"] == {"total": 3, "text": 3, "reasoning": 0}
    gateway_meta = body["providerMetadata"]["gateway"]
    assert gateway_meta["generationId"].startswith("gen_")
    assert gateway_meta["routing"]["resolvedProvider"] == "acme"
    assert gateway_meta["routing"]["fallbacksAvailable"] == ["acme/echo-2"]
    sent = openai_fake.last_request.json
    assert sent["model"] == "echo-1" and sent["max_tokens"] == 50 and sent["temperature"] == 0.2
    assert sent["foo"] == "bar"  # providerOptions.acme reached provider acme
    assert "tools" not in sent and "tool_choice" not in sent  # v4's toolChoice without tools is dropped


@pytest.mark.parametrize("spec", [2, 3, 4])
async def test_captured_stream(spec, openai_fake, anthropic_fake):
    async with gateway(providers(openai_fake, anthropic_fake), MODELS) as gw, aiohttp.ClientSession() as s:
        status, ctype, parts = await replay(s, gw.url, f"POST /v1/ai/language-model spec={spec} stream=true",
                                            headers={"ai-language-model-id": "acme/claude"})
    assert status == 200 and ctype.startswith("text/event-stream")
    types = [p["type"] for p in parts]
    assert types[:3] == ["stream-start", "response-metadata", "text-start"] and types[-2:] == ["text-end", "finish"]
    assert set(types[3:-2]) == {"text-delta"}
    gen_id = parts[1]["id"]
    assert parts[2]["providerMetadata"] == {"gateway": {"generationId": gen_id}}
    datetime.datetime.fromisoformat(parts[1]["timestamp"].replace("Z", "+00:00"))
    assert "".join(p["delta"] for p in parts if p["type"] == "text-delta") == "echo: stream me please"
    finish = parts[-1]
    assert finish["providerMetadata"]["gateway"]["generationId"] == gen_id
    assert finish["providerMetadata"]["gateway"]["routing"]["resolvedProvider"] == "claude"
    if spec == 2:
        assert finish["finishReason"] == "stop" and finish["usage"]["totalTokens"] == 8
    else:
        assert finish["finishReason"] == {"unified": "stop", "raw": "end_turn"}
        assert finish["usage"]["inputTokens"]["total"] == 4


@pytest.mark.parametrize("spec", [2, 3, 4])
async def test_captured_embeddings(spec, openai_fake, anthropic_fake):
    async with gateway(providers(openai_fake, anthropic_fake), MODELS) as gw, aiohttp.ClientSession() as s:
        status, _, body = await replay(s, gw.url, f"POST /v1/ai/embedding-model spec={spec} stream=-")
    assert status == 200
    assert len(body["embeddings"]) == 1 and len(body["embeddings"][0]) == 1536
    assert body["usage"] == {"tokens": 2} and body["warnings"] == []
    assert body["providerMetadata"]["gateway"]["routing"]["resolvedProvider"] == "acme"
    assert openai_fake.last_request.json["input"] == ["sunny day"]


async def test_captured_metadata_requests(openai_fake, anthropic_fake):
    async with gateway(providers(openai_fake, anthropic_fake), MODELS) as gw, aiohttp.ClientSession() as s:
        await replay(s, gw.url, "POST /v1/ai/language-model spec=4 stream=false")
        status, _, config = await replay(s, gw.url, "GET /v1/ai/config spec=- stream=-")
        assert status == 200
        # The captured client is @ai-sdk/gateway 4.x (user-agent): v4 although the prefix is /v1/ai.
        assert {m["specification"]["specificationVersion"] for m in config["models"]} == {"v4"}
        assert {m["id"]: m["modelType"] for m in config["models"]}["acme/embed-1"] == "embedding"
        for prefix, literal in (("/v1/ai", "v2"), ("/v3/ai", "v3"), ("/v4/ai", "v4")):
            async with s.get(gw.url + prefix + "/config", headers={"user-agent": "curl/8"}) as r:
                versions = {m["specification"]["specificationVersion"] for m in (await r.json())["models"]}
            assert versions == {literal}
        status, _, credits = await replay(s, gw.url, "GET /v1/credits spec=- stream=-")
        # Open mode: no key, so no budget to report against (the quota tests cover keyed credits).
        assert status == 200 and credits == {"balance": "0", "total_used": "0"}
        status, _, body = await replay(s, gw.url, "GET /v1/generation spec=- stream=-")
        assert status == 404 and "error" in body
        today = datetime.datetime.now(datetime.timezone.utc).date().isoformat()
        async with s.get(gw.url + f"/v1/report?start_date={today}&end_date={today}&group_by=model") as r:
            report = await r.json()
        assert [row["model"] for row in report["results"]] == ["acme/echo-1"]
        async with s.get(gw.url + "/v1/report?start_date=yesterday") as r:
            assert r.status == 400 and (await r.json())["error"]["param"] == "start_date"


async def test_unknown_model(openai_fake, anthropic_fake):
    async with gateway(providers(openai_fake, anthropic_fake), MODELS) as gw, aiohttp.ClientSession() as s:
        status, _, body = await replay(s, gw.url, "POST /v4/ai/language-model spec=4 stream=false")
        assert status == 404
        assert body["error"]["type"] == "model_not_found" and body["error"]["param"] == {"modelId": "missing/x"}
        assert body["generationId"].startswith("gen_")
        status, _, body = await replay(s, gw.url, "POST /v4/ai/language-model spec=4 stream=true",
                                       headers={"ai-language-model-id": "acme/embed-1"})
        assert status == 400 and body["error"]["type"] == "invalid_request_error"
        status, _, body = await replay(s, gw.url, "POST /v4/ai/language-model spec=4 stream=true", body={"prompt": 1})
        assert status == 400 and body["error"]["param"] == "prompt" and "generationId" not in body


async def test_fallback_model_after_a_provider_failure(openai_fake, anthropic_fake):
    openai_fake.fail(503, times=1)
    async with gateway(providers(openai_fake, anthropic_fake), MODELS) as gw, aiohttp.ClientSession() as s:
        status, _, body = await replay(s, gw.url, "POST /v1/ai/language-model spec=3 stream=false")
    assert status == 200 and body["content"][0]["text"] == "echo: hello world"
    routing = body["providerMetadata"]["gateway"]["routing"]
    assert routing["canonicalSlug"] == "acme/echo-2"
    assert [(a["model"], a["success"]) for a in routing["attempts"]] == [("acme/echo-1", False), ("acme/echo-2", True)]


async def test_streamed_tool_call_and_reasoning(openai_fake, anthropic_fake):
    anthropic_fake.push(thinking="let me see", tool_calls=[ToolCall("get_weather", {"city": "Paris"}, id="toolu_1")])
    body = {"prompt": [{"role": "user", "content": [{"type": "text", "text": "weather?"}]}],
            "tools": [{"type": "function", "name": "get_weather",
                       "inputSchema": {"type": "object", "properties": {"city": {"type": "string"}}}}],
            "toolChoice": {"type": "auto"}}
    async with gateway(providers(openai_fake, anthropic_fake), MODELS) as gw, aiohttp.ClientSession() as s:
        status, _, parts = await replay(s, gw.url, "POST /v4/ai/language-model spec=4 stream=true", body=body,
                                        headers={"ai-language-model-id": "acme/claude"})
    assert status == 200
    types = [p["type"] for p in parts]
    assert types[2] == "reasoning-start" and "reasoning-end" in types
    signed = [p for p in parts if p["type"] == "reasoning-delta" and p.get("providerMetadata")]
    assert signed[0]["providerMetadata"] == {"anthropic": {"signature": thinking_signature("let me see")}}
    start = types.index("tool-input-start")
    assert parts[start] == {"type": "tool-input-start", "id": "toolu_1", "toolName": "get_weather"}
    assert "".join(p["delta"] for p in parts if p["type"] == "tool-input-delta") == '{"city":"Paris"}'
    call = next(p for p in parts if p["type"] == "tool-call")
    assert call == {"type": "tool-call", "toolCallId": "toolu_1", "toolName": "get_weather",
                    "input": '{"city":"Paris"}'}
    assert types.index("tool-input-end") < types.index("tool-call") < types.index("finish")
    assert parts[-1]["finishReason"] == {"unified": "tool-calls", "raw": "tool_use"}


@pytest.mark.parametrize("spec", [2, 4])
async def test_stream_cut_after_first_content(spec, openai_fake, anthropic_fake):
    openai_fake.for_next(1, cut_after_chunks=3)
    async with gateway(providers(openai_fake, anthropic_fake), MODELS) as gw, aiohttp.ClientSession() as s:
        status, _, parts = await replay(s, gw.url, f"POST /v1/ai/language-model spec={spec} stream=true")
        records = all_records(gw.app.records)
    assert status == 200
    types = [p["type"] for p in parts]
    assert types[-4:] == ["text-delta", "text-end", "error", "finish"]
    error = parts[-2]["error"]
    assert error["type"] == "internal_server_error" and error["statusCode"] == 502 and error["isRetryable"]
    assert parts[-1]["finishReason"] == ("error" if spec == 2 else {"unified": "error"})
    assert records[-1].status == 502
