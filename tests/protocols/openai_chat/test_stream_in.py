"""Decoding provider Chat Completions streams, replayed from raw SSE fixtures in every chunking."""

from __future__ import annotations

import json
from typing import Any

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
from switchyard.protocols.openai_chat.stream_in import OpenAIStreamDecoder
from tests.protocols.openai_chat.helpers import fixture, splits

OPENAI_ID, OPENAI_MODEL = "chatcmpl-BDxRn2yZtqvWqJ5VqYmq4JbnYFoS1", "gpt-4o-2024-08-06"


def decode(chunks: list[bytes], slug: str = "openai") -> list[StreamEvent]:
    dec = OpenAIStreamDecoder(slug)
    events: list[StreamEvent] = []
    for c in chunks:
        events += dec.feed(c)
    events += dec.close()
    return events


def data(obj: Any) -> bytes:
    return b"data: " + json.dumps(obj, separators=(",", ":")).encode() + b"\n\n"


def chunk(delta: dict[str, Any], finish: str | None = None, **extra: Any) -> bytes:
    return data({"id": "c1", "object": "chat.completion.chunk", "created": 1, "model": "m",
                 "choices": [{"index": 0, "delta": delta, "finish_reason": finish}], **extra})


TEXT_EVENTS: list[StreamEvent] = [
    ResponseInfo(OPENAI_ID, OPENAI_MODEL),
    TextDelta("Hello"), TextDelta("!"), TextDelta(" How can I"), TextDelta(" help you today?"),
    Finish("stop", "stop"),
    UsageReport(Usage(input_tokens=19, output_tokens=10)),
]


@pytest.mark.parametrize("chunks", splits(fixture("text.sse")))
def test_text_stream_every_split(chunks: list[bytes]) -> None:
    assert decode(chunks) == TEXT_EVENTS


def test_text_stream_crlf() -> None:
    raw = fixture("text.sse").replace(b"\n", b"\r\n")
    for chunks in splits(raw, seed=7):
        assert decode(chunks) == TEXT_EVENTS


TOOL_EVENTS: list[StreamEvent] = [
    ResponseInfo("chatcmpl-BDxTu3NkJ8wQ0mD0Yv0n7fG2xSgQm", OPENAI_MODEL),
    ToolCallStart(0, "call_DdmO9pD3xa9XTPNJ32zg2hcA", "get_current_weather"),
    ToolCallDelta(0, '{"lo'), ToolCallDelta(0, "cation"), ToolCallDelta(0, '": "Bos'),
    ToolCallDelta(0, 'ton, MA"}'),
    ToolCallStart(1, "call_Ab12Cd34Ef56Gh78Ij90Kl12", "get_time"),
    ToolCallDelta(1, '{"tz"'), ToolCallDelta(1, ':"EST"}'),
    Finish("tool_calls", "tool_calls"),
    UsageReport(Usage(input_tokens=82, output_tokens=48, cache_read_tokens=64)),
]


@pytest.mark.parametrize("chunks", splits(fixture("tool_calls.sse")))
def test_tool_call_stream_every_split(chunks: list[bytes]) -> None:
    events = decode(chunks)
    assert events == TOOL_EVENTS
    args = {0: "", 1: ""}
    for e in events:
        if type(e) is ToolCallDelta:
            args[e.index] += e.arguments
    assert json.loads(args[0]) == {"location": "Boston, MA"}
    assert json.loads(args[1]) == {"tz": "EST"}


DEEPSEEK_EVENTS: list[StreamEvent] = [
    ResponseInfo("930c60df-bf64-41c9-a88e-3ec75f81e00e", "deepseek-reasoner"),
    ReasoningDelta("Okay"), ReasoningDelta(", 9.11 vs 9.9."),
    TextDelta("9.9"), TextDelta(" is larger."),
    Finish("stop", "stop"),
    UsageReport(Usage(input_tokens=13, output_tokens=25, reasoning_tokens=21)),
]


