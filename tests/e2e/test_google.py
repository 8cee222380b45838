"""End to end: the real `openai` SDK -> Switchyard -> fake Gemini API and fake Vertex AI (Gemini and
Claude publishers, with OAuth tokens from the fake token endpoint), and failover between protocols."""

from __future__ import annotations

import asyncio
import json
import math
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import openai
import pytest

from tests.e2e.test_openai_sdk import WEATHER_TOOL, client, gateway_meta
from tests.fakes import AnthropicFake, ToolCall, embedding_vector
from tests.fakes.gemini_fake import GeminiFake
from tests.fakes.vertex_fake import VertexFake, service_account
from tests.gateway_harness import gateway, model

pytest.importorskip("cryptography")

GEMINI_KEY = "gk-gemini-secret"
PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="


@pytest.fixture
async def gemini() -> AsyncIterator[GeminiFake]:
    async with GeminiFake(api_key=GEMINI_KEY) as fake:
        yield fake


@pytest.fixture
async def vertex(tmp_path: Path) -> AsyncIterator[VertexFake]:
    async with VertexFake(project="proj-e2e") as fake:
        fake.credentials = service_account(fake.token_url, project_id="proj-e2e")
        (tmp_path / "sa.json").write_text(json.dumps(fake.credentials))
        fake.sa_path = str(tmp_path / "sa.json")  # type: ignore[attr-defined]
        yield fake


@pytest.fixture
async def claude() -> AsyncIterator[AnthropicFake]:
    async with AnthropicFake(api_key="sk-ant-secret") as fake:
        yield fake


