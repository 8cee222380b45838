"""One keep-alive HTTP/1.1 connection to a provider: an asyncio.Protocol + httptools (llhttp).

The connection owns the state of the exchange in flight; ``response.Response`` is the reader's
view of it. Per read from the socket the work is: llhttp parses in C and hands each body piece
straight to ``list.append`` (no Python frame per HTTP chunk), then one size check and, only if a
reader is waiting, one future is resolved. No Task, no copy, no timer call. Header lines don't
reach Python either: the raw head is kept (the socket reads it arrived in) and parsed only if
someone asks for ``headers`` (the gateway does on errors only).

Timeouts use ONE ``loop.call_at`` timer per connection. The exchange only records deadlines
(``_last_read`` is refreshed on each read; ``_fb`` is the allowed silence; ``_total_at`` the
deadline of the whole exchange). When the timer fires it re-checks them and either raises the
timeout or re-arms itself at the next deadline, so a chunk never touches a TimerHandle and a
request on a warm connection normally doesn't either (its timer, armed by an earlier request,
fires no later than the new deadline and re-arms from there). The same timer expires idle
connections: it is never set more than ``keepalive`` ahead, so it is due in time for that.
"""

from __future__ import annotations

import asyncio
import socket
from typing import TYPE_CHECKING, Any

import httptools

from switchyard.upstream.errors import BadResponse, ReadTimeout, ServerDisconnected

if TYPE_CHECKING:
    from switchyard.upstream.pool import Pool

IDLE, HEAD, BODY, DONE = 0, 1, 2, 3   # no exchange / waiting for headers / receiving body / complete
HIGH_WATER = 256 * 1024               # buffered body bytes above which reading is paused
MAX_HEAD = 128 * 1024                # a response head (with any 1xx heads) can't be larger
_NO_LIMIT = 1 << 62
_PARSER_ERRORS = (httptools.HttpParserError, httptools.HttpParserUpgrade)


class _Stray(Exception):
    """A second message began on a connection whose exchange was over."""


class _Callbacks:
    """What llhttp calls. ``on_body`` is a list's ``append``, so a body piece costs no Python frame;
    without ``on_header`` llhttp doesn't call into Python per header line."""

    __slots__ = ("on_body", "on_headers_complete", "on_message_begin", "on_message_complete")


def final_head(bufs: list[bytes], n_info: int) -> bytes:
    """The head of the final response (after ``n_info`` 1xx heads) from the bytes received while
    waiting for it. llhttp has validated it: CRLF line ends, no folding."""
    data = bufs[0] if len(bufs) == 1 else b"".join(bufs)
    start = 0
    for _ in range(n_info):
        start = data.index(b"\r\n\r\n", start) + 4
    return data[start:data.index(b"\r\n\r\n", start) + 2]  # status line + header lines, each + CRLF


