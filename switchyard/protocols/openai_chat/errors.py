"""OpenAI-shaped errors: categorise a provider's error answer, and render ours for a caller.

OpenAI-compatible providers share the error object ``{"error": {"message", "type", "param", "code"}}``
but each words context overflows its own way; the patterns below cover OpenAI, Groq, Mistral, xAI,
DeepSeek, OpenRouter, vLLM and Together.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import msgspec

from switchyard.errors import AllAttemptsFailed, ErrorCategory, GatewayError, UpstreamError
from switchyard.providers.base import parse_retry_after

_CONTEXT = re.compile(
    r"context.length|maximum context|context window|reduce the length|too large for model|"
    r"maximum prompt length|prompt is too long|input token count|exceeds? (?:the )?(?:model'?s? )?"
    r"(?:max(?:imum)? )?(?:context|token limit)|too many tokens",
    re.IGNORECASE)
_UNSUPPORTED = re.compile(
    r"does not support (?:image|vision|tool|function|json|response_format)|"
    r"(?:image|tool|function)s? (?:input )?(?:is|are) not supported|image_url is only supported|"
    r"not a multimodal model|unsupported (?:content|parameter)",
    re.IGNORECASE)
_FILTER = re.compile(r"content (?:management )?policy|content_filter|safety system|flagged", re.IGNORECASE)

_BY_STATUS: dict[int, ErrorCategory] = {
    400: ErrorCategory.INVALID_REQUEST, 401: ErrorCategory.AUTHENTICATION, 402: ErrorCategory.PAYMENT_REQUIRED,
    403: ErrorCategory.PERMISSION, 404: ErrorCategory.NOT_FOUND, 408: ErrorCategory.TIMEOUT,
    409: ErrorCategory.SERVER_ERROR, 413: ErrorCategory.REQUEST_TOO_LARGE, 422: ErrorCategory.INVALID_REQUEST,
    429: ErrorCategory.RATE_LIMITED, 503: ErrorCategory.OVERLOADED, 529: ErrorCategory.OVERLOADED,
}


def classify(status: int, message: str, code: str | None) -> ErrorCategory:
    if code == "context_length_exceeded" or (status in (400, 413, 422) and _CONTEXT.search(message)):
        return ErrorCategory.CONTEXT_TOO_LONG
    if code == "insufficient_quota":
        return ErrorCategory.PAYMENT_REQUIRED
    if code == "rate_limit_exceeded":  # also sent inside streams, where there is no HTTP status
        return ErrorCategory.RATE_LIMITED
    if code == "content_filter" or code == "content_policy_violation" or (status == 400 and _FILTER.search(message)):
        return ErrorCategory.CONTENT_FILTERED
    if status in (400, 422) and _UNSUPPORTED.search(message):
        return ErrorCategory.UNSUPPORTED
    if status in _BY_STATUS:
        return _BY_STATUS[status]
    return ErrorCategory.SERVER_ERROR if status >= 500 else ErrorCategory.INVALID_REQUEST


def parse_error(slug: str, status: int, headers: Mapping[str, str], body: bytes) -> UpstreamError:
    parsed: Any = None
    message = ""
    code: str | None = None
    param: str | None = None
    try:
        parsed = msgspec.json.decode(body) if body else None
    except msgspec.DecodeError:
        parsed = None
    err = parsed.get("error") if isinstance(parsed, dict) else None
    if isinstance(err, dict):
        message = str(err.get("message") or "")
        code = err.get("code") if isinstance(err.get("code"), str) else None
        param = err.get("param") if isinstance(err.get("param"), str) else None
    elif isinstance(err, str):  # some compatibles send {"error": "text"}
        message = err
    elif isinstance(parsed, dict) and isinstance(parsed.get("message"), str):
        message = parsed["message"]
    if not message:
        message = body[:200].decode("utf-8", "replace").strip() or f"HTTP {status}"
    category = classify(status, message, code)
    return UpstreamError(category, f"{slug}: {message}", status=status, param=param, code=code,
                         retry_after=parse_retry_after(headers), body=parsed)


_TYPE = {
    ErrorCategory.INVALID_REQUEST: "invalid_request_error", ErrorCategory.AUTHENTICATION: "authentication_error",
    ErrorCategory.PERMISSION: "permission_error", ErrorCategory.NOT_FOUND: "invalid_request_error",
    ErrorCategory.MODEL_NOT_FOUND: "invalid_request_error", ErrorCategory.REQUEST_TOO_LARGE: "invalid_request_error",
    ErrorCategory.PAYMENT_REQUIRED: "insufficient_quota", ErrorCategory.RATE_LIMITED: "rate_limit_error",
    ErrorCategory.CONTEXT_TOO_LONG: "invalid_request_error", ErrorCategory.UNSUPPORTED: "invalid_request_error",
    ErrorCategory.CONTENT_FILTERED: "invalid_request_error",
}
_CODE = {
    ErrorCategory.MODEL_NOT_FOUND: "model_not_found", ErrorCategory.CONTEXT_TOO_LONG: "context_length_exceeded",
    ErrorCategory.RATE_LIMITED: "rate_limit_exceeded", ErrorCategory.REQUEST_TOO_LARGE: "request_too_large",
    ErrorCategory.CONTENT_FILTERED: "content_filter",
}


def error_object(err: GatewayError) -> dict[str, Any]:
    obj: dict[str, Any] = {
        "message": err.message,
        "type": _TYPE.get(err.category, "server_error"),
        "param": err.param,
        "code": err.code or _CODE.get(err.category),
    }
    if isinstance(err, AllAttemptsFailed):
        obj["attempts"] = [a.to_wire() for a in err.attempts]
    return obj


def render_error(err: GatewayError, generation_id: str | None = None) -> bytes:
    body: dict[str, Any] = {"error": error_object(err)}
    if generation_id:
        body["generationId"] = generation_id
    return msgspec.json.encode(body)
