"""Gemini ``GenerateContentResponse`` -> canonical ChatResult, plus the finish-reason, usage and part
mappings the stream decoder shares.

Only ``candidates[0]`` is read (the gateway never asks for more). Parts: ``text``; ``thought: true``
text (thought summaries, with ``thinkingConfig.includeThoughts``) -> ReasoningPart; ``functionCall``
-> ToolCallPart with compact JSON arguments and Gemini's ``id`` or one of ours; a ``thoughtSignature``
on any part -> a ReasoningPart carrying only the tagged signature, placed before that part, so that
request.py can send it back on the same part. A prompt blocked before generation (no candidates,
``promptFeedback.blockReason``) is a result finishing with ``content_filter``, not an error.
"""

from __future__ import annotations

import secrets
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
from switchyard.protocols.gemini.errors import error_from_object
from switchyard.protocols.gemini.request import signature_tag


class WireFunctionCall(msgspec.Struct):
    name: str = ""
    args: Any = None
    id: str | None = None


class WirePart(msgspec.Struct, rename="camel"):
    text: str | None = None
    thought: bool | None = None
    thought_signature: str | None = None
    function_call: WireFunctionCall | None = None
    # inlineData (generated images), executableCode, codeExecutionResult: no canonical form yet


class WireContent(msgspec.Struct):
    parts: list[WirePart] = []
    role: str | None = None


class WireCandidate(msgspec.Struct, rename="camel"):
    content: WireContent | None = None
    finish_reason: str | None = None
    index: int = 0


class WireUsage(msgspec.Struct, rename="camel"):
    prompt_token_count: int | None = None
    candidates_token_count: int | None = None
    cached_content_token_count: int | None = None
    thoughts_token_count: int | None = None
    tool_use_prompt_token_count: int | None = None
    total_token_count: int | None = None


class WirePromptFeedback(msgspec.Struct, rename="camel"):
    block_reason: str | None = None


class WireResponse(msgspec.Struct, rename="camel"):
    candidates: list[WireCandidate] = []
    prompt_feedback: WirePromptFeedback | None = None
    usage_metadata: WireUsage | None = None
    model_version: str | None = None
    response_id: str | None = None
    error: dict[str, Any] | None = None  # an error object that arrived with a 2xx or inside a stream


decode_response = msgspec.json.Decoder(WireResponse).decode
_encode = msgspec.json.encode

_FILTERED = ("SAFETY", "RECITATION", "BLOCKLIST", "PROHIBITED_CONTENT", "SPII", "IMAGE_SAFETY",
             "IMAGE_PROHIBITED_CONTENT", "IMAGE_RECITATION", "MODEL_ARMOR")
FINISH_REASONS: dict[str, FinishReason] = {"STOP": "stop", "MAX_TOKENS": "length",
                                           **{r: "content_filter" for r in _FILTERED}}
# MALFORMED_FUNCTION_CALL, UNEXPECTED_TOOL_CALL, TOO_MANY_TOOL_CALLS, LANGUAGE, OTHER, ...: "other".


def finish_reason(raw: str | None, has_tool_calls: bool) -> FinishReason:
    reason = FINISH_REASONS.get(raw or "", "other")
    if has_tool_calls and (reason == "stop" or raw in (None, "FINISH_REASON_UNSPECIFIED")):
        return "tool_calls"
    return reason


def to_usage(u: WireUsage) -> Usage:
    """Cached tokens are a subset of the prompt count; thoughts are counted beside the candidates, so
    they are added to the output; tokens of tool-use prompts (search results, code output) are input."""
    thoughts = u.thoughts_token_count or 0
    return Usage(input_tokens=(u.prompt_token_count or 0) + (u.tool_use_prompt_token_count or 0),
                 output_tokens=(u.candidates_token_count or 0) + thoughts,
                 cache_read_tokens=u.cached_content_token_count or 0, reasoning_tokens=thoughts)


def new_call_id() -> str:
    return "call_" + secrets.token_hex(12)


def tag_for(slug: str, model_version: str | None) -> str:
    # Without a model version the signature can never match a request's tag: the bypass is used.
    return signature_tag(slug, model_version or "")


def arguments_json(args: Any) -> str:
    return _encode(args if isinstance(args, dict) else {}).decode()


def parse_response(body: bytes, slug: str) -> ChatResult:
    try:
        r = decode_response(body)
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        raise UpstreamError(ErrorCategory.BAD_RESPONSE, f"{slug}: unreadable response ({exc})") from None
    if r.error is not None:
        raise error_from_object(slug, 0, r.error, msgspec.json.decode(body))
    tag = tag_for(slug, r.model_version)
    content: list[TextPart | ReasoningPart | ToolCallPart] = []
    raw: str | None = None
    cand = r.candidates[0] if r.candidates else None
    if cand is not None:
        raw = cand.finish_reason
        for part in cand.content.parts if cand.content is not None else ():
            signature = tag + part.thought_signature if part.thought_signature else None
            if part.thought:
                content.append(ReasoningPart(text=part.text or "", signature=signature))
                continue
            if signature is not None:
                content.append(ReasoningPart(signature=signature))
            fc = part.function_call
            if fc is not None:
                content.append(ToolCallPart(id=fc.id or new_call_id(), name=fc.name, arguments=arguments_json(fc.args)))
            elif part.text:
                content.append(TextPart(part.text))
    elif r.prompt_feedback is not None and r.prompt_feedback.block_reason:
        return ChatResult(content=[], finish_reason="content_filter", raw_finish_reason=r.prompt_feedback.block_reason,
                          usage=to_usage(r.usage_metadata) if r.usage_metadata else None, id=r.response_id,
                          model=r.model_version)
    has_calls = any(type(p) is ToolCallPart for p in content)
    return ChatResult(content=content, finish_reason=finish_reason(raw, has_calls), raw_finish_reason=raw,
                      usage=to_usage(r.usage_metadata) if r.usage_metadata is not None else None,
                      id=r.response_id, model=r.model_version)
