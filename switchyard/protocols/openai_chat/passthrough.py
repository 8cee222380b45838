"""The fast path: a Chat Completions stream relayed to a Chat Completions caller.

Event bytes go out exactly as the provider sent them. Only three kinds of event are looked at, each
found with a substring test before anything is parsed: an in-stream error, the usage chunk (which we
asked for, whether or not the caller did) and ``[DONE]``. The last chunk the caller sees carries our
metadata: the usage chunk when the caller asked for usage, otherwise the held finish chunk.
"""

from __future__ import annotations

from typing import Any

import msgspec

from switchyard.canonical import Usage
from switchyard.errors import ErrorCategory, UpstreamError
from switchyard.protocols.openai_chat.response import usage_in, usage_out
from switchyard.protocols.openai_chat.stream_in import stream_error
from switchyard.protocols.openai_chat.stream_out import DONE
from switchyard.telemetry.record import GenerationRecord

_decode = msgspec.json.Decoder().decode
_encode = msgspec.json.Encoder().encode


def _set(block: bytes, key: bytes, first: int) -> bool:
    """Whether ``key`` ("usage", "finish_reason") appears in ``block`` with a non-null value, where
    ``first`` is the byte a value must start with. Tolerates the spaces some servers put after ':'."""
    i = block.find(key)
    while i >= 0:
        j = i + len(key)
        n = len(block)
        while j < n and block[j] in b" \t:":
            j += 1
        if j < n and block[j] == first:
            return True
        i = block.find(key, j)
    return False


def _special_in(block: bytes) -> bool:
    return (_set(block, b'"usage"', 0x7B) or _set(block, b'"finish_reason"', 0x22)
            or b"[DONE]" in block or b'"error"' in block)


class OpenAIPassthroughStream:
    __slots__ = ("_slug", "_wants_usage", "_buf", "_held", "_usage_chunk", "_rest", "usage", "finish_reason",
                 "done", "model")

    def __init__(self, slug: str, wants_usage: bool) -> None:
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

    def feed(self, data: bytes) -> bytes:
        buf = self._buf + data if self._buf else data
        if b"\r" in buf:
            buf = buf.replace(b"\r\n", b"\n")
        end = buf.rfind(b"\n\n")
        if end < 0:
            self._buf = buf
            return b""
        self._buf = buf[end + 2:]
        block = buf[:end + 2]
        if self.model is None:
            self._sniff_model(block)
        # Common case: content chunks only. Nothing to look at, forward the bytes as they are.
        if not _special_in(block):
            return block
        out: list[bytes] = []
        for event in block.split(b"\n\n"):
            if event:
                kept = self._special(event)
                if kept is not None:
                    out.append(kept + b"\n\n")
        return b"".join(out)

    def _sniff_model(self, block: bytes) -> None:
        i = block.find(b'"model"')
        if i >= 0:
            i = block.find(b'"', i + 7)
            j = block.find(b'"', i + 1)
            if i > 0 and j > i:
                self.model = block[i + 1:j].decode("utf-8", "replace")

    def _special(self, event: bytes) -> bytes | None:
        if event.startswith(b"data: [DONE]") or event.startswith(b"data:[DONE]"):
            self.done = True
            return None
        if not _special_in(event):
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
        if self.model is None and isinstance(chunk.get("model"), str):
            self.model = chunk["model"]
        usage = usage_in(chunk.get("usage") or (chunk.get("x_groq") or {}).get("usage"))  # Groq
        choices = chunk.get("choices") or []
        if usage is not None:
            self.usage = usage
            if not choices:
                self._usage_chunk = chunk
                return None  # re-sent, with our cost and metadata, at the end
        for choice in choices:
            if choice.get("finish_reason"):
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
