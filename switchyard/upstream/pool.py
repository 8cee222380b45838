"""Keep-alive connection pools, one per (scheme, host, port), and the request head.

Idle connections are reused LIFO (the most recently used is the likeliest to be alive and warm).
There is no global limit; ``limit_per_host`` (0: none) caps the connections of one pool, extra
requests wait for one to come back. A connection the provider closed while idle is noticed by its
``connection_lost``/EOF and dropped from the pool; idle ones expire after ``keepalive`` seconds.

No proxy support: connections go straight to the provider (HTTP(S)_PROXY is ignored).
"""

from __future__ import annotations

import asyncio
import base64
import ssl
from collections import deque
from urllib.parse import unquote, urlsplit

from switchyard.upstream.connection import Connection
from switchyard.upstream.errors import ConnectFailed, ConnectTimeout, InvalidRequest

_DEFAULT_PORTS = {"http": 80, "https": 443}


class Pool:
    __slots__ = ("_all", "_closed", "_connecting", "_idle", "_waiters", "host", "host_header", "keepalive",
                 "key", "limit", "loop", "port", "ssl")

    def __init__(self, loop: asyncio.AbstractEventLoop, scheme: str, host: str, port: int,
                 ssl_ctx: ssl.SSLContext | None, keepalive: float, limit: int) -> None:
        self.loop = loop
        self.key = (scheme, host, port)
        self.host, self.port, self.ssl = host, port, ssl_ctx
        h = f"[{host}]" if ":" in host else host
        self.host_header = h if port == _DEFAULT_PORTS[scheme] else f"{h}:{port}"
        self.keepalive = keepalive
        self.limit = limit
        self._idle: list[Connection] = []
        self._all: set[Connection] = set()
        self._connecting = 0
        self._waiters: deque[asyncio.Future] = deque()
        self._closed = False

    def __len__(self) -> int:
        return len(self._all) + self._connecting

    def pop_idle(self) -> Connection | None:
        idle = self._idle
        while idle:
            conn = idle.pop()
            if conn.usable:
                return conn
        return None

    async def acquire(self, timeout: float, fresh: bool = False) -> tuple[Connection, bool]:
        """An idle connection (reused=True) or, with none or ``fresh``, a new one. ``timeout``
        bounds connecting and waiting for a free slot under ``limit``."""
        conn = None if fresh else self.pop_idle()
        if conn is not None:
            return conn, True
        try:
            async with asyncio.timeout(timeout):
                while self.limit and len(self) >= self.limit:
                    fut = self.loop.create_future()
                    self._waiters.append(fut)
                    try:
                        conn = await fut
                    except BaseException:
                        if fut.done() and not fut.cancelled() and fut.result() is not None:
                            self.put(fut.result())  # handed over just as we gave up: pass it on
                        else:
                            try:
                                self._waiters.remove(fut)
                            except ValueError:
                                pass
                        raise
                    if conn is None:
                        conn = self.pop_idle()
                    if conn is not None:
                        return conn, True
                return await self._connect(), False
        except TimeoutError:
            raise ConnectTimeout("timed out connecting to the provider") from None

    async def _connect(self) -> Connection:
        self._connecting += 1
        try:
            _, conn = await self.loop.create_connection(
                self._factory, self.host, self.port, ssl=self.ssl,
                server_hostname=self.host if self.ssl is not None else None)
        except (OSError, ValueError) as exc:  # refused, unreachable, DNS (gaierror), TLS (SSLError)
            raise ConnectFailed(f"could not connect to the provider ({type(exc).__name__})") from None
        finally:
            self._connecting -= 1
        if self._closed:
            conn.abort()
            raise ConnectFailed("the client is closed")
        self._all.add(conn)
        return conn  # type: ignore[return-value]

    def _factory(self) -> Connection:
        return Connection(self)

    def put(self, conn: Connection) -> None:
        """A connection whose exchange is over and which can be reused."""
        if not conn.usable or self._closed:
            conn.abort()
            return
        waiters = self._waiters
        while waiters:
            fut = waiters.popleft()
            if not fut.done():
                fut.set_result(conn)
                return
        conn._idle_since = self.loop.time()
        self._idle.append(conn)
        conn.arm_idle()

    def lost(self, conn: Connection) -> None:
        """Called by the connection once its transport is gone."""
        self._all.discard(conn)
        idle = self._idle
        if conn in idle:  # only when an idle connection was closed by the provider or expired
            idle.remove(conn)
        waiters = self._waiters
        while waiters:  # a slot is free: let one waiter connect
            fut = waiters.popleft()
            if not fut.done():
                fut.set_result(None)
                break

    def close(self) -> None:
        self._closed = True
        for conn in list(self._all):
            conn.abort()
        self._idle.clear()
        while self._waiters:
            fut = self._waiters.popleft()
            if not fut.done():
                fut.set_exception(ConnectFailed("the client is closed"))


