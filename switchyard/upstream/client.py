"""The upstream HTTP client: pooled keep-alive HTTP/1.1 connections to providers, with
per-provider timeouts, on asyncio.Protocol + httptools (``connection``, ``pool``, ``response``).

Why not aiohttp's client: it was the largest CPU cost of a proxied request (~100-150 µs). Here a
request on a warm connection is: one dict lookup for the URL, one header string, one
``transport.write``, one future for the response head; a body chunk is a list append and, when the
reader waits, one future. See bench/upstream_client_micro.py.

Timeouts (``Timeouts``): ``connect`` bounds opening a connection (DNS + TCP + TLS); ``first_byte``
bounds every silence of the provider, from the request to the response head and between body
bytes; ``total`` bounds the whole exchange, body included. Transport failures become UpstreamErrors
(CONNECT, TIMEOUT, SERVER_ERROR, BAD_RESPONSE) so the router can fail over.

Not supported, on purpose: redirects (a 3xx is returned as a response; the gateway answers it as an
error, never re-addresses), proxies (HTTP(S)_PROXY is ignored), HTTP/2, pipelining.

Retry: a request sent on a *reused* keep-alive connection that the provider turns out to have
closed before sending a single byte of response is sent once more on a new connection. This is the
usual race of a server closing an idle connection just as we write, and the only case where a
retry is safe without knowing the method is idempotent: nothing was received, so the provider
cannot have answered (the same rule as aiohttp, urllib3 and Go's net/http for a stale connection).
"""

from __future__ import annotations

import asyncio
import ssl
import sys

from switchyard.config.model import Timeouts
from switchyard.errors import ErrorCategory, UpstreamError
from switchyard.providers.base import UpstreamCall
from switchyard.upstream.connection import BODY, HEAD
from switchyard.upstream.errors import (BadResponse, ConnectFailed, InvalidRequest, ServerDisconnected,
                                        UpstreamTransportError)
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
        self._targets: dict[str, tuple[Pool, str]] = {}  # url -> (pool, request target)

    def _target(self, url: str) -> tuple[Pool, str]:
        scheme, host, port, target, auth = split_url(url)
        key = (scheme, host, port)
        pool = self._pools.get(key)
        if pool is None:
            ctx = None
            if scheme == "https":
                ctx = self._ssl = self._ssl or ssl.create_default_context()
            pool = self._pools[key] = Pool(self._loop, scheme, host, port, ctx,  # type: ignore[arg-type]
                                           self._keepalive, self._limit)
        if auth is not None:
            pool.auth = auth
        if len(self._targets) >= _MAX_TARGETS:
            self._targets.clear()
        entry = self._targets[url] = (pool, target)
        return entry

    def _bind(self, loop: asyncio.AbstractEventLoop) -> None:
        """Pools belong to one event loop; a client used from a new loop starts afresh."""
        for pool in self._pools.values():
            pool.close()
        self._pools.clear()
        self._targets.clear()
        self._loop = loop

    async def send(self, slug: str, call: UpstreamCall, timeouts: Timeouts) -> Response:
        """Send ``call``; returns once the response head has arrived. The caller reads the body,
        then ``release()`` (or ``close()`` to abandon it)."""
        loop = asyncio.get_running_loop()
        if loop is not self._loop:
            self._bind(loop)
        try:
            entry = self._targets.get(call.url)
            if entry is None:
                entry = self._target(call.url)
            pool, target = entry
            body = call.body
            method = call.method
            head = build_head(method, target, pool, call.headers, len(body))
            total_at = loop.time() + timeouts.total
            conn = pool.pop_idle()
            reused = conn is not None
            if conn is None:
                conn, reused = await pool.acquire(min(timeouts.connect, timeouts.total))
            while True:
                conn.start(head, body, timeouts.first_byte, total_at, method == "HEAD")
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
        except (UpstreamTransportError, asyncio.TimeoutError, OSError) as exc:
            raise transport_error(slug, exc) from None

    def open_connections(self) -> int:
        """Connections to providers, in use or idle in the pool (for the instance metrics)."""
        return sum(len(p) for p in self._pools.values())

    async def close(self) -> None:
        for pool in self._pools.values():
            pool.close()
        self._pools.clear()
        self._targets.clear()
        await asyncio.sleep(0)  # let the transports run connection_lost
