"""Anthropic -> Anthropic pass-through: the re-addressed request, the provider's body, and the stream
relay (bytes untouched, usage read, our metadata on the final message_delta)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import msgspec
import pytest

from switchyard.canonical import Usage
from switchyard.config.model import ProviderConfig
from switchyard.errors import ErrorCategory, RequestError, UpstreamError
from switchyard.protocols.anthropic import AnthropicAdapter
from switchyard.protocols.anthropic.passthrough import (
    AnthropicPassthroughStream,
    merge_beta,
)
from switchyard.protocols.anthropic.request_in import BETA_KEY, VERSION_KEY
from tests.protocols.anthropic.sse_helpers import accumulate, events, record
from tests.protocols.openai_chat.helpers import splits

FIXTURES = Path(__file__).parent / "fixtures"
TEXT = (FIXTURES / "text.sse").read_bytes()
THINKING = (FIXTURES / "thinking.sse").read_bytes()
TOOL_USE = (FIXTURES / "tool_use.sse").read_bytes()
OVERLOADED = (FIXTURES / "overloaded.sse").read_bytes()


def adapter(**options: Any) -> AnthropicAdapter:
    return AnthropicAdapter(ProviderConfig(slug="anthropic", protocol="anthropic-messages",
                                           base_url="https://api.anthropic.com", api_key="sk-ant-ours",
                                           options=options))


def split_events(raw: bytes) -> list[bytes]:
    return [e + b"\n\n" for e in raw.split(b"\n\n") if e.strip()]


def relay(chunks: list[bytes]) -> tuple[AnthropicPassthroughStream, bytes, bytes]:
    r = AnthropicPassthroughStream("anthropic")
    out = b""
    for c in chunks:
        out += r.feed(c)
    r.close()
    rec = record(model="anthropic/claude", provider="anthropic", provider_model="claude-sonnet-4-5-20250929")
    return r, out, r.finish(rec)


# ---- the stream relay ----

@pytest.mark.parametrize("chunks", splits(TEXT))
def test_events_are_forwarded_byte_identical_and_the_delta_carries_metadata(chunks: list[bytes]) -> None:
    r, out, tail = relay(chunks)
    evs = split_events(TEXT)
    assert out == b"".join(evs[:-2])  # everything but message_delta and message_stop, as sent
    assert tail.endswith(evs[-1])  # the provider's own message_stop
    name, delta = events(tail)[0]
    assert name == "message_delta"
    assert delta["delta"] == {"stop_reason": "end_turn", "stop_sequence": None} and delta["usage"] == {"output_tokens": 15}
    assert delta["provider_metadata"]["gateway"]["routing"]["resolvedProvider"] == "anthropic"
    assert r.usage == Usage(input_tokens=25, output_tokens=15) and r.finish_reason == "stop" and r.done
    assert r.model == "claude-sonnet-4-5-20250929"
    msg = accumulate(out + tail)
    assert msg.content[0].text == "Hello, wörld! 👋"


@pytest.mark.parametrize("chunks", splits(THINKING)[:6])
def test_thinking_stream_usage_from_start_and_delta(chunks: list[bytes]) -> None:
    r, out, tail = relay(chunks)
    # message_delta repeats input and cache counts: those are the final word (Anthropic's input
    # excludes cache reads; canonical input includes them).
    assert r.usage == Usage(input_tokens=40 + 1024, output_tokens=250, cache_read_tokens=1024, reasoning_tokens=180)
    assert r.finish_reason == "length"
    msg = accumulate(out + tail)
    assert [b.type for b in msg.content] == ["thinking", "redacted_thinking", "text"]
    assert msg.content[0].signature.startswith("EqQB")


def test_tool_use_stream() -> None:
    r, out, tail = relay([TOOL_USE])
    assert r.usage == Usage(input_tokens=472 + 100 + 2000, output_tokens=89, cache_read_tokens=2000,
                            cache_write_tokens=100)
    assert r.finish_reason == "tool_calls"
    msg = accumulate(out + tail)
    assert msg.content[1].type == "tool_use" and msg.content[1].input


def test_start_and_ping_are_held_until_content_so_an_early_error_can_fail_over() -> None:
    r = AnthropicPassthroughStream("anthropic")
    evs = split_events(TEXT)
    assert r.feed(evs[0]) == b""  # message_start: held
    out = r.feed(evs[1])  # content_block_start: commits
    assert out == evs[0] + evs[1]
    early = AnthropicPassthroughStream("anthropic")
    assert early.feed(evs[0]) == b""
    with pytest.raises(UpstreamError) as exc:
        early.feed(b'event: error\ndata: {"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}\n\n')
    assert exc.value.category is ErrorCategory.OVERLOADED


def test_error_after_content_delivers_what_came_before_then_raises() -> None:
    r = AnthropicPassthroughStream("anthropic")
    evs = split_events(OVERLOADED)
    out = r.feed(b"".join(evs))
    assert out == b"".join(evs[:3])  # start, block start, first delta: the caller already has them
    with pytest.raises(UpstreamError) as exc:
        r.feed(b"")
    assert exc.value.category is ErrorCategory.OVERLOADED and "Overloaded" in exc.value.message
    with pytest.raises(UpstreamError):
        r.close()


def test_stream_without_message_stop_fails_on_close() -> None:
    r = AnthropicPassthroughStream("anthropic")
    r.feed(b"".join(split_events(TEXT)[:5]))
    with pytest.raises(UpstreamError) as exc:
        r.close()
    assert exc.value.category is ErrorCategory.SERVER_ERROR and "message_stop" in exc.value.message


def test_last_event_without_blank_line_and_crlf() -> None:
    raw = TEXT.replace(b"\n", b"\r\n").rstrip(b"\r\n")
    r, out, tail = relay([raw[:300], raw[300:]])
    assert accumulate(out + tail).content[0].text == "Hello, wörld! 👋" and r.done
    r.close()  # idempotent


def test_data_only_events() -> None:
    raw = b"".join(e.split(b"\n", 1)[1] for e in split_events(TEXT))  # drop the event: lines
    r, out, tail = relay([raw])
    assert r.done and r.usage.output_tokens == 15 and b"provider_metadata" in tail


def test_text_mentioning_message_or_error_is_still_forwarded_as_is() -> None:
    tricky = TEXT.replace(b"Hello", b"message_start error")
    r, out, tail = relay(splits(tricky)[2])
    assert b"message_start error" in out and r.done


# ---- the request and the non-streamed body ----

def test_passthrough_call_rewrites_model_and_removes_gateway_keys() -> None:
    raw = {"model": "claude-sonnet-4-5", "max_tokens": 10, "stream": True, "messages": [
        {"role": "user", "content": "hi"},
        {"role": "assistant", "content": [{"type": "thinking", "thinking": "from elsewhere", "signature": ""},
                                          {"type": "thinking", "thinking": "ours", "signature": "sig"},
                                          {"type": "text", "text": "ok"}]}],
           "models": ["acme/x"], "provider": {"order": ["a"]},
           "providerOptions": {"gateway": {"order": ["anthropic"]}, "anthropic": {"top_k": 5},
                               "openai": {"seed": 1}},
           BETA_KEY: "files-api-2025-04-14", VERSION_KEY: "2026-10-21"}
    call = adapter(anthropic_beta=["a-1"]).passthrough_call(raw, "claude-sonnet-4-5-20250929", True)
    body = json.loads(call.body)
    assert body["model"] == "claude-sonnet-4-5-20250929" and body["stream"] is True and body["top_k"] == 5
    assert not {"models", "provider", "providerOptions", BETA_KEY, VERSION_KEY} & body.keys()
    assert body["messages"][1]["content"] == [{"type": "thinking", "thinking": "ours", "signature": "sig"},
                                              {"type": "text", "text": "ok"}]
    assert raw["messages"][1]["content"][0]["signature"] == ""  # the caller's body is not modified
    assert call.url == "https://api.anthropic.com/v1/messages"
    assert call.headers["x-api-key"] == "sk-ant-ours" and call.headers["accept"] == "text/event-stream"
    assert call.headers["anthropic-beta"] == "a-1,files-api-2025-04-14"
    assert call.headers["anthropic-version"] == "2026-10-21"
    assert "authorization" not in call.headers


def test_pinned_version_wins_and_non_stream_drops_stream_flag() -> None:
    raw = {"model": "m", "max_tokens": 1, "stream": False, "messages": [], VERSION_KEY: "2026-10-21"}
    call = adapter(anthropic_version="2023-06-01").passthrough_call(raw, "claude-x", False)
    assert call.headers["anthropic-version"] == "2023-06-01" and "stream" not in json.loads(call.body)
    assert "accept" not in call.headers and "anthropic-beta" not in call.headers


def test_merge_beta() -> None:
    assert merge_beta("a,b", " b , c ") == "a,b,c"
    assert merge_beta(None, "ok-1,bad value\r\nx: y") == "ok-1"
    assert merge_beta(None, None) is None


def test_embeddings_are_not_served() -> None:
    with pytest.raises(RequestError) as exc:
        adapter().passthrough_call({"model": "m"}, "m", False, "embedding")
    assert exc.value.category is ErrorCategory.UNSUPPORTED


def test_count_tokens_call_keeps_only_what_counting_takes() -> None:
    raw = {"model": "x", "max_tokens": 5, "stream": True, "temperature": 1, "system": "s",
           "messages": [{"role": "user", "content": "hi"}], "tools": [], "providerOptions": {"anthropic": {"top_k": 1}}}
    call = adapter().count_tokens_call(raw, "claude-x")
    assert call.url == "https://api.anthropic.com/v1/messages/count_tokens"
    assert json.loads(call.body) == {"model": "claude-x", "system": "s", "tools": [],
                                     "messages": [{"role": "user", "content": "hi"}]}


def test_passthrough_result() -> None:
    body = {"id": "msg_1", "type": "message", "role": "assistant", "model": "claude-x", "stop_reason": "max_tokens",
            "content": [{"type": "text", "text": "hi"}],
            "usage": {"input_tokens": 10, "output_tokens": 2, "cache_read_input_tokens": 5,
                      "cache_creation_input_tokens": None}}
    data, usage, finish = adapter().passthrough_result(msgspec.json.encode(body))
    assert data == body and finish == "length"
    assert usage == Usage(input_tokens=15, output_tokens=2, cache_read_tokens=5)


@pytest.mark.parametrize("raw, category", [
    (b'{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}', ErrorCategory.OVERLOADED),
    (b"<html>", ErrorCategory.BAD_RESPONSE),
    (b'{"type":"message"}', ErrorCategory.BAD_RESPONSE),
])
def test_passthrough_result_errors(raw: bytes, category: ErrorCategory) -> None:
    with pytest.raises(UpstreamError) as exc:
        adapter().passthrough_result(raw)
    assert exc.value.category is category
