"""Gemini GenerateContentResponse -> canonical ChatResult; finish reasons and usage."""

from __future__ import annotations

import json
from typing import Any

import pytest

from switchyard.canonical import ReasoningPart, TextPart, ToolCallPart, Usage
from switchyard.errors import ErrorCategory, UpstreamError
from switchyard.protocols.gemini.response import (
    WireUsage,
    finish_reason,
    parse_response,
    to_usage,
)


def body(parts: list[dict[str, Any]] | None = None, finish: str | None = "STOP", **overrides: Any) -> bytes:
    """Pretty-printed, as the non-streaming endpoint answers."""
    cand: dict[str, Any] = {"content": {"parts": parts if parts is not None else [{"text": "Hi there!"}],
                                        "role": "model"}, "index": 0}
    if finish:
        cand["finishReason"] = finish
    resp: dict[str, Any] = {
        "candidates": [cand],
        "usageMetadata": {"promptTokenCount": 8, "candidatesTokenCount": 3, "totalTokenCount": 11,
                          "promptTokensDetails": [{"modality": "TEXT", "tokenCount": 8}]},
        "modelVersion": "gemini-2.5-flash", "responseId": "SRbTaIz1ELjPz7IP5uGP0A0",
    }
    resp.update(overrides)
    return json.dumps(resp, indent=2).encode()


def test_text() -> None:
    r = parse_response(body(), "google")
    assert r.content == [TextPart("Hi there!")]
    assert (r.finish_reason, r.raw_finish_reason) == ("stop", "STOP")
    assert r.usage == Usage(input_tokens=8, output_tokens=3)
    assert (r.id, r.model) == ("SRbTaIz1ELjPz7IP5uGP0A0", "gemini-2.5-flash")


def test_function_calls_thoughts_and_signatures() -> None:
    r = parse_response(body([
        {"text": "Planning the calls.", "thought": True},
        {"functionCall": {"name": "get_weather", "args": {"city": "Paris", "days": 2}}, "thoughtSignature": "Q2lR"},
        {"functionCall": {"id": "fc-7", "name": "get_time", "args": {}}},
    ], model_version="gemini-3-pro-preview", modelVersion="gemini-3-pro-preview"), "vertex")
    thought, sig, call1, call2 = r.content
    assert thought == ReasoningPart(text="Planning the calls.")
    assert sig == ReasoningPart(signature="vertex/gemini-3-pro-preview|Q2lR")
    assert isinstance(call1, ToolCallPart) and call1.name == "get_weather"
    assert call1.arguments == '{"city":"Paris","days":2}' and call1.id.startswith("call_")
    assert call2 == ToolCallPart(id="fc-7", name="get_time", arguments="{}")  # Gemini's own id is kept
    assert r.finish_reason == "tool_calls" and r.raw_finish_reason == "STOP"


def test_generated_ids_are_unique() -> None:
    calls = [{"functionCall": {"name": "f", "args": {}}}] * 3
    ids = {p.id for p in parse_response(body(calls), "google").content if isinstance(p, ToolCallPart)}
    assert len(ids) == 3


def test_usage_with_thoughts_cache_and_tool_prompts() -> None:
    r = parse_response(body(usageMetadata={
        "promptTokenCount": 1200, "cachedContentTokenCount": 1000, "candidatesTokenCount": 50,
        "thoughtsTokenCount": 300, "toolUsePromptTokenCount": 40, "totalTokenCount": 1590}), "google")
    assert r.usage == Usage(input_tokens=1240, output_tokens=350, cache_read_tokens=1000, reasoning_tokens=300)
    assert r.usage.total_tokens == 1590


def test_no_usage() -> None:
    raw = json.loads(body())
    del raw["usageMetadata"]
    assert parse_response(json.dumps(raw).encode(), "google").usage is None


def test_safety_finish_without_content() -> None:
    raw = json.loads(body())
    raw["candidates"] = [{"finishReason": "SAFETY", "index": 0, "safetyRatings": [
        {"category": "HARM_CATEGORY_DANGEROUS_CONTENT", "probability": "HIGH", "blocked": True}]}]
    r = parse_response(json.dumps(raw).encode(), "google")
    assert (r.content, r.finish_reason, r.raw_finish_reason) == ([], "content_filter", "SAFETY")


def test_blocked_prompt_is_a_result() -> None:
    raw = {"promptFeedback": {"blockReason": "SAFETY", "safetyRatings": [
        {"category": "HARM_CATEGORY_HARASSMENT", "probability": "HIGH", "blocked": True}]},
        "usageMetadata": {"promptTokenCount": 7, "totalTokenCount": 7}, "modelVersion": "gemini-2.5-flash",
        "responseId": "r1"}
    r = parse_response(json.dumps(raw).encode(), "google")
    assert (r.content, r.finish_reason, r.raw_finish_reason) == ([], "content_filter", "SAFETY")
    assert r.usage == Usage(input_tokens=7) and r.id == "r1"


@pytest.mark.parametrize(("raw", "calls", "reason"), [
    ("STOP", False, "stop"), ("STOP", True, "tool_calls"), (None, True, "tool_calls"),
    ("MAX_TOKENS", False, "length"), ("MAX_TOKENS", True, "length"),
    ("SAFETY", False, "content_filter"), ("RECITATION", False, "content_filter"),
    ("BLOCKLIST", False, "content_filter"), ("PROHIBITED_CONTENT", False, "content_filter"),
    ("SPII", False, "content_filter"), ("IMAGE_SAFETY", False, "content_filter"),
    ("MALFORMED_FUNCTION_CALL", False, "other"), ("OTHER", False, "other"), ("LANGUAGE", False, "other"),
    ("FINISH_REASON_UNSPECIFIED", False, "other"), ("SOMETHING_NEW", False, "other"), (None, False, "other"),
])
def test_finish_reasons(raw: str | None, calls: bool, reason: str) -> None:
    assert finish_reason(raw, calls) == reason


def test_usage_fields_may_be_absent() -> None:
    assert to_usage(WireUsage(prompt_token_count=4)) == Usage(input_tokens=4)


@pytest.mark.parametrize("raw", [b"", b"not json", b'{"candidates": "nope"}', b"[]"])
def test_unreadable_body(raw: bytes) -> None:
    with pytest.raises(UpstreamError) as exc:
        parse_response(raw, "google")
    assert exc.value.category is ErrorCategory.BAD_RESPONSE
    assert exc.value.message.startswith("google: unreadable response")


def test_error_object_with_2xx() -> None:
    with pytest.raises(UpstreamError) as exc:
        parse_response(b'{"error": {"code": 429, "message": "Quota", "status": "RESOURCE_EXHAUSTED"}}', "google")
    assert exc.value.category is ErrorCategory.RATE_LIMITED and exc.value.upstream_status == 429
