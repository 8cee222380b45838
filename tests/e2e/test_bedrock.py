"""End to end: the real `openai` SDK -> Switchyard -> fake Bedrock runtime (SigV4 verified on every
request, ConverseStream in real AWS event-stream framing) and, for failover, fake Anthropic/OpenAI."""

from __future__ import annotations

import json
from urllib.parse import unquote

import openai
import pytest

from tests.e2e.test_openai_sdk import WEATHER_TOOL, client, gateway_meta
from tests.fakes import ToolCall, embedding_vector
from tests.fakes.bedrock_fake import BedrockFake
from tests.gateway_harness import gateway, model

KEY, SECRET, TOKEN = "AKIDE2EBEDROCK", "e2e/secret+key", "FwoGZXIvYXdzE2E-session-token"
PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="
NOVA = "amazon.nova-pro-v1:0"  # the ':' must survive URL encoding and signing


@pytest.fixture
async def bedrock_fake():
    async with BedrockFake(KEY, SECRET, TOKEN, region="us-east-1") as fake:
        yield fake


def bedrock_provider(fake: BedrockFake, secret: str = SECRET, **timeouts) -> dict:
    entry = {"protocol": "bedrock", "base_url": fake.url,
             "options": {"access_key_id": KEY, "secret_access_key": secret, "session_token": TOKEN,
                         "region": "us-east-1"}}
    if timeouts:
        entry["timeouts"] = timeouts
    return {"bedrock": entry}


def others(openai_fake=None, anthropic_fake=None) -> dict:
    out = {}
    if openai_fake is not None:
        out["openai"] = {"protocol": "openai-chat", "base_url": openai_fake.base_url, "api_key": "sk-openai-secret"}
    if anthropic_fake is not None:
        out["anthropic"] = {"protocol": "anthropic-messages", "base_url": anthropic_fake.base_url,
                            "api_key": "sk-ant-secret"}
    return out


FIRST_BEDROCK = {"order": {"*": ["bedrock"]}}  # an explicit order: no health-ranked shuffling


def attempts(obj) -> list[tuple]:
    return [(a["provider"], a["success"], a.get("errorCategory")) for a in gateway_meta(obj)["routing"]["attempts"]]


async def test_text_completion(bedrock_fake):
    models = {"amazon/nova-pro": model({"bedrock": NOVA}, pricing={"input": 0.8, "output": 3.2})}
    async with gateway(bedrock_provider(bedrock_fake), models) as gw:
        raw = await client(gw).chat.completions.with_raw_response.create(
            model="amazon/nova-pro", messages=[{"role": "system", "content": "be brief"},
                                               {"role": "user", "content": "hello bedrock"}],
            temperature=0.2, max_tokens=50, stop=["END"])
        r = raw.parse()
    assert r.choices[0].message.content == "echo: hello bedrock"
    assert r.choices[0].finish_reason == "stop"
    assert r.usage.prompt_tokens == 6 and r.usage.completion_tokens == 3
    assert r.usage.model_extra["cost"] == pytest.approx((6 * 0.8 + 3 * 3.2) / 1e6)
    sent = bedrock_fake.last_request
    assert sent.path == f"/model/{NOVA}/converse" and bedrock_fake.signature_failures == 0
    assert sent.headers["x-amz-security-token"] == TOKEN
    assert sent.headers["authorization"].startswith(f"AWS4-HMAC-SHA256 Credential={KEY}/")
    assert sent.json["system"] == [{"text": "be brief"}]
    assert sent.json["inferenceConfig"] == {"maxTokens": 50, "temperature": 0.2, "stopSequences": ["END"]}
    assert gateway_meta(r)["routing"]["resolvedProvider"] == "bedrock"
    assert raw.headers["x-switchyard-provider"] == "bedrock"


@pytest.mark.parametrize("model_id", [
    "meta.llama3-3-70b-instruct-v1:0", "global.anthropic.claude-fable-5",
    "arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.anthropic.claude-sonnet-5-5"])
async def test_model_ids_with_colons_and_slashes_are_signed_as_sent(model_id, bedrock_fake):
    models = {"acme/chat": model({"bedrock": model_id})}
    async with gateway(bedrock_provider(bedrock_fake), models) as gw:
        for stream in (False, True):
            r = await client(gw).chat.completions.create(model="acme/chat", stream=stream,
                                                         messages=[{"role": "user", "content": "ping"}])
            if stream:
                assert "".join([c.choices[0].delta.content or "" async for c in r if c.choices]) == "echo: ping"
            else:
                assert r.choices[0].message.content == "echo: ping"
    assert bedrock_fake.signature_failures == 0 and len(bedrock_fake.requests) == 2
    assert all(unquote(req.path.split("/model/", 1)[1].rsplit("/", 1)[0]) == model_id
               for req in bedrock_fake.requests)


