"""The OpenAI-compatible servers' quirks: one test per confirmed quirk, on both request paths (built
from the canonical model, and the caller's own body passed through) and in streams."""

from __future__ import annotations

import json
from typing import Any

import pytest

from switchyard.canonical import (
    ChatRequest,
    Message,
    ReasoningPart,
    TextPart,
    Tool,
    ToolCallPart,
    ToolResultPart,
    Usage,
    UsageReport,
)
from switchyard.config.model import ProviderConfig
from switchyard.errors import ErrorCategory, RequestError, UpstreamError
from switchyard.protocols.openai_chat.adapter import OpenAIChatAdapter
from switchyard.protocols.openai_chat.passthrough import OpenAIPassthroughStream
from switchyard.protocols.openai_chat.quirks import NO_QUIRKS, QUIRKS, quirks_for
from switchyard.protocols.openai_chat.request_out import (
    encode_canonical,
    encode_passthrough,
)
from switchyard.protocols.openai_chat.stream_in import OpenAIStreamDecoder
from tests.protocols.openai_chat.helpers import fixture, splits

HI = [{"role": "user", "content": "hi"}]


def passthrough(slug: str, model: str = "m", **raw: Any) -> dict[str, Any]:
    body = {"model": "creator/model", "messages": HI, **raw}
    return json.loads(encode_passthrough(body, model, slug))


def canonical(slug: str, model: str = "m", **kw: Any) -> dict[str, Any]:
    kw.setdefault("messages", [Message("user", [TextPart("hi")])])
    return json.loads(encode_canonical(ChatRequest(model="creator/model", **kw), model, slug))


def rejects(fn: Any, *args: Any, **kw: Any) -> RequestError:
    with pytest.raises(RequestError) as info:
        fn(*args, **kw)
    assert info.value.category is ErrorCategory.UNSUPPORTED
    return info.value


def provider(slug: str, **options: Any) -> ProviderConfig:
    return ProviderConfig(slug=slug, protocol="openai-chat", base_url="http://x/v1", api_key="k", options=options)


# ---- choosing the entry ----

def test_entry_defaults_to_the_slug_and_options_quirks_overrides() -> None:
    assert quirks_for(provider("mistral")) is QUIRKS["mistral"]
    assert quirks_for(provider("openai")) is NO_QUIRKS
    assert quirks_for(provider("my-llm")) is NO_QUIRKS
    assert quirks_for(provider("groq-eu", quirks="groq")) is QUIRKS["groq"]
    assert quirks_for(provider("mistral", quirks="none")) is NO_QUIRKS
    with pytest.raises(ValueError, match="unknown options.quirks 'mistrall'"):
        quirks_for(provider("x", quirks="mistrall"))
    assert OpenAIChatAdapter(provider("eu-mistral", quirks="mistral")).quirks is QUIRKS["mistral"]


def test_openai_bodies_are_untouched() -> None:
    raw = {"model": "openai/gpt-4o", "messages": [{"role": "user", "content": "hi", "name": "al"}], "seed": 1,
           "user": "u", "logprobs": True, "top_logprobs": 2, "logit_bias": {"1": 5}, "n": 3, "stream": True,
           "max_completion_tokens": 9, "tools": [{"type": "function", "function": {"name": "f"}}]}
    assert encode_passthrough(raw, "gpt-4o", "openai") == encode_passthrough(raw, "gpt-4o", "openai", NO_QUIRKS)
    body = json.loads(encode_passthrough(raw, "gpt-4o", "openai"))
    assert body == {**raw, "model": "gpt-4o", "stream_options": {"include_usage": True}}


# ---- Mistral ----

def test_mistral_seed_is_random_seed() -> None:
    assert passthrough("mistral", seed=7) == {"model": "m", "messages": HI, "random_seed": 7}
    assert canonical("mistral", seed=7)["random_seed"] == 7
    assert "seed" not in canonical("mistral", seed=7)
    # the caller's own random_seed (via providerOptions) wins
    body = passthrough("mistral", seed=7, providerOptions={"mistral": {"random_seed": 1}})
    assert body["random_seed"] == 1 and "seed" not in body


