"""Health of every provider-model this instance has used: statistics, circuit breakers, ranking.

The executor reports each attempt's start and end; the router asks which providers are blocked (open
circuit) and in which order to try the rest. Everything is in memory and per process; sharing with
other instances goes through ``health.shared``.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Sequence

import msgspec

from switchyard.catalog import Offering
from switchyard.health.breaker import CircuitBreaker
from switchyard.health.stats import CALLER_FAULTS, ProviderModelStats


class HealthConfig(msgspec.Struct, frozen=True):
    half_life: float = 60.0  # seconds; how fast old observations fade
    breaker_threshold: int = 5  # consecutive provider failures that open a circuit
    breaker_cooldown: float = 10.0  # seconds before the first trial request
    breaker_max_cooldown: float = 300.0
    window: int = 128  # recent samples kept for percentiles


def _tier(score: float) -> int:
    # One failure among successes (score 0.8) keeps a provider in the first tier; two in a row drop it.
    return 0 if score >= 0.75 else 1 if score >= 0.4 else 2


class ProviderHealth:
    def __init__(self, config: HealthConfig | None = None, clock: Callable[[], float] = time.monotonic,
                 rng: random.Random | None = None) -> None:
        self.config = config or HealthConfig()
        self.clock = clock
        self.rng = rng or random.Random()
        self._stats: dict[tuple[str, str], ProviderModelStats] = {}
        self._breakers: dict[tuple[str, str], CircuitBreaker] = {}
        # Views of other instances, merged in by health.shared: key -> (score, ttft, tps)
        self.remote: dict[tuple[str, str], tuple[float, float | None, float | None]] = {}

    def stats(self, provider: str, model_id: str) -> ProviderModelStats:
        key = (provider, model_id)
        s = self._stats.get(key)
        if s is None:
            s = self._stats[key] = ProviderModelStats(self.config.half_life, self.config.window)
        return s

    def breaker(self, provider: str, model_id: str) -> CircuitBreaker:
        key = (provider, model_id)
        b = self._breakers.get(key)
        if b is None:
            c = self.config
            b = self._breakers[key] = CircuitBreaker(c.breaker_threshold, c.breaker_cooldown, c.breaker_max_cooldown)
        return b

    # ---- what the executor reports ----

    def begin(self, provider: str, model_id: str) -> None:
        self.stats(provider, model_id).active += 1

    def end(self, provider: str, model_id: str, *, category: str | None, latency: float | None = None,
            ttft: float | None = None, output_tokens: int | None = None, retry_after: float | None = None) -> None:
        """``category`` is None on success, "cancelled" when the caller went away (neutral)."""
        s = self.stats(provider, model_id)
        s.active = max(0, s.active - 1)
        if category == "cancelled":
            return
        now = self.clock()
        ok = category is None or category in CALLER_FAULTS
        s.observe(now, ok=ok, category=category, latency=latency if category is None else latency,
                  ttft=ttft if category is None else None, output_tokens=output_tokens if category is None else None)
        b = self.breaker(provider, model_id)
        if ok:
            b.success()
        else:
            b.failure(now, retry_after)

    # ---- what the router asks ----

    def blocked(self, provider: str, model_id: str) -> str | None:
        b = self._breakers.get((provider, model_id))
        if b is None or b.allow(self.clock()):
            return None
        return f"circuit open after repeated failures (retry in {b.retry_in(self.clock()):.0f}s)"

    def score(self, provider: str, model_id: str) -> float:
        s = self._stats.get((provider, model_id))
        local = s.score(self.clock()) if s is not None and s.requests else None
        remote = self.remote.get((provider, model_id))
        if local is None:
            return remote[0] if remote is not None else 1.0
        if remote is None:
            return local
        return min(local, remote[0])  # the worse view wins: one instance's trouble steers all

    def _metric(self, o: Offering, sort: str | None) -> float:
        s = self._stats.get((o.provider, o.model_id))
        remote = self.remote.get((o.provider, o.model_id))
        if sort == "cost":
            return o.pricing.input + o.pricing.output
        if sort == "ttft":
            v = s.ttft.value if s is not None else None
            v = v if v is not None else (remote[1] if remote else None)
            return v if v is not None else float("inf")
        if sort == "tps":
            v = s.tps.value if s is not None else None
            v = v if v is not None else (remote[2] if remote else None)
            return -v if v is not None else 0.0
        return 0.0

    def _load(self, o: Offering) -> float:
        s = self._stats.get((o.provider, o.model_id))
        if s is None or s.peak_latency.value is None:
            return 0.0
        return s.peak_latency.faded(self.clock()) * (s.active + 1)

    def rank(self, offerings: Sequence[Offering], sort: str | None) -> list[Offering]:
        """Healthiest first, then by ``sort`` (cost, ttft, tps), then power-of-two-choices on
        peak-EWMA latency times in-flight requests between equals. Ties with no data keep the
        catalog order, so an idle gateway is predictable."""
        groups: dict[tuple[int, float], list[Offering]] = {}
        for o in offerings:
            groups.setdefault((_tier(self.score(o.provider, o.model_id)), self._metric(o, sort)), []).append(o)
        ranked: list[Offering] = []
        for key in sorted(groups):
            ranked += self._p2c(groups[key])
        return ranked

    def _p2c(self, items: list[Offering]) -> list[Offering]:
        if len({self._load(o) for o in items}) <= 1:
            return list(items)  # nothing to tell them apart: keep the configured order
        items = list(items)
        out = []
        while len(items) > 1:
            i, j = sorted(self.rng.sample(range(len(items)), 2))
            a, b = items[i], items[j]
            pick = b if self._load(b) < self._load(a) else a
            out.append(pick)
            items.remove(pick)
        return out + items

    def snapshot(self) -> list[dict[str, object]]:
        out = []
        now = self.clock()
        for (provider, model_id), s in sorted(self._stats.items()):
            b = self._breakers.get((provider, model_id))
            out.append({"provider": provider, "model": model_id, **s.snapshot(now),
                        "circuit": b.state if b else "closed",
                        "circuit_retry_in_s": round(b.retry_in(now), 1) if b else 0.0})
        return out
