"""Micro-benchmark: client-process CPU per upstream request, aiohttp.ClientSession vs
switchyard.upstream.UpstreamClient.

A raw asyncio.Protocol server (its own process, uvloop, precomputed bytes) answers
``POST /json`` with a 600-byte JSON body (Content-Length) and ``POST /stream`` with a 22-event
SSE stream (chunked, one HTTP chunk per event, all written at once: the client reads it in one or
a few reads). ``/paced`` is the same stream with 1 ms between events, so every event reaches the
client in its own read; (paced - stream) / (extra chunks) is the marginal CPU of a relayed chunk.

The client process (uvloop) measures its own CPU (user+system, time.process_time) around N sequential
requests on one keep-alive connection and N requests from C concurrent workers, reading every
body to the end (``read()`` / ``content.iter_any()``) and releasing the connection, as the
gateway does. "floor" is a bare Protocol that writes a canned request and waits for the known
response length: the event loop + syscall cost no client can go below.

    .venv/bin/python bench/upstream_client_micro.py [--repeat 3] [--n 800] [--budget 20] [-v]

Results are medians over the repeats (runs of clients are interleaved). Bounded to ~``--budget``
seconds: runs are skipped once the budget is spent. The machine's noise matters: use --repeat 5.
"""
from __future__ import annotations

import argparse
import asyncio
import os
import socket
import statistics
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

EVENTS = 22
JSON = (b'{"id":"chatcmpl-bench","object":"chat.completion","created":1700000000,"model":"bench-model",'
        b'"choices":[{"index":0,"message":{"role":"assistant","content":"The quick brown fox jumps over '
        b'the lazy dog."},"finish_reason":"stop"}],"usage":{"prompt_tokens":12,"completion_tokens":9,'
        b'"total_tokens":21}}')
JSON = JSON + b" " * (600 - len(JSON))
assert len(JSON) == 600


def _event(i: int) -> bytes:
    if i == EVENTS - 1:
        return b"data: [DONE]\n\n"
    return (b'data: {"id":"chatcmpl-bench","object":"chat.completion.chunk","model":"bench-model",'
            b'"choices":[{"index":0,"delta":{"content":"w%d "}}]}\n\n' % i)


SSE_EVENTS = [_event(i) for i in range(EVENTS)]
SSE_CHUNKS = [b"%x\r\n%s\r\n" % (len(e), e) for e in SSE_EVENTS]
JSON_RESP = (b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 600\r\n"
             b"date: Mon, 01 Jan 2024 00:00:00 GMT\r\nx-request-id: req_0123456789abcdef\r\n\r\n" + JSON)
SSE_HEAD = (b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n"
            b"cache-control: no-cache\r\nx-request-id: req_0123456789abcdef\r\n\r\n")
SSE_RESP = SSE_HEAD + b"".join(SSE_CHUNKS) + b"0\r\n\r\n"
REQ_BODY = (b'{"model":"bench-model","messages":[{"role":"user","content":"Say something about foxes."}],'
            b'"max_tokens":64,"stream":false}')
HEADERS = {"content-type": "application/json", "authorization": "Bearer sk-bench-00000000000000000000",
           "anthropic-version": "2023-06-01", "x-client": "switchyard-bench"}


# ---------------------------------------------------------------- server process

def _server_main() -> None:
    import httptools
    import uvloop

    class Proto(asyncio.Protocol):
        def __init__(self) -> None:
            self.parser = httptools.HttpRequestParser(self)
            self.t = None
            self.url = b""

        def connection_made(self, t):
            self.t = t
            t.get_extra_info("socket").setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

        def data_received(self, data):
            self.parser.feed_data(data)

        def on_url(self, url):
            self.url = url

        def on_message_complete(self):
            url, t = self.url, self.t
            if url == b"/json":
                t.write(JSON_RESP)
            elif url == b"/stream":
                t.write(SSE_RESP)
            elif url == b"/paced":
                t.write(SSE_HEAD)
                asyncio.get_running_loop().call_later(0.001, self._pace, 0)
            else:
                t.write(b"HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n")

        def _pace(self, i):
            if self.t.is_closing():
                return
            self.t.write(SSE_CHUNKS[i])
            if i + 1 < EVENTS:
                asyncio.get_running_loop().call_later(0.001, self._pace, i + 1)
            else:
                self.t.write(b"0\r\n\r\n")

    async def main():
        srv = await asyncio.get_running_loop().create_server(Proto, "127.0.0.1", 0, backlog=1024)
        print(srv.sockets[0].getsockname()[1], flush=True)
        await asyncio.Event().wait()

    # exit when the parent goes away (stdin closes)
    threading.Thread(target=lambda: (sys.stdin.read(), os._exit(0)), daemon=True).start()
    uvloop.run(main())


