"""Prometheus metrics, fed from finished generation records (a RecordSink) so that nothing is
measured twice and the hot path pays only for one sink call per request.

Names follow the OpenTelemetry GenAI semantic conventions where they exist
(``gen_ai.client.operation.duration``, ``gen_ai.client.token.usage``,
``gen_ai.server.time_to_first_token``), with dots as underscores and the unit as a suffix, as the
OpenTelemetry-to-Prometheus mapping does. The rest are ``switchyard_*``.

With ``serve --workers N`` every worker keeps its own counters and writes a snapshot of them to a
directory the workers share, once a second and when it stops; a scrape, whichever worker the
kernel hands it to, renders its own live counters plus the others' last snapshots (at most a
second old). Process figures (memory, CPU, event-loop lag, active requests) stay the answering
worker's own.
"""

from __future__ import annotations

import asyncio
import logging
import os
from bisect import bisect_left
from collections.abc import Callable, Iterable
from typing import Any

import msgspec
from prometheus_client import CollectorRegistry, Gauge, generate_latest
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
)
from prometheus_client.process_collector import ProcessCollector
from prometheus_client.utils import floatToGoString

from switchyard.telemetry.record import GenerationRecord

log = logging.getLogger("switchyard.metrics")

_DURATION_BUCKETS = (0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92)
_TOKEN_BUCKETS = (1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304)
_CIRCUIT = {"closed": 0, "half_open": 1, "open": 2}


class _CircuitCollector:
    """Circuit state and health score per provider-model, read from the health registry at scrape."""

    def __init__(self, snapshot: Callable[[], list[dict[str, Any]]]) -> None:
        self.snapshot = snapshot

    def collect(self) -> Iterable[GaugeMetricFamily]:
        state = GaugeMetricFamily("switchyard_circuit_state",
                                  "Circuit breaker per provider-model: 0 closed, 1 half-open, 2 open",
                                  labels=["provider", "provider_model"])
        score = GaugeMetricFamily("switchyard_provider_health_score",
                                  "Health score per provider-model (1 = answers everything)",
                                  labels=["provider", "provider_model"])
        active = GaugeMetricFamily("switchyard_provider_active_requests", "Attempts in flight per provider-model",
                                   labels=["provider", "provider_model"])
        for s in self.snapshot():
            labels = [str(s["provider"]), str(s["model"])]
            state.add_metric(labels, _CIRCUIT.get(str(s["circuit"]), 0))
            score.add_metric(labels, float(s["score"]))  # type: ignore[arg-type]
            active.add_metric(labels, float(s["active"]))  # type: ignore[arg-type]
        yield state
        yield score
        yield active


class _Counter:
    """A labelled counter kept in a plain dict of one-element lists: no locks (the event loop is
    single-threaded), and a cached series adds to its cell in place; rendered by the collector at
    scrape time."""

    __slots__ = ("name", "doc", "labels", "values")

    def __init__(self, name: str, doc: str, labels: list[str]) -> None:
        self.name, self.doc, self.labels = name, doc, labels
        self.values: dict[tuple[str, ...], list[float]] = {}

    def cell(self, key: tuple[str, ...]) -> list[float]:
        v = self.values.get(key)
        if v is None:
            v = self.values[key] = [0.0]
        return v

    def inc(self, key: tuple[str, ...], n: float = 1.0) -> None:
        self.cell(key)[0] += n

    def family(self, others: list[dict[tuple[str, ...], list[float]]] | None = None) -> CounterMetricFamily:
        f = CounterMetricFamily(self.name, self.doc, labels=self.labels)
        for key, value in _summed(self.values, others).items():
            f.add_metric(list(key), value[0])
        return f


class _Histogram:
    __slots__ = ("name", "doc", "labels", "buckets", "values")

    def __init__(self, name: str, doc: str, labels: list[str], buckets: tuple[float, ...]) -> None:
        self.name, self.doc, self.labels, self.buckets = name, doc, labels, buckets
        self.values: dict[tuple[str, ...], list[float]] = {}  # per-bucket counts (+Inf last), then the sum

    def cell(self, key: tuple[str, ...]) -> list[float]:
        v = self.values.get(key)
        if v is None:
            v = self.values[key] = [0.0] * (len(self.buckets) + 2)
        return v

    def observe(self, key: tuple[str, ...], value: float) -> None:
        _observe(self.cell(key), self.buckets, value)

    def family(self, others: list[dict[tuple[str, ...], list[float]]] | None = None) -> HistogramMetricFamily:
        f = HistogramMetricFamily(self.name, self.doc, labels=self.labels)
        for key, v in _summed(self.values, others).items():
            cumulative, running = [], 0.0
            for bound, count in zip((*self.buckets, float("inf")), v[:-1]):
                running += count
                cumulative.append((floatToGoString(bound), running))
            f.add_metric(list(key), cumulative, sum_value=v[-1])
        return f


