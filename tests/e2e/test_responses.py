"""End to end: the real `openai` SDK's Responses API -> Switchyard -> fake OpenAI (Chat Completions) and
Anthropic (Messages) servers. The gateway translates Responses -> canonical -> each provider protocol."""

from __future__ import annotations

import json

import aiohttp
import openai
import pydantic
import pytest

from tests.fakes import ToolCall
from tests.gateway_harness import gateway, model

WEATHER = {"type": "function", "name": "get_weather", "description": "Weather for a city",
           "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}
BOTH = pytest.mark.parametrize("which", ["openai", "anthropic"])


def providers(openai_fake=None, anthropic_fake=None):
    out = {}
    if openai_fake is not None:
        out["openai"] = {"protocol": "openai-chat", "base_url": openai_fake.base_url, "api_key": "sk-openai-secret"}
    if anthropic_fake is not None:
        out["anthropic"] = {"protocol": "anthropic-messages", "base_url": anthropic_fake.base_url,
                            "api_key": "sk-ant-secret"}
    return out


def client(gw) -> openai.AsyncOpenAI:
    c = openai.AsyncOpenAI(base_url=gw.base_url, api_key="caller-key", max_retries=0)
    gw.on_close(c.close)
    return c


def meta(obj) -> dict:
    return obj.model_extra["provider_metadata"]["gateway"]


def sent(fake) -> dict:
    return fake.last_request.json


@BOTH
async def test_create(which, openai_fake, anthropic_fake):
    fake = openai_fake if which == "openai" else anthropic_fake
    models = {"acme/chat": model({which: f"{which}-model"}, pricing={"input": 1.0, "output": 2.0})}
    async with gateway(providers(openai_fake, anthropic_fake), models) as gw:
        raw = await client(gw).responses.with_raw_response.create(
            model="acme/chat", input="hello there", instructions="be brief", max_output_tokens=50,
            temperature=0.3, metadata={"run": "1"}, store=False)
        r = raw.parse()
    assert r.output_text == "echo: hello there"
    assert r.object == "response" and r.status == "completed" and r.model == "acme/chat"
    assert r.id.startswith("resp_") and raw.headers["x-switchyard-generation-id"] == "gen_" + r.id[5:]
    assert [o.type for o in r.output] == ["message"] and r.output[0].id.startswith("msg_")
    assert r.metadata == {"run": "1"} and r.store is False and r.instructions == "be brief"
    assert r.usage.input_tokens > 0 and r.usage.output_tokens == 3
    assert r.usage.total_tokens == r.usage.input_tokens + 3
    assert r.usage.model_extra["cost"] == pytest.approx((r.usage.input_tokens * 1.0 + 3 * 2.0) / 1e6)
    assert meta(r)["routing"]["resolvedProvider"] == which
    body = sent(fake)
    assert body["model"] == f"{which}-model" and body["temperature"] == 0.3 and body["max_tokens"] == 50
    if which == "openai":
        assert body["messages"][0] == {"role": "system", "content": "be brief"}
        assert fake.last_request.path.endswith("/chat/completions")
    else:
        assert body["system"][0]["text"] == "be brief" and fake.last_request.path == "/v1/messages"


@BOTH
async def test_stream_helper(which, openai_fake, anthropic_fake):
    models = {"acme/chat": model({which: "m"})}
    async with gateway(providers(openai_fake, anthropic_fake), models) as gw:
        async with client(gw).responses.stream(model="acme/chat", input="stream these words please") as stream:
            events = [e async for e in stream]
            final = await stream.get_final_response()
    names = [e.type for e in events]
    assert names[:4] == ["response.created", "response.in_progress", "response.output_item.added",
                         "response.content_part.added"]
    assert names[-4:] == ["response.output_text.done", "response.content_part.done", "response.output_item.done",
                          "response.completed"]
    deltas = [e.delta for e in events if e.type == "response.output_text.delta"]
    assert len(deltas) >= 5 and "".join(deltas) == "echo: stream these words please"
    assert [e.sequence_number for e in events] == list(range(len(events)))
    assert final.output_text == "echo: stream these words please" and final.status == "completed"
    assert final.usage.output_tokens == 5 and final.usage.model_extra["cost"] > 0
    assert meta(final)["routing"]["resolvedProvider"] == which


@BOTH
async def test_create_stream_true(which, openai_fake, anthropic_fake):
    models = {"acme/chat": model({which: "m"})}
    async with gateway(providers(openai_fake, anthropic_fake), models) as gw:
        raw = await client(gw).responses.with_raw_response.create(model="acme/chat", input="a b", stream=True)
        assert raw.headers["content-type"].startswith("text/event-stream")
        assert raw.headers["x-switchyard-provider"] == which
        events = [e async for e in raw.parse()]
    assert events[0].type == "response.created" and events[-1].type == "response.completed"
    assert events[-1].response.output_text == "echo: a b"
    assert events[-1].response.id == events[0].response.id


@BOTH
@pytest.mark.parametrize("stream", [False, True])
async def test_function_calling_two_step_loop(which, stream, openai_fake, anthropic_fake):
    fake = openai_fake if which == "openai" else anthropic_fake
    fake.push(tool_calls=[ToolCall("get_weather", {"city": "Paris"}), ToolCall("get_weather", {"city": "Rome"})])
    models = {"acme/chat": model({which: "m"})}
    async with gateway(providers(openai_fake, anthropic_fake), models) as gw:
        c = client(gw)
        items: list = [{"role": "user", "content": "weather in Paris and Rome?"}]
        if stream:
            async with c.responses.stream(model="acme/chat", input=items, tools=[WEATHER]) as s:
                first = await s.get_final_response()
        else:
            first = await c.responses.create(model="acme/chat", input=items, tools=[WEATHER], tool_choice="auto")
        calls = [o for o in first.output if o.type == "function_call"]
        assert [(c_.name, json.loads(c_.arguments)) for c_ in calls] == \
            [("get_weather", {"city": "Paris"}), ("get_weather", {"city": "Rome"})]
        assert all(c_.call_id and c_.id.startswith("fc_") and c_.status == "completed" for c_ in calls)
        tools_sent = sent(fake)["tools"]
        assert (tools_sent[0]["function"]["name"] if which == "openai" else tools_sent[0]["name"]) == "get_weather"
        # Second step: the SDK's own output items go back as input, with the outputs.
        items += [o.model_dump(exclude_none=True) for o in first.output]
        items += [{"type": "function_call_output", "call_id": calls[0].call_id, "output": "sunny"},
                  {"type": "function_call_output", "call_id": calls[1].call_id, "output": "rain"}]
        second = await c.responses.create(model="acme/chat", input=items, tools=[WEATHER])
    assert second.output_text == "tool said: sunny | rain"


@BOTH
async def test_json_schema_text_format(which, openai_fake, anthropic_fake):
    class City(pydantic.BaseModel):
        name: str
        population: int

    fake = openai_fake if which == "openai" else anthropic_fake
    fake.push(text='{"name":"Paris","population":2100000}')
    models = {"acme/chat": model({which: "m"})}
    async with gateway(providers(openai_fake, anthropic_fake), models) as gw:
        r = await client(gw).responses.parse(model="acme/chat", input="biggest city in France?", text_format=City)
    assert r.output_parsed == City(name="Paris", population=2100000)
    body = sent(fake)
    if which == "openai":
        assert body["response_format"]["type"] == "json_schema"
        assert body["response_format"]["json_schema"]["name"] == "City"
    else:
        assert "population" in json.dumps(body["system"])  # the schema travels as an instruction


async def test_reasoning_round_trips_through_anthropic(anthropic_fake):
    anthropic_fake.push(thinking="pondering deeply")
    models = {"acme/claude": model({"anthropic": "claude-x"})}
    async with gateway(providers(anthropic_fake=anthropic_fake), models) as gw:
        c = client(gw)
        async with c.responses.stream(model="acme/claude", input="hi", reasoning={"effort": "high"},
                                      include=["reasoning.encrypted_content"]) as s:
            events = [e.type async for e in s]
            first = await s.get_final_response()
        assert "response.reasoning_summary_text.delta" in events
        reasoning = first.output[0]
        assert reasoning.type == "reasoning" and reasoning.summary[0].text == "pondering deeply"
        assert reasoning.encrypted_content.startswith("swy1:sig:")
        items = [{"role": "user", "content": "hi"}, *[o.model_dump(exclude_none=True) for o in first.output],
                 {"role": "user", "content": "again"}]
        await c.responses.create(model="acme/claude", input=items)
    assistant = sent(anthropic_fake)["messages"][1]
    assert assistant["role"] == "assistant" and assistant["content"][0]["type"] == "thinking"
    assert assistant["content"][0]["thinking"] == "pondering deeply" and assistant["content"][0]["signature"]


async def test_reasoning_effort_reaches_reasoning_models_only(openai_fake):
    models = {"acme/thinker": model({"openai": "o-think"}, capabilities=("tools", "reasoning")),
              "acme/plain": model({"openai": "plain"})}
    async with gateway(providers(openai_fake), models) as gw:
        c = client(gw)
        await c.responses.create(model="acme/thinker", input="hi", reasoning={"effort": "low"})
        assert sent(openai_fake)["reasoning_effort"] == "low"
        r = await c.responses.create(model="acme/plain", input="hi", reasoning={"effort": "low"})
        assert "reasoning_effort" not in sent(openai_fake)
    assert r.output_text == "echo: hi"


async def test_hosted_tools_are_dropped_with_a_warning(openai_fake):
    models = {"acme/chat": model({"openai": "m"})}
    async with gateway(providers(openai_fake), models) as gw:
        r = await client(gw).responses.create(model="acme/chat", input="hi",
                                              tools=[WEATHER, {"type": "web_search"}])
    assert r.output_text == "echo: hi"
    assert [t["function"]["name"] for t in sent(openai_fake)["tools"]] == ["get_weather"]
    assert r.model_extra["warnings"][0]["tool"] == "web_search"
    assert [t.type for t in r.tools] == ["function"]


async def test_bare_openai_model_names_resolve(openai_fake):
    models = {"openai/gpt-x": model({"openai": "gpt-x-2025"})}
    async with gateway(providers(openai_fake), models) as gw:
        r = await client(gw).responses.create(model="gpt-x", input="hi")
    assert r.model == "openai/gpt-x" and sent(openai_fake)["model"] == "gpt-x-2025"


async def test_stream_fails_over_before_the_first_byte(openai_fake, anthropic_fake):
    openai_fake.for_next(1, cut_after_chunks=0)
    models = {"acme/chat": model({"openai": "a", "anthropic": "b"})}
    async with gateway(providers(openai_fake, anthropic_fake), models,
                       routing={"order": {"*": ["openai", "anthropic"]}}) as gw:
        async with client(gw).responses.stream(model="acme/chat", input="one two") as s:
            final = await s.get_final_response()
    assert final.output_text == "echo: one two"
    assert [a["provider"] for a in meta(final)["routing"]["attempts"]] == ["openai", "anthropic"]


@BOTH
async def test_stream_cut_after_start_raises_in_the_sdk(which, openai_fake, anthropic_fake):
    fake = openai_fake if which == "openai" else anthropic_fake
    fake.cut_after_chunks = 5
    models = {"acme/chat": model({which: "a"})}
    async with gateway(providers(openai_fake, anthropic_fake), models) as gw:
        received = []
        with pytest.raises(openai.APIError) as exc:
            async with client(gw).responses.stream(
                    model="acme/chat", input="one two three four five six seven eight") as s:
                async for e in s:
                    received.append(e)
        # Without the SDK's raising, the raw events end with error + response.failed.
        async with aiohttp.ClientSession() as h:
            async with h.post(gw.base_url + "/responses", json={"model": "acme/chat", "stream": True,
                                                                "input": "one two three four five six"}) as resp:
                raw = (await resp.read()).decode()
    assert any(e.type == "response.output_text.delta" for e in received)
    assert "closed" in str(exc.value) or "ended" in str(exc.value)
    kinds = [line[7:] for line in raw.splitlines() if line.startswith("event: ")]
    assert kinds[-2:] == ["error", "response.failed"] and kinds[0] == "response.created"
    failed = json.loads(raw.strip().splitlines()[-1][6:])
    assert failed["response"]["status"] == "failed" and failed["response"]["error"]["code"] == "server_error"


async def test_errors_are_openai_shaped(openai_fake):
    models = {"acme/chat": model({"openai": "a"})}
    async with gateway(providers(openai_fake), models) as gw:
        c = client(gw)
        with pytest.raises(openai.NotFoundError) as nf:
            await c.responses.create(model="acme/unknown", input="x")
        assert nf.value.body["code"] == "model_not_found"
        with pytest.raises(openai.BadRequestError) as prev:
            await c.responses.create(model="acme/chat", input="x", previous_response_id="resp_123")
        assert prev.value.body["param"] == "previous_response_id"
        assert "not supported" in prev.value.body["message"]
        with pytest.raises(openai.BadRequestError) as hosted:
            await c.responses.create(model="acme/chat", input="x", tools=[{"type": "web_search"}],
                                     tool_choice={"type": "web_search"})
        assert hosted.value.body["param"] == "tool_choice" and "web_search" in hosted.value.body["message"]
        with pytest.raises(openai.BadRequestError) as role:
            await c.responses.create(model="acme/chat", input=[{"role": "wizard", "content": "x"}])  # type: ignore
        assert role.value.body["param"] == "input[0].role"
        assert role.value.body["type"] == "invalid_request_error"
        with pytest.raises(openai.BadRequestError) as stream_bad:  # refused before any stream starts
            await c.responses.create(model="acme/chat", input="x", temperature="hot", stream=True)  # type: ignore
        assert stream_bad.value.body["param"] == "temperature"
        openai_fake.fail(500)
        with pytest.raises(openai.APIStatusError) as failed:
            await c.responses.create(model="acme/chat", input="x")
        assert failed.value.status_code == 502 and failed.value.body["code"] == "all_attempts_failed"
        async with aiohttp.ClientSession() as h:
            async with h.get(gw.base_url + "/responses/resp_123") as resp:
                assert resp.status == 404  # nothing is stored
    assert len(openai_fake.api_requests("/chat/completions")) == 1
