"""Chat Completions response bodies: provider body -> ChatResult, and ChatResult -> caller body."""

from __future__ import annotations

import json
from typing import Any

import msgspec
import pytest

from switchyard.canonical import (
    ChatResult,
    ReasoningPart,
    TextPart,
    ToolCallPart,
    Usage,
)
from switchyard.errors import ErrorCategory, UpstreamError
from switchyard.protocols.openai_chat.response import (
    augment_passthrough,
    parse_result,
    render_result,
)
from switchyard.telemetry.record import Attempt, GenerationRecord


def completion(message: dict[str, Any], finish: str | None = "stop", **extra: Any) -> bytes:
    body: dict[str, Any] = {
        "id": "chatcmpl-B9MHDbslfkBeAs8l4bebGdFOJ6PeG",
        "object": "chat.completion",
        "created": 1741570283,
        "model": "gpt-4o-2024-08-06",
        "choices": [{"index": 0, "message": message, "logprobs": None, "finish_reason": finish}],
        "usage": {
            "prompt_tokens": 1117, "completion_tokens": 46, "total_tokens": 1163,
            "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
            "completion_tokens_details": {"reasoning_tokens": 0, "audio_tokens": 0,
                                          "accepted_prediction_tokens": 0, "rejected_prediction_tokens": 0},
        },
        "service_tier": "default",
        "system_fingerprint": "fp_fc9f1d7035",
    }
    body.update(extra)
    return msgspec.json.encode(body)


def test_text() -> None:
    r = parse_result(completion({"role": "assistant", "content": "The image shows a wooden boardwalk.",
                                 "refusal": None, "annotations": []}))
    assert r.content == [TextPart("The image shows a wooden boardwalk.")]
    assert (r.finish_reason, r.raw_finish_reason) == ("stop", "stop")
    assert r.id == "chatcmpl-B9MHDbslfkBeAs8l4bebGdFOJ6PeG"
    assert r.model == "gpt-4o-2024-08-06"
    assert r.usage == Usage(input_tokens=1117, output_tokens=46)


def test_tool_calls() -> None:
    r = parse_result(completion({"role": "assistant", "content": None, "tool_calls": [
        {"id": "call_abc123", "type": "function",
         "function": {"name": "get_current_weather", "arguments": "{\n\"location\": \"Boston, MA\"\n}"}},
        {"id": "call_def456", "type": "function", "function": {"name": "get_time", "arguments": "{}"}},
    ]}, finish="tool_calls"))
    assert r.content == [
        ToolCallPart("call_abc123", "get_current_weather", "{\n\"location\": \"Boston, MA\"\n}"),
        ToolCallPart("call_def456", "get_time", "{}"),
    ]
    assert r.finish_reason == "tool_calls"
    assert r.text() == ""


def test_reasoning_content_comes_first() -> None:
    r = parse_result(completion({"role": "assistant", "content": "9.11 < 9.9",
                                 "reasoning_content": "Compare the decimals..."}))
    assert r.content == [ReasoningPart("Compare the decimals..."), TextPart("9.11 < 9.9")]
    # OpenRouter / Groq spell it "reasoning"
    r = parse_result(completion({"role": "assistant", "content": "ok", "reasoning": "hmm"}))
    assert r.content == [ReasoningPart("hmm"), TextPart("ok")]


@pytest.mark.parametrize("raw,reason", [
    ("stop", "stop"), ("length", "length"), ("tool_calls", "tool_calls"), ("function_call", "tool_calls"),
    ("content_filter", "content_filter"), ("eos", "stop"), ("something_new", "other"), (None, "stop"),
])
def test_finish_reasons(raw: str | None, reason: str) -> None:
    r = parse_result(completion({"role": "assistant", "content": "x"}, finish=raw))
    assert r.finish_reason == reason
    assert r.raw_finish_reason == raw


def test_usage_with_cached_and_reasoning_details() -> None:
    r = parse_result(completion({"role": "assistant", "content": "x"}, usage={
        "prompt_tokens": 2006, "completion_tokens": 300, "total_tokens": 2306,
        "prompt_tokens_details": {"cached_tokens": 1920},
        "completion_tokens_details": {"reasoning_tokens": 192}}))
    assert r.usage == Usage(input_tokens=2006, output_tokens=300, cache_read_tokens=1920, reasoning_tokens=192)


def test_deepseek_prompt_cache_hit_tokens() -> None:
    r = parse_result(completion({"role": "assistant", "content": "x"}, usage={
        "prompt_tokens": 100, "completion_tokens": 20, "total_tokens": 120,
        "prompt_tokens_details": {"cached_tokens": 0},
        "prompt_cache_hit_tokens": 64, "prompt_cache_miss_tokens": 36,
        "completion_tokens_details": {"reasoning_tokens": 12}}))
    assert r.usage == Usage(input_tokens=100, output_tokens=20, cache_read_tokens=64, reasoning_tokens=12)


