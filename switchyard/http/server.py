"""Minimal HTTP/1.1 server on asyncio.Protocol + httptools (llhttp).

Why not aiohttp.web: CPU per proxied request is the product's headline figure and
aiohttp.web spends most of its per-request time in machinery the gateway does not
need (routing, middlewares, multidict, StreamReader, access log). Here a request is:
llhttp parses in C, we build one Request, run the handler in one Task and write the
response with a single transport.write(). Modelled on uvicorn's httptools_impl.
"""
from __future__ import annotations

import asyncio
import logging
import socket
from collections import deque
from typing import Any

import httptools

from .messages import (
    CONTINUE,
    ErrorResponder,
    Handler,
    Request,
    Response,
    StreamResponse,
    default_error_responder,
    response_head,
)
from .stream_writer import send_stream

__all__ = ["ErrorResponder", "HTTPServer", "Handler", "Request", "Response",
           "StreamResponse", "default_error_responder"]

_log = logging.getLogger("switchyard.http")

_NAMES: dict[bytes, str] = {}  # raw header name -> lower-cased str, to skip decode+lower
_METHODS = {m.encode(): m for m in ("GET", "POST", "PUT", "DELETE", "HEAD", "OPTIONS", "PATCH")}
_WRITE_HIGH = 64 * 1024   # transport buffer above which pause_writing() is called
_SMALL_BODY = 64 * 1024   # below this head+body are joined: one syscall, one segment
_LINGER = 2.0             # seconds we keep draining input after an error response


class _Rejected(Exception):
    """Raised inside parser callbacks to abort llhttp; the reason is in _Conn._reject."""


