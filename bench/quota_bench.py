"""Quota bench: what admit + settle costs per request, and how many Redis commands and round trips.

Three modes, one key with requests-, tokens- and USD limits far above the load:

* ``lease``    the default configuration: requests are admitted against this instance's lease, and
               settlements go to Redis in batches (every ``batch_interval_ms`` or ``batch_size``);
* ``naive``    ``lease_fraction: 0, batch_size: 1``: per-request reserve-then-settle, an EVALSHA to
               reserve before each request (the previous request's settlement rides along; requests
               waiting at the same moment share one);
* ``embedded`` no Redis (this process's memory), for the CPU floor of the bookkeeping itself.

Redis commands are counted with ``INFO commandstats`` on a private redis-server started on a free
high port for the run (nothing else talks to it), round trips as the syncer's pipelines. CPU is
this process's user+system time (``time.process_time``) over the loop, background syncs included.

    .venv/bin/python bench/quota_bench.py [--n 20000] [--naive-n 2000] [--concurrency 1] [--budget 60]
                                          [--lease-requests 50]

Bounded: each mode stops after N requests or ``--budget`` seconds, whichever comes first, and the
private redis-server is stopped on exit.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from switchyard.accounts.principal import Limits, Principal
from switchyard.canonical import Usage
from switchyard.catalog.pricing import Pricing
from switchyard.quotas import QuotaConfig, QuotaService
from switchyard.routing.plan import RouteRequest

PRICE = [Pricing(input=1.0, output=2.0)]
ROUTE = RouteRequest(model="bench/model", est_input_tokens=500, max_tokens=200)


class Rec:
    __slots__ = ("cost", "reservation", "status", "usage")

    def __init__(self, reservation: object) -> None:
        self.reservation = reservation
        self.cost = 0.0006
        self.usage = Usage(input_tokens=480, output_tokens=60)
        self.status = 200


def free_port() -> int:
    while True:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        if port not in (5432, 3306, 6379, 5672, 1883, 4222):
            return port


def start_redis(workdir: str) -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    proc = subprocess.Popen([shutil.which("redis-server") or "redis-server", "--port", str(port), "--bind",
                             "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", workdir],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return proc, port
        except OSError:
            time.sleep(0.05)
    proc.kill()
    raise SystemExit("redis-server did not start")


async def commands(url: str) -> tuple[int, int]:
    import redis.asyncio as aioredis

    client = aioredis.from_url(url)
    try:
        stats = await client.info("commandstats")
    finally:
        await client.aclose()
    # (EVALSHA sent by clients, every command run: the EVALSHAs and what the script runs inside)
    total = sum(v["calls"] for k, v in stats.items() if k not in ("cmdstat_info", "cmdstat_hello",
                                                                    "cmdstat_client|setinfo", "cmdstat_config"))
    return stats.get("cmdstat_evalsha", {}).get("calls", 0), total


async def run(mode: str, n: int, concurrency: int, url: str | None, budget: float,
              lease_requests: int) -> dict[str, float]:
    if mode == "naive":
        cfg = QuotaConfig(lease_fraction=0.0, batch_size=1, key_prefix="bench")
    else:
        cfg = QuotaConfig(key_prefix="bench", lease_max_requests=lease_requests)
    q = QuotaService(cfg, redis_url=url if mode != "embedded" else None)
    p = Principal(key_id=f"bench-{mode}-{os.urandom(3).hex()}",
                  limits=Limits(rpm=10**9, tpm=10**12, budget_usd=10.0**9, budget_period="monthly"))
    await q.start()
    before = await commands(url) if url and mode != "embedded" else (0, 0)
    done = 0
    stop_at = time.monotonic() + budget

    async def worker(count: int) -> None:
        nonlocal done
        for _ in range(count):
            if time.monotonic() > stop_at:
                return
            res = await q.admit(p, ROUTE, PRICE, None)
            res.headers()  # x-ratelimit-* for the response
            await asyncio.sleep(0)  # the request itself: at least one turn of the event loop
            q.submit(Rec(res))
            done += 1

    cpu0, wall0 = time.process_time(), time.perf_counter()
    await asyncio.gather(*[worker(n // concurrency) for _ in range(concurrency)])
    cpu1, wall1 = time.process_time(), time.perf_counter()
    await q.close()  # the final flush: part of the cost, counted in commands, not in CPU per request
    after = await commands(url) if url and mode != "embedded" else (0, 0)
    return {"n": done, "evalsha": after[0] - before[0], "cmds": after[1] - before[1], "trips": q.syncer.syncs,
            "waited": q.stats["waited"], "cpu_us": (cpu1 - cpu0) / max(done, 1) * 1e6,
            "wall_us": (wall1 - wall0) / max(done, 1) * 1e6}


async def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=20000, help="requests in lease and embedded mode")
    ap.add_argument("--naive-n", type=int, default=2000, help="requests in naive mode")
    ap.add_argument("--concurrency", type=int, default=1)
    ap.add_argument("--budget", type=float, default=60.0, help="seconds at most per mode")
    ap.add_argument("--lease-requests", type=int, default=QuotaConfig().lease_max_requests,
                    help="lease_max_requests (a lease's cap on requests)")
    args = ap.parse_args()
    workdir = tempfile.mkdtemp(prefix="quota-bench-")
    proc, port = start_redis(workdir)
    url = f"redis://127.0.0.1:{port}/0"
    try:
        rows = []
        for mode, n in (("embedded", args.n), ("lease", args.n), ("naive", args.naive_n)):
            rows.append((mode, await run(mode, n, args.concurrency, url, args.budget, args.lease_requests)))
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        shutil.rmtree(workdir, ignore_errors=True)
    print(f"\nadmit + settle, {args.concurrency} concurrent, one key with rpm, tpm and budget limits\n")
    print(f"{'mode':<10}{'requests':>9}{'EVALSHA':>9}{'/req':>8}{'all cmds':>10}{'/req':>8}{'round trips':>13}"
          f"{'/req':>8}{'waited':>8}{'CPU µs/req':>12}{'wall µs/req':>13}")
    for mode, r in rows:
        n = max(r["n"], 1)
        print(f"{mode:<10}{r['n']:>9}{r['evalsha']:>9}{r['evalsha'] / n:>8.3f}{r['cmds']:>10}{r['cmds'] / n:>8.2f}"
              f"{r['trips']:>13}{r['trips'] / n:>8.3f}{r['waited']:>8}{r['cpu_us']:>12.1f}{r['wall_us']:>13.1f}")
    print("\nwaited: admissions that had to wait for a sync (the lease did not cover them).")
    print("all cmds also counts the commands the script runs inside Redis. lease: requests are admitted "
          "against the lease;\nits refills (about every lease_max_requests requests) and the batched "
          "settlements are the only round trips.\nnaive: a reservation in Redis before every request (the "
          "previous settlement rides along); admissions\nwaiting at the same moment share one sync, so with "
          "--concurrency > 1 naive needs fewer than one round trip each.")

if __name__ == "__main__":
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    asyncio.run(main())
