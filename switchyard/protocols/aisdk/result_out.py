"""A ChatResult as ``LanguageModelV{2,3,4}GenerateResult`` JSON, and the pieces streams share.

    {"content": [...], "finishReason": ..., "usage": ..., "providerMetadata": {"gateway": ...},
     "warnings": []}

Content parts: ``text`` and ``reasoning`` ``{text}`` (Anthropic's signature or redacted data in
``providerMetadata.anthropic``, where ``@ai-sdk/anthropic`` puts them, so that the client sends them
back on the next turn) and ``tool-call`` ``{toolCallId, toolName, input}`` with ``input`` a JSON *string*.

finishReason: v2 a string; v3/v4 ``{unified, raw}``. Usage: v2 flat ``{inputTokens, outputTokens,
totalTokens, reasoningTokens, cachedInputTokens}``; v3/v4 nested ``{inputTokens: {total, noCache,
cacheRead, cacheWrite}, outputTokens: {total, text, reasoning}}``. Unknown usage leaves the numbers out
(the spec's ``undefined``). The client overwrites ``response``, so the generation id travels in
``providerMetadata.gateway.generationId``.
"""

from __future__ import annotations

from typing import Any

import msgspec

from switchyard.canonical import (
    ChatResult,
    ReasoningPart,
    TextPart,
    ToolCallPart,
    Usage,
)
from switchyard.telemetry.record import GenerationRecord

_FINISH = {"stop": "stop", "length": "length", "tool_calls": "tool-calls", "content_filter": "content-filter",
           "error": "error", "other": "other"}


def finish_reason(reason: str | None, raw: str | None, spec: int) -> Any:
    unified = _FINISH.get(reason or "", "other")
    if spec == 2:
        return unified
    out: dict[str, Any] = {"unified": unified}
    if raw is not None:
        out["raw"] = raw
    return out


def usage(u: Usage | None, spec: int) -> dict[str, Any]:
    if u is None:
        return {} if spec == 2 else {"inputTokens": {}, "outputTokens": {}}
    if spec == 2:
        return {"inputTokens": u.input_tokens, "outputTokens": u.output_tokens, "totalTokens": u.total_tokens,
                "reasoningTokens": u.reasoning_tokens, "cachedInputTokens": u.cache_read_tokens}
    return {
        "inputTokens": {"total": u.input_tokens,
                        "noCache": max(0, u.input_tokens - u.cache_read_tokens - u.cache_write_tokens),
                        "cacheRead": u.cache_read_tokens, "cacheWrite": u.cache_write_tokens},
        "outputTokens": {"total": u.output_tokens, "text": max(0, u.output_tokens - u.reasoning_tokens),
                         "reasoning": u.reasoning_tokens},
    }


def tool_input(arguments: str) -> str:
    """The model's arguments text; an empty one is the empty object (the client JSON-parses it)."""
    return arguments if arguments.strip() else "{}"


def reasoning_metadata(signature: str | None = None, redacted: str | None = None) -> dict[str, Any] | None:
    if redacted is not None:
        return {"anthropic": {"redactedData": redacted}}
    if signature is not None:
        return {"anthropic": {"signature": signature}}
    return None


def content(result: ChatResult) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for p in result.content:
        t = type(p)
        if t is TextPart:
            if p.text:  # type: ignore[union-attr]
                out.append({"type": "text", "text": p.text})  # type: ignore[union-attr]
        elif t is ReasoningPart:
            part: dict[str, Any] = {"type": "reasoning", "text": p.text}  # type: ignore[union-attr]
            meta = reasoning_metadata(p.signature, p.redacted)  # type: ignore[union-attr]
            if meta is not None:
                part["providerMetadata"] = meta
            out.append(part)
        elif t is ToolCallPart:
            out.append({"type": "tool-call", "toolCallId": p.id, "toolName": p.name,  # type: ignore[union-attr]
                        "input": tool_input(p.arguments)})  # type: ignore[union-attr]
    return out


def render_result(result: ChatResult, rec: GenerationRecord, spec: int) -> bytes:
    return msgspec.json.encode({
        "content": content(result),
        "finishReason": finish_reason(result.finish_reason, result.raw_finish_reason, spec),
        "usage": usage(result.usage or rec.usage, spec),
        "providerMetadata": {"gateway": rec.gateway_metadata()},
        "warnings": [],
    })
