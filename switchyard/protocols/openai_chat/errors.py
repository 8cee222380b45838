"""OpenAI-shaped errors: categorise a provider's error answer, and render ours for a caller.

OpenAI-compatible providers share the error object ``{"error": {"message", "type", "param", "code"}}``
but each words context overflows its own way; the patterns below cover OpenAI, Groq, Mistral, xAI,
DeepSeek, OpenRouter, vLLM and Together. Other shapes understood:

- Mistral (https://docs.mistral.ai/resources/error-glossary): ``{"object": "error", "message", "type",
  "param", "code"}`` at the top level; its 422 validation errors carry pydantic's
  ``detail: [{"loc", "msg", "type"}]``, as ``detail``, inside ``message`` (an object, or that object
  as JSON text) or both (mistralai/platform-docs-public#7, langchainjs#5144, php-mistral#76).
  ``extra_forbidden`` (a parameter Mistral does not have) is UNSUPPORTED.
- OpenRouter (https://openrouter.ai/docs/api-reference/errors): ``{"error": {"code": <HTTP status>,
  "message", "metadata"}}``; ``metadata.provider_name``/``raw`` name the upstream failure, and a 403
  whose metadata has ``reasons``/``flagged_input`` is its moderation (CONTENT_FILTERED).
- DeepSeek (https://api-docs.deepseek.com/quick_start/error_codes): 402 insufficient balance
  (PAYMENT_REQUIRED), 422 invalid parameters (INVALID_REQUEST), by status.
- Groq: 413 "Request too large ... on tokens per minute (TPM)" with ``code: rate_limit_exceeded`` is a
  rate limit, not a context overflow (HunorLaczko/ha-groq-cloud-api#27, gpt-researcher#985).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import msgspec

from switchyard.errors import (
    AllAttemptsFailed,
    ErrorCategory,
    GatewayError,
    UpstreamError,
)
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
    # Before the context patterns: Groq's per-minute token limit says "Request too large for model".
    if code == "rate_limit_exceeded":  # also sent inside streams, where there is no HTTP status
        return ErrorCategory.RATE_LIMITED
    if code == "context_length_exceeded" or (status in (400, 413, 422) and _CONTEXT.search(message)):
        return ErrorCategory.CONTEXT_TOO_LONG
    if code == "insufficient_quota":
        return ErrorCategory.PAYMENT_REQUIRED
    if code == "content_filter" or code == "content_policy_violation" or (status == 400 and _FILTER.search(message)):
        return ErrorCategory.CONTENT_FILTERED
    if status in (400, 422) and _UNSUPPORTED.search(message):
        return ErrorCategory.UNSUPPORTED
    if status in _BY_STATUS:
        return _BY_STATUS[status]
    return ErrorCategory.SERVER_ERROR if status >= 500 else ErrorCategory.INVALID_REQUEST


def _validation_detail(detail: Any) -> tuple[str, str | None, bool] | None:
    """Pydantic's ``[{"loc": ["body", "stream_options"], "msg", "type"}]`` (Mistral, FastAPI servers):
    a message, the first offending parameter, and whether every item is an unknown parameter."""
    if not isinstance(detail, list) or not detail or not all(isinstance(d, dict) for d in detail):
        return None
    parts, params = [], []
    for d in detail:
        loc = [str(x) for x in d.get("loc") or () if x != "body"]
        params.append(".".join(loc) or None)
        parts.append(f"{'.'.join(loc)}: {d.get('msg')}" if loc else str(d.get("msg")))
    return "; ".join(parts), params[0], all(d.get("type") == "extra_forbidden" for d in detail)


def _top_level(parsed: dict[str, Any]) -> tuple[str, str | None, str | None, bool]:
    """Mistral's and vLLM's ``{"object": "error", "message", "type", "param", "code"}``, whose
    ``message`` may be the validation detail (as an object or as its JSON text)."""
    message, detail = parsed.get("message"), parsed.get("detail")
    if isinstance(message, str) and message.startswith("{"):
        try:
            message = msgspec.json.decode(message)
        except msgspec.DecodeError:
            pass
    if isinstance(message, dict):
        detail, message = message.get("detail", detail), None
    elif isinstance(message, list):
        detail, message = message, None
    code = parsed.get("code") if isinstance(parsed.get("code"), str) else None
    param = parsed.get("param") if isinstance(parsed.get("param"), str) else None
    found = _validation_detail(detail)
    if found is not None:
        text, param, extra = found
        return text, param, code, extra
    return (message if isinstance(message, str) else ""), param, code, False


def parse_error(slug: str, status: int, headers: Mapping[str, str], body: bytes) -> UpstreamError:
    parsed: Any = None
    message = ""
    code: str | None = None
    param: str | None = None
    extra_param = False
    category: ErrorCategory | None = None
    try:
        parsed = msgspec.json.decode(body) if body else None
    except msgspec.DecodeError:
        parsed = None
    err = parsed.get("error") if isinstance(parsed, dict) else None
    if isinstance(err, dict):
        message = str(err.get("message") or "")
        code = err.get("code") if isinstance(err.get("code"), str) else None
        param = err.get("param") if isinstance(err.get("param"), str) else None
        meta = err.get("metadata")
        if isinstance(meta, dict):  # OpenRouter
            if status == 403 and ("flagged_input" in meta or "reasons" in meta):
                category = ErrorCategory.CONTENT_FILTERED
                reasons = meta.get("reasons")
                if isinstance(reasons, list) and reasons:
                    message += f" ({', '.join(map(str, reasons))})"
            elif isinstance(meta.get("provider_name"), str):
                raw = meta.get("raw")
                raw_text = raw if isinstance(raw, str) else msgspec.json.encode(raw).decode() if raw else ""
                message += f" ({meta['provider_name']}{': ' + raw_text[:200] if raw_text else ''})"
    elif isinstance(err, str):  # some compatibles send {"error": "text"}
        message = err
    elif isinstance(parsed, dict):
        message, param, code, extra_param = _top_level(parsed)
    if not message:
        message = body[:200].decode("utf-8", "replace").strip() or f"HTTP {status}"
    if category is None:
        category = ErrorCategory.UNSUPPORTED if extra_param and status in (400, 422) \
            else classify(status, message, code)
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
