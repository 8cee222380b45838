"""Bedrock ConverseStream (AWS event stream) -> canonical stream events.

Each message has ``:message-type`` ``event`` (``:event-type`` names it, the payload is its JSON),
``exception`` (``:exception-type``, payload ``{"message"}``) or ``error`` (``:error-code`` and
``:error-message`` headers). Event sequence: ``messageStart``, per content block
``contentBlockStart`` (tool calls only) / ``contentBlockDelta``* / ``contentBlockStop``, then
``messageStop`` (stopReason) and ``metadata`` (usage, metrics), which is the last event: a body that
ends before it was cut. Payloads carry a random-length ``p`` padding field, ignored.
One decoder per streamed attempt; not thread-safe.
"""

from __future__ import annotations

import msgspec

from switchyard.canonical import (
    Finish,
    ReasoningDelta,
    StreamEvent,
    TextDelta,
    ToolCallDelta,
    ToolCallStart,
    UsageReport,
)
from switchyard.errors import ErrorCategory, UpstreamError
from switchyard.protocols.bedrock.errors import stream_exception
from switchyard.protocols.bedrock.eventstream import EventStreamDecoder, Headers
from switchyard.protocols.bedrock.response import WireUsage, finish_reason, to_usage
from switchyard.providers.base import StreamDecoder


class _ToolStart(msgspec.Struct):
    toolUseId: str = ""
    name: str = ""


class _Start(msgspec.Struct):
    toolUse: _ToolStart | None = None


class _ToolDelta(msgspec.Struct):
    input: str = ""


class _ReasoningDelta(msgspec.Struct):
    text: str | None = None
    signature: str | None = None
    redactedContent: str | None = None


class _Delta(msgspec.Struct):
    text: str | None = None
    toolUse: _ToolDelta | None = None
    reasoningContent: _ReasoningDelta | None = None


class _Event(msgspec.Struct):
    # One struct for every event type: fields absent from an event stay None.
    contentBlockIndex: int = 0
    start: _Start | None = None
    delta: _Delta | None = None
    stopReason: str | None = None
    usage: WireUsage | None = None


_decode_event = msgspec.json.Decoder(_Event).decode


class _Tool:
    __slots__ = ("index", "seen")

    def __init__(self, index: int) -> None:
        self.index = index
        self.seen = False


class BedrockStreamDecoder(StreamDecoder):
    def __init__(self, slug: str = "bedrock") -> None:
        self.slug = slug
        self._frames = EventStreamDecoder(slug)
        self._tools: dict[int, _Tool] = {}  # content block index -> tool call
        self._finished = False
        self._done = False
        self._error: UpstreamError | None = None

    def feed(self, data: bytes) -> list[StreamEvent]:
        if self._error is not None:
            raise self._error
        try:
            frames = self._frames.feed(data)
        except UpstreamError as exc:
            self._error = exc
            raise
        return self._handle(frames)

    def close(self) -> list[StreamEvent]:
        if self._error is not None:
            raise self._error
        if not self._done:
            raise UpstreamError(ErrorCategory.SERVER_ERROR, f"{self.slug}: stream ended before its metadata event")
        return []

    def _handle(self, frames: list[tuple[Headers, bytes]]) -> list[StreamEvent]:
        out: list[StreamEvent] = []
        for headers, payload in frames:
            if self._done:
                break
            kind = headers.get(":message-type")
            if kind == "event":
                name = str(headers.get(":event-type"))
                try:
                    ev = _decode_event(payload) if payload else _Event()
                except (msgspec.DecodeError, msgspec.ValidationError):
                    self._error = UpstreamError(ErrorCategory.BAD_RESPONSE, f"{self.slug}: unreadable {name} event")
                else:
                    self._event(name, ev, out)
            elif kind == "exception":
                exc_type = headers.get(":exception-type")
                self._error = stream_exception(self.slug, exc_type if isinstance(exc_type, str) else None, payload)
            elif kind == "error":
                code, message = headers.get(":error-code"), headers.get(":error-message")
                self._error = stream_exception(self.slug, code if isinstance(code, str) else None,
                                               msgspec.json.encode({"message": message or code or "stream error"}))
            if self._error is not None:
                if out:
                    return out  # deliver what came before the error; raise on the next call
                raise self._error
        return out

    def _event(self, name: str, ev: _Event, out: list[StreamEvent]) -> None:
        if name == "contentBlockDelta":  # by far the most frequent: checked first
            d = ev.delta
            if d is None:
                return
            if d.text is not None:
                if d.text:
                    out.append(TextDelta(d.text))
            elif d.toolUse is not None:
                tool = self._tools.get(ev.contentBlockIndex)
                if tool is not None and d.toolUse.input:
                    tool.seen = True
                    out.append(ToolCallDelta(tool.index, d.toolUse.input))
            elif d.reasoningContent is not None:
                r = d.reasoningContent
                if r.text:
                    out.append(ReasoningDelta(text=r.text))
                if r.signature is not None:
                    out.append(ReasoningDelta(signature=r.signature))
                if r.redactedContent is not None:
                    out.append(ReasoningDelta(redacted=r.redactedContent))
            # citation and image deltas have no canonical form.
        elif name == "contentBlockStart":
            start = ev.start.toolUse if ev.start is not None else None
            if start is not None:
                tool = _Tool(len(self._tools))
                self._tools[ev.contentBlockIndex] = tool
                out.append(ToolCallStart(tool.index, start.toolUseId, start.name))
        elif name == "contentBlockStop":
            tool = self._tools.get(ev.contentBlockIndex)
            if tool is not None and not tool.seen:
                tool.seen = True
                out.append(ToolCallDelta(tool.index, "{}"))  # a call without arguments streams none
        elif name == "messageStop":
            self._finished = True
            out.append(Finish(finish_reason(ev.stopReason), raw=ev.stopReason))
        elif name == "metadata":
            self._done = True
            if not self._finished:
                out.append(Finish("other"))
            if ev.usage is not None:
                out.append(UsageReport(to_usage(ev.usage)))
        # messageStart carries only the role; unknown future events are skipped.
