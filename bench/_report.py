"""Report of bench/proxy_bench.py: per-run figures, medians over repeats, the table and ratios."""

from __future__ import annotations

import statistics

from _fake_provider import events_per_stream

COLS = [("scenario", 12, "s"), ("target", 11, "s"), ("req/s", 8, ".0f"), ("p50 ms", 7, ".2f"),
        ("p99 ms", 7, ".2f"), ("TTFC p50", 8, ".2f"), ("proxy CPU ms/req", 16, ".3f"),
        ("proxy CPU µs/chunk", 18, ".1f"), ("proxy CPU%", 10, ".0f"), ("fake ms/req", 11, ".3f"),
        ("loadgen ms/req", 14, ".3f"), ("other CPU%", 10, ".0f"), ("errors", 6, "d")]


def run_metrics(res: dict, stream: bool) -> dict:
    """Table figures of one load-generator run."""
    if not res.get("ok") or not res.get("requests"):
        return {}
    n, cpu = res["requests"], res["cpu"]
    m = {"req/s": res["rps"], "p50 ms": res["p50_ms"], "p99 ms": res["p99_ms"],
         "TTFC p50": res.get("ttfc_p50_ms") if stream else None,
         "fake ms/req": cpu["fake"]["ms"] / n, "loadgen ms/req": cpu["loadgen"]["ms"] / n}
    if "machine" in cpu:  # whatever else ran on the machine during the window
        ours = sum(v["ms"] for k, v in cpu.items() if k != "machine")
        m["other CPU%"] = max(0.0, 100.0 * (cpu["machine"]["ms"] - ours) / (res["window_s"] * 1000.0))
    if "proxy" in cpu:
        m["proxy CPU ms/req"] = cpu["proxy"]["ms"] / n
        m["proxy CPU%"] = 100.0 * cpu["proxy"]["ms"] / (res["window_s"] * 1000.0)
    return m


def derive(rows: list[dict], n_events: int) -> None:
    """Median of each figure over the repeats, then per-chunk CPU (stream minus non-stream, same target)."""
    for r in rows:
        per_run = [m for m in (run_metrics(res, r["stream"]) for res in r["runs"]) if m]
        for key in {k for m in per_run for k in m}:
            vals = [m[key] for m in per_run if m.get(key) is not None]
            if vals:
                r[key] = statistics.median(vals)
        r["spread"] = [m["proxy CPU ms/req"] for m in per_run if "proxy CPU ms/req" in m]
        r["errors"] = sum(res.get("errors", 0) for res in r["runs"] if res.get("ok")) if per_run else None
    by = {(r["target"], r["stream"]): r for r in rows}
    for r in rows:
        base = by.get((r["target"], False))
        if r["stream"] and base and "proxy CPU ms/req" in r and "proxy CPU ms/req" in base:
            r["proxy CPU µs/chunk"] = (r["proxy CPU ms/req"] - base["proxy CPU ms/req"]) * 1000.0 / n_events


def fmt(v, spec: str) -> str:
    return "-" if v is None else format(v, spec)


def print_report(args, rows: list[dict], notes: list[str]) -> None:
    n_events = events_per_stream(args.chunks)
    derive(rows, n_events)
    print()
    print("  ".join(f"{name:<{w}}" if spec == "s" else f"{name:>{w}}" for name, w, spec in COLS))
    for r in rows:
        cells = []
        for name, w, spec in COLS:
            v = r.get(name)
            cells.append(f"{fmt(v, spec):<{w}}" if spec == "s" else f"{fmt(v, spec):>{w}}")
        print("  ".join(cells).rstrip())
    for r in rows:
        msgs = [f"!! {res.get('error')}" for res in r["runs"] if not res.get("ok")]
        msgs += [f"!! error sample: {e}" for res in r["runs"] for e in res.get("error_samples", [])]
        msgs += [f"?? response check: {p}" for res in r["runs"] for p in res.get("sanity_problems") or []]
        for msg in dict.fromkeys(msgs):
            print(f"  {r['scenario']} {r['target']} {msg}")
        if len(r["spread"]) > 1:
            print(f"  {r['scenario']} {r['target']} proxy CPU ms/req over {len(r['spread'])} repeats: "
                  + ", ".join(f"{v:.3f}" for v in r["spread"]))
    print()
    by = {(r["target"], r["scenario"]): r for r in rows}
    for scen in dict.fromkeys(r["scenario"] for r in rows):
        b, s = by.get(("bare-proxy", scen), {}), by.get(("switchyard", scen), {})
        key = "proxy CPU ms/req"
        if b.get(key) and s.get(key):
            line = (f"{scen}: switchyard CPU/req {s[key]:.3f} ms vs bare-proxy {b[key]:.3f} ms -> "
                    f"{s[key] / b[key]:.2f}x ({s[key] - b[key]:+.3f} ms/req)")
            ck = "proxy CPU µs/chunk"
            if (b.get(ck) or 0) > 0 and s.get(ck) is not None:
                line += f"; per chunk {s[ck]:.1f} vs {b[ck]:.1f} µs -> {s[ck] / b[ck]:.2f}x"
            print(line)
        elif b.get(key):
            print(f"{scen}: no switchyard figure to compare with bare-proxy ({b[key]:.3f} ms/req)")
    other = max((r.get("other CPU%") or 0 for r in rows), default=0)
    if other > 20:
        print(f"WARNING: processes outside the benchmark used up to {other:.0f}% CPU during the measured "
              f"windows; the figures are noisy (rerun on a quiet machine, or use --repeat 3).")
    for r in rows:
        procs = max((res["cpu"]["proxy"]["procs"] for res in r["runs"] if "proxy" in res.get("cpu", {})), default=1)
        if procs > 1 and not r["stream"]:
            print(f"{r['target']}: CPU summed over its {procs} processes (same session)")
    print(f"\nHow to read: proxy CPU ms/req = utime+stime of the proxy's processes during the measured "
          f"{args.duration:g}s window (after {args.warmup:g}s warm-up) / requests completed in it.")
    print(f"proxy CPU µs/chunk = (CPU ms/req streaming - CPU ms/req non-streaming, same proxy) / "
          f"{n_events} SSE events per stream (role + {args.chunks} content + finish + usage + [DONE]).")
    print("TTFC = time to first body chunk. CPU% = CPU time / window (100% = one core busy); other CPU% = "
          "CPU used by processes outside the benchmark during the window (high = noisy figures).")
    for n in notes:
        print(n)
