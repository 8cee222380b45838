"""Our errors in the Anthropic shape, for callers of ``/v1/messages``.

Body: ``{"type": "error", "error": {"type", "message"}, "request_id"}``, the type chosen from the
HTTP status as Anthropic documents it (400 invalid_request_error, 401 authentication_error, 402
billing_error, 403 permission_error, 404 not_found_error, 413 request_too_large, 429
rate_limit_error, 500 api_error, 529 overloaded_error; any other 4xx is an invalid_request_error and
any other 5xx, 502 and 503 included, an api_error). When every attempt failed because its provider
was overloaded, the answer is Anthropic's own 529 ``overloaded_error``, which Anthropic clients
(Claude Code included) treat as "retry later". After a stream started, the same object arrives as
``event: error``.
"""

from __future__ import annotations

import os
from typing import Any

import msgspec

from switchyard.errors import AllAttemptsFailed, ErrorCategory, GatewayError

_encode = msgspec.json.Encoder().encode

OVERLOADED_STATUS = 529

_TYPE_BY_STATUS = {
    400: "invalid_request_error", 401: "authentication_error", 402: "billing_error",
    403: "permission_error", 404: "not_found_error", 413: "request_too_large", 429: "rate_limit_error",
    500: "api_error", 529: "overloaded_error",
}


def new_request_id() -> str:
    return "req_" + os.urandom(12).hex()


def all_overloaded(err: GatewayError) -> bool:
    """Every attempt failed with the provider overloaded (Anthropic 529, 503 elsewhere)."""
    return isinstance(err, AllAttemptsFailed) and bool(err.attempts) \
        and all(getattr(a, "category", None) == ErrorCategory.OVERLOADED.value for a in err.attempts)


def status_of(err: GatewayError) -> int:
    """The status an Anthropic caller should see for ``err``."""
    return OVERLOADED_STATUS if all_overloaded(err) else err.status


def type_of(status: int) -> str:
    t = _TYPE_BY_STATUS.get(status)
    if t is not None:
        return t
    return "invalid_request_error" if 400 <= status < 500 else "api_error"


def error_object(err: GatewayError) -> dict[str, Any]:
    obj: dict[str, Any] = {"type": type_of(status_of(err)), "message": err.message}
    if isinstance(err, AllAttemptsFailed):
        obj["attempts"] = [a.to_wire() for a in err.attempts]
    return obj


def render_error(err: GatewayError, request_id: str | None) -> bytes:
    """``request_id`` is the generation id; an error before there is one gets a fresh id (the
    routes copy it into the ``request-id`` header)."""
    return _encode({"type": "error", "error": error_object(err), "request_id": request_id or new_request_id()})


def encode_stream_error(err: GatewayError, request_id: str | None) -> bytes:
    """The event that ends a stream that already started: ``overloaded_error`` when the provider
    was overloaded, otherwise ``api_error`` (the stream itself was fine until the provider failed)."""
    kind = "overloaded_error" if err.category is ErrorCategory.OVERLOADED else "api_error"
    body: dict[str, Any] = {"type": "error", "error": {"type": kind, "message": err.message}}
    if request_id:
        body["request_id"] = request_id
    return b"event: error\ndata: " + _encode(body) + b"\n\n"


def is_anthropic_error_body(body: Any) -> bool:
    return isinstance(body, dict) and body.get("type") == "error" and isinstance(body.get("error"), dict)
