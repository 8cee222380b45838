"""Run a request: plan, try each candidate in turn (hedging when configured), fail over, answer.

The attempt loop is the only place that decides what happens after a failure; the decision itself
is the table in ``routing.failover``. One attempt's mechanics live in ``gateway.attempt``.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Mapping
from typing import Any

from switchyard.catalog import Catalog
from switchyard.config.model import RoutingConfig
from switchyard.errors import (
    AllAttemptsFailed,
    ErrorCategory,
    GatewayError,
    RequestError,
    UpstreamError,
)
from switchyard.gateway.attempt import AttemptRun
from switchyard.gateway.frontdoor import FrontDoor
from switchyard.gateway.inbound import Inbound
from switchyard.gateway.outcome import Outcome
from switchyard.health.registry import ProviderHealth
from switchyard.health.stats import percentile
from switchyard.providers.base import ProviderAdapter
from switchyard.routing.failover import Next, next_step
from switchyard.routing.plan import Candidate, plan_route
from switchyard.telemetry.record import GenerationRecord
from switchyard.telemetry.store import RecordSink
from switchyard.upstream.client import UpstreamClient

log = logging.getLogger("switchyard.gateway")

# Failures where every provider would answer the same: reported to the caller as their own 400.
_CALLER_CATEGORIES = (ErrorCategory.CONTEXT_TOO_LONG, ErrorCategory.UNSUPPORTED, ErrorCategory.CONTENT_FILTERED)
_HEDGE_MIN_SAMPLES = 8


class _Failed(Exception):
    """An attempt failed; carries the run so the loop can decide."""

    def __init__(self, run: AttemptRun, err: GatewayError) -> None:
        self.run = run
        self.err = err


class Executor:
    def __init__(self, catalog: Catalog, routing: RoutingConfig, adapters: Mapping[str, ProviderAdapter],
                 client: UpstreamClient, sink: RecordSink, health: ProviderHealth | None = None) -> None:
        self.catalog = catalog
        self.routing = routing
        self.adapters = adapters
        self.client = client
        self.sink = sink
        self.health = health or ProviderHealth()

    # ---- answers that are errors ----

    def _error(self, door: FrontDoor, err: GatewayError, rec: GenerationRecord | None) -> Outcome:
        headers = rec.final_headers() if rec is not None else []
        if err.retry_after is not None:
            headers.append(("retry-after", str(max(1, round(err.retry_after)))))
        if rec is not None:
            rec.status, rec.error, rec.ended = err.status, err.message, time.monotonic()
            self.sink.submit(rec)
        return Outcome(door.error_status(err), headers, door.render_error(err, rec))

    def _caller_fault(self, run: AttemptRun, err: UpstreamError) -> Outcome:
        """The provider rejected the caller's own request: return its answer as is."""
        rec, door = run.rec, run.door
        status = err.upstream_status or err.status
        body = door.render_upstream_error_body(err.body) if run.passthrough else None
        rec.status, rec.error, rec.ended = status, err.message, time.monotonic()
        self.sink.submit(rec)
        return Outcome(status, rec.final_headers(), body if body is not None else door.render_error(err, rec))

    def _all_failed(self, door: FrontDoor, rec: GenerationRecord, last: GatewayError | None) -> Outcome:
        tried = [a for a in rec.attempts if a.category != "cancelled"]
        if last is not None and last.category in _CALLER_CATEGORIES \
                and all(a.category == last.category.value for a in tried):
            return self._error(door, GatewayError(last.category, last.message, status=400, param=last.param,
                                                  code=last.code), rec)
        if isinstance(last, RequestError) and len(tried) == 1:
            return self._error(door, last, rec)
        summary = "; ".join(f"{a.provider} ({a.model}): {a.error}" for a in rec.attempts)
        return self._error(door, AllAttemptsFailed(f"All {len(rec.attempts)} attempt(s) failed: {summary}",
                                                   rec.attempts, last), rec)

    # ---- the attempt loop ----

    async def run(self, door: FrontDoor, inbound: Inbound, principal: Any = None, reservation: Any = None) -> Outcome:
        """``principal`` and ``reservation`` (from accounts) ride on the record to its sinks."""
        rec = GenerationRecord(inbound.route.model, inbound.stream)
        rec.kind, rec.principal, rec.reservation = inbound.kind, principal, reservation
        rec.user, rec.tags = inbound.user, inbound.tags
        try:
            plan = plan_route(self.catalog, self.routing, inbound.route, health=self.health)
        except RequestError as err:
            return self._error(door, err, rec)
        rec.fallbacks_available = plan.models[1:]
        rec.skipped = [{"model": s.model, "provider": s.provider, "reason": s.reason} for s in plan.skipped]
        queue = list(plan.candidates)
        last: GatewayError | None = None
        retried: set[int] = set()
        while queue and len(rec.attempts) < self.routing.max_attempts:
            cand = queue.pop(0)
            hedge_after = self._hedge_after(cand) if queue else None
            try:
                if hedge_after is None:
                    return await self._attempt(door, inbound, cand, rec)
                return await self._hedged(door, inbound, cand, queue, rec, hedge_after)
            except _Failed as failure:
                run, err = failure.run, failure.err
                last = err
                if isinstance(err, RequestError):
                    # Cannot be translated for this provider (a content part its protocol lacks);
                    # another provider, perhaps one spoken natively, may take it.
                    continue
                assert isinstance(err, UpstreamError)
                step = next_step(err.category)
                if step is Next.STOP:
                    return self._caller_fault(run, err)
                failed = run.cand
                if step is Next.MODEL:
                    queue = [c for c in queue if c.model.id != failed.model.id]
                elif err.category is ErrorCategory.CONTEXT_TOO_LONG:
                    window = failed.offering.context_window
                    queue = [c for c in queue
                             if c.model.id != failed.model.id or c.offering.context_window > window]
                if not queue and err.retry_after is not None and id(failed) not in retried \
                        and 0 < self.routing.max_retry_wait and err.retry_after <= self.routing.max_retry_wait:
                    # Nothing else to try, and the provider says it will be ready soon: wait once.
                    retried.add(id(failed))
                    await asyncio.sleep(err.retry_after)
                    queue.append(failed)
        return self._all_failed(door, rec, last)

    async def _attempt(self, door: FrontDoor, inbound: Inbound, cand: Candidate, rec: GenerationRecord) -> Outcome:
        adapter = self.adapters[cand.offering.provider]
        run = AttemptRun(door, inbound, cand, adapter, rec, self.client, self.health, self.sink)
        try:
            if adapter.prepare is not None:
                await adapter.prepare()
            return await (run.open_stream() if inbound.stream else run.complete())
        except (UpstreamError, RequestError) as err:
            run.failed(err)
            raise _Failed(run, err) from None
        except asyncio.CancelledError:
            run.abandoned("cancelled: the caller went away or another attempt answered first")
            raise

    # ---- hedging ----

    def _hedge_after(self, cand: Candidate) -> float | None:
        r = self.routing
        if not r.hedge:
            return None
        if isinstance(r.hedge_after, (int, float)):
            return max(r.hedge_min, float(r.hedge_after))
        stats = self.health.stats(cand.offering.provider, cand.offering.model_id)
        if len(stats.ttft_samples) < _HEDGE_MIN_SAMPLES:
            return None  # no basis for a threshold yet
        p95 = percentile(stats.ttft_samples, 0.95)
        return None if p95 is None else max(r.hedge_min, p95)

    async def _hedged(self, door: FrontDoor, inbound: Inbound, cand: Candidate, queue: list[Candidate],
                      rec: GenerationRecord, after: float) -> Outcome:
        """Start ``cand``; if it has not answered within ``after`` seconds, start the next candidate
        too and keep whichever answers first. The other one is cancelled (its upstream request too)."""
        first = asyncio.ensure_future(self._attempt(door, inbound, cand, rec))
        tasks = {first}
        try:
            done, _ = await asyncio.wait(tasks, timeout=after)
            if not done:
                second_cand = queue.pop(0)
                tasks.add(asyncio.ensure_future(self._attempt(door, inbound, second_cand, rec)))
            failure: _Failed | None = None
            while tasks:
                done, tasks = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
                for task in done:
                    exc = task.exception()
                    if exc is None:
                        winner = task.result()
                        await self._drop(tasks)
                        return winner
                    if not isinstance(exc, _Failed):
                        raise exc
                    failure = failure or exc
            assert failure is not None
            raise failure
        finally:
            await self._drop(tasks)

    @staticmethod
    async def _drop(tasks: set[asyncio.Future[Outcome]]) -> None:
        for task in tasks:
            task.cancel()
        for task in tasks:
            try:
                outcome = await task
            except BaseException:  # noqa: BLE001 - a cancelled or failed loser is expected
                continue
            if outcome.stream is not None:  # it opened a stream just as the winner did: close it
                await outcome.stream.aclose()  # type: ignore[attr-defined]
        tasks.clear()