class _Conn(asyncio.Protocol):
    __slots__ = ("_srv", "_loop", "_t", "_parser", "_client", "_task", "_pending",
                 "_headers", "_url", "_body", "_body_len", "_chunk_len", "_first_len", "_raw_hdr",
                 "_in_headers", "_began", "_continue", "_reject", "_discard", "_closed",
                 "_read_paused", "_write_paused", "_drain_waiter", "_last_active", "_timer",
                 "on_write_pause", "on_write_resume")

    def __init__(self, srv: HTTPServer) -> None:
        self._srv, self._loop, self._parser = srv, srv._loop, httptools.HttpRequestParser(self)
        self._t: asyncio.Transport = None  # type: ignore[assignment]
        self._task: asyncio.Task | None = None
        self._pending: deque = deque()  # pipelined Requests, or (status, msg) errors
        self._headers: dict[str, str] = {}
        self._client = self._body = self._reject = self._drain_waiter = self._timer = None
        self._url = b""
        self._body_len = self._chunk_len = self._first_len = self._raw_hdr = 0
        self._last_active = 0.0
        self._in_headers = self._began = self._continue = self._discard = self._closed = False
        self._read_paused = self._write_paused = False
        self.on_write_pause: Any = None  # push-mode bodies: slow down their producer with us
        self.on_write_resume: Any = None

    def connection_made(self, transport) -> None:
        self._t = transport
        sock = transport.get_extra_info("socket")
        if sock is not None:
            try:  # small responses/SSE events must not wait for Nagle
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            except OSError:
                pass  # not TCP (unix socket)
        transport.set_write_buffer_limits(high=_WRITE_HIGH)
        peer = transport.get_extra_info("peername")
        self._client = (peer[0], peer[1]) if isinstance(peer, tuple) else None
        srv = self._srv
        srv._conns.add(self)
        if srv._closing:
            transport.close()
            return
        self._last_active = self._loop.time()
        self._timer = self._loop.call_later(srv._ka_timeout, self._on_timer)

    def connection_lost(self, exc) -> None:
        self._closed = True
        self._srv._conns.discard(self)
        self._pending.clear()
        if self._timer is not None:
            self._timer.cancel()
        if self._task is not None:  # this is how an upstream request gets abandoned
            self._task.cancel()     # when the client goes away

    def eof_received(self) -> None:
        # HTTP clients only half-close when leaving; returning None closes the
        # transport, so connection_lost cancels any running handler promptly.
        pass

    def pause_writing(self) -> None:
        self._write_paused = True
        if self.on_write_pause is not None:
            self.on_write_pause()

    def resume_writing(self) -> None:
        self._write_paused = False
        if self.on_write_resume is not None:
            self.on_write_resume()
        w = self._drain_waiter
        if w is not None and not w.done():
            w.set_result(None)

    def data_received(self, data: bytes) -> None:
        if self._discard:
            return
        self._last_active = self._loop.time()
        self._began = False
        self._chunk_len = len(data)
        in_hdr = self._in_headers
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            pass  # no upgrade support: the request is answered and the connection closed
        except httptools.HttpParserError:
            if not self._discard:
                self._fail(*(self._reject or (400, "Malformed HTTP request")))
            return
        # Bound memory for a single huge header line (on_header only sees complete
        # ones): a chunk that started and ended inside the header section is all header.
        if in_hdr and self._in_headers and not self._began:
            self._raw_hdr += len(data)
            if self._raw_hdr > self._srv._max_hdr:
                self._fail(431, "Request header fields too large")

    # parser callbacks (called synchronously from feed_data)
    def on_message_begin(self) -> None:
        self._headers = {}
        self._url = b""
        self._body = None
        self._body_len = self._raw_hdr = 0
        self._first_len = self._chunk_len
        self._in_headers = self._began = True
        if self._task is not None and not self._read_paused:
            # Pipelined request while busy: stop reading so a client can't make us
            # buffer without bound; resumed when the queue drains. (While paused an
            # EOF is only noticed at the next write.)
            self._t.pause_reading()
            self._read_paused = True

    def _reject_now(self, status: int, message: str):
        self._reject = (status, message)
        raise _Rejected

    def on_url(self, url: bytes) -> None:
        self._url += url

    def on_header(self, name: bytes, value: bytes) -> None:
        k = _NAMES.get(name)
        if k is None:
            k = name.lower().decode("latin-1")
            if len(_NAMES) < 1024:  # bounded: names are attacker-chosen
                _NAMES[name] = k
        h = self._headers
        if k in h:
            h[k] += ", " + value.decode("latin-1")
        else:
            h[k] = value.decode("latin-1")

    def on_headers_complete(self) -> None:
        self._in_headers = False
        h, srv = self._headers, self._srv
        # Bytes received since the message began bound the header size from above;
        # the exact (slower) count is only needed when that bound is big.
        bound = self._chunk_len if self._began else \
            self._first_len + self._raw_hdr + self._chunk_len
        if bound > srv._max_hdr and len(self._url) + sum(
                len(k) + len(v) + 4 for k, v in h.items()) > srv._max_hdr:
            self._reject_now(431, "Request header fields too large")
        cl = h.get("content-length")
        if cl is not None:
            try:
                n = int(cl)
            except ValueError:
                self._reject_now(400, "Invalid Content-Length")
            if n > srv._max_body:  # reject before reading (or 100-continuing) it
                self._reject_now(413, "Request body too large")
        if "expect" in h and h["expect"].lower() == "100-continue" \
                and self._parser.get_http_version() == "1.1":
            if self._task is None:
                self._t.write(CONTINUE)
            else:  # a previous response is still being written; send it when done
                self._continue = True

    def on_body(self, body: bytes) -> None:
        n = self._body_len + len(body)
        if n > self._srv._max_body:  # chunked body growing past the limit
            self._reject_now(413, "Request body too large")
        self._body_len = n
        b = self._body
        if b is None:  # common case: one piece, no join/copy needed
            self._body = body
        elif type(b) is bytes:
            self._body = [b, body]
        else:
            b.append(body)

    def on_message_complete(self) -> None:
        p, b = self._parser, self._body
        if b is None:
            b = b""
        elif type(b) is list:
            b = b"".join(b)
        url = self._url
        if url[:1] != b"/":  # absolute-form ("http://h/p?q") or "*": rare
            try:
                u = httptools.parse_url(url)
                url = (u.path or b"/") + (b"?" + u.query if u.query else b"")
            except httptools.HttpParserInvalidURLError:
                pass
        path, _, query = url.decode("latin-1").partition("?")
        m = p.get_method()
        h = self._headers
        ka = p.should_keep_alive() and not p.should_upgrade()
        # Keep-alive without a Connection header implies HTTP/1.1: skips a str format.
        http11 = (ka and "connection" not in h) or p.get_http_version() == "1.1"
        req = Request(_METHODS.get(m) or m.decode("latin-1"), path, query, h, b,
                      self._client, ka, http11)
        self._body = None
        if not ka:
            self._discard = True  # nothing after a closing request is processed
        if self._task is None:
            self._task = self._loop.create_task(self._run(req))
        else:
            self._pending.append(req)

    def _fail(self, status: int, message: str) -> None:
        self._discard = True
        if self._task is None:
            self._send_error(status, message)
        else:  # answer in order, after the responses already owed
            self._pending.append((status, message))

    def _send_error(self, status: int, message: str) -> None:
        if self._closed:
            return
        t = self._t
        self._write(self._srv._error_response(status, message, None), False, False, True)
        # Lingering close: half-close and keep discarding input for a moment. Closing
        # with unread data (e.g. the rest of an oversized body) makes the kernel send
        # RST, which can destroy the error response before the client reads it.
        if self._read_paused:
            t.resume_reading()
            self._read_paused = False
        if t.can_write_eof():
            t.write_eof()
            self._loop.call_later(_LINGER, t.close)
        else:
            t.close()

    def _write(self, resp: Response, head_only: bool, ka: bool, http11: bool) -> None:
        status, body = resp.status, resp.body
        if status < 200 or status == 204 or status == 304:  # no body, no length
            self._t.write(response_head(status, resp.content_type, resp.headers, "", ka, http11))
            return
        head = response_head(status, resp.content_type, resp.headers,
                             f"content-length: {len(body)}\r\n", ka, http11)
        if head_only or not body:
            self._t.write(head)
        elif len(body) < _SMALL_BODY:
            self._t.write(head + body)
        else:  # don't copy a large body just to save a syscall
            self._t.write(head)
            self._t.write(body)

    async def _run(self, req: Request) -> None:
        srv = self._srv
        srv.active_requests += 1
        ka = False
        try:
            try:
                resp = await srv._handler(req)
            except Exception:
                _log.exception("handler failed: %s %s", req.method, req.path)
                resp = srv._error_response(500, "Internal server error", req)
            if isinstance(resp, StreamResponse):
                ka = await send_stream(self, req, resp)
            elif not self._closed:
                ka = req._keep_alive and not srv._closing
                self._write(resp, req.method == "HEAD", ka, req._http11)
        except asyncio.CancelledError:
            pass  # client disconnected or close() ran out of grace: just drop the connection
        except Exception:
            _log.exception("failed to send response: %s %s", req.method, req.path)
        finally:
            srv.active_requests -= 1
            self._task = None
        if ka and not self._closed and not srv._closing:
            self._next()
        else:
            self._t.close()

    async def _drain(self) -> None:
        self._drain_waiter = self._loop.create_future()
        await self._drain_waiter

    def _next(self) -> None:
        """The previous response is complete and the connection stays open."""
        self._last_active = self._loop.time()
        if self._pending:
            item = self._pending.popleft()
            if type(item) is tuple:
                self._send_error(*item)
            else:
                self._task = self._loop.create_task(self._run(item))
            return
        if self._continue:
            self._continue = False
            self._t.write(CONTINUE)
        if self._read_paused:
            self._read_paused = False
            self._t.resume_reading()
        if self._timer is None:
            self._timer = self._loop.call_later(self._srv._ka_timeout, self._on_timer)

    def _on_timer(self) -> None:
        # One timer per connection re-armed lazily, instead of cancel+reschedule
        # (an allocation) on every request.
        self._timer = None
        if self._closed or self._task is not None:
            return  # busy: _next() re-arms it
        left = self._last_active + self._srv._ka_timeout - self._loop.time()
        if left > 0:
            self._timer = self._loop.call_later(left, self._on_timer)
        else:
            self._t.close()


