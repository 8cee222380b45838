"""The fake providers, verified with the real OpenAI / Anthropic SDKs."""

from __future__ import annotations

import asyncio
import base64
import json
import struct
import time

import aiohttp
import anthropic
import openai
import pytest

try:
    from tests.fakes import (
        AnthropicFake,
        OpenAIFake,
        ToolCall,
        count_prompt,
        embedding_vector,
        fake_in_thread,
        running_in_thread,
    )
except ImportError:  # tests/ is not a package: pytest puts tests/ itself on sys.path
    from fakes import (  # type: ignore
        AnthropicFake,
        OpenAIFake,
        ToolCall,
        count_prompt,
        embedding_vector,
        fake_in_thread,
        running_in_thread,
    )

OKEY, AKEY = "sk-test-0123456789", "sk-ant-test-0123456789"
GPT, CLAUDE = "gpt-4o-mini", "claude-haiku-4-5"
WEATHER_OA = [{"type": "function", "function": {
    "name": "get_weather", "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}}]
WEATHER_AN = [{"name": "get_weather", "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}}}]


def user(text):
    return [{"role": "user", "content": text}]


@pytest.fixture
def ofake():
    fake, stop = fake_in_thread(OpenAIFake, api_key=OKEY)
    yield fake
    stop()


@pytest.fixture
def oai(ofake):
    return openai.OpenAI(base_url=ofake.base_url, api_key=OKEY, max_retries=0)


@pytest.fixture
def afake():
    fake, stop = fake_in_thread(AnthropicFake, api_key=AKEY)
    yield fake
    stop()


@pytest.fixture
def ant(afake):
    return anthropic.Anthropic(base_url=afake.base_url, api_key=AKEY, max_retries=0)


# ---------------------------------------------------------------- OpenAI
def test_openai_plain_completion_and_recording(ofake, oai):
    raw = oai.chat.completions.with_raw_response.create(
        model=GPT, messages=[{"role": "system", "content": "be brief"}] + user("hello big world"))
    r = raw.parse()
    assert r.object == "chat.completion" and r.id.startswith("chatcmpl-")
    assert r.choices[0].message.content == "echo: hello big world"
    assert r.choices[0].finish_reason == "stop"
    assert r.usage.prompt_tokens == count_prompt(["be brief", "hello big world"]) == 7
    assert r.usage.completion_tokens == 4 and r.usage.total_tokens == 11
    assert r.usage.prompt_tokens_details.cached_tokens == 0
    assert raw.headers["x-request-id"].startswith("req_")
    assert raw.headers["x-ratelimit-reset-requests"] == "6ms"
    assert int(raw.headers["x-ratelimit-remaining-requests"]) < int(raw.headers["x-ratelimit-limit-requests"])
    rec = ofake.last_request
    assert (rec.method, rec.path) == ("POST", "/v1/chat/completions")
    assert rec.headers["authorization"] == f"Bearer {OKEY}"
    assert rec.json["model"] == GPT and rec.json["messages"][-1]["content"] == "hello big world"


def test_openai_stream_include_usage_raw_chunks(ofake, oai):
    chunks = list(oai.chat.completions.create(model=GPT, messages=user("one two three"), stream=True,
                                              stream_options={"include_usage": True}))
    assert chunks[0].choices[0].delta.role == "assistant" and chunks[0].choices[0].delta.content == ""
    pieces = [c.choices[0].delta.content for c in chunks[1:-2]]
    assert pieces == ["echo:", " one", " two", " three"]
    assert chunks[-2].choices[0].finish_reason == "stop" and chunks[-2].choices[0].delta.content is None
    assert chunks[-1].choices == [] and chunks[-1].usage.completion_tokens == 4
    assert all(c.usage is None for c in chunks[:-1])
    assert all(c.object == "chat.completion.chunk" and c.id == chunks[0].id for c in chunks)


def test_openai_stream_helper_assembles(ofake, oai):
    ofake.chunk_words = 2
    with oai.chat.completions.stream(model=GPT, messages=user("a b c d e"),
                                     stream_options={"include_usage": True}) as s:
        final = s.get_final_completion()
    assert final.choices[0].message.content == "echo: a b c d e"
    assert final.usage.prompt_tokens == 6 and final.usage.completion_tokens == 6


def test_openai_tools_plain_stream_and_result(ofake, oai):
    r = oai.chat.completions.create(model=GPT, messages=user('please call get_weather {"city": "Paris"}'),
                                    tools=WEATHER_OA)
    call = r.choices[0].message.tool_calls[0]
    assert r.choices[0].finish_reason == "tool_calls" and r.choices[0].message.content is None
    assert call.function.name == "get_weather" and json.loads(call.function.arguments) == {"city": "Paris"}
    assert call.id.startswith("call_")
    with oai.chat.completions.stream(model=GPT, messages=user("call get_weather"), tools=WEATHER_OA) as s:
        final = s.get_final_completion()
    assert final.choices[0].message.tool_calls[0].function.arguments == "{}"
    ofake.push(tool_calls=[ToolCall("get_weather", {"city": "Paris", "unit": "celsius"})])
    chunks = list(oai.chat.completions.create(model=GPT, messages=user("hi"), tools=WEATHER_OA, stream=True))
    frags = [c.choices[0].delta.tool_calls[0].function.arguments for c in chunks
             if c.choices and c.choices[0].delta.tool_calls]
    assert len(frags) > 3 and json.loads("".join(frags)) == {"city": "Paris", "unit": "celsius"}
    # no tools in the request -> plain echo even if the text says "call"
    r = oai.chat.completions.create(model=GPT, messages=user("call get_weather"))
    assert r.choices[0].message.content == "echo: call get_weather"
    msgs = user("call get_weather") + [
        {"role": "assistant", "content": None, "tool_calls": [
            {"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": "{}"}}]},
        {"role": "tool", "tool_call_id": "call_1", "content": "sunny 21C"}]
    r = oai.chat.completions.create(model=GPT, messages=msgs, tools=WEATHER_OA)
    assert r.choices[0].message.content == "tool said: sunny 21C"


def test_openai_script_and_limits(ofake, oai):
    ofake.push("scripted answer", usage={"prompt_tokens": 100, "prompt_tokens_details": {"cached_tokens": 40}})
    ofake.push(finish_reason="content_filter")
    r = oai.chat.completions.create(model=GPT, messages=user("x"))
    assert r.choices[0].message.content == "scripted answer"
    assert r.usage.prompt_tokens == 100 and r.usage.prompt_tokens_details.cached_tokens == 40
    assert r.usage.total_tokens == 102
    r = oai.chat.completions.create(model=GPT, messages=user("y"))
    assert (r.choices[0].message.content, r.choices[0].finish_reason) == ("echo: y", "content_filter")
    r = oai.chat.completions.create(model=GPT, messages=user("a b c d e f"), max_tokens=3)
    assert (r.choices[0].message.content, r.choices[0].finish_reason) == ("echo: a b", "length")


def test_openai_embeddings(ofake, oai):
    r = oai.embeddings.create(model="text-embedding-3-small", input=["hello world", "bye"], encoding_format="float")
    assert ofake.last_request.json["encoding_format"] == "float"
    assert len(r.data) == 2 and len(r.data[0].embedding) == 1536
    assert r.data[0].embedding == embedding_vector("hello world", 1536)
    assert r.usage.prompt_tokens == 3
    r = oai.embeddings.create(model="text-embedding-3-small", input="hello world")  # SDK asks for base64
    assert ofake.last_request.json["encoding_format"] == "base64"
    assert r.data[0].embedding == embedding_vector("hello world", 1536)
    r = oai.embeddings.create(model="text-embedding-3-large", input="hi", encoding_format="base64", dimensions=8)
    raw = base64.b64decode(r.data[0].embedding)
    assert list(struct.unpack("<8f", raw)) == embedding_vector("hi", 8)


def test_openai_models(ofake, oai):
    assert GPT in [m.id for m in oai.models.list()]


def test_openai_errors(ofake, oai):
    ofake.fail(429, times=1, retry_after=2)
    with pytest.raises(openai.RateLimitError) as ei:
        oai.chat.completions.create(model=GPT, messages=user("x"))
    assert ei.value.code == "rate_limit_exceeded" and ei.value.type == "requests"
    assert ei.value.response.headers["retry-after"] == "2"
    assert oai.chat.completions.create(model=GPT, messages=user("x")).choices[0].message.content == "echo: x"
    ofake.fail(429, times=1, error_type="tokens")
    with pytest.raises(openai.RateLimitError) as ei:
        oai.chat.completions.create(model=GPT, messages=user("x"))
    assert ei.value.type == "tokens" and "TPM" in ei.value.message
    for status in (500, 503):
        ofake.fail(status, times=1)
        with pytest.raises(openai.InternalServerError) as ei:
            oai.chat.completions.create(model=GPT, messages=user("x"))
        assert ei.value.status_code == status and ei.value.type == "server_error"
    ofake.context_window = 5
    with pytest.raises(openai.BadRequestError) as ei:
        oai.chat.completions.create(model=GPT, messages=user("one two three four five six"))
    assert ei.value.code == "context_length_exceeded" and ei.value.param == "messages"
    assert "maximum context length is 5 tokens" in ei.value.message and "resulted in 7 tokens" in ei.value.message
    ofake.context_window = None
    bad = openai.OpenAI(base_url=ofake.base_url, api_key="sk-wrong-key-123", max_retries=0)
    with pytest.raises(openai.AuthenticationError) as ei:
        bad.chat.completions.create(model=GPT, messages=user("x"))
    assert ei.value.body["message"].startswith("Incorrect API key provided: sk-*")
    assert {k: v for k, v in ei.value.body.items() if k != "message"} == {
        "type": "invalid_request_error", "param": None, "code": "invalid_api_key"}


def test_openai_unsupported_content(ofake, oai):
    ofake.supports_tools = False
    with pytest.raises(openai.BadRequestError) as ei:
        oai.chat.completions.create(model=GPT, messages=user("x"), tools=WEATHER_OA)
    assert ei.value.param == "tools"
    ofake.supports_images = False
    img = [{"role": "user", "content": [{"type": "text", "text": "what"},
                                        {"type": "image_url", "image_url": {"url": "data:image/png;base64,AA=="}}]}]
    with pytest.raises(openai.BadRequestError):
        oai.chat.completions.create(model=GPT, messages=img)


# ---------------------------------------------------------------- Anthropic
def test_anthropic_plain_and_recording(afake, ant):
    raw = ant.messages.with_raw_response.create(model=CLAUDE, max_tokens=100, system="be brief",
                                                messages=user("hello there"))
    m = raw.parse()
    assert m.id.startswith("msg_") and m.type == "message" and m.role == "assistant"
    assert m.content[0].text == "echo: hello there" and m.stop_reason == "end_turn"
    assert m.usage.input_tokens == 6 and m.usage.output_tokens == 3
    assert m.usage.cache_read_input_tokens == 0 and m.usage.service_tier == "standard"
    assert raw.headers["request-id"].startswith("req_")
    assert raw.headers["anthropic-ratelimit-requests-reset"].endswith("Z")
    rec = afake.last_request
    assert rec.path == "/v1/messages" and rec.headers["anthropic-version"]
    assert AKEY in (rec.headers.get("x-api-key"), rec.headers.get("authorization", "")[7:])
    assert ant.messages.count_tokens(model=CLAUDE, system="be brief", messages=user("hello there")).input_tokens == 6


def test_anthropic_stream_tool_use(afake, ant):
    with ant.messages.stream(model=CLAUDE, max_tokens=100, tools=WEATHER_AN,
                             messages=user('call get_weather {"city": "Paris"}')) as s:
        events = [e.type for e in s]
        final = s.get_final_message()
    tool = final.content[-1]
    assert tool.type == "tool_use" and tool.id.startswith("toolu_") and tool.name == "get_weather"
    assert tool.input == {"city": "Paris"} and final.stop_reason == "tool_use"
    assert events.count("input_json") > 1  # arguments arrived in several fragments
    msgs = user("call get_weather") + [
        {"role": "assistant", "content": [{"type": "tool_use", "id": tool.id, "name": "get_weather", "input": {}}]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": tool.id, "content": "rainy"}]}]
    m = ant.messages.create(model=CLAUDE, max_tokens=100, tools=WEATHER_AN, messages=msgs)
    assert m.content[0].text == "tool said: rainy"


def test_anthropic_raw_stream_events(afake, ant):
    events = list(ant.messages.create(model=CLAUDE, max_tokens=100, messages=user("a b"), stream=True))
    types = [e.type for e in events]
    assert types == ["message_start", "content_block_start", "content_block_delta", "content_block_delta",
                     "content_block_delta", "content_block_stop", "message_delta", "message_stop"]  # ping skipped
    assert events[0].message.usage.output_tokens == 1 and events[0].message.usage.input_tokens == 3
    assert events[-2].usage.output_tokens == 3 and events[-2].delta.stop_reason == "end_turn"


def test_anthropic_thinking(afake, ant):
    afake.push("the answer", thinking="let me think hard")
    with ant.messages.stream(model=CLAUDE, max_tokens=2000, messages=user("q"),
                             thinking={"type": "enabled", "budget_tokens": 1024}) as s:
        final = s.get_final_message()
    th, tx = final.content
    assert th.type == "thinking" and th.thinking == "let me think hard" and th.signature
    assert tx.text == "the answer" and final.usage.output_tokens == 6
    m = ant.messages.create(model=CLAUDE, max_tokens=2000, messages=user("q"),
                            thinking={"type": "enabled", "budget_tokens": 1024})
    assert m.content[0].type == "thinking" and m.content[1].text == "echo: q"


def test_anthropic_errors(afake, ant):
    afake.fail(529, times=1)
    with pytest.raises(anthropic.OverloadedError) as ei:
        ant.messages.create(model=CLAUDE, max_tokens=10, messages=user("x"))
    assert isinstance(ei.value, anthropic.InternalServerError)
    assert ei.value.body["error"]["type"] == "overloaded_error" and ei.value.body["request_id"].startswith("req_")
    assert ei.value.response.headers["retry-after"] == "0"
    afake.fail(429, times=1, retry_after=3)
    with pytest.raises(anthropic.RateLimitError) as ei:
        ant.messages.create(model=CLAUDE, max_tokens=10, messages=user("x"))
    assert ei.value.body["error"]["type"] == "rate_limit_error"
    assert ei.value.response.headers["retry-after"] == "3"
    afake.fail(500, times=1)
    with pytest.raises(anthropic.InternalServerError) as ei:
        ant.messages.create(model=CLAUDE, max_tokens=10, messages=user("x"))
    assert ei.value.body["error"]["type"] == "api_error"
    afake.fail(413, times=1)
    with pytest.raises(anthropic.APIStatusError) as ei:
        ant.messages.create(model=CLAUDE, max_tokens=10, messages=user("x"))
    assert ei.value.status_code == 413 and ei.value.body["error"]["type"] == "request_too_large"
    afake.fail(400, times=1, message="messages: roles must alternate")
    with pytest.raises(anthropic.BadRequestError) as ei:
        ant.messages.create(model=CLAUDE, max_tokens=10, messages=user("x"))
    assert ei.value.body["error"] == {"type": "invalid_request_error", "message": "messages: roles must alternate"}
    afake.for_next(1, context_window=3)
    with pytest.raises(anthropic.BadRequestError) as ei:
        ant.messages.create(model=CLAUDE, max_tokens=10, messages=user("one two three four"))
    assert ei.value.body["error"]["message"] == "prompt is too long: 5 tokens > 3 maximum"
    assert ant.messages.create(model=CLAUDE, max_tokens=10, messages=user("one two three four")).content
    bad = anthropic.Anthropic(base_url=afake.base_url, api_key="nope", max_retries=0)
    with pytest.raises(anthropic.AuthenticationError) as ei:
        bad.messages.create(model=CLAUDE, max_tokens=10, messages=user("x"))
    assert ei.value.body["error"] == {"type": "authentication_error", "message": "invalid x-api-key"}


def test_anthropic_mid_stream_error(afake, ant):
    afake.stream_error_after = 4
    with pytest.raises(anthropic.APIStatusError) as ei:
        with ant.messages.stream(model=CLAUDE, max_tokens=100, messages=user("a b c d")) as s:
            s.get_final_message()
    assert ei.value.body["error"]["type"] == "overloaded_error"


def test_anthropic_unsupported_content(afake, ant):
    afake.supports_images = False
    img = [{"role": "user", "content": [
        {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "AA=="}},
        {"type": "text", "text": "what"}]}]
    with pytest.raises(anthropic.BadRequestError) as ei:
        ant.messages.create(model=CLAUDE, max_tokens=10, messages=img)
    assert ei.value.body["error"]["message"].startswith("messages.0.content.0.image")
    afake.supports_tools = False
    with pytest.raises(anthropic.BadRequestError):
        ant.messages.create(model=CLAUDE, max_tokens=10, messages=user("x"), tools=WEATHER_AN)


# ---------------------------------------------------------------- shared machinery (async, raw HTTP)
OA_BODY = {"model": GPT, "messages": user("a b c"), "stream": True}


async def test_missing_anthropic_version_and_exact_error_bodies():
    async with AnthropicFake(api_key=AKEY) as fake, aiohttp.ClientSession() as http:
        async with http.post(fake.base_url + "/v1/messages", headers={"x-api-key": AKEY},
                             json={"model": CLAUDE, "max_tokens": 5, "messages": user("x")}) as r:
            assert r.status == 400
            body = await r.json()
            assert body["error"] == {"type": "invalid_request_error", "message": "anthropic-version: header is required"}
        async with http.post(fake.base_url + "/v1/messages", headers={"x-api-key": "bad", "anthropic-version": "2023-06-01"},
                             json={}) as r:
            body = await r.json()
            assert r.status == 401 and set(body) == {"type", "error", "request_id"}
            assert body["request_id"] == r.headers["request-id"]
    async with OpenAIFake(api_key=OKEY) as fake, aiohttp.ClientSession() as http:
        async with http.post(fake.base_url + "/chat/completions", json=OA_BODY) as r:
            assert r.status == 401 and (await r.json())["error"]["code"] is None  # no key at all


async def test_cut_after_chunks_drops_connection_without_done():
    async with OpenAIFake(cut_after_chunks=2) as fake, aiohttp.ClientSession() as http:
        got = b""
        with pytest.raises(aiohttp.ClientPayloadError):
            async with http.post(fake.base_url + "/chat/completions", json=OA_BODY) as r:
                assert r.status == 200
                async for data in r.content.iter_any():
                    got += data
        assert got.count(b"data: ") == 2 and b"[DONE]" not in got
        assert fake.cancelled == 0
        await fake.wait_for(lambda: fake.active_requests == 0)


async def test_client_disconnect_counts_cancellation():
    async with OpenAIFake(chunk_delay_s=0.2) as fake, aiohttp.ClientSession() as http:
        async with http.post(fake.base_url + "/chat/completions", json=OA_BODY) as r:
            await r.content.readuntil(b"\n\n")
            assert fake.active_requests == 1 and fake.active_connections == 1
            r.close()  # drop the connection mid-stream
        await fake.wait_for(lambda: fake.cancelled == 1 and fake.active_requests == 0)
        # hang: accepted, never answered; client gives up
        fake.for_next(1, hang=True)
        with pytest.raises(asyncio.TimeoutError):
            async with http.post(fake.base_url + "/chat/completions", json=OA_BODY,
                                 timeout=aiohttp.ClientTimeout(total=0.3)):
                pass
        await fake.wait_for(lambda: fake.cancelled == 2 and fake.active_requests == 0)
        assert len(fake.requests) == 2


async def test_hang_until_close_and_delays():
    fake = await OpenAIFake(hang=True).start()
    async with aiohttp.ClientSession() as http:
        task = asyncio.create_task(http.post(fake.base_url + "/chat/completions", json=OA_BODY))
        await fake.wait_for(lambda: fake.active_requests == 1)
        await fake.close()
        with pytest.raises(aiohttp.ClientError):
            await task
    assert fake.cancelled == 0
    async with OpenAIFake(delay_s=0.3, first_byte_delay_s=0.3) as fake, aiohttp.ClientSession() as http:
        t0 = time.monotonic()
        async with http.post(fake.base_url + "/chat/completions", json={**OA_BODY, "stream": False}) as r:
            t_headers = time.monotonic() - t0
            body = await r.json()
            t_body = time.monotonic() - t0
        assert 0.3 <= t_headers < 0.55 and t_body >= 0.6
        assert body["choices"][0]["message"]["content"] == "echo: a b c"


async def test_async_sdks_in_loop_and_fail_times():
    async with OpenAIFake(api_key=OKEY) as fake:
        client = openai.AsyncOpenAI(base_url=fake.base_url, api_key=OKEY, max_retries=0)
        fake.fail(502, times=2)
        for _ in range(2):
            with pytest.raises(openai.InternalServerError):
                await client.chat.completions.create(model=GPT, messages=user("x"))
        r = await client.chat.completions.create(model=GPT, messages=user("x"))
        assert r.choices[0].message.content == "echo: x" and len(fake.requests) == 3
        await client.close()
    async with AnthropicFake(api_key=AKEY) as fake:
        client = anthropic.AsyncAnthropic(base_url=fake.base_url, api_key=AKEY, max_retries=0)
        async with client.messages.stream(model=CLAUDE, max_tokens=10, messages=user("hey")) as s:
            assert (await s.get_final_message()).content[0].text == "echo: hey"
        await client.close()


def test_running_in_thread_context_manager():
    with running_in_thread(AnthropicFake) as fake:  # no api_key -> any key accepted
        c = anthropic.Anthropic(base_url=fake.base_url, api_key="whatever", max_retries=0)
        assert c.messages.create(model=CLAUDE, max_tokens=5, messages=user("yo")).content[0].text == "echo: yo"
        fake.wait_until(lambda: fake.active_requests == 0)
