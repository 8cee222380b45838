"""The pass-through relay: provider bytes forwarded as they are, with usage detected and our metadata
on the last chunk."""

from __future__ import annotations

import json
from typing import Any

import pytest

from switchyard.canonical import Usage
from switchyard.errors import ErrorCategory, UpstreamError
from switchyard.protocols.openai_chat.passthrough import OpenAIPassthroughStream
from switchyard.telemetry.record import Attempt, GenerationRecord
from tests.protocols.openai_chat.helpers import fixture, splits, sse_json

DONE = b"data: [DONE]\n\n"


def record(cost: float | None = 0.000123) -> GenerationRecord:
    rec = GenerationRecord("openai/gpt-4o", stream=True)
    rec.model, rec.provider, rec.provider_model_id = "openai/gpt-4o", "openai", "gpt-4o"
    rec.attempts.append(Attempt("openai", "openai/gpt-4o", "gpt-4o", 1000.0, 1100.0, True, 200))
    rec.cost = cost
    return rec


def events_of(raw: bytes) -> list[bytes]:
    """The fixture's events, each with its blank line."""
    return [e + b"\n\n" for e in raw.split(b"\n\n") if e]


def relay(chunks: list[bytes], wants_usage: bool, slug: str = "openai") -> tuple[OpenAIPassthroughStream, bytes]:
    r = OpenAIPassthroughStream(slug, wants_usage)
    out = b""
    for c in chunks:
        out += r.feed(c)
        if r.done:
            break
    r.close()
    return r, out


# ---- the text fixture: role, 4 content chunks, finish, usage (choices []), [DONE] ----

TEXT = fixture("text.sse")
TEXT_EVENTS = events_of(TEXT)
TEXT_USAGE = Usage(input_tokens=19, output_tokens=10)


def test_fixture_layout() -> None:
    assert len(TEXT_EVENTS) == 8
    assert b'"finish_reason":"stop"' in TEXT_EVENTS[5]
    assert b'"choices":[],"usage":{' in TEXT_EVENTS[6]
    assert TEXT_EVENTS[7] == DONE


@pytest.mark.parametrize("chunks", splits(TEXT))
def test_without_usage_content_is_byte_identical_and_finish_is_held(chunks: list[bytes]) -> None:
    r, out = relay(chunks, wants_usage=False)
    # content events go out exactly as sent; the finish chunk, usage chunk and [DONE] are held back
    assert out == b"".join(TEXT_EVENTS[:5])
    assert r.usage == TEXT_USAGE
    assert r.finish_reason == "stop"
    assert r.done is True
    assert r.model == "gpt-4o-2024-08-06"
    rec = record()
    tail = r.finish(rec)
    assert tail.endswith(b"\n\n" + DONE)
    last = sse_json(tail)
    assert last[1] == "[DONE]" and len(last) == 2
    original = json.loads(TEXT_EVENTS[5][6:])
    meta = last[0].pop("provider_metadata")
    assert last[0] == original  # the provider's own finish chunk, untouched but for our metadata
    assert meta["gateway"]["generationId"] == rec.id
    assert meta["gateway"]["cost"] == "0.000123"


@pytest.mark.parametrize("chunks", splits(TEXT))
def test_with_usage_finish_is_forwarded_and_usage_chunk_resent_with_cost(chunks: list[bytes]) -> None:
    r, out = relay(chunks, wants_usage=True)
    assert out == b"".join(TEXT_EVENTS[:6])
    assert r.usage == TEXT_USAGE
    rec = record(cost=0.0005)
    last = sse_json(r.finish(rec))
    assert last[1] == "[DONE]"
    original = json.loads(TEXT_EVENTS[6][6:])
    chunk = last[0]
    meta = chunk.pop("provider_metadata")
    assert chunk["usage"].pop("cost") == 0.0005
    assert chunk == original
    assert chunk["choices"] == []
    assert meta["gateway"]["generationId"] == rec.id


def test_usage_chunk_without_cost() -> None:
    r, _ = relay([TEXT], wants_usage=True)
    chunk = sse_json(r.finish(record(cost=None)))[0]
    assert "cost" not in chunk["usage"]
    assert "provider_metadata" in chunk


# ---- tool calls and other fixtures ----

