"""Canonical stream events -> LanguageModelV{2,3,4}StreamPart SSE frames."""

from __future__ import annotations

import pytest

from switchyard.canonical import (
    Finish,
    ReasoningDelta,
    ResponseInfo,
    TextDelta,
    ToolCallDelta,
    ToolCallStart,
    Usage,
    UsageReport,
)
from switchyard.errors import ErrorCategory, UpstreamError
from switchyard.protocols.aisdk.frontdoor import AISDKFrontDoor
from switchyard.protocols.aisdk.request_in import parse
from switchyard.protocols.aisdk.stream_out import AISDKStreamEncoder
from tests.protocols.aisdk.helpers import call, lm_headers, record, sse_parts


def run(encoder: AISDKStreamEncoder, *batches: list) -> list[dict]:
    data = b"".join(encoder.encode(list(b)) for b in batches) + encoder.finish()
    return sse_parts(data)


@pytest.mark.parametrize("spec", [2, 3, 4])
def test_text_stream(spec: int) -> None:
    rec = record(usage=None)
    enc = AISDKStreamEncoder(rec, spec)
    first = enc.encode([ResponseInfo("chatcmpl-1", "gpt-x"), TextDelta("echo:")])
    rec.usage = Usage(input_tokens=4, output_tokens=4)  # the executor accounts usage as it arrives
    parts = sse_parts(first + enc.encode([TextDelta(" hi"), Finish("stop", "stop")])
                      + enc.encode([UsageReport(rec.usage)]) + enc.finish())
    assert [p["type"] for p in parts] == ["stream-start", "response-metadata", "text-start", "text-delta",
                                          "text-delta", "text-end", "finish"]
    assert parts[0] == {"type": "stream-start", "warnings": []}
    meta = parts[1]
    assert meta["id"] == rec.id and meta["modelId"] == "acme/echo-1" and meta["timestamp"].endswith("Z")
    assert parts[2] == {"type": "text-start", "id": "t0", "providerMetadata": {"gateway": {"generationId": rec.id}}}
    assert [p["delta"] for p in parts[3:5]] == ["echo:", " hi"] and {p["id"] for p in parts[2:6]} == {"t0"}
    finish = parts[-1]
    assert finish["providerMetadata"]["gateway"]["generationId"] == rec.id
    if spec == 2:
        assert finish["finishReason"] == "stop"
        assert finish["usage"]["inputTokens"] == 4 and finish["usage"]["totalTokens"] == 8
    else:
        assert finish["finishReason"] == {"unified": "stop", "raw": "stop"}
        assert finish["usage"]["inputTokens"]["total"] == 4 and finish["usage"]["outputTokens"]["text"] == 4


def test_reasoning_then_text_then_parallel_tool_calls() -> None:
    enc = AISDKStreamEncoder(record(), 4)
    parts = run(enc,
                [ReasoningDelta("let me "), ReasoningDelta("think"), ReasoningDelta(signature="sig")],
                [ReasoningDelta(redacted="opaque"), TextDelta("calling")],
                [ToolCallStart(0, "c0", "a"), ToolCallStart(1, "c1", "b"), ToolCallDelta(0, '{"x":'),
                 ToolCallDelta(1, '{"y":2}'), ToolCallDelta(0, "1}"), Finish("tool_calls", "tool_calls")])
    kinds = [(p["type"], p.get("id")) for p in parts[2:]]
    assert kinds == [
        ("reasoning-start", "r0"), ("reasoning-delta", "r0"), ("reasoning-delta", "r0"), ("reasoning-delta", "r0"),
        ("reasoning-end", "r0"), ("reasoning-start", "r1"), ("reasoning-end", "r1"), ("text-start", "t2"),
        ("text-delta", "t2"), ("text-end", "t2"), ("tool-input-start", "c0"), ("tool-input-start", "c1"),
        ("tool-input-delta", "c0"), ("tool-input-delta", "c1"), ("tool-input-delta", "c0"),
        ("tool-input-end", "c0"), ("tool-call", None), ("tool-input-end", "c1"), ("tool-call", None),
        ("finish", None),
    ]
    assert "gateway" in parts[2]["providerMetadata"]  # only the first content part has the id
    assert all("gateway" not in p.get("providerMetadata", {}) for p in parts[3:-1])
    assert parts[5]["providerMetadata"] == {"anthropic": {"signature": "sig"}} and parts[5]["delta"] == ""
    assert parts[7]["providerMetadata"] == {"anthropic": {"redactedData": "opaque"}}
    assert parts[12] == {"type": "tool-input-start", "id": "c0", "toolName": "a"}
    calls = [p for p in parts if p["type"] == "tool-call"]
    assert calls == [{"type": "tool-call", "toolCallId": "c0", "toolName": "a", "input": '{"x":1}'},
                     {"type": "tool-call", "toolCallId": "c1", "toolName": "b", "input": '{"y":2}'}]
    assert parts[-1]["finishReason"] == {"unified": "tool-calls", "raw": "tool_calls"}


def test_tool_call_without_arguments_and_first_part_a_tool() -> None:
    rec = record()
    parts = run(AISDKStreamEncoder(rec, 3), [ToolCallStart(0, "c0", "now")])
    assert parts[2]["providerMetadata"] == {"gateway": {"generationId": rec.id}}
    assert parts[4] == {"type": "tool-call", "toolCallId": "c0", "toolName": "now", "input": "{}"}
    assert parts[-1]["finishReason"] == {"unified": "tool-calls"}  # inferred when no Finish arrived


def test_empty_stream_still_starts_and_finishes() -> None:
    enc = AISDKStreamEncoder(record(), 2)
    parts = sse_parts(enc.finish())
    assert [p["type"] for p in parts] == ["stream-start", "response-metadata", "finish"]
    assert enc.finish() == b""  # idempotent


@pytest.mark.parametrize("spec", [2, 3, 4])
def test_error_after_the_stream_started(spec: int) -> None:
    door = AISDKFrontDoor(default_spec=2)
    inbound = parse(call(), lm_headers(spec, stream=True), 2)
    rec = record()
    enc = door.stream_encoder(inbound, rec)
    head = enc.encode([TextDelta("partial"), ToolCallStart(0, "c0", "t"), ToolCallDelta(0, '{"a"')])
    err = UpstreamError(ErrorCategory.SERVER_ERROR, "acme: stream ended before it was complete", status=0)
    parts = sse_parts(head + door.stream_error(err, rec))
    assert [p["type"] for p in parts][-4:] == ["tool-input-start", "tool-input-delta", "error", "finish"]
    assert not any(p["type"] == "tool-call" for p in parts)  # cut-short arguments are not a call
    error = parts[-2]["error"]
    assert error == {"message": "acme: stream ended before it was complete", "type": "internal_server_error",
                     "statusCode": 502, "isRetryable": True}
    assert parts[-1]["finishReason"] == ("error" if spec == 2 else {"unified": "error"})
