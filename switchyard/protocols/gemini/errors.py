"""Google API error answers -> categorised UpstreamError (Gemini API and Vertex AI alike).

Google's body is ``{"error": {"code": 429, "message", "status": "RESOURCE_EXHAUSTED", "details": [...]}}``
(a JSON array holding that object on some stream endpoints). ``status`` is the canonical gRPC code
name and decides first; the HTTP status backs it up for bodies that are not Google's (a proxy's HTML
page). Retry hints travel in ``details`` as ``google.rpc.RetryInfo`` (``"retryDelay": "17s"``).
Messages never contain our key: the Gemini API does not echo it, and we never put it in a URL.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import msgspec

from switchyard.errors import ErrorCategory as C
from switchyard.errors import UpstreamError
from switchyard.providers.base import parse_retry_after

_BY_STATUS_NAME: dict[str, C] = {
    "INVALID_ARGUMENT": C.INVALID_REQUEST,
    "FAILED_PRECONDITION": C.INVALID_REQUEST,
    "OUT_OF_RANGE": C.INVALID_REQUEST,
    "UNAUTHENTICATED": C.AUTHENTICATION,
    "PERMISSION_DENIED": C.PERMISSION,
    "NOT_FOUND": C.NOT_FOUND,
    "RESOURCE_EXHAUSTED": C.RATE_LIMITED,
    "ABORTED": C.SERVER_ERROR,
    "CANCELLED": C.SERVER_ERROR,
    "INTERNAL": C.SERVER_ERROR,
    "UNKNOWN": C.SERVER_ERROR,
    "DATA_LOSS": C.SERVER_ERROR,
    "UNIMPLEMENTED": C.NOT_FOUND,
    "UNAVAILABLE": C.OVERLOADED,
    "DEADLINE_EXCEEDED": C.TIMEOUT,
}

_BY_HTTP: dict[int, C] = {
    400: C.INVALID_REQUEST, 401: C.AUTHENTICATION, 402: C.PAYMENT_REQUIRED, 403: C.PERMISSION,
    404: C.NOT_FOUND, 408: C.TIMEOUT, 409: C.SERVER_ERROR, 413: C.REQUEST_TOO_LARGE, 429: C.RATE_LIMITED,
    499: C.SERVER_ERROR, 500: C.SERVER_ERROR, 503: C.OVERLOADED, 504: C.TIMEOUT, 529: C.OVERLOADED,
}

# "The input token count (1048577) exceeds the maximum number of tokens allowed (1048576)."
_CONTEXT_SIGNS = ("input token count", "exceeds the maximum number of tokens", "context window",
                  "too many tokens", "prompt is too long")
_UNSUPPORTED_SIGNS = ("not supported", "does not support", "is not enabled", "unsupported")
_UNSUPPORTED_TOPICS = ("image", "function calling", "tool", "mime type", "multimodal", "json mode")
_LOCATION_SIGN = "location is not supported"  # the Gemini API's region block: 400 FAILED_PRECONDITION


def parse_google_error(slug: str, status: int, headers: Mapping[str, str], body: bytes) -> UpstreamError:
    """A non-2xx answer from a Google API."""
    parsed: Any = None
    try:
        parsed = msgspec.json.decode(body) if body else None
    except msgspec.DecodeError:
        parsed = None
    err = _error_object(parsed)
    if err is None:
        category = _BY_HTTP.get(status) or (C.SERVER_ERROR if status >= 500 else C.INVALID_REQUEST)
        message = _snippet(body) or f"HTTP {status}"
        return UpstreamError(category, f"{slug}: {message}", status=status,
                             retry_after=parse_retry_after(headers), body=parsed)
    return error_from_object(slug, status, err, parsed, parse_retry_after(headers))


def error_from_object(slug: str, status: int, err: Mapping[str, Any], body: Any,
                      retry_after: float | None = None) -> UpstreamError:
    """``err`` is Google's ``error`` object; ``status`` 0 means none (an error inside a stream)."""
    code_name = err.get("status") if isinstance(err.get("status"), str) else None
    if not status and isinstance(err.get("code"), int):
        status = err["code"]
    message = str(err.get("message") or code_name or f"HTTP {status}")
    category = _BY_STATUS_NAME.get(code_name or "") or _BY_HTTP.get(status)
    if category is None:
        category = C.SERVER_ERROR if status >= 500 or status == 0 else C.INVALID_REQUEST
    raw_details = err.get("details")
    details: list[Any] = raw_details if isinstance(raw_details, list) else []
    lowered = message.lower()
    if category is C.INVALID_REQUEST:
        if _reason(details) == "API_KEY_INVALID" or "api key not valid" in lowered:
            category = C.AUTHENTICATION  # the Gemini API answers a bad key with 400 INVALID_ARGUMENT
        elif _LOCATION_SIGN in lowered:
            category = C.PERMISSION  # this provider cannot serve us from here; another may
        elif any(s in lowered for s in _CONTEXT_SIGNS):
            category = C.CONTEXT_TOO_LONG
        elif any(s in lowered for s in _UNSUPPORTED_SIGNS) and any(t in lowered for t in _UNSUPPORTED_TOPICS):
            category = C.UNSUPPORTED
    elif category is C.NOT_FOUND and "model" in lowered:
        category = C.MODEL_NOT_FOUND
    delay = _retry_delay(details)
    return UpstreamError(category, f"{slug}: {message}", status=status, code=code_name,
                         retry_after=delay if delay is not None else retry_after, body=body)


def _error_object(parsed: Any) -> dict[str, Any] | None:
    if isinstance(parsed, list) and parsed:  # streamGenerateContent without alt=sse answers an array
        parsed = parsed[0]
    err = parsed.get("error") if isinstance(parsed, dict) else None
    return err if isinstance(err, dict) else None


def _reason(details: list[Any]) -> str | None:
    for d in details:
        if isinstance(d, dict) and str(d.get("@type", "")).endswith("google.rpc.ErrorInfo"):
            reason = d.get("reason")
            return reason if isinstance(reason, str) else None
    return None


def _retry_delay(details: list[Any]) -> float | None:
    """``google.rpc.RetryInfo.retryDelay``: a protobuf Duration in JSON, ``"17s"`` or ``"0.5s"``."""
    for d in details:
        if isinstance(d, dict) and str(d.get("@type", "")).endswith("google.rpc.RetryInfo"):
            delay = d.get("retryDelay")
            if isinstance(delay, str) and delay.endswith("s"):
                try:
                    return max(0.0, float(delay[:-1]))
                except ValueError:
                    return None
    return None


def _snippet(body: bytes) -> str:
    text = body[:300].decode("utf-8", "replace").strip()
    if not text or text.startswith("<") or len(body) > 300:
        return ""
    return text