async def test_streaming_with_usage(bedrock_fake):
    bedrock_fake.push(usage={"cacheReadInputTokens": 10})
    models = {"amazon/nova-pro": model({"bedrock": NOVA}, pricing={"input": 1.0, "output": 2.0, "cache_read": 0.1})}
    async with gateway(bedrock_provider(bedrock_fake), models) as gw:
        chunks = [c async for c in await client(gw).chat.completions.create(
            model="amazon/nova-pro", messages=[{"role": "user", "content": "stream these words please"}],
            stream=True, stream_options={"include_usage": True})]
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "echo: stream these words please"
    assert len([c for c in chunks if c.choices and c.choices[0].delta.content]) >= 5
    assert bedrock_fake.last_request.path == f"/model/{NOVA}/converse-stream"
    last = chunks[-1]
    # Bedrock's inputTokens (5) excludes the 10 cached tokens: the caller sees all 15.
    assert last.choices == [] and last.usage.prompt_tokens == 15 and last.usage.completion_tokens == 5
    assert last.usage.prompt_tokens_details.cached_tokens == 10
    assert [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason] == ["stop"]


@pytest.mark.parametrize("stream", [False, True])
async def test_tool_call_round_trip(stream, bedrock_fake):
    bedrock_fake.push(tool_calls=[ToolCall("get_weather", {"city": "Paris"})])
    models = {"anthropic/claude": model({"bedrock": "anthropic.claude-sonnet-5-5"})}
    async with gateway(bedrock_provider(bedrock_fake), models) as gw:
        c = client(gw)
        messages = [{"role": "user", "content": "what is the weather in Paris?"}]
        kwargs = dict(model="anthropic/claude", messages=messages, tools=[WEATHER_TOOL], tool_choice="required")
        if stream:
            calls: dict[int, dict] = {}
            finish = None
            async for chunk in await c.chat.completions.create(stream=True, **kwargs):
                for ch in chunk.choices:
                    finish = ch.finish_reason or finish
                    for tc in ch.delta.tool_calls or ():
                        slot = calls.setdefault(tc.index, {"id": None, "name": None, "args": ""})
                        slot["id"] = tc.id or slot["id"]
                        slot["name"] = tc.function.name or slot["name"]
                        slot["args"] += tc.function.arguments or ""
            call_id, name, args = calls[0]["id"], calls[0]["name"], calls[0]["args"]
        else:
            r = await c.chat.completions.create(**kwargs)
            finish = r.choices[0].finish_reason
            tc = r.choices[0].message.tool_calls[0]
            call_id, name, args = tc.id, tc.function.name, tc.function.arguments
        assert finish == "tool_calls" and name == "get_weather" and json.loads(args) == {"city": "Paris"}
        sent = bedrock_fake.last_request.json
        assert sent["toolConfig"]["tools"][0]["toolSpec"]["name"] == "get_weather"
        assert sent["toolConfig"]["toolChoice"] == {"any": {}}
        messages += [{"role": "assistant", "content": None, "tool_calls": [
            {"id": call_id, "type": "function", "function": {"name": name, "arguments": args}}]},
            {"role": "tool", "tool_call_id": call_id, "content": "sunny, 21C"}]
        r2 = await c.chat.completions.create(model="anthropic/claude", messages=messages, tools=[WEATHER_TOOL],
                                             stream=False)
    assert r2.choices[0].message.content == "tool said: sunny, 21C"
    second = bedrock_fake.last_request.json["messages"]
    assert second[1]["content"] == [{"toolUse": {"toolUseId": call_id, "name": "get_weather",
                                                 "input": {"city": "Paris"}}}]
    assert second[2]["content"] == [{"toolResult": {"toolUseId": call_id, "content": [{"text": "sunny, 21C"}]}}]


