"""Share provider health between gateway instances through Redis.

Every instance writes its own view (score, TTFT, throughput per provider-model, with a timestamp)
into one hash per region, ``switchyard:{region}:health``, field = instance id, every ``interval``
seconds, and reads the others' views back. The merged view of the *other* instances (the worst score,
the median TTFT and throughput) is what ``ProviderHealth.remote`` holds; each instance then judges a
provider by the worse of its own view and the shared one, so a failure one instance sees steers all
of them within about one interval. Views older than ``stale_after`` are ignored and removed.
"""

from __future__ import annotations

import asyncio
import logging
import statistics
import time
from typing import Any

import msgspec

from switchyard.health.registry import ProviderHealth

log = logging.getLogger("switchyard.health")


class SharedHealth:
    def __init__(self, health: ProviderHealth, redis: Any, instance_id: str, region: str = "default",
                 interval: float = 1.0, stale_after: float = 10.0) -> None:
        self.health = health
        self.redis = redis  # a redis.asyncio.Redis
        self.instance_id = instance_id
        self.key = f"switchyard:{region}:health"
        self.interval = interval
        self.stale_after = stale_after
        self._task: asyncio.Task[None] | None = None

    def _own_view(self) -> bytes:
        view: dict[str, list[Any]] = {}
        now = self.health.clock()
        for (provider, model_id), s in list(self.health._stats.items()):
            if s.requests:
                view[f"{provider}\x1f{model_id}"] = [round(s.score(now), 4), s.ttft.value, s.tps.value]
        return msgspec.json.encode({"ts": time.time(), "view": view})

    async def sync(self) -> None:
        """Publish this instance's view and merge the others'. One round trip each way."""
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.hset(self.key, self.instance_id, self._own_view())
            pipe.hgetall(self.key)
            _, everyone = await pipe.execute()
        now = time.time()
        scores: dict[tuple[str, str], list[float]] = {}
        ttfts: dict[tuple[str, str], list[float]] = {}
        tpss: dict[tuple[str, str], list[float]] = {}
        stale = []
        for instance, raw in everyone.items():
            instance = instance.decode() if isinstance(instance, bytes) else instance
            if instance == self.instance_id:
                continue
            try:
                data = msgspec.json.decode(raw)
            except msgspec.DecodeError:
                stale.append(instance)
                continue
            if now - float(data.get("ts", 0)) > self.stale_after:
                stale.append(instance)
                continue
            for name, (score, ttft, tps) in data.get("view", {}).items():
                provider, _, model_id = name.partition("\x1f")
                key = (provider, model_id)
                scores.setdefault(key, []).append(float(score))
                if ttft is not None:
                    ttfts.setdefault(key, []).append(float(ttft))
                if tps is not None:
                    tpss.setdefault(key, []).append(float(tps))
        self.health.remote = {
            key: (min(vals), statistics.median(ttfts[key]) if key in ttfts else None,
                  statistics.median(tpss[key]) if key in tpss else None)
            for key, vals in scores.items()
        }
        if stale:
            await self.redis.hdel(self.key, *stale)

    def start(self) -> None:
        async def loop() -> None:
            while True:
                try:
                    await self.sync()
                except asyncio.CancelledError:
                    raise
                except Exception as exc:  # noqa: BLE001 - Redis down: keep routing on the local view
                    log.warning("health sharing through Redis failed: %s", type(exc).__name__)
                await asyncio.sleep(self.interval)

        self._task = asyncio.get_running_loop().create_task(loop())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
            self._task = None
        try:
            await self.redis.hdel(self.key, self.instance_id)
        except Exception:  # noqa: BLE001 - best effort on shutdown
            pass
