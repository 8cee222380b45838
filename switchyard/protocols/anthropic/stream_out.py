"""Encode canonical stream events as an Anthropic Messages stream, for a caller whose model is served
by a provider of another protocol.

The sequence is Anthropic's: ``message_start`` (the message with empty content; usage with the
input tokens when they are already known, else zeros, the real figures then arrive on
``message_delta`` as newer API versions also do), one ``ping``, then per content block
``content_block_start`` / ``content_block_delta``* / ``content_block_stop``, and at the end
``message_delta`` (stop reason, usage, and our ``provider_metadata``) and ``message_stop``.

A new block opens whenever the kind of delta changes (text, thinking, tool call) or a new tool call
starts; only one block is open at a time. Canonical streams have no block boundaries of their own.
"""

from __future__ import annotations

from typing import Any

import msgspec

from switchyard.canonical import (
    Finish,
    ReasoningDelta,
    StreamEvent,
    TextDelta,
    ToolCallDelta,
    ToolCallStart,
    Usage,
    UsageReport,
)
from switchyard.protocols.anthropic.response_out import stop_reason, usage_out
from switchyard.telemetry.record import GenerationRecord

_encode = msgspec.json.Encoder().encode

PING = b'event: ping\ndata: {"type":"ping"}\n\n'
MESSAGE_STOP = b'event: message_stop\ndata: {"type":"message_stop"}\n\n'


def sse(name: bytes, obj: Any) -> bytes:
    return b"event: " + name + b"\ndata: " + _encode(obj) + b"\n\n"


class AnthropicStreamEncoder:
    __slots__ = ("_rec", "_model", "_started", "_index", "_kind", "_tool", "_tool_blocks", "_finish",
                 "_raw_finish", "_usage", "_delta_head")

    def __init__(self, rec: GenerationRecord, model: str) -> None:
        self._rec = rec
        self._model = model
        self._started = False
        self._index = -1  # index of the open (or last) block
        self._kind: str | None = None  # "text" | "thinking" | "tool" while a block is open
        self._tool = -1  # canonical index of the open tool call
        self._tool_blocks: dict[int, int] = {}  # canonical tool index -> block index
        self._finish: str | None = None
        self._raw_finish: str | None = None
        self._usage: Usage | None = None
        self._delta_head = b""

    # ---- blocks ----

    def _open(self, out: list[bytes], kind: str, block: dict[str, Any]) -> None:
        self._close(out)
        self._index += 1
        self._kind = kind
        out.append(sse(b"content_block_start", {"type": "content_block_start", "index": self._index,
                                                 "content_block": block}))
        self._delta_head = (b'event: content_block_delta\ndata: {"type":"content_block_delta","index":'
                            + str(self._index).encode() + b',"delta":')

    def _close(self, out: list[bytes]) -> None:
        if self._kind is not None:
            out.append(b'event: content_block_stop\ndata: {"type":"content_block_stop","index":'
                       + str(self._index).encode() + b"}\n\n")
            self._kind = None

    def _delta(self, out: list[bytes], delta: dict[str, Any], head: bytes | None = None) -> None:
        out.append((head or self._delta_head) + _encode(delta) + b"}\n\n")

    def _start(self, events: list[StreamEvent], out: list[bytes]) -> None:
        self._started = True
        for ev in events:
            if type(ev) is UsageReport:
                self._usage = ev.usage
        usage = usage_out(self._usage) if self._usage is not None else {
            "input_tokens": 0, "output_tokens": 0, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0}
        out.append(sse(b"message_start", {"type": "message_start", "message": {
            "id": self._rec.id, "type": "message", "role": "assistant", "model": self._model, "content": [],
            "stop_reason": None, "stop_sequence": None, "usage": usage}}))
        out.append(PING)

    # ---- the encoder contract ----

    def encode(self, events: list[StreamEvent]) -> bytes:
        out: list[bytes] = []
        if not self._started:
            self._start(events, out)
        for ev in events:
            t = type(ev)
            if t is TextDelta:
                if self._kind != "text":
                    self._open(out, "text", {"type": "text", "text": ""})
                self._delta(out, {"type": "text_delta", "text": ev.text})  # type: ignore[union-attr]
            elif t is ToolCallDelta:
                self._tool_delta(out, ev)  # type: ignore[arg-type]
            elif t is ReasoningDelta:
                self._reasoning(out, ev)  # type: ignore[arg-type]
            elif t is ToolCallStart:
                self._open(out, "tool", {"type": "tool_use", "id": ev.id, "name": ev.name,  # type: ignore[union-attr]
                                         "input": {}})
                self._tool = ev.index  # type: ignore[union-attr]
                self._tool_blocks[ev.index] = self._index  # type: ignore[union-attr]
            elif t is Finish:
                self._finish, self._raw_finish = ev.reason, ev.raw  # type: ignore[union-attr]
            elif t is UsageReport:
                self._usage = ev.usage  # type: ignore[union-attr]
        return b"".join(out)

    def _tool_delta(self, out: list[bytes], ev: ToolCallDelta) -> None:
        if not ev.arguments:
            return
        if self._kind == "tool" and ev.index == self._tool:
            self._delta(out, {"type": "input_json_delta", "partial_json": ev.arguments})
            return
        block = self._tool_blocks.get(ev.index)
        if block is None:  # arguments before their start: open the call without a name
            self._open(out, "tool", {"type": "tool_use", "id": f"toolu_{ev.index}", "name": "", "input": {}})
            self._tool = ev.index
            self._tool_blocks[ev.index] = self._index
            self._delta(out, {"type": "input_json_delta", "partial_json": ev.arguments})
            return
        # Arguments of an earlier call after another block opened (interleaved parallel calls):
        # addressed to that call's block, which clients accumulate by index.
        head = (b'event: content_block_delta\ndata: {"type":"content_block_delta","index":'
                + str(block).encode() + b',"delta":')
        self._delta(out, {"type": "input_json_delta", "partial_json": ev.arguments}, head)

    def _reasoning(self, out: list[bytes], ev: ReasoningDelta) -> None:
        if ev.redacted is not None:
            self._open(out, "redacted", {"type": "redacted_thinking", "data": ev.redacted})
            self._close(out)
            return
        if ev.text:
            if self._kind != "thinking":
                self._open(out, "thinking", {"type": "thinking", "thinking": "", "signature": ""})
            self._delta(out, {"type": "thinking_delta", "thinking": ev.text})
        if ev.signature:
            if self._kind != "thinking":
                self._open(out, "thinking", {"type": "thinking", "thinking": "", "signature": ""})
            self._delta(out, {"type": "signature_delta", "signature": ev.signature})

    def finish(self) -> bytes:
        out: list[bytes] = []
        if not self._started:
            self._start([], out)
        self._close(out)
        rec = self._rec
        usage = rec.usage if rec.usage is not None else self._usage
        out.append(sse(b"message_delta", {
            "type": "message_delta",
            "delta": {"stop_reason": stop_reason(self._finish, self._raw_finish), "stop_sequence": None},
            "usage": usage_out(usage),
            "provider_metadata": {"gateway": rec.gateway_metadata()},
        }))
        out.append(MESSAGE_STOP)
        return b"".join(out)
