"""Encode canonical stream events as Chat Completions chunks for a caller.

Every chunk shares the same envelope, so it is encoded once per stream and each event only encodes
its ``delta``. The finish chunk is held until the stream ends so that the routing metadata, cost and
usage (which arrive after the finish reason) can ride on the last chunk the caller sees.
"""

from __future__ import annotations

import time
from typing import Any

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
from switchyard.errors import GatewayError
from switchyard.protocols.openai_chat.errors import error_object
from switchyard.protocols.openai_chat.response import usage_out
from switchyard.telemetry.record import GenerationRecord

_encode = msgspec.json.Encoder().encode
DONE = b"data: [DONE]\n\n"


class OpenAIStreamEncoder:
    __slots__ = ("_rec", "_wants_usage", "_head", "_tail", "_created", "_model", "_finish", "_started")

    def __init__(self, rec: GenerationRecord, wants_usage: bool) -> None:
        self._rec = rec
        self._wants_usage = wants_usage
        self._created = int(time.time())
        self._model = rec.provider_model_id or rec.model or ""
        self._head = b""
        self._tail = b',"logprobs":null,"finish_reason":null}]}\n\n'
        self._finish: str | None = None
        self._started = False
        self._set_head()

    def _set_head(self) -> None:
        self._head = (b'data: {"id":' + _encode(self._rec.id) + b',"object":"chat.completion.chunk","created":'
                      + str(self._created).encode() + b',"model":' + _encode(self._model)
                      + b',"choices":[{"index":0,"delta":')

    def _chunk(self, delta: dict[str, Any]) -> bytes:
        return self._head + _encode(delta) + self._tail

    def encode(self, events: list[StreamEvent]) -> bytes:
        out: list[bytes] = []
        if not self._started:
            self._started = True
            for ev in events:
                if type(ev) is ResponseInfo and ev.model:
                    self._model = ev.model
                    self._set_head()
            out.append(self._chunk({"role": "assistant", "content": ""}))
        for ev in events:
            t = type(ev)
            if t is TextDelta:
                out.append(self._chunk({"content": ev.text}))  # type: ignore[union-attr]
            elif t is ReasoningDelta:
                if ev.text:  # type: ignore[union-attr]
                    out.append(self._chunk({"reasoning_content": ev.text}))  # type: ignore[union-attr]
            elif t is ToolCallStart:
                out.append(self._chunk({"tool_calls": [{
                    "index": ev.index, "id": ev.id, "type": "function",  # type: ignore[union-attr]
                    "function": {"name": ev.name, "arguments": ""}}]}))  # type: ignore[union-attr]
            elif t is ToolCallDelta:
                out.append(self._chunk({"tool_calls": [{"index": ev.index,  # type: ignore[union-attr]
                                                        "function": {"arguments": ev.arguments}}]}))  # type: ignore[union-attr]
            elif t is Finish:
                self._finish = ev.reason if ev.reason != "other" else "stop"  # type: ignore[union-attr]
            elif t is UsageReport:
                pass  # the executor keeps usage in the record; it is rendered at the end
        return b"".join(out)

    def _envelope(self) -> dict[str, Any]:
        return {"id": self._rec.id, "object": "chat.completion.chunk", "created": self._created,
                "model": self._model}

    def finish(self) -> bytes:
        """The last chunks: finish reason, then usage and metadata, then [DONE]."""
        rec = self._rec
        finish = {**self._envelope(), "choices": [{"index": 0, "delta": {}, "logprobs": None,
                                                   "finish_reason": self._finish or "stop"}]}
        meta = {"gateway": rec.gateway_metadata()}
        if not self._wants_usage:
            finish["provider_metadata"] = meta
            return b"data: " + _encode(finish) + b"\n\n" + DONE
        usage = {**self._envelope(), "choices": [], "usage": usage_out(rec.usage, rec.cost) if rec.usage else None,
                 "provider_metadata": meta}
        return b"data: " + _encode(finish) + b"\n\ndata: " + _encode(usage) + b"\n\n" + DONE


def encode_stream_error(err: GatewayError, generation_id: str) -> bytes:
    """An error after the stream started: the OpenAI SDKs raise on a chunk with an ``error`` key."""
    return b"data: " + _encode({"error": error_object(err), "generationId": generation_id}) + b"\n\n" + DONE
