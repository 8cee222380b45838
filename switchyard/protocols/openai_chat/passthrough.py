"""The fast path: a Chat Completions stream relayed to a Chat Completions caller.

Event bytes go out exactly as the provider sent them. Only a few kinds of event are read: an
in-stream error, the finish chunk, the usage chunk (which we asked for, whether or not the caller
did) and ``[DONE]``; ``stream_scan`` finds them without building the content chunks around them.
The last chunk the caller sees carries our metadata: the usage chunk when the caller asked for
usage, otherwise the held finish chunk.
"""

from __future__ import annotations

from typing import Any

import msgspec

from switchyard.canonical import Usage
from switchyard.errors import ErrorCategory, UpstreamError
from switchyard.protocols.openai_chat import quirks as _quirks
from switchyard.protocols.openai_chat.quirks import Quirks
from switchyard.protocols.openai_chat.response import usage_in, usage_out
from switchyard.protocols.openai_chat.stream_in import stream_error
from switchyard.protocols.openai_chat.stream_out import DONE
from switchyard.protocols.openai_chat.stream_scan import EventScan
from switchyard.telemetry.record import GenerationRecord

_decode = msgspec.json.Decoder().decode
_encode = msgspec.json.Encoder().encode


def _without_leading_comments(block: bytes) -> bytes:
    if block.startswith(b"data"):
        return block
    while block:
        end = block.find(b"\n\n")
        event = block[:end] if end >= 0 else block
        if any(line and not line.startswith(b":") for line in event.split(b"\n")):
            return block
        block = block[end + 2:] if end >= 0 else b""
    return block