# ---------------------------------------------------------------- clients

def cpu() -> float:
    """This process's user+system CPU seconds: what os.times() reports, but with ns resolution
    (os.times() ticks every 10 ms, too coarse for runs of a few tens of ms)."""
    return time.process_time()


class AiohttpClient:
    name = "aiohttp"

    def __init__(self, base: str) -> None:
        import aiohttp
        self.aiohttp, self.base = aiohttp, base
        conn = aiohttp.TCPConnector(limit=0, keepalive_timeout=60, enable_cleanup_closed=True)
        self.s = aiohttp.ClientSession(connector=conn, auto_decompress=True, skip_auto_headers=("User-Agent",),
                                       cookie_jar=aiohttp.DummyCookieJar())
        self.timeout = aiohttp.ClientTimeout(total=600, sock_connect=10, connect=10, sock_read=120)

    async def once(self, path: str, stream: bool) -> int:
        resp = await self.s.request("POST", self.base + path, data=REQ_BODY, headers=HEADERS,
                                    timeout=self.timeout, allow_redirects=False)
        try:
            if not stream:
                return len(await resp.read())
            n = 0
            async for _ in resp.content.iter_any():
                n += 1
            return n
        finally:
            resp.release()

    async def close(self) -> None:
        await self.s.close()


class SwitchyardClient:
    name = "switchyard"

    def __init__(self, base: str) -> None:
        from switchyard.config.model import Timeouts
        from switchyard.providers.base import UpstreamCall
        from switchyard.upstream.client import UpstreamClient
        self.c, self.base, self.t, self.Call = UpstreamClient(), base, Timeouts(), UpstreamCall
        self.calls = {p: UpstreamCall(base + p, HEADERS, REQ_BODY) for p in ("/json", "/stream", "/paced")}

    async def once(self, path: str, stream: bool) -> int:
        resp = await self.c.send("bench", self.calls[path], self.t)
        try:
            if not stream:
                return len(await resp.read())
            n = 0
            async for _ in resp.content.iter_any():
                n += 1
            return n
        finally:
            resp.release()

    async def close(self) -> None:
        await self.c.close()


class FloorClient:
    """Not a client: canned request bytes, completion = the known response length arrived."""
    name = "floor"

    class P(asyncio.Protocol):
        def __init__(self) -> None:
            self.want, self.got, self.fut, self.t, self.reads = 0, 0, None, None, 0

        def connection_made(self, t):
            self.t = t

        def data_received(self, data):
            self.got += len(data)
            self.reads += 1
            if self.got >= self.want and self.fut is not None:
                self.fut.set_result(self.reads)

    def __init__(self, base: str) -> None:
        self.host, self.port = base.split("//")[1].split(":")
        self.idle: list = []
        self.req = {p: (b"POST %s HTTP/1.1\r\nhost: %s:%s\r\ncontent-length: %d\r\n\r\n%s"
                        % (p.encode(), self.host.encode(), self.port.encode(), len(REQ_BODY), REQ_BODY))
                    for p in ("/json", "/stream", "/paced")}
        self.size = {"/json": len(JSON_RESP), "/stream": len(SSE_RESP), "/paced": len(SSE_RESP)}

    async def once(self, path: str, stream: bool) -> int:
        loop = asyncio.get_running_loop()
        if self.idle:
            p = self.idle.pop()
        else:
            _, p = await loop.create_connection(self.P, self.host, int(self.port))
        p.want, p.got, p.reads, p.fut = self.size[path], 0, 0, loop.create_future()
        p.t.write(self.req[path])
        n = await p.fut
        p.fut = None
        self.idle.append(p)
        return n

    async def close(self) -> None:
        for p in self.idle:
            p.t.close()


# ---------------------------------------------------------------- measurement

async def measure(client, path: str, stream: bool, n: int, conc: int) -> tuple[float, float]:
    """(CPU µs per request, mean chunks per request)."""
    for _ in range(3 if conc > 1 else 50):  # warm connections and caches
        await asyncio.gather(*(client.once(path, stream) for _ in range(conc)))
    per = n // conc

    async def worker() -> int:
        got = 0
        for _ in range(per):
            r = await client.once(path, stream)
            got += r if stream else 1
        return got

    c0 = cpu()
    if conc == 1:
        chunks = await worker()
    else:
        chunks = sum(await asyncio.gather(*(worker() for _ in range(conc))))
    used = cpu() - c0
    n = per * conc
    return used / n * 1e6, chunks / n


