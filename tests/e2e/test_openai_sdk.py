"""End to end: the real `openai` SDK -> Switchyard -> fake OpenAI and Anthropic servers."""

from __future__ import annotations

import asyncio
import json

import aiohttp
import openai
import pytest

from tests.fakes import ToolCall
from tests.gateway_harness import gateway, model

WEATHER_TOOL = {"type": "function", "function": {
    "name": "get_weather", "description": "Weather for a city",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}


def providers(openai_fake=None, anthropic_fake=None, openai_fake2=None, **timeouts):
    out = {}
    extra = {"timeouts": timeouts} if timeouts else {}
    if openai_fake is not None:
        out["openai"] = {"protocol": "openai-chat", "base_url": openai_fake.base_url,
                         "api_key": "sk-openai-secret", **extra}
    if openai_fake2 is not None:
        out["compat"] = {"protocol": "openai-chat", "base_url": openai_fake2.base_url,
                         "api_key": "sk-openai2-secret", **extra}
    if anthropic_fake is not None:
        out["anthropic"] = {"protocol": "anthropic-messages", "base_url": anthropic_fake.base_url,
                            "api_key": "sk-ant-secret", **extra}
    return out


def client(gw) -> openai.AsyncOpenAI:
    c = openai.AsyncOpenAI(base_url=gw.base_url, api_key="caller-key", max_retries=0)
    gw.on_close(c.close)
    return c


def gateway_meta(obj) -> dict:
    return obj.model_extra["provider_metadata"]["gateway"]


async def test_plain_completion_through_openai_passthrough(openai_fake):
    models = {"acme/chat": model({"openai": "gpt-x"}, pricing={"input": 1.0, "output": 2.0})}
    async with gateway(providers(openai_fake), models) as gw:
        raw = await client(gw).chat.completions.with_raw_response.create(
            model="acme/chat", messages=[{"role": "user", "content": "hello there"}], temperature=0.3, seed=7,
            user="u1", stop=["END"], max_tokens=50)
        r = raw.parse()
    assert r.choices[0].message.content == "echo: hello there"
    sent = openai_fake.last_request
    assert sent.json["model"] == "gpt-x"  # the provider's own id
    assert sent.json["temperature"] == 0.3 and sent.json["seed"] == 7 and sent.json["stop"] == ["END"]
    assert sent.headers["authorization"] == "Bearer sk-openai-secret"  # ours, never the caller's
    assert r.usage.prompt_tokens == 3 and r.usage.completion_tokens == 3
    assert r.usage.model_extra["cost"] == pytest.approx((3 * 1.0 + 3 * 2.0) / 1e6)
    meta = gateway_meta(r)
    assert meta["routing"]["resolvedProvider"] == "openai"
    assert meta["routing"]["resolvedProviderApiModelId"] == "gpt-x"
    assert [a["success"] for a in meta["routing"]["attempts"]] == [True]
    assert meta["generationId"].startswith("gen_")
    assert raw.headers["x-switchyard-provider"] == "openai"
    assert raw.headers["x-switchyard-generation-id"] == meta["generationId"]
    assert raw.headers["x-switchyard-input-tokens"] == "3"
    assert float(raw.headers["x-switchyard-cost"]) == pytest.approx(9e-6)


async def test_plain_completion_translated_to_anthropic(anthropic_fake):
    models = {"acme/claude": model({"anthropic": "claude-x"}, max_output=1000,
                                   pricing={"input": 3, "output": 15, "cache_read": 0.3, "cache_write": 3.75})}
    async with gateway(providers(anthropic_fake=anthropic_fake), models) as gw:
        r = await client(gw).chat.completions.create(model="acme/claude", messages=[
            {"role": "system", "content": "be brief"}, {"role": "user", "content": "hi claude"}])
    assert r.choices[0].message.content == "echo: hi claude"
    assert r.choices[0].finish_reason == "stop"
    sent = anthropic_fake.last_request
    assert sent.path == "/v1/messages"
    assert sent.headers["x-api-key"] == "sk-ant-secret" and "anthropic-version" in sent.headers
    assert sent.json["model"] == "claude-x" and sent.json["max_tokens"] == 1000
    assert sent.json["system"][0]["text"] == "be brief"
    assert gateway_meta(r)["routing"]["resolvedProvider"] == "anthropic"


@pytest.mark.parametrize("which", ["openai", "anthropic"])
async def test_streaming_with_usage(which, openai_fake, anthropic_fake):
    models = {"acme/chat": model({which: f"{which}-model"})}
    async with gateway(providers(openai_fake, anthropic_fake), models) as gw:
        raw = await client(gw).chat.completions.with_raw_response.create(
            model="acme/chat", messages=[{"role": "user", "content": "stream these words please"}],
            stream=True, stream_options={"include_usage": True})
        assert raw.headers["x-switchyard-provider"] == which
        chunks = [c async for c in raw.parse()]
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "echo: stream these words please"
    content_chunks = [c for c in chunks if c.choices and c.choices[0].delta.content]
    assert len(content_chunks) >= 5  # streamed word by word, not buffered
    last = chunks[-1]
    assert last.choices == [] and last.usage.prompt_tokens == 5 and last.usage.completion_tokens == 5
    assert last.usage.model_extra["cost"] == pytest.approx((5 + 10) / 1e6)
    meta = last.model_extra["provider_metadata"]["gateway"]
    assert meta["routing"]["resolvedProvider"] == which and meta["usage"]["output"] == 5
    assert [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason] == ["stop"]


@pytest.mark.parametrize("which", ["openai", "anthropic"])
async def test_stream_reaches_the_caller_while_the_provider_is_still_writing(which, openai_fake, anthropic_fake):
    """The first words are relayed as they come, not when the provider's answer is complete."""
    fake = openai_fake if which == "openai" else anthropic_fake
    # the rest waits until the caller has seen text: after "echo: one" (OpenAI: role chunk and two
    # words; Anthropic: message_start, content_block_start, ping and two words)
    fake.for_next(1, hold_after_chunks=3 if which == "openai" else 5)
    models = {"acme/chat": model({which: "m"})}
    text, released_by_caller = "", False
    async with gateway(providers(openai_fake, anthropic_fake), models) as gw:
        try:
            async with asyncio.timeout(10):  # the response head, too, must come before the release
                stream = await client(gw).chat.completions.create(
                    model="acme/chat", messages=[{"role": "user", "content": "one two three four five"}],
                    stream=True, stream_options={"include_usage": True})
                async for c in stream:
                    if c.choices and c.choices[0].delta.content:
                        text += c.choices[0].delta.content
                        released_by_caller = released_by_caller or not fake.release.is_set()
                        fake.release.set()  # only now may the provider go on
        finally:
            fake.release.set()  # a failure must not leave the fake (and the gateway's close) waiting
    assert released_by_caller
    assert text == "echo: one two three four five"


@pytest.mark.parametrize("which", ["openai", "anthropic"])
async def test_streaming_without_usage_puts_metadata_on_finish_chunk(which, openai_fake, anthropic_fake):
    models = {"acme/chat": model({which: f"{which}-model"})}
    async with gateway(providers(openai_fake, anthropic_fake), models) as gw:
        chunks = [c async for c in await client(gw).chat.completions.create(
            model="acme/chat", messages=[{"role": "user", "content": "a b c"}], stream=True)]
    assert all(c.usage is None for c in chunks)
    assert all(c.choices for c in chunks)  # no usage-only chunk the caller did not ask for
    assert chunks[-1].choices[0].finish_reason == "stop"
    assert chunks[-1].model_extra["provider_metadata"]["gateway"]["usage"]["input"] == 4


@pytest.mark.parametrize("which", ["openai", "anthropic"])
@pytest.mark.parametrize("stream", [False, True])
async def test_tool_call_round_trip(which, stream, openai_fake, anthropic_fake):
    fake = openai_fake if which == "openai" else anthropic_fake
    fake.push(tool_calls=[ToolCall("get_weather", {"city": "Paris"})])
    models = {"acme/chat": model({which: "m"})}
    async with gateway(providers(openai_fake, anthropic_fake), models) as gw:
        c = client(gw)
        messages = [{"role": "user", "content": "what is the weather in Paris?"}]
        kwargs = dict(model="acme/chat", messages=messages, tools=[WEATHER_TOOL], tool_choice="auto")
        if stream:
            calls: dict[int, dict] = {}
            finish = None
            async for chunk in await c.chat.completions.create(stream=True, **kwargs):
                for ch in chunk.choices:
                    finish = ch.finish_reason or finish
                    for tc in ch.delta.tool_calls or ():
                        slot = calls.setdefault(tc.index, {"id": None, "name": None, "args": ""})
                        slot["id"] = tc.id or slot["id"]
                        if tc.function.name:
                            slot["name"] = tc.function.name
                        slot["args"] += tc.function.arguments or ""
            call = calls[0]
            call_id, name, args = call["id"], call["name"], call["args"]
        else:
            r = await c.chat.completions.create(**kwargs)
            finish = r.choices[0].finish_reason
            tc = r.choices[0].message.tool_calls[0]
            call_id, name, args = tc.id, tc.function.name, tc.function.arguments
        assert finish == "tool_calls"
        assert name == "get_weather" and json.loads(args) == {"city": "Paris"}
        sent_tools = fake.last_request.json["tools"]
        assert (sent_tools[0]["function"]["name"] if which == "openai" else sent_tools[0]["name"]) == "get_weather"
        # Second step: the tool result goes back and the model answers with it.
        messages += [{"role": "assistant", "content": None, "tool_calls": [
            {"id": call_id, "type": "function", "function": {"name": name, "arguments": args}}]},
            {"role": "tool", "tool_call_id": call_id, "content": "sunny, 21C"}]
        r2 = await c.chat.completions.create(model="acme/chat", messages=messages, tools=[WEATHER_TOOL])
    assert r2.choices[0].message.content == "tool said: sunny, 21C"


async def test_image_part_translated_for_anthropic(anthropic_fake):
    models = {"acme/vision": model({"anthropic": "claude-v"})}
    png = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="
    async with gateway(providers(anthropic_fake=anthropic_fake), models) as gw:
        r = await client(gw).chat.completions.create(model="acme/vision", messages=[{"role": "user", "content": [
            {"type": "text", "text": "describe this"},
            {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{png}"}}]}])
    assert r.choices[0].message.content == "echo: describe this"
    blocks = anthropic_fake.last_request.json["messages"][0]["content"]
    assert {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": png}} in blocks


async def test_provider_without_vision_is_skipped_without_sending(openai_fake, anthropic_fake):
    models = {"acme/chat": {**model({"openai": "a", "anthropic": "b"}),
                            "providers": {"openai": {"id": "a", "capabilities": ["tools"]},
                                          "anthropic": {"id": "b"}}}}
    async with gateway(providers(openai_fake, anthropic_fake), models) as gw:
        r = await client(gw).chat.completions.create(model="acme/chat", messages=[{"role": "user", "content": [
            {"type": "text", "text": "look"}, {"type": "image_url", "image_url": {"url": "https://example.com/x.png"}}]}])
    assert openai_fake.api_requests("/chat/completions") == []
    routing = gateway_meta(r)["routing"]
    assert routing["resolvedProvider"] == "anthropic"
    assert routing["skipped"] == [{"model": "acme/chat", "provider": "openai", "reason": "does not support vision"}]


@pytest.mark.parametrize("status", [500, 503, 529, 429, 408, 409])
async def test_failover_to_next_provider(status, openai_fake, anthropic_fake):
    openai_fake.fail(status, times=1)
    models = {"acme/chat": model({"openai": "gpt", "anthropic": "claude"})}
    async with gateway(providers(openai_fake, anthropic_fake), models) as gw:
        r = await client(gw).chat.completions.create(model="acme/chat", messages=[{"role": "user", "content": "x"}])
    assert r.choices[0].message.content == "echo: x"
    attempts = gateway_meta(r)["routing"]["attempts"]
    assert [(a["provider"], a["success"], a.get("statusCode")) for a in attempts] == \
        [("openai", False, status), ("anthropic", True, 200)]


async def test_order_and_only_from_the_request(openai_fake, anthropic_fake):
    models = {"acme/chat": model({"openai": "gpt", "anthropic": "claude"})}
    async with gateway(providers(openai_fake, anthropic_fake), models) as gw:
        c = client(gw)
        r = await c.chat.completions.create(model="acme/chat", messages=[{"role": "user", "content": "x"}],
                                            extra_body={"providerOptions": {"gateway": {"order": ["anthropic"]}}})
        assert gateway_meta(r)["routing"]["resolvedProvider"] == "anthropic"
        anthropic_fake.fail(500)
        with pytest.raises(openai.APIStatusError) as exc:
            await c.chat.completions.create(model="acme/chat", messages=[{"role": "user", "content": "x"}],
                                            extra_body={"providerOptions": {"gateway": {"only": ["anthropic"]}}})
    assert exc.value.status_code == 502
    assert openai_fake.api_requests("/chat/completions") == []


async def test_fallback_model_after_context_length_error(openai_fake, anthropic_fake):
    openai_fake.context_window = 3
    models = {"acme/small": model({"openai": "small"}), "acme/big": model({"anthropic": "big"})}
    async with gateway(providers(openai_fake, anthropic_fake), models) as gw:
        r = await client(gw).chat.completions.create(
            model="acme/small", messages=[{"role": "user", "content": "far too many words for the small one"}],
            extra_body={"models": ["acme/big"]})
    routing = gateway_meta(r)["routing"]
    assert routing["fallbacksAvailable"] == ["acme/big"]
    assert [(a["model"], a["success"], a.get("errorCategory")) for a in routing["attempts"]] == \
        [("acme/small", False, "context_too_long"), ("acme/big", True, None)]
    assert routing["canonicalSlug"] == "acme/big"


async def test_fallback_models_from_config(openai_fake, anthropic_fake):
    anthropic_fake.fail(529)
    models = {"acme/a": model({"anthropic": "a"}), "acme/b": model({"openai": "b"})}
    async with gateway(providers(openai_fake, anthropic_fake), models,
                       routing={"fallbacks": {"acme/a": ["acme/b"]}, "max_retry_wait": 0}) as gw:
        r = await client(gw).chat.completions.create(model="acme/a", messages=[{"role": "user", "content": "x"}])
    assert gateway_meta(r)["routing"]["resolvedProvider"] == "openai"
    assert openai_fake.last_request.json["model"] == "b"


async def test_caller_fault_is_returned_as_is_and_not_retried(openai_fake, openai_fake2):
    openai_fake.fail(400, message="Invalid value for 'temperature'", code="invalid_value")
    models = {"acme/chat": model({"openai": "a", "compat": "b"})}
    async with gateway(providers(openai_fake, openai_fake2=openai_fake2), models) as gw:
        with pytest.raises(openai.BadRequestError) as exc:
            await client(gw).chat.completions.create(model="acme/chat", messages=[{"role": "user", "content": "x"}])
    assert exc.value.body["message"] == "Invalid value for 'temperature'"
    assert exc.value.body["code"] == "invalid_value"
    assert openai_fake2.api_requests("/chat/completions") == []


async def test_all_attempts_failed_lists_attempts(openai_fake, anthropic_fake):
    openai_fake.fail(500)
    anthropic_fake.fail(529)
    models = {"acme/chat": model({"openai": "a", "anthropic": "b"})}
    async with gateway(providers(openai_fake, anthropic_fake), models, routing={"max_retry_wait": 0}) as gw:
        with pytest.raises(openai.APIStatusError) as exc:
            await client(gw).chat.completions.create(model="acme/chat", messages=[{"role": "user", "content": "x"}])
    assert exc.value.status_code == 502
    body = exc.value.body
    assert body["code"] == "all_attempts_failed"
    assert [(a["provider"], a["statusCode"]) for a in body["attempts"]] == [("openai", 500), ("anthropic", 529)]
    assert "sk-openai-secret" not in json.dumps(body) and "sk-ant-secret" not in json.dumps(body)


async def test_retry_after_is_honoured_when_nothing_else_is_left(openai_fake):
    openai_fake.fail(429, times=1, retry_after=0.2)
    models = {"acme/chat": model({"openai": "a"})}
    async with gateway(providers(openai_fake), models, routing={"max_retry_wait": 1.0}) as gw:
        r = await client(gw).chat.completions.create(model="acme/chat", messages=[{"role": "user", "content": "x"}])
    attempts = gateway_meta(r)["routing"]["attempts"]
    assert [(a["provider"], a.get("statusCode")) for a in attempts] == [("openai", 429), ("openai", 200)]


async def test_long_retry_after_is_passed_to_the_caller(openai_fake):
    openai_fake.fail(429, retry_after=30)
    models = {"acme/chat": model({"openai": "a"})}
    async with gateway(providers(openai_fake), models, routing={"max_retry_wait": 1.0}) as gw:
        with pytest.raises(openai.RateLimitError) as exc:
            await client(gw).chat.completions.create(model="acme/chat", messages=[{"role": "user", "content": "x"}])
    assert exc.value.response.headers["retry-after"] == "30"
    assert len(openai_fake.api_requests("/chat/completions")) == 1


async def test_first_byte_timeout_fails_over(openai_fake, anthropic_fake):
    openai_fake.hang = True
    models = {"acme/chat": model({"openai": "a", "anthropic": "b"})}
    async with gateway(providers(openai_fake, anthropic_fake, first_byte=0.3), models) as gw:
        r = await client(gw).chat.completions.create(model="acme/chat", messages=[{"role": "user", "content": "x"}])
    attempts = gateway_meta(r)["routing"]["attempts"]
    assert attempts[0]["errorCategory"] == "timeout" and attempts[1]["success"]


async def test_connect_error_fails_over(anthropic_fake):
    models = {"acme/chat": model({"openai": "a", "anthropic": "b"})}
    dead = {"openai": {"protocol": "openai-chat", "base_url": "http://127.0.0.1:9/v1", "api_key": "k"}}
    async with gateway({**dead, **providers(anthropic_fake=anthropic_fake)}, models) as gw:
        r = await client(gw).chat.completions.create(model="acme/chat", messages=[{"role": "user", "content": "x"}])
    attempts = gateway_meta(r)["routing"]["attempts"]
    assert attempts[0]["errorCategory"] == "connect" and attempts[1]["provider"] == "anthropic"


@pytest.mark.parametrize("which", ["openai", "anthropic"])
async def test_stream_cut_before_first_byte_fails_over(which, openai_fake, anthropic_fake):
    first = openai_fake if which == "openai" else anthropic_fake
    first.for_next(1, cut_after_chunks=0)
    order = ["openai", "anthropic"] if which == "openai" else ["anthropic", "openai"]
    models = {"acme/chat": model({"openai": "a", "anthropic": "b"})}
    async with gateway(providers(openai_fake, anthropic_fake), models, routing={"order": {"*": order}}) as gw:
        chunks = [c async for c in await client(gw).chat.completions.create(
            model="acme/chat", messages=[{"role": "user", "content": "one two"}], stream=True)]
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "echo: one two"
    routing = chunks[-1].model_extra["provider_metadata"]["gateway"]["routing"]
    assert routing["resolvedProvider"] == order[1]


async def test_anthropic_overloaded_event_at_stream_start_fails_over(openai_fake, anthropic_fake):
    anthropic_fake.for_next(1, stream_error_after=1)
    models = {"acme/chat": model({"anthropic": "b", "openai": "a"})}
    async with gateway(providers(openai_fake, anthropic_fake), models) as gw:
        chunks = [c async for c in await client(gw).chat.completions.create(
            model="acme/chat", messages=[{"role": "user", "content": "hi"}], stream=True)]
    routing = chunks[-1].model_extra["provider_metadata"]["gateway"]["routing"]
    assert [a["provider"] for a in routing["attempts"]] == ["anthropic", "openai"]
    assert routing["attempts"][0]["errorCategory"] == "overloaded"


@pytest.mark.parametrize("which", ["openai", "anthropic"])
async def test_stream_cut_after_first_byte_ends_with_error_event(which, openai_fake, anthropic_fake):
    fake = openai_fake if which == "openai" else anthropic_fake
    fake.cut_after_chunks = 5
    models = {"acme/chat": model({which: "a"})}
    async with gateway(providers(openai_fake, anthropic_fake), models) as gw:
        stream = await client(gw).chat.completions.create(
            model="acme/chat", messages=[{"role": "user", "content": "one two three four five six seven"}],
            stream=True)
        received = []
        with pytest.raises(openai.APIError) as exc:
            async for chunk in stream:
                received.append(chunk)
    assert received  # the stream had started before the cut
    assert "stream ended" in str(exc.value) or "closed the connection" in str(exc.value)
    rec = gw.app.records.get(received[0].id) if received[0].id.startswith("gen_") else None
    if rec is not None:
        assert rec.status == 502


@pytest.mark.parametrize("which", ["openai", "anthropic"])
async def test_client_disconnect_cancels_upstream(which, openai_fake, anthropic_fake):
    fake = openai_fake if which == "openai" else anthropic_fake
    fake.chunk_delay_s = 0.2
    models = {"acme/chat": model({which: "a"})}
    async with gateway(providers(openai_fake, anthropic_fake), models) as gw:
        stream = await client(gw).chat.completions.create(
            model="acme/chat", messages=[{"role": "user", "content": " ".join(["word"] * 50)}], stream=True)
        async for _ in stream:
            break
        await stream.close()
        await fake.wait_for(lambda: fake.cancelled == 1, timeout=5)
        assert fake.active_requests == 0
        records = list(gw.app.records._records.values())
    assert records[-1].status == 499


async def test_cancel_while_waiting_for_first_byte(openai_fake):
    openai_fake.hang = True
    models = {"acme/chat": model({"openai": "a"})}
    async with gateway(providers(openai_fake), models) as gw:
        c = client(gw)
        task = asyncio.create_task(c.chat.completions.create(
            model="acme/chat", messages=[{"role": "user", "content": "x"}]))
        await openai_fake.wait_for(lambda: openai_fake.active_requests == 1)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        await openai_fake.wait_for(lambda: openai_fake.cancelled == 1, timeout=5)


async def test_models_endpoints(openai_fake, anthropic_fake):
    models = {"acme/chat": model({"openai": "gpt", "anthropic": "claude"},
                                 pricing={"input": 1.5, "output": 6.0, "cache_read": 0.15})}
    async with gateway(providers(openai_fake, anthropic_fake), models) as gw:
        c = client(gw)
        listed = [m async for m in c.models.list()]
        one = await c.models.retrieve("acme/chat")
        with pytest.raises(openai.NotFoundError):
            await c.models.retrieve("acme/nope")
    assert [m.id for m in listed] == ["acme/chat"]
    assert one.owned_by == "acme"
    extra = one.model_extra
    assert extra["context_window"] == 100_000 and extra["pricing"]["cache_read"] == 0.15
    assert [p["provider"] for p in extra["providers"]] == ["openai", "anthropic"]


async def test_request_errors_are_openai_shaped(openai_fake):
    models = {"acme/chat": model({"openai": "a"})}
    async with gateway(providers(openai_fake), models, server={"max_body_bytes": 2000}) as gw:
        c = client(gw)
        with pytest.raises(openai.NotFoundError) as nf:
            await c.chat.completions.create(model="acme/unknown", messages=[{"role": "user", "content": "x"}])
        assert nf.value.body["code"] == "model_not_found"
        with pytest.raises(openai.BadRequestError) as bad:
            await c.chat.completions.create(model="acme/chat", messages=[{"role": "user", "content": "x"}],
                                            temperature="hot")  # type: ignore[arg-type]
        assert bad.value.body["param"] == "temperature"
        async with aiohttp.ClientSession() as h:
            async with h.post(gw.base_url + "/chat/completions", data=b"{not json",
                              headers={"content-type": "application/json"}) as r:
                assert r.status == 400 and (await r.json())["error"]["type"] == "invalid_request_error"
            async with h.post(gw.base_url + "/chat/completions", data=b"x" * 5000) as r:
                assert r.status == 413 and "error" in await r.json()
            async with h.post(gw.base_url + "/chat/completions",
                              json={"model": "acme/chat", "messages": [{"role": "wizard", "content": "x"}]}) as r:
                assert r.status == 400 and (await r.json())["error"]["param"] == "messages[0].role"
    assert openai_fake.api_requests("/chat/completions") == []


async def test_callers_cannot_choose_upstream_url(openai_fake):
    models = {"acme/chat": model({"openai": "a"})}
    async with gateway(providers(openai_fake), models) as gw:
        await client(gw).chat.completions.create(
            model="acme/chat", messages=[{"role": "user", "content": "x"}],
            extra_body={"api_base": "http://169.254.169.254/", "base_url": "http://evil/"},
            extra_headers={"x-forwarded-host": "evil"})
    assert len(openai_fake.api_requests("/chat/completions")) == 1
    assert "x-forwarded-host" not in openai_fake.last_request.headers
    assert openai_fake.last_request.headers["authorization"] == "Bearer sk-openai-secret"


async def test_generation_lookup(openai_fake):
    models = {"acme/chat": model({"openai": "a"})}
    async with gateway(providers(openai_fake), models) as gw:
        r = await client(gw).chat.completions.create(model="acme/chat", messages=[{"role": "user", "content": "x"}])
        gen_id = gateway_meta(r)["generationId"]
        async with aiohttp.ClientSession() as h:
            async with h.get(gw.url + "/v1/generation", params={"id": gen_id}) as resp:
                info = (await resp.json())["data"]
    assert info["id"] == gen_id and info["provider_name"] == "openai" and info["native_tokens_prompt"] == 2


async def test_byok_uses_the_callers_key_for_that_request_only(openai_fake, anthropic_fake):
    models = {"acme/chat": model({"openai": "gpt", "anthropic": "claude"})}
    async with gateway(providers(openai_fake, anthropic_fake), models,
                       routing={"order": {"*": ["openai", "anthropic"]}}) as gw:
        c = client(gw)
        openai_fake.api_key = "sk-callers-own"  # only the caller's key works now
        r = await c.chat.completions.create(
            model="acme/chat", messages=[{"role": "user", "content": "x"}],
            extra_body={"providerOptions": {"gateway": {"byok": {"openai": [{"apiKey": "sk-callers-own"}]}}}})
        attempt = gateway_meta(r)["routing"]["attempts"][0]
        assert attempt["provider"] == "openai" and attempt["credentialType"] == "byok" and attempt["success"]
        assert openai_fake.last_request.headers["authorization"] == "Bearer sk-callers-own"
        assert "byok" not in json.dumps(openai_fake.last_request.json)  # gateway options never go upstream
        r2 = await c.chat.completions.create(model="acme/chat", messages=[{"role": "user", "content": "x"}])
        routing = gateway_meta(r2)["routing"]  # without BYOK our key is used (and fails here): anthropic
        assert [a["credentialType"] for a in routing["attempts"]] == ["system", "system"]
        assert routing["resolvedProvider"] == "anthropic"
        assert "sk-callers-own" not in json.dumps(gateway_meta(r2))
