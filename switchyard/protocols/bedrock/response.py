"""Bedrock Converse response body -> canonical ChatResult, plus the stop-reason and usage mappings
the stream decoder shares.

Usage: AWS documents ``inputTokens`` as the *uncached* input only, with ``cacheReadInputTokens`` and
``cacheWriteInputTokens`` beside it (total input = the three added up; ``totalTokens`` counts them
all). Canonical input includes cached tokens, so they are added back. One guard: when
``totalTokens == inputTokens + outputTokens`` with cache counts present, that model reported an
inclusive ``inputTokens`` and nothing is added.
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

STOP_REASONS: dict[str, FinishReason] = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "max_tokens": "length",
    "model_context_window_exceeded": "length",
    "tool_use": "tool_calls",
    "guardrail_intervened": "content_filter",
    "content_filtered": "content_filter",
    "malformed_model_output": "error",
    "malformed_tool_use": "error",
}


class WireUsage(msgspec.Struct):
    inputTokens: int = 0
    outputTokens: int = 0
    totalTokens: int | None = None
    cacheReadInputTokens: int | None = None
    cacheWriteInputTokens: int | None = None


class WireReasoningText(msgspec.Struct):
    text: str = ""
    signature: str | None = None


class WireReasoning(msgspec.Struct):
    reasoningText: WireReasoningText | None = None
    redactedContent: str | None = None  # a blob: base64 in JSON


class WireToolUse(msgspec.Struct):
    toolUseId: str = ""
    name: str = ""
    input: Any = None


class WireBlock(msgspec.Struct):
    text: str | None = None
    toolUse: WireToolUse | None = None
    reasoningContent: WireReasoning | None = None


class WireMessage(msgspec.Struct):
    content: list[WireBlock] = []


class WireOutput(msgspec.Struct):
    message: WireMessage | None = None


class WireResponse(msgspec.Struct):
    output: WireOutput | None = None
    stopReason: str | None = None
    usage: WireUsage | None = None


_decode = msgspec.json.Decoder(WireResponse).decode
_encode = msgspec.json.encode


def finish_reason(raw: str | None) -> FinishReason:
    return STOP_REASONS.get(raw, "other") if raw is not None else "other"


def to_usage(u: WireUsage) -> Usage:
    read = u.cacheReadInputTokens or 0
    write = u.cacheWriteInputTokens or 0
    inclusive = (read + write > 0 and u.totalTokens == u.inputTokens + u.outputTokens
                 and u.inputTokens >= read + write)
    return Usage(input_tokens=u.inputTokens + (0 if inclusive else read + write), output_tokens=u.outputTokens,
                 cache_read_tokens=read, cache_write_tokens=write)


def parse_converse(body: bytes, slug: str = "bedrock") -> ChatResult:
    try:
        resp = _decode(body)
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        raise UpstreamError(ErrorCategory.BAD_RESPONSE, f"{slug}: unreadable Converse response ({exc})") from None
    if resp.output is None or resp.output.message is None:
        raise UpstreamError(ErrorCategory.BAD_RESPONSE, f"{slug}: Converse response without output.message")
    content: list[TextPart | ReasoningPart | ToolCallPart] = []
    for b in resp.output.message.content:
        if b.text is not None:
            content.append(TextPart(b.text))
        elif b.toolUse is not None:
            t = b.toolUse
            content.append(ToolCallPart(id=t.toolUseId, name=t.name,
                                        arguments=_encode(t.input if t.input is not None else {}).decode()))
        elif b.reasoningContent is not None:
            r = b.reasoningContent
            if r.reasoningText is not None:
                content.append(ReasoningPart(text=r.reasoningText.text, signature=r.reasoningText.signature))
            elif r.redactedContent is not None:
                content.append(ReasoningPart(redacted=r.redactedContent))
        # citations, images, guardContent and future blocks have no canonical form.
    return ChatResult(content=content, finish_reason=finish_reason(resp.stopReason),
                      usage=to_usage(resp.usage) if resp.usage is not None else None,
                      raw_finish_reason=resp.stopReason)
