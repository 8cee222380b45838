"""One attempt: send the request to one provider and turn its answer into an Outcome.

Failover is possible until the first byte goes to the caller. For a stream that means until the
first event with content: an error event or a cut connection before that raises, so the executor
moves on; after it, the stream ends with an error event in the caller's format.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

from switchyard.canonical import (
    EmbedResult,
    Finish,
    ReasoningDelta,
    ResponseInfo,
    TextDelta,
    ToolCallStart,
    Usage,
    UsageReport,
)
from switchyard.errors import GatewayError, UpstreamError
from switchyard.gateway.frontdoor import FrontDoor
from switchyard.gateway.inbound import Inbound
from switchyard.gateway.outcome import Outcome
from switchyard.health.registry import ProviderHealth
from switchyard.providers.base import ProviderAdapter, UpstreamCall
from switchyard.routing.plan import Candidate
from switchyard.telemetry.record import Attempt, GenerationRecord
from switchyard.telemetry.store import RecordSink
from switchyard.upstream.client import UpstreamClient, transport_error
from switchyard.upstream.response import Response

_CONTENT_EVENTS = (TextDelta, ReasoningDelta, ToolCallStart, Finish)
_TRANSPORT = (asyncio.TimeoutError, OSError)
_EMBED_FANOUT = 8  # concurrent calls for providers that embed one input per request  # what the upstream client raises (its errors are OSErrors)


def now_ms() -> float:
    return time.time() * 1000


class AttemptRun:
    """Everything one attempt needs; created per attempt, not shared."""

    __slots__ = ("door", "inbound", "cand", "adapter", "passthrough", "rec", "attempt", "t0", "client",
                 "health", "sink")

    def __init__(self, door: FrontDoor, inbound: Inbound, cand: Candidate, adapter: ProviderAdapter,
                 rec: GenerationRecord, client: UpstreamClient, health: ProviderHealth, sink: RecordSink) -> None:
        self.door = door
        self.inbound = inbound
        self.cand = cand
        self.adapter = adapter
        self.passthrough = door.protocol == (adapter.passthrough_protocol or adapter.protocol)
        self.rec = rec
        self.attempt = Attempt(cand.offering.provider, cand.model.id, cand.offering.model_id, now_ms())
        self.t0 = time.monotonic()
        self.client = client
        self.health = health
        self.sink = sink
        rec.attempts.append(self.attempt)
        health.begin(cand.offering.provider, cand.offering.model_id)

    # ---- bookkeeping ----

    def failed(self, err: GatewayError) -> None:
        a = self.attempt
        a.end_ms = now_ms()
        a.error = err.message
        a.category = err.category.value
        if isinstance(err, UpstreamError) and err.upstream_status:
            a.status = err.upstream_status
        self.health.end(a.provider, a.provider_model_id, category=a.category, latency=time.monotonic() - self.t0,
                        retry_after=err.retry_after)

    def abandoned(self, why: str) -> None:
        """Cancelled before it finished (caller gone, or another hedged attempt won)."""
        a = self.attempt
        if not a.end_ms:
            a.end_ms, a.error = now_ms(), why
        a.category, a.success = "cancelled", False
        self.health.end(a.provider, a.provider_model_id, category="cancelled")

    def served(self, status: int) -> None:
        a, rec, cand = self.attempt, self.rec, self.cand
        a.end_ms, a.success, a.status = now_ms(), True, status
        for other in rec.attempts:  # a hedged twin still running is about to be cancelled
            if other is not a and not other.end_ms:
                other.end_ms, other.category = a.end_ms, "cancelled"
                other.error = "cancelled: another attempt answered first"
        rec.model, rec.provider, rec.provider_model_id = cand.model.id, cand.offering.provider, cand.offering.model_id

    def _finished_ok(self) -> None:
        rec = self.rec
        ttft = rec.first_token_at - self.t0 if rec.first_token_at is not None and rec.stream else None
        self.health.end(self.attempt.provider, self.attempt.provider_model_id, category=None,
                        latency=time.monotonic() - self.t0, ttft=ttft,
                        output_tokens=rec.usage.output_tokens if rec.usage else None)

    def _call(self) -> Any:
        inbound, cand, adapter = self.inbound, self.cand, self.adapter
        if self.passthrough:
            call = adapter.passthrough_call(inbound.raw, cand.offering.model_id, inbound.stream,  # type: ignore[attr-defined]
                                            inbound.kind)
        elif inbound.kind == "embedding":
            call = adapter.build_embed(inbound.canonical(), cand.offering.model_id)
        else:
            call = adapter.build_chat(inbound.canonical(), cand.offering.model_id, cand.offering.max_output)
        byok = getattr(self.rec.principal, "byok", None)
        key = byok.get(cand.offering.provider) if byok else None
        if key and not isinstance(call, list):  # the caller's own key for this provider, for this request only
            own = adapter.with_key(call, key)
            if own is not None:
                call = own
                self.attempt.credential = "byok"
        return call

    # ---- non-streaming ----

    async def _exchange(self, call: UpstreamCall) -> tuple[Response, bytes]:
        provider = self.adapter.provider
        resp = await self.client.send(provider.slug, call, provider.timeouts)
        try:
            body = await resp.read()
        except _TRANSPORT as exc:
            raise transport_error(provider.slug, exc) from None
        finally:
            resp.release()
        if resp.status >= 300:
            raise self.adapter.parse_error(resp.status, resp.headers, body)
        return resp, body  # headers are parsed only if asked for (embeddings read token counts there)

    async def _embed_many(self, calls: list[UpstreamCall]) -> tuple[int, EmbedResult]:
        """A provider that embeds one input per request (Titan): the calls go out concurrently, a
        few at a time, and the vectors come back in input order."""
        results: list[EmbedResult] = []
        for i in range(0, len(calls), _EMBED_FANOUT):
            done = await asyncio.gather(*(self._exchange(c) for c in calls[i:i + _EMBED_FANOUT]))
            results += [self.adapter.parse_embed(body, headers=resp.headers) for resp, body in done]
        tokens = sum(r.usage.input_tokens for r in results if r.usage is not None)
        merged = EmbedResult([v for r in results for v in r.embeddings],
                             Usage(input_tokens=tokens) if tokens else None, results[0].model if results else None)
        return 200, merged

    async def complete(self) -> Outcome:
        adapter, rec, inbound = self.adapter, self.rec, self.inbound
        call = self._call()
        resp: Response | None = None
        if isinstance(call, list):
            status, result = await self._embed_many(call)
            body = b""
        else:
            resp, body = await self._exchange(call)
            status = resp.status
        rec.first_token_at = rec.ended = time.monotonic()
        if self.passthrough:
            result, usage, finish = adapter.passthrough_result(body, inbound.kind)  # type: ignore[attr-defined]
        elif inbound.kind == "embedding":
            if resp is not None:
                result = adapter.parse_embed(body, headers=resp.headers)
            usage, finish = result.usage, None
            if usage is None:  # some providers (Gemini) report no tokens for embeddings: ~4 chars a token
                chars = sum(len(text) for text in inbound.canonical().inputs)
                usage = result.usage = Usage(input_tokens=max(1, -(-chars // 4)))
        else:
            result = adapter.parse_chat(body)
            usage, finish = result.usage, result.finish_reason
        self.served(status)
        rec.usage = usage
        rec.cost = self.cand.offering.pricing.cost(usage) if usage is not None else None
        rec.finish_reason, rec.status = finish, 200
        self._finished_ok()
        door = self.door
        out = door.render_passthrough(result, rec, inbound) if self.passthrough else door.render_result(result, rec, inbound)
        self.sink.submit(rec)
        return Outcome(200, rec.final_headers(), out)

    # ---- streaming ----

    async def open_stream(self) -> Outcome:
        """Send, and read until the first content: until then a failure raises (failover)."""
        adapter, rec = self.adapter, self.rec
        provider = adapter.provider
        call = self._call()
        resp = await self.client.send(provider.slug, call, provider.timeouts)
        try:
            if resp.status >= 300:
                raise adapter.parse_error(resp.status, resp.headers, await resp.read())
            chunks = resp.content.iter_any()
            if self.passthrough:
                relay = adapter.passthrough_stream(self.inbound.wants_usage)  # type: ignore[attr-defined]
                first = b""
                while not first:
                    data = await anext(chunks, None)
                    if data is None:
                        relay.close()
                        break
                    first = relay.feed(data)
                self.served(resp.status)
                rec.first_token_at = time.monotonic()
                body = RelayStream(self, resp, chunks, relay, first)
            else:
                decoder = adapter.stream_decoder()
                pending: list[Any] = []
                while not any(type(e) in _CONTENT_EVENTS for e in pending):
                    data = await anext(chunks, None)
                    if data is None:
                        pending += decoder.close()
                        break
                    pending += decoder.feed(data)
                self.served(resp.status)
                rec.first_token_at = time.monotonic()
                encoder = self.door.stream_encoder(self.inbound, rec)
                self._account(pending)
                body = self._translate(resp, chunks, decoder, encoder, encoder.encode(pending))
        except _TRANSPORT as exc:
            resp.close()
            raise transport_error(provider.slug, exc) from None
        except BaseException:
            resp.close()
            raise
        return Outcome(200, rec.start_headers(), stream=body, content_type="text/event-stream")

    def _account(self, events: list[Any]) -> None:
        rec = self.rec
        for ev in events:
            t = type(ev)
            if t is UsageReport:
                rec.usage = ev.usage
                rec.cost = self.cand.offering.pricing.cost(ev.usage)
            elif t is Finish:
                rec.finish_reason = ev.reason
            elif t is ResponseInfo and ev.model:
                rec.provider_model_id = ev.model

    async def _relay(self, resp: Response, chunks: AsyncIterator[bytes], relay: Any,
                     first: bytes) -> AsyncIterator[bytes]:
        """Pass-through: the provider's bytes, with our metadata on the last chunk."""
        rec = self.rec
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
            rec.cost = self.cand.offering.pricing.cost(relay.usage) if relay.usage is not None else None
            rec.finish_reason, rec.status, rec.ended = relay.finish_reason, 200, time.monotonic()
            self._finished_ok()
            yield relay.finish(rec)
        except (UpstreamError, *_TRANSPORT) as exc:
            yield self._stream_failed(exc, relay.usage)
        finally:
            self._stream_closed(resp)

    async def _translate(self, resp: Response, chunks: AsyncIterator[bytes], decoder: Any,
                         encoder: Any, first: bytes) -> AsyncIterator[bytes]:
        rec = self.rec
        try:
            if first:
                yield first
            async for data in chunks:
                events = decoder.feed(data)
                if events:
                    self._account(events)
                    out = encoder.encode(events)
                    if out:
                        yield out
            events = decoder.close()
            self._account(events)
            tail = encoder.encode(events)
            rec.status, rec.ended = 200, time.monotonic()
            self._finished_ok()
            yield tail + encoder.finish()
        except (UpstreamError, *_TRANSPORT) as exc:
            yield self._stream_failed(exc, rec.usage, encoder)
        finally:
            self._stream_closed(resp)

    def _stream_failed(self, exc: BaseException, usage: Any, encoder: Any = None) -> bytes:
        rec = self.rec
        err = exc if isinstance(exc, UpstreamError) else transport_error(self.cand.offering.provider, exc)
        rec.usage = usage
        rec.cost = self.cand.offering.pricing.cost(usage) if usage is not None else None
        rec.status, rec.error, rec.ended = 502, err.message, time.monotonic()
        self.failed(err)
        self.attempt.success = False
        # An encoder that numbers or nests its events (Responses, Anthropic) ends the stream itself.
        fail = getattr(encoder, "fail", None)
        return fail(err) if fail is not None else self.door.stream_error(err, rec)

    def _stream_closed(self, resp: Response) -> None:
        rec = self.rec
        if rec.ended is None:  # the caller went away: closing the response cancels the upstream call
            rec.status, rec.error, rec.ended = 499, "client closed the connection", time.monotonic()
            self.health.end(self.attempt.provider, self.attempt.provider_model_id, category="cancelled")
        if rec.status == 200:
            resp.release()  # fully read: the connection goes back to the pool
        else:
            resp.close()
        self.sink.submit(rec)


