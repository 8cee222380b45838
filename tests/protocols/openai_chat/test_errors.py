"""OpenAI-shaped errors: real provider error bodies categorised, and ours rendered for a caller."""

from __future__ import annotations

import json
from typing import Any

import msgspec
import pytest
from multidict import CIMultiDict

from switchyard.errors import (
    AllAttemptsFailed,
    ErrorCategory,
    GatewayError,
    RequestError,
    UpstreamError,
)
from switchyard.protocols.openai_chat.errors import classify, parse_error, render_error
from switchyard.telemetry.record import Attempt


def oai(message: str, type_: str | None = "invalid_request_error", code: Any = None, param: Any = None) -> bytes:
    return msgspec.json.encode({"error": {"message": message, "type": type_, "param": param, "code": code}})


def parse(status: int, body: bytes, headers: Any = None, slug: str = "openai") -> UpstreamError:
    return parse_error(slug, status, headers or {}, body)


# ---- context overflow ----

def test_openai_context_length_exceeded_code() -> None:
    body = oai("This model's maximum context length is 128000 tokens. However, your messages resulted in "
               "130532 tokens. Please reduce the length of the messages.", code="context_length_exceeded",
               param="messages")
    err = parse(400, body)
    assert err.category is ErrorCategory.CONTEXT_TOO_LONG
    assert err.status == 400 and err.upstream_status == 400
    assert err.code == "context_length_exceeded"
    assert err.param == "messages"
    assert err.message.startswith("openai: This model's maximum context length")
    assert err.body == json.loads(body)


def test_context_code_alone_is_enough() -> None:
    assert parse(400, oai("Invalid request.", code="context_length_exceeded")).category \
        is ErrorCategory.CONTEXT_TOO_LONG


@pytest.mark.parametrize("slug,message", [
    ("groq", "Please reduce the length of the messages or completion."),
    ("mistral", "Prompt contains 40000 tokens and 0 draft tokens, too large for model with 32768 maximum "
                "context length"),
    ("xai", "This model's maximum prompt length is 131072 but the request contains 200000 tokens."),
    ("deepseek", "This model's maximum context length is 65536 tokens. However, you requested 70000 tokens "
                 "(66000 in the messages, 4000 in the completion). Please reduce the length of the messages "
                 "or completion."),
    ("openrouter", "This endpoint's maximum context length is 65536 tokens. However, you requested about "
                   "90000 tokens (86000 of text input, 4000 in the output). Please reduce the length of "
                   "either one, or use the \"middle-out\" transform to compress your prompt automatically."),
    ("together", "Input validation error: `inputs` tokens + `max_new_tokens` must be <= 8193. Given: 9000 "
                 "`inputs` tokens and 512 `max_new_tokens`. This model's maximum context length is 8193"),
])
def test_context_overflow_by_message(slug: str, message: str) -> None:
    err = parse(400, oai(message, code=None), slug=slug)
    assert err.category is ErrorCategory.CONTEXT_TOO_LONG
    assert err.message == f"{slug}: {message}"


def test_context_message_on_a_5xx_is_not_an_overflow() -> None:
    # Only a 4xx means the request itself was too long.
    assert parse(500, oai("maximum context length is 65536 tokens")).category is ErrorCategory.SERVER_ERROR


# ---- status and code ----

def test_rate_limit_vs_insufficient_quota() -> None:
    rl = parse(429, oai("Rate limit reached for gpt-4o in organization org-x on tokens per min (TPM): "
                        "Limit 30000, Used 29000, Requested 2000.", type_="tokens", code="rate_limit_exceeded"),
               {"retry-after": "2"})
    assert rl.category is ErrorCategory.RATE_LIMITED
    assert rl.status == 429
    assert rl.retry_after == 2.0
    quota = parse(429, oai("You exceeded your current quota, please check your plan and billing details.",
                           type_="insufficient_quota", code="insufficient_quota"))
    assert quota.category is ErrorCategory.PAYMENT_REQUIRED
    assert quota.status == 429  # the provider's status is kept


