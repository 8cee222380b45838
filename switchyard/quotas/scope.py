"""One key's (or project's) quota as this instance sees it: its lease, held in local wallets.

Wallets: ``r_free`` requests and ``t_free`` tokens already debited from the shared GCRA, ``u_free``
USD reserved in the shared budget and not yet promised to a request, ``u_hold`` USD promised to
requests in flight, ``spent`` USD settled and not yet pushed. Admission takes from the wallets (no
I/O); settlement gives the difference back (a wallet goes negative when a request cost more than
its estimate: that debt is pushed to Redis at the next sync). A sync (``build_op`` / ``apply``)
pushes spend and debts, gives back what is not needed, and tops the wallets up. Invariant: the lease
Redis holds for this instance equals ``u_free + u_hold`` plus what is already counted in ``spent``,
so released or granted amounts never race with local admissions.
"""

from __future__ import annotations

import math
from typing import Any

from switchyard.quotas.backend import Reply, W

EPS = 1e-12


class Pending:
    """An op sent and not yet acknowledged: retried with the same ``seq`` and deltas until it is."""

    __slots__ = ("count", "r_credit", "r_debt", "seq", "spent", "t_credit", "t_debt")

    def __init__(self, seq: int, spent: float, count: int, r: tuple[float, float], t: tuple[float, float]) -> None:
        self.seq, self.spent, self.count = seq, spent, count
        (self.r_credit, self.r_debt), (self.t_credit, self.t_debt) = r, t


