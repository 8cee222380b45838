"""Anthropic Messages response body -> canonical ChatResult, plus the stop-reason and usage mappings
the stream decoder shares.

Only the wire fields we read are declared; msgspec skips the rest without building them.
"""

from __future__ import annotations

from typing import Any

import msgspec

from switchyard.canonical import (
    ChatResult,
    FinishReason,
    ReasoningPart,
    TextPart,
    ToolCallPart,
    Usage,
)
from switchyard.errors import ErrorCategory, UpstreamError
from switchyard.protocols.anthropic.errors import error_from_wire


class WireOutputDetails(msgspec.Struct):
    thinking_tokens: int = 0


class WireUsage(msgspec.Struct):
    # Anthropic sends null for cache fields on some models and older API versions.
    input_tokens: int | None = None
    output_tokens: int | None = None
    cache_creation_input_tokens: int | None = None
    cache_read_input_tokens: int | None = None
    output_tokens_details: WireOutputDetails | None = None  # newer API versions: thinking tokens


class WireBlock(msgspec.Struct):
    type: str
    text: str | None = None
    thinking: str | None = None
    signature: str | None = None
    data: str | None = None  # redacted_thinking
    id: str | None = None
    name: str | None = None
    input: Any = None


class WireError(msgspec.Struct):
    type: str = "api_error"
    message: str = ""


class WireMessage(msgspec.Struct):
    type: str = "message"
    id: str | None = None
    model: str | None = None
    content: list[WireBlock] = []
    stop_reason: str | None = None
    usage: WireUsage | None = None
    error: WireError | None = None  # a {"type": "error"} body that arrived with a 2xx


_decode_message = msgspec.json.Decoder(WireMessage).decode
_encode = msgspec.json.encode

STOP_REASONS: dict[str, FinishReason] = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "pause_turn": "stop",  # a server tool paused the turn; the caller may continue it
    "max_tokens": "length",
    "model_context_window_exceeded": "length",
    "tool_use": "tool_calls",
    "refusal": "content_filter",
}


def finish_reason(raw: str | None) -> FinishReason:
    if raw is None:
        return "other"
    return STOP_REASONS.get(raw, "other")


def to_usage(u: WireUsage) -> Usage:
    # Anthropic's input_tokens excludes cache reads and writes; canonical input counts them all.
    read = u.cache_read_input_tokens or 0
    write = u.cache_creation_input_tokens or 0
    details = u.output_tokens_details
    return Usage(input_tokens=(u.input_tokens or 0) + read + write, output_tokens=u.output_tokens or 0,
                 cache_read_tokens=read, cache_write_tokens=write,
                 reasoning_tokens=details.thinking_tokens if details is not None else 0)


def parse_message(body: bytes) -> ChatResult:
    try:
        msg = _decode_message(body)
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        raise UpstreamError(ErrorCategory.BAD_RESPONSE, f"anthropic: unreadable response ({exc})") from None
    if msg.error is not None:
        raise error_from_wire(0, msg.error.type, msg.error.message, msgspec.json.decode(body))
    content: list[TextPart | ReasoningPart | ToolCallPart] = []
    for b in msg.content:
        if b.type == "text":
            content.append(TextPart(b.text or ""))
        elif b.type == "tool_use":
            args = _encode(b.input if b.input is not None else {}).decode()
            content.append(ToolCallPart(id=b.id or "", name=b.name or "", arguments=args))
        elif b.type == "thinking":
            content.append(ReasoningPart(text=b.thinking or "", signature=b.signature))
        elif b.type == "redacted_thinking":
            content.append(ReasoningPart(redacted=b.data or ""))
        # Server tool blocks (server_tool_use, web_search_tool_result, ...) have no canonical form.
    return ChatResult(
        content=content,
        finish_reason=finish_reason(msg.stop_reason),
        usage=to_usage(msg.usage) if msg.usage is not None else None,
        id=msg.id,
        model=msg.model,
        raw_finish_reason=msg.stop_reason,
    )