@pytest.mark.parametrize("status,body,category", [
    (401, oai("Incorrect API key provided: sk-proj-****abcd. You can find your API key at "
              "https://platform.openai.com/account/api-keys.", code="invalid_api_key"), ErrorCategory.AUTHENTICATION),
    (403, oai("You are not allowed to sample from this model", type_="invalid_request_error"),
     ErrorCategory.PERMISSION),
    (404, oai("The model `gpt-9` does not exist or you do not have access to it.", code="model_not_found"),
     ErrorCategory.NOT_FOUND),
    (402, oai("Insufficient Balance", type_="unknown_error"), ErrorCategory.PAYMENT_REQUIRED),
    (413, oai("Request too large"), ErrorCategory.REQUEST_TOO_LARGE),
    (422, oai("Input should be a valid string"), ErrorCategory.INVALID_REQUEST),
    (400, oai("Invalid value for 'temperature': expected a number.", param="temperature"),
     ErrorCategory.INVALID_REQUEST),
    (500, oai("The server had an error while processing your request. Sorry about that!", type_="server_error"),
     ErrorCategory.SERVER_ERROR),
    (502, oai("Bad gateway.", type_="cf_bad_gateway", code=502), ErrorCategory.SERVER_ERROR),
    (503, oai("The engine is currently overloaded, please try again later", type_="server_error"),
     ErrorCategory.OVERLOADED),
    (529, oai("Overloaded", type_="overloaded_error"), ErrorCategory.OVERLOADED),
    (408, oai("Request timed out"), ErrorCategory.TIMEOUT),
    (400, oai("Your request was rejected as a result of our safety system.", code="content_policy_violation"),
     ErrorCategory.CONTENT_FILTERED),
    (400, oai("This model does not support image inputs."), ErrorCategory.UNSUPPORTED),
    (400, oai("tools is not supported with this model"), ErrorCategory.UNSUPPORTED),
])
def test_categories_by_status_and_code(status: int, body: bytes, category: ErrorCategory) -> None:
    err = parse(status, body)
    assert err.category is category
    assert err.upstream_status == status


def test_model_not_found_code_is_kept() -> None:
    err = parse(404, oai("The model `gpt-9` does not exist", code="model_not_found"))
    assert err.code == "model_not_found"


def test_non_json_html_body() -> None:
    html = (b"<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway"
            b"</h1></center>\r\n<hr><center>cloudflare</center>\r\n</body>\r\n</html>\r\n")
    err = parse(502, html)
    assert err.category is ErrorCategory.SERVER_ERROR
    assert err.status == 502
    assert "502 Bad Gateway" in err.message
    assert err.body is None


def test_long_html_body_is_truncated() -> None:
    err = parse(503, b"<html>" + b"x" * 5000 + b"</html>")
    assert err.category is ErrorCategory.OVERLOADED
    assert len(err.message) < 300


def test_empty_body() -> None:
    err = parse(500, b"")
    assert err.message == "openai: HTTP 500"
    assert err.category is ErrorCategory.SERVER_ERROR


def test_error_as_plain_text() -> None:
    err = parse(400, b'{"error": "Please reduce the length of the messages or completion."}', slug="groq")
    assert err.category is ErrorCategory.CONTEXT_TOO_LONG
    assert err.message == "groq: Please reduce the length of the messages or completion."
    err = parse(429, b'{"error": "Too many requests"}')
    assert err.category is ErrorCategory.RATE_LIMITED
    assert err.message == "openai: Too many requests"


def test_top_level_message() -> None:
    err = parse(400, b'{"object": "error", "message": "This model\'s maximum context length is 4096 tokens.", '
                     b'"type": "BadRequestError", "code": 400}', slug="vllm")
    assert err.category is ErrorCategory.CONTEXT_TOO_LONG


def test_numeric_code_is_not_a_code() -> None:
    # OpenRouter sends {"error": {"code": 429, "message": ...}}
    err = parse(429, b'{"error": {"code": 429, "message": "Rate limit exceeded: free-models-per-min."}}',
                slug="openrouter")
    assert err.code is None
    assert err.category is ErrorCategory.RATE_LIMITED


