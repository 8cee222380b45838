"""What ``QuotaService.admit`` returns (a Reservation, settled when its record is submitted) or
raises (QuotaExceeded: 429 rate limited, 402 budget exceeded, 503 quota store unavailable), and the
``x-ratelimit-*`` headers both carry."""

from __future__ import annotations

import math
from typing import Any

from switchyard.errors import ErrorCategory, GatewayError


def duration(seconds: float) -> str:
    """OpenAI's reset format: ``20ms``, ``1.5s``, ``6m0s``."""
    seconds = max(0.0, seconds)
    if seconds < 1:
        return f"{math.ceil(seconds * 1000)}ms"
    if seconds < 60:
        return f"{round(seconds, 3):g}s"
    m, s = divmod(seconds, 60)
    return f"{int(m)}m{round(s, 3):g}s"


def rate_headers(scopes: list[Any], now: float) -> list[tuple[str, str]]:
    """The tightest key/project limit of each kind: limit, remaining and time to a full bucket."""
    out: list[tuple[str, str]] = []
    for kind in ("requests", "tokens"):
        best: tuple[float, int, float] | None = None
        for s in scopes:
            view = s.rate_view(kind, now)
            if view is not None and (best is None or view[0] < best[0]):
                best = (view[0], view[1], view[2])
        if best is not None:
            remaining, limit, reset = best
            out += [(f"x-ratelimit-limit-{kind}", str(limit)),
                    (f"x-ratelimit-remaining-{kind}", str(max(0, int(remaining)))),
                    (f"x-ratelimit-reset-{kind}", duration(reset))]
    return out


class QuotaExceeded(GatewayError):
    """A limit refused the request. ``headers`` (rate-limit headers and retry-after) belong on the answer."""

    def __init__(self, category: ErrorCategory, message: str, code: str, retry_after: float | None,
                 headers: list[tuple[str, str]]) -> None:
        super().__init__(category, message, code=code, retry_after=retry_after)
        self.headers = list(headers)
        if retry_after is not None:
            self.headers.append(("retry-after", str(max(1, math.ceil(retry_after)))))


class Reservation:
    """One admitted request's hold on its key's and project's quotas."""

    __slots__ = ("_headers", "_service", "created", "est_tokens", "est_usd", "id", "parts", "settled")

    def __init__(self, rid: int, est_usd: float, est_tokens: int, parts: list[tuple[Any, int, bool]],
                 headers: list[tuple[str, str]] | None, created: float, service: Any = None) -> None:
        self.id = rid
        self.est_usd = est_usd
        self.est_tokens = est_tokens
        self.parts = parts  # (scope state, tokens held against tpm, whether a USD hold was taken)
        self.settled = False
        self.created = created
        self._headers = headers
        self._service = service

    def headers(self) -> list[tuple[str, str]]:
        """``x-ratelimit-{limit,remaining,reset}-{requests,tokens}`` of the tightest of the key's and
        the project's limits, as of the first call (computed then: free when nobody asks)."""
        if self._headers is None:
            self._headers = rate_headers([p[0] for p in self.parts], self._service.clock())
        return self._headers

    def release(self) -> None:
        """The request never ran (the app failed before the executor): give everything back."""
        if self._service is not None:
            self._service.settle(self, 0.0, 0)

    def __repr__(self) -> str:
        return f"Reservation(id={self.id}, est_usd={self.est_usd:.6g}, est_tokens={self.est_tokens})"


EMPTY_HEADERS: list[tuple[str, str]] = []