def test_mistral_max_completion_tokens_is_max_tokens() -> None:
    assert passthrough("mistral", max_completion_tokens=50)["max_tokens"] == 50
    body = passthrough("mistral", max_completion_tokens=50, max_tokens=20)
    assert body["max_tokens"] == 20 and "max_completion_tokens" not in body


def test_mistral_gets_no_stream_options() -> None:
    body = passthrough("mistral", stream=True, stream_options={"include_usage": True})
    assert body["stream"] is True and "stream_options" not in body
    assert "stream_options" not in canonical("mistral", stream=True)


def test_mistral_drops_what_its_schema_lacks() -> None:
    assert passthrough("mistral", user="u1", service_tier="flex", store=False) == {"model": "m", "messages": HI}
    assert "user" not in canonical("mistral", user="u1")


@pytest.mark.parametrize("key,value", [("logprobs", True), ("top_logprobs", 3), ("logit_bias", {"12": 3})])
def test_mistral_rejects_logprobs_and_logit_bias_when_set(key: str, value: Any) -> None:
    err = rejects(passthrough, "mistral", **{key: value})
    assert err.param == key and "mistral" in err.message
    assert key not in passthrough("mistral", **{key: None if key == "logit_bias" else False})


def test_mistral_message_fields() -> None:
    raw_messages = [
        {"role": "system", "content": "be brief", "name": "sys"},
        {"role": "user", "content": "hi", "name": "alice"},
        {"role": "assistant", "content": "thinking done", "refusal": None, "annotations": [],
         "reasoning_content": "hmm", "tool_calls": [{"id": "c1", "type": "function",
                                                      "function": {"name": "f", "arguments": "{}"}}]},
        {"role": "tool", "tool_call_id": "c1", "content": "ok"},
    ]
    before = json.loads(json.dumps(raw_messages))
    body = passthrough("mistral", messages=raw_messages)
    assert body["messages"] == [
        {"role": "system", "content": "be brief"}, {"role": "user", "content": "hi"},
        {"role": "assistant", "content": "thinking done", "tool_calls": before[2]["tool_calls"]},
        {"role": "tool", "tool_call_id": "c1", "content": "ok"}]
    assert raw_messages == before  # the caller's messages are copied, not changed
    body = canonical("mistral", messages=[
        Message("user", [TextPart("hi")], name="alice"),
        Message("assistant", [ReasoningPart("hmm"), TextPart("yes")])])
    assert body["messages"] == [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "yes"}]


def test_mistral_usage_on_the_finish_chunk_without_asking() -> None:
    raw = (b'data: {"id":"a1","object":"chat.completion.chunk","created":1,"model":"mistral-small-latest",'
           b'"choices":[{"index":0,"delta":{"role":"assistant","content":"Hi"},"finish_reason":null}]}\n\n'
           b'data: {"id":"a1","object":"chat.completion.chunk","created":1,"model":"mistral-small-latest",'
           b'"choices":[{"index":0,"delta":{"content":""},"finish_reason":"stop"}],'
           b'"usage":{"prompt_tokens":5,"total_tokens":7,"completion_tokens":2}}\n\ndata: [DONE]\n\n')
    for chunks in splits(raw):
        dec = OpenAIStreamDecoder("mistral")
        events = [e for c in chunks for e in dec.feed(c)] + dec.close()
        assert events[-1] == UsageReport(Usage(5, 2))
        relay = OpenAIPassthroughStream("mistral", True)
        for c in chunks:
            relay.feed(c)
        relay.close()
        assert relay.usage == Usage(5, 2) and relay.finish_reason == "stop"


# ---- Groq ----

@pytest.mark.parametrize("key,value", [("logprobs", True), ("top_logprobs", 2), ("logit_bias", {"1": -100})])
def test_groq_rejects_logprobs_and_logit_bias_when_set(key: str, value: Any) -> None:
    assert rejects(passthrough, "groq", **{key: value}).param == key
    assert key not in passthrough("groq", **{key: False if key == "logprobs" else None})


def test_groq_n_must_be_one() -> None:
    assert rejects(passthrough, "groq", n=2).param == "n"
    assert passthrough("groq", n=1)["n"] == 1


