"""Anthropic error answers -> categorised UpstreamError.

Anthropic's body is ``{"type": "error", "error": {"type", "message"}, "request_id"}``; the same
``error`` object arrives mid-stream as ``event: error``. Some answers are not Anthropic's at all
(Cloudflare's HTML 413/502 pages), so the status decides first and the body only refines it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import msgspec

from switchyard.errors import ErrorCategory as C
from switchyard.errors import UpstreamError
from switchyard.providers.base import parse_retry_after

_STATUS: dict[int, C] = {
    400: C.INVALID_REQUEST,
    401: C.AUTHENTICATION,
    402: C.PAYMENT_REQUIRED,
    403: C.PERMISSION,
    404: C.NOT_FOUND,
    408: C.TIMEOUT,
    409: C.SERVER_ERROR,  # a conflict on Anthropic's side: retrying is safe
    413: C.REQUEST_TOO_LARGE,
    429: C.RATE_LIMITED,
    500: C.SERVER_ERROR,
    529: C.OVERLOADED,
}

# For answers without a status we know (stream errors, odd codes): the error type decides.
_TYPE: dict[str, C] = {
    "invalid_request_error": C.INVALID_REQUEST,
    "authentication_error": C.AUTHENTICATION,
    "billing_error": C.PAYMENT_REQUIRED,
    "permission_error": C.PERMISSION,
    "not_found_error": C.NOT_FOUND,
    "request_too_large": C.REQUEST_TOO_LARGE,
    "rate_limit_error": C.RATE_LIMITED,
    "timeout_error": C.TIMEOUT,
    "api_error": C.SERVER_ERROR,
    "overloaded_error": C.OVERLOADED,
}

_CONTEXT_SIGNS = ("prompt is too long", "exceed context limit", "context window", "context length")
_UNSUPPORTED_SIGNS = ("not supported", "does not support", "unsupported")
_UNSUPPORTED_TOPICS = ("image", "tool", "pdf", "document")


class _Err(msgspec.Struct):
    type: str | None = None
    message: str | None = None


class _Body(msgspec.Struct):
    error: _Err | None = None


_decode_body = msgspec.json.Decoder(_Body).decode


def parse_error(status: int, headers: Mapping[str, str], body: bytes) -> UpstreamError:
    err_type: str | None = None
    message = ""
    parsed: Any = None
    try:
        wire = _decode_body(body)
        if wire.error is not None:
            err_type = wire.error.type
            message = wire.error.message or err_type or f"HTTP {status}"
            parsed = msgspec.json.decode(body)
    except (msgspec.DecodeError, msgspec.ValidationError):
        pass
    if parsed is None:
        message = _snippet(body) or f"HTTP {status}"
    return error_from_wire(status, err_type, message, parsed, parse_retry_after(headers))


def error_from_wire(status: int, err_type: str | None, message: str, body: Any,
                    retry_after: float | None = None) -> UpstreamError:
    """``status`` 0 means none (an error event inside a stream): the error type decides."""
    category = _STATUS.get(status)
    if category is None:
        by_type = _TYPE.get(err_type or "")
        if status >= 500:  # 502/503/504, often from a proxy in front of Anthropic
            category = C.OVERLOADED if by_type is C.OVERLOADED else C.SERVER_ERROR
        else:
            category = by_type or (C.SERVER_ERROR if status == 0 else C.INVALID_REQUEST)
    lowered = message.lower()
    if category is C.INVALID_REQUEST:
        if any(s in lowered for s in _CONTEXT_SIGNS):
            category = C.CONTEXT_TOO_LONG
        elif any(s in lowered for s in _UNSUPPORTED_SIGNS) and any(t in lowered for t in _UNSUPPORTED_TOPICS):
            category = C.UNSUPPORTED
    elif category is C.NOT_FOUND and lowered.startswith("model:"):
        category = C.MODEL_NOT_FOUND  # Anthropic's 404 for an unknown model reads "model: <id>"
    return UpstreamError(category, f"anthropic: {message}", status=status, code=err_type,
                         retry_after=retry_after, body=body)


def _snippet(body: bytes) -> str:
    # A short plain-text body is worth showing; an HTML error page is not.
    text = body[:300].decode("utf-8", "replace").strip()
    if not text or text.startswith("<") or len(body) > 300:
        return ""
    return text
