"""End to end: the real `anthropic` SDK -> Switchyard's /v1/messages -> fake Anthropic (pass-through)
and fake OpenAI (translated) servers."""

from __future__ import annotations

import json
from typing import Any

import aiohttp
import anthropic
import pytest

from tests.fakes import ToolCall
from tests.fakes.anthropic_fake import event, thinking_signature
from tests.fakes.replies import split_words
from tests.gateway_harness import gateway, model

PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="
WEATHER = {"name": "get_weather", "description": "Weather for a city",
           "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}
WHICH = pytest.mark.parametrize("which", ["anthropic", "openai"])


def providers(openai_fake: Any = None, anthropic_fake: Any = None) -> dict[str, Any]:
    out = {}
    if openai_fake is not None:
        out["openai"] = {"protocol": "openai-chat", "base_url": openai_fake.base_url, "api_key": "sk-openai-secret"}
    if anthropic_fake is not None:
        out["anthropic"] = {"protocol": "anthropic-messages", "base_url": anthropic_fake.base_url,
                            "api_key": "sk-ant-secret"}
    return out


def client(gw: Any) -> anthropic.AsyncAnthropic:
    c = anthropic.AsyncAnthropic(base_url=gw.url, api_key="caller-key", max_retries=0)
    gw.on_close(c.close)
    return c


def meta(obj: Any) -> dict[str, Any]:
    return obj.model_extra["provider_metadata"]["gateway"]


def served(which: str, **kw: Any) -> dict[str, Any]:
    """The catalog: one model, served by ``which`` under the provider id ``<which>-model``."""
    return {"acme/chat": model({which: f"{which}-model"}, **kw)}


async def collect(stream_manager: Any) -> tuple[list[str], Any, list[Any]]:
    """Text deltas, the final message and the raw events of an SDK message stream."""
    texts, raw = [], []
    async with stream_manager as stream:
        async for ev in stream:
            raw.append(ev)
            if ev.type == "text":
                texts.append(ev.text)
        final = await stream.get_final_message()
    return texts, final, raw


@WHICH
async def test_create(which: str, openai_fake: Any, anthropic_fake: Any) -> None:
    models = served(which, pricing={"input": 1.0, "output": 2.0})
    async with gateway(providers(openai_fake, anthropic_fake), models) as gw:
        raw = await client(gw).messages.with_raw_response.create(
            model="acme/chat", max_tokens=50, system="be brief", stop_sequences=["NEVER"], extra_body={"temperature": 0.3},
            metadata={"user_id": "u-1"}, messages=[{"role": "user", "content": "hello there"}])
        msg = await raw.parse()
    assert msg.content[0].text == "echo: hello there" and msg.stop_reason == "end_turn"
    assert msg.usage.output_tokens == 3
    fake = anthropic_fake if which == "anthropic" else openai_fake
    sent = fake.last_request
    assert sent.json["model"] == f"{which}-model"
    assert "caller-key" not in json.dumps(sent.headers)  # our key upstream, never the caller's
    if which == "anthropic":
        assert sent.headers["x-api-key"] == "sk-ant-secret" and sent.json["metadata"] == {"user_id": "u-1"}
        assert sent.json["system"] == "be brief" and sent.json["stop_sequences"] == ["NEVER"]
        assert sent.json["temperature"] == 0.3
        assert sent.headers["anthropic-version"] == anthropic._constants.ANTHROPIC_API_VERSION  # the caller's
        assert msg.id.startswith("msg_") and msg.model == "anthropic-model"  # the provider's own body
    else:
        assert sent.headers["authorization"] == "Bearer sk-openai-secret" and sent.json["user"] == "u-1"
        assert sent.json["messages"][0] == {"role": "system", "content": "be brief"}
        assert sent.json["temperature"] == 0.3 and sent.json["stop"] == ["NEVER"]
        assert msg.id.startswith("gen_") and msg.model == "acme/chat"
    m = meta(msg)
    assert m["routing"]["resolvedProvider"] == which and m["cost"]
    assert raw.headers["request-id"] == m["generationId"] == raw.headers["x-switchyard-generation-id"]
    assert raw.headers["x-switchyard-provider"] == which and raw.headers["x-switchyard-input-tokens"]


@WHICH
async def test_stream_text_and_final_message(which: str, openai_fake: Any, anthropic_fake: Any) -> None:
    async with gateway(providers(openai_fake, anthropic_fake), served(which)) as gw:
        texts, final, raw = await collect(client(gw).messages.stream(
            model="acme/chat", max_tokens=100, messages=[{"role": "user", "content": "stream these words please"}]))
    assert "".join(texts) == "echo: stream these words please" and len(texts) >= 5
    assert final.content[0].text == "echo: stream these words please" and final.stop_reason == "end_turn"
    assert final.usage.input_tokens == 5 and final.usage.output_tokens == 5
    delta = [e for e in raw if e.type == "message_delta"][-1]
    assert meta(delta)["routing"]["resolvedProvider"] == which


@WHICH
@pytest.mark.parametrize("stream", [False, True])
async def test_tool_loop(which: str, stream: bool, openai_fake: Any, anthropic_fake: Any) -> None:
    fake = anthropic_fake if which == "anthropic" else openai_fake
    fake.push(tool_calls=[ToolCall("get_weather", {"city": "Paris"})])
    async with gateway(providers(openai_fake, anthropic_fake), served(which)) as gw:
        c = client(gw)
        messages: list[dict[str, Any]] = [{"role": "user", "content": "what is the weather in Paris?"}]
        kwargs: dict[str, Any] = dict(model="acme/chat", max_tokens=200, tools=[WEATHER],
                                      tool_choice={"type": "auto"})
        if stream:
            _, first, _ = await collect(c.messages.stream(messages=messages, **kwargs))
        else:
            first = await c.messages.create(messages=messages, **kwargs)
        assert first.stop_reason == "tool_use"
        call = [b for b in first.content if b.type == "tool_use"][0]
        assert call.name == "get_weather" and call.input == {"city": "Paris"}
        messages += [{"role": "assistant", "content": [b.model_dump(exclude_none=True) for b in first.content]},
                     {"role": "user", "content": [{"type": "tool_result", "tool_use_id": call.id,
                                                   "content": "sunny, 21C"}]}]
        if stream:
            _, second, _ = await collect(c.messages.stream(messages=messages, **kwargs))
        else:
            second = await c.messages.create(messages=messages, **kwargs)
    assert second.content[0].text == "tool said: sunny, 21C"
    sent = fake.last_request.json
    if which == "openai":
        assert sent["tools"][0]["function"]["name"] == "get_weather"
        assert sent["messages"][-1] == {"role": "tool", "tool_call_id": call.id, "content": "sunny, 21C"}


@WHICH
async def test_image(which: str, openai_fake: Any, anthropic_fake: Any) -> None:
    async with gateway(providers(openai_fake, anthropic_fake), served(which)) as gw:
        msg = await client(gw).messages.create(model="acme/chat", max_tokens=50, messages=[{"role": "user", "content": [
            {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": PNG}},
            {"type": "text", "text": "describe this"}]}])
    assert msg.content[0].text == "echo: describe this"
    parts = (anthropic_fake if which == "anthropic" else openai_fake).last_request.json["messages"][0]["content"]
    if which == "anthropic":
        assert parts[0]["source"]["data"] == PNG
    else:
        assert parts[0] == {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{PNG}"}}


async def test_provider_without_vision_is_skipped(openai_fake: Any, anthropic_fake: Any) -> None:
    models = {"acme/chat": {**model({"openai": "a", "anthropic": "b"}),
                            "providers": {"openai": {"id": "a", "capabilities": ["tools"]}, "anthropic": {"id": "b"}}}}
    async with gateway(providers(openai_fake, anthropic_fake), models) as gw:
        msg = await client(gw).messages.create(model="acme/chat", max_tokens=50, messages=[{"role": "user", "content": [
            {"type": "image", "source": {"type": "url", "url": "https://example.com/x.png"}},
            {"type": "text", "text": "look"}]}])
    assert meta(msg)["routing"]["resolvedProvider"] == "anthropic"
    assert openai_fake.api_requests("/chat/completions") == []


@pytest.mark.parametrize("stream", [False, True])
async def test_thinking_passes_through_on_anthropic(stream: bool, anthropic_fake: Any) -> None:
    kwargs: dict[str, Any] = dict(model="acme/chat", max_tokens=2000, thinking={"type": "enabled", "budget_tokens": 1024},
                                  messages=[{"role": "user", "content": "27 * 453?"}])
    async with gateway(providers(anthropic_fake=anthropic_fake), served("anthropic")) as gw:
        c = client(gw)
        if stream:
            _, msg, _ = await collect(c.messages.stream(**kwargs))
        else:
            msg = await c.messages.create(**kwargs)
        thinking = msg.content[0]
        assert thinking.type == "thinking" and thinking.thinking == "Thinking about: 27 * 453?"
        assert thinking.signature == thinking_signature(thinking.thinking)
        assert anthropic_fake.last_request.json["thinking"] == {"type": "enabled", "budget_tokens": 1024}
        # The signed block goes back verbatim on the next turn.
        again = await c.messages.create(**{**kwargs, "messages": [
            *kwargs["messages"], {"role": "assistant", "content": [b.model_dump(exclude_none=True) for b in msg.content]},
            {"role": "user", "content": "and again?"}]})
    assert again.content[-1].text == "echo: and again?"
    assert anthropic_fake.last_request.json["messages"][1]["content"][0]["signature"] == thinking.signature


async def test_passthrough_stream_is_byte_identical(anthropic_fake: Any) -> None:
    anthropic_fake.chunk_words = 1
    async with gateway(providers(anthropic_fake=anthropic_fake), served("anthropic")) as gw:
        async with aiohttp.ClientSession() as h:
            async with h.post(gw.url + "/v1/messages", headers={
                    "x-api-key": "caller-key", "anthropic-version": "2023-06-01",
                    "anthropic-beta": "files-api-2025-04-14"}, json={
                    "model": "acme/chat", "max_tokens": 100, "stream": True,
                    "messages": [{"role": "user", "content": "one two three four"}]}) as r:
                assert r.status == 200 and r.headers["content-type"].startswith("text/event-stream")
                assert r.headers["request-id"].startswith("gen_")
                body = await r.read()
    text = "echo: one two three four"
    # Exactly the bytes the fake wrote for each text delta, in order, untouched.
    expected = b"".join(event("content_block_delta", {"type": "content_block_delta", "index": 0, "delta": {
        "type": "text_delta", "text": piece}}).encode() for piece in split_words(text))
    assert expected in body
    assert body.startswith(b'event: message_start\ndata: {"type":"message_start","message":{"id":"msg_')
    assert body.endswith(b'event: message_stop\ndata: {"type":"message_stop"}\n\n')
    assert b'"provider_metadata":{"gateway":' in body.split(b"event: message_delta")[1]
    sent = anthropic_fake.last_request
    assert sent.headers["anthropic-beta"] == "files-api-2025-04-14" and sent.headers["x-api-key"] == "sk-ant-secret"


@WHICH
async def test_count_tokens(which: str, openai_fake: Any, anthropic_fake: Any) -> None:
    async with gateway(providers(openai_fake, anthropic_fake), served(which)) as gw:
        raw = await client(gw).messages.with_raw_response.count_tokens(
            model="acme/chat", system="be brief", messages=[{"role": "user", "content": "count these five words"}])
        counted = await raw.parse()
    if which == "anthropic":
        assert counted.input_tokens == 8  # the fake's own count: forwarded
        assert "x-switchyard-estimate" not in raw.headers and raw.headers["x-switchyard-provider"] == "anthropic"
        sent = anthropic_fake.last_request
        assert sent.path == "/v1/messages/count_tokens" and sent.json["model"] == "anthropic-model"
        assert "max_tokens" not in sent.json
    else:
        assert raw.headers["x-switchyard-estimate"] == "true"
        assert counted.input_tokens == -(-len("be brief" + "count these five words") // 4) + 3
        assert openai_fake.api_requests("/chat/completions") == []


async def test_count_tokens_falls_back_to_an_estimate_or_returns_a_caller_fault(anthropic_fake: Any) -> None:
    async with gateway(providers(anthropic_fake=anthropic_fake), served("anthropic")) as gw:
        c = client(gw)
        anthropic_fake.fail(500, times=1)
        raw = await c.messages.with_raw_response.count_tokens(
            model="acme/chat", messages=[{"role": "user", "content": "four words right here"}])
        assert raw.headers["x-switchyard-estimate"] == "true" and (await raw.parse()).input_tokens == 9
        anthropic_fake.fail(400, times=1, message="messages.0: bad")
        with pytest.raises(anthropic.BadRequestError) as exc:
            await c.messages.count_tokens(model="acme/chat", messages=[{"role": "user", "content": "x"}])
    assert exc.value.body["error"] == {"type": "invalid_request_error", "message": "messages.0: bad"}


async def test_errors_are_anthropic_shaped(openai_fake: Any) -> None:
    async with gateway(providers(openai_fake), served("openai")) as gw:
        c = client(gw)
        with pytest.raises(anthropic.NotFoundError) as nf:
            await c.messages.create(model="acme/unknown", max_tokens=5, messages=[{"role": "user", "content": "x"}])
        assert nf.value.body["type"] == "error" and nf.value.body["error"]["type"] == "not_found_error"
        assert nf.value.response.headers["request-id"] == nf.value.body["request_id"]
        with pytest.raises(anthropic.BadRequestError) as bad:
            await c.messages.create(model="acme/chat", max_tokens=5, messages=[{"role": "system", "content": "x"}])  # type: ignore[typeddict-item]
        assert bad.value.body["error"] == {"type": "invalid_request_error",
                                           "message": "messages.0.role: Input should be 'user' or 'assistant'"}
        assert bad.value.response.headers["request-id"] == bad.value.body["request_id"]
        with pytest.raises(anthropic.NotFoundError):
            await c.messages.count_tokens(model="acme/unknown", messages=[{"role": "user", "content": "x"}])
    assert openai_fake.api_requests("/chat/completions") == []


async def test_server_tool_on_a_translated_model_is_a_400(openai_fake: Any) -> None:
    async with gateway(providers(openai_fake), served("openai")) as gw:
        with pytest.raises(anthropic.BadRequestError) as exc:
            await client(gw).messages.create(model="acme/chat", max_tokens=5, messages=[{"role": "user", "content": "x"}],
                                             tools=[{"type": "web_search_20250305", "name": "web_search"}])
    assert exc.value.body["error"]["type"] == "invalid_request_error" and "web_search" in exc.value.body["error"]["message"]


@pytest.mark.parametrize("statuses, error_cls, status, kind", [
    ((529, 503), anthropic.OverloadedError, 529, "overloaded_error"),
    ((500, 500), anthropic.InternalServerError, 502, "api_error"),
])
async def test_all_attempts_failed(statuses: tuple[int, int], error_cls: type, status: int, kind: str,
                                   openai_fake: Any, anthropic_fake: Any) -> None:
    anthropic_fake.fail(statuses[0])
    openai_fake.fail(statuses[1])
    models = {"acme/chat": model({"anthropic": "a", "openai": "b"})}
    async with gateway(providers(openai_fake, anthropic_fake), models, routing={"max_retry_wait": 0}) as gw:
        with pytest.raises(error_cls) as exc:
            await client(gw).messages.create(model="acme/chat", max_tokens=5, messages=[{"role": "user", "content": "x"}])
    assert exc.value.status_code == status
    body = exc.value.body
    assert body["type"] == "error" and body["error"]["type"] == kind
    assert [a["provider"] for a in body["error"]["attempts"]] == ["anthropic", "openai"]
    assert "sk-ant-secret" not in json.dumps(body) and "sk-openai-secret" not in json.dumps(body)


async def test_caller_fault_from_anthropic_is_returned_as_is(anthropic_fake: Any) -> None:
    anthropic_fake.fail(400, message="messages.0.content: unexpected thing")
    async with gateway(providers(anthropic_fake=anthropic_fake), served("anthropic")) as gw:
        with pytest.raises(anthropic.BadRequestError) as exc:
            await client(gw).messages.create(model="acme/chat", max_tokens=5, messages=[{"role": "user", "content": "x"}])
    assert exc.value.body["error"] == {"type": "invalid_request_error", "message": "messages.0.content: unexpected thing"}
    assert exc.value.body["request_id"].startswith("req_")  # the provider's own body


@pytest.mark.parametrize("how", ["status_529", "overloaded_event_after_start"])
async def test_stream_fails_over_from_anthropic_to_openai(how: str, openai_fake: Any, anthropic_fake: Any) -> None:
    if how == "status_529":
        anthropic_fake.fail(529, times=1)
    else:
        anthropic_fake.for_next(1, stream_error_after=1)  # message_start, then event: error
    models = {"acme/chat": model({"anthropic": "claude-x", "openai": "gpt-x"})}
    async with gateway(providers(openai_fake, anthropic_fake), models) as gw:
        texts, final, raw = await collect(client(gw).messages.stream(
            model="acme/chat", max_tokens=100, messages=[{"role": "user", "content": "hello failover"}]))
    assert "".join(texts) == "echo: hello failover"
    routing = meta([e for e in raw if e.type == "message_delta"][-1])["routing"]
    assert [(a["provider"], a["success"]) for a in routing["attempts"]] == [("anthropic", False), ("openai", True)]
    assert routing["attempts"][0]["errorCategory"] == "overloaded"


@WHICH
async def test_stream_cut_after_first_byte_ends_with_an_error_event(which: str, openai_fake: Any,
                                                                    anthropic_fake: Any) -> None:
    (anthropic_fake if which == "anthropic" else openai_fake).cut_after_chunks = 6
    async with gateway(providers(openai_fake, anthropic_fake), served(which)) as gw:
        texts: list[str] = []
        with pytest.raises(anthropic.APIStatusError) as exc:
            async with client(gw).messages.stream(
                    model="acme/chat", max_tokens=100,
                    messages=[{"role": "user", "content": "one two three four five six seven eight"}]) as stream:
                async for t in stream.text_stream:
                    texts.append(t)
    assert texts  # the stream had started
    assert exc.value.body["type"] == "error" and exc.value.body["error"]["type"] == "api_error"


async def test_bare_anthropic_model_ids_resolve(anthropic_fake: Any) -> None:
    models = {"anthropic/claude-test-9": model({"anthropic": "claude-test-9-20260101"})}
    async with gateway(providers(anthropic_fake=anthropic_fake), models) as gw:
        c = client(gw)
        for name in ("claude-test-9-20260101", "claude-test-9", "anthropic/claude-test-9"):
            msg = await c.messages.create(model=name, max_tokens=5, messages=[{"role": "user", "content": "x"}])
            assert meta(msg)["routing"]["canonicalSlug"] == "anthropic/claude-test-9"
            assert anthropic_fake.last_request.json["model"] == "claude-test-9-20260101"


async def test_fallback_models_from_the_body(openai_fake: Any, anthropic_fake: Any) -> None:
    anthropic_fake.fail(529)
    models = {"acme/a": model({"anthropic": "a"}), "acme/b": model({"openai": "b"})}
    async with gateway(providers(openai_fake, anthropic_fake), models, routing={"max_retry_wait": 0}) as gw:
        msg = await client(gw).messages.create(model="acme/a", max_tokens=5, messages=[{"role": "user", "content": "x"}],
                                               extra_body={"models": ["acme/b"]})
    assert meta(msg)["routing"]["canonicalSlug"] == "acme/b"
    assert "models" not in anthropic_fake.last_request.json


async def test_models_list_in_anthropic_shape(anthropic_fake):
    import anthropic

    from tests.gateway_harness import gateway, model

    models = {"anthropic/claude-test": model({"anthropic": "claude-test-1"})}
    providers = {"anthropic": {"protocol": "anthropic-messages", "base_url": anthropic_fake.base_url,
                               "api_key": "sk-ant-secret"}}
    async with gateway(providers, models) as gw:
        c = anthropic.AsyncAnthropic(base_url=gw.url, api_key="caller", max_retries=0)
        try:
            page = await c.models.list()
            one = await c.models.retrieve("anthropic/claude-test")
        finally:
            await c.close()
    assert [m.id for m in page.data] == ["anthropic/claude-test"]
    assert one.display_name == "Test model" and one.type == "model"
