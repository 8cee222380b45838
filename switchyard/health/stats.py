"""Live statistics for one provider-model, from real traffic and probes.

Moving averages are time-decayed (half-life in seconds), so a provider that was slow an hour ago and
is fast now is judged by now. Latency for load balancing is a *peak* EWMA (Finagle's): a slow sample
raises it at once, fast samples pull it down gradually, so a provider that starts stalling loses
traffic immediately. Recent samples are also kept for percentiles (hedging thresholds, the admin
view).
"""

from __future__ import annotations

import math
from collections import deque

# Outcome categories that say nothing about the provider's health: the caller's request was at fault.
CALLER_FAULTS = frozenset({"invalid_request", "context_too_long", "unsupported", "content_filtered",
                           "request_too_large"})


class Ewma:
    """A per-sample moving average (weight ``alpha`` for each new sample) whose value, read with
    ``faded``, also decays towards 0 with time since the last sample (half-life in seconds). Per
    sample so that a burst of failures registers at once; faded so that old news stops counting."""

    __slots__ = ("value", "stamp", "half_life", "alpha")

    def __init__(self, half_life: float, value: float | None = None, alpha: float = 0.2) -> None:
        self.half_life = half_life
        self.alpha = alpha
        self.value = value
        self.stamp = 0.0

    def add(self, sample: float, now: float) -> None:
        self.value = sample if self.value is None else self.value + self.alpha * (sample - self.value)
        self.stamp = now

    def faded(self, now: float) -> float:
        """The value as it stands now with no new samples, fading towards 0. Used for error rates and
        load, so that a provider that failed a while ago is tried again, and measured."""
        if self.value is None:
            return 0.0
        return self.value * math.exp(-max(0.0, now - self.stamp) * math.log(2) / self.half_life)


class PeakEwma(Ewma):
    __slots__ = ()

    def add(self, sample: float, now: float) -> None:
        current = self.faded(now) if self.value is not None else None
        if current is None or sample > current:
            self.value, self.stamp = sample, now
        else:
            self.value, self.stamp = current + self.alpha * (sample - current), now


def percentile(samples: deque[float], q: float) -> float | None:
    if not samples:
        return None
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


class ProviderModelStats:
    __slots__ = ("requests", "failures", "active", "error_rate", "rate_limited", "latency", "ttft", "tps",
                 "peak_latency", "ttft_samples", "latency_samples", "last_seen", "last_error")

    def __init__(self, half_life: float = 60.0, window: int = 128) -> None:
        self.requests = 0
        self.failures = 0
        self.active = 0
        self.error_rate = Ewma(half_life, 0.0)
        self.rate_limited = Ewma(half_life, 0.0)
        self.latency = Ewma(half_life)
        self.ttft = Ewma(half_life)
        self.tps = Ewma(half_life)
        self.peak_latency = PeakEwma(half_life / 4, alpha=0.3)
        self.ttft_samples: deque[float] = deque(maxlen=window)
        self.latency_samples: deque[float] = deque(maxlen=window)
        self.last_seen = 0.0
        self.last_error: str | None = None

    def observe(self, now: float, *, ok: bool, category: str | None, latency: float | None,
                ttft: float | None, output_tokens: int | None) -> None:
        """One finished attempt. ``ok`` is False only for the provider's own failures."""
        self.requests += 1
        self.last_seen = now
        self.error_rate.add(0.0 if ok else 1.0, now)
        self.rate_limited.add(1.0 if category == "rate_limited" else 0.0, now)
        if not ok:
            self.failures += 1
            self.last_error = category
            # A failure counts as a slow answer for balancing: what failed fast must not attract traffic.
            self.peak_latency.add(max(latency or 0.0, self.peak_latency.value or 0.0, 1.0), now)
            return
        if latency is not None:
            self.latency.add(latency, now)
            self.latency_samples.append(latency)
            self.peak_latency.add(latency if ttft is None else ttft, now)
        if ttft is not None:
            self.ttft.add(ttft, now)
            self.ttft_samples.append(ttft)
        if output_tokens and latency is not None and ttft is not None and latency > ttft:
            self.tps.add(output_tokens / (latency - ttft), now)

    def score(self, now: float) -> float:
        """1.0 for a provider that answers everything, towards 0.0 as it fails or rate-limits."""
        return (1.0 - self.error_rate.faded(now)) * (1.0 - 0.5 * self.rate_limited.faded(now))

    def snapshot(self, now: float) -> dict[str, object]:
        return {
            "requests": self.requests, "failures": self.failures, "active": self.active,
            "error_rate": round(self.error_rate.faded(now), 4),
            "rate_limited_rate": round(self.rate_limited.faded(now), 4),
            "latency_s": _r(self.latency.value), "ttft_s": _r(self.ttft.value),
            "ttft_p50_s": _r(percentile(self.ttft_samples, 0.5)), "ttft_p95_s": _r(percentile(self.ttft_samples, 0.95)),
            "latency_p95_s": _r(percentile(self.latency_samples, 0.95)),
            "tokens_per_s": _r(self.tps.value), "peak_latency_s": _r(self.peak_latency.value),
            "score": round(self.score(now), 4), "last_error": self.last_error,
        }


def _r(v: float | None) -> float | None:
    return None if v is None else round(v, 4)
