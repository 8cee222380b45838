"""Decoding Vertex AI answers whose shape depends on the model's publisher.

The adapter contract hands ``parse_chat``, ``stream_decoder`` and ``parse_error`` no model id, and
one Vertex provider serves Gemini (``GenerateContentResponse``), Claude (Anthropic Messages) and
open models (OpenAI Chat Completions). The three shapes are disjoint, so the answer says which it
is: an Anthropic stream opens with ``event:`` lines, an OpenAI chunk has ``choices``, anything else
is Gemini's. Bodies are told apart the same way (``"type"`` / ``"choices"``).
"""

from __future__ import annotations

import msgspec

from switchyard.canonical import ChatResult, StreamEvent
from switchyard.protocols.anthropic.response import parse_message
from switchyard.protocols.anthropic.stream import AnthropicStreamDecoder
from switchyard.protocols.gemini.response import parse_response
from switchyard.protocols.gemini.stream import GeminiStreamDecoder
from switchyard.protocols.openai_chat.response import parse_result
from switchyard.protocols.openai_chat.stream_in import OpenAIStreamDecoder
from switchyard.providers.base import StreamDecoder


class _Shape(msgspec.Struct):
    type: str | None = None
    choices: msgspec.Raw = msgspec.Raw()  # left unparsed; only its presence matters


_decode_shape = msgspec.json.Decoder(_Shape).decode


def parse_any(body: bytes, slug: str) -> ChatResult:
    try:
        shape = _decode_shape(body)
    except (msgspec.DecodeError, msgspec.ValidationError):
        shape = _Shape()  # let the Gemini parser report it
    if shape.type in ("message", "error"):
        return parse_message(body)
    if shape.choices:
        return parse_result(body)
    return parse_response(body, slug)


class VertexStreamDecoder(StreamDecoder):
    """Buffers until the first event shows the shape, then hands everything to that decoder."""

    def __init__(self, slug: str) -> None:
        self._slug = slug
        self._buf = b""
        self._inner: StreamDecoder | None = None

    def feed(self, data: bytes) -> list[StreamEvent]:
        if self._inner is not None:
            return self._inner.feed(data)
        self._buf += data
        inner = self._choose(final=False)
        if inner is None:
            return []
        self._inner = inner
        buf, self._buf = self._buf, b""
        return inner.feed(buf)

    def close(self) -> list[StreamEvent]:
        out: list[StreamEvent] = []
        if self._inner is None:
            self._inner = self._choose(final=True) or GeminiStreamDecoder(self._slug)
            buf, self._buf = self._buf, b""
            if buf:
                out = self._inner.feed(buf)
        return out + self._inner.close()

    def _choose(self, final: bool) -> StreamDecoder | None:
        blocks = self._buf.replace(b"\r\n", b"\n").split(b"\n\n")
        if not final:
            blocks.pop()  # the text after the last blank line is not a whole event yet
        for block in blocks:
            lines = [line for line in block.split(b"\n") if line and not line.startswith(b":")]
            if not lines:
                continue  # SSE comments (keep-alives) say nothing
            if any(line.startswith(b"event:") for line in lines):
                return AnthropicStreamDecoder()
            if b'"choices"' in block:
                return OpenAIStreamDecoder(self._slug)
            return GeminiStreamDecoder(self._slug)
        return None