class ScopeState:
    __slots__ = (
        "budget",
        "budget_period",
        "claimed",
        "count",
        "deadline",
        "earmark",
        "keys",
        "last_active",
        "last_sync",
        "limits",
        "local_gcra",
        "name",
        "need_r",
        "need_t",
        "need_u",
        "pending",
        "period",
        "r_free",
        "r_reset",
        "r_room",
        "rpm",
        "short",
        "snap_at",
        "snap_left",
        "snap_spent",
        "spent",
        "synced",
        "t_free",
        "t_reset",
        "t_room",
        "targets",
        "tpm",
        "u_free",
        "u_hold",
    )

    def __init__(self, name: str, period: str, keys: tuple[str, str, str], limits: Any, now: float) -> None:
        self.name, self.period, self.keys = name, period, keys
        self.set_limits(limits)
        self.r_free = self.t_free = self.u_free = self.u_hold = self.spent = 0.0
        self.count = 0
        self.pending: Pending | None = None
        self.need_r = self.need_t = self.need_u = 0.0  # what waiting admissions need from the next sync
        self.claimed = (0.0, 0.0, 0.0)  # ... as sent in the sync in flight
        self.earmark = [0.0, 0.0, 0.0]  # kept for those waiters when it lands, until they resume
        self.short = (False, False, False)  # the last sync could not grant all that was needed
        self.synced = False
        self.snap_at = now
        self.r_room = self.r_reset = self.t_room = self.t_reset = self.snap_spent = 0.0
        self.snap_left = -1.0
        self.targets = (0.0, 0.0, 0.0)
        self.deadline = 0.0  # until when the lease Redis holds is known to be alive (local clock)
        self.last_active = self.last_sync = now
        self.local_gcra: dict[str, float] = {}  # fail-open fallback limiter (TATs)

    def set_limits(self, limits: Any) -> None:
        self.limits = limits
        self.rpm = int(limits.rpm) if limits.rpm is not None else -1
        self.tpm = int(limits.tpm) if limits.tpm is not None else -1
        self.budget = float(limits.budget_usd) if limits.budget_usd is not None else -1.0
        self.budget_period = limits.budget_period

    # ---- admission and settlement (no I/O) ----

    def token_need(self, est_tokens: int) -> int:
        return min(est_tokens, self.tpm) if self.tpm > 0 else 0

    def fits(self, est_usd: float, need_t: int) -> tuple[bool, bool, bool]:
        """Whether the free wallets cover a request, less what a landed sync keeps for its waiters
        (a waiter gives its own share back, ``unmark``, before asking)."""
        er, et, eu = self.earmark
        return (self.rpm < 0 or self.r_free - er >= 1, self.tpm < 0 or self.t_free - et >= need_t,
                self.budget < 0 or self.u_free - eu + EPS >= est_usd)

    def unmark(self, est_usd: float, need_t: int) -> None:
        e = self.earmark
        e[0], e[1], e[2] = max(e[0] - 1, 0.0), max(e[1] - need_t, 0.0), max(e[2] - est_usd, 0.0)

    def take(self, est_usd: float, need_t: int, now: float) -> bool:
        self.last_active = now
        if self.rpm >= 0:
            self.r_free -= 1
        if self.tpm >= 0:
            self.t_free -= need_t
        if self.budget >= 0:
            self.u_free -= est_usd
            self.u_hold += est_usd
            return True
        return False

    def settle(self, est_usd: float, need_t: int, held: bool, usd: float, tokens: int) -> None:
        if self.tpm >= 0:
            self.t_free += need_t - tokens
        if held:
            self.u_hold -= est_usd
            self.u_free += est_usd - usd
            if abs(self.u_hold) < EPS:
                self.u_hold = 0.0
        self.spent += usd
        self.count += 1

    def add_need(self, est_usd: float, need_t: int) -> None:
        self.need_r += 1 if self.rpm >= 0 else 0
        self.need_t += need_t if self.tpm >= 0 else 0
        self.need_u += est_usd if self.budget >= 0 else 0

    def low(self) -> bool:
        """A wallet fell below half its target: refill in the background before admissions stall."""
        if self.pending is not None:
            return False  # a sync is already on its way
        tr, tt, tu = self.targets
        return (self.rpm >= 0 and self.r_free < tr / 2) or (self.tpm >= 0 and self.t_free < tt / 2) \
            or (self.budget >= 0 and self.u_free < tu / 2)

    def busy(self) -> bool:
        """Anything to push or give back, or anyone waiting."""
        return bool(self.pending or self.count or self.spent or self.need_r or self.need_t or self.need_u
                    or self.r_free < 0 or self.t_free < 0 or self.u_free < 0)

    def holding(self) -> bool:
        return self.r_free > 0 or self.t_free > 0 or self.u_free > EPS or self.u_hold > EPS

    # ---- sync ----

    def build_op(self, seq: int, lease: str, cfg: Any, now: float, idle: bool, now_ms: float,
                 keep_s: int) -> tuple[tuple[str, str, str], list[Any]]:
        frac = 0.0 if idle else cfg.lease_fraction
        if self.pending is None:
            r = self._rate_deltas("r", frac, cfg.lease_max_requests, self.need_r)
            t = self._rate_deltas("t", frac, cfg.lease_max_tokens, self.need_t)
            self.pending = Pending(seq, self.spent, self.count, r, t)
            self.spent, self.count = 0.0, 0
            if self.budget >= 0 and self.u_free > 0:  # give back what the target no longer allows
                target = 0.0 if idle else min(frac * max(self.snap_left + self.u_free, 0), cfg.lease_max_usd)
                self.u_free -= max(self.u_free - max(target, self.need_u), 0.0)
        p = self.pending
        self.claimed = (self.need_r, self.need_t, self.need_u)
        need_r = max(self.need_r - max(self.r_free, 0), 0)
        need_t = max(self.need_t - max(self.t_free, 0), 0)
        need_u = max(self.need_u - max(self.u_free, 0), 0)
        self.need_r = self.need_t = self.need_u = 0.0
        args = [lease, p.seq, now_ms, int(cfg.lease_ttl_s * 1000), keep_s,
                max(self.rpm, 0), p.r_credit, p.r_debt, self.r_free, frac, cfg.lease_max_requests, need_r,
                max(self.tpm, 0), p.t_credit, p.t_debt, self.t_free, frac, cfg.lease_max_tokens, need_t,
                self.budget, p.spent, self.u_free, self.u_hold, frac, cfg.lease_max_usd, need_u]
        if self.rpm == 0:
            args[5] = -1  # a zero limit refuses locally; the script treats <= 0 as "no limit"
        if self.tpm == 0:
            args[12] = -1
        return self.keys, [_arg(a) for a in args]

    def _rate_deltas(self, which: str, frac: float, cap: float, need: float) -> tuple[float, float]:
        limit, free = (self.rpm, self.r_free) if which == "r" else (self.tpm, self.t_free)
        if limit < 0:
            return 0.0, 0.0
        room = self.r_room if which == "r" else self.t_room
        target = max(math.floor(min(frac * (room + max(free, 0)), cap)), need) if self.synced else free
        credit = max(free - target, 0.0)
        debt = max(-free, 0.0)
        if which == "r":
            self.r_free += debt - credit
        else:
            self.t_free += debt - credit
        return credit, debt

    def apply(self, args: list[Any], reply: Reply, now: float, ttl: float, sent_at: float) -> None:
        self.pending = None
        self.last_sync = now
        if not reply.dup:
            self.r_free += reply.r_grant
            self.t_free += reply.t_grant
            self.u_free += reply.u_grant + reply.correction
            self.deadline = sent_at + ttl * 0.9
        c = self.claimed
        self.earmark = [min(c[0], max(self.r_free, 0)), min(c[1], max(self.t_free, 0)),
                        min(c[2], max(self.u_free, 0))]
        self.claimed = (0.0, 0.0, 0.0)
        need = (float(args[11]), float(args[18]), float(args[25]))
        self.short = (False, False, False) if reply.dup else \
            (reply.r_grant < need[0], reply.t_grant < need[1], reply.u_grant + EPS < need[2])
        self.synced = True
        self.snap_at = now
        self.r_room, self.r_reset, self.t_room, self.t_reset = reply.r_room, reply.r_reset, reply.t_room, reply.t_reset
        self.snap_spent, self.snap_left = reply.spent, reply.left
        frac = float(args[9])
        self.targets = (min(frac * (self.r_room + max(self.r_free, 0)), float(args[10])),
                        min(frac * (self.t_room + max(self.t_free, 0)), float(args[17])),
                        min(frac * max(self.snap_left + max(self.u_free, 0), 0), float(args[24])))

    def failed(self) -> None:
        """The sync did not happen (or its answer was lost): ``pending`` is retried as it is."""
        self.short = (False, False, False)
        self.claimed = (0.0, 0.0, 0.0)
        self.earmark = [0.0, 0.0, 0.0]

    # ---- views ----

    def retry_after(self, which: str, need: float, now: float) -> float | None:
        """Seconds until ``need`` requests / tokens fit (exact GCRA arithmetic on the last reply)."""
        limit, free, reset = (self.rpm, self.r_free, self.r_reset) if which == "r" else \
            (self.tpm, self.t_free, self.t_reset)
        if limit <= 0:
            return None
        reset_now = reset - (now - self.snap_at) * 1000
        return max(0.0, (reset_now + (need - max(free, 0)) * (W / limit) - W) / 1000)

    def rate_view(self, kind: str, now: float) -> tuple[float, int, float] | None:
        """(remaining, limit, seconds until the bucket is full) for the response headers."""
        if kind == "requests":
            limit, free, room, reset = self.rpm, self.r_free, self.r_room, self.r_reset
        else:
            limit, free, room, reset = self.tpm, self.t_free, self.t_room, self.t_reset
        if limit < 0:
            return None
        elapsed = (now - self.snap_at) * 1000
        remaining = room + (max(0, free))
        if limit > 0:
            remaining += elapsed * limit // W
        remaining = min(remaining, limit)
        reset -= elapsed
        return remaining, limit, (reset if reset > 0 else 0.0) / 1000


def _arg(v: Any) -> Any:
    if isinstance(v, float):
        return repr(v) if math.isfinite(v) else "0"
    return v
