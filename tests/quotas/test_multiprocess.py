"""Several gateway PROCESSES sharing the real Redis hammer one key: the stated overshoot bounds hold.

Budgets: spent <= budget + Σ max(actual − estimate, 0), and Redis's spent equals the sum of what
every process charged (nothing lost, nothing counted twice). Rates: requests admitted over the run
<= rpm × (1 + t / 60 s) + one lease slice per process.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import redis.asyncio as aioredis

from tests.quotas.conftest import REDIS_URL, unique

ROOT = Path(__file__).resolve().parents[2]
PROCESSES = 4


def run_workers(common: dict, n: int = PROCESSES) -> list[dict]:
    start_at = time.time() + 4.0  # all start together, after their imports
    procs = [subprocess.Popen([sys.executable, "-m", "tests.quotas._worker",
                               json.dumps({**common, "index": i, "start_at": start_at})],
                              cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              env={**os.environ, "PYTHONPATH": str(ROOT)})
             for i in range(n)]
    results = []
    for proc in procs:
        out, err = proc.communicate(timeout=180)
        assert proc.returncode == 0, err.decode()[-3000:]
        results.append(json.loads(out.decode().strip().splitlines()[-1]))
    return results


@pytest.mark.parametrize("fraction", [0.0, 0.1])
async def test_processes_never_spend_beyond_the_bound(redis_prefix, fraction):
    key, budget = unique(), 4.0  # $0.002 reserved per request: about two thousand requests
    results = run_workers({"redis": REDIS_URL, "prefix": redis_prefix, "key": key, "mode": "budget",
                           "fraction": fraction, "budget": budget, "lease_usd": 0.2, "price": 10.0,
                           "concurrency": 16, "seconds": 60, "give_up_after": 40})
    charged = sum(r["charged"] for r in results)
    excess = sum(r["excess"] for r in results)
    client = aioredis.from_url(REDIS_URL)
    try:
        state = {k.decode(): float(v) for k, v in
                 (await client.hgetall(f"{redis_prefix}:b:{{k:{key}}}:all")).items()}
    finally:
        await client.aclose()
    assert state["spent"] == pytest.approx(charged, rel=1e-9, abs=1e-9)  # every settlement, exactly once
    assert state["spent"] <= budget + excess + 1e-9  # the stated bound
    assert state["reserved"] == pytest.approx(0.0, abs=1e-9)  # every lease given back on close
    assert sum(r["r402"] for r in results) > 0 and state["spent"] >= 0.5 * budget  # it really hit the limit
    assert all(r["admitted"] > 0 for r in results)


async def test_processes_never_admit_beyond_the_rate_bound(redis_prefix):
    key, rpm, slice_cap = unique(), 300, 20
    results = run_workers({"redis": REDIS_URL, "prefix": redis_prefix, "key": key, "mode": "rate",
                           "fraction": 0.1, "rpm": rpm, "lease_requests": slice_cap, "concurrency": 8,
                           "attempts": 250, "seconds": 60, "give_up_after": 10**9})
    admitted = sum(r["admitted"] for r in results)
    first = min(r["first"] for r in results if r["first"])
    last = max(r["last"] for r in results if r["last"])
    bound = rpm * (1 + (last - first) / 60) + PROCESSES * slice_cap
    assert admitted <= bound
    assert admitted >= rpm - PROCESSES * slice_cap  # the bucket was really drained
    assert sum(r["r429"] for r in results) > 0
