"""Stream decoding replayed from raw SSE fixtures, in every chunking we can think of."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from switchyard.canonical import (
    Finish,
    ReasoningDelta,
    ResponseInfo,
    StreamEvent,
    TextDelta,
    ToolCallDelta,
    ToolCallStart,
    Usage,
    UsageReport,
)
from switchyard.errors import ErrorCategory, UpstreamError
from switchyard.protocols.anthropic.stream import AnthropicStreamDecoder

FIXTURES = Path(__file__).parent / "fixtures"


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def splits(raw: bytes) -> list[list[bytes]]:
    """The same bytes cut every way: whole, byte by byte, fixed sizes and random cuts."""
    out = [[raw], [raw[i:i + 1] for i in range(len(raw))]]
    for size in (2, 3, 7, 64, 1000):
        out.append([raw[i:i + size] for i in range(0, len(raw), size)])
    rng = random.Random(42)
    for _ in range(5):
        cuts = sorted(rng.sample(range(1, len(raw)), 12))
        out.append([raw[a:b] for a, b in zip([0, *cuts], [*cuts, len(raw)])])
    return out


def decode(chunks: list[bytes]) -> list[StreamEvent]:
    dec = AnthropicStreamDecoder()
    events: list[StreamEvent] = []
    for chunk in chunks:
        events.extend(dec.feed(chunk))
    events.extend(dec.close())
    return events


@pytest.mark.parametrize("crlf", [False, True])
def test_text_stream(crlf: bool) -> None:
    raw = fixture("text.sse")
    if crlf:
        raw = raw.replace(b"\n", b"\r\n")
    expected: list[StreamEvent] = [
        ResponseInfo(id="msg_01XFDUDYJgAACzvnptvVoYEL", model="claude-sonnet-4-5-20250929"),
        TextDelta("Hello"),
        TextDelta(", wörld! 👋"),
        Finish("stop", raw="end_turn"),
        UsageReport(Usage(input_tokens=25, output_tokens=15)),
    ]
    for chunks in splits(raw):
        assert decode(chunks) == expected


def test_tool_use_stream() -> None:
    events = decode([fixture("tool_use.sse")])
    assert events[0] == ResponseInfo(id="msg_014p7gG3wDgGV9EUtLvnow3U", model="claude-sonnet-4-5-20250929")
    starts = [e for e in events if isinstance(e, ToolCallStart)]
    assert starts == [ToolCallStart(0, "toolu_01T1x1fJ34qAmk2tNTrN7Up6", "get_weather"),
                      ToolCallStart(1, "toolu_01NoArgs000000000000000", "get_time")]
    args = {i: "".join(e.arguments for e in events if isinstance(e, ToolCallDelta) and e.index == i)
            for i in (0, 1)}
    assert args[0] == '{"location": "San Francisco, CA", "unit": "fahrenheit"}'
    assert args[1] == "{}"  # no JSON streamed for an argument-less call
    assert "".join(e.text for e in events if isinstance(e, TextDelta)) == (
        "Okay, let's check the weather for San Francisco, CA:")
    assert events[-2:] == [
        Finish("tool_calls", raw="tool_use"),
        # 472 uncached + 2000 cache reads + 100 cache writes
        UsageReport(Usage(input_tokens=2572, output_tokens=89, cache_read_tokens=2000, cache_write_tokens=100)),
    ]
    # The start of each call precedes its arguments.
    assert events.index(starts[0]) < next(i for i, e in enumerate(events) if isinstance(e, ToolCallDelta))
    for chunks in splits(fixture("tool_use.sse")):
        assert decode(chunks) == events


def test_thinking_stream_and_delta_usage() -> None:
    events = decode([fixture("thinking.sse")])
    assert events == [
        ResponseInfo(id="msg_01MzrM8dTYq1Jf2tR9yD3pX5", model="claude-sonnet-4-5-20250929"),
        ReasoningDelta(text="Let me solve this step by step:\n\n1. First break down 27 * 453"),
        ReasoningDelta(text="\n2. 453 = 400 + 50 + 3"),
        ReasoningDelta(signature="EqQBCgIYAhIM1gbcDa9GJwZA2b3hGgxBdjrkzLoky3dl1pkiMOYds+ZnaMOVwh9hXMCA"),
        ReasoningDelta(redacted="EmwKAhgBEgy3va3pzix/LafPsn4aDFIT2Xlxh0L5L8rLVyIwxtE3rAFBa8cr3qpP"),
        TextDelta("27 * 453 = 12,231"),
        Finish("length", raw="max_tokens"),
        # message_delta repeated input/cache counts (newer API): they win over message_start's nulls.
        UsageReport(Usage(input_tokens=1064, output_tokens=250, cache_read_tokens=1024, reasoning_tokens=180)),
    ]
    for chunks in splits(fixture("thinking.sse")):
        assert decode(chunks) == events


def test_error_event_mid_stream_raises_after_delivering_earlier_events() -> None:
    raw = fixture("overloaded.sse")
    for chunks in splits(raw):
        dec = AnthropicStreamDecoder()
        got: list[StreamEvent] = []
        with pytest.raises(UpstreamError) as info:
            for chunk in chunks:
                got.extend(dec.feed(chunk))
            dec.close()
        assert got == [ResponseInfo(id="msg_01Ov3rl0ad3d", model="claude-opus-4-1-20250805"),
                       TextDelta("Once upon")]
        err = info.value
        assert err.category is ErrorCategory.OVERLOADED
        assert err.message == "anthropic: Overloaded"
        assert err.code == "overloaded_error"
        assert err.body["request_id"] == "req_011CSHoEeqs5C35K2UUqR7Fy"


@pytest.mark.parametrize("err_type,category", [
    ("rate_limit_error", ErrorCategory.RATE_LIMITED),
    ("api_error", ErrorCategory.SERVER_ERROR),
    ("invalid_request_error", ErrorCategory.INVALID_REQUEST),
    ("something_new", ErrorCategory.SERVER_ERROR),
])
def test_error_event_categories(err_type: str, category: ErrorCategory) -> None:
    raw = (b'event: error\ndata: {"type":"error","error":{"type":"%s","message":"boom"}}\n\n'
           % err_type.encode())
    with pytest.raises(UpstreamError) as info:
        AnthropicStreamDecoder().feed(raw)
    assert info.value.category is category


@pytest.mark.parametrize("cut", [0.1, 0.5, 0.9])
def test_cut_stream_raises_on_close(cut: float) -> None:
    raw = fixture("tool_use.sse")
    dec = AnthropicStreamDecoder()
    dec.feed(raw[: int(len(raw) * cut)])
    with pytest.raises(UpstreamError) as info:
        dec.close()
    assert info.value.category is ErrorCategory.SERVER_ERROR
    assert "stream ended before message_stop" in info.value.message


def test_cut_after_message_delta_still_an_error() -> None:
    raw = fixture("text.sse")
    dec = AnthropicStreamDecoder()
    events = dec.feed(raw[: raw.index(b"event: message_stop")])
    assert Finish("stop", raw="end_turn") in events
    with pytest.raises(UpstreamError):
        dec.close()


def test_final_event_without_blank_line_is_flushed() -> None:
    raw = fixture("text.sse").rstrip(b"\n")
    events = decode([raw])
    assert isinstance(events[-1], UsageReport)


def test_unreadable_event_is_bad_response() -> None:
    with pytest.raises(UpstreamError) as info:
        AnthropicStreamDecoder().feed(b"event: content_block_delta\ndata: {not json\n\n")
    assert info.value.category is ErrorCategory.BAD_RESPONSE


def test_unknown_events_and_blocks_are_skipped() -> None:
    raw = fixture("text.sse").replace(
        b"event: content_block_stop",
        b'event: content_block_delta\ndata: {"type":"content_block_delta","index":0,'
        b'"delta":{"type":"citations_delta","citation":{"type":"char_location"}}}\n\n'
        b'event: content_block_start\ndata: {"type":"content_block_start","index":5,'
        b'"content_block":{"type":"server_tool_use","id":"srvtoolu_1","name":"web_search","input":{}}}\n\n'
        b'event: content_block_delta\ndata: {"type":"content_block_delta","index":5,'
        b'"delta":{"type":"input_json_delta","partial_json":"{\\"query\\":\\"x\\"}"}}\n\n'
        b'event: future_event\ndata: {"type":"future_event"}\n\n'
        b"event: content_block_stop", 1)
    events = decode([raw])
    assert not any(isinstance(e, (ToolCallStart, ToolCallDelta)) for e in events)
    assert "".join(e.text for e in events if isinstance(e, TextDelta)) == "Hello, wörld! 👋"
