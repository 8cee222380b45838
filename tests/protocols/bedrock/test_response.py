"""Converse response body -> ChatResult (shapes from AWS's Converse API reference)."""

from __future__ import annotations

import json

import pytest

from switchyard.canonical import ReasoningPart, TextPart, ToolCallPart, Usage
from switchyard.errors import ErrorCategory, UpstreamError
from switchyard.protocols.bedrock.response import WireUsage, parse_converse, to_usage


def converse(content, stop="end_turn", usage=None) -> bytes:
    return json.dumps({"output": {"message": {"role": "assistant", "content": content}}, "stopReason": stop,
                       "usage": usage or {"inputTokens": 10, "outputTokens": 5, "totalTokens": 15},
                       "metrics": {"latencyMs": 321}}).encode()


def test_text():
    r = parse_converse(converse([{"text": "Hello"}, {"text": " there"}]))
    assert r.text() == "Hello there" and r.finish_reason == "stop" and r.raw_finish_reason == "end_turn"
    assert r.usage == Usage(input_tokens=10, output_tokens=5)


def test_tool_use_and_reasoning():
    r = parse_converse(converse([
        {"reasoningContent": {"reasoningText": {"text": "let me think", "signature": "EqQB"}}},
        {"reasoningContent": {"redactedContent": "cmVkYWN0ZWQ="}},
        {"text": "Checking."},
        {"toolUse": {"toolUseId": "tooluse_1", "name": "get_weather", "input": {"city": "Paris"}}},
        {"toolUse": {"toolUseId": "tooluse_2", "name": "now", "input": {}}},
        {"citationsContent": {"citations": []}},
    ], stop="tool_use"))
    assert r.content == [ReasoningPart("let me think", signature="EqQB"), ReasoningPart(redacted="cmVkYWN0ZWQ="),
                         TextPart("Checking."), ToolCallPart("tooluse_1", "get_weather", '{"city":"Paris"}'),
                         ToolCallPart("tooluse_2", "now", "{}")]
    assert r.finish_reason == "tool_calls"


@pytest.mark.parametrize("raw,reason", [
    ("end_turn", "stop"), ("stop_sequence", "stop"), ("max_tokens", "length"), ("tool_use", "tool_calls"),
    ("guardrail_intervened", "content_filter"), ("content_filtered", "content_filter"),
    ("model_context_window_exceeded", "length"), ("malformed_tool_use", "error"), ("something_new", "other")])
def test_stop_reasons(raw, reason):
    assert parse_converse(converse([{"text": "x"}], stop=raw)).finish_reason == reason


def test_cached_tokens_are_added_to_input():
    # AWS: inputTokens counts only uncached input; total = input + cacheRead + cacheWrite + output.
    u = to_usage(WireUsage(inputTokens=9, outputTokens=357, totalTokens=37575, cacheReadInputTokens=0,
                           cacheWriteInputTokens=37209))
    assert u == Usage(input_tokens=37218, output_tokens=357, cache_read_tokens=0, cache_write_tokens=37209)
    u = to_usage(WireUsage(inputTokens=20, outputTokens=5, totalTokens=1025, cacheReadInputTokens=1000))
    assert u.input_tokens == 1020 and u.cache_read_tokens == 1000


def test_inclusive_input_is_not_counted_twice():
    u = to_usage(WireUsage(inputTokens=5000, outputTokens=100, totalTokens=5100, cacheReadInputTokens=1000))
    assert u.input_tokens == 5000 and u.cache_read_tokens == 1000


@pytest.mark.parametrize("raw", [b"not json", b'{"output": {}}', b'{"output": {"message": {"content": 5}}}'])
def test_unreadable(raw):
    with pytest.raises(UpstreamError) as exc:
        parse_converse(raw)
    assert exc.value.category is ErrorCategory.BAD_RESPONSE