@pytest.mark.parametrize("wants_usage", [False, True])
def test_tool_call_stream_is_forwarded_byte_identical(wants_usage: bool) -> None:
    raw = fixture("tool_calls.sse")
    evs = events_of(raw)
    expected = b"".join(evs[:-3] if not wants_usage else evs[:-2])
    for chunks in splits(raw):
        r, out = relay(chunks, wants_usage)
        assert out == expected
        assert r.finish_reason == "tool_calls"
        assert r.usage == Usage(input_tokens=82, output_tokens=48, cache_read_tokens=64)


def test_deepseek_usage_on_the_finish_chunk_and_keepalives() -> None:
    raw = fixture("deepseek_reasoner.sse")
    evs = events_of(raw)
    usage = Usage(input_tokens=13, output_tokens=25, reasoning_tokens=21)
    for chunks in splits(raw):
        r, out = relay(chunks, wants_usage=False, slug="deepseek")
        # the leading keep-alive is not relayed (it would end failover); later comments are;
        # only the finish chunk (with usage) is held
        assert evs[0] == b": keep-alive\n\n"
        assert out == b"".join(evs[1:-2])
        assert r.usage == usage
        held = sse_json(r.finish(record()))[0]
        assert held["usage"]["prompt_cache_miss_tokens"] == 13
        assert held["choices"][0]["finish_reason"] == "stop"


def test_deepseek_with_usage_requested_gets_usage_on_the_last_chunk() -> None:
    raw = fixture("deepseek_reasoner.sse")
    r, out = relay([raw], wants_usage=True, slug="deepseek")
    assert out == b"".join(events_of(raw)[1:-1])
    rec = record(cost=0.25)
    rec.usage = r.usage
    last = sse_json(r.finish(rec))[0]
    assert last["choices"] == []
    assert last["usage"]["prompt_tokens"] == 13
    assert last["usage"]["completion_tokens_details"]["reasoning_tokens"] == 21
    assert last["usage"]["cost"] == 0.25
    assert "gateway" in last["provider_metadata"]


def test_groq_x_groq_usage_is_detected() -> None:
    raw = fixture("groq.sse")
    for chunks in splits(raw):
        r, out = relay(chunks, wants_usage=False, slug="groq")
        assert r.usage == Usage(input_tokens=40, output_tokens=3)
        assert r.finish_reason == "stop"
        assert out == b"".join(events_of(raw)[:-2])


def py_json_stream(chunks: list[dict[str, Any]]) -> bytes:
    """What a Python-based compatible server using json.dumps defaults sends: spaces after colons."""
    return b"".join(b"data: " + json.dumps(c).encode() + b"\n\n" for c in chunks) + DONE


def test_json_with_spaces_after_colons() -> None:
    base = {"id": "cmpl-1", "object": "chat.completion.chunk", "created": 1, "model": "local-model"}
    raw = py_json_stream([
        {**base, "choices": [{"index": 0, "delta": {"role": "assistant", "content": "Hi"}, "finish_reason": None}]},
        {**base, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]},
        {**base, "choices": [], "usage": {"prompt_tokens": 7, "completion_tokens": 2, "total_tokens": 9}},
    ])
    assert b'"usage": {' in raw and b'"finish_reason": "stop"' in raw
    evs = events_of(raw)
    for chunks in splits(raw):
        r, out = relay(chunks, wants_usage=False, slug="vllm")
        assert out == evs[0]
        assert r.usage == Usage(7, 2)
        assert r.finish_reason == "stop"
        assert sse_json(r.finish(record()))[0]["choices"][0]["finish_reason"] == "stop"


# ---- errors and ends ----

def test_in_stream_error_raises() -> None:
    raw = fixture("error_midstream.sse")
    for chunks in splits(raw):
        r = OpenAIPassthroughStream("openai", False)
        with pytest.raises(UpstreamError) as info:
            for c in chunks:
                r.feed(c)
        assert info.value.category is ErrorCategory.SERVER_ERROR
        assert "The server had an error" in info.value.message


def test_in_stream_rate_limit_error() -> None:
    r = OpenAIPassthroughStream("openrouter", True)
    with pytest.raises(UpstreamError) as info:
        r.feed(b'data: {"error":{"code":429,"message":"Rate limit exceeded"}}\n\n')
    assert info.value.category is ErrorCategory.RATE_LIMITED


