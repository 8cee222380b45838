"""Error answers of the OpenAI-compatible providers that differ from OpenAI's."""

from __future__ import annotations

import json
from typing import Any

import pytest

from switchyard.errors import ErrorCategory, UpstreamError
from switchyard.protocols.openai_chat.errors import parse_error
from switchyard.protocols.openai_chat.passthrough import OpenAIPassthroughStream
from switchyard.protocols.openai_chat.stream_in import OpenAIStreamDecoder


def parse(slug: str, status: int, body: Any, headers: dict[str, str] | None = None) -> UpstreamError:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return parse_error(slug, status, headers or {}, raw)


# ---- DeepSeek (https://api-docs.deepseek.com/quick_start/error_codes) ----

def test_deepseek_insufficient_balance_and_invalid_parameters() -> None:
    err = parse("deepseek", 402, {"error": {"message": "Insufficient Balance", "type": "unknown_error",
                                            "param": None, "code": "invalid_request_error"}})
    assert err.category is ErrorCategory.PAYMENT_REQUIRED and err.message == "deepseek: Insufficient Balance"
    err = parse("deepseek", 422, {"error": {"message": "Invalid max_tokens value, the valid range of max_tokens "
                                            "is [1, 8192]", "type": "invalid_request_error", "param": None,
                                            "code": "invalid_request_error"}})
    assert err.category is ErrorCategory.INVALID_REQUEST and err.upstream_status == 422


# ---- Mistral (https://docs.mistral.ai/resources/error-glossary) ----

def test_mistral_top_level_error_object() -> None:
    err = parse("mistral", 400, {"object": "error", "message": "Invalid model: mistral-huge", "type":
                                 "invalid_request_error", "param": "model", "code": "unknown_model"})
    assert err.message == "mistral: Invalid model: mistral-huge"
    assert err.param == "model" and err.code == "unknown_model" and err.category is ErrorCategory.INVALID_REQUEST
    err = parse("mistral", 401, {"object": "error", "message": "Unauthorized", "type": "authentication_error",
                                 "param": None, "code": None})
    assert err.category is ErrorCategory.AUTHENTICATION


EXTRA = [{"type": "extra_forbidden", "loc": ["body", "stream_options", "include_usage"],
          "msg": "Extra inputs are not permitted", "input": True}]


@pytest.mark.parametrize("body", [
    # avante.nvim#2347 (2025)
    {"object": "error", "message": {"detail": EXTRA}, "type": "invalid_request_error", "param": None, "code": None},
    # php-mistral#76 (2025-11)
    {"object": "Error", "detail": EXTRA, "message": EXTRA, "type": "invalid_request_error", "code": 3001},
    # platform-docs-public#7 (2024): the detail as JSON text
    {"object": "error", "message": json.dumps({"detail": EXTRA}), "type": "internal_error_proxy", "param": None,
     "code": "1000"},
    # the Python SDK's HTTPValidationError
    {"detail": EXTRA},
])
def test_mistral_422_validation_details(body: dict[str, Any]) -> None:
    err = parse("mistral", 422, body)
    assert err.message == "mistral: stream_options.include_usage: Extra inputs are not permitted"
    assert err.param == "stream_options.include_usage"
    assert err.category is ErrorCategory.UNSUPPORTED  # a parameter Mistral does not have


def test_mistral_422_other_validation_errors_are_the_callers() -> None:
    err = parse("mistral", 422, {"object": "error", "message": {"detail": [
        {"type": "less_than_equal", "loc": ["body", "temperature"], "msg": "Input should be less than or equal to 1.5",
         "input": 3}]}, "type": "invalid_request_error", "param": None, "code": None})
    assert err.category is ErrorCategory.INVALID_REQUEST and err.param == "temperature"
    assert "temperature: Input should be less than or equal to 1.5" in err.message


def test_mistral_context_overflow() -> None:
    err = parse("mistral", 400, {"object": "error", "message": "Prompt contains 40000 tokens and 0 draft tokens, too "
                                 "large for model with 32768 maximum context length", "type": "invalid_request_error",
                                 "param": None, "code": None})
    assert err.category is ErrorCategory.CONTEXT_TOO_LONG


# ---- Groq ----

def test_groq_context_length_code() -> None:
    err = parse("groq", 400, {"error": {"message": "Please reduce the length of the messages or completion.",
                                        "type": "invalid_request_error", "param": "messages",
                                        "code": "context_length_exceeded"}})
    assert err.category is ErrorCategory.CONTEXT_TOO_LONG and err.param == "messages"


def test_groq_413_tokens_per_minute_is_a_rate_limit() -> None:
    err = parse("groq", 413, {"error": {"message": "Request too large for model `llama-3.3-70b-versatile` in "
                                        "organization `org_1` service tier `on_demand` on tokens per minute (TPM): "
                                        "Limit 12000, Requested 14137, please reduce your message size and try "
                                        "again.", "type": "tokens", "code": "rate_limit_exceeded"}})
    assert err.category is ErrorCategory.RATE_LIMITED


def test_groq_429_retry_after() -> None:
    err = parse("groq", 429, {"error": {"message": "Rate limit reached for model `llama` ... Please try again in "
                                        "4.77s.", "type": "tokens", "code": "rate_limit_exceeded"}},
                {"retry-after": "5"})
    assert err.category is ErrorCategory.RATE_LIMITED and err.retry_after == 5


# ---- OpenRouter (https://openrouter.ai/docs/api-reference/errors) ----

def test_openrouter_402_insufficient_credits() -> None:
    err = parse("openrouter", 402, {"error": {"code": 402, "message": "Insufficient credits. Add more using "
                                              "https://openrouter.ai/credits", "metadata": {}}})
    assert err.category is ErrorCategory.PAYMENT_REQUIRED and err.code is None
    assert err.message.startswith("openrouter: Insufficient credits")


def test_openrouter_moderation_is_a_content_filter() -> None:
    err = parse("openrouter", 403, {"error": {"code": 403, "message": "openai/gpt-4o requires moderation on "
                                              "OpenAI. Your input was flagged for \"harassment\".",
                                              "metadata": {"reasons": ["harassment"], "flagged_input": "you ...",
                                                           "provider_name": "OpenAI", "model_slug": "openai/gpt-4o"}}})
    assert err.category is ErrorCategory.CONTENT_FILTERED
    assert err.message.endswith("(harassment)")


def test_openrouter_upstream_provider_error_is_named() -> None:
    err = parse("openrouter", 502, {"error": {"code": 502, "message": "Provider returned error", "metadata": {
        "provider_name": "Together", "raw": {"error": "upstream connect error"}}}})
    assert err.category is ErrorCategory.SERVER_ERROR
    assert err.message == 'openrouter: Provider returned error (Together: {"error":"upstream connect error"})'


def test_openrouter_error_inside_a_stream() -> None:
    raw = (b": OPENROUTER PROCESSING\n\n"
           b'data: {"id":"gen-1","object":"chat.completion.chunk","model":"x","error":{"code":502,'
           b'"message":"Provider disconnected"},"choices":[{"index":0,"delta":{"content":""},'
           b'"finish_reason":"error"}]}\n\n')
    with pytest.raises(UpstreamError) as info:
        OpenAIStreamDecoder("openrouter").feed(raw)
    assert info.value.category is ErrorCategory.SERVER_ERROR and info.value.upstream_status == 502
    with pytest.raises(UpstreamError):
        OpenAIPassthroughStream("openrouter", False).feed(raw)