class HTTPServer:
    def __init__(self, handler: Handler, *, error_responder: ErrorResponder | None = None,
                 max_body_bytes: int = 20 * 1024 * 1024, keepalive_timeout: float = 75.0,
                 max_header_bytes: int = 64 * 1024) -> None:
        self._handler = handler
        self._error_responder = error_responder or default_error_responder
        self._max_body = max_body_bytes
        self._ka_timeout = keepalive_timeout
        self._max_hdr = max_header_bytes
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: asyncio.AbstractServer | None = None
        self._conns: set[_Conn] = set()
        self._closing = False
        self.active_requests = 0

    def _error_response(self, status: int, message: str, req: Request | None) -> Response:
        try:
            return self._error_responder(status, message, req)
        except Exception:
            _log.exception("error_responder failed")
            return default_error_responder(status, message, req)

    async def start(self, host: str = "127.0.0.1", port: int = 0, *, reuse_port: bool = False,
                    sock: socket.socket | None = None) -> None:
        self._loop = asyncio.get_running_loop()
        self._closing = False
        factory = lambda: _Conn(self)  # noqa: E731
        if sock is not None:
            self._server = await self._loop.create_server(factory, sock=sock, backlog=1024)
        else:
            self._server = await self._loop.create_server(
                factory, host, port, reuse_port=reuse_port or None, backlog=1024)

    @property
    def port(self) -> int:
        assert self._server is not None, "server not started"
        return self._server.sockets[0].getsockname()[1]

    async def close(self, grace: float = 10.0) -> None:
        self._closing = True  # responses now carry connection: close, nothing new starts
        if self._server is not None:
            self._server.close()
        for c in list(self._conns):
            if c._task is None:  # idle keep-alive (or half-received request)
                c._t.close()
        busy = {c._task for c in self._conns if c._task is not None}
        if busy:
            _, late = await asyncio.wait(busy, timeout=grace)
            for task in late:
                task.cancel()
            if late:
                await asyncio.wait(late, timeout=1.0)
        for c in list(self._conns):
            c._t.close()
        if self._server is not None:
            try:  # on 3.12+ this also waits for connections to be gone
                await asyncio.wait_for(self._server.wait_closed(), 1.0)
            except asyncio.TimeoutError:
                pass
            self._server = None
