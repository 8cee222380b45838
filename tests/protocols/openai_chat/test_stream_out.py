"""Encoding canonical events as Chat Completions chunks, parsed back as JSON (and by the OpenAI SDK)."""

from __future__ import annotations

from openai.types.chat import ChatCompletionChunk

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
from switchyard.protocols.openai_chat.stream_out import (
    OpenAIStreamEncoder,
    encode_stream_error,
)
from switchyard.telemetry.record import Attempt, GenerationRecord
from tests.protocols.openai_chat.helpers import sse_json


def record(usage: Usage | None = None, cost: float | None = None) -> GenerationRecord:
    rec = GenerationRecord("openai/gpt-4o", stream=True)
    rec.model = "openai/gpt-4o"
    rec.provider = "openai"
    rec.provider_model_id = "gpt-4o"
    rec.attempts.append(Attempt("openai", "openai/gpt-4o", "gpt-4o", 1000.0, 1100.0, True, 200))
    rec.usage = usage
    rec.cost = cost
    return rec


def run(events_batches: list[list[StreamEvent]], rec: GenerationRecord, wants_usage: bool) -> bytes:
    enc = OpenAIStreamEncoder(rec, wants_usage)
    out = b"".join(enc.encode(batch) for batch in events_batches)
    return out + enc.finish()


def test_text_stream_shape() -> None:
    rec = record(Usage(10, 3), 0.0001)
    out = run([[ResponseInfo("chatcmpl-up", "gpt-4o-2024-08-06"), TextDelta("Hel")],
               [TextDelta("lo")], [Finish("stop", "stop"), UsageReport(Usage(10, 3))]], rec, wants_usage=False)
    assert out.endswith(b"\n\ndata: [DONE]\n\n")
    chunks = sse_json(out)
    assert chunks[-1] == "[DONE]"
    chunks = chunks[:-1]
    for c in chunks:
        assert c["id"] == rec.id
        assert c["object"] == "chat.completion.chunk"
        assert c["model"] == "gpt-4o-2024-08-06"  # from ResponseInfo, not the record
        assert isinstance(c["created"], int)
        ChatCompletionChunk.model_validate(c)
    assert [c["choices"][0]["delta"] for c in chunks] == [
        {"role": "assistant", "content": ""}, {"content": "Hel"}, {"content": "lo"}, {}]
    assert [c["choices"][0]["finish_reason"] for c in chunks] == [None, None, None, "stop"]
    # without usage requested, the finish chunk carries the metadata and no usage
    last = chunks[-1]
    assert "usage" not in last
    gw = last["provider_metadata"]["gateway"]
    assert gw["generationId"] == rec.id
    assert gw["cost"] == "0.0001"
    assert gw["routing"]["resolvedProvider"] == "openai"
    assert all("provider_metadata" not in c for c in chunks[:-1])


def test_first_chunk_has_role_even_without_content() -> None:
    enc = OpenAIStreamEncoder(record(), False)
    first = sse_json(enc.encode([]))
    assert first[0]["choices"][0]["delta"] == {"role": "assistant", "content": ""}
    assert first[0]["model"] == "gpt-4o"  # the record's provider model id
    assert enc.encode([]) == b""  # only once


def test_finish_is_held_until_finish() -> None:
    enc = OpenAIStreamEncoder(record(), False)
    enc.encode([TextDelta("a")])
    assert enc.encode([Finish("length", "length")]) == b""
    assert enc.encode([UsageReport(Usage(1, 1))]) == b""
    tail = sse_json(enc.finish())
    assert tail[0]["choices"][0]["finish_reason"] == "length"
    assert tail[1] == "[DONE]"


def test_other_finish_and_missing_finish_are_stop() -> None:
    enc = OpenAIStreamEncoder(record(), False)
    enc.encode([Finish("other", "weird")])
    assert sse_json(enc.finish())[0]["choices"][0]["finish_reason"] == "stop"
    enc = OpenAIStreamEncoder(record(), False)
    enc.encode([TextDelta("cut")])
    assert sse_json(enc.finish())[0]["choices"][0]["finish_reason"] == "stop"


