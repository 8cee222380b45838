"""Decoding Gemini ``streamGenerateContent?alt=sse``, replayed from recorded fixtures in every chunking."""

from __future__ import annotations

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
from switchyard.protocols.gemini.stream import GeminiStreamDecoder
from tests.protocols.gemini.helpers import fixture, splits


def decode(chunks: list[bytes], slug: str = "google") -> list[StreamEvent]:
    dec = GeminiStreamDecoder(slug)
    events: list[StreamEvent] = []
    for c in chunks:
        events += dec.feed(c)
    events += dec.close()
    return events


def merged(events: list[StreamEvent]) -> list[StreamEvent]:
    """Adjacent text deltas joined: cutting the bytes must not change what is said."""
    out: list[StreamEvent] = []
    for ev in events:
        if type(ev) is TextDelta and out and type(out[-1]) is TextDelta:
            out[-1] = TextDelta(out[-1].text + ev.text)  # type: ignore[union-attr]
        else:
            out.append(ev)
    return out


@pytest.mark.parametrize("chunks", splits(fixture("text.sse")))
def test_text_stream_in_every_split(chunks: list[bytes]) -> None:
    events = decode(chunks)
    assert merged(events) == [
        ResponseInfo(id="mYq8aPaLBNvPz7IPx7ex8Qo", model="gemini-2.5-flash"),
        TextDelta("The sky is blue because of Rayleigh scattering.\nShort wavelengths scatter more."),
        Finish("stop", raw="STOP"),
        # Thoughts count beside the candidates: output 11 + 87, reasoning 87. The last usage wins.
        UsageReport(Usage(input_tokens=9, output_tokens=98, reasoning_tokens=87)),
    ]


def test_text_arrives_as_sent_when_whole() -> None:
    events = decode([fixture("text.sse")])
    assert [e.text for e in events if type(e) is TextDelta] == [  # type: ignore[union-attr]
        "The sky is blue", " because of Rayleigh scattering.\n", "Short wavelengths scatter more."]


@pytest.mark.parametrize("chunks", splits(fixture("tools.sse")))
def test_thoughts_and_parallel_function_calls(chunks: list[bytes]) -> None:
    events = decode(chunks)
    starts = [e for e in events if type(e) is ToolCallStart]
    assert [(s.index, s.name) for s in starts] == [(0, "get_weather"), (1, "get_weather")]
    assert all(s.id.startswith("call_") and len(s.id) == 29 for s in starts)
    assert starts[0].id != starts[1].id
    # Each call's arguments arrive whole, as compact JSON, right after its start.
    assert [e for e in events if type(e) is ToolCallDelta] == [
        ToolCallDelta(0, '{"city":"Paris"}'), ToolCallDelta(1, '{"city":"Tokyo","unit":"celsius"}')]
    reasoning = [e for e in events if type(e) is ReasoningDelta]
    assert reasoning[0] == ReasoningDelta(text="**Checking two cities**\n\nThe user wants the weather in Paris and Tokyo.")
    # The signature is tagged with where it was issued, and comes just before the call it was on.
    sig = ReasoningDelta(signature="google/gemini-3-pro-preview|CiQBcsjafEqT3bQ7Rk0kT2t5cW9jYWxseVNpZ25lZA==")
    assert events[events.index(sig) + 1] == starts[0]
    assert events[-2:] == [Finish("tool_calls", raw="STOP"),
                           UsageReport(Usage(input_tokens=41, output_tokens=149, reasoning_tokens=119))]


def test_signature_on_an_empty_last_text_part() -> None:
    events = decode([fixture("signature_last.sse")])
    assert [type(e).__name__ for e in events] == ["ResponseInfo", "TextDelta", "ReasoningDelta", "Finish", "UsageReport"]
    assert events[2] == ReasoningDelta(signature="google/gemini-3-pro-preview|EqMDCqADARFNMg9Z")


@pytest.mark.parametrize("chunks", splits(fixture("safety.sse"))[:6])
def test_safety_stop_is_content_filter(chunks: list[bytes]) -> None:
    events = decode(chunks)
    assert merged(events)[1:] == [TextDelta("Here is how"), Finish("content_filter", raw="SAFETY"),
                                  UsageReport(Usage(input_tokens=14, output_tokens=3))]


def test_blocked_prompt_is_a_finish_not_an_error() -> None:
    events = decode([fixture("prompt_blocked.sse")])
    assert events[1:] == [Finish("content_filter", raw="PROHIBITED_CONTENT"),
                          UsageReport(Usage(input_tokens=12))]


@pytest.mark.parametrize("chunks", splits(fixture("error_midstream.sse"))[:8])
def test_error_event_after_content(chunks: list[bytes]) -> None:
    dec = GeminiStreamDecoder("google")
    events: list[StreamEvent] = []
    with pytest.raises(UpstreamError) as exc:
        for c in chunks:
            events += dec.feed(c)
        dec.close()
    assert merged(events)[1:] == [TextDelta("Once upon")]  # what came before the error is delivered
    assert exc.value.category is ErrorCategory.OVERLOADED
    assert exc.value.message == "google: The model is overloaded. Please try again later."
    with pytest.raises(UpstreamError):  # and it stays failed
        dec.feed(b"")


@pytest.mark.parametrize("chunks", splits(fixture("cut.sse"))[:8])
def test_cut_stream_is_a_server_error(chunks: list[bytes]) -> None:
    dec = GeminiStreamDecoder("vertex")
    events: list[StreamEvent] = []
    for c in chunks:
        events += dec.feed(c)
    with pytest.raises(UpstreamError) as exc:
        dec.close()
    assert exc.value.category is ErrorCategory.SERVER_ERROR
    assert "vertex: stream ended before a finish reason" == exc.value.message
    assert merged(events)[1:] == [TextDelta("Once upon")]


def test_empty_body_is_cut() -> None:
    with pytest.raises(UpstreamError) as exc:
        GeminiStreamDecoder().close()
    assert exc.value.category is ErrorCategory.SERVER_ERROR


def test_unreadable_event_is_bad_response() -> None:
    dec = GeminiStreamDecoder()
    with pytest.raises(UpstreamError) as exc:
        dec.feed(b"data: {not json}\n\n")
    assert exc.value.category is ErrorCategory.BAD_RESPONSE


def test_lf_framing_comments_and_done_marker_from_proxies() -> None:
    raw = (b': keep-alive\n\ndata: {"candidates":[{"content":{"parts":[{"text":"hi"}],"role":"model"},'
           b'"finishReason":"MAX_TOKENS","index":0}],"usageMetadata":{"promptTokenCount":1,'
           b'"candidatesTokenCount":1,"cachedContentTokenCount":1}}\n\ndata: [DONE]\n\n')
    events = decode([raw])
    assert events[1:] == [TextDelta("hi"), Finish("length", raw="MAX_TOKENS"),
                          UsageReport(Usage(input_tokens=1, output_tokens=1, cache_read_tokens=1))]
    assert events[0] == ResponseInfo(id=None, model=None)


def test_nothing_after_the_finish_is_emitted_but_usage_is_taken() -> None:
    raw = (b'data: {"candidates":[{"content":{"parts":[{"text":"a"}]},"finishReason":"STOP"}]}\n\n'
           b'data: {"candidates":[{"content":{"parts":[{"text":"b"}]}}],"usageMetadata":{"promptTokenCount":3}}\n\n')
    events = decode([raw])
    assert events[1:] == [TextDelta("a"), Finish("stop", raw="STOP"), UsageReport(Usage(input_tokens=3))]