class OpenAIPassthroughStream:
    __slots__ = ("_slug", "_wants_usage", "_buf", "_held", "_usage_chunk", "_rest", "usage", "finish_reason",
                 "done", "model", "_usage_paths", "_error_paths", "_markers", "_started", "_scan")

    def __init__(self, slug: str, wants_usage: bool, quirks: Quirks | None = None) -> None:
        """``quirks`` (default: the entry named after ``slug``) says where else chunks carry usage and
        errors, and which annotation chunks are not for OpenAI callers."""
        q = quirks if quirks is not None else _quirks.named(slug)
        self._usage_paths = q.usage_paths
        self._error_paths = q.error_paths
        self._markers = q.stream_markers
        self._scan = EventScan(q.usage_paths + q.error_paths)
        self._slug = slug
        self._wants_usage = wants_usage
        self._buf = b""
        self._held: dict[str, Any] | None = None  # finish chunk, when the caller did not ask for usage
        self._usage_chunk: dict[str, Any] | None = None
        self._rest = b""  # events that ended the body without their blank line, sent by finish()
        self.usage: Usage | None = None
        self.finish_reason: str | None = None
        self.done = False
        self.model: str | None = None
        self._started = False  # whether any data event has been forwarded

    def feed(self, data: bytes) -> bytes:
        buf = self._buf + data if self._buf else data
        if b"\r" in buf:
            buf = buf.replace(b"\r\n", b"\n")
        end = buf.rfind(b"\n\n")
        if end < 0:
            self._buf = buf
            return b""
        self._buf = buf[end + 2:]
        block = buf[:end + 2]  # the whole of buf, not a copy, when it ends with its blank line
        if not self._started:
            # Keep-alive comments before any data (": OPENROUTER PROCESSING") are not forwarded:
            # the first byte to the caller ends failover, and a comment is no answer yet.
            block = _without_leading_comments(block)
            if not block:
                return b""
            self._started = True
        if self.model is None:
            self._sniff_model(block)
        if self._markers and self._marked(block):
            special = 0
        else:
            special = self._scan.first_special(block)
            if special < 0:
                return block  # common case: content chunks only, forwarded as they are
        # Events before the first special one go out untouched; only the rest is split and read.
        j = block.rfind(b"\n\n", 0, special)
        cut = j + 2 if j >= 0 else 0
        out: list[bytes] = [block[:cut]] if cut else []
        # The first of these events is special and so, usually, are the rest (finish, usage,
        # [DONE]): each is decoded at once, unless a marker sent the whole block here.
        decode = not self._markers
        for event in block[cut:].split(b"\n\n"):
            if event:
                kept = self._special(event, decode)
                if kept is not None:
                    out.append(kept + b"\n\n")
        return b"".join(out)

    def _sniff_model(self, block: bytes) -> None:
        i = block.find(b'"model"')
        if i >= 0:
            i = block.find(b'"', i + 7)
            j = block.find(b'"', i + 1)
            if i > 0 and j > i + 1:  # Azure's first chunk has "model": ""
                self.model = block[i + 1:j].decode("utf-8", "replace")

    def _marked(self, block: bytes) -> bool:
        return any(m in block for m in self._markers)

    def _special(self, event: bytes, decode: bool = False) -> bytes | None:
        """``event`` as it goes to the caller, or None if it is held or dropped. ``decode``: read it
        without first checking whether it is a plain content chunk."""
        if event.startswith(b"data: [DONE]") or event.startswith(b"data:[DONE]"):
            self.done = True
            return None
        if not decode and not (self._markers and self._marked(event)) and self._scan.plain(event):
            return event
        payload = event.split(b":", 1)[1].strip() if event.startswith(b"data") else b""
        try:
            chunk = _decode(payload)
        except msgspec.DecodeError:
            return event
        if not isinstance(chunk, dict):
            return event
        if chunk.get("error"):
            raise stream_error(self._slug, chunk["error"])
        if self._error_paths:
            err = _quirks.dig(chunk, self._error_paths)
            if err:
                raise stream_error(self._slug, err)
        if self._markers and _quirks.annotation_only(chunk):
            return None  # a provider annotation frame (Azure content filter): not for OpenAI callers
        if self.model is None and chunk.get("model") and isinstance(chunk["model"], str):
            self.model = chunk["model"]
        raw_usage = chunk.get("usage")
        if not raw_usage and self._usage_paths:
            raw_usage = _quirks.dig(chunk, self._usage_paths)
        usage = usage_in(raw_usage)
        choices = chunk.get("choices") or []
        if usage is not None:
            self.usage = usage
            if not choices:
                self._usage_chunk = chunk
                return None  # re-sent, with our cost and metadata, at the end
        for choice in choices:
            if isinstance(choice, dict) and choice.get("finish_reason"):
                self.finish_reason = choice["finish_reason"]
                if not self._wants_usage:
                    self._held = chunk
                    return None
        return event

    def close(self) -> None:
        """The provider's body ended: it must have said [DONE] or at least given a finish reason."""
        if self._buf.strip():
            rest, self._buf = self._buf, b""
            for event in rest.split(b"\n\n"):
                if event.strip():
                    kept = self._special(event.strip())
                    if kept is not None:
                        self._rest += kept + b"\n\n"
        if not self.done and self.finish_reason is None:
            raise UpstreamError(ErrorCategory.SERVER_ERROR, f"{self._slug}: stream ended before it was complete")

    def finish(self, rec: GenerationRecord) -> bytes:
        meta = {"gateway": rec.gateway_metadata()}
        if self._wants_usage:
            chunk = self._usage_chunk
            if chunk is None:  # usage came on a chunk with choices (DeepSeek, Groq), or not at all
                chunk = {"id": rec.id, "object": "chat.completion.chunk", "model": self.model, "choices": [],
                         "usage": usage_out(self.usage, rec.cost) if self.usage is not None else None}
            elif isinstance(chunk.get("usage"), dict) and rec.cost is not None:
                chunk["usage"]["cost"] = round(rec.cost, 12)
        else:
            chunk = self._held or {"id": rec.id, "object": "chat.completion.chunk", "model": self.model,
                                   "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}
        chunk["provider_metadata"] = meta
        return self._rest + b"data: " + _encode(chunk) + b"\n\n" + DONE
