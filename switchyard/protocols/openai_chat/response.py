"""Chat Completions response bodies: provider body -> ChatResult, and ChatResult -> caller body."""

from __future__ import annotations

import time
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
from switchyard.telemetry.record import GenerationRecord

FINISH_IN: dict[str, FinishReason] = {
    "stop": "stop", "length": "length", "tool_calls": "tool_calls", "function_call": "tool_calls",
    "content_filter": "content_filter", "eos": "stop", "end_turn": "stop",
}


def usage_in(u: Any) -> Usage | None:
    if not isinstance(u, dict):
        return None
    prompt_details = u.get("prompt_tokens_details") or {}
    completion_details = u.get("completion_tokens_details") or {}
    cached = prompt_details.get("cached_tokens") or u.get("prompt_cache_hit_tokens") or 0  # DeepSeek
    return Usage(
        input_tokens=u.get("prompt_tokens") or 0,
        output_tokens=u.get("completion_tokens") or 0,
        cache_read_tokens=cached,
        reasoning_tokens=completion_details.get("reasoning_tokens") or 0,
    )


def parse_result(body: bytes) -> ChatResult:
    try:
        data = msgspec.json.decode(body)
        choice = data["choices"][0]
        message = choice.get("message") or {}
        # A message or tool call of the wrong shape is as unreadable as a missing one.
        return result_from_dict(data, choice, message)
    except (msgspec.DecodeError, KeyError, IndexError, TypeError, AttributeError):
        raise UpstreamError(ErrorCategory.BAD_RESPONSE, "provider returned an unreadable completion") from None


def result_from_dict(data: dict[str, Any], choice: dict[str, Any], message: dict[str, Any]) -> ChatResult:
    content: list[TextPart | ReasoningPart | ToolCallPart] = []
    reasoning = message.get("reasoning_content") or message.get("reasoning")
    if isinstance(reasoning, str) and reasoning:
        content.append(ReasoningPart(reasoning))
    text = message.get("content")
    if isinstance(text, str) and text:
        content.append(TextPart(text))
    for tc in message.get("tool_calls") or ():
        fn = tc.get("function") or {}
        content.append(ToolCallPart(tc.get("id") or "", fn.get("name") or "", fn.get("arguments") or ""))
    raw = choice.get("finish_reason")
    return ChatResult(content=content, finish_reason=FINISH_IN.get(raw, "other") if raw else "stop",
                      usage=usage_in(data.get("usage")), id=data.get("id"), model=data.get("model"),
                      raw_finish_reason=raw)


def usage_out(usage: Usage, cost: float | None) -> dict[str, Any]:
    out: dict[str, Any] = {
        "prompt_tokens": usage.input_tokens,
        "completion_tokens": usage.output_tokens,
        "total_tokens": usage.input_tokens + usage.output_tokens,
        "prompt_tokens_details": {"cached_tokens": usage.cache_read_tokens,
                                  "cache_write_tokens": usage.cache_write_tokens},
        "completion_tokens_details": {"reasoning_tokens": usage.reasoning_tokens},
    }
    if cost is not None:
        out["cost"] = round(cost, 12)
    return out


def render_result(result: ChatResult, rec: GenerationRecord) -> bytes:
    message: dict[str, Any] = {"role": "assistant", "content": None, "refusal": None}
    text = result.text()
    calls = [{"id": p.id, "type": "function", "function": {"name": p.name, "arguments": p.arguments}}
             for p in result.content if type(p) is ToolCallPart]
    reasoning = "".join(p.text for p in result.content if type(p) is ReasoningPart)
    if text or not calls:
        message["content"] = text
    if calls:
        message["tool_calls"] = calls
    if reasoning:
        message["reasoning_content"] = reasoning
    body = {
        "id": rec.id,
        "object": "chat.completion",
        "created": int(time.time()),
        "model": result.model or rec.provider_model_id,
        "choices": [{"index": 0, "message": message, "logprobs": None, "finish_reason": result.finish_reason
                     if result.finish_reason != "other" else "stop"}],
        "usage": usage_out(result.usage or Usage(), rec.cost),
        "provider_metadata": {"gateway": rec.gateway_metadata()},
    }
    return msgspec.json.encode(body)


def augment_passthrough(data: dict[str, Any], rec: GenerationRecord) -> bytes:
    """The provider's own body with our cost and routing metadata added."""
    usage = data.get("usage")
    if isinstance(usage, dict) and rec.cost is not None:
        usage["cost"] = round(rec.cost, 12)
    data["provider_metadata"] = {"gateway": rec.gateway_metadata()}
    return msgspec.json.encode(data)