SCENARIOS = [  # name, path, stream, concurrency, n scale
    ("json  seq", "/json", False, 1, 1.0),
    ("json  c=16", "/json", False, 16, 1.0),
    ("sse   seq", "/stream", True, 1, 1.0),
    ("sse   c=16", "/stream", True, 16, 1.0),
    ("sse-paced c=16", "/paced", True, 16, 0.2),
]


async def run(args, base: str) -> None:
    kinds = {"aiohttp": AiohttpClient, "switchyard": SwitchyardClient, "floor": FloorClient}
    names = [k for k in args.clients.split(",") if k in kinds]
    clients = {k: kinds[k](base) for k in names}
    results: dict[tuple[str, str], list[tuple[float, float]]] = {}
    deadline = time.monotonic() + args.budget
    skipped = False
    for rep in range(args.repeat):
        for sname, path, stream, conc, scale in SCENARIOS:
            if args.only and not any(sname.startswith(o) for o in args.only.split(",")):
                continue
            order = names if rep % 2 == 0 else names[::-1]
            for k in order:
                if time.monotonic() > deadline:
                    skipped = True
                    continue
                w0 = time.monotonic()
                res = await measure(clients[k], path, stream, max(int(args.n * scale), conc), conc)
                if args.verbose:
                    print(f"  {sname:<16} {k:<11} {res[0]:8.1f} µs  {time.monotonic() - w0:5.2f} s wall", flush=True)
                results.setdefault((sname, k), []).append(res)
    for c in clients.values():
        await c.close()

    print(f"\nclient CPU per request, µs (median of {args.repeat}; n={args.n}, paced n={int(args.n * 0.2)})")
    hdr = f"{'scenario':<16}" + "".join(f"{k:>12}" for k in names) + f"{'chunks/req':>12}"
    if "aiohttp" in names and "switchyard" in names:
        hdr += f"{'aiohttp/sy':>12}"
    print(hdr)
    print("-" * len(hdr))
    meds: dict[str, dict[str, float]] = {}
    chunk_counts: dict[str, float] = {}
    for sname, *_ in SCENARIOS:
        row = f"{sname:<16}"
        med: dict[str, float] = {}
        chunks = 0.0
        for k in names:
            rs = results.get((sname, k))
            if not rs:
                row += f"{'-':>12}"
                continue
            med[k] = statistics.median(r[0] for r in rs)
            if k in ("switchyard", "floor") and not chunks:
                chunks = statistics.median(r[1] for r in rs)
            row += f"{med[k]:>12.1f}"
        row += f"{chunks:>12.1f}"
        if "aiohttp" in med and "switchyard" in med:
            row += f"{med['aiohttp'] / med['switchyard']:>11.2f}x"
        print(row)
        chunk_counts[sname] = chunks
        meds[sname] = med
    burst, paced = meds.get("sse   c=16", {}), meds.get("sse-paced c=16", {})
    extra = chunk_counts.get("sse-paced c=16", 0) - chunk_counts.get("sse   c=16", 0)
    if extra > 0:
        print(f"\nper relayed chunk, µs: (sse-paced - sse, both c=16) / {extra:.1f} more chunks per request: "
              + ", ".join(f"{k} {(paced[k] - burst[k]) / extra:.1f}" for k in paced if k in burst))
        print("  (includes the event loop wake-up and recv() per chunk, which 'floor' shows alone)")
    if skipped:
        print(f"\n(budget of {args.budget:.0f} s reached: some runs were skipped)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--server", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--n", type=int, default=800, help="requests per measured run (paced: n/5)")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--budget", type=float, default=20.0, help="seconds; later runs are skipped")
    ap.add_argument("--clients", default="aiohttp,switchyard,floor")
    ap.add_argument("--only", default="", help="comma-separated scenario name prefixes")
    ap.add_argument("-v", "--verbose", action="store_true", help="print every run")
    args = ap.parse_args()
    if args.server:
        _server_main()
        return
    srv = subprocess.Popen([sys.executable, os.path.abspath(__file__), "--server"],
                           stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    try:
        port = int(srv.stdout.readline())
        import uvloop
        uvloop.run(run(args, f"http://127.0.0.1:{port}"))
    finally:
        srv.kill()
        srv.wait()


if __name__ == "__main__":
    main()