async def test_image_inline_and_http_url_moves_on(bedrock_fake, anthropic_fake):
    models = {"acme/vision": model({"bedrock": NOVA, "anthropic": "claude-v"})}
    async with gateway({**bedrock_provider(bedrock_fake), **others(anthropic_fake=anthropic_fake)}, models,
                       routing=FIRST_BEDROCK) as gw:
        c = client(gw)
        r = await c.chat.completions.create(model="acme/vision", messages=[{"role": "user", "content": [
            {"type": "text", "text": "describe this"},
            {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{PNG}"}}]}])
        assert r.choices[0].message.content == "echo: describe this"
        blocks = bedrock_fake.last_request.json["messages"][0]["content"]
        assert {"image": {"format": "png", "source": {"bytes": PNG}}} in blocks
        # Converse cannot fetch http(s) images: Bedrock is passed over without being called.
        before = len(bedrock_fake.requests)
        r = await c.chat.completions.create(model="acme/vision", messages=[{"role": "user", "content": [
            {"type": "text", "text": "and this"},
            {"type": "image_url", "image_url": {"url": "https://x.test/a.png"}}]}])
    assert len(bedrock_fake.requests) == before
    assert attempts(r) == [("bedrock", False, "unsupported"), ("anthropic", True, None)]


TITAN = {"name": "Titan", "type": "embedding", "context_window": 8192, "dimensions": 1024, "pricing": {"input": 0.02},
         "providers": {"bedrock": {"id": "amazon.titan-embed-text-v2:0"}}}
COHERE = {"name": "Cohere", "type": "embedding", "context_window": 512, "dimensions": 1024, "pricing": {"input": 0.1},
          "providers": {"bedrock": {"id": "cohere.embed-english-v3"}}}


async def test_embeddings_titan_and_cohere(bedrock_fake):
    async with gateway(bedrock_provider(bedrock_fake), {"amazon/titan-embed": TITAN, "cohere/embed": COHERE}) as gw:
        c = client(gw)
        r = await c.embeddings.create(model="amazon/titan-embed", input="sunny day", dimensions=256)
        assert len(r.data) == 1 and r.data[0].embedding == pytest.approx(embedding_vector("sunny day", 256), rel=1e-6)
        assert r.usage.prompt_tokens == 2
        assert bedrock_fake.last_request.json == {"inputText": "sunny day", "normalize": True, "dimensions": 256}
        assert bedrock_fake.last_request.path == "/model/amazon.titan-embed-text-v2:0/invoke"
        r = await c.embeddings.create(model="cohere/embed", input=["first text", "second one here"],
                                      extra_body={"providerOptions": {"bedrock": {"input_type": "search_query"}}})
        assert [d.index for d in r.data] == [0, 1]
        assert r.data[1].embedding == pytest.approx(embedding_vector("second one here", 1024), rel=1e-6)
        assert bedrock_fake.last_request.json["input_type"] == "search_query"
        # from InvokeModel's X-Amzn-Bedrock-Input-Token-Count header (the fake counts words), not
        # the ceil(25 characters / 4) = 7 estimate the body alone would allow
        assert r.usage.prompt_tokens == 5
        # Titan embeds one text per call: a batch fans out into signed calls, vectors in input order.
        before = len(bedrock_fake.requests)
        texts = [f"text number {i}" for i in range(11)]
        r = await c.embeddings.create(model="amazon/titan-embed", input=texts, dimensions=256)
        assert [d.index for d in r.data] == list(range(11))
        for d, text in zip(r.data, texts):
            assert d.embedding == pytest.approx(embedding_vector(text, 256), rel=1e-6)
        sent = bedrock_fake.requests[before:]
        assert sorted(q.json["inputText"] for q in sent) == sorted(texts)
        assert r.usage.prompt_tokens == sum(q.json["inputText"].count(" ") + 1 for q in sent)
    assert bedrock_fake.signature_failures == 0


async def test_throttling_fails_over(bedrock_fake, openai_fake):
    bedrock_fake.fail(429, times=1)
    models = {"acme/chat": model({"bedrock": NOVA, "openai": "gpt"})}
    async with gateway({**bedrock_provider(bedrock_fake), **others(openai_fake)}, models,
                       routing=FIRST_BEDROCK) as gw:
        r = await client(gw).chat.completions.create(model="acme/chat", messages=[{"role": "user", "content": "x"}])
    assert r.choices[0].message.content == "echo: x"
    assert attempts(r) == [("bedrock", False, "rate_limited"), ("openai", True, None)]
    assert "Too many requests" in gateway_meta(r)["routing"]["attempts"][0]["error"]


async def test_bad_signature_fails_over_without_leaking_the_token(bedrock_fake, openai_fake):
    models = {"acme/chat": model({"bedrock": NOVA, "openai": "gpt"})}
    async with gateway({**bedrock_provider(bedrock_fake, secret="wrong"), **others(openai_fake)}, models,
                       routing=FIRST_BEDROCK) as gw:
        r = await client(gw).chat.completions.create(model="acme/chat", messages=[{"role": "user", "content": "x"}])
    assert attempts(r) == [("bedrock", False, "authentication"), ("openai", True, None)]
    assert bedrock_fake.signature_failures == 1
    assert TOKEN not in json.dumps(r.model_extra) and "wrong" not in json.dumps(r.model_extra)


async def test_context_too_long_moves_to_fallback_model(bedrock_fake, openai_fake):
    bedrock_fake.context_window = 3
    models = {"amazon/small": model({"bedrock": NOVA}), "acme/big": model({"openai": "big"})}
    async with gateway({**bedrock_provider(bedrock_fake), **others(openai_fake)}, models) as gw:
        r = await client(gw).chat.completions.create(
            model="amazon/small", messages=[{"role": "user", "content": "far too many words for this"}],
            extra_body={"models": ["acme/big"]})
    assert [(a["model"], a.get("errorCategory")) for a in gateway_meta(r)["routing"]["attempts"]] == \
        [("amazon/small", "context_too_long"), ("acme/big", None)]


@pytest.mark.parametrize("exc_type,category", [("throttlingException", "rate_limited"),
                                               ("modelStreamErrorException", "server_error"),
                                               ("serviceUnavailableException", "overloaded")])
async def test_stream_exception_before_first_byte_fails_over(exc_type, category, bedrock_fake, anthropic_fake):
    bedrock_fake.for_next(1, stream_error_after=1, stream_exception=exc_type)  # after messageStart
    models = {"acme/chat": model({"bedrock": NOVA, "anthropic": "claude"})}
    async with gateway({**bedrock_provider(bedrock_fake), **others(anthropic_fake=anthropic_fake)}, models,
                       routing=FIRST_BEDROCK) as gw:
        chunks = [c async for c in await client(gw).chat.completions.create(
            model="acme/chat", messages=[{"role": "user", "content": "one two"}], stream=True)]
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == "echo: one two"
    routing = chunks[-1].model_extra["provider_metadata"]["gateway"]["routing"]
    assert [(a["provider"], a.get("errorCategory")) for a in routing["attempts"]] == \
        [("bedrock", category), ("anthropic", None)]


@pytest.mark.parametrize("how", ["exception", "cut"])
async def test_stream_failure_after_first_byte_ends_with_error_event(how, bedrock_fake, anthropic_fake):
    if how == "exception":
        bedrock_fake.stream_error_after = 4
    else:
        bedrock_fake.cut_after_chunks = 4
    models = {"acme/chat": model({"bedrock": NOVA, "anthropic": "claude"})}
    async with gateway({**bedrock_provider(bedrock_fake), **others(anthropic_fake=anthropic_fake)}, models,
                       routing=FIRST_BEDROCK) as gw:
        stream = await client(gw).chat.completions.create(
            model="acme/chat", messages=[{"role": "user", "content": "one two three four five six"}], stream=True)
        received = []
        with pytest.raises(openai.APIError) as exc:
            async for chunk in stream:
                received.append(chunk)
    assert "".join(c.choices[0].delta.content or "" for c in received if c.choices).startswith("echo:")
    if how == "exception":
        assert "error while streaming" in str(exc.value)
    else:
        assert "metadata" in str(exc.value) or "closed the connection" in str(exc.value)
    assert anthropic_fake.api_requests("/v1/messages") == []  # too late to fail over


async def test_first_byte_timeout_fails_over(bedrock_fake, openai_fake):
    bedrock_fake.hang = True
    models = {"acme/chat": model({"bedrock": NOVA, "openai": "gpt"})}
    async with gateway({**bedrock_provider(bedrock_fake, first_byte=0.3), **others(openai_fake)}, models,
                       routing=FIRST_BEDROCK) as gw:
        r = await client(gw).chat.completions.create(model="acme/chat", messages=[{"role": "user", "content": "x"}])
    assert attempts(r) == [("bedrock", False, "timeout"), ("openai", True, None)]


@pytest.mark.parametrize("stream", [False, True])
async def test_anthropic_overloaded_fails_over_to_the_same_model_on_bedrock(stream, anthropic_fake, bedrock_fake):
    anthropic_fake.fail(529)
    models = {"anthropic/claude-sonnet": model({"anthropic": "claude-sonnet-5-5",
                                                "bedrock": "anthropic.claude-sonnet-5-5"})}
    async with gateway({**others(anthropic_fake=anthropic_fake), **bedrock_provider(bedrock_fake)}, models,
                       routing={"max_retry_wait": 0, "order": {"*": ["anthropic", "bedrock"]}}) as gw:
        kwargs = dict(model="anthropic/claude-sonnet", messages=[{"role": "user", "content": "hi there"}])
        if stream:
            chunks = [c async for c in await client(gw).chat.completions.create(stream=True, **kwargs)]
            text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
            meta = chunks[-1].model_extra["provider_metadata"]["gateway"]
        else:
            r = await client(gw).chat.completions.create(**kwargs)
            text, meta = r.choices[0].message.content, gateway_meta(r)
    assert text == "echo: hi there"
    assert [(a["provider"], a.get("statusCode")) for a in meta["routing"]["attempts"]] == \
        [("anthropic", 529), ("bedrock", 200)]
    assert meta["routing"]["resolvedProviderApiModelId"] == "anthropic.claude-sonnet-5-5"
    assert bedrock_fake.last_request.path == "/model/anthropic.claude-sonnet-5-5/" + \
        ("converse-stream" if stream else "converse")