# ---- retry-after ----

@pytest.mark.parametrize("headers,expected", [
    ({}, None),
    ({"retry-after": "20"}, 20.0),
    ({"retry-after": "1.5"}, 1.5),
    ({"retry-after-ms": "250"}, 0.25),
    ({"retry-after-ms": "250", "retry-after": "1"}, 0.25),  # the precise one wins
    ({"retry-after": "Wed, 21 Oct 2015 07:28:00 GMT"}, None),
    ({"retry-after": "-3"}, 0.0),
    ({"retry-after-ms": "soon", "retry-after": "4"}, 4.0),
])
def test_retry_after(headers: dict[str, str], expected: float | None) -> None:
    assert parse(429, oai("slow down", code="rate_limit_exceeded"), headers).retry_after == expected


def test_retry_after_header_names_are_case_insensitive_with_aiohttp_headers() -> None:
    headers = CIMultiDict({"Retry-After": "7", "Content-Type": "application/json"})
    assert parse(429, oai("slow down"), headers).retry_after == 7.0
    headers = CIMultiDict({"Retry-After-Ms": "1500"})
    assert parse(503, oai("busy"), headers).retry_after == 1.5


# ---- classify, directly ----

def test_classify_fallbacks() -> None:
    assert classify(418, "teapot", None) is ErrorCategory.INVALID_REQUEST
    assert classify(504, "gateway timeout", None) is ErrorCategory.SERVER_ERROR
    assert classify(409, "conflict", None) is ErrorCategory.SERVER_ERROR


# ---- rendering ----

def test_render_request_error() -> None:
    err = RequestError("Invalid type for 'temperature': expected a number, but got string.", param="temperature")
    body = json.loads(render_error(err))
    assert body == {"error": {"message": "Invalid type for 'temperature': expected a number, but got string.",
                              "type": "invalid_request_error", "param": "temperature", "code": None}}


def test_render_with_generation_id_and_default_codes() -> None:
    err = RequestError("The model 'x/y' does not exist.", param="model", status=404,
                       category=ErrorCategory.MODEL_NOT_FOUND)
    body = json.loads(render_error(err, "gen_01ABC"))
    assert body["generationId"] == "gen_01ABC"
    assert body["error"]["code"] == "model_not_found"
    assert body["error"]["type"] == "invalid_request_error"


@pytest.mark.parametrize("category,type_,code", [
    (ErrorCategory.RATE_LIMITED, "rate_limit_error", "rate_limit_exceeded"),
    (ErrorCategory.AUTHENTICATION, "authentication_error", None),
    (ErrorCategory.CONTEXT_TOO_LONG, "invalid_request_error", "context_length_exceeded"),
    (ErrorCategory.PAYMENT_REQUIRED, "insufficient_quota", None),
    (ErrorCategory.OVERLOADED, "server_error", None),
    (ErrorCategory.TIMEOUT, "server_error", None),
])
def test_render_types(category: ErrorCategory, type_: str, code: str | None) -> None:
    body = json.loads(render_error(GatewayError(category, "m")))
    assert body["error"]["type"] == type_
    assert body["error"]["code"] == code


def test_render_own_code_wins() -> None:
    body = json.loads(render_error(UpstreamError(ErrorCategory.RATE_LIMITED, "m", status=429, code="tpm")))
    assert body["error"]["code"] == "tpm"


def test_render_all_attempts_failed_lists_attempts() -> None:
    a = Attempt("openai", "openai/gpt-4o", "gpt-4o", 1000.0, 1100.0, False, 500, "openai: boom", "server_error")
    last = UpstreamError(ErrorCategory.SERVER_ERROR, "openai: boom", status=500)
    body = json.loads(render_error(AllAttemptsFailed("All 1 attempt(s) failed", [a], last), "gen_1"))
    err = body["error"]
    assert err["code"] == "all_attempts_failed"
    assert err["type"] == "server_error"
    assert err["attempts"] == [a.to_wire()]
    assert err["attempts"][0]["statusCode"] == 500