def split_url(url: str) -> tuple[str, str, int, str, str | None]:
    """(scheme, host, port, request target, basic-auth value or None). Raises InvalidRequest
    without echoing the URL (it can hold credentials)."""
    try:
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        host = parts.hostname
        port = parts.port or _DEFAULT_PORTS.get(scheme, 0)
    except ValueError:
        raise InvalidRequest("invalid provider URL") from None
    if scheme not in _DEFAULT_PORTS or not host:
        raise InvalidRequest("invalid provider URL (http:// or https:// with a host expected)")
    target = parts.path or "/"
    if parts.query:
        target = f"{target}?{parts.query}"
    if any(c <= " " or c == "\x7f" for c in target):
        raise InvalidRequest("invalid provider URL (whitespace or control characters in the path)")
    auth = None
    if parts.username is not None:
        cred = f"{unquote(parts.username)}:{unquote(parts.password or '')}".encode()
        auth = "Basic " + base64.b64encode(cred).decode()
    return scheme, host, port, target, auth


# Request headers the client manages itself; a caller's own value for them is dropped
# (content-length, transfer-encoding, connection) or used instead of the default (the rest).
_MANAGED = frozenset(("host", "content-length", "transfer-encoding", "connection", "accept",
                      "accept-encoding", "authorization"))
_STREAM_ACCEPT = ("text/event-stream", "application/vnd.amazon.eventstream")
_BODY_METHODS = frozenset(("POST", "PUT", "PATCH"))


def build_head(method: str, target: str, host: str, auth: str | None,
               headers: dict[str, str]) -> tuple[bytes, bool]:
    """The request line and headers, ready to write but for the final ``content-length`` (when the
    second item is True the head ends with ``content-length: `` and the caller appends the length
    and the blank line; else with the blank line). ``accept-encoding: gzip, deflate`` is added
    unless the caller set one or the call looks like a stream (``accept: text/event-stream`` or
    AWS event stream, or ``alt=sse`` in the query): compressing a stream only delays its events.
    Raises InvalidRequest for a CR/LF in a header (request smuggling)."""
    s = f"{method} {target} HTTP/1.1\r\n"
    lines = 1
    has_host = has_auth = False
    accept = enc = None
    for k, v in headers.items():
        lk = k.lower()
        if lk in _MANAGED:
            if lk == "host":
                has_host = True
            elif lk == "accept":
                accept = v
            elif lk == "accept-encoding":
                enc = v
            elif lk == "authorization":
                has_auth = True
            else:
                continue  # framing and connection management are ours
        s += f"{k}: {v}\r\n"
        lines += 1
    if not has_host:
        s += f"host: {host}\r\n"
        lines += 1
    if accept is None:
        s += "accept: */*\r\n"
        lines += 1
    if enc is None and accept not in _STREAM_ACCEPT and "alt=sse" not in target:  # (Gemini streams)
        s += "accept-encoding: gzip, deflate\r\n"
        lines += 1
    if auth is not None and not has_auth:  # user:password@ in the URL
        s += f"authorization: {auth}\r\n"
        lines += 1
    if s.count("\n") != lines or s.count("\r") != lines:  # CR/LF inside a name or value
        raise InvalidRequest("a request header contains a line break")
    if method in _BODY_METHODS:
        return (s + "content-length: ").encode(), True
    return (s + "\r\n").encode(), False
