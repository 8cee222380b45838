"""Gemini ``streamGenerateContent?alt=sse`` -> canonical stream events.

Every SSE event is a whole ``GenerateContentResponse`` holding the next parts: text arrives in
pieces, a function call arrives complete in one part (so ToolCallStart is followed by a single
ToolCallDelta with all of its arguments). The chunk with ``finishReason`` is the last; each chunk's
``usageMetadata`` is cumulative, so the last one seen is reported when the body ends. A body that
ends without a finish reason was cut. An ``{"error": ...}`` event ends the stream with that error.
One decoder per streamed attempt; not thread-safe.
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
from switchyard.protocols.gemini.errors import error_from_object
from switchyard.protocols.gemini.response import (
    WireResponse,
    WireUsage,
    arguments_json,
    decode_response,
    finish_reason,
    new_call_id,
    tag_for,
    to_usage,
)
from switchyard.providers.base import StreamDecoder
from switchyard.providers.sse import SSEStreamDecoder


class GeminiStreamDecoder(SSEStreamDecoder, StreamDecoder):
    def __init__(self, slug: str = "google") -> None:
        super().__init__()
        self._slug = slug
        self._tag = ""
        self._started = False
        self._tools = 0
        self._usage: WireUsage | None = None
        self._finished = False

    def _finish(self, out: list[StreamEvent]) -> list[StreamEvent]:
        if not self._finished:
            raise UpstreamError(ErrorCategory.SERVER_ERROR, f"{self._slug}: stream ended before a finish reason")
        if self._usage is not None:
            out.append(UsageReport(to_usage(self._usage)))
        return out

    def _handle(self, raw: list[tuple[str | None, bytes]]) -> list[StreamEvent]:
        out: list[StreamEvent] = []
        for _name, data in raw:
            if data == b"[DONE]":  # not Gemini's, but some proxies in front of it add one
                continue
            try:
                chunk = decode_response(data)
            except (msgspec.DecodeError, msgspec.ValidationError):
                self._error = UpstreamError(ErrorCategory.BAD_RESPONSE, f"{self._slug}: unreadable stream event")
            else:
                self._chunk(chunk, data, out)
            if self._error is not None:
                if out:
                    return out  # deliver what came before the error; raise on the next call
                raise self._error
        return out

    def _chunk(self, chunk: WireResponse, data: bytes, out: list[StreamEvent]) -> None:
        if chunk.error is not None:
            self._error = error_from_object(self._slug, 0, chunk.error, msgspec.json.decode(data))
            return
        if not self._started:
            self._started = True
            self._tag = tag_for(self._slug, chunk.model_version)
            out.append(ResponseInfo(id=chunk.response_id, model=chunk.model_version))
        if chunk.usage_metadata is not None:
            self._usage = chunk.usage_metadata
        if self._finished:
            return
        cand = chunk.candidates[0] if chunk.candidates else None
        if cand is None:
            feedback = chunk.prompt_feedback
            if feedback is not None and feedback.block_reason:
                self._finished = True
                out.append(Finish("content_filter", raw=feedback.block_reason))
            return
        for part in cand.content.parts if cand.content is not None else ():
            signature = self._tag + part.thought_signature if part.thought_signature else None
            if part.thought:
                if part.text or signature:
                    out.append(ReasoningDelta(text=part.text or "", signature=signature))
                continue
            if signature is not None:
                out.append(ReasoningDelta(signature=signature))
            fc = part.function_call
            if fc is not None:
                index, self._tools = self._tools, self._tools + 1
                out.append(ToolCallStart(index, fc.id or new_call_id(), fc.name))
                out.append(ToolCallDelta(index, arguments_json(fc.args)))
            elif part.text:
                out.append(TextDelta(part.text))
        if cand.finish_reason:
            self._finished = True
            out.append(Finish(finish_reason(cand.finish_reason, self._tools > 0), raw=cand.finish_reason))
