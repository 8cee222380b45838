"""Active probes: a cheap streamed request to a provider on an interval (with jitter), measuring what
live traffic measures, so that an idle provider's health is known too. Probe results feed the
health registry only: they are not generation records and are not billed to anyone."""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Mapping
from typing import Any

import msgspec

from switchyard.canonical import ChatRequest, Message, TextPart, UsageReport
from switchyard.catalog import Catalog
from switchyard.errors import GatewayError
from switchyard.health.registry import ProviderHealth
from switchyard.providers.base import ProviderAdapter
from switchyard.upstream.client import transport_error

log = logging.getLogger("switchyard.health")


class ProbeConfig(msgspec.Struct, frozen=True):
    provider: str
    model: str  # catalog id, e.g. openai/gpt-4o-mini
    interval: float = 30.0  # seconds between probes
    jitter: float = 0.2  # +/- this fraction of the interval, so instances don't probe in step
    prompt: str = "Reply with one word: ok"
    max_tokens: int = 4


class Prober:
    def __init__(self, probes: list[ProbeConfig], catalog: Catalog, adapters: Mapping[str, ProviderAdapter],
                 client: Any, health: ProviderHealth, rng: random.Random | None = None) -> None:
        self.probes = [p for p in probes if self._usable(p, catalog, adapters)]
        self.catalog = catalog
        self.adapters = adapters
        self.client = client
        self.health = health
        self.rng = rng or random.Random()
        self.sent = 0
        self._tasks: list[asyncio.Task[None]] = []

    @staticmethod
    def _usable(p: ProbeConfig, catalog: Catalog, adapters: Mapping[str, ProviderAdapter]) -> bool:
        model = catalog.get(p.model)
        if p.provider not in adapters or model is None or model.offering(p.provider) is None:
            log.warning("probe for %s via %s ignored: not a configured model and provider", p.model, p.provider)
            return False
        return True

    def start(self) -> None:
        loop = asyncio.get_running_loop()
        self._tasks = [loop.create_task(self._loop(p)) for p in self.probes]

    async def stop(self) -> None:
        for t in self._tasks:
            t.cancel()
        for t in self._tasks:
            try:
                await t
            except asyncio.CancelledError:
                pass
        self._tasks = []

    async def _loop(self, p: ProbeConfig) -> None:
        while True:
            await asyncio.sleep(max(0.01, p.interval * (1 + self.rng.uniform(-p.jitter, p.jitter))))
            try:
                await self.probe(p)
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001 - a probe bug must not stop probing
                log.exception("probe %s via %s failed unexpectedly", p.model, p.provider)

    async def probe(self, p: ProbeConfig) -> None:
        model = self.catalog.get(p.model)
        assert model is not None
        offering = model.offering(p.provider)
        assert offering is not None
        adapter = self.adapters[p.provider]
        request = ChatRequest(model=p.model, messages=[Message("user", [TextPart(p.prompt)])],
                              max_tokens=p.max_tokens, stream=True)
        self.health.begin(p.provider, offering.model_id)
        self.sent += 1
        t0 = time.monotonic()
        ttft: float | None = None
        tokens: int | None = None
        try:
            if adapter.prepare is not None:
                await adapter.prepare()
            call = adapter.build_chat(request, offering.model_id, offering.max_output)
            resp = await self.client.send(p.provider, call, adapter.provider.timeouts)
            try:
                if resp.status >= 300:
                    raise adapter.parse_error(resp.status, resp.headers, await resp.read())
                decoder = adapter.stream_decoder()
                async for data in resp.content.iter_any():
                    for ev in decoder.feed(data):
                        if ttft is None and type(ev) is not UsageReport:
                            ttft = time.monotonic() - t0
                        if type(ev) is UsageReport:
                            tokens = ev.usage.output_tokens
                for ev in decoder.close():
                    if type(ev) is UsageReport:
                        tokens = ev.usage.output_tokens
            finally:
                resp.close()
        except GatewayError as err:
            self.health.end(p.provider, offering.model_id, category=err.category.value,
                            latency=time.monotonic() - t0, retry_after=err.retry_after)
            return
        except (OSError, asyncio.TimeoutError) as exc:
            err = transport_error(p.provider, exc)
            self.health.end(p.provider, offering.model_id, category=err.category.value,
                            latency=time.monotonic() - t0)
            return
        except asyncio.CancelledError:
            self.health.end(p.provider, offering.model_id, category="cancelled")
            raise
        self.health.end(p.provider, offering.model_id, category=None, latency=time.monotonic() - t0,
                        ttft=ttft, output_tokens=tokens)
