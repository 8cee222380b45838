"""QuotaService: admit a request against its key's and project's limits, settle it when done.

    quotas = QuotaService(config.quotas, redis_url=config.redis.url, instance_id=app.instance_id)
    await quotas.start()
    reservation = await quotas.admit(principal, inbound.route, pricings, max_output)  # or QuotaExceeded
    ... rec.reservation = reservation; the executor submits rec; quotas.submit(rec) settles it
    await quotas.close()

See ``switchyard.quotas`` for the design and its overshoot bounds.
"""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import logging
import os
import re
import socket
import time
from collections.abc import Callable
from typing import Any

from switchyard.errors import ErrorCategory
from switchyard.quotas.backend import MemoryBackend, W
from switchyard.quotas.charges import actual, estimate
from switchyard.quotas.config import QuotaConfig
from switchyard.quotas.periods import period_of, reset_in
from switchyard.quotas.reservation import QuotaExceeded, Reservation, rate_headers
from switchyard.quotas.scope import EPS, ScopeState
from switchyard.quotas.syncer import Syncer

log = logging.getLogger("switchyard.quotas")
_SAFE = re.compile(r"^[A-Za-z0-9_.:@/+=-]{1,128}$")
_WHO = {"k": "API key", "p": "project"}


def _safe(ident: str) -> str:
    return ident if _SAFE.match(ident) else "h" + hashlib.sha256(ident.encode()).hexdigest()[:32]


