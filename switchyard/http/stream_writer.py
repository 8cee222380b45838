"""Writing a streamed response body (chunked on HTTP/1.1, delimited by closing on HTTP/1.0).

Two modes. Pull: the connection's task iterates the body and writes each piece. Push: a body with
a ``pump(write, flow)`` method writes each piece itself as its source delivers it (the gateway's
relay, from the upstream protocol's callback), so no task is woken per chunk; the connection's
write-buffer state throttles that source through ``flow.on_write_pause``/``on_write_resume``.
"""
from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from .messages import CHUNKED, LAST_CHUNK, Request, StreamResponse, response_head

if TYPE_CHECKING:
    from .server import _Conn

_log = logging.getLogger("switchyard.http")


async def send_stream(conn: _Conn, req: Request, resp: StreamResponse) -> bool:
    """Send ``resp``; whether the connection can be kept open for another request."""
    if conn._closed:  # handler swallowed our cancellation
        return False
    it, t, http11, srv = resp.body.__aiter__(), conn._t, req._http11, conn._srv
    head_only, first = req.method == "HEAD", b""
    try:
        # Wait for the first non-empty chunk so head and chunk go out in one write;
        # an error before any byte was sent can still become a proper 500.
        if not head_only:
            try:
                while not first:
                    first = await it.__anext__()
            except StopAsyncIteration:
                pass
            except Exception:
                _log.exception("stream failed before first chunk: %s %s", req.method, req.path)
                ka = req._keep_alive and not srv._closing
                conn._write(srv._error_response(500, "Internal server error", req), False, ka, http11)
                return ka
        # HTTP/1.0 has no chunked encoding: the body is delimited by closing.
        ka = http11 and req._keep_alive and not srv._closing
        head = response_head(resp.status, resp.content_type, resp.headers,
                             CHUNKED if http11 else "", ka, http11)
        if head_only or not first:
            t.write(head + LAST_CHUNK if http11 and not head_only else head)
            return ka
        pump = getattr(resp.body, "pump", None) if http11 else None
        if pump is not None:
            # Push mode: the body writes each piece as its source delivers it, no task switch
            # per chunk; our write-buffer state throttles its source (pause/resume). Head and
            # first chunk wait for the body's first write, which may be empty: a body calls
            # write(b"") before it waits for its source. A body that is already complete (the
            # provider's whole answer came in one read) then goes out in a single write.
            held = [head + b"%x\r\n%b\r\n" % (len(first), first)]

            def write(chunk: bytes) -> None:
                if t.is_closing():
                    return
                if held:
                    t.write(held.pop() + (b"%x\r\n%b\r\n" % (len(chunk), chunk) if chunk else b""))
                elif chunk:
                    t.write(b"%x\r\n%b\r\n" % (len(chunk), chunk))

            try:
                last = await pump(write, conn)
            except Exception:
                _log.exception("stream failed mid-body: %s %s", req.method, req.path)
                write(b"")  # what was held is still the start of the (unterminated) body
                return False
            finally:
                conn.on_write_pause = conn.on_write_resume = None
            if t.is_closing():
                return False
            end = b"%x\r\n%b\r\n%b" % (len(last), last, LAST_CHUNK) if last else LAST_CHUNK
            t.write(held.pop() + end if held else end)
            return ka
        t.write(head + (b"%x\r\n%b\r\n" % (len(first), first) if http11 else first))
        try:
            while True:
                if conn._write_paused:  # slow reader: don't run ahead of it
                    await conn._drain()
                try:
                    chunk = await it.__anext__()
                except StopAsyncIteration:
                    break
                if chunk:
                    if t.is_closing():  # send failed; connection_lost not run yet, and a
                        return False    # body that never suspends would spin writing
                    t.write(b"%x\r\n%b\r\n" % (len(chunk), chunk) if http11 else chunk)
        except Exception:
            # Headers are out: a 500 is impossible; an unterminated body (we close)
            # tells the client the response is broken.
            _log.exception("stream failed mid-body: %s %s", req.method, req.path)
            return False
        if http11:
            t.write(LAST_CHUNK)
        return ka
    finally:
        aclose = getattr(it, "aclose", None)  # HEAD, errors, cancellation
        if aclose is not None:
            await aclose()
