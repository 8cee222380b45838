"""Anthropic Messages SSE stream -> canonical stream events.

Wire sequence: ``message_start`` (id, model, input usage), then per content block
``content_block_start`` / ``content_block_delta``* / ``content_block_stop``, then ``message_delta``
(stop_reason, cumulative usage), ``message_stop``. ``ping`` may appear anywhere; ``error`` may
replace the rest of the stream. One decoder per streamed attempt; not thread-safe.
"""

from __future__ import annotations

import msgspec

from switchyard.canonical import (
    Finish,
    ReasoningDelta,
    ResponseInfo,
    StreamEvent,
    TextDelta,
    ToolCallDelta,
    ToolCallStart,
    UsageReport,
)
from switchyard.errors import ErrorCategory, UpstreamError
from switchyard.protocols.anthropic.errors import error_from_wire
from switchyard.protocols.anthropic.response import (
    WireBlock,
    WireError,
    WireMessage,
    WireUsage,
    finish_reason,
    to_usage,
)
from switchyard.providers.base import StreamDecoder
from switchyard.providers.sse import SSEStreamDecoder


class _Delta(msgspec.Struct):
    type: str | None = None
    text: str | None = None
    partial_json: str | None = None
    thinking: str | None = None
    signature: str | None = None
    stop_reason: str | None = None  # message_delta


class _Event(msgspec.Struct):
    # One struct for every event type: fields absent from an event stay None.
    type: str
    index: int = 0
    delta: _Delta | None = None
    content_block: WireBlock | None = None
    message: WireMessage | None = None
    usage: WireUsage | None = None
    error: WireError | None = None


_decode_event = msgspec.json.Decoder(_Event).decode
_encode = msgspec.json.encode


class _Tool:
    __slots__ = ("fallback", "index", "seen")

    def __init__(self, index: int, fallback: str) -> None:
        self.index = index
        self.fallback = fallback  # the arguments to report if no input_json_delta arrives
        self.seen = False


class AnthropicStreamDecoder(SSEStreamDecoder, StreamDecoder):
    def __init__(self) -> None:
        super().__init__()
        self._tools: dict[int, _Tool] = {}  # content block index -> tool call
        self._usage = WireUsage()
        self._finished = False
        self._done = False

    def _finish(self, out: list[StreamEvent]) -> list[StreamEvent]:
        if not self._done:
            raise UpstreamError(ErrorCategory.SERVER_ERROR, "anthropic: stream ended before message_stop")
        return out

    def _handle(self, raw: list[tuple[str | None, bytes]]) -> list[StreamEvent]:
        out: list[StreamEvent] = []
        for name, data in raw:
            if name == "ping" or self._done:
                continue
            try:
                ev = _decode_event(data)
            except (msgspec.DecodeError, msgspec.ValidationError):
                self._error = UpstreamError(ErrorCategory.BAD_RESPONSE, "anthropic: unreadable stream event")
            else:
                self._event(ev, data, out)
            if self._error is not None:
                if out:
                    return out  # deliver what came before the error; raise on the next call
                raise self._error
        return out

    def _event(self, ev: _Event, data: bytes, out: list[StreamEvent]) -> None:
        kind = ev.type
        if kind == "content_block_delta":  # by far the most frequent: checked first
            d = ev.delta
            if d is None:
                return
            if d.type == "text_delta":
                if d.text:
                    out.append(TextDelta(d.text))
            elif d.type == "input_json_delta":
                tool = self._tools.get(ev.index)
                if tool is not None and d.partial_json:
                    tool.seen = True
                    out.append(ToolCallDelta(tool.index, d.partial_json))
            elif d.type == "thinking_delta":
                if d.thinking:
                    out.append(ReasoningDelta(text=d.thinking))
            elif d.type == "signature_delta":
                out.append(ReasoningDelta(signature=d.signature))
            # citations_delta and future delta types have no canonical form.
        elif kind == "content_block_start":
            self._block_start(ev.index, ev.content_block, out)
        elif kind == "content_block_stop":
            tool = self._tools.get(ev.index)
            if tool is not None and not tool.seen:
                # A call without arguments streams no JSON; say "{}" so callers can parse it.
                out.append(ToolCallDelta(tool.index, tool.fallback))
        elif kind == "message_delta":
            if ev.usage is not None:
                self._merge_usage(ev.usage)
            if ev.delta is not None and ev.delta.stop_reason is not None:
                self._finished = True
                out.append(Finish(finish_reason(ev.delta.stop_reason), raw=ev.delta.stop_reason))
        elif kind == "message_start":
            msg = ev.message
            if msg is not None:
                if msg.usage is not None:
                    self._usage = msg.usage
                out.append(ResponseInfo(id=msg.id, model=msg.model))
        elif kind == "message_stop":
            self._done = True
            if not self._finished:
                out.append(Finish("other"))
            out.append(UsageReport(to_usage(self._usage)))
        elif kind == "error":
            err = ev.error or WireError()
            self._error = error_from_wire(0, err.type, err.message or err.type, msgspec.json.decode(data))

    def _block_start(self, index: int, block: WireBlock | None, out: list[StreamEvent]) -> None:
        if block is None:
            return
        if block.type == "tool_use":
            tool = _Tool(len(self._tools), _encode(block.input).decode() if block.input else "{}")
            self._tools[index] = tool
            out.append(ToolCallStart(tool.index, block.id or "", block.name or ""))
        elif block.type == "text":
            if block.text:
                out.append(TextDelta(block.text))
        elif block.type == "thinking":
            if block.thinking:
                out.append(ReasoningDelta(text=block.thinking))
        elif block.type == "redacted_thinking":
            out.append(ReasoningDelta(redacted=block.data or ""))
        # server_tool_use and tool result blocks run on Anthropic's side: not the caller's calls.

    def _merge_usage(self, u: WireUsage) -> None:
        # message_delta usage is cumulative; newer API versions repeat the input and cache counts
        # there too, and those are then the final word.
        mine = self._usage
        if u.output_tokens is not None:
            mine.output_tokens = u.output_tokens
        if u.input_tokens is not None:
            mine.input_tokens = u.input_tokens
        if u.cache_read_input_tokens is not None:
            mine.cache_read_input_tokens = u.cache_read_input_tokens
        if u.cache_creation_input_tokens is not None:
            mine.cache_creation_input_tokens = u.cache_creation_input_tokens
        if u.output_tokens_details is not None:
            mine.output_tokens_details = u.output_tokens_details