def providers(gemini: GeminiFake | None = None, vertex: VertexFake | None = None,
              claude: AnthropicFake | None = None, **options: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if gemini is not None:
        out["google"] = {"protocol": "gemini", "base_url": gemini.base_url, "api_key": GEMINI_KEY}
    if vertex is not None:
        out["vertex"] = {"protocol": "vertex", "base_url": vertex.url, "options": {
            "project": "proj-e2e", "location": "us-central1", "credentials_file": vertex.sa_path,  # type: ignore[attr-defined]
            "token_url": vertex.token_url, **options}}
    if claude is not None:
        out["anthropic"] = {"protocol": "anthropic-messages", "base_url": claude.base_url, "api_key": "sk-ant-secret"}
    return out


def attempts(obj: Any) -> list[tuple[str, bool]]:
    return [(a["provider"], a["success"]) for a in gateway_meta(obj)["routing"]["attempts"]]


async def collect(stream: Any) -> tuple[str, list[Any]]:
    chunks = [c async for c in stream]
    return "".join(c.choices[0].delta.content or "" for c in chunks if c.choices), chunks


# ---- Gemini API ----

async def test_text(gemini: GeminiFake) -> None:
    models = {"google/gemini-2.5-flash": model({"google": "gemini-2.5-flash"}, pricing={"input": 0.3, "output": 2.5})}
    async with gateway(providers(gemini), models) as gw:
        r = await client(gw).chat.completions.create(
            model="google/gemini-2.5-flash", temperature=0.4, max_tokens=64, stop=["\n\n"],
            messages=[{"role": "system", "content": "Be brief."}, {"role": "user", "content": "hello there"}])
    assert r.choices[0].message.content == "echo: hello there" and r.choices[0].finish_reason == "stop"
    assert (r.usage.prompt_tokens, r.usage.completion_tokens) == (6, 3)
    assert r.usage.model_extra["cost"] == pytest.approx((6 * 0.3 + 3 * 2.5) / 1e6)
    sent = gemini.last_request
    assert sent.path == "/v1beta/models/gemini-2.5-flash:generateContent" and sent.query == {}
    assert sent.headers["x-goog-api-key"] == GEMINI_KEY and "authorization" not in sent.headers
    assert sent.json["systemInstruction"] == {"parts": [{"text": "Be brief."}]}
    assert sent.json["generationConfig"] == {"temperature": 0.4, "maxOutputTokens": 64, "stopSequences": ["\n\n"]}
    assert gateway_meta(r)["routing"]["resolvedProviderApiModelId"] == "gemini-2.5-flash"


async def test_stream_with_usage_and_reasoning(gemini: GeminiFake) -> None:
    gemini.push("the answer is forty two", thinking="let me think hard")
    models = {"google/gemini-3-pro": model({"google": "gemini-3-pro-preview"})}
    async with gateway(providers(gemini), models) as gw:
        text, chunks = await collect(await client(gw).chat.completions.create(
            model="google/gemini-3-pro", messages=[{"role": "user", "content": "question"}], stream=True,
            stream_options={"include_usage": True}, reasoning_effort="low"))
    assert text == "the answer is forty two"
    assert gemini.last_request.query == {"alt": "sse"}
    assert gemini.last_request.json["generationConfig"] == {"thinkingConfig": {"thinkingLevel": "LOW"}}
    finish = [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason]
    assert finish == ["stop"]
    usage = chunks[-1].usage
    assert (usage.prompt_tokens, usage.completion_tokens) == (2, 5 + 4)  # thoughts count as output
    assert usage.completion_tokens_details.reasoning_tokens == 4


@pytest.mark.parametrize("stream", [False, True])
async def test_tool_loop_on_a_model_that_checks_thought_signatures(stream: bool, gemini: GeminiFake) -> None:
    """Gemini 3 refuses a history whose function call lacks its signature; OpenAI-shaped callers
    cannot carry one back, so the adapter sends Google's bypass value and the loop works."""
    gemini.push(tool_calls=[ToolCall("get_weather", {"city": "Paris"})])
    models = {"google/gemini-3-pro": model({"google": "gemini-3-pro-preview"})}
    messages: list[Any] = [{"role": "user", "content": "Weather in Paris?"}]
    async with gateway(providers(gemini), models) as gw:
        c = client(gw)
        if stream:
            chunks = [ch async for ch in await c.chat.completions.create(
                model="google/gemini-3-pro", messages=messages, tools=[WEATHER_TOOL], stream=True)]
            deltas = [tc for ch in chunks if ch.choices for tc in ch.choices[0].delta.tool_calls or []]
            call_id, name = deltas[0].id, deltas[0].function.name
            args = "".join(tc.function.arguments or "" for tc in deltas)
            assert [ch.choices[0].finish_reason for ch in chunks if ch.choices and ch.choices[0].finish_reason] == \
                ["tool_calls"]
        else:
            r = await c.chat.completions.create(model="google/gemini-3-pro", messages=messages, tools=[WEATHER_TOOL],
                                                tool_choice="required")
            assert r.choices[0].finish_reason == "tool_calls"
            call = r.choices[0].message.tool_calls[0]
            call_id, name, args = call.id, call.function.name, call.function.arguments
            assert gemini.last_request.json["toolConfig"] == {"functionCallingConfig": {"mode": "ANY"}}
        assert (name, json.loads(args)) == ("get_weather", {"city": "Paris"}) and call_id.startswith("call_")
        messages += [{"role": "assistant", "content": None, "tool_calls": [
                         {"id": call_id, "type": "function", "function": {"name": name, "arguments": args}}]},
                     {"role": "tool", "tool_call_id": call_id, "content": "18C and sunny"}]
        r2 = await c.chat.completions.create(model="google/gemini-3-pro", messages=messages, tools=[WEATHER_TOOL])
    assert r2.choices[0].message.content == "tool said: 18C and sunny"
    history = gemini.last_request.json["contents"]
    assert history[1] == {"role": "model", "parts": [{"functionCall": {"name": "get_weather", "args": {"city": "Paris"}},
                                                      "thoughtSignature": "skip_thought_signature_validator"}]}
    assert history[2] == {"role": "user", "parts": [
        {"functionResponse": {"name": "get_weather", "response": {"content": "18C and sunny"}}}]}
    declared = gemini.last_request.json["tools"][0]["functionDeclarations"][0]
    assert declared["name"] == "get_weather" and declared["parametersJsonSchema"]["required"] == ["city"]


async def test_inline_image(gemini: GeminiFake) -> None:
    models = {"google/gemini-2.5-flash": model({"google": "gemini-2.5-flash"})}
    async with gateway(providers(gemini), models) as gw:
        r = await client(gw).chat.completions.create(model="google/gemini-2.5-flash", messages=[{"role": "user", "content": [
            {"type": "text", "text": "what is this"},
            {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{PNG}"}}]}])
    assert r.choices[0].message.content == "echo: what is this"
    assert gemini.last_request.json["contents"][0]["parts"] == [
        {"text": "what is this"}, {"inlineData": {"mimeType": "image/png", "data": PNG}}]


async def test_safety_finishes_are_content_filter(gemini: GeminiFake) -> None:
    gemini.push(finish_reason="SAFETY")
    gemini.push(finish_reason="prompt:PROHIBITED_CONTENT")
    models = {"google/gemini-2.5-flash": model({"google": "gemini-2.5-flash"})}
    async with gateway(providers(gemini), models) as gw:
        c = client(gw)
        r = await c.chat.completions.create(model="google/gemini-2.5-flash", messages=[{"role": "user", "content": "x"}])
        assert (r.choices[0].message.content, r.choices[0].finish_reason) == ("", "content_filter")
        _, chunks = await collect(await c.chat.completions.create(
            model="google/gemini-2.5-flash", messages=[{"role": "user", "content": "y"}], stream=True))
    assert [ch.choices[0].finish_reason for ch in chunks if ch.choices and ch.choices[0].finish_reason] == \
        ["content_filter"]


async def test_429_with_retry_info_fails_over_to_vertex(gemini: GeminiFake, vertex: VertexFake) -> None:
    gemini.fail(429, times=1, retry_after=30)
    models = {"google/gemini-2.5-flash": model({"google": "gemini-2.5-flash", "vertex": "gemini-2.5-flash"})}
    async with gateway(providers(gemini, vertex), models, routing={"order": {"*": ["google", "vertex"]}}) as gw:
        r = await client(gw).chat.completions.create(model="google/gemini-2.5-flash",
                                                     messages=[{"role": "user", "content": "x"}])
    assert r.choices[0].message.content == "echo: x"
    assert attempts(r) == [("google", False), ("vertex", True)]
    assert gateway_meta(r)["routing"]["attempts"][0]["errorCategory"] == "rate_limited"


async def test_short_retry_delay_is_waited_when_nothing_else_is_left(gemini: GeminiFake) -> None:
    gemini.fail(429, times=1, retry_after=0.2)
    models = {"google/gemini-2.5-flash": model({"google": "gemini-2.5-flash"})}
    async with gateway(providers(gemini), models, routing={"max_retry_wait": 1.0}) as gw:
        r = await client(gw).chat.completions.create(model="google/gemini-2.5-flash",
                                                     messages=[{"role": "user", "content": "x"}])
        gemini.fail(429, times=1, retry_after=30)
        with pytest.raises(openai.RateLimitError) as exc:
            await client(gw).chat.completions.create(model="google/gemini-2.5-flash",
                                                     messages=[{"role": "user", "content": "x"}])
    assert attempts(r) == [("google", False), ("google", True)]
    assert exc.value.response.headers["retry-after"] == "30"


async def test_context_too_long_moves_to_a_larger_window(gemini: GeminiFake, vertex: VertexFake) -> None:
    gemini.context_window = 3
    models = {"google/gemini": {**model({"google": "gemini-2.5-flash", "vertex": "gemini-2.5-flash"}),
                                "providers": {"google": {"id": "gemini-2.5-flash", "context_window": 1000},
                                              "vertex": {"id": "gemini-2.5-flash", "context_window": 100000}}}}
    async with gateway(providers(gemini, vertex), models, routing={"order": {"*": ["google", "vertex"]}}) as gw:
        r = await client(gw).chat.completions.create(model="google/gemini",
                                                     messages=[{"role": "user", "content": "one two three four"}])
    assert attempts(r) == [("google", False), ("vertex", True)]
    assert gateway_meta(r)["routing"]["attempts"][0]["errorCategory"] == "context_too_long"


async def test_stream_cut_before_first_byte_fails_over(gemini: GeminiFake, vertex: VertexFake) -> None:
    gemini.for_next(1, cut_after_chunks=0)
    models = {"google/gemini": model({"google": "gemini-2.5-flash", "vertex": "gemini-2.5-flash"})}
    async with gateway(providers(gemini, vertex), models, routing={"order": {"*": ["google", "vertex"]}}) as gw:
        text, chunks = await collect(await client(gw).chat.completions.create(
            model="google/gemini", messages=[{"role": "user", "content": "a b"}], stream=True))
    assert text == "echo: a b"
    assert attempts(chunks[-1]) == [("google", False), ("vertex", True)]


async def test_embeddings_gemini_and_vertex(gemini: GeminiFake, vertex: VertexFake) -> None:
    entry = {"name": "Gemini Embedding", "type": "embedding", "context_window": 2048, "dimensions": 8,
             "pricing": {"input": 0.15}, "providers": {"google": {"id": "gemini-embedding-001"},
                                                       "vertex": {"id": "text-embedding-005"}}}
    async with gateway(providers(gemini, vertex), {"google/embed": entry},
                       routing={"order": {"*": ["google", "vertex"]}}) as gw:
        c = client(gw)
        r = await c.embeddings.create(model="google/embed", input=["sunny day", "rain"], dimensions=8,
                                      extra_body={"providerOptions": {"google": {"taskType": "RETRIEVAL_DOCUMENT"}}})
        gemini.fail(503, times=1)
        r2 = await c.embeddings.create(model="google/embed", input=["sunny day at the beach"])
    assert [d.embedding for d in r.data] == [pytest.approx(embedding_vector("sunny day", 8)),
                                             pytest.approx(embedding_vector("rain", 8))]
    sent = gemini.api_requests(":batchEmbedContents")[0].json["requests"]
    assert sent[0] == {"model": "models/gemini-embedding-001", "outputDimensionality": 8,
                       "taskType": "RETRIEVAL_DOCUMENT", "content": {"parts": [{"text": "sunny day"}]}}
    # The Gemini API counts no tokens for embeddings: the adapter estimates ceil(chars / 4) once the
    # executor passes the request to parse_embed; until then nothing is recorded.
    assert r.usage.prompt_tokens == math.ceil(len("sunny dayrain") / 4)  # estimated: Gemini reports none
    assert attempts(r2) == [("google", False), ("vertex", True)]
    assert vertex.last_request.path == ("/v1/projects/proj-e2e/locations/us-central1/publishers/google/models/"
                                        "text-embedding-005:predict")
    assert r2.usage.prompt_tokens == 5  # Vertex reports statistics.token_count
    assert r2.data[0].embedding == pytest.approx(embedding_vector("sunny day at the beach", 8))


# ---- Vertex AI ----

async def test_vertex_gemini_stream_and_shared_token(vertex: VertexFake) -> None:
    models = {"google/gemini": model({"vertex": "gemini-2.5-flash"})}
    async with gateway(providers(vertex=vertex), models) as gw:
        c = client(gw)
        results = await asyncio.gather(*(c.chat.completions.create(
            model="google/gemini", messages=[{"role": "user", "content": f"n{i}"}]) for i in range(8)))
        text, chunks = await collect(await c.chat.completions.create(
            model="google/gemini", messages=[{"role": "user", "content": "streamed words"}], stream=True,
            stream_options={"include_usage": True}))
    assert [r.choices[0].message.content for r in results] == [f"echo: n{i}" for i in range(8)]
    assert text == "echo: streamed words" and chunks[-1].usage.completion_tokens == 3
    assert vertex.tokens_issued == 1  # nine requests, concurrent ones included, one token
    sent = vertex.last_request
    assert sent.path.endswith("/publishers/google/models/gemini-2.5-flash:streamGenerateContent")
    assert sent.query == {"alt": "sse"} and sent.headers["authorization"].startswith("Bearer ya29.fake-1-")


async def test_vertex_token_is_refreshed_before_it_expires(vertex: VertexFake) -> None:
    vertex.token_ttl = 2  # usable for 1.5 s, refreshed after 1 s
    models = {"google/gemini": model({"vertex": "gemini-2.5-flash"})}
    async with gateway(providers(vertex=vertex), models) as gw:
        c = client(gw)
        await c.chat.completions.create(model="google/gemini", messages=[{"role": "user", "content": "a"}])
        await asyncio.sleep(1.6)
        r = await c.chat.completions.create(model="google/gemini", messages=[{"role": "user", "content": "b"}])
    assert r.choices[0].message.content == "echo: b" and vertex.tokens_issued == 2
    assert attempts(r) == [("vertex", True)]  # never sent an expired token


async def test_vertex_refused_token_fails_over_then_is_replaced(gemini: GeminiFake, vertex: VertexFake) -> None:
    models = {"google/gemini": model({"vertex": "gemini-2.5-flash", "google": "gemini-2.5-flash"})}
    async with gateway(providers(gemini, vertex), models, routing={"order": {"*": ["vertex", "google"]}}) as gw:
        c = client(gw)
        await c.chat.completions.create(model="google/gemini", messages=[{"role": "user", "content": "a"}])
        vertex.expire_tokens()  # revoked early, say
        r = await c.chat.completions.create(model="google/gemini", messages=[{"role": "user", "content": "b"}])
        r2 = await c.chat.completions.create(model="google/gemini", messages=[{"role": "user", "content": "c"}])
    assert attempts(r) == [("vertex", False), ("google", True)]
    assert gateway_meta(r)["routing"]["attempts"][0]["errorCategory"] == "authentication"
    assert attempts(r2) == [("vertex", True)] and vertex.tokens_issued == 2


async def test_vertex_token_endpoint_down_fails_over(gemini: GeminiFake, vertex: VertexFake) -> None:
    vertex.token_fail_status = 500
    models = {"google/gemini": model({"vertex": "gemini-2.5-flash", "google": "gemini-2.5-flash"})}
    async with gateway(providers(gemini, vertex), models, routing={"order": {"*": ["vertex", "google"]}}) as gw:
        r = await client(gw).chat.completions.create(model="google/gemini", messages=[{"role": "user", "content": "a"}])
    attempts_ = gateway_meta(r)["routing"]["attempts"]
    assert attempts(r) == [("vertex", False), ("google", True)]
    assert "could not get an access token" in attempts_[0]["error"] and "eyJ" not in attempts_[0]["error"]
    assert vertex.api_requests(":generateContent") == []


async def test_claude_on_vertex_tools_and_stream(vertex: VertexFake) -> None:
    vertex.push(tool_calls=[ToolCall("get_weather", {"city": "Oslo"})])
    models = {"anthropic/claude-sonnet-4-5": model({"vertex": "claude-sonnet-4-5@20250929"}, max_output=64000)}
    async with gateway(providers(vertex=vertex), models) as gw:
        c = client(gw)
        r = await c.chat.completions.create(model="anthropic/claude-sonnet-4-5", tools=[WEATHER_TOOL],
                                            messages=[{"role": "user", "content": "Weather in Oslo?"}])
        call = r.choices[0].message.tool_calls[0]
        assert (call.function.name, json.loads(call.function.arguments)) == ("get_weather", {"city": "Oslo"})
        assert r.choices[0].finish_reason == "tool_calls"
        sent = vertex.last_request
        assert sent.path == ("/v1/projects/proj-e2e/locations/us-central1/publishers/anthropic/models/"
                             "claude-sonnet-4-5@20250929:rawPredict")
        assert sent.json["anthropic_version"] == "vertex-2023-10-16" and "model" not in sent.json
        assert sent.json["max_tokens"] == 64000 and sent.json["tools"][0]["name"] == "get_weather"
        text, chunks = await collect(await c.chat.completions.create(
            model="anthropic/claude-sonnet-4-5", messages=[{"role": "user", "content": "hi claude"}], stream=True,
            stream_options={"include_usage": True}))
    assert text == "echo: hi claude" and chunks[-1].usage.prompt_tokens == 3
    assert vertex.last_request.path.endswith(":streamRawPredict") and vertex.last_request.json["stream"] is True


@pytest.mark.parametrize("stream", [False, True])
async def test_failover_across_three_protocols(stream: bool, claude: AnthropicFake, vertex: VertexFake,
                                               gemini: GeminiFake) -> None:
    """One model, three ways to reach it: Anthropic (529) -> Claude on Vertex (529) -> Gemini API."""
    claude.fail(529, times=1)
    vertex.fail(529, times=1)
    models = {"acme/assistant": model({"anthropic": "claude-sonnet-4-5", "vertex": "claude-sonnet-4-5@20250929",
                                       "google": "gemini-2.5-flash"})}
    order = {"*": ["anthropic", "vertex", "google"]}
    async with gateway(providers(gemini, vertex, claude), models, routing={"max_retry_wait": 0, "order": order}) as gw:
        c = client(gw)
        req: dict[str, Any] = {"model": "acme/assistant", "messages": [{"role": "user", "content": "who answers"}]}
        if stream:
            text, chunks = await collect(await c.chat.completions.create(**req, stream=True))
            result: Any = chunks[-1]
        else:
            result = await c.chat.completions.create(**req)
            text = result.choices[0].message.content
        assert text == "echo: who answers"
        assert attempts(result) == [("anthropic", False), ("vertex", False), ("google", True)]
        assert [a.get("statusCode") for a in gateway_meta(result)["routing"]["attempts"]] == [529, 529, 200]
        # Next time Claude on Vertex is up: the second protocol answers.
        claude.fail(529, times=1)
        again = await c.chat.completions.create(**req)
    assert attempts(again) == [("anthropic", False), ("vertex", True)]
    assert again.choices[0].message.content == "echo: who answers"
    assert vertex.tokens_issued == 1
