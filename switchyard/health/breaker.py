"""Circuit breaker per provider-model.

closed ──(threshold consecutive failures)──▶ open ──(cooldown)──▶ half-open ──(trial ok)──▶ closed
                                                ▲                       │
                                                └──(trial fails: cooldown doubles, up to a cap)
Only the provider's own failures count (see stats.CALLER_FAULTS). A rate limit with a retry-after
opens the circuit for at least that long.
"""

from __future__ import annotations


class CircuitBreaker:
    __slots__ = ("threshold", "base_cooldown", "max_cooldown", "state", "failures", "opened_at", "cooldown",
                 "trial_started")

    def __init__(self, threshold: int = 5, cooldown: float = 10.0, max_cooldown: float = 300.0) -> None:
        self.threshold = threshold
        self.base_cooldown = cooldown
        self.max_cooldown = max_cooldown
        self.state = "closed"
        self.failures = 0
        self.opened_at = 0.0
        self.cooldown = cooldown
        self.trial_started: float | None = None

    def allow(self, now: float) -> bool:
        """May a request go to this provider now? In half-open, one trial at a time."""
        if self.state == "closed":
            return True
        if self.state == "open":
            if now < self.opened_at + self.cooldown:
                return False
            self.state = "half_open"
        # half-open: let one trial through; a trial that never reports back is retried after a cooldown
        if self.trial_started is None or now - self.trial_started > self.cooldown:
            self.trial_started = now
            return True
        return False

    def retry_in(self, now: float) -> float:
        return max(0.0, self.opened_at + self.cooldown - now) if self.state == "open" else 0.0

    def success(self) -> None:
        self.state = "closed"
        self.failures = 0
        self.cooldown = self.base_cooldown
        self.trial_started = None

    def failure(self, now: float, retry_after: float | None = None) -> None:
        self.failures += 1
        if self.state == "half_open":
            self._open(now, min(self.max_cooldown, self.cooldown * 2))
        elif self.state == "closed" and (self.failures >= self.threshold or (retry_after or 0) > self.cooldown):
            self._open(now, self.base_cooldown)
        if retry_after and self.state == "open":
            self.cooldown = max(self.cooldown, min(retry_after, self.max_cooldown))

    def _open(self, now: float, cooldown: float) -> None:
        self.state = "open"
        self.opened_at = now
        self.cooldown = cooldown
        self.trial_started = None
