"""Bare pass-through proxy: the floor a Python/aiohttp gateway can reach.

aiohttp.web server on uvloop + one shared aiohttp.ClientSession. Each request's
body is forwarded unchanged to ``--upstream`` + the same path; the response is
relayed with its status and Content-Type -- SSE streams chunk by chunk
(``resp.content.iter_any()`` -> ``StreamResponse.write``), everything else in
one piece. No parsing, no auth, no logging, no features.

``GET /_bench/stats`` returns counters (streams relayed, chunks relayed) so the
benchmark can tell how many reads the proxy made per stream.
Prints ``READY <port>`` on stdout once listening.
"""

from __future__ import annotations

import argparse
import asyncio
import sys

from aiohttp import ClientSession, ClientTimeout, TCPConnector, web

STATS = {"streams": 0, "chunks": 0}


async def forward(request: web.Request) -> web.StreamResponse:
    session: ClientSession = request.app["session"]
    body = await request.read()
    headers = {"Content-Type": request.headers.get("Content-Type", "application/json")}
    if "Authorization" in request.headers:
        headers["Authorization"] = request.headers["Authorization"]
    async with session.request(request.method, request.app["upstream"] + request.path_qs,
                               data=body, headers=headers) as up:
        ctype = up.headers.get("Content-Type", "application/octet-stream")
        if ctype.startswith("text/event-stream"):
            resp = web.StreamResponse(status=up.status,
                                      headers={"Content-Type": ctype, "Cache-Control": "no-cache"})
            await resp.prepare(request)
            n = 0
            async for chunk in up.content.iter_any():
                await resp.write(chunk)
                n += 1
            await resp.write_eof()
            STATS["streams"] += 1
            STATS["chunks"] += n
            return resp
        return web.Response(status=up.status, body=await up.read(), headers={"Content-Type": ctype})


async def stats(_request: web.Request) -> web.Response:
    return web.json_response(STATS)


async def serve(host: str, port: int, upstream: str) -> None:
    app = web.Application()
    app["upstream"] = upstream.rstrip("/")
    app.router.add_get("/_bench/stats", stats)
    app.router.add_route("*", "/{tail:.*}", forward)

    async def session_ctx(app: web.Application):
        app["session"] = ClientSession(connector=TCPConnector(limit=0),
                                       timeout=ClientTimeout(total=None, sock_connect=10, sock_read=60))
        yield
        await app["session"].close()

    app.cleanup_ctx.append(session_ctx)
    runner = web.AppRunner(app, access_log=None, handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, host, port, backlog=1024)
    await site.start()
    print(f"READY {runner.addresses[0][1]}", flush=True)
    try:
        await asyncio.Event().wait()
    finally:
        await runner.cleanup()


def _run(coro):
    """Run on uvloop, the gateway's loop (plain asyncio only if uvloop is missing)."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(coro)
    return uvloop.run(coro)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--upstream", required=True, help="e.g. http://127.0.0.1:8001")
    a = ap.parse_args(argv)
    try:
        _run(serve(a.host, a.port, a.upstream))
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    sys.exit(main())
