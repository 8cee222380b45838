"""Closed-loop load generator for the proxy benchmark (its own process, uvloop + aiohttp).

``--concurrency`` workers share one pooled aiohttp.ClientSession and each sends
requests back to back (or paced to ``--rate`` req/s in total), reading the whole
response (or the whole stream).
After ``--warmup`` seconds the measured window opens: the CPU counters of the
watched processes are read, and again when the window closes. Only requests
that complete inside the window count. One JSON object is printed on stdout.

``--watch NAME=SID`` sums utime+stime (from /proc/<pid>/stat) over every process
whose session id is SID -- the orchestrator starts each server with
start_new_session, so SID is its pid and worker processes it forks are included.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import sys
import time

import aiohttp

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _fake_provider import events_per_stream, expected_text  # noqa: E402

CLK_TCK = os.sysconf("SC_CLK_TCK")
PROMPT = "hello there, how are you?"


def session_cpu_ticks(sid: int) -> tuple[int, int]:
    """(utime+stime ticks, process count) summed over all processes of session ``sid``."""
    total = count = 0
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as f:
                stat = f.read()
        except OSError:
            continue
        fields = stat[stat.rindex(b")") + 2:].split()  # fields[0] is field 3 (state)
        if int(fields[3]) == sid:                       # field 6: session
            total += int(fields[11]) + int(fields[12])  # fields 14, 15: utime, stime
            count += 1
    return total, count


def machine_busy_ticks() -> int:
    """user+nice+system ticks over all CPUs (from /proc/stat), to spot other load. irq/softirq are
    left out: loopback packet processing is mostly our own traffic."""
    with open("/proc/stat", "rb") as f:
        v = [int(x) for x in f.readline().split()[1:4]]
    return sum(v)


def own_cpu_s() -> float:
    t = os.times()
    return t.user + t.system


def percentile(sorted_vals: list[float], q: float) -> float | None:
    if not sorted_vals:
        return None
    return sorted_vals[min(len(sorted_vals) - 1, max(0, math.ceil(q * len(sorted_vals)) - 1))]


def request_body(model: str, stream: bool, max_tokens: int) -> bytes:
    body = {"model": model, "messages": [{"role": "user", "content": PROMPT}], "max_tokens": max_tokens}
    if stream:
        body |= {"stream": True, "stream_options": {"include_usage": True}}
    return json.dumps(body).encode()


def check_response(stream: bool, status: int, raw: bytes, chunks: int) -> list[str]:
    """Validate one full response against what the fake sent; returns problems found."""
    snippet = raw[:300].decode(errors="replace")
    if status != 200:
        return [f"HTTP {status}: {snippet}"]
    problems, want = [], expected_text(chunks)
    if not stream:
        try:
            doc = json.loads(raw)
            got = doc["choices"][0]["message"]["content"]
            if got != want:
                problems.append(f"content {got!r} != {want!r}")
            if not doc.get("usage"):
                problems.append("no usage in response")
        except Exception as e:  # noqa: BLE001
            problems.append(f"unparseable JSON ({e!r}): {snippet}")
        return problems
    text, events, usage, done = [], 0, False, False
    for block in raw.replace(b"\r\n", b"\n").split(b"\n\n"):
        data = b"".join(line[5:].lstrip() for line in block.split(b"\n") if line.startswith(b"data:"))
        if not data:
            continue
        events += 1
        if data == b"[DONE]":
            done = True
            continue
        try:
            doc = json.loads(data)
        except Exception:  # noqa: BLE001
            problems.append(f"unparseable SSE data: {data[:120]!r}")
            continue
        usage = usage or bool(doc.get("usage"))
        for ch in doc.get("choices") or ():
            text.append((ch.get("delta") or {}).get("content") or "")
    if "".join(text) != want:
        problems.append(f"streamed content {''.join(text)!r} != {want!r}")
    if not done:
        problems.append("no 'data: [DONE]'")
    if not usage:
        problems.append("no usage chunk although include_usage was requested")
    if events != events_per_stream(chunks):
        problems.append(f"{events} SSE events relayed, provider sent {events_per_stream(chunks)}")
    return problems


async def run(a) -> dict:
    body = request_body(a.model, a.stream, a.max_tokens)
    headers = {"Authorization": "Bearer sk-anything", "Content-Type": "application/json"}
    watch = {name: int(sid) for name, sid in (w.split("=", 1) for w in a.watch)}
    conn = aiohttp.TCPConnector(limit=a.concurrency, limit_per_host=a.concurrency)
    timeout = aiohttp.ClientTimeout(total=a.request_timeout)
    out: dict = {"ok": False}
    async with aiohttp.ClientSession(connector=conn, timeout=timeout) as session:
        # sanity request: full correctness check, outside any measurement
        try:
            async with session.post(a.url, data=body, headers=headers) as resp:
                raw = await resp.read()
                problems = check_response(a.stream, resp.status, raw, a.chunks)
                if resp.status != 200:
                    out["error"] = problems[0]
                    return out
        except Exception as e:  # noqa: BLE001
            out["error"] = f"sanity request failed: {e!r}"
            return out
        out["sanity_problems"] = problems

        lat, ttfc, reads = [], [], []
        errors: list[str] = []
        n_errors = 0
        win = [math.inf, math.inf]  # start, end (perf_counter); inf until set
        stop = False

        async def one() -> None:
            nonlocal n_errors
            t0 = time.perf_counter()
            first = None
            n = 0
            tail = b""
            try:
                async with session.post(a.url, data=body, headers=headers) as resp:
                    if a.stream:
                        async for data in resp.content.iter_any():
                            if first is None:
                                first = time.perf_counter()
                            n += 1
                            tail = (tail + data)[-64:]
                        ok = resp.status == 200 and b"[DONE]" in tail
                    else:
                        await resp.read()
                        ok = resp.status == 200
                    err = None if ok else f"HTTP {resp.status}" + ("" if resp.status != 200 else " (no [DONE])")
            except Exception as e:  # noqa: BLE001
                err = repr(e)
            t1 = time.perf_counter()
            if not (win[0] <= t1 <= win[1]):
                if err:
                    await asyncio.sleep(0.01)  # don't spin on a broken target
                return
            if err:
                n_errors += 1
                if len(errors) < 5:
                    errors.append(err)
                await asyncio.sleep(0.01)
                return
            lat.append(t1 - t0)
            if a.stream:
                ttfc.append(first - t0)
                reads.append(n)

        next_slot = 0.0

        async def worker() -> None:
            nonlocal next_slot
            while not stop:
                if a.rate:  # rate cap: requests start at most every 1/rate s (no catch-up)
                    now = time.perf_counter()
                    slot = max(now, next_slot)
                    next_slot = slot + 1.0 / a.rate
                    if slot > now:
                        await asyncio.sleep(slot - now)
                await one()

        tasks = [asyncio.create_task(worker()) for _ in range(a.concurrency)]
        await asyncio.sleep(a.warmup)
        win[0] = time.perf_counter()
        cpu0 = {k: session_cpu_ticks(sid) for k, sid in watch.items()}
        own0 = own_cpu_s()
        busy0 = machine_busy_ticks()
        await asyncio.sleep(a.duration)
        win[1] = time.perf_counter()
        cpu1 = {k: session_cpu_ticks(sid) for k, sid in watch.items()}
        own1 = own_cpu_s()
        busy1 = machine_busy_ticks()
        stop = True
        done, pending = await asyncio.wait(tasks, timeout=10)  # let in-flight requests finish
        for t in pending:
            t.cancel()

    window = win[1] - win[0]
    lat.sort()
    ttfc.sort()
    n = len(lat)
    cpu = {k: {"ms": (cpu1[k][0] - cpu0[k][0]) * 1000.0 / CLK_TCK, "procs": cpu1[k][1]} for k in watch}
    cpu["loadgen"] = {"ms": (own1 - own0) * 1000.0, "procs": 1}
    cpu["machine"] = {"ms": (busy1 - busy0) * 1000.0 / CLK_TCK, "procs": None}
    out.update(ok=True, requests=n, errors=n_errors, error_samples=errors, window_s=window,
               rps=n / window, p50_ms=_ms(percentile(lat, 0.50)), p99_ms=_ms(percentile(lat, 0.99)),
               ttfc_p50_ms=_ms(percentile(ttfc, 0.50)),
               reads_per_stream=(sum(reads) / len(reads)) if reads else None, cpu=cpu)
    return out


def _ms(v: float | None) -> float | None:
    return None if v is None else v * 1000.0


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--url", required=True)
    ap.add_argument("--stream", action="store_true")
    ap.add_argument("--model", default="fake/bench-model")
    ap.add_argument("--max-tokens", type=int, default=64)
    ap.add_argument("--chunks", type=int, default=20, help="content chunks the fake sends (for validation)")
    ap.add_argument("--concurrency", type=int, default=16)
    ap.add_argument("--warmup", type=float, default=1.0)
    ap.add_argument("--duration", type=float, default=5.0)
    ap.add_argument("--rate", type=float, default=0.0, help="cap on requests/s started (0 = as fast as possible)")
    ap.add_argument("--request-timeout", type=float, default=30.0)
    ap.add_argument("--watch", action="append", default=[], metavar="NAME=SID")
    a = ap.parse_args(argv)
    try:
        import uvloop
    except ImportError:
        result = asyncio.run(run(a))
    else:
        result = uvloop.run(run(a))
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