def test_groq_drops_message_names_and_keeps_the_rest() -> None:
    body = passthrough("groq", messages=[{"role": "user", "content": "hi", "name": "alice"}], seed=3, user="u",
                       stream=True, max_completion_tokens=9)
    assert body == {"model": "m", "messages": HI, "seed": 3, "user": "u", "stream": True,
                    "stream_options": {"include_usage": True}, "max_completion_tokens": 9}
    assert canonical("groq", messages=[Message("user", [TextPart("hi")], name="alice")])["messages"] == HI


def test_groq_x_groq_usage_in_the_decoder() -> None:
    for chunks in splits(fixture("groq.sse")):
        dec = OpenAIStreamDecoder("groq")
        events = [e for c in chunks for e in dec.feed(c)] + dec.close()
        assert events[-1] == UsageReport(Usage(input_tokens=40, output_tokens=3))
    # without the groq entry the x_groq block means nothing
    dec = OpenAIStreamDecoder("groq", NO_QUIRKS)
    assert not any(isinstance(e, UsageReport) for e in dec.feed(fixture("groq.sse")))


def test_groq_x_groq_error_ends_the_stream() -> None:
    raw = (b'data: {"id":"c","object":"chat.completion.chunk","model":"llama","choices":[{"index":0,'
           b'"delta":{"content":"Hi"},"finish_reason":null}]}\n\n'
           b'data: {"id":"c","object":"chat.completion.chunk","model":"llama","choices":[],'
           b'"x_groq":{"id":"req_1","error":"Tool call validation failed: parameters for tool f did not match"}}\n\n')
    with pytest.raises(UpstreamError) as info:
        OpenAIStreamDecoder("groq").feed(raw)
    assert "Tool call validation failed" in info.value.message
    relay = OpenAIPassthroughStream("groq", False)
    with pytest.raises(UpstreamError):
        relay.feed(raw)


# ---- DeepSeek ----

def test_deepseek_reasoner_drops_ignored_sampling_parameters() -> None:
    body = passthrough("deepseek", "deepseek-reasoner", temperature=0.2, top_p=0.9, presence_penalty=1,
                       frequency_penalty=1, max_tokens=100)
    assert body == {"model": "deepseek-reasoner", "messages": HI, "max_tokens": 100}
    body = canonical("deepseek", "deepseek-reasoner", temperature=0.2, top_p=0.5)
    assert "temperature" not in body and "top_p" not in body


def test_deepseek_reasoner_rejects_logprobs() -> None:
    assert rejects(passthrough, "deepseek", "deepseek-reasoner", logprobs=True).param == "logprobs"
    assert rejects(passthrough, "deepseek", "deepseek-reasoner", top_logprobs=3).param == "top_logprobs"


def test_deepseek_chat_is_untouched() -> None:
    body = passthrough("deepseek", "deepseek-chat", temperature=0.2, logprobs=True, top_logprobs=2)
    assert body == {"model": "deepseek-chat", "messages": HI, "temperature": 0.2, "logprobs": True,
                    "top_logprobs": 2}


# ---- Perplexity ----

TOOL = {"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}


def test_perplexity_rejects_tools() -> None:
    assert rejects(passthrough, "perplexity", "sonar", tools=[TOOL]).param == "tools"
    assert rejects(canonical, "perplexity", "sonar", tools=[Tool("f", {"type": "object"})]).param == "tools"
    assert "tools" not in passthrough("perplexity", "sonar", tools=[])


def test_perplexity_rejects_tool_results() -> None:
    messages = [{"role": "user", "content": "hi"},
                {"role": "assistant", "content": None, "tool_calls": [{"id": "c", "type": "function",
                                                                       "function": {"name": "f", "arguments": "{}"}}]},
                {"role": "tool", "tool_call_id": "c", "content": "ok"}]
    assert rejects(passthrough, "perplexity", "sonar", messages=messages).param == "messages[2].role"
    err = rejects(canonical, "perplexity", "sonar", messages=[
        Message("user", [TextPart("hi")]), Message("assistant", [ToolCallPart("c", "f", "{}")]),
        Message("tool", [ToolResultPart("c", [TextPart("ok")])])])
    assert err.param == "messages[2].role"
