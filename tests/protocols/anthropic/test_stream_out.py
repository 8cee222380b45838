"""The translated stream: canonical events -> Anthropic's exact event sequence, read back with the
`anthropic` SDK's own SSE decoder and message accumulation."""

from __future__ import annotations

from typing import Any

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
from switchyard.protocols.anthropic.stream_out import AnthropicStreamEncoder
from tests.protocols.anthropic.sse_helpers import accumulate, events, names, record


def run(batches: list[list[Any]], usage: Usage | None = None) -> bytes:
    rec = record()
    enc = AnthropicStreamEncoder(rec, "acme/chat")
    out = b""
    for batch in batches:
        for ev in batch:
            if type(ev) is UsageReport:
                rec.usage = ev.usage  # the executor accounts usage before the encoder finishes
        out += enc.encode(batch)
    if usage is not None:
        rec.usage = usage
    return out + enc.finish()


def test_text_stream_sequence() -> None:
    raw = run([[ResponseInfo(id="x", model="gpt-x"), TextDelta("Hel")], [TextDelta("lo")],
               [Finish("stop", raw="stop"), UsageReport(Usage(input_tokens=12, output_tokens=3, cache_read_tokens=2))]])
    assert names(raw) == ["message_start", "ping", "content_block_start", "content_block_delta",
                          "content_block_delta", "content_block_stop", "message_delta", "message_stop"]
    evs = events(raw)
    start = evs[0][1]["message"]
    assert start["content"] == [] and start["model"] == "acme/chat" and start["stop_reason"] is None
    assert start["usage"]["input_tokens"] == 0  # not known yet: the real figure comes on message_delta
    assert evs[2][1] == {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}
    assert evs[3][1] == {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "Hel"}}
    delta = evs[6][1]
    assert delta["delta"] == {"stop_reason": "end_turn", "stop_sequence": None}
    assert delta["usage"] == {"input_tokens": 10, "output_tokens": 3, "cache_creation_input_tokens": 0,
                              "cache_read_input_tokens": 2}
    assert delta["provider_metadata"]["gateway"]["routing"]["resolvedProvider"] == "openai"
    msg = accumulate(raw)
    assert msg.content[0].text == "Hello" and msg.stop_reason == "end_turn"
    assert msg.usage.input_tokens == 10 and msg.usage.output_tokens == 3 and msg.usage.cache_read_input_tokens == 2


def test_usage_known_at_start_goes_on_message_start() -> None:
    raw = run([[UsageReport(Usage(input_tokens=7, output_tokens=0)), TextDelta("a")], [Finish("stop")]])
    assert events(raw)[0][1]["message"]["usage"]["input_tokens"] == 7


def test_blocks_change_with_the_kind_and_each_tool_call() -> None:
    raw = run([
        [ReasoningDelta(text="think "), ReasoningDelta(text="more"), ReasoningDelta(signature="sig")],
        [ReasoningDelta(redacted="opaque")],
        [TextDelta("Calling.")],
        [ToolCallStart(0, "call_a", "get_weather"), ToolCallDelta(0, '{"city":'), ToolCallDelta(0, '"Paris"}')],
        [ToolCallStart(1, "call_b", "get_time"), ToolCallDelta(1, "{}")],
        [Finish("tool_calls"), UsageReport(Usage(input_tokens=5, output_tokens=9, reasoning_tokens=4))],
    ])
    evs = events(raw)
    starts = [(p["index"], p["content_block"]) for n, p in evs if n == "content_block_start"]
    assert starts == [
        (0, {"type": "thinking", "thinking": "", "signature": ""}),
        (1, {"type": "redacted_thinking", "data": "opaque"}),
        (2, {"type": "text", "text": ""}),
        (3, {"type": "tool_use", "id": "call_a", "name": "get_weather", "input": {}}),
        (4, {"type": "tool_use", "id": "call_b", "name": "get_time", "input": {}}),
    ]
    stops = [p["index"] for n, p in evs if n == "content_block_stop"]
    assert stops == [0, 1, 2, 3, 4]
    # Every block is closed before the next one opens.
    order = [(n, p.get("index")) for n, p in evs if n in ("content_block_start", "content_block_stop")]
    assert order == [(k, i) for i in range(5) for k in ("content_block_start", "content_block_stop")]
    deltas = [p["delta"] for n, p in evs if n == "content_block_delta"]
    assert {"type": "signature_delta", "signature": "sig"} in deltas
    assert {"type": "input_json_delta", "partial_json": '{"city":'} in deltas
    msg = accumulate(raw)
    assert [b.type for b in msg.content] == ["thinking", "redacted_thinking", "text", "tool_use", "tool_use"]
    assert msg.content[0].thinking == "think more" and msg.content[0].signature == "sig"
    assert msg.content[3].input == {"city": "Paris"} and msg.content[4].input == {}
    assert msg.stop_reason == "tool_use" and msg.usage.output_tokens == 9


def test_interleaved_tool_arguments_go_to_their_own_block() -> None:
    raw = run([[ToolCallStart(0, "a", "f"), ToolCallStart(1, "b", "g"), ToolCallDelta(0, '{"x":1}'),
                ToolCallDelta(1, '{"y":2}')], [Finish("tool_calls")]])
    msg = accumulate(raw)
    assert [(b.id, b.input) for b in msg.content] == [("a", {"x": 1}), ("b", {"y": 2})]


def test_empty_answer_still_has_the_whole_envelope() -> None:
    raw = run([[Finish("length")]])
    assert names(raw) == ["message_start", "ping", "message_delta", "message_stop"]
    assert accumulate(raw).stop_reason == "max_tokens"


def test_finish_without_any_event() -> None:
    rec = record()
    raw = AnthropicStreamEncoder(rec, "acme/chat").finish()
    assert names(raw) == ["message_start", "ping", "message_delta", "message_stop"]


def test_ping_is_sent_once() -> None:
    raw = run([[TextDelta("a")], [TextDelta("b")], [TextDelta("c")], [Finish("stop")]])
    assert names(raw).count("ping") == 1
