"""One Vertex stream decoder for three publishers: it tells the wire shape from the first event."""

from __future__ import annotations

from pathlib import Path

import pytest

from switchyard.canonical import (
    Finish,
    StreamEvent,
    TextDelta,
    ToolCallStart,
    UsageReport,
)
from switchyard.errors import ErrorCategory, UpstreamError
from switchyard.protocols.gemini.vertex_stream import VertexStreamDecoder
from tests.protocols.gemini.helpers import fixture, splits

ANTHROPIC = Path(__file__).parents[1] / "anthropic" / "fixtures"
OPENAI = (b'data: {"id":"c1","object":"chat.completion.chunk","model":"meta/llama","choices":[{"index":0,'
          b'"delta":{"role":"assistant","content":"Hel"}}]}\n\n'
          b'data: {"id":"c1","object":"chat.completion.chunk","model":"meta/llama","choices":[{"index":0,'
          b'"delta":{"content":"lo"},"finish_reason":"stop"}]}\n\n'
          b'data: {"id":"c1","object":"chat.completion.chunk","model":"meta/llama","choices":[],'
          b'"usage":{"prompt_tokens":3,"completion_tokens":2,"total_tokens":5}}\n\ndata: [DONE]\n\n')


def decode(chunks: list[bytes]) -> list[StreamEvent]:
    dec = VertexStreamDecoder("vertex")
    out: list[StreamEvent] = []
    for c in chunks:
        out += dec.feed(c)
    return out + dec.close()


def text(events: list[StreamEvent]) -> str:
    return "".join(e.text for e in events if type(e) is TextDelta)  # type: ignore[union-attr]


@pytest.mark.parametrize("chunks", splits(fixture("tools.sse"))[:10])
def test_gemini(chunks: list[bytes]) -> None:
    events = decode(chunks)
    assert len([e for e in events if type(e) is ToolCallStart]) == 2
    assert Finish("tool_calls", raw="STOP") in events


@pytest.mark.parametrize("chunks", splits((ANTHROPIC / "text.sse").read_bytes())[:10])
def test_claude(chunks: list[bytes]) -> None:
    events = decode(chunks)
    assert text(events) and any(type(e) is Finish for e in events) and type(events[-1]) is UsageReport


@pytest.mark.parametrize("chunks", splits(OPENAI)[:10])
def test_model_as_a_service(chunks: list[bytes]) -> None:
    events = decode(chunks)
    assert text(events) == "Hello" and Finish("stop", raw="stop") in events


def test_keepalive_comments_before_the_first_event() -> None:
    assert text(decode([b": ping\r\n\r\n", fixture("text.sse")])).startswith("The sky")


@pytest.mark.parametrize("raw", [b"", b"data: {\"candidates\": [", b": ping\n\n"])
def test_cut_before_the_first_event(raw: bytes) -> None:
    with pytest.raises(UpstreamError) as exc:
        decode([raw])
    assert exc.value.category is ErrorCategory.SERVER_ERROR