class Connection(asyncio.Protocol):
    __slots__ = ("_buffered", "_chunks", "_closed", "_dead", "_exc", "_fb", "_got_bytes", "_head",
                 "_head_only", "_high", "_idle_since", "_info", "_keep", "_last_read", "_loop", "_n_info",
                 "_parser", "_paused", "_state", "_status", "_t", "_timer", "_timer_at", "_total_at",
                 "_waiter", "pool", "_sink")

    def __init__(self, pool: Pool) -> None:
        self.pool = pool
        self._loop = pool.loop
        self._t: asyncio.Transport = None  # type: ignore[assignment]
        self._chunks: list[bytes] = []  # body pieces not yet read; always this same list
        cb = _Callbacks()
        cb.on_body = self._chunks.append
        cb.on_message_begin = self._on_message_begin
        cb.on_headers_complete = self._on_headers_complete
        cb.on_message_complete = self._on_message_complete
        self._parser = httptools.HttpResponseParser(cb)
        self._state = IDLE
        self._head: list[bytes] = []  # socket reads received while waiting for the head
        self._n_info = 0               # 1xx heads before the final one
        self._status = 0
        self._buffered = 0
        self._high = HIGH_WATER
        self._paused = self._got_bytes = self._dead = self._closed = self._info = self._head_only = False
        self._keep = True
        self._waiter: asyncio.Future | None = None
        # Push mode (Response.push): called on every body read, the end and errors, instead of
        # buffering and waking a waiting task.
        self._sink: Any = None
        self._exc: BaseException | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._timer_at = self._last_read = self._fb = self._total_at = self._idle_since = 0.0

    # ---- transport callbacks ----

    def connection_made(self, transport) -> None:  # type: ignore[override]
        self._t = transport
        sock = transport.get_extra_info("socket")
        if sock is not None:
            try:  # the request goes out in one write; don't let Nagle hold it
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            except OSError:
                pass
        self._idle_since = self._loop.time()

    def eof_received(self) -> None:
        self._dead = True  # returning None lets the transport close; connection_lost follows

    def connection_lost(self, exc: BaseException | None) -> None:
        self._closed = self._dead = True
        st = self._state
        if st == BODY and self._exc is None and self._until_close():
            self._state, self._keep = DONE, False  # a close-delimited body ends here (HTTP/1.0 style)
        elif (st == HEAD or st == BODY) and self._exc is None:
            self._exc = ServerDisconnected("the provider closed the connection")
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._wake()
        self.pool.lost(self)

    def data_received(self, data: bytes) -> None:
        st = self._state
        if st == IDLE or st == DONE:  # nothing is expected: the connection is out of sync
            self.abort()
            return
        self._last_read = self._loop.time()
        if st == HEAD:
            self._got_bytes = True
            self._head.append(data)
        try:
            self._parser.feed_data(data)
        except _PARSER_ERRORS:
            if self._state != DONE:  # else: junk after a complete response; just don't reuse
                self._exc = BadResponse("the provider sent a malformed HTTP response")
                self._wake()
            self.abort()
            return
        if self._state == HEAD and sum(map(len, self._head)) > MAX_HEAD:
            self._exc = BadResponse("the provider sent an oversized response head")
            self._wake()
            self.abort()
            return
        if self._chunks:  # body bytes arrived (counted with their framing: close enough)
            sink = self._sink
            if sink is not None:
                sink()
                return
            n = self._buffered + len(data)
            self._buffered = n
            if n > self._high and not self._paused:
                self._paused = True
                self._t.pause_reading()
            w = self._waiter
            if w is not None:
                self._waiter = None
                if not w.done():
                    w.set_result(None)

    # ---- llhttp callbacks ----

    def _on_message_begin(self) -> None:
        if self._state == DONE:
            raise _Stray

    def _on_headers_complete(self) -> None:
        status = self._parser.get_status_code()
        if status < 200:  # 1xx (103 Early Hints, ...): the real response follows
            self._info = True
            self._n_info += 1
            return
        self._status = status
        if self._head_only:  # llhttp can't know there's no body: end here, don't reuse
            self._state, self._keep, self._dead = DONE, False, True
        else:
            self._state = BODY
        self._wake()

    def _on_message_complete(self) -> None:
        if self._info:
            self._info = False
            return
        if self._state == BODY:
            self._keep = self._parser.should_keep_alive()
            self._state = DONE
            self._wake()

    # ---- used by the client / response ----

    def start(self, data: bytes | tuple[bytes, bytes], first_byte: float, total_at: float,
              head_only: bool) -> None:
        """Send one request (its bytes, or (head, large body) to write without joining them); the
        caller then waits (``wait()``) until ``_state`` leaves HEAD."""
        self._state = HEAD
        self._head = []  # a new list: the previous Response keeps its own
        self._n_info = 0
        self._got_bytes = self._paused = self._info = False
        self._head_only = head_only
        self._exc = None
        self._buffered = 0
        self._high = HIGH_WATER
        now = self._loop.time()
        self._last_read, self._fb, self._total_at = now, first_byte, total_at
        # never more than `keepalive` ahead, so that once idle the timer is not late for expiry
        self._arm(min(now + first_byte, total_at, now + self.pool.keepalive))
        try:
            if type(data) is bytes:
                self._t.write(data)  # head and body in one write, one segment
            else:
                self._t.writelines(data)  # no copy of a large body (one writev on uvloop)
        except (RuntimeError, OSError):  # the transport closed under us: nothing was received
            self._exc = ServerDisconnected("the provider closed the connection")
            self.abort()

    def wait(self) -> asyncio.Future:
        fut = self._waiter = self._loop.create_future()
        return fut

    def no_flow_limit(self) -> None:
        """The reader wants the whole body (``read()``): buffer it all, don't pause."""
        self._high = _NO_LIMIT
        if self._paused:
            self.resume()

    def resume(self) -> None:
        self._paused = False
        self._buffered = 0
        self._last_read = self._loop.time()  # the pause was our reader's, not the provider's silence
        if not self._closed:
            self._t.resume_reading()

    def done(self) -> None:
        """The reader has the whole response: back to the pool, or closed."""
        if self._keep and not self._dead and not self._closed:
            self._state = IDLE
            self.pool.put(self)
        else:
            self._state = IDLE
            self._dead = True
            if not self._closed:
                self._t.close()

    def abort(self) -> None:
        """Close now (error, timeout, cancellation): the provider sees the disconnect at once."""
        self._dead = True
        if not self._closed and self._t is not None:
            self._t.abort()

    @property
    def usable(self) -> bool:
        return not self._dead and not self._closed

    # ---- internals ----

    def _wake(self) -> None:
        sink = self._sink
        if sink is not None:
            sink()
        w = self._waiter
        if w is not None:
            self._waiter = None
            if not w.done():
                w.set_result(None)

    def _until_close(self) -> bool:
        """Is this response's body delimited by the end of the connection?"""
        if self._status in (204, 304):
            return False
        for line in final_head(self._head, self._n_info).lower().split(b"\r\n"):
            name, _, value = line.partition(b":")
            if name == b"content-length" or (name == b"transfer-encoding" and b"chunked" in value):
                return False
        return True

    def _arm(self, when: float) -> None:
        """Make sure the timer fires no later than ``when``."""
        t = self._timer
        if t is not None:
            if self._timer_at <= when:
                return
            t.cancel()
        self._timer_at = when
        self._timer = self._loop.call_at(when, self._on_timer)

    def arm_idle(self) -> None:
        """A pending timer will do: it is due no later than ``keepalive`` after the request."""
        if self._timer is None and not self._closed:
            self._timer_at = when = self._idle_since + self.pool.keepalive
            self._timer = self._loop.call_at(when, self._on_timer)

    def _on_timer(self) -> None:
        self._timer = None
        if self._closed:
            return
        now = self._loop.time()
        st = self._state
        if st == HEAD or st == BODY:
            if self._paused:
                self._last_read = now
            silent = self._last_read + self._fb
            deadline = silent if silent < self._total_at else self._total_at  # noqa: FURB136 (no call)
            if now + 0.001 >= deadline:
                self._exc = ReadTimeout("timed out waiting for the provider")
                self.abort()
                self._wake()
            else:
                ka = now + self.pool.keepalive
                self._arm(deadline if deadline < ka else ka)  # noqa: FURB136
        elif st == IDLE:
            expiry = self._idle_since + self.pool.keepalive
            if now + 0.001 >= expiry:
                self._dead = True
                self._t.close()
            else:
                self._arm(expiry)
        # DONE: the body is all here; the reader releases the connection
