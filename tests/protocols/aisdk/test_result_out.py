"""ChatResult -> LanguageModelV{2,3,4}GenerateResult JSON."""

from __future__ import annotations

import json

import pytest

from switchyard.canonical import (
    ChatResult,
    ReasoningPart,
    TextPart,
    ToolCallPart,
    Usage,
)
from switchyard.protocols.aisdk.result_out import finish_reason, render_result, usage
from tests.protocols.aisdk.helpers import record

RESULT = ChatResult(
    content=[ReasoningPart("hmm", signature="sig"), ReasoningPart(redacted="opaque"), TextPart("hello"),
             ToolCallPart("c1", "get_weather", '{"city":"Paris"}'), ToolCallPart("c2", "now", "")],
    finish_reason="tool_calls", usage=Usage(input_tokens=10, output_tokens=7, cache_read_tokens=4,
                                            cache_write_tokens=1, reasoning_tokens=2),
    raw_finish_reason="tool_use")


@pytest.mark.parametrize("spec", [2, 3, 4])
def test_generate_result(spec: int) -> None:
    rec = record()
    body = json.loads(render_result(RESULT, rec, spec))
    assert set(body) == {"content", "finishReason", "usage", "providerMetadata", "warnings"}
    assert body["content"] == [
        {"type": "reasoning", "text": "hmm", "providerMetadata": {"anthropic": {"signature": "sig"}}},
        {"type": "reasoning", "text": "", "providerMetadata": {"anthropic": {"redactedData": "opaque"}}},
        {"type": "text", "text": "hello"},
        {"type": "tool-call", "toolCallId": "c1", "toolName": "get_weather", "input": '{"city":"Paris"}'},
        {"type": "tool-call", "toolCallId": "c2", "toolName": "now", "input": "{}"},
    ]
    assert body["warnings"] == []
    gateway = body["providerMetadata"]["gateway"]
    assert gateway["generationId"] == rec.id and gateway["cost"] == "0.000011"
    assert gateway["routing"]["resolvedProvider"] == "acme"
    if spec == 2:
        assert body["finishReason"] == "tool-calls"
        assert body["usage"] == {"inputTokens": 10, "outputTokens": 7, "totalTokens": 17, "reasoningTokens": 2,
                                 "cachedInputTokens": 4}
    else:
        assert body["finishReason"] == {"unified": "tool-calls", "raw": "tool_use"}
        assert body["usage"] == {"inputTokens": {"total": 10, "noCache": 5, "cacheRead": 4, "cacheWrite": 1},
                                 "outputTokens": {"total": 7, "text": 5, "reasoning": 2}}


@pytest.mark.parametrize("reason, unified", [
    ("stop", "stop"), ("length", "length"), ("tool_calls", "tool-calls"), ("content_filter", "content-filter"),
    ("error", "error"), ("other", "other"), (None, "other"),
])
def test_finish_reasons(reason, unified) -> None:
    assert finish_reason(reason, None, 2) == unified
    assert finish_reason(reason, None, 4) == {"unified": unified}
    assert finish_reason(reason, "end_turn", 3) == {"unified": unified, "raw": "end_turn"}


def test_unknown_usage_leaves_numbers_out() -> None:
    assert usage(None, 2) == {}
    assert usage(None, 3) == {"inputTokens": {}, "outputTokens": {}}


def test_empty_text_is_not_a_part() -> None:
    body = json.loads(render_result(ChatResult([TextPart("")], "stop", None), record(), 4))
    assert body["content"] == [] and body["finishReason"] == {"unified": "stop"}
    assert body["usage"]["inputTokens"]["total"] == 10  # the record's usage when the result has none
