"""Lease syncs against Redis: every key due in one tick goes in one pipeline of ``EVALSHA`` (one round
trip, no ``SCRIPT EXISTS`` per call: the script is loaded once and again only after ``NOSCRIPT``,
e.g. when Redis restarted empty)."""

from __future__ import annotations

import asyncio
import hashlib
from typing import Any

from redis import exceptions as rexc

from switchyard.quotas.backend import Reply
from switchyard.quotas.lua import SYNC

SHA = hashlib.sha1(SYNC.encode()).hexdigest()


class RedisBackend:
    def __init__(self, url: str | None = None, client: Any = None, timeout: float = 2.0) -> None:
        if client is None:
            import redis.asyncio as aioredis

            client = aioredis.from_url(url, socket_timeout=timeout, socket_connect_timeout=timeout,
                                       health_check_interval=0, retry_on_timeout=False)
            self._owned = True
        else:
            self._owned = False
        self.redis = client
        self.timeout = timeout
        self._loaded = False

    async def _load(self) -> None:
        sha = await self.redis.script_load(SYNC)
        assert (sha.decode() if isinstance(sha, bytes) else sha) == SHA
        self._loaded = True

    async def sync(self, ops: list[tuple[tuple[str, str, str], list[Any]]]) -> list[Reply | BaseException]:
        """One pipeline for every op. Raises on a connection failure (nothing is known to be applied;
        retries are safe: each op carries its lease's sequence number)."""
        if not self._loaded:
            await asyncio.wait_for(self._load(), self.timeout)
        raw = await self._run(ops)
        missing = [i for i, r in enumerate(raw) if isinstance(r, rexc.NoScriptError)]
        if missing:  # Redis restarted empty: load the script and run just those (they did not run)
            await asyncio.wait_for(self._load(), self.timeout)
            again = await self._run([ops[i] for i in missing])
            for i, r in zip(missing, again):
                raw[i] = r
        return [r if isinstance(r, BaseException) else Reply(r) for r in raw]

    async def _run(self, ops: list[tuple[tuple[str, str, str], list[Any]]]) -> list[Any]:
        async with self.redis.pipeline(transaction=False) as pipe:
            for keys, args in ops:
                pipe.evalsha(SHA, 3, *keys, *args)
            return list(await asyncio.wait_for(pipe.execute(raise_on_error=False), self.timeout))

    async def spent(self, budget_keys: list[str]) -> list[float]:
        async with self.redis.pipeline(transaction=False) as pipe:
            for k in budget_keys:
                pipe.hget(k, "spent")
            raw = await asyncio.wait_for(pipe.execute(), self.timeout)
        return [float(v) if v is not None else 0.0 for v in raw]

    async def close(self) -> None:
        if self._owned:
            await self.redis.aclose()
