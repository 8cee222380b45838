"""The one error hierarchy of the gateway.

    GatewayError                 any error that ends up in front of a caller
    ├── RequestError             the caller's request is wrong (400, 404, 413, ...): never retried
    └── UpstreamError            a provider attempt failed; ``category`` decides the router's next move
        (connect errors and timeouts are UpstreamErrors with category CONNECT / TIMEOUT)
    AllAttemptsFailed            every planned attempt failed (502, or the last error's own status
                                 when it was the caller's fault)

Front doors render any GatewayError in their own wire shape from ``category``, ``status``,
``message``, ``param`` and ``code``. Messages never contain credentials: adapters build them from
the provider's error body, which never echoes our key, and from our own text.
"""

from __future__ import annotations

from enum import Enum
from typing import Any


class ErrorCategory(str, Enum):
    INVALID_REQUEST = "invalid_request"
    AUTHENTICATION = "authentication"
    PERMISSION = "permission"
    NOT_FOUND = "not_found"
    MODEL_NOT_FOUND = "model_not_found"
    REQUEST_TOO_LARGE = "request_too_large"
    PAYMENT_REQUIRED = "payment_required"
    RATE_LIMITED = "rate_limited"
    OVERLOADED = "overloaded"
    CONTEXT_TOO_LONG = "context_too_long"
    UNSUPPORTED = "unsupported"
    CONTENT_FILTERED = "content_filtered"
    TIMEOUT = "timeout"
    CONNECT = "connect"
    SERVER_ERROR = "server_error"
    BAD_RESPONSE = "bad_response"  # the provider answered something we could not read


# The status a caller sees for a category when the gateway itself raises it.
CATEGORY_STATUS: dict[ErrorCategory, int] = {
    ErrorCategory.INVALID_REQUEST: 400,
    ErrorCategory.AUTHENTICATION: 401,
    ErrorCategory.PERMISSION: 403,
    ErrorCategory.NOT_FOUND: 404,
    ErrorCategory.MODEL_NOT_FOUND: 404,
    ErrorCategory.REQUEST_TOO_LARGE: 413,
    ErrorCategory.PAYMENT_REQUIRED: 402,
    ErrorCategory.RATE_LIMITED: 429,
    ErrorCategory.OVERLOADED: 503,
    ErrorCategory.CONTEXT_TOO_LONG: 400,
    ErrorCategory.UNSUPPORTED: 400,
    ErrorCategory.CONTENT_FILTERED: 400,
    ErrorCategory.TIMEOUT: 504,
    ErrorCategory.CONNECT: 502,
    ErrorCategory.SERVER_ERROR: 502,
    ErrorCategory.BAD_RESPONSE: 502,
}


class GatewayError(Exception):
    def __init__(
        self,
        category: ErrorCategory,
        message: str,
        *,
        status: int | None = None,
        param: str | None = None,
        code: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.category = category
        self.message = message
        self.status = status if status is not None else CATEGORY_STATUS[category]
        self.param = param
        self.code = code
        self.retry_after = retry_after


class RequestError(GatewayError):
    """The caller sent something wrong. ``param`` names the offending field (``messages[1].role``)."""

    def __init__(self, message: str, *, param: str | None = None, status: int = 400,
                 category: ErrorCategory = ErrorCategory.INVALID_REQUEST, code: str | None = None) -> None:
        super().__init__(category, message, status=status, param=param, code=code)


class UpstreamError(GatewayError):
    """One provider attempt failed. ``status`` is the provider's HTTP status (0 when none arrived)."""

    def __init__(self, category: ErrorCategory, message: str, *, status: int = 0,
                 param: str | None = None, code: str | None = None,
                 retry_after: float | None = None, body: Any = None) -> None:
        super().__init__(category, message, status=status or CATEGORY_STATUS[category], param=param,
                         code=code, retry_after=retry_after)
        self.upstream_status = status
        self.body = body  # the provider's parsed error body, returned as-is for caller faults


class AllAttemptsFailed(GatewayError):
    def __init__(self, message: str, attempts: list[Any], last: GatewayError | None) -> None:
        # A caller fault (400 from the provider) keeps its status; anything else is a bad gateway.
        status = 502
        category = ErrorCategory.SERVER_ERROR
        if last is not None and last.category in (ErrorCategory.RATE_LIMITED,):
            status, category = 429, ErrorCategory.RATE_LIMITED
        super().__init__(category, message, status=status, code="all_attempts_failed",
                         retry_after=last.retry_after if last is not None else None)
        self.attempts = attempts
        self.last = last