@pytest.mark.parametrize("chunks", splits(fixture("deepseek_reasoner.sse")))
def test_keepalive_comments_and_reasoning(chunks: list[bytes]) -> None:
    raw = fixture("deepseek_reasoner.sse")
    assert raw.count(b": keep-alive\n\n") == 2  # the fixture really has them
    assert decode(chunks, "deepseek") == DEEPSEEK_EVENTS


GROQ_EVENTS: list[StreamEvent] = [
    ResponseInfo("chatcmpl-7c1a5b5e-3f0e-4a57-9d2d-2f7c4f0c3b11", "llama-3.3-70b-versatile"),
    TextDelta("Fast"), TextDelta(" inference."),
    Finish("stop", "stop"),
    UsageReport(Usage(input_tokens=40, output_tokens=3)),
]


@pytest.mark.parametrize("chunks", splits(fixture("groq.sse")))
def test_groq_x_groq_usage(chunks: list[bytes]) -> None:
    assert decode(chunks, "groq") == GROQ_EVENTS


def test_openrouter_processing_comment() -> None:
    raw = b": OPENROUTER PROCESSING\n\n" + b": OPENROUTER PROCESSING\n\n" + chunk({"content": "hi"}) \
        + chunk({}, "stop") + b"data: [DONE]\n\n"
    assert decode([raw], "openrouter") == [ResponseInfo("c1", "m"), TextDelta("hi"), Finish("stop", "stop")]


@pytest.mark.parametrize("chunks", splits(fixture("error_midstream.sse")))
def test_midstream_error_raises_with_category(chunks: list[bytes]) -> None:
    dec = OpenAIStreamDecoder("openai")
    with pytest.raises(UpstreamError) as info:
        for c in chunks:
            dec.feed(c)
    err = info.value
    assert err.category is ErrorCategory.SERVER_ERROR
    assert err.message == ("openai: The server had an error while processing your request. "
                           "Sorry about that!")


def test_events_before_the_error_are_delivered_by_earlier_feeds() -> None:
    raw = fixture("error_midstream.sse")
    head, tail = raw.split(b'data: {"error"')
    dec = OpenAIStreamDecoder("openai")
    assert dec.feed(head)[-1] == TextDelta("Partial")
    with pytest.raises(UpstreamError):
        dec.feed(b'data: {"error"' + tail)


@pytest.mark.parametrize("error,category,status", [
    ({"message": "This model's maximum context length is 8192 tokens.", "type": "invalid_request_error",
      "code": "context_length_exceeded"}, ErrorCategory.CONTEXT_TOO_LONG, 500),
    ({"message": "Rate limit reached for requests", "type": "requests", "code": "rate_limit_exceeded"},
     ErrorCategory.RATE_LIMITED, 500),
    ({"code": 429, "message": "Rate limit exceeded upstream"}, ErrorCategory.RATE_LIMITED, 429),
    ({"code": 502, "message": "Provider returned error"}, ErrorCategory.SERVER_ERROR, 502),
    ({"code": 503, "message": "Service unavailable"}, ErrorCategory.OVERLOADED, 503),
    ({"code": "server_error", "message": "Provider disconnected unexpectedly"}, ErrorCategory.SERVER_ERROR, 500),
    ("plain text error", ErrorCategory.SERVER_ERROR, 500),
])
def test_midstream_error_categories(error: Any, category: ErrorCategory, status: int) -> None:
    dec = OpenAIStreamDecoder("openrouter")
    dec.feed(chunk({"content": "a"}))
    with pytest.raises(UpstreamError) as info:
        dec.feed(data({"id": "c1", "object": "chat.completion.chunk", "error": error,
                       "choices": [{"index": 0, "delta": {"content": ""}, "finish_reason": "error"}]}))
    assert info.value.category is category
    assert info.value.status == status


def test_null_error_key_is_not_an_error() -> None:
    events = decode([chunk({"content": "x"}, error=None), chunk({}, "stop"), b"data: [DONE]\n\n"])
    assert TextDelta("x") in events


