"""The background half of the quota service: one sync in flight at a time, every due key in it.

Each tick (``batch_interval_ms``, or at once when an admission waits for a lease, a wallet runs low,
or ``batch_size`` settlements are waiting) every key with something to push, give back or claim goes
into one pipeline. Leases are renewed well within their TTL and given back by keys idle for
``idle_release_s``. When the backend fails, ops are kept (same sequence numbers, so a retry whose
first answer was lost is applied once) and retried with backoff; ``down`` tells admissions to apply
the failure policy instead of waiting.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import time
from collections.abc import Callable
from typing import Any

from switchyard.quotas.periods import keep_for
from switchyard.quotas.scope import ScopeState

log = logging.getLogger("switchyard.quotas")

SCAN_INTERVAL = 1.0  # seconds between scans of every key for renewals, idle releases and clean-up


class Syncer:
    def __init__(self, backend: Any, cfg: Any, lease_id: str, clock: Callable[[], float],
                 fixed_clock: bool) -> None:
        self.backend = backend
        self.cfg = cfg
        self.lease = lease_id
        self.clock = clock
        self.fixed_clock = fixed_clock  # pass our clock to the script (tests); else Redis TIME
        self.scopes: dict[tuple[str, str], ScopeState] = {}
        self.dirty: set[ScopeState] = set()
        self.down = False
        self.failures = 0
        self.syncs = 0
        self._seq = itertools.count(1)
        self._event = asyncio.Event()
        self._next: asyncio.Future[bool] | None = None
        self._task: asyncio.Task[None] | None = None
        self._closing = False
        self._stop = asyncio.Event()
        self._last_scan = 0.0
        self._lock = asyncio.Lock()

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._loop(), name="quota-sync")

    def poke(self) -> None:
        self._event.set()

    async def claim(self) -> bool:
        """Wait for the next sync (which includes every need registered so far). False: it failed."""
        if self._next is None:
            self._next = asyncio.get_running_loop().create_future()
        fut = self._next
        self._event.set()
        if self._task is None:  # not started (embedded use without start()): sync inline
            await self.run_once()
        return await asyncio.shield(fut)

    async def _loop(self) -> None:
        interval = self.cfg.batch_interval_ms / 1000
        while not self._closing:
            if self.down:  # back off whatever pokes arrive; close() still ends the wait at once
                event, wait = self._stop, min(interval * 2 ** min(self.failures, 6), 2.0)
            else:
                event, wait = self._event, interval
            try:
                await asyncio.wait_for(event.wait(), wait)
            except TimeoutError:
                pass
            if self._closing:
                break
            self._event.clear()
            try:
                await self.run_once()
            except Exception:  # the loop must survive anything
                log.exception("quota sync failed unexpectedly")

    def _due(self, now: float, final: bool) -> list[ScopeState]:
        cfg = self.cfg
        if final or now - self._last_scan >= SCAN_INTERVAL:
            self._last_scan = now
            for key, s in list(self.scopes.items()):
                idle = now - s.last_active
                if s.holding() and (idle >= cfg.idle_release_s or now - s.last_sync >= cfg.lease_ttl_s / 3
                                    or final):
                    self.dirty.add(s)
                elif not s.holding() and not s.busy() and s not in self.dirty \
                        and idle > max(2 * cfg.lease_ttl_s, cfg.idle_release_s):
                    del self.scopes[key]
        return list(self.dirty)

    async def run_once(self, final: bool = False) -> bool:
        async with self._lock:
            return await self._run(final)

    async def _run(self, final: bool) -> bool:
        fut, self._next = self._next, None
        ok = False
        try:
            ok = await self._sync(final)
            return ok
        finally:  # whatever happens, nobody waits forever
            if fut is not None and not fut.done():
                fut.set_result(ok)

    async def _sync(self, final: bool) -> bool:
        now = self.clock()
        due = self._due(now, final)
        if not due:
            return True
        self.dirty.difference_update(due)
        now_ms = now * 1000 if self.fixed_clock else 0
        idle_after = self.cfg.idle_release_s
        ops: list[Any] = []
        try:
            ops = [s.build_op(next(self._seq), self.lease, self.cfg, now,
                              final or now - s.last_active >= idle_after, now_ms, keep_for(s.budget_period))
                   for s in due]
            replies = await self.backend.sync(ops)
        except Exception as e:  # noqa: BLE001 - Redis down, timeout, ...: keep everything, retry later
            replies = [e] * len(due)
        except BaseException:  # cancelled: the ops stay pending, to be retried as they are
            self.dirty.update(due)
            raise
        done = self.clock()
        ok = True
        if len(ops) != len(due):  # building failed (a bug): retried as the scopes stand
            ops = [None] * len(due)
        for s, op, reply in zip(due, ops, replies):
            if isinstance(reply, BaseException) or op is None:
                ok = False
                s.failed()
                self.dirty.add(s)
            else:
                s.apply(op[1], reply, done, self.cfg.lease_ttl_s, now)
                if s.busy():
                    self.dirty.add(s)
        self.syncs += 1
        if ok:
            if self.down:
                log.warning("quota store reachable again: local accounting reconciled")
            self.down, self.failures = False, 0
        else:
            if not self.down:
                err = next(r for r in replies if isinstance(r, BaseException))
                log.warning("quota store unreachable (%s: %s): %s", type(err).__name__, err,
                            self.cfg.on_redis_error)
            self.down = True
            self.failures += 1
        return ok

    async def close(self, timeout: float = 5.0) -> None:
        """Push everything and give every lease back (holds of requests still running stay until
        their TTL); retried for up to ``timeout`` seconds while the backend is down."""
        self._closing = True
        self._event.set()
        self._stop.set()
        if self._task is not None:
            await self._task
            self._task = None
        deadline = time.monotonic() + timeout
        while True:
            ok = await self.run_once(final=True)
            pending = [s for s in self.scopes.values() if s.pending is not None or s.spent or s.count]
            if ok and not pending:
                break
            if time.monotonic() >= deadline:
                log.error("quota close: %d key(s) could not be synced", len(pending))
                break
            await asyncio.sleep(0.05 if ok else 0.2)