def test_usage_with_null_details_and_no_usage() -> None:
    r = parse_result(completion({"role": "assistant", "content": "x"}, usage={
        "prompt_tokens": 5, "completion_tokens": 1, "total_tokens": 6,
        "prompt_tokens_details": None, "completion_tokens_details": None}))
    assert r.usage == Usage(input_tokens=5, output_tokens=1)
    r = parse_result(completion({"role": "assistant", "content": "x"}, usage=None))
    assert r.usage is None


@pytest.mark.parametrize("body", [
    b"",
    b"<html>502 Bad Gateway</html>",
    b"[]",
    b'"ok"',
    b"{}",
    b'{"choices": []}',
    b'{"choices": null}',
    b'{"choices": ["x"]}',
    b'{"choices": [{"message": "hi", "finish_reason": "stop"}]}',
    b'{"choices": [{"message": {"content": "x", "tool_calls": ["call"]}}]}',
    b'{"error": {"message": "oops", "type": "server_error"}}',
])
def test_bad_bodies(body: bytes) -> None:
    with pytest.raises(UpstreamError) as info:
        parse_result(body)
    assert info.value.category is ErrorCategory.BAD_RESPONSE
    assert info.value.status == 502


# ---- rendering for a caller ----

def record(cost: float | None = 0.00123) -> GenerationRecord:
    rec = GenerationRecord("openai/gpt-4o", stream=False)
    rec.model = "openai/gpt-4o"
    rec.provider = "openai"
    rec.provider_model_id = "gpt-4o-2024-08-06"
    rec.attempts.append(Attempt("openai", "openai/gpt-4o", "gpt-4o-2024-08-06", 1000.0, 1200.0, True, 200))
    rec.usage = Usage(input_tokens=100, output_tokens=20, cache_read_tokens=40, reasoning_tokens=5)
    rec.cost = cost
    return rec


def test_render_text_result() -> None:
    rec = record()
    result = ChatResult(content=[ReasoningPart("thought"), TextPart("Hello "), TextPart("there")],
                        finish_reason="stop", usage=rec.usage, id="chatcmpl-x", model="gpt-4o-2024-08-06")
    body = json.loads(render_result(result, rec))
    assert body["id"] == rec.id and rec.id.startswith("gen_")
    assert body["object"] == "chat.completion"
    assert isinstance(body["created"], int)
    assert body["model"] == "gpt-4o-2024-08-06"
    assert body["choices"] == [{"index": 0, "logprobs": None, "finish_reason": "stop", "message": {
        "role": "assistant", "content": "Hello there", "refusal": None, "reasoning_content": "thought"}}]
    assert body["usage"] == {
        "prompt_tokens": 100, "completion_tokens": 20, "total_tokens": 120,
        "prompt_tokens_details": {"cached_tokens": 40, "cache_write_tokens": 0},
        "completion_tokens_details": {"reasoning_tokens": 5},
        "cost": 0.00123,
    }
    gw = body["provider_metadata"]["gateway"]
    assert gw["generationId"] == rec.id
    assert gw["cost"] == "0.00123"
    assert gw["routing"]["resolvedProvider"] == "openai"
    assert gw["routing"]["attempts"][0]["success"] is True
    assert gw["usage"] == {"input": 100, "output": 20, "cached": 40, "cacheWrite": 0, "reasoning": 5}


def test_render_tool_calls() -> None:
    rec = record(cost=None)
    result = ChatResult(content=[ToolCallPart("call_1", "get_weather", '{"city":"Paris"}')],
                        finish_reason="tool_calls", usage=None, model=None)
    body = json.loads(render_result(result, rec))
    msg = body["choices"][0]["message"]
    assert msg["content"] is None
    assert msg["tool_calls"] == [{"id": "call_1", "type": "function",
                                  "function": {"name": "get_weather", "arguments": '{"city":"Paris"}'}}]
    assert "reasoning_content" not in msg
    assert body["choices"][0]["finish_reason"] == "tool_calls"
    assert body["model"] == "gpt-4o-2024-08-06"  # the record's when the provider gave none
    assert body["usage"]["prompt_tokens"] == 0 and "cost" not in body["usage"]


def test_render_other_finish_as_stop_and_empty_text() -> None:
    body = json.loads(render_result(ChatResult(content=[], finish_reason="other"), record()))
    assert body["choices"][0]["finish_reason"] == "stop"
    assert body["choices"][0]["message"]["content"] == ""


def test_augment_passthrough() -> None:
    rec = record(cost=0.5)
    data = json.loads(completion({"role": "assistant", "content": "hi"}))
    out = json.loads(augment_passthrough(data, rec))
    assert out["usage"]["cost"] == 0.5
    assert out["usage"]["prompt_tokens"] == 1117
    assert out["system_fingerprint"] == "fp_fc9f1d7035"
    assert out["provider_metadata"]["gateway"]["generationId"] == rec.id
    assert out["id"] == "chatcmpl-B9MHDbslfkBeAs8l4bebGdFOJ6PeG"