def _summed(own: dict[tuple[str, ...], list[float]],
            others: list[dict[tuple[str, ...], list[float]]] | None) -> dict[tuple[str, ...], list[float]]:
    """This worker's cells plus the other workers' (cell by cell), when there are others."""
    if not others:
        return own
    out = {key: list(v) for key, v in own.items()}
    for values in others:
        for key, v in values.items():
            mine = out.get(key)
            if mine is None or len(mine) != len(v):
                out[key] = list(v)
            else:
                for i, x in enumerate(v):
                    mine[i] += x
    return out


def _observe(cell: list[float], buckets: tuple[float, ...], value: float) -> None:
    cell[bisect_left(buckets, value)] += 1
    cell[-1] += value


class _Series:
    """The cells one label set of requests adds to (usage cells once a request of it had usage)."""

    __slots__ = ("duration", "requests", "usage_in", "usage_out", "tokens_in", "tokens_out")

    def __init__(self, duration: list[float], requests: list[float]) -> None:
        self.duration, self.requests = duration, requests
        self.usage_in: list[float] | None = None
        self.usage_out: list[float] | None = None
        self.tokens_in: list[float] = []
        self.tokens_out: list[float] = []


class _Families:
    def __init__(self, metrics: list[_Counter | _Histogram],
                 others: Callable[[], dict[str, list[dict[tuple[str, ...], list[float]]]]]) -> None:
        self.metrics, self.others = metrics, others

    def collect(self) -> Iterable[CounterMetricFamily | HistogramMetricFamily]:
        others = self.others()
        for m in self.metrics:
            yield m.family(others.get(m.name, []))


