"""Where leases are synced: Redis (``redis_backend``) or, in embedded mode, this process's memory.

Both take the same operation (the script's KEYS and ARGV, see ``lua``) and answer the same ``Reply``;
``MemoryBackend`` is the script transcribed to Python, so embedded mode has the same semantics.
"""

from __future__ import annotations

import math
import time
from typing import Any, Protocol

W = 60_000.0  # the rate window, ms


class Reply:
    __slots__ = (
        "correction",
        "dup",
        "left",
        "now_ms",
        "r_grant",
        "r_reset",
        "r_room",
        "reserved",
        "spent",
        "t_grant",
        "t_reset",
        "t_room",
        "u_grant",
    )

    def __init__(self, raw: list[Any]) -> None:
        vals = [float(v.decode() if isinstance(v, bytes) else v) for v in raw]
        (self.dup, self.r_grant, self.r_room, self.r_reset, self.t_grant, self.t_room, self.t_reset,
         self.u_grant, self.correction, self.spent, self.reserved, self.left, self.now_ms) = vals


class Backend(Protocol):
    async def sync(self, ops: list[tuple[tuple[str, str, str], list[Any]]]) -> list[Reply | BaseException]: ...

    async def spent(self, budget_keys: list[str]) -> list[float]: ...

    async def close(self) -> None: ...


class MemoryBackend:
    """One process's quota store. Several QuotaServices may share one (tests: several instances)."""

    def __init__(self, clock: Any = None) -> None:
        self.clock = clock or time.time
        self.hashes: dict[str, dict[str, float]] = {}
        self.zsets: dict[str, dict[str, float]] = {}
        self.expires: dict[str, float] = {}
        self.calls = 0

    def _expire(self, key: str, seconds: float) -> None:
        self.expires[key] = self.clock() + seconds

    def _gc(self) -> None:
        now = self.clock()
        for key in [k for k, at in self.expires.items() if at <= now]:
            self.hashes.pop(key, None)
            self.zsets.pop(key, None)
            del self.expires[key]

    async def sync(self, ops: list[tuple[tuple[str, str, str], list[Any]]]) -> list[Reply | BaseException]:
        self.calls += 1
        if self.calls % 1000 == 0:
            self._gc()
        return [self.run(keys, args) for keys, args in ops]

    async def spent(self, budget_keys: list[str]) -> list[float]:
        return [self.hashes.get(k, {}).get("spent", 0.0) for k in budget_keys]

    async def close(self) -> None:
        pass

    def run(self, keys: tuple[str, str, str], a: list[Any]) -> Reply:
        rk, bk, xk = keys
        rh, bh, xz = self.hashes.setdefault(rk, {}), self.hashes.setdefault(bk, {}), self.zsets.setdefault(xk, {})
        lease, seq = str(a[0]), float(a[1])
        now = float(a[2]) or self.clock() * 1000
        ttl, keep = float(a[3]), float(a[4])
        reserved = bh.get("reserved", 0.0)
        for lid in [lid for lid, at in xz.items() if at <= now]:
            reserved -= bh.pop("a:" + lid, 0.0)
            bh.pop("s:" + lid, None)
            del xz[lid]
            reserved = 0.0 if reserved < 1e-12 else reserved
            bh["reserved"] = reserved
        dup = seq <= bh.get("s:" + lease, 0.0)
        pexp = 0.0

        def gcra(field: str, limit: float, credit: float, debt: float, free: float, frac: float, cap: float,
                 need: float) -> tuple[float, float, float]:
            nonlocal pexp
            if limit <= 0:
                return 0.0, 0.0, 0.0
            e = W / limit
            tat = max(rh.get(field, 0.0), now)
            grant = 0.0
            if not dup:
                tat = max(tat - credit * e, now) + debt * e
            room = max(math.floor((now + W - tat) / e + 1e-6), 0)
            if not dup:
                have = max(free, 0.0)
                want = max(math.floor(min(frac * (room + have), cap)) - have, need)
                grant = max(min(want, room), 0)
                tat += grant * e
                rh[field] = tat
                pexp = max(pexp, tat - now)
            return grant, room - grant, tat - now

        r = gcra("tr", *map(float, a[5:12]))
        t = gcra("tt", *map(float, a[12:19]))
        if pexp > 0:
            self._expire(rk, (pexp + ttl) / 1000)
        budget = float(a[19])
        spent = bh.get("spent", 0.0)
        ugrant = corr = 0.0
        if not dup:
            spent += float(a[20])
            if budget >= 0:
                free, hold = float(a[21]), float(a[22])
                reserved -= bh.get("a:" + lease, 0.0)
                base = free + hold
                if base < 0:
                    corr, base = -base, 0.0
                avail = budget - spent - reserved - base
                have = max(free, 0.0)
                want = min(max(min(float(a[23]) * max(avail + have, 0.0), float(a[24])) - have, float(a[25])),
                           avail)
                ugrant = want if want > 0 else 0.0
                w = base + ugrant
                reserved = 0.0 if reserved + w < 1e-12 else reserved + w
                if w > 0:
                    bh["a:" + lease] = w
                else:
                    bh.pop("a:" + lease, None)
            bh.update({"spent": spent, "reserved": reserved, "s:" + lease: seq})
            xz[lease] = now + ttl
            self._expire(bk, keep)
            self._expire(xk, keep)
        left = budget - spent - reserved if budget >= 0 else -1.0
        return Reply([int(dup), *r, *t, ugrant, corr, spent, reserved, left, now])
