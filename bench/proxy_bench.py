#!/usr/bin/env python3
"""Switchyard proxy benchmark: direct vs bare aiohttp proxy vs the Switchyard gateway.

One run sends the same closed-loop load (non-streaming, then streaming) to
  direct      a fake OpenAI-compatible provider (bench/_fake_provider.py)
  bare-proxy  a pass-through aiohttp proxy on uvloop (bench/_bare_proxy.py)
  switchyard  `python -m switchyard serve` pointed at the fake
and reports req/s, latency and the proxy's CPU per request / per relayed chunk.
Everything listens on 127.0.0.1, every server and the load generator run in
their own process (own session), and all of them are killed on exit.

    .venv/bin/python bench/proxy_bench.py [--duration 5] [--concurrency 16] [--chunks 20]
           [--only direct,bare,switchyard] [--chunk-delay-ms 0] [--gateway-cmd CMD]

See bench/README.md for how to read the figures.
"""

from __future__ import annotations

import argparse
import atexit
import ctypes
import json
import os
import select
import shlex
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))
from _fake_provider import events_per_stream  # noqa: E402
from _report import print_report  # noqa: E402

HOST = "127.0.0.1"
TARGETS = ("direct", "bare", "switchyard")
LABEL = {"direct": "direct", "bare": "bare-proxy", "switchyard": "switchyard"}
TARGET_OF = {v: k for k, v in LABEL.items()}
GATEWAY_CONFIG = """\
providers:
  fake:
    protocol: openai-chat
    base_url: http://127.0.0.1:{fake_port}/v1
    api_key: sk-bench
models:
  fake/bench-model:
    name: Bench model
    context_window: 128000
    max_output: 4096
    capabilities: [tools, json]
    pricing: {{input: 1.0, output: 2.0}}
    providers:
      fake: {{id: bench-model}}
"""

# --------------------------------------------------------------------------- child processes

try:
    _libc = ctypes.CDLL(None, use_errno=True) if sys.platform.startswith("linux") else None
except OSError:
    _libc = None


def _die_with_parent() -> None:  # runs in the child between fork and exec
    if _libc is not None:
        _libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG: no orphans even if we are SIGKILLed


class Children:
    """Every child gets its own session/process group; stop() kills the whole group."""

    def __init__(self):
        self.procs: list[subprocess.Popen] = []

    def spawn(self, cmd: list[str], cpus: list[int] | None = None, **kw) -> subprocess.Popen:
        def setup() -> None:
            _die_with_parent()
            if cpus:
                os.sched_setaffinity(0, cpus)

        p = subprocess.Popen(cmd, start_new_session=True, preexec_fn=setup, **kw)
        self.procs.append(p)
        return p

    def stop(self, p: subprocess.Popen, grace: float = 3.0) -> None:
        if p.poll() is None:
            _killpg(p.pid, signal.SIGTERM)
            try:
                p.wait(grace)
            except subprocess.TimeoutExpired:
                pass
        _killpg(p.pid, signal.SIGKILL)  # also whatever the leader forked
        p.wait()
        if p in self.procs:
            self.procs.remove(p)

    def stop_all(self) -> None:
        for p in reversed(list(self.procs)):
            self.stop(p)


def _killpg(pgid: int, sig: int) -> None:
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def _raise_interrupt(signum, _frame):
    raise KeyboardInterrupt(f"signal {signum}")


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def cpu_sets(pin: bool) -> tuple[list[int] | None, list[int] | None]:
    """(CPUs of the proxy under test, CPUs of the fake and the load generator), or (None, None)."""
    if not pin or not hasattr(os, "sched_getaffinity"):
        return None, None
    cpus = sorted(os.sched_getaffinity(0))
    if len(cpus) < 2:
        return None, None
    return cpus[-1:], cpus[:-1]


def start_ready(children: Children, cmd: list[str], what: str, timeout: float = 15.0,
                cpus: list[int] | None = None):
    """Start a bench helper and wait for its ``READY <port>`` line."""
    p = children.spawn(cmd, cpus=cpus, stdout=subprocess.PIPE)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        r, _, _ = select.select([p.stdout], [], [], 0.2)
        if r:
            line = p.stdout.readline().decode()
            if line.startswith("READY "):
                return p, int(line.split()[1])
            if not line and p.poll() is not None:
                break
    raise RuntimeError(f"{what} did not start (exit code {p.poll()})")


def log_tail(path: Path, lines: int = 15) -> str:
    try:
        text = path.read_text(errors="replace").splitlines()[-lines:]
    except OSError:
        return ""
    return "\n".join("    | " + line for line in text)


