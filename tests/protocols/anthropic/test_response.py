from __future__ import annotations

import msgspec
import pytest

from switchyard.canonical import ReasoningPart, TextPart, ToolCallPart, Usage
from switchyard.errors import ErrorCategory, UpstreamError
from switchyard.protocols.anthropic.response import finish_reason, parse_message


def body(**overrides: object) -> bytes:
    msg: dict[str, object] = {
        "id": "msg_01XFDUDYJgAACzvnptvVoYEL",
        "type": "message",
        "role": "assistant",
        "model": "claude-sonnet-4-5-20250929",
        "content": [{"type": "text", "text": "Hi! My name is Claude."}],
        "stop_reason": "end_turn",
        "stop_sequence": None,
        "usage": {"input_tokens": 2095, "output_tokens": 503},
    }
    msg.update(overrides)
    return msgspec.json.encode(msg)


def test_text() -> None:
    r = parse_message(body())
    assert r.content == [TextPart("Hi! My name is Claude.")]
    assert r.text() == "Hi! My name is Claude."
    assert (r.finish_reason, r.raw_finish_reason) == ("stop", "end_turn")
    assert r.id == "msg_01XFDUDYJgAACzvnptvVoYEL"
    assert r.model == "claude-sonnet-4-5-20250929"
    assert r.usage == Usage(input_tokens=2095, output_tokens=503)


def test_tool_use_arguments_are_compact_json() -> None:
    r = parse_message(body(
        content=[
            {"type": "text", "text": "Let me check."},
            {"type": "tool_use", "id": "toolu_01A09q90qw90lq917835lq9", "name": "get_weather",
             "input": {"location": "San Francisco, CA", "unit": "celsius"}},
            {"type": "tool_use", "id": "toolu_02", "name": "get_time", "input": {}},
        ],
        stop_reason="tool_use",
    ))
    assert r.content[1:] == [
        ToolCallPart("toolu_01A09q90qw90lq917835lq9", "get_weather",
                     '{"location":"San Francisco, CA","unit":"celsius"}'),
        ToolCallPart("toolu_02", "get_time", "{}"),
    ]
    assert r.finish_reason == "tool_calls"


def test_thinking_and_redacted_thinking() -> None:
    r = parse_message(body(content=[
        {"type": "thinking", "thinking": "Let me analyze this...", "signature": "WaUjzkyp=="},
        {"type": "redacted_thinking", "data": "EmwKAhgBEgy3va3pzix"},
        {"type": "text", "text": "Done."},
        {"type": "server_tool_use", "id": "srvtoolu_1", "name": "web_search", "input": {"query": "x"}},
    ]))
    assert r.content == [
        ReasoningPart(text="Let me analyze this...", signature="WaUjzkyp=="),
        ReasoningPart(redacted="EmwKAhgBEgy3va3pzix"),
        TextPart("Done."),
    ]


def test_usage_with_cache_adds_cached_tokens_to_input() -> None:
    r = parse_message(body(usage={
        "input_tokens": 50, "cache_creation_input_tokens": 120, "cache_read_input_tokens": 2400,
        "output_tokens": 10, "cache_creation": {"ephemeral_5m_input_tokens": 120}, "service_tier": "standard",
    }))
    assert r.usage == Usage(input_tokens=2570, output_tokens=10, cache_read_tokens=2400, cache_write_tokens=120)
    r = parse_message(body(usage={"input_tokens": 5, "output_tokens": 1, "cache_read_input_tokens": None}))
    assert r.usage == Usage(input_tokens=5, output_tokens=1)
    r = parse_message(body(usage={"input_tokens": 5, "output_tokens": 90,
                                  "output_tokens_details": {"thinking_tokens": 70}}))
    assert r.usage == Usage(input_tokens=5, output_tokens=90, reasoning_tokens=70)


@pytest.mark.parametrize("raw,reason", [
    ("end_turn", "stop"), ("stop_sequence", "stop"), ("pause_turn", "stop"), ("max_tokens", "length"),
    ("tool_use", "tool_calls"), ("refusal", "content_filter"), ("model_context_window_exceeded", "length"),
    ("brand_new_reason", "other"), (None, "other"),
])
def test_stop_reasons(raw: str | None, reason: str) -> None:
    assert finish_reason(raw) == reason
    r = parse_message(body(stop_reason=raw))
    assert (r.finish_reason, r.raw_finish_reason) == (reason, raw)


@pytest.mark.parametrize("raw", [b"", b"<html>502</html>", b'{"content": "nope"}'])
def test_unreadable_body(raw: bytes) -> None:
    with pytest.raises(UpstreamError) as info:
        parse_message(raw)
    assert info.value.category is ErrorCategory.BAD_RESPONSE


def test_error_body_with_2xx() -> None:
    raw = b'{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}'
    with pytest.raises(UpstreamError) as info:
        parse_message(raw)
    assert info.value.category is ErrorCategory.OVERLOADED
