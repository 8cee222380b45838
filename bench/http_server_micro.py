"""Micro-benchmark: server-process CPU per request, switchyard.http vs aiohttp.web.

Each server runs alone in its own process on uvloop with a trivial handler that
reads the request body and returns a 200-byte JSON body. A separate client process
sends sequential keep-alive POSTs on one connection for a fixed time. The server
process reports its own CPU (os.times user+system) over the measured window only,
so client cost and process start-up are excluded.

    python bench/http_server_micro.py [--seconds 2]

Total run time is about 3 * (seconds + 1) seconds (~9 s by default). "floor" is a
bare asyncio.Protocol answering with canned bytes: the loop + syscall cost that no
server can go below; note os.times() has 10 ms resolution (fine over ~2 s).
"""
from __future__ import annotations

import argparse
import asyncio
import os
import socket
import subprocess
import sys
import time

BODY = (b'{"id":"chatcmpl-0","object":"chat.completion","model":"bench",'
        b'"choices":[{"index":0,"message":{"role":"assistant","content":"ok"},'
        b'"finish_reason":"stop"}],"usage":{"total_tokens":2}}')
assert len(BODY) <= 200
BODY = BODY + b" " * (200 - len(BODY))  # exactly 200 bytes of JSON
REQ_BODY = b'{"model":"bench","messages":[{"role":"user","content":"hello there"}],"max_tokens":16}'
REQUEST = (b"POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\n"
           b"User-Agent: bench/1.0\r\nAccept: application/json\r\n"
           b"Authorization: Bearer sk-bench-0000000000000000\r\n"
           b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n%s"
           % (len(REQ_BODY), REQ_BODY))


def cpu() -> tuple[float, float]:
    t = os.times()
    return t.user, t.system


async def _serve(kind: str) -> None:
    """Server process: print port, then answer 'start'/'stop' lines on stdin."""
    if kind == "switchyard":
        sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
        from switchyard.http import HTTPServer, Response

        async def handler(req):
            return Response(200, BODY)

        srv = HTTPServer(handler)
        await srv.start("127.0.0.1", 0)
        port = srv.port
    elif kind == "floor":
        # Reference floor, not a server: a bare Protocol that answers every read with
        # a canned response (no parsing). Shows what the event loop + syscalls cost.
        canned = (b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n"
                  b"content-length: %d\r\n\r\n%s" % (len(BODY), BODY))

        class Floor(asyncio.Protocol):
            def connection_made(self, transport):
                self.t = transport

            def data_received(self, data):
                self.t.write(canned)

        server = await asyncio.get_running_loop().create_server(Floor, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
    else:
        from aiohttp import web

        async def ahandler(request):
            await request.read()
            return web.Response(body=BODY, content_type="application/json")

        app = web.Application()
        app.router.add_post("/v1/chat/completions", ahandler)
        runner = web.AppRunner(app, access_log=None)  # no access log: fair comparison
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]
    loop = asyncio.get_running_loop()
    print(port, flush=True)
    start = (0.0, 0.0)
    while True:
        line = (await loop.run_in_executor(None, sys.stdin.readline)).strip()
        if line == "start":
            start = cpu()
            print("ok", flush=True)
        elif line == "stop":
            now = cpu()
            print(now[0] - start[0], now[1] - start[1], flush=True)
        else:
            return


def _client(port: int, seconds: float) -> None:
    """Client process: blocking socket, one keep-alive connection, prints request count."""
    s = socket.create_connection(("127.0.0.1", port))
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    n, buf, deadline = 0, b"", time.monotonic() + seconds
    while True:
        if n % 64 == 0 and time.monotonic() >= deadline:
            break
        s.sendall(REQUEST)
        while (i := buf.find(b"\r\n\r\n")) < 0:
            buf += s.recv(65536)
        head = buf[:i].lower()
        assert head.startswith(b"http/1.1 200"), head
        cl = int(head.split(b"content-length:")[1].split(b"\r\n")[0])
        end = i + 4 + cl
        while len(buf) < end:
            buf += s.recv(65536)
        buf = buf[end:]
        n += 1
    s.close()
    print(n, flush=True)


def _measure(kind: str, seconds: float) -> tuple[int, float, float]:
    me = os.path.abspath(__file__)
    srv = subprocess.Popen([sys.executable, me, "--serve", kind], stdin=subprocess.PIPE,
                           stdout=subprocess.PIPE, text=True)
    try:
        port = srv.stdout.readline().strip()
        client = [sys.executable, me, "--client", port]
        subprocess.run(client + ["--seconds", "0.5"], check=True, capture_output=True)  # warm-up
        srv.stdin.write("start\n")
        srv.stdin.flush()
        srv.stdout.readline()
        out = subprocess.run(client + ["--seconds", str(seconds)], check=True,
                             capture_output=True, text=True).stdout
        srv.stdin.write("stop\n")
        srv.stdin.flush()
        user, system = map(float, srv.stdout.readline().split())
        return int(out), user, system
    finally:
        try:
            srv.stdin.write("quit\n")
            srv.stdin.flush()
            srv.wait(5)
        except Exception:
            srv.kill()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--serve")
    ap.add_argument("--client", type=int)
    ap.add_argument("--seconds", type=float, default=2.0)
    a = ap.parse_args()
    if a.serve:
        import uvloop
        uvloop.run(_serve(a.serve))
    elif a.client:
        _client(a.client, a.seconds)
    else:
        results = {}
        for kind in ("switchyard", "aiohttp", "floor"):
            n, user, system = _measure(kind, a.seconds)
            results[kind] = (user + system) / n * 1e6
            print(f"{kind:>10}: {n:6d} req, server CPU {results[kind]:6.1f} us/req "
                  f"= {results[kind] / 1e3:.4f} ms (user {user / n * 1e6:5.1f}, "
                  f"sys {system / n * 1e6:5.1f})")
        print(f"aiohttp.web / switchyard.http CPU ratio: "
              f"{results['aiohttp'] / results['switchyard']:.2f}x")


if __name__ == "__main__":
    main()
