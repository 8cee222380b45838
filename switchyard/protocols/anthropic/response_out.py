"""Results for an Anthropic caller: a canonical ChatResult as a Messages ``message`` object, and the
pass-through body with our metadata.

Usage follows Anthropic's convention: ``input_tokens`` EXCLUDES cache reads and writes (the
canonical count includes them), which are reported in ``cache_read_input_tokens`` and
``cache_creation_input_tokens``. Our routing metadata, cost included, is the top-level
``provider_metadata.gateway``, as on every other front door.
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

_encode = msgspec.json.Encoder().encode
_decode = msgspec.json.Decoder().decode

STOP_REASONS = {"stop": "end_turn", "length": "max_tokens", "tool_calls": "tool_use",
                "content_filter": "refusal"}
# Raw stop reasons that are already Anthropic's and say more than the canonical one.
_NATIVE = frozenset({"stop_sequence", "pause_turn", "refusal", "model_context_window_exceeded"})


def stop_reason(finish: str | None, raw: str | None = None) -> str:
    if raw in _NATIVE:
        return raw  # type: ignore[return-value]
    return STOP_REASONS.get(finish or "stop", "end_turn")


def usage_out(usage: Usage | None) -> dict[str, int]:
    u = usage or Usage()
    cached = u.cache_read_tokens + u.cache_write_tokens
    return {"input_tokens": max(0, u.input_tokens - cached), "output_tokens": u.output_tokens,
            "cache_creation_input_tokens": u.cache_write_tokens, "cache_read_input_tokens": u.cache_read_tokens}


def tool_input(arguments: str) -> dict[str, Any]:
    """The model's JSON arguments as the object Anthropic's ``input`` is; ``{}`` when the model's
    text is not a JSON object (Anthropic cannot carry anything else)."""
    if not arguments:
        return {}
    try:
        value = _decode(arguments)
    except msgspec.DecodeError:
        return {}
    return value if isinstance(value, dict) else {}


def content_blocks(result: ChatResult) -> list[dict[str, Any]]:
    blocks: list[dict[str, Any]] = []
    for p in result.content:
        t = type(p)
        if t is TextPart:
            if p.text:  # type: ignore[union-attr]
                blocks.append({"type": "text", "text": p.text})  # type: ignore[union-attr]
        elif t is ToolCallPart:
            blocks.append({"type": "tool_use", "id": p.id, "name": p.name,  # type: ignore[union-attr]
                           "input": tool_input(p.arguments)})  # type: ignore[union-attr]
        elif t is ReasoningPart:
            if p.redacted is not None:  # type: ignore[union-attr]
                blocks.append({"type": "redacted_thinking", "data": p.redacted})  # type: ignore[union-attr]
            elif p.text or p.signature:  # type: ignore[union-attr]
                blocks.append({"type": "thinking", "thinking": p.text,  # type: ignore[union-attr]
                               "signature": p.signature or ""})  # type: ignore[union-attr]
    return blocks


def render_result(result: ChatResult, rec: GenerationRecord) -> bytes:
    body = {
        "id": rec.id,
        "type": "message",
        "role": "assistant",
        "model": rec.requested_model,
        "content": content_blocks(result),
        "stop_reason": stop_reason(result.finish_reason, result.raw_finish_reason),
        "stop_sequence": None,
        "usage": usage_out(result.usage),
        "provider_metadata": {"gateway": rec.gateway_metadata()},
    }
    return _encode(body)


def render_passthrough(data: dict[str, Any], rec: GenerationRecord) -> bytes:
    """The provider's own message, untouched but for our metadata."""
    data["provider_metadata"] = {"gateway": rec.gateway_metadata()}
    return _encode(data)
