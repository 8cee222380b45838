"""The record of one generation: every attempt, who served it, timings, tokens and cost.

Built by the executor as a request runs and rendered by front doors into headers, the response body
(``provider_metadata.gateway``) or the final stream chunk. Times are wall-clock milliseconds since
the epoch for attempts (as the AI SDK gateway reports them) and monotonic durations otherwise.
"""

from __future__ import annotations

import os
import random
import time
from typing import Any

import msgspec

from switchyard.canonical import Usage
from switchyard.catalog import format_usd

_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_rng = random.Random(os.urandom(16))
_bits = _rng.getrandbits
# Worker processes are forked: each must draw its own sequence, or two could mint the same id.
os.register_at_fork(after_in_child=lambda: _rng.seed(os.urandom(16)))
# Every 10-bit value as its two Crockford characters: a ULID is 13 table lookups.
_PAIRS = [a + b for a in _CROCKFORD for b in _CROCKFORD]


_ms_prefix = [-1, ""]  # the last millisecond seen and its "gen_" + 10 characters


def new_generation_id() -> str:
    """``gen_`` + a ULID: 48 bits of milliseconds then 80 random bits, Crockford base32, sortable."""
    # Identifiers, not secrets (lookups are scoped to the caller's key): no syscall for randomness.
    # The time part is encoded once per millisecond; the random part is 8 table lookups.
    ms = int(time.time() * 1000)
    p = _PAIRS
    if ms != _ms_prefix[0]:
        _ms_prefix[1] = "gen_" + "".join([p[(ms >> s) & 1023] for s in (40, 30, 20, 10, 0)])
        _ms_prefix[0] = ms
    r = _bits(80)
    return (f"{_ms_prefix[1]}{p[r >> 70]}{p[(r >> 60) & 1023]}{p[(r >> 50) & 1023]}{p[(r >> 40) & 1023]}"
            f"{p[(r >> 30) & 1023]}{p[(r >> 20) & 1023]}{p[(r >> 10) & 1023]}{p[r & 1023]}")


class Attempt(msgspec.Struct):
    provider: str
    model: str  # catalog id
    provider_model_id: str
    start_ms: float
    end_ms: float = 0.0
    success: bool = False
    status: int | None = None  # the provider's HTTP status, None when no answer arrived
    error: str | None = None
    category: str | None = None
    credential: str = "system"  # "byok" when the caller's own provider key was used

    def to_wire(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "provider": self.provider, "model": self.model, "providerApiModelId": self.provider_model_id,
            "internalModelId": f"{self.provider}:{self.provider_model_id}", "credentialType": self.credential,
            "success": self.success, "startTime": round(self.start_ms), "endTime": round(self.end_ms),
        }
        if self.status is not None:
            out["statusCode"] = self.status
        if self.error is not None:
            out["error"] = self.error
            out["errorCategory"] = self.category
        return out