class RelayStream:
    """A pass-through stream body. Iterated (pull mode) it is ``AttemptRun._relay``; a server that can
    takes the rest of the body with ``pump`` (push mode): each upstream read goes through the relay
    and straight to the caller's socket from the upstream protocol's callback, with no task woken
    per chunk, and the caller's write buffer throttles the provider's socket."""

    __slots__ = ("_run", "_resp", "_chunks", "_relay", "_first", "_gen", "_owned")

    def __init__(self, run: AttemptRun, resp: Response, chunks: AsyncIterator[bytes], relay: Any,
                 first: bytes) -> None:
        self._run, self._resp, self._chunks, self._relay, self._first = run, resp, chunks, relay, first
        self._gen: Any = None
        self._owned = False  # pump or the generator has taken over closing

    def __aiter__(self) -> RelayStream:
        return self

    async def __anext__(self) -> bytes:
        first = self._first
        if first:
            self._first = b""
            return first
        if self._gen is None:
            self._owned = True
            self._gen = self._run._relay(self._resp, self._chunks, self._relay, b"")
        return await self._gen.__anext__()  # type: ignore[no-any-return]

    async def aclose(self) -> None:
        if self._gen is not None:
            await self._gen.aclose()
        elif not self._owned:  # never started (HEAD, the caller went away): account for it once
            self._owned = True
            self._run._stream_closed(self._resp)

    async def pump(self, write: Callable[[bytes], None], flow: Any) -> bytes:
        """Write the body as it arrives; return its last piece (our metadata, or the error event),
        which the server sends together with the end of the body: one write, not two. ``write(b"")``
        before waiting for the provider lets the server send what it holds (head, first chunk);
        when the provider's answer is already complete, the server sends all of it at once."""
        run, relay, resp = self._run, self._relay, self._resp
        rec = run.rec
        self._owned = True
        tail: list[bytes] = []  # what came in the read that ended the stream: sent with the last piece
        try:
            if self._first:
                write(self._first)
                self._first = b""
            if not relay.done:
                write(b"")  # everything so far goes out before we wait for the provider
                feed = relay.feed

                def on_data(data: bytes) -> None:
                    out = feed(data)
                    if out:
                        if relay.done:  # [DONE] was in this read: only the end of the body is left
                            tail.append(out)
                        else:
                            write(out)

                flow.on_write_pause, flow.on_write_resume = resp.pause_reading, resp.resume_reading
                await resp.push(on_data)
                relay.close()
            rec.usage = relay.usage
            rec.cost = run.cand.offering.pricing.cost(relay.usage) if relay.usage is not None else None
            rec.finish_reason, rec.status, rec.ended = relay.finish_reason, 200, time.monotonic()
            run._finished_ok()
            return b"".join(tail) + relay.finish(rec)  # type: ignore[no-any-return]
        except (UpstreamError, *_TRANSPORT) as exc:
            return b"".join(tail) + run._stream_failed(exc, relay.usage)
        finally:
            run._stream_closed(resp)