class Metrics:
    def __init__(self, health_snapshot: Callable[[], list[dict[str, Any]]] | None = None,
                 active_requests: Callable[[], int] | None = None,
                 upstream_connections: Callable[[], int] | None = None,
                 share_dir: str | None = None, worker: str | None = None) -> None:
        """``share_dir``: where the workers of one ``serve --workers N`` leave snapshots of their
        counters, so that a scrape of any of them sums all (``worker`` names this one's file)."""
        self.share_dir, self.worker = share_dir, worker or str(os.getpid())
        r = self.registry = CollectorRegistry(auto_describe=True)
        ProcessCollector(registry=r)  # process_resident_memory_bytes, CPU seconds, open fds
        base = ["gen_ai_operation_name", "gen_ai_request_model", "gen_ai_provider_name", "key"]
        self.duration = _Histogram("gen_ai_client_operation_duration_seconds", "Duration of gateway operations",
                                   base + ["error_type"], _DURATION_BUCKETS)
        self.ttft = _Histogram("gen_ai_server_time_to_first_token_seconds", "Time to first token of streams",
                               ["gen_ai_request_model", "gen_ai_provider_name"], _DURATION_BUCKETS)
        self.token_usage = _Histogram("gen_ai_client_token_usage", "Tokens used per operation",
                                      base + ["gen_ai_token_type"], _TOKEN_BUCKETS)
        self.requests = _Counter("switchyard_requests", "Requests by outcome", base + ["status"])
        self.tokens = _Counter("switchyard_tokens", "Tokens by type", base + ["type"])
        self.cost = _Counter("switchyard_cost_usd", "Cost in USD", base)
        self.attempts = _Counter("switchyard_attempts", "Provider attempts by outcome",
                                 ["gen_ai_provider_name", "gen_ai_request_model", "outcome"])
        self.fallbacks = _Counter("switchyard_model_fallbacks", "Requests served by a fallback model",
                                  ["requested_model", "served_model"])
        self.retries = _Counter("switchyard_retries", "Failed attempts followed by another attempt",
                                ["gen_ai_provider_name"])
        self._families = [self.duration, self.ttft, self.token_usage, self.requests, self.tokens, self.cost,
                          self.attempts, self.fallbacks, self.retries]
        r.register(_Families(self._families, self._other_workers))  # type: ignore[arg-type]
        self.loop_lag = Gauge("switchyard_event_loop_lag_seconds", "Event loop lag, last measured", registry=r)
        if health_snapshot is not None:
            r.register(_CircuitCollector(health_snapshot))  # type: ignore[arg-type]
        if active_requests is not None:
            Gauge("switchyard_active_requests", "Requests being served", registry=r).set_function(active_requests)
        if upstream_connections is not None:
            Gauge("switchyard_upstream_connections", "Open connections to providers",
                  registry=r).set_function(upstream_connections)
        self._lag_task: asyncio.Task[None] | None = None
        self._series: dict[tuple[Any, ...], _Series] = {}

    # ---- RecordSink ----

    def submit(self, rec: GenerationRecord) -> None:
        op = "embeddings" if rec.kind == "embedding" else "chat"
        key = getattr(rec.principal, "key_id", None) or "anonymous"
        provider = rec.provider or "none"
        model = rec.requested_model
        error_type = "" if rec.status < 400 else (rec.attempts[-1].category if rec.attempts and
                                                  rec.attempts[-1].category else str(rec.status))
        # The cells this kind of request adds to, looked up once per label set rather than per sample
        # (each is created on first use, so no series appears before it has something to count).
        series = self._series.get((op, model, provider, key, rec.status, error_type))
        if series is None:
            series = self._new_series(op, model, provider, key, rec.status, error_type)
        _observe(series.duration, _DURATION_BUCKETS, rec.latency_ms / 1000)
        series.requests[0] += 1
        ttft = rec.ttft_ms
        if rec.stream and ttft is not None and rec.provider:
            self.ttft.observe((model, provider), ttft / 1000)
        u = rec.usage
        if u is not None:
            if series.usage_in is None:
                self._add_usage_cells(series, op, model, provider, key)
            _observe(series.usage_in, _TOKEN_BUCKETS, u.input_tokens)
            if series.usage_out is not None:
                _observe(series.usage_out, _TOKEN_BUCKETS, u.output_tokens)
            series.tokens_in[0] += u.input_tokens
            series.tokens_out[0] += u.output_tokens
            for kind, n in (("cached", u.cache_read_tokens), ("cache_write", u.cache_write_tokens),
                            ("reasoning", u.reasoning_tokens)):
                if n:
                    self.tokens.inc((op, model, provider, key, kind), n)
        if rec.cost:
            self.cost.inc((op, model, provider, key), rec.cost)
        for i, a in enumerate(rec.attempts):
            self.attempts.inc((a.provider, a.model, "success" if a.success else (a.category or "error")))
            if not a.success and i < len(rec.attempts) - 1 and a.category != "cancelled":
                self.retries.inc((a.provider,))
        if rec.model and rec.model != rec.requested_model:
            self.fallbacks.inc((rec.requested_model, rec.model))

    def _new_series(self, op: str, model: str, provider: str, key: str, status: int, error_type: str) -> _Series:
        series = _Series(self.duration.cell((op, model, provider, key, error_type)),
                         self.requests.cell((op, model, provider, key, str(status))))
        self._series[(op, model, provider, key, status, error_type)] = series
        return series

    def _add_usage_cells(self, series: _Series, op: str, model: str, provider: str, key: str) -> None:
        base = (op, model, provider, key)
        series.usage_in = self.token_usage.cell((*base, "input"))
        series.usage_out = self.token_usage.cell((*base, "output")) if op == "chat" else None
        series.tokens_in = self.tokens.cell((*base, "input"))
        series.tokens_out = self.tokens.cell((*base, "output"))

    def render(self) -> bytes:
        return generate_latest(self.registry)

    # ---- several workers: snapshots in a shared directory ----

    def write_snapshot(self) -> None:
        """This worker's counters and histograms, to ``share_dir/<worker>.msgpack`` (replaced whole)."""
        if self.share_dir is None:
            return
        data = {m.name: [[list(key), v] for key, v in m.values.items()] for m in self._families}
        path = os.path.join(self.share_dir, f"{self.worker}.msgpack")
        try:
            with open(path + ".tmp", "wb") as fh:
                fh.write(msgspec.msgpack.encode(data))
            os.replace(path + ".tmp", path)
        except OSError as e:  # metrics must never take a worker down
            log.warning("metrics: cannot write %s: %s", path, e)

    def _other_workers(self) -> dict[str, list[dict[tuple[str, ...], list[float]]]]:
        """The other workers' last snapshots (at most a snapshot interval old), by metric name."""
        out: dict[str, list[dict[tuple[str, ...], list[float]]]] = {}
        if self.share_dir is None:
            return out
        mine = f"{self.worker}.msgpack"
        try:
            names = [n for n in os.listdir(self.share_dir) if n.endswith(".msgpack") and n != mine]
        except OSError:
            return out
        for name in names:
            try:
                with open(os.path.join(self.share_dir, name), "rb") as fh:
                    data = msgspec.msgpack.decode(fh.read())
            except (OSError, msgspec.DecodeError):
                continue  # a worker that is writing its first snapshot, or is gone
            for metric, rows in data.items():
                out.setdefault(metric, []).append({tuple(key): values for key, values in rows})
        return out

    # ---- background: event-loop lag, snapshots ----

    def start(self, interval: float = 0.5) -> None:
        async def measure() -> None:
            loop = asyncio.get_running_loop()
            n = 0
            while True:
                start = loop.time()
                await asyncio.sleep(interval)
                self.loop_lag.set(max(0.0, loop.time() - start - interval))
                n += 1
                if self.share_dir is not None and n % 2 == 0:  # every second
                    self.write_snapshot()

        self._lag_task = asyncio.get_running_loop().create_task(measure())

    async def stop(self) -> None:
        if self._lag_task is not None:
            self._lag_task.cancel()
            try:
                await self._lag_task
            except asyncio.CancelledError:
                pass
            self._lag_task = None
        self.write_snapshot()  # what this worker counted stays in the others' sums
