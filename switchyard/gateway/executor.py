"""Run a request: plan, try each candidate in turn, fail over, and stream or return the answer.

Failover is possible until the first byte goes to the caller. For a stream that means until the
first event with content: an error event or a cut connection before that still moves on to the next
candidate; after it, the stream ends with an error event in the caller's format.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Mapping
from typing import Any

import aiohttp

from switchyard.canonical import Finish, ReasoningDelta, ResponseInfo, TextDelta, ToolCallStart, UsageReport
from switchyard.catalog import Catalog
from switchyard.config.model import RoutingConfig
from switchyard.errors import (
    AllAttemptsFailed,
    ErrorCategory,
    GatewayError,
    RequestError,
    UpstreamError,
)
from switchyard.gateway.frontdoor import FrontDoor
from switchyard.gateway.inbound import Inbound
from switchyard.gateway.outcome import Outcome
from switchyard.providers.base import ProviderAdapter
from switchyard.routing.failover import Next, next_step
from switchyard.routing.plan import Candidate, plan_route
from switchyard.telemetry.record import Attempt, GenerationRecord
from switchyard.telemetry.store import RecordSink
from switchyard.upstream.client import UpstreamClient, transport_error

log = logging.getLogger("switchyard.gateway")

_CONTENT_EVENTS = (TextDelta, ReasoningDelta, ToolCallStart, Finish)
# Failures where every provider would answer the same: reported to the caller as their own 400.
_CALLER_CATEGORIES = (ErrorCategory.CONTEXT_TOO_LONG, ErrorCategory.UNSUPPORTED, ErrorCategory.CONTENT_FILTERED)


def _now_ms() -> float:
    return time.time() * 1000


class Executor:
    def __init__(self, catalog: Catalog, routing: RoutingConfig, adapters: Mapping[str, ProviderAdapter],
                 client: UpstreamClient, sink: RecordSink) -> None:
        self.catalog = catalog
        self.routing = routing
        self.adapters = adapters
        self.client = client
        self.sink = sink

    # ---- errors ----

    def _error(self, door: FrontDoor, err: GatewayError, rec: GenerationRecord | None) -> Outcome:
        headers = rec.final_headers() if rec is not None else []
        if err.retry_after is not None:
            headers.append(("retry-after", str(max(1, round(err.retry_after)))))
        if rec is not None:
            rec.status, rec.error, rec.ended = err.status, err.message, time.monotonic()
            self.sink.submit(rec)
        return Outcome(err.status, headers, door.render_error(err, rec))

    def _caller_fault(self, door: FrontDoor, err: UpstreamError, rec: GenerationRecord,
                      passthrough: bool) -> Outcome:
        """The provider rejected the caller's own request: return its answer as is."""
        status = err.upstream_status or err.status
        body = door.render_upstream_error_body(err.body) if passthrough else None
        rec.status, rec.error, rec.ended = status, err.message, time.monotonic()
        self.sink.submit(rec)
        return Outcome(status, rec.final_headers(), body if body is not None else door.render_error(err, rec))

    # ---- the attempt loop ----

    async def run(self, door: FrontDoor, inbound: Inbound) -> Outcome:
        rec = GenerationRecord(inbound.route.model, inbound.stream)
        try:
            plan = plan_route(self.catalog, self.routing, inbound.route)
        except RequestError as err:
            return self._error(door, err, rec)
        rec.fallbacks_available = plan.models[1:]
        rec.skipped = [{"model": s.model, "provider": s.provider, "reason": s.reason} for s in plan.skipped]
        queue = list(plan.candidates)
        last: GatewayError | None = None
        retried: set[int] = set()
        while queue and len(rec.attempts) < self.routing.max_attempts:
            cand = queue.pop(0)
            adapter = self.adapters[cand.offering.provider]
            passthrough = door.protocol == adapter.protocol
            attempt = Attempt(cand.offering.provider, cand.model.id, cand.offering.model_id, _now_ms())
            rec.attempts.append(attempt)
            try:
                if adapter.prepare is not None:
                    await adapter.prepare()
                if inbound.stream:
                    return await self._open_stream(door, inbound, cand, adapter, passthrough, rec, attempt)
                return await self._complete(door, inbound, cand, adapter, passthrough, rec, attempt)
            except UpstreamError as err:
                self._failed(attempt, err)
                last = err
                step = next_step(err.category)
                if step is Next.STOP:
                    return self._caller_fault(door, err, rec, passthrough)
                if step is Next.MODEL:
                    queue = [c for c in queue if c.model.id != cand.model.id]
                elif err.category is ErrorCategory.CONTEXT_TOO_LONG:
                    window = cand.offering.context_window
                    queue = [c for c in queue if c.model.id != cand.model.id or c.offering.context_window > window]
                if not queue and err.retry_after is not None and id(cand) not in retried \
                        and 0 < self.routing.max_retry_wait and err.retry_after <= self.routing.max_retry_wait:
                    # Nothing else to try, and the provider says it will be ready soon: wait once.
                    retried.add(id(cand))
                    await asyncio.sleep(err.retry_after)
                    queue.append(cand)
            except RequestError as err:
                # The request cannot be translated for this provider (e.g. a content part its
                # protocol lacks); another provider, perhaps one spoken natively, may take it.
                self._failed(attempt, err)
                last = err
        return self._all_failed(door, rec, last)

    def _failed(self, attempt: Attempt, err: GatewayError) -> None:
        attempt.end_ms = _now_ms()
        attempt.error = err.message
        attempt.category = err.category.value
        if isinstance(err, UpstreamError) and err.upstream_status:
            attempt.status = err.upstream_status

    def _all_failed(self, door: FrontDoor, rec: GenerationRecord, last: GatewayError | None) -> Outcome:
        if last is not None and all(a.category == last.category.value for a in rec.attempts) \
                and last.category in _CALLER_CATEGORIES:
            err: GatewayError = GatewayError(last.category, last.message, status=400, param=last.param,
                                             code=last.code)
            return self._error(door, err, rec)
        if last is not None and isinstance(last, RequestError) and len(rec.attempts) == 1:
            return self._error(door, last, rec)
        summary = "; ".join(f"{a.provider} ({a.model}): {a.error}" for a in rec.attempts)
        return self._error(door, AllAttemptsFailed(f"All {len(rec.attempts)} attempt(s) failed: {summary}",
                                                   rec.attempts, last), rec)

    def _served(self, rec: GenerationRecord, cand: Candidate, attempt: Attempt, status: int) -> None:
        attempt.end_ms = _now_ms()
        attempt.success = True
        attempt.status = status
        rec.model = cand.model.id
        rec.provider = cand.offering.provider
        rec.provider_model_id = cand.offering.model_id

    # ---- non-streaming ----

    async def _complete(self, door: FrontDoor, inbound: Inbound, cand: Candidate, adapter: ProviderAdapter,
                        passthrough: bool, rec: GenerationRecord, attempt: Attempt) -> Outcome:
        model_id = cand.offering.model_id
        embedding = inbound.kind == "embedding"
        if passthrough:
            call = adapter.passthrough_call(inbound.raw, model_id, False, inbound.kind)  # type: ignore[attr-defined]
        elif embedding:
            call = adapter.build_embed(inbound.canonical(), model_id)
        else:
            call = adapter.build_chat(inbound.canonical(), model_id, cand.offering.max_output)
        provider = adapter.provider
        resp = await self.client.send(provider.slug, call, provider.timeouts)
        try:
            body = await resp.read()
        except (aiohttp.ClientError, asyncio.TimeoutError, OSError) as exc:
            raise transport_error(provider.slug, exc) from None
        finally:
            resp.release()
        if resp.status >= 300:
            raise adapter.parse_error(resp.status, resp.headers, body)
        rec.first_token_at = rec.ended = time.monotonic()
        result: Any
        if passthrough:
            result, usage, finish = adapter.passthrough_result(body, inbound.kind)  # type: ignore[attr-defined]
        elif embedding:
            result = adapter.parse_embed(body)
            usage, finish = result.usage, None
        else:
            result = adapter.parse_chat(body)
            usage, finish = result.usage, result.finish_reason
        self._served(rec, cand, attempt, resp.status)
        rec.usage = usage
        rec.cost = cand.offering.pricing.cost(usage) if usage is not None else None
        rec.finish_reason, rec.status = finish, 200
        out = door.render_passthrough(result, rec, inbound) if passthrough else door.render_result(result, rec, inbound)
        self.sink.submit(rec)
        return Outcome(200, rec.final_headers(), out)

    # ---- streaming ----

    async def _open_stream(self, door: FrontDoor, inbound: Inbound, cand: Candidate, adapter: ProviderAdapter,
                           passthrough: bool, rec: GenerationRecord, attempt: Attempt) -> Outcome:
        model_id = cand.offering.model_id
        provider = adapter.provider
        if passthrough:
            call = adapter.passthrough_call(inbound.raw, model_id, True)  # type: ignore[attr-defined]
        else:
            call = adapter.build_chat(inbound.canonical(), model_id, cand.offering.max_output)
        resp = await self.client.send(provider.slug, call, provider.timeouts)
        try:
            if resp.status >= 300:
                raise adapter.parse_error(resp.status, resp.headers, await resp.read())
            chunks = resp.content.iter_any()
            if passthrough:
                relay = adapter.passthrough_stream(inbound.wants_usage)  # type: ignore[attr-defined]
                first = b""
                while not first:
                    data = await anext(chunks, None)
                    if data is None:
                        relay.close()
                        break
                    first = relay.feed(data)
                self._served(rec, cand, attempt, resp.status)
                rec.first_token_at = time.monotonic()
                body = self._relay(door, rec, cand, resp, chunks, relay, first)
            else:
                decoder = adapter.stream_decoder()
                pending: list[Any] = []
                while not any(type(e) in _CONTENT_EVENTS for e in pending):
                    data = await anext(chunks, None)
                    if data is None:
                        pending += decoder.close()
                        break
                    pending += decoder.feed(data)
                self._served(rec, cand, attempt, resp.status)
                rec.first_token_at = time.monotonic()
                encoder = door.stream_encoder(inbound, rec)
                self._account(rec, cand, pending)
                body = self._translate(door, rec, cand, resp, chunks, decoder, encoder, encoder.encode(pending))
        except (aiohttp.ClientError, asyncio.TimeoutError, OSError) as exc:
            resp.close()
            raise transport_error(provider.slug, exc) from None
        except BaseException:
            resp.close()
            raise
        return Outcome(200, rec.start_headers(), stream=body, content_type="text/event-stream")

    def _account(self, rec: GenerationRecord, cand: Candidate, events: list[Any]) -> None:
        for ev in events:
            t = type(ev)
            if t is UsageReport:
                rec.usage = ev.usage
                rec.cost = cand.offering.pricing.cost(ev.usage)
            elif t is Finish:
                rec.finish_reason = ev.reason
            elif t is ResponseInfo and ev.model:
                rec.provider_model_id = ev.model

    async def _relay(self, door: FrontDoor, rec: GenerationRecord, cand: Candidate,
                     resp: aiohttp.ClientResponse, chunks: AsyncIterator[bytes], relay: Any,
                     first: bytes) -> AsyncIterator[bytes]:
        """Pass-through: the provider's bytes, with our metadata on the last chunk."""
        try:
            if first:
                yield first
            if not relay.done:
                async for data in chunks:
                    out = relay.feed(data)
                    if out:
                        yield out
                relay.close()
            rec.usage = relay.usage
            rec.cost = cand.offering.pricing.cost(relay.usage) if relay.usage is not None else None
            rec.finish_reason, rec.status, rec.ended = relay.finish_reason, 200, time.monotonic()
            yield relay.finish(rec)
        except (UpstreamError, aiohttp.ClientError, asyncio.TimeoutError, OSError) as exc:
            yield self._stream_failed(door, rec, cand, exc, relay.usage)
        finally:
            self._stream_closed(rec, resp)

    async def _translate(self, door: FrontDoor, rec: GenerationRecord, cand: Candidate,
                         resp: aiohttp.ClientResponse, chunks: AsyncIterator[bytes], decoder: Any, encoder: Any,
                         first: bytes) -> AsyncIterator[bytes]:
        try:
            if first:
                yield first
            async for data in chunks:
                events = decoder.feed(data)
                if events:
                    self._account(rec, cand, events)
                    out = encoder.encode(events)
                    if out:
                        yield out
            events = decoder.close()
            self._account(rec, cand, events)
            tail = encoder.encode(events)
            rec.status, rec.ended = 200, time.monotonic()
            yield tail + encoder.finish()
        except (UpstreamError, aiohttp.ClientError, asyncio.TimeoutError, OSError) as exc:
            yield self._stream_failed(door, rec, cand, exc, rec.usage)
        finally:
            self._stream_closed(rec, resp)

    def _stream_failed(self, door: FrontDoor, rec: GenerationRecord, cand: Candidate, exc: BaseException,
                       usage: Any) -> bytes:
        err = exc if isinstance(exc, UpstreamError) else transport_error(cand.offering.provider, exc)
        rec.usage = usage
        rec.cost = cand.offering.pricing.cost(usage) if usage is not None else None
        rec.status, rec.error, rec.ended = 502, err.message, time.monotonic()
        rec.attempts[-1].error = err.message
        rec.attempts[-1].category = err.category.value
        return door.stream_error(err, rec)

    def _stream_closed(self, rec: GenerationRecord, resp: aiohttp.ClientResponse) -> None:
        if rec.ended is None:  # the caller went away: closing the response cancels the upstream call
            rec.status, rec.error, rec.ended = 499, "client closed the connection", time.monotonic()
        if rec.status == 200:
            resp.release()  # fully read: the connection goes back to the pool
        else:
            resp.close()
        self.sink.submit(rec)
