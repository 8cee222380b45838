"""The upstream HTTP client: pooled keep-alive HTTP/1.1 connections to providers, with
per-provider timeouts, on asyncio.Protocol + httptools (``connection``, ``pool``, ``response``).

Why not aiohttp's client: it was the largest CPU cost of a proxied request (~100-150 µs). Here a
request on a warm connection is: one dict lookup and one dict comparison to find the request head
built for the URL's previous call (rebuilt only when its headers change), one ``transport.write``
of head + body, one future for the response head; a read of body bytes is a list append in C and,
when the reader waits, one future. bench/upstream_client_micro.py measures it against aiohttp.

Timeouts (``Timeouts``): ``connect`` bounds opening a connection (DNS + TCP + TLS); ``first_byte``
bounds every silence of the provider, from the request to the response head and between body
bytes; ``total`` bounds the whole exchange, body included. Transport failures become UpstreamErrors
(CONNECT, TIMEOUT, SERVER_ERROR, BAD_RESPONSE) so the router can fail over.

Compression: ``accept-encoding: gzip, deflate`` is sent unless the call looks like a stream (see
``pool.build_head``); gzip/deflate bodies are inflated, streams incrementally.

Not supported, on purpose: redirects (a 3xx is returned as a response; the gateway answers it as an
error, never re-addresses), proxies (HTTP(S)_PROXY is ignored: connections go straight to the
provider), HTTP/2, pipelining, a DNS cache (names are resolved by the event loop's getaddrinfo
when a connection is opened, which keep-alive makes rare).

Retry: a request sent on a *reused* keep-alive connection that turns out to be closed before a
single byte of response arrived is sent once more, on a new connection. That is the race of a
provider closing an idle connection just as we write, and it is safe to retry even a POST only
because nothing was received: the provider cannot have answered. (A provider that read the
request and then dropped the connection without a byte would see it twice; browsers make the same
trade-off for a reused connection.) A new connection is never retried, nor anything after the
first response byte.
"""

from __future__ import annotations

import asyncio
import ssl
import sys

from switchyard.config.model import Timeouts
from switchyard.errors import ErrorCategory, UpstreamError
from switchyard.providers.base import UpstreamCall
from switchyard.upstream.connection import BODY, HEAD
from switchyard.upstream.errors import (
    BadResponse,
    ConnectFailed,
    InvalidRequest,
    ServerDisconnected,
    UpstreamTransportError,
)
from switchyard.upstream.pool import Pool, build_head, split_url
from switchyard.upstream.response import Headers, Response

__all__ = ["Headers", "Response", "UpstreamClient", "transport_error"]

_MAX_TARGETS = 4096


def transport_error(slug: str, exc: BaseException) -> UpstreamError:
    """A failure with no HTTP answer. The message names the kind of failure only: exception texts
    can contain URLs, and URLs of some providers can contain credentials. Also maps aiohttp's
    exceptions (other modules still use aiohttp for token endpoints)."""
    if isinstance(exc, UpstreamTransportError):
        if isinstance(exc, TimeoutError):
            what = "connecting to" if isinstance(exc, ConnectFailed) else "waiting for"
            return UpstreamError(ErrorCategory.TIMEOUT, f"{slug}: timed out {what} the provider")
        if isinstance(exc, ConnectFailed):
            return UpstreamError(ErrorCategory.CONNECT, f"{slug}: could not connect to the provider")
        if isinstance(exc, ServerDisconnected):
            return UpstreamError(ErrorCategory.SERVER_ERROR, f"{slug}: the provider closed the connection")
        if isinstance(exc, BadResponse):
            return UpstreamError(ErrorCategory.BAD_RESPONSE, f"{slug}: {exc.args[0] if exc.args else 'bad response'}")
        if isinstance(exc, InvalidRequest):
            return UpstreamError(ErrorCategory.CONNECT, f"{slug}: {exc.args[0] if exc.args else 'invalid request'}")
    if isinstance(exc, asyncio.TimeoutError):
        return UpstreamError(ErrorCategory.TIMEOUT, f"{slug}: timed out waiting for the provider")
    aiohttp = sys.modules.get("aiohttp")  # only if something imported it: then its errors can occur
    if aiohttp is not None:
        if isinstance(exc, aiohttp.ServerTimeoutError):
            return UpstreamError(ErrorCategory.TIMEOUT, f"{slug}: timed out waiting for the provider")
        if isinstance(exc, aiohttp.ClientConnectorError):
            return UpstreamError(ErrorCategory.CONNECT, f"{slug}: could not connect to the provider")
        if isinstance(exc, (aiohttp.ServerDisconnectedError, aiohttp.ClientPayloadError)):
            return UpstreamError(ErrorCategory.SERVER_ERROR, f"{slug}: the provider closed the connection")
    return UpstreamError(ErrorCategory.CONNECT, f"{slug}: connection to the provider failed "
                                                f"({type(exc).__name__})")