def start_gateway(args, children: Children, fake_port: int, tmp: Path):
    """Returns (proc, port, note) or (None, None, reason)."""
    cfg = tmp / "switchyard-bench.yaml"
    cfg.write_text(GATEWAY_CONFIG.format(fake_port=fake_port))
    port = free_port()
    fields = dict(python=sys.executable, config=cfg, host=HOST, port=port, fake_port=fake_port,
                  fake_url=f"http://{HOST}:{fake_port}/v1")
    if args.gateway_cmd:
        cmd = [tok.format(**fields) for tok in shlex.split(args.gateway_cmd)]
    else:
        cmd = [sys.executable, "-m", "switchyard", "serve", "--config", str(cfg),
               "--host", HOST, "--port", str(port)]
    env = dict(os.environ, PYTHONUNBUFFERED="1",
               PYTHONPATH=os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])))
    log_path = tmp / "gateway.log"
    print(f"starting gateway: {shlex.join(cmd)}", flush=True)
    try:
        with open(log_path, "wb") as log:
            p = children.spawn(cmd, cpus=args.proxy_cpus, stdout=log, stderr=subprocess.STDOUT,
                               stdin=subprocess.DEVNULL, cwd=tmp, env=env)
    except OSError as e:
        return None, None, f"cannot start gateway: {e}"
    deadline = time.monotonic() + args.gateway_timeout
    while time.monotonic() < deadline:
        if p.poll() is not None:
            children.stop(p)
            return None, None, f"gateway exited with code {p.returncode}:\n{log_tail(log_path)}"
        try:
            with urllib.request.urlopen(f"http://{HOST}:{port}/health", timeout=1):
                return p, port, "ready (GET /health -> 200)"
        except urllib.error.HTTPError as e:  # it answers HTTP, so the port is open
            return p, port, f"ready (port open; GET /health -> {e.code})"
        except OSError:
            time.sleep(0.1)
    children.stop(p)
    return None, None, (f"gateway not ready within {args.gateway_timeout:.0f}s:\n{log_tail(log_path)}")


def get_json(url: str) -> dict | None:
    try:
        with urllib.request.urlopen(url, timeout=2) as r:
            return json.loads(r.read())
    except (OSError, ValueError):
        return None


