"""What to do after an attempt failed: the router's only decision table."""

from __future__ import annotations

from enum import Enum

from switchyard.errors import ErrorCategory


class Next(Enum):
    PROVIDER = "next_provider"  # the same model elsewhere may work
    MODEL = "next_model"  # this model cannot do it anywhere; try the fallback models
    STOP = "stop"  # the caller's own request is at fault: return the error as is


_NEXT: dict[ErrorCategory, Next] = {
    ErrorCategory.CONNECT: Next.PROVIDER,
    ErrorCategory.TIMEOUT: Next.PROVIDER,
    ErrorCategory.RATE_LIMITED: Next.PROVIDER,
    ErrorCategory.OVERLOADED: Next.PROVIDER,
    ErrorCategory.SERVER_ERROR: Next.PROVIDER,
    ErrorCategory.BAD_RESPONSE: Next.PROVIDER,
    # Our credentials for that provider are wrong or out of credit: not the caller's fault.
    ErrorCategory.AUTHENTICATION: Next.PROVIDER,
    ErrorCategory.PERMISSION: Next.PROVIDER,
    ErrorCategory.PAYMENT_REQUIRED: Next.PROVIDER,
    ErrorCategory.NOT_FOUND: Next.PROVIDER,
    ErrorCategory.MODEL_NOT_FOUND: Next.PROVIDER,
    # Another provider of the same model may have a larger window; the executor drops the ones
    # that are no larger before moving on.
    ErrorCategory.CONTEXT_TOO_LONG: Next.PROVIDER,
    ErrorCategory.UNSUPPORTED: Next.MODEL,
    ErrorCategory.CONTENT_FILTERED: Next.MODEL,
    ErrorCategory.INVALID_REQUEST: Next.STOP,
    ErrorCategory.REQUEST_TOO_LARGE: Next.STOP,
}


def next_step(category: ErrorCategory) -> Next:
    return _NEXT.get(category, Next.PROVIDER)