class UpstreamClient:
    """``ssl_context``: for https (default: ``ssl.create_default_context()``, made on first use).
    ``limit_per_host``: max connections per (scheme, host, port), 0 for none. ``keepalive``:
    seconds an idle connection is kept."""

    def __init__(self, *, ssl_context: ssl.SSLContext | None = None, limit_per_host: int = 0,
                 keepalive: float = 60.0) -> None:
        self._ssl = ssl_context
        self._limit = limit_per_host
        self._keepalive = keepalive
        self._loop: asyncio.AbstractEventLoop | None = None
        self._pools: dict[tuple[str, str, int], Pool] = {}
        self._targets: dict[str, tuple[Pool, str, str | None]] = {}  # url -> (pool, target, basic auth)
        # url -> (method, copy of the headers, pool, head, head ends with "content-length: ");
        # most calls repeat the previous call's headers for their URL, so the head is built once
        self._heads: dict[str, tuple[str, dict[str, str], Pool, bytes, bool]] = {}

    def _target(self, url: str) -> tuple[Pool, str, str | None]:
        scheme, host, port, target, auth = split_url(url)
        key = (scheme, host, port)
        pool = self._pools.get(key)
        if pool is None:
            ctx = None
            if scheme == "https":
                ctx = self._ssl = self._ssl or ssl.create_default_context()
            pool = self._pools[key] = Pool(self._loop, scheme, host, port, ctx,  # type: ignore[arg-type]
                                           self._keepalive, self._limit)
        if len(self._targets) >= _MAX_TARGETS:
            self._targets.clear()
        entry = self._targets[url] = (pool, target, auth)
        return entry

    def _bind(self, loop: asyncio.AbstractEventLoop) -> None:
        """Pools belong to one event loop; a client used from a new loop starts afresh."""
        for pool in self._pools.values():
            pool.close()
        self._pools.clear()
        self._targets.clear()
        self._heads.clear()
        self._loop = loop

    def _head(self, call: UpstreamCall) -> tuple[str, dict[str, str], Pool, bytes, bool]:
        entry = self._targets.get(call.url)
        if entry is None:
            entry = self._target(call.url)
        pool, target, auth = entry
        head, with_length = build_head(call.method, target, pool.host_header, auth, call.headers)
        heads = self._heads
        if len(heads) >= _MAX_TARGETS:
            heads.clear()
        e = heads[call.url] = (call.method, dict(call.headers), pool, head, with_length)
        return e

    async def send(self, slug: str, call: UpstreamCall, timeouts: Timeouts) -> Response:
        """Send ``call``; returns once the response head has arrived. The caller reads the body,
        then ``release()`` (or ``close()`` to abandon it)."""
        loop = asyncio.get_running_loop()
        if loop is not self._loop:
            self._bind(loop)
        try:
            method = call.method
            if call.private:  # a caller's own key: built for this request, never kept in the cache
                pool_, target, auth = self._targets.get(call.url) or self._target(call.url)
                e = (method, call.headers, pool_, *build_head(method, target, pool_.host_header, auth, call.headers))
            else:
                e = self._heads.get(call.url)
                if e is None or e[0] != method or e[1] != call.headers:
                    e = self._head(call)
            pool = e[2]
            body = call.body
            if e[4]:
                n = len(body)
                data = b"%b%d\r\n\r\n%b" % (e[3], n, body) if n < 65536 else (b"%b%d\r\n\r\n" % (e[3], n), body)
            elif body:  # e.g. a DELETE with a body: rare, not worth a cache entry of its own
                data = b"%bcontent-length: %d\r\n\r\n%b" % (e[3][:-2], len(body), body)
            else:
                data = e[3]
            total_at = loop.time() + timeouts.total
            conn = pool.pop_idle()
            reused = conn is not None
            if conn is None:
                conn, reused = await pool.acquire(min(timeouts.connect, timeouts.total))
            while True:
                conn.start(data, timeouts.first_byte, total_at, method == "HEAD")
                while conn._state == HEAD and conn._exc is None:
                    try:
                        await conn.wait()
                    except asyncio.CancelledError:
                        conn.abort()  # the provider sees the disconnect now
                        raise
                if conn._state >= BODY:
                    return Response(conn)
                exc = conn._exc
                conn.abort()
                if reused and not conn._got_bytes and isinstance(exc, ServerDisconnected):
                    # stale keep-alive connection, nothing received: once more on a new one
                    conn, _ = await pool.acquire(min(timeouts.connect, max(total_at - loop.time(), 0.0)), True)
                    reused = False
                    continue
                raise exc  # type: ignore[misc]
        except (TimeoutError, UpstreamTransportError, OSError) as exc:
            raise transport_error(slug, exc) from None

    def open_connections(self) -> int:
        """Connections to providers, in use or idle in the pool (for the instance metrics)."""
        return sum(len(p) for p in self._pools.values())

    async def close(self) -> None:
        for pool in self._pools.values():
            pool.close()
        self._pools.clear()
        self._targets.clear()
        self._heads.clear()
        await asyncio.sleep(0)  # let the transports run connection_lost