def test_cut_stream_raises_on_close() -> None:
    raw = fixture("text.sse")
    cut = raw[:raw.index(b'data: {"id":"chatcmpl-BDxRn2yZtqvWqJ5VqYmq4JbnYFoS1","object":"chat.completion.chunk",'
                         b'"created":1741570283,"model":"gpt-4o-2024-08-06","service_tier":"default",'
                         b'"system_fingerprint":"fp_fc9f1d7035","choices":[{"index":0,"delta":{},')]
    dec = OpenAIStreamDecoder("openai")
    events = dec.feed(cut)
    assert events[-1] == TextDelta(" help you today?")
    with pytest.raises(UpstreamError) as info:
        dec.close()
    assert info.value.category is ErrorCategory.SERVER_ERROR
    assert "ended before" in info.value.message


def test_cut_mid_event_raises_on_close() -> None:
    raw = fixture("text.sse")
    dec = OpenAIStreamDecoder("openai")
    dec.feed(raw[:raw.index(b"help you") ])
    with pytest.raises(UpstreamError):
        dec.close()


def test_empty_body_raises_on_close() -> None:
    dec = OpenAIStreamDecoder("openai")
    assert dec.feed(b"") == []
    with pytest.raises(UpstreamError):
        dec.close()


def test_finish_without_done_is_accepted() -> None:
    raw = fixture("text.sse")
    no_done = raw[:raw.index(b"data: [DONE]")]
    assert decode([no_done]) == TEXT_EVENTS


def test_done_without_trailing_blank_line() -> None:
    raw = fixture("text.sse").rstrip(b"\n")
    assert raw.endswith(b"data: [DONE]")
    assert decode([raw]) == TEXT_EVENTS


def test_final_event_without_trailing_blank_line_is_decoded_on_close() -> None:
    raw = chunk({"content": "hi"}) + chunk({}, "stop").rstrip(b"\n")
    dec = OpenAIStreamDecoder("x")
    assert dec.feed(raw) == [ResponseInfo("c1", "m"), TextDelta("hi")]
    assert dec.close() == [Finish("stop", "stop")]


def test_unreadable_chunk() -> None:
    dec = OpenAIStreamDecoder("openai")
    with pytest.raises(UpstreamError) as info:
        dec.feed(b"data: {not json}\n\n")
    assert info.value.category is ErrorCategory.BAD_RESPONSE


def test_data_without_space() -> None:
    raw = b'data:{"id":"c1","model":"m","choices":[{"index":0,"delta":{"content":"x"},"finish_reason":"length"}]}' \
          b"\n\ndata:[DONE]\n\n"
    assert decode([raw]) == [ResponseInfo("c1", "m"), TextDelta("x"), Finish("length", "length")]


def test_unknown_finish_reason_and_missing_tool_id() -> None:
    raw = (chunk({"tool_calls": [{"index": 0, "function": {"name": "f", "arguments": "{}"}}]})
           + chunk({}, "eos_token") + b"data: [DONE]\n\n")
    assert decode([raw]) == [ResponseInfo("c1", "m"), ToolCallStart(0, "call_0", "f"), ToolCallDelta(0, "{}"),
                             Finish("other", "eos_token")]


def test_usage_on_every_chunk_null_until_last() -> None:
    raw = (chunk({"content": "a"}, usage=None) + chunk({}, "stop", usage={"prompt_tokens": 3, "completion_tokens": 1,
                                                                          "total_tokens": 4})
           + b"data: [DONE]\n\n")
    assert decode([raw]) == [ResponseInfo("c1", "m"), TextDelta("a"), Finish("stop", "stop"),
                             UsageReport(Usage(3, 1))]


def test_info_once() -> None:
    raw = fixture("text.sse")
    events = decode([raw])
    assert sum(type(e) is ResponseInfo for e in events) == 1