class QuotaService:
    def __init__(self, config: QuotaConfig | None = None, *, redis_url: str | None = None, redis: Any = None,
                 region: str = "default", instance_id: str | None = None, backend: Any = None,
                 clock: Callable[[], float] | None = None) -> None:
        self.cfg = cfg = config or QuotaConfig()
        self.clock = clock or time.time
        if backend is None:
            if redis is not None or redis_url:
                from switchyard.quotas.redis_backend import RedisBackend

                backend = RedisBackend(redis_url, client=redis, timeout=cfg.redis_timeout_s)
            else:
                backend = MemoryBackend(self.clock)
        self.backend = backend
        instance = instance_id or f"{socket.gethostname()}-{os.getpid()}"
        self.lease_id = f"{region}:{instance}:{os.urandom(4).hex()}"
        self.syncer = Syncer(backend, cfg, self.lease_id, self.clock, fixed_clock=clock is not None)
        self.fail_open = cfg.on_redis_error == "fail_open"
        self._current: dict[tuple[str, str], tuple[ScopeState, float]] = {}
        self._outstanding: dict[int, Reservation] = {}
        self._ids = itertools.count(1)
        self._sweeper: asyncio.Task[None] | None = None
        self.stats = {"admitted": 0, "waited": 0, "refused": 0}  # waited: admissions that needed a sync

    async def start(self) -> None:
        self.syncer.start()
        if self._sweeper is None:
            self._sweeper = asyncio.get_running_loop().create_task(self._sweep(), name="quota-sweep")

    async def close(self) -> None:
        """Push every settlement and give leases back. Call after the HTTP server has drained."""
        if self._sweeper is not None:
            self._sweeper.cancel()
            await asyncio.gather(self._sweeper, return_exceptions=True)
            self._sweeper = None
        await self.syncer.close()
        await self.backend.close()

    # ---- scopes ----

    def _state(self, kind: str, ident: str, limits: Any, now: float) -> ScopeState:
        cur = self._current.get((kind, ident))
        if cur is not None and now < cur[1] and cur[0].budget_period == limits.budget_period:
            s = cur[0]
            if s.limits is not limits:
                s.set_limits(limits)
            return s
        period = period_of(limits.budget_period, now)
        tag = f"{{{kind}:{_safe(ident)}}}"
        p = self.cfg.key_prefix
        name = f"{kind}:{ident}"
        s = self.syncer.scopes.get((name, period))
        if s is None:
            s = ScopeState(name, period, (f"{p}:r:{tag}", f"{p}:b:{tag}:{period}", f"{p}:x:{tag}:{period}"),
                           limits, now)
            self.syncer.scopes[(name, period)] = s
        s.set_limits(limits)
        until = reset_in(limits.budget_period, now)
        self._current[(kind, ident)] = (s, now + until if until is not None else float("inf"))
        return s

    def _scopes(self, principal: Any, now: float) -> list[ScopeState]:
        out = []
        key_id = getattr(principal, "key_id", None)
        if key_id:
            out.append(self._state("k", key_id, principal.limits, now))
        project = getattr(principal, "project", None)
        if project:
            out.append(self._state("p", project, principal.project_limits, now))
        return out

    # ---- admission ----

    async def admit(self, principal: Any, route: Any, candidates_pricing: list[Any], max_output: int | None,
                    *, input_tokens: int | None = None) -> Reservation:
        """Reserve for one request, or raise QuotaExceeded (429 / 402 / 503). No Redis round trip while
        this instance's lease on the key covers the request."""
        now = self.clock()
        scopes = self._scopes(principal, now)
        if not scopes:
            return Reservation(0, 0.0, 0, [], [], now)
        cfg = self.cfg
        est_usd, est_tokens = estimate(candidates_pricing,
                                       route.est_input_tokens if input_tokens is None else input_tokens,
                                       route.max_tokens, max_output, cfg.reserve_max_output_tokens,
                                       cfg.reserve_max_usd, getattr(route, "kind", "language"))
        needs = [s.token_need(est_tokens) for s in scopes]
        local = not self.syncer.down
        for s, need in zip(scopes, needs):
            if s.rpm == 0 or s.tpm == 0:
                raise self._deny(scopes, s, need, est_usd, (s.rpm != 0, s.tpm != 0, True), now)
            if local:
                r, t, u = s.fits(est_usd, need)
                local = r and t and u
        if not local:  # the lease does not cover it (or Redis is down): the slow path
            self.stats["waited"] += 1
            try:
                now = await self._wait_for_lease(scopes, needs, est_usd, now)
            except QuotaExceeded:
                self.stats["refused"] += 1
                raise
        self.stats["admitted"] += 1
        parts = []
        poke = False
        dirty = self.syncer.dirty
        for s, need in zip(scopes, needs):
            parts.append((s, need, s.take(est_usd, need, now)))
            dirty.add(s)
            poke = poke or s.low()
        if poke:
            self.syncer.poke()
        res = Reservation(next(self._ids), est_usd, est_tokens, parts, None, now, self)
        self._outstanding[res.id] = res
        return res

    async def _wait_for_lease(self, scopes: list[ScopeState], needs: list[int], est_usd: float, now: float) -> float:
        """Claim what the request needs in the next sync (shared by every admission waiting for it);
        refuse only when Redis could not grant it. Returns the time to admit at."""
        registered: list[int] = []
        for rounds in range(8):
            for i in registered:  # what the sync kept for us is ours to take now
                scopes[i].unmark(est_usd, needs[i])
            fits = [self._fits(s, est_usd, need, now) for s, need in zip(scopes, needs)]
            short = [i for i, f in enumerate(fits) if not all(f)]
            if not short:
                return now
            if self.syncer.down:
                self._fallback(scopes, needs, est_usd, now)  # admits (fail open) or raises
                return now
            for i in short:
                s = scopes[i]
                if i in registered and any(not ok and was for ok, was in zip(fits[i], s.short)):
                    raise self._deny(scopes, s, needs[i], est_usd, fits[i], now)  # Redis could not grant it
            if rounds == 7:
                i = short[0]
                raise self._deny(scopes, scopes[i], needs[i], est_usd, fits[i], now)
            registered = short
            for i in short:
                scopes[i].add_need(est_usd, needs[i])
                self.syncer.dirty.add(scopes[i])
            await self.syncer.claim()
            now = self.clock()
        return now  # not reached

    def _fits(self, s: ScopeState, est_usd: float, need: int, now: float) -> tuple[bool, bool, bool]:
        if self.syncer.down and not self.fail_open and now > s.deadline:
            return (s.rpm < 0, s.tpm < 0, s.budget < 0)  # the lease may be gone: nothing local counts
        return s.fits(est_usd, need)

    def _fallback(self, scopes: list[ScopeState], needs: list[int], est_usd: float, now: float) -> None:
        """The quota store is down and the local lease does not cover the request."""
        if not self.fail_open:
            raise QuotaExceeded(ErrorCategory.OVERLOADED, "Quota service unavailable; retry shortly.",
                                "quota_unavailable", 1.0, rate_headers(scopes, now))
        # Fail open: the last known remaining budget less what this instance spent since, and a
        # local GCRA at the full limit per key (N instances: up to N times the rate while down).
        now_ms = now * 1000
        for s, need in zip(scopes, needs):
            r_ok = s.rpm < 0 or _local_gcra(s, "r", s.rpm, 1, now_ms, commit=False) is None
            t_ok = s.tpm < 0 or _local_gcra(s, "t", s.tpm, need, now_ms, commit=False) is None
            u_ok = s.budget < 0 or not s.synced or s.snap_left + s.u_free + EPS >= est_usd
            if not (r_ok and t_ok and u_ok):
                raise self._deny(scopes, s, need, est_usd, (r_ok, t_ok, u_ok), now, local=True)
        for s, need in zip(scopes, needs):
            if s.rpm > 0:
                _local_gcra(s, "r", s.rpm, 1, now_ms, commit=True)
            if s.tpm > 0:
                _local_gcra(s, "t", s.tpm, need, now_ms, commit=True)

    def _deny(self, scopes: list[ScopeState], s: ScopeState, need: int, est_usd: float,
              fits: tuple[bool, bool, bool], now: float, local: bool = False) -> QuotaExceeded:
        headers = rate_headers(scopes, now)
        who = _WHO[s.name[0]]
        if not fits[0] or not fits[1]:
            kind, limit = ("requests", s.rpm) if not fits[0] else ("tokens", s.tpm)
            if limit == 0:
                retry = None
            elif local:
                retry = _local_gcra(s, kind[0], limit, 1 if kind == "requests" else need, now * 1000, commit=False)
            else:
                retry = s.retry_after(kind[0], 1 if kind == "requests" else need, now)
            return QuotaExceeded(ErrorCategory.RATE_LIMITED,
                                 f"Rate limit reached for this {who}: {limit} {kind} per minute.",
                                 "rate_limit_exceeded", retry, headers)
        spent = s.snap_spent + s.spent
        if spent + est_usd > s.budget + EPS:
            retry = reset_in(s.budget_period, now)  # spent: only the next period helps
            msg = f"Budget exhausted for this {who}: ${s.budget:g} per {s.budget_period} period."
        else:
            retry = 1.0  # held by requests in flight: they settle soon
            msg = f"Budget for this {who} is fully reserved by requests in flight; retry shortly."
        return QuotaExceeded(ErrorCategory.PAYMENT_REQUIRED, msg, "budget_exceeded", retry, headers)

    # ---- settlement (RecordSink) ----

    def submit(self, rec: Any) -> None:
        """Settle ``rec.reservation`` to what the request cost. Never blocks: Redis hears of it in the
        next batch."""
        res = rec.reservation
        if type(res) is not Reservation or res.settled:
            return
        usd, tokens = actual(rec, res.est_usd, res.est_tokens, self.cfg.charge_byok)
        self.settle(res, usd, tokens)

    def settle(self, res: Reservation, usd: float, tokens: int) -> None:
        if res.settled:
            return
        res.settled = True
        self._outstanding.pop(res.id, None)
        poke = False
        for s, need, held in res.parts:
            s.settle(res.est_usd, need, held, usd, tokens)
            self.syncer.dirty.add(s)
            poke = poke or s.count >= self.cfg.batch_size
        if poke:
            self.syncer.poke()

    async def _sweep(self) -> None:
        """Reservations never settled (a bug upstream) are charged their estimate after max_hold_s."""
        while True:
            await asyncio.sleep(min(60.0, self.cfg.max_hold_s / 4))
            limit = self.clock() - self.cfg.max_hold_s
            for res in [r for r in self._outstanding.values() if r.created < limit]:
                log.warning("quota reservation %d never settled: charging its estimate", res.id)
                self.settle(res, res.est_usd, res.est_tokens)

    # ---- reading ----

    async def credits(self, principal: Any) -> tuple[float | None, float]:
        """(budget left in the current period, None when unlimited; USD spent in it), key first."""
        scopes = self._scopes(principal, self.clock())
        if not scopes:
            return None, 0.0
        try:
            remote = await self.backend.spent([s.keys[1] for s in scopes])
            down = False
        except Exception:  # noqa: BLE001 - answer from the last sync
            remote, down = [s.snap_spent for s in scopes], True
        spent = [r + s.spent + (s.pending.spent if down and s.pending else 0.0) for r, s in zip(remote, scopes)]
        left = [s.budget - x for s, x in zip(scopes, spent) if s.budget >= 0]
        return (max(0.0, min(left)) if left else None), spent[0]


def _local_gcra(s: ScopeState, field: str, limit: int, cost: float, now_ms: float, commit: bool) -> float | None:
    """Fail-open limiter: None when ``cost`` fits now (and is taken when commit), else seconds to wait."""
    e = W / limit
    new = max(s.local_gcra.get(field, 0.0), now_ms) + cost * e
    if new - now_ms > W + 1e-6:
        return (new - W - now_ms) / 1000
    if commit:
        s.local_gcra[field] = new
    return None
