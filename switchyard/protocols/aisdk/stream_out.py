"""Canonical stream events as ``LanguageModelV{2,3,4}StreamPart`` server-sent events.

Each frame is ``data: <part>\\n\\n``; no event names, no ``[DONE]`` (the client tolerates one but the
stream simply ends). The order ai 5, 6 and 7 accept:

    stream-start {warnings: []}
    response-metadata {id: <generation id>, modelId, timestamp: ISO}
    text-start {id, providerMetadata: {gateway: {generationId}}}   <- the first content part only
    text-delta {id, delta} ... text-end {id}
    reasoning-start / reasoning-delta / reasoning-end (the same way; Anthropic signatures ride on a
        last empty reasoning-delta as providerMetadata.anthropic.signature)
    tool-input-start {id, toolName} / tool-input-delta {id, delta} / tool-input-end {id}, then a
        complete tool-call {toolCallId, toolName, input: <JSON string>}
    finish {finishReason, usage, providerMetadata: {gateway: <routing, cost, generationId, ...>}}

Blocks are opened on the first delta of a new kind and closed when the kind changes. Tool calls are
completed when the stream ends, since their arguments may arrive interleaved by index. The finish
part waits for the end of the stream too: usage often comes after the finish reason. An error after
the stream started is an ``error`` part followed by a ``finish`` with finish reason ``error``, as the
AI SDK's own providers end a failed stream.
"""

from __future__ import annotations

import datetime
from typing import Any

import msgspec

from switchyard.canonical import (
    Finish,
    ReasoningDelta,
    StreamEvent,
    TextDelta,
    ToolCallDelta,
    ToolCallStart,
)
from switchyard.errors import GatewayError
from switchyard.protocols.aisdk import errors
from switchyard.protocols.aisdk.result_out import (
    finish_reason,
    reasoning_metadata,
    tool_input,
    usage,
)
from switchyard.telemetry.record import GenerationRecord

_encode = msgspec.json.Encoder().encode


def frame(part: dict[str, Any]) -> bytes:
    return b"data: " + _encode(part) + b"\n\n"


class _ToolCall:
    __slots__ = ("id", "name", "args")

    def __init__(self, call_id: str, name: str) -> None:
        self.id = call_id
        self.name = name
        self.args: list[str] = []


