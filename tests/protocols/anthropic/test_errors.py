from __future__ import annotations

import msgspec
import pytest

from switchyard.errors import ErrorCategory as C
from switchyard.protocols.anthropic.errors import parse_error


def err(kind: str, message: str) -> bytes:
    return msgspec.json.encode({"type": "error", "error": {"type": kind, "message": message},
                                "request_id": "req_011CSHoEeqs5C35K2UUqR7Fy"})


@pytest.mark.parametrize("status,kind,message,category", [
    (400, "invalid_request_error", "messages: roles must alternate", C.INVALID_REQUEST),
    (400, "invalid_request_error", "prompt is too long: 213462 tokens > 200000 maximum", C.CONTEXT_TOO_LONG),
    (400, "invalid_request_error",
     ("input length and `max_tokens` exceed context limit: 197626 + 21333 > 200000, decrease input length "
      "or `max_tokens` and try again"), C.CONTEXT_TOO_LONG),
    (400, "invalid_request_error", "Your request exceeds the model's context window", C.CONTEXT_TOO_LONG),
    (400, "invalid_request_error", "This model does not support image inputs", C.UNSUPPORTED),
    (400, "invalid_request_error", "Tool use is not supported for this model", C.UNSUPPORTED),
    (401, "authentication_error", "invalid x-api-key", C.AUTHENTICATION),
    (402, "billing_error", "Your credit balance is too low", C.PAYMENT_REQUIRED),
    (403, "permission_error", "not allowed", C.PERMISSION),
    (404, "not_found_error", "Not found", C.NOT_FOUND),
    (404, "not_found_error", "model: claude-nonexistent", C.MODEL_NOT_FOUND),
    (408, "timeout_error", "timed out", C.TIMEOUT),
    (409, "api_error", "conflict", C.SERVER_ERROR),
    (413, "request_too_large", "Request exceeds the maximum allowed number of bytes.", C.REQUEST_TOO_LARGE),
    (429, "rate_limit_error", "Number of request tokens has exceeded your per-minute rate limit", C.RATE_LIMITED),
    (500, "api_error", "Internal server error", C.SERVER_ERROR),
    (503, "overloaded_error", "Overloaded", C.OVERLOADED),
    (504, "timeout_error", "Gateway timeout", C.SERVER_ERROR),
    (529, "overloaded_error", "Overloaded", C.OVERLOADED),
    (422, "invalid_request_error", "weird", C.INVALID_REQUEST),
])
def test_status_and_body(status: int, kind: str, message: str, category: C) -> None:
    e = parse_error(status, {}, err(kind, message))
    assert e.category is category
    assert e.message == f"anthropic: {message}"
    assert e.code == kind
    assert e.upstream_status == status
    assert e.body["error"]["type"] == kind
    assert e.body["request_id"] == "req_011CSHoEeqs5C35K2UUqR7Fy"


def test_retry_after() -> None:
    e = parse_error(429, {"retry-after": "17", "anthropic-ratelimit-requests-remaining": "0"},
                    err("rate_limit_error", "slow down"))
    assert e.retry_after == 17.0
    assert parse_error(529, {}, err("overloaded_error", "Overloaded")).retry_after is None


@pytest.mark.parametrize("status,category", [
    (413, C.REQUEST_TOO_LARGE), (502, C.SERVER_ERROR), (503, C.SERVER_ERROR), (400, C.INVALID_REQUEST),
])
def test_html_body_from_a_proxy(status: int, category: C) -> None:
    html = b"<html>\r\n<head><title>413 Request Entity Too Large</title></head>\r\n<body>cloudflare</body></html>"
    e = parse_error(status, {}, html)
    assert e.category is category
    assert e.message == f"anthropic: HTTP {status}"
    assert e.body is None
    assert e.code is None


def test_plain_text_body_is_quoted_and_empty_body_is_handled() -> None:
    assert parse_error(502, {}, b"upstream connect error").message == "anthropic: upstream connect error"
    e = parse_error(500, {}, b"")
    assert (e.category, e.message) == (C.SERVER_ERROR, "anthropic: HTTP 500")


def test_message_never_contains_request_headers() -> None:
    e = parse_error(401, {"x-api-key": "sk-ant-secret"}, err("authentication_error", "invalid x-api-key"))
    assert "sk-ant-secret" not in str(e) and "sk-ant-secret" not in repr(e.body)