def run_load(args, children: Children, url: str, stream: bool, watch: dict[str, int]) -> dict:
    cmd = [sys.executable, str(HERE / "_loadgen.py"), "--url", url, "--chunks", str(args.chunks),
           "--concurrency", str(args.concurrency), "--warmup", str(args.warmup),
           "--duration", str(args.duration), "--rate", str(args.rate)]
    cmd += ["--stream"] if stream else []
    for name, sid in watch.items():
        cmd += ["--watch", f"{name}={sid}"]
    p = children.spawn(cmd, cpus=args.other_cpus, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        out, err = p.communicate(timeout=args.warmup + args.duration + 60)
    except subprocess.TimeoutExpired:
        out, err = b"", b"load generator timed out"
    children.stop(p)
    try:
        return json.loads(out.decode().strip().splitlines()[-1])
    except (IndexError, ValueError):
        return {"ok": False, "error": "load generator failed: " + err.decode(errors="replace")[-800:]}


# --------------------------------------------------------------------------- main

def parse_args(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--duration", type=float, default=5.0, help="measured seconds per scenario (default 5)")
    ap.add_argument("--warmup", type=float, default=1.0, help="excluded warm-up seconds per scenario (default 1)")
    ap.add_argument("--concurrency", type=int, default=16, help="concurrent client connections (default 16)")
    ap.add_argument("--rate", type=float, default=0.0,
                    help="cap the load at this many req/s so all targets see the same load (default 0 = no cap)")
    ap.add_argument("--chunks", type=int, default=20, help="content chunks per stream (default 20)")
    ap.add_argument("--chunk-delay-ms", type=float, default=0.0,
                    help="fake provider sleeps this long between stream events (default 0)")
    ap.add_argument("--only", default="direct,bare,switchyard", help="comma list of direct,bare,switchyard")
    ap.add_argument("--gateway-cmd", default=None,
                    help="command starting the gateway; placeholders {python} {config} {host} {port} {fake_port} {fake_url}")
    ap.add_argument("--gateway-timeout", type=float, default=20.0, help="seconds to wait for the gateway")
    ap.add_argument("--repeat", type=int, default=1,
                    help="run every scenario/target N times, interleaved, and report medians (default 1)")
    ap.add_argument("--json", metavar="PATH", help="also write the raw results as JSON")
    ap.add_argument("--pin", action="store_true",
                    help="run the proxy under test alone on the last CPU, the fake and the load generator "
                         "on the others (steadier CPU figures on small machines)")
    a = ap.parse_args(argv)
    only = [t.strip().replace("bare-proxy", "bare") for t in a.only.split(",") if t.strip()]
    bad = [t for t in only if t not in TARGETS]
    if bad:
        ap.error(f"--only: unknown target(s) {bad}; choose from {','.join(TARGETS)}")
    a.only = [t for t in TARGETS if t in only]
    a.proxy_cpus, a.other_cpus = cpu_sets(a.pin)
    return a


def main(argv=None) -> int:
    args = parse_args(argv)
    children = Children()
    atexit.register(children.stop_all)
    signal.signal(signal.SIGTERM, _raise_interrupt)
    signal.signal(signal.SIGHUP, _raise_interrupt)
    notes: list[str] = []
    rows: list[dict] = []  # one per scenario x target, with the load generator's raw "runs"
    tmp_ctx = tempfile.TemporaryDirectory(prefix="switchyard-bench-")
    try:
        tmp = Path(tmp_ctx.name)
        fake, fake_port = start_ready(children, [
            sys.executable, str(HERE / "_fake_provider.py"), "--host", HOST, "--port", "0",
            "--chunks", str(args.chunks), "--chunk-delay-ms", str(args.chunk_delay_ms)], "fake provider",
            cpus=args.other_cpus)
        targets: dict[str, tuple[str, int | None]] = {}  # name -> (base url, proxy session id)
        if "direct" in args.only:
            targets["direct"] = (f"http://{HOST}:{fake_port}", None)
        if "bare" in args.only:
            bare, bare_port = start_ready(children, [sys.executable, str(HERE / "_bare_proxy.py"), "--host",
                                                     HOST, "--port", "0", "--upstream",
                                                     f"http://{HOST}:{fake_port}"], "bare proxy",
                                         cpus=args.proxy_cpus)
            targets["bare"] = (f"http://{HOST}:{bare_port}", bare.pid)
        if "switchyard" in args.only:
            gw, gw_port, msg = start_gateway(args, children, fake_port, tmp)
            if gw is None:
                print(f"WARNING: switchyard unavailable, skipping it -- {msg}", flush=True)
                notes.append("WARNING: switchyard was not benchmarked (gateway did not come up; see above).")
            else:
                print(f"switchyard {msg} on port {gw_port}", flush=True)
                targets["switchyard"] = (f"http://{HOST}:{gw_port}", gw.pid)

        if not targets:
            print("nothing to benchmark (no target available)")
            return 0
        print(f"fake provider on :{fake_port}; {len(targets)} target(s) x 2 scenarios, "
              f"{args.warmup:g}s warm-up + {args.duration:g}s each, concurrency {args.concurrency}, "
              f"{f'rate cap {args.rate:g} req/s, ' if args.rate else ''}"
              f"{args.chunks} chunks/stream, chunk delay {args.chunk_delay_ms:g} ms", flush=True)
        reads: dict[str, list[float]] = {}  # what the client / bare proxy read per stream
        rows = [{"scenario": f"stream({args.chunks})" if stream else "non-stream", "target": LABEL[name],
                 "stream": stream, "runs": []} for stream in (False, True) for name in targets]
        for rep in range(args.repeat):
            for r in rows:
                base, sid = targets[TARGET_OF[r["target"]]]
                watch = {"fake": fake.pid} | ({"proxy": sid} if sid else {})
                rep_s = f" #{rep + 1}" if args.repeat > 1 else ""
                print(f"  running {r['scenario']:<11} {r['target']:<11}{rep_s} ...", end="", flush=True)
                bare_stats = r["stream"] and r["target"] == "bare-proxy"
                stats0 = get_json(base + "/_bench/stats") if bare_stats else None
                res = run_load(args, children, base + "/v1/chat/completions", r["stream"], watch)
                print(f" {res['rps']:.0f} req/s" if res.get("ok") else " FAILED", flush=True)
                r["runs"].append(res)
                if r["stream"] and res.get("ok") and res.get("reads_per_stream"):
                    reads.setdefault(f"{r['target']} client", []).append(res["reads_per_stream"])
                    stats1 = get_json(base + "/_bench/stats") if stats0 else None
                    if stats0 and stats1 and stats1["streams"] > stats0["streams"]:
                        per = (stats1["chunks"] - stats0["chunks"]) / (stats1["streams"] - stats0["streams"])
                        reads.setdefault("bare-proxy upstream", []).append(per)
        reads_note = [f"{k} {statistics.median(v):.1f}" for k, v in reads.items()]
        n_ev = events_per_stream(args.chunks)
        if reads_note:
            notes.append(f"Reads per stream (the fake writes {n_ev} events): " + "; ".join(reads_note) + ".")
            if args.chunk_delay_ms == 0:
                notes.append("With --chunk-delay-ms 0 several events often arrive in one socket read, so "
                             "µs/chunk is amortised over coalesced reads; try --chunk-delay-ms 1 for "
                             "one read per event (closer to a real provider).")
        if (os.cpu_count() or 1) < 4:
            notes.append(f"Only {os.cpu_count()} CPU(s): fake, proxy and load generator share cores, so req/s "
                         f"and latency are bounded by contention; CPU ms/req is the comparable figure.")
        print_report(args, rows, notes)
        if args.json:
            Path(args.json).write_text(json.dumps({"args": vars(args), "rows": rows}, indent=2))
        return 0
    except KeyboardInterrupt:
        print("\ninterrupted; cleaning up", file=sys.stderr)
        return 130
    except RuntimeError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    finally:
        children.stop_all()
        tmp_ctx.cleanup()


if __name__ == "__main__":
    sys.exit(main())