class AISDKStreamEncoder:
    __slots__ = ("_rec", "_spec", "_started", "_block", "_block_id", "_blocks", "_tools", "_meta_sent",
                 "_finish", "_raw_finish", "_done", "__weakref__")

    def __init__(self, rec: GenerationRecord, spec: int) -> None:
        self._rec = rec
        self._spec = spec
        self._started = False
        self._block: str | None = None  # "text" | "reasoning" | None
        self._block_id = ""
        self._blocks = 0
        self._tools: dict[int, _ToolCall] = {}
        self._meta_sent = False
        self._finish: str | None = None
        self._raw_finish: str | None = None
        self._done = False

    # ---- helpers ----

    def _first_meta(self, part: dict[str, Any], extra: dict[str, Any] | None = None) -> dict[str, Any]:
        """The first content part carries the generation id, so a caller has it early."""
        meta = dict(extra) if extra else {}
        if not self._meta_sent:
            self._meta_sent = True
            meta["gateway"] = {"generationId": self._rec.id}
        if meta:
            part["providerMetadata"] = meta
        return part

    def _open(self, kind: str, out: list[bytes], extra_meta: dict[str, Any] | None = None) -> None:
        if self._block == kind and extra_meta is None:
            return
        self._close(out)
        self._block = kind
        self._block_id = f"{kind[0]}{self._blocks}"
        self._blocks += 1
        out.append(frame(self._first_meta({"type": f"{kind}-start", "id": self._block_id}, extra_meta)))

    def _close(self, out: list[bytes]) -> None:
        if self._block is not None:
            out.append(frame({"type": f"{self._block}-end", "id": self._block_id}))
            self._block = None

    def _start(self, out: list[bytes]) -> None:
        self._started = True
        now = datetime.datetime.now(datetime.timezone.utc)
        out.append(frame({"type": "stream-start", "warnings": []}))
        out.append(frame({"type": "response-metadata", "id": self._rec.id,
                          "modelId": self._rec.model or self._rec.requested_model,
                          "timestamp": now.isoformat(timespec="milliseconds").replace("+00:00", "Z")}))

    # ---- the StreamEncoder contract ----

    def encode(self, events: list[StreamEvent]) -> bytes:
        out: list[bytes] = []
        if not self._started:
            self._start(out)
        for ev in events:
            t = type(ev)
            if t is TextDelta:
                self._text(ev.text, out)  # type: ignore[union-attr]
            elif t is ReasoningDelta:
                self._reasoning(ev, out)  # type: ignore[arg-type]
            elif t is ToolCallStart:
                self._tool_start(ev, out)  # type: ignore[arg-type]
            elif t is ToolCallDelta:
                self._tool_delta(ev, out)  # type: ignore[arg-type]
            elif t is Finish:
                self._finish, self._raw_finish = ev.reason, ev.raw  # type: ignore[union-attr]
        return b"".join(out)

    def _text(self, text: str, out: list[bytes]) -> None:
        if text:
            self._open("text", out)
            out.append(frame({"type": "text-delta", "id": self._block_id, "delta": text}))

    def _tool_start(self, ev: ToolCallStart, out: list[bytes]) -> None:
        self._close(out)
        call = self._tools[ev.index] = _ToolCall(ev.id, ev.name)
        out.append(frame(self._first_meta({"type": "tool-input-start", "id": call.id, "toolName": call.name})))

    def _tool_delta(self, ev: ToolCallDelta, out: list[bytes]) -> None:
        call = self._tools.get(ev.index)
        if call is not None and ev.arguments:
            call.args.append(ev.arguments)
            out.append(frame({"type": "tool-input-delta", "id": call.id, "delta": ev.arguments}))

    def _reasoning(self, ev: ReasoningDelta, out: list[bytes]) -> None:
        if ev.redacted is not None:  # an opaque block of its own
            self._open("reasoning", out, reasoning_metadata(redacted=ev.redacted))
            self._close(out)
            return
        if ev.text:
            self._open("reasoning", out)
            out.append(frame({"type": "reasoning-delta", "id": self._block_id, "delta": ev.text}))
        if ev.signature is not None:  # ends its thinking block
            self._open("reasoning", out)
            out.append(frame({"type": "reasoning-delta", "id": self._block_id, "delta": "",
                              "providerMetadata": reasoning_metadata(signature=ev.signature)}))
            self._close(out)

    def _end_parts(self, out: list[bytes], complete_tools: bool) -> None:
        if not self._started:
            self._start(out)
        self._close(out)
        if complete_tools:
            for call in self._tools.values():
                out.append(frame({"type": "tool-input-end", "id": call.id}))
                out.append(frame({"type": "tool-call", "toolCallId": call.id, "toolName": call.name,
                                  "input": tool_input("".join(call.args))}))
        self._tools.clear()

    def _finish_part(self, reason: str | None, raw: str | None) -> bytes:
        rec = self._rec
        return frame({"type": "finish", "finishReason": finish_reason(reason, raw, self._spec),
                      "usage": usage(rec.usage, self._spec),
                      "providerMetadata": {"gateway": rec.gateway_metadata()}})

    def finish(self) -> bytes:
        if self._done:
            return b""
        self._done = True
        out: list[bytes] = []
        reason = self._finish or ("tool_calls" if self._tools else "stop")
        self._end_parts(out, complete_tools=True)
        out.append(self._finish_part(reason, self._raw_finish))
        return b"".join(out)

    def fail(self, err: GatewayError) -> bytes:
        """The stream broke after it started: an error part, then a finish with reason ``error``.
        Tool calls whose arguments may be cut short are not completed."""
        if self._done:
            return b""
        self._done = True
        out: list[bytes] = []
        self._end_parts(out, complete_tools=False)
        out.append(frame(errors.stream_error_part(err)))
        out.append(self._finish_part("error", None))
        return b"".join(out)