class GenerationRecord:
    __slots__ = ("id", "requested_model", "model", "provider", "provider_model_id", "attempts", "skipped",
                 "fallbacks_available", "started", "first_token_at", "ended", "usage", "cost", "stream",
                 "finish_reason", "status", "error", "principal", "reservation", "user", "tags", "created_at",
                 "kind")

    def __init__(self, requested_model: str, stream: bool) -> None:
        self.id = new_generation_id()
        self.requested_model = requested_model
        self.model: str | None = None  # catalog id that served (differs after a model fallback)
        self.provider: str | None = None
        self.provider_model_id: str | None = None
        self.attempts: list[Attempt] = []
        self.skipped: list[dict[str, Any]] = []
        self.fallbacks_available: list[str] = []
        self.started = time.monotonic()
        self.first_token_at: float | None = None
        self.ended: float | None = None
        self.usage: Usage | None = None
        self.cost: float | None = None
        self.stream = stream
        self.finish_reason: str | None = None
        self.status = 0
        self.error: str | None = None
        self.created_at = time.time()
        self.kind = "language"
        # Set by the app before the executor runs: who called (accounts.Principal), the quota
        # reservation to settle when the record is submitted, and the caller's attribution.
        self.principal: Any = None
        self.reservation: Any = None
        self.user: str | None = None
        self.tags: list[str] = []

    @property
    def latency_ms(self) -> float:
        end = self.ended if self.ended is not None else time.monotonic()
        return (end - self.started) * 1000

    @property
    def ttft_ms(self) -> float | None:
        return None if self.first_token_at is None else (self.first_token_at - self.started) * 1000

    def usage_wire(self) -> dict[str, int]:
        u = self.usage or Usage()
        return {"input": u.input_tokens, "output": u.output_tokens, "cached": u.cache_read_tokens,
                "cacheWrite": u.cache_write_tokens, "reasoning": u.reasoning_tokens}

    def gateway_metadata(self) -> dict[str, Any]:
        """``provider_metadata.gateway``, in the shape the Vercel AI Gateway documents."""
        attempts = [a.to_wire() for a in self.attempts]
        if len(attempts) == 1:  # the common case, without the grouping
            a = attempts[0]
            model_attempts = [{"modelId": a["model"], "success": a["success"], "providerAttemptCount": 1,
                               "providerAttempts": attempts}]
        else:
            by_model: dict[str, list[dict[str, Any]]] = {}
            for a in attempts:
                by_model.setdefault(a["model"], []).append(a)
            model_attempts = [{"modelId": m, "success": any(a["success"] for a in lst),
                               "providerAttemptCount": len(lst), "providerAttempts": lst}
                              for m, lst in by_model.items()]
        cost = format_usd(self.cost or 0.0)
        routing: dict[str, Any] = {
            "originalModelId": self.requested_model,
            "resolvedProvider": self.provider,
            "resolvedProviderApiModelId": self.provider_model_id,
            "finalProvider": self.provider,
            "canonicalSlug": self.model or self.requested_model,
            "fallbacksAvailable": self.fallbacks_available,
            "attempts": attempts,
            "modelAttemptCount": len(model_attempts),
            "modelAttempts": model_attempts,
            "totalProviderAttemptCount": len(attempts),
        }
        if self.skipped:
            routing["skipped"] = self.skipped
        out: dict[str, Any] = {
            "routing": routing, "cost": cost, "marketCost": cost, "generationId": self.id,
            "usage": self.usage_wire(), "latencyMs": round(self.latency_ms, 1),
        }
        ttft = self.ttft_ms
        if ttft is not None:
            out["timeToFirstTokenMs"] = round(ttft, 1)
        return out

    def start_headers(self) -> list[tuple[str, str]]:
        """What is known when the first byte goes out (all a stream's headers can carry)."""
        h = [("x-switchyard-generation-id", self.id)]
        if self.provider:
            h += [("x-switchyard-provider", self.provider),
                  ("x-switchyard-provider-model", self.provider_model_id or ""),
                  ("x-switchyard-model", self.model or "")]
        h.append(("x-switchyard-attempts", str(len(self.attempts))))
        return h

    def final_headers(self) -> list[tuple[str, str]]:
        h = self.start_headers()
        h.append(("x-switchyard-latency-ms", f"{self.latency_ms:.1f}"))
        ttft = self.ttft_ms
        if ttft is not None:
            h.append(("x-switchyard-ttft-ms", f"{ttft:.1f}"))
        if self.usage is not None:
            u = self.usage
            h += [("x-switchyard-input-tokens", str(u.input_tokens)),
                  ("x-switchyard-output-tokens", str(u.output_tokens)),
                  ("x-switchyard-cached-tokens", str(u.cache_read_tokens)),
                  ("x-switchyard-reasoning-tokens", str(u.reasoning_tokens))]
        if self.cost is not None:
            h.append(("x-switchyard-cost", format_usd(self.cost)))
        return h
