"""Errors in the shape ``@ai-sdk/gateway`` parses (``errors/create-gateway-error.ts``):

    {"error": {"message", "type", "param", "code"}, "generationId"?}

``type`` picks the client's error class: ``authentication_error`` (GatewayAuthenticationError),
``invalid_request_error``, ``rate_limit_exceeded``, ``model_not_found`` (``param: {modelId}``),
``not_found`` and ``forbidden`` (4.x; older clients treat them as internal errors, keeping the status),
and anything else ``internal_server_error``. The HTTP status is the error's own. Mid-stream errors are
the stream part ``{"type": "error", "error": {message, type, code?, statusCode, isRetryable}}``.
"""

from __future__ import annotations

from typing import Any

import msgspec

from switchyard.errors import AllAttemptsFailed, ErrorCategory, GatewayError

_TYPE: dict[ErrorCategory, str] = {
    ErrorCategory.INVALID_REQUEST: "invalid_request_error",
    ErrorCategory.REQUEST_TOO_LARGE: "invalid_request_error",
    ErrorCategory.CONTEXT_TOO_LONG: "invalid_request_error",
    ErrorCategory.UNSUPPORTED: "invalid_request_error",
    ErrorCategory.CONTENT_FILTERED: "invalid_request_error",
    ErrorCategory.AUTHENTICATION: "authentication_error",
    ErrorCategory.RATE_LIMITED: "rate_limit_exceeded",
    ErrorCategory.MODEL_NOT_FOUND: "model_not_found",
    ErrorCategory.NOT_FOUND: "not_found",
    ErrorCategory.PERMISSION: "forbidden",
}
_CODE: dict[ErrorCategory, str] = {
    ErrorCategory.CONTEXT_TOO_LONG: "context_length_exceeded",
    ErrorCategory.CONTENT_FILTERED: "content_filter",
    ErrorCategory.REQUEST_TOO_LARGE: "request_too_large",
    ErrorCategory.UNSUPPORTED: "unsupported",
}


def error_type(err: GatewayError) -> str:
    return _TYPE.get(err.category, "internal_server_error")


def error_object(err: GatewayError, model: str | None = None) -> dict[str, Any]:
    """The ``error`` member. A model that does not exist names itself in ``param.modelId``."""
    kind = error_type(err)
    param: Any = err.param
    if kind == "model_not_found":
        param = {"modelId": model or ""}
    obj: dict[str, Any] = {"message": err.message, "type": kind, "param": param,
                           "code": err.code or _CODE.get(err.category)}
    if isinstance(err, AllAttemptsFailed):
        obj["attempts"] = [a.to_wire() for a in err.attempts]
    return obj


def render_error(err: GatewayError, generation_id: str | None = None, model: str | None = None) -> bytes:
    body: dict[str, Any] = {"error": error_object(err, model)}
    if generation_id:
        body["generationId"] = generation_id
    return msgspec.json.encode(body)


def is_retryable(status: int) -> bool:
    """The client's own default (``errors/gateway-error.ts``)."""
    return status in (408, 409, 429) or status >= 500


def stream_error_part(err: GatewayError) -> dict[str, Any]:
    """The ``error`` stream part, read by ai 7's ``normalizeStreamProviderError`` (message, type, code,
    statusCode, isRetryable) and passed through as is by ai 5 and 6."""
    error: dict[str, Any] = {"message": err.message, "type": error_type(err), "statusCode": err.status,
                             "isRetryable": is_retryable(err.status)}
    code = err.code or _CODE.get(err.category)
    if code:
        error["code"] = code
    return {"type": "error", "error": error}
