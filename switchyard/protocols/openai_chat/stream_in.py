"""Decode a provider's Chat Completions SSE stream into canonical events."""

from __future__ import annotations

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
from switchyard.errors import ErrorCategory, UpstreamError
from switchyard.protocols.openai_chat import quirks as _quirks
from switchyard.protocols.openai_chat.errors import classify
from switchyard.protocols.openai_chat.quirks import Quirks
from switchyard.protocols.openai_chat.response import FINISH_IN, usage_in
from switchyard.providers.base import StreamDecoder
from switchyard.providers.sse import SSEDecoder

_decode = msgspec.json.Decoder().decode


def stream_error(slug: str, err: Any) -> UpstreamError:
    """An ``{"error": ...}`` object sent inside a stream (OpenAI, OpenRouter and vLLM do this)."""
    message = str(err.get("message") if isinstance(err, dict) else err)
    code = err.get("code") if isinstance(err, dict) and isinstance(err.get("code"), str) else None
    status = err.get("code") if isinstance(err, dict) and isinstance(err.get("code"), int) else 500
    category = classify(status, message, code)
    if category is ErrorCategory.INVALID_REQUEST and status >= 500:
        category = ErrorCategory.SERVER_ERROR
    return UpstreamError(category, f"{slug}: {message}", status=status, code=code)


class OpenAIStreamDecoder(StreamDecoder):
    __slots__ = ("_sse", "_slug", "_info_sent", "_done", "_finished", "_tool_ids", "_usage_paths", "_error_paths")

    def __init__(self, slug: str, quirks: Quirks | None = None) -> None:
        """``quirks`` (default: the entry named after ``slug``) says where else chunks carry usage and
        errors."""
        q = quirks if quirks is not None else _quirks.named(slug)
        self._usage_paths = q.usage_paths
        self._error_paths = q.error_paths
        self._sse = SSEDecoder()
        self._slug = slug
        self._info_sent = False
        self._done = False
        self._finished = False
        self._tool_ids: set[int] = set()

    def feed(self, data: bytes) -> list[StreamEvent]:
        out: list[StreamEvent] = []
        for _event, payload in self._sse.feed(data):
            self._handle(payload, out)
        return out

    def close(self) -> list[StreamEvent]:
        out: list[StreamEvent] = []
        for _event, payload in self._sse.flush():
            self._handle(payload, out)
        # Some compatible servers omit [DONE]; a finish reason is end enough.
        if not self._done and not self._finished:
            raise UpstreamError(ErrorCategory.SERVER_ERROR, f"{self._slug}: stream ended before it was complete")
        return out

    def _handle(self, payload: bytes, out: list[StreamEvent]) -> None:
        if payload == b"[DONE]":
            self._done = True
            return
        try:
            chunk = _decode(payload)
        except msgspec.DecodeError:
            raise UpstreamError(ErrorCategory.BAD_RESPONSE, f"{self._slug}: unreadable stream chunk") from None
        if not isinstance(chunk, dict):
            return
        if "error" in chunk and chunk["error"]:
            raise stream_error(self._slug, chunk["error"])
        if self._error_paths:
            err = _quirks.dig(chunk, self._error_paths)
            if err:
                raise stream_error(self._slug, err)
        # Azure's first chunk (prompt_filter_results) has an empty id and model: wait for a real one.
        if not self._info_sent and (chunk.get("id") or chunk.get("model")):
            self._info_sent = True
            out.append(ResponseInfo(chunk.get("id"), chunk.get("model")))
        for choice in chunk.get("choices") or ():
            delta = choice.get("delta") or {}
            reasoning = delta.get("reasoning_content") or delta.get("reasoning")
            if reasoning:
                out.append(ReasoningDelta(reasoning))
            text = delta.get("content")
            if text:
                out.append(TextDelta(text))
            for tc in delta.get("tool_calls") or ():
                index = tc.get("index", 0)
                fn = tc.get("function") or {}
                if index not in self._tool_ids:
                    self._tool_ids.add(index)
                    out.append(ToolCallStart(index, tc.get("id") or f"call_{index}", fn.get("name") or ""))
                if fn.get("arguments"):
                    out.append(ToolCallDelta(index, fn["arguments"]))
            raw = choice.get("finish_reason")
            if raw:
                self._finished = True
                out.append(Finish(FINISH_IN.get(raw, "other"), raw))
        usage = chunk.get("usage")
        if not usage and self._usage_paths:
            usage = _quirks.dig(chunk, self._usage_paths)
        if usage:
            parsed = usage_in(usage)
            if parsed is not None:
                out.append(UsageReport(parsed))