def test_reasoning_and_tool_calls() -> None:
    out = run([[ReasoningDelta("think"), ReasoningDelta("", signature="sig"),
                ToolCallStart(0, "call_1", "get_weather"), ToolCallDelta(0, '{"city":'), ToolCallDelta(0, '"Paris"}'),
                ToolCallStart(1, "call_2", "get_time"), ToolCallDelta(1, "{}"),
                Finish("tool_calls", "tool_calls")]], record(), wants_usage=False)
    chunks = sse_json(out)[:-1]
    deltas = [c["choices"][0]["delta"] for c in chunks]
    assert deltas == [
        {"role": "assistant", "content": ""},
        {"reasoning_content": "think"},  # the signature-only delta is not sent
        {"tool_calls": [{"index": 0, "id": "call_1", "type": "function",
                         "function": {"name": "get_weather", "arguments": ""}}]},
        {"tool_calls": [{"index": 0, "function": {"arguments": '{"city":'}}]},
        {"tool_calls": [{"index": 0, "function": {"arguments": '"Paris"}'}}]},
        {"tool_calls": [{"index": 1, "id": "call_2", "type": "function",
                         "function": {"name": "get_time", "arguments": ""}}]},
        {"tool_calls": [{"index": 1, "function": {"arguments": "{}"}}]},
        {},
    ]
    assert chunks[-1]["choices"][0]["finish_reason"] == "tool_calls"
    for c in chunks:
        ChatCompletionChunk.model_validate(c)


def test_wants_usage_final_usage_chunk() -> None:
    usage = Usage(input_tokens=120, output_tokens=30, cache_read_tokens=100, reasoning_tokens=8)
    rec = record(usage, 0.000375)
    out = run([[TextDelta("x"), Finish("stop", "stop"), UsageReport(usage)]], rec, wants_usage=True)
    chunks = sse_json(out)
    assert chunks[-1] == "[DONE]"
    finish, final = chunks[-3], chunks[-2]
    assert finish["choices"][0]["finish_reason"] == "stop"
    assert "provider_metadata" not in finish
    assert final["choices"] == []
    assert final["id"] == rec.id and final["object"] == "chat.completion.chunk"
    assert final["usage"] == {
        "prompt_tokens": 120, "completion_tokens": 30, "total_tokens": 150,
        "prompt_tokens_details": {"cached_tokens": 100, "cache_write_tokens": 0},
        "completion_tokens_details": {"reasoning_tokens": 8},
        "cost": 0.000375,
    }
    assert final["provider_metadata"]["gateway"]["generationId"] == rec.id
    assert final["provider_metadata"]["gateway"]["usage"]["cached"] == 100
    parsed = ChatCompletionChunk.model_validate(final)
    assert parsed.usage is not None and parsed.usage.total_tokens == 150


def test_wants_usage_without_any_usage() -> None:
    chunks = sse_json(run([[TextDelta("x")]], record(None, None), wants_usage=True))
    assert chunks[-2]["choices"] == [] and chunks[-2]["usage"] is None
    assert "provider_metadata" in chunks[-2]


def test_round_trip_through_our_decoder() -> None:
    events: list[StreamEvent] = [TextDelta("Hi"), ReasoningDelta("r"), ToolCallStart(0, "call_9", "f"),
                                 ToolCallDelta(0, '{"a":1}'), Finish("tool_calls", "tool_calls")]
    usage = Usage(5, 6, cache_read_tokens=2, reasoning_tokens=1)
    out = run([events], record(usage, 0.01), wants_usage=True)
    dec = OpenAIStreamDecoder("switchyard")
    back = dec.feed(out) + dec.close()
    assert type(back[0]) is ResponseInfo
    assert back[1:] == [TextDelta("Hi"), ReasoningDelta("r"), ToolCallStart(0, "call_9", "f"),
                        ToolCallDelta(0, '{"a":1}'), Finish("tool_calls", "tool_calls"), UsageReport(usage)]


def test_special_characters_are_escaped() -> None:
    text = 'quote " backslash \\ newline \n\n data: [DONE] unicode é 😀'
    out = run([[TextDelta(text)]], record(), wants_usage=False)
    # the blank-line separator never appears inside an event
    assert out.count(b"\n\n") == len(sse_json(out))
    assert sse_json(out)[1]["choices"][0]["delta"]["content"] == text


def test_stream_error() -> None:
    err = UpstreamError(ErrorCategory.RATE_LIMITED, "openai: Rate limit reached", status=429)
    out = encode_stream_error(err, "gen_01XYZ")
    assert out.endswith(b"data: [DONE]\n\n")
    body = sse_json(out)[0]
    assert body == {"error": {"message": "openai: Rate limit reached", "type": "rate_limit_error", "param": None,
                              "code": "rate_limit_exceeded"}, "generationId": "gen_01XYZ"}
