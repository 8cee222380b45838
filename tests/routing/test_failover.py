"""The failover decision table: every error category leads somewhere deliberate."""

from __future__ import annotations

import pytest

from switchyard.errors import ErrorCategory
from switchyard.routing.failover import Next, next_step

TABLE = {
    # transient or provider-side: the same model elsewhere may work
    ErrorCategory.CONNECT: Next.PROVIDER,
    ErrorCategory.TIMEOUT: Next.PROVIDER,
    ErrorCategory.RATE_LIMITED: Next.PROVIDER,
    ErrorCategory.OVERLOADED: Next.PROVIDER,
    ErrorCategory.SERVER_ERROR: Next.PROVIDER,
    ErrorCategory.BAD_RESPONSE: Next.PROVIDER,
    # our credentials or that provider's catalog: not the caller's fault
    ErrorCategory.AUTHENTICATION: Next.PROVIDER,
    ErrorCategory.PERMISSION: Next.PROVIDER,
    ErrorCategory.PAYMENT_REQUIRED: Next.PROVIDER,
    ErrorCategory.NOT_FOUND: Next.PROVIDER,
    ErrorCategory.MODEL_NOT_FOUND: Next.PROVIDER,
    # another provider may have a larger window
    ErrorCategory.CONTEXT_TOO_LONG: Next.PROVIDER,
    # the model cannot do it anywhere: go to the fallback models
    ErrorCategory.UNSUPPORTED: Next.MODEL,
    ErrorCategory.CONTENT_FILTERED: Next.MODEL,
    # the caller's own request is wrong: stop
    ErrorCategory.INVALID_REQUEST: Next.STOP,
    ErrorCategory.REQUEST_TOO_LARGE: Next.STOP,
}


def test_table_covers_every_category() -> None:
    assert set(TABLE) == set(ErrorCategory)


@pytest.mark.parametrize("category,step", list(TABLE.items()), ids=[c.value for c in TABLE])
def test_next_step(category: ErrorCategory, step: Next) -> None:
    assert next_step(category) is step


def test_only_caller_faults_stop() -> None:
    stops = {c for c in ErrorCategory if next_step(c) is Next.STOP}
    assert stops == {ErrorCategory.INVALID_REQUEST, ErrorCategory.REQUEST_TOO_LARGE}
