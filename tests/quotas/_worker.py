"""One gateway process hammering one key through its own QuotaService and the shared Redis.

    python -m tests.quotas._worker '{"redis": ..., "prefix": ..., "key": ..., "mode": "budget" | "rate", ...}'

Prints one JSON line: what it admitted, was refused, and charged (and Σ max(actual − estimate, 0)).
"""

from __future__ import annotations

import asyncio
import json
import random
import sys
import time
from typing import Any

from switchyard.accounts.principal import Limits, Principal
from switchyard.catalog.pricing import Pricing
from switchyard.quotas import QuotaConfig, QuotaExceeded, QuotaService
from switchyard.routing.plan import RouteRequest
from tests.quotas.conftest import Rec


async def main(a: dict[str, Any]) -> dict[str, Any]:
    cfg = QuotaConfig(key_prefix=a["prefix"], lease_fraction=a["fraction"], batch_interval_ms=a.get("interval", 50),
                      lease_max_usd=a.get("lease_usd", 1.0), lease_max_requests=a.get("lease_requests", 50))
    q = QuotaService(cfg, redis_url=a["redis"], instance_id=f"worker-{a['index']}")
    await q.start()
    p = Principal(key_id=a["key"], limits=Limits(rpm=a.get("rpm"), budget_usd=a.get("budget"), budget_period="total"))
    price = [Pricing(input=a.get("price", 10.0), output=a.get("price", 10.0))]
    rng = random.Random(a["index"])
    out: dict[str, Any] = {"admitted": 0, "r429": 0, "r402": 0, "charged": 0.0, "excess": 0.0,
                           "first": None, "last": None}
    stop = time.monotonic() + a.get("seconds", 20)
    attempts = a.get("attempts", 10**9)
    streak = 0
    while time.time() < a["start_at"]:  # every process starts hammering at the same moment
        await asyncio.sleep(0.005)

    async def loop() -> None:
        nonlocal attempts, streak
        while attempts > 0 and time.monotonic() < stop and streak < a.get("give_up_after", 50):
            attempts -= 1
            try:
                res = await q.admit(p, RouteRequest(model="m", est_input_tokens=100, max_tokens=100), price, None)
            except QuotaExceeded as e:
                out["r429" if e.status == 429 else "r402"] += 1
                out.setdefault("reasons", {}).setdefault(f"{e.status} {e.message}", 0)
                out["reasons"][f"{e.status} {e.message}"] += 1
                streak += 1
                await asyncio.sleep(rng.uniform(0.002, 0.01))
                continue
            streak = 0
            now = time.time()
            out["admitted"] += 1
            out["first"] = now if out["first"] is None else out["first"]
            out["last"] = now
            await asyncio.sleep(rng.uniform(0, 0.005))  # in flight
            cost = res.est_usd * rng.uniform(0.3, 1.6) if a["mode"] == "budget" else 0.0
            out["excess"] += max(cost - res.est_usd, 0.0)
            out["charged"] += cost
            q.submit(Rec(res, cost, tokens=150))

    await asyncio.gather(*[loop() for _ in range(a.get("concurrency", 16))])
    await q.close()
    return out


if __name__ == "__main__":
    print(json.dumps(asyncio.run(main(json.loads(sys.argv[1])))))