def test_content_mentioning_error_is_not_an_error() -> None:
    ev = b'data: {"id":"c","model":"m","choices":[{"index":0,"delta":{"content":"\\"error\\": none"},' \
         b'"finish_reason":null}]}\n\n'
    ev2 = b'data: {"id":"c","model":"m","error":null,"choices":[{"index":0,"delta":{"content":"x"},' \
          b'"finish_reason":null}]}\n\n'
    r = OpenAIPassthroughStream("openai", False)
    assert r.feed(ev + ev2) == ev + ev2


@pytest.mark.parametrize("cut_at", [b'data: {"id":"chatcmpl-BDxRn2yZtqvWqJ5VqYmq4JbnYFoS1","object":"chat.completion.chunk",'
                                    b'"created":1741570283,"model":"gpt-4o-2024-08-06","service_tier":"default",'
                                    b'"system_fingerprint":"fp_fc9f1d7035","choices":[{"index":0,"delta":{},',
                                    b"help you today"])
def test_cut_before_finish_raises_on_close(cut_at: bytes) -> None:
    r = OpenAIPassthroughStream("openai", True)
    r.feed(TEXT[:TEXT.index(cut_at)])
    with pytest.raises(UpstreamError) as info:
        r.close()
    assert info.value.category is ErrorCategory.SERVER_ERROR


def test_empty_body_raises_on_close() -> None:
    r = OpenAIPassthroughStream("openai", False)
    with pytest.raises(UpstreamError):
        r.close()


def test_finish_without_done_is_accepted() -> None:
    raw = TEXT[:TEXT.index(DONE)]
    r, out = relay([raw], wants_usage=True)
    assert r.done is False and r.finish_reason == "stop"
    assert out == b"".join(TEXT_EVENTS[:6])
    assert sse_json(r.finish(record()))[-1] == "[DONE]"


def test_done_without_trailing_blank_line() -> None:
    raw = TEXT.rstrip(b"\n")
    r, out = relay([raw], wants_usage=False)
    assert r.done is True
    assert out == b"".join(TEXT_EVENTS[:5])


def test_last_content_event_without_blank_line_is_not_lost() -> None:
    content = b'data: {"id":"c","model":"m","choices":[{"index":0,"delta":{"content":"tail"},"finish_reason":null}]}'
    finish = b'data: {"id":"c","model":"m","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}'
    r = OpenAIPassthroughStream("x", True)
    assert r.feed(content + b"\n\n" + finish) == content + b"\n\n"
    r.close()
    # wants_usage: the finish chunk would have been forwarded; it still reaches the caller, before ours
    tail = r.finish(record())
    assert tail.startswith(finish + b"\n\n")
    assert sse_json(tail)[-1] == "[DONE]"


def test_crlf_stream_is_relayed_with_lf() -> None:
    raw = TEXT.replace(b"\n", b"\r\n")
    for chunks in splits(raw, seed=3):
        r, out = relay(chunks, wants_usage=True)
        assert out == b"".join(TEXT_EVENTS[:6])
        assert r.usage == TEXT_USAGE


def test_synthetic_final_chunks_when_provider_sent_neither() -> None:
    ev = b'data: {"id":"c","model":"m","choices":[{"index":0,"delta":{"content":"x"},"finish_reason":null}]}\n\n'
    r = OpenAIPassthroughStream("x", False)
    r.feed(ev + DONE)
    r.close()
    rec = record()
    last = sse_json(r.finish(rec))[0]
    assert last["choices"] == [{"index": 0, "delta": {}, "finish_reason": "stop"}]
    assert last["model"] == "m"
    assert last["provider_metadata"]["gateway"]["generationId"] == rec.id
    r = OpenAIPassthroughStream("x", True)
    r.feed(ev + DONE)
    r.close()
    last = sse_json(r.finish(rec))[0]
    assert last["choices"] == [] and last["usage"] is None


def test_leading_comments_alone_send_nothing_so_failover_stays_open() -> None:
    r = OpenAIPassthroughStream("openrouter", wants_usage=False)
    assert r.feed(b": OPENROUTER PROCESSING\n\n") == b""
    assert r.feed(b": OPENROUTER PROCESSING\n\n: again\n\n") == b""
    data = b'data: {"id":"x","model":"m","choices":[{"index":0,"delta":{"content":"hi"}}]}\n\n'
    assert r.feed(b": late\n\n" + data) == data
    assert r.feed(b": mid-stream\n\n") == b": mid-stream\n\n"
