"""Bedrock runtime errors -> categorised UpstreamError.

An HTTP error names its type in the ``x-amzn-ErrorType`` header
(``ThrottlingException:http://internal.amazon.com/coral/com.amazon.bedrock/``) and/or the body's
``__type`` (``com.amazon.coral.service#UnrecognizedClientException``); the body carries
``{"message": ...}`` (``Message`` from some front ends). Inside a ConverseStream the same types arrive
as ``exception`` messages with a lower-camel ``:exception-type`` (``throttlingException``). Types
are matched case-insensitively, so one table serves both.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import msgspec

from switchyard.errors import ErrorCategory as C
from switchyard.errors import UpstreamError
from switchyard.providers.base import parse_retry_after

_TYPES: dict[str, C] = {
    "validationexception": C.INVALID_REQUEST,
    "serializationexception": C.INVALID_REQUEST,
    "accessdeniedexception": C.PERMISSION,
    "unrecognizedclientexception": C.AUTHENTICATION,
    "invalidsignatureexception": C.AUTHENTICATION,
    "incompletesignatureexception": C.AUTHENTICATION,
    "missingauthenticationtokenexception": C.AUTHENTICATION,
    "expiredtokenexception": C.AUTHENTICATION,
    "resourcenotfoundexception": C.NOT_FOUND,
    "modeltimeoutexception": C.TIMEOUT,
    "throttlingexception": C.RATE_LIMITED,
    "modelnotreadyexception": C.RATE_LIMITED,
    "servicequotaexceededexception": C.RATE_LIMITED,
    "modelerrorexception": C.SERVER_ERROR,
    "modelstreamerrorexception": C.SERVER_ERROR,
    "internalserverexception": C.SERVER_ERROR,
    "internalfailure": C.SERVER_ERROR,
    "serviceunavailableexception": C.OVERLOADED,
}

_STATUS: dict[int, C] = {
    400: C.INVALID_REQUEST, 401: C.AUTHENTICATION, 403: C.PERMISSION, 404: C.NOT_FOUND, 408: C.TIMEOUT,
    413: C.REQUEST_TOO_LARGE, 424: C.SERVER_ERROR, 429: C.RATE_LIMITED, 500: C.SERVER_ERROR,
    503: C.OVERLOADED,
}

_CONTEXT = re.compile(
    r"input is too long|too many input tokens|prompt is too long|context window|context length|"
    r"maximum context|exceeds? the maximum (?:number of )?(?:input )?tokens|input token count",
    re.IGNORECASE)
_UNSUPPORTED = re.compile(r"doesn'?t support|does not support|(?:is|are)(?: not|n'?t) supported|unsupported",
                          re.IGNORECASE)
# "Invocation of model ID ... with on-demand throughput isn't supported. Retry your request with the
# ID or ARN of an inference profile": the configured model id is wrong, not the caller's request.
_NEEDS_PROFILE = re.compile(r"on-demand throughput", re.IGNORECASE)


def classify(err_type: str | None, status: int, message: str) -> C:
    """``status`` 0 means none (an exception inside a stream)."""
    category = _TYPES.get((err_type or "").lower())
    if category is None:
        category = _STATUS.get(status)
    if category is None:
        category = C.SERVER_ERROR if status >= 500 or status == 0 else C.INVALID_REQUEST
    if category is C.INVALID_REQUEST:
        if _NEEDS_PROFILE.search(message):
            return C.MODEL_NOT_FOUND
        if _CONTEXT.search(message):
            return C.CONTEXT_TOO_LONG
        if _UNSUPPORTED.search(message):
            return C.UNSUPPORTED
    return category


def _clean(message: str, err_type: str | None) -> str:
    # InvalidSignatureException messages go on with the canonical request AWS expected, which
    # holds our x-amz-security-token: keep only the first paragraph.
    if (err_type or "").lower() in ("invalidsignatureexception", "incompletesignatureexception"):
        message = message.split("\n\n", 1)[0]
    return message.strip()


def error_type(headers: Mapping[str, str], body: Any) -> str | None:
    raw = headers.get("x-amzn-ErrorType") or headers.get("x-amzn-errortype")
    if not raw and isinstance(body, dict):
        raw = body.get("__type") or body.get("code")
    if not isinstance(raw, str) or not raw:
        return None
    return raw.split(":", 1)[0].rsplit("#", 1)[-1].strip() or None


def parse_error(slug: str, status: int, headers: Mapping[str, str], body: bytes) -> UpstreamError:
    parsed: Any = None
    try:
        parsed = msgspec.json.decode(body) if body else None
    except msgspec.DecodeError:
        parsed = None
    message = ""
    if isinstance(parsed, dict):
        raw = parsed.get("message") or parsed.get("Message")
        message = raw if isinstance(raw, str) else ""
    else:
        parsed = None
    err_type = error_type(headers, parsed)
    if not message:
        # A short plain-text body is worth showing; JSON without a message or an HTML page is not.
        text = "" if parsed is not None else body[:300].decode("utf-8", "replace").strip()
        message = text if text and not text.startswith("<") else (err_type or f"HTTP {status}")
    message = _clean(message, err_type)
    return UpstreamError(classify(err_type, status, message), f"{slug}: {message}", status=status,
                         code=err_type, retry_after=parse_retry_after(headers),
                         body={"message": message, "type": err_type} if parsed is not None else None)


def stream_exception(slug: str, exc_type: str | None, payload: bytes) -> UpstreamError:
    """An ``exception`` (or ``error``) message inside an event stream."""
    message = ""
    try:
        data = msgspec.json.decode(payload) if payload else None
    except msgspec.DecodeError:
        data = None
    if isinstance(data, dict):
        message = str(data.get("message") or data.get("Message") or "")
    message = _clean(message or payload[:300].decode("utf-8", "replace") or exc_type or "stream error", exc_type)
    return UpstreamError(classify(exc_type, 0, message), f"{slug}: {message}", code=exc_type,
                         body={"message": message, "type": exc_type})
