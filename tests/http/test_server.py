"""Tests for switchyard.http.server over real sockets on 127.0.0.1.

Every async test is also re-run on uvloop by test_under_uvloop (bottom), so the
tests take no pytest fixtures: servers come from the `serve` context manager.
"""
from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import socket

import aiohttp
import pytest

from switchyard.http import HTTPServer, Request, Response, StreamResponse

T = 5.0  # generous anti-hang timeout, never a performance assertion
_writers: list[asyncio.StreamWriter] = []  # raw client connections, closed by serve()


@contextlib.asynccontextmanager
async def serve(handler, **kw):
    sock = kw.pop("sock", None)
    srv = HTTPServer(handler, **kw)
    await srv.start(sock=sock)
    try:
        yield srv
    finally:
        await srv.close(grace=1.0)
        close_writers()


def close_writers():
    while _writers:
        _writers.pop().close()


async def raw(srv):
    r, w = await asyncio.open_connection("127.0.0.1", srv.port)
    _writers.append(w)
    return r, w


async def read_response(reader: asyncio.StreamReader, head_only: bool = False):
    """Minimal HTTP/1.x response reader: (status, headers, body, raw_body_bytes)."""
    async with asyncio.timeout(T):
        status_line = await reader.readuntil(b"\r\n")
        status = int(status_line.split()[1])
        headers: dict[str, str] = {}
        while (line := await reader.readuntil(b"\r\n")) != b"\r\n":
            k, _, v = line.decode("latin-1").partition(":")
            headers[k.strip().lower()] = v.strip()
        if head_only or status in (100, 204, 304):
            return status, headers, b"", b""
        if "content-length" in headers:
            body = await reader.readexactly(int(headers["content-length"]))
            return status, headers, body, body
        if headers.get("transfer-encoding") == "chunked":
            body, rawb = b"", b""
            while True:
                size_line = await reader.readuntil(b"\r\n")
                n = int(size_line.strip(), 16)
                data = await reader.readexactly(n + 2)
                rawb += size_line + data
                assert data.endswith(b"\r\n")
                if n == 0:
                    return status, headers, body, rawb
                body += data[:-2]
        body = await reader.read()  # delimited by close
        return status, headers, body, body


async def assert_closed(reader):
    async with asyncio.timeout(T):
        try:
            assert await reader.read() == b""
        except ConnectionResetError:
            pass


async def echo(req: Request) -> Response:
    return Response(200, json.dumps({
        "method": req.method, "path": req.path, "query": req.query,
        "params": req.query_params(), "headers": req.headers,
        "body": req.body.decode(), "client": list(req.client or ()),
    }).encode(), headers=[("x-served-by", "switchyard")])


async def test_get_and_post_round_trip():
    async with serve(echo) as srv, aiohttp.ClientSession() as s:
        url = f"http://127.0.0.1:{srv.port}/v1/models/a%2Fb"
        async with s.get(url, params={"a": "1", "b": "x y"}, headers={"X-Api-Key": "k"}) as r:
            assert r.status == 200
            assert r.headers["content-type"] == "application/json"
            assert r.headers["x-served-by"] == "switchyard"
            assert "date" in r.headers
            d = await r.json()
        assert d["method"] == "GET" and d["path"] == "/v1/models/a%2Fb"
        assert d["query"] == "a=1&b=x+y" and d["params"] == {"a": "1", "b": "x y"}
        assert d["headers"]["x-api-key"] == "k" and d["body"] == ""
        assert d["client"][0] == "127.0.0.1"
        async with s.post(url, json={"hello": "world"}) as r:
            d = await r.json()
        assert d["method"] == "POST" and d["query"] == "" and d["params"] == {}
        assert json.loads(d["body"]) == {"hello": "world"}
        assert d["headers"]["content-type"] == "application/json"


async def test_repeated_headers_and_last_wins_params():
    async with serve(echo) as srv:
        r, w = await raw(srv)
        w.write(b"GET /p?a=1&a=2 HTTP/1.1\r\nHost: x\r\nX-A: 1\r\nx-a: 2\r\n\r\n")
        _, _, body, _ = await read_response(r)
        d = json.loads(body)
        assert d["headers"]["x-a"] == "1, 2" and d["params"] == {"a": "2"}
        w.close()


async def test_keep_alive_reuses_one_connection():
    async with serve(echo) as srv:
        conn = aiohttp.TCPConnector(limit=1)
        async with aiohttp.ClientSession(connector=conn) as s:
            ports = set()
            for i in range(5):
                async with s.get(f"http://127.0.0.1:{srv.port}/{i}") as r:
                    ports.add((await r.json())["client"][1])
        assert len(ports) == 1
        # and on a raw socket, with an explicit Connection: close at the end
        r, w = await raw(srv)
        for i in range(3):
            w.write(b"GET /%d HTTP/1.1\r\nHost: x\r\n\r\n" % i)
            status, h, body, _ = await read_response(r)
            assert status == 200 and json.loads(body)["path"] == f"/{i}"
            assert "connection" not in h
        w.write(b"GET /last HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        status, h, _, _ = await read_response(r)
        assert h["connection"] == "close"
        await assert_closed(r)


async def test_http10_keep_alive_and_default_close():
    async with serve(echo) as srv:
        r, w = await raw(srv)
        w.write(b"GET /a HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
        _, h, _, _ = await read_response(r)
        assert h["connection"] == "keep-alive"
        w.write(b"GET /b HTTP/1.0\r\n\r\n")
        _, h, body, _ = await read_response(r)
        assert h["connection"] == "close" and json.loads(body)["path"] == "/b"
        await assert_closed(r)


async def test_idle_keep_alive_timeout_closes():
    async with serve(echo, keepalive_timeout=0.2) as srv:
        r, w = await raw(srv)
        w.write(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        await read_response(r)
        await assert_closed(r)


async def test_pipelined_requests_answered_in_order():
    async def handler(req):
        await asyncio.sleep({"/1": 0.05, "/2": 0.0, "/3": 0.01}[req.path])
        return Response(200, req.path.encode() + req.body)

    async with serve(handler) as srv:
        r, w = await raw(srv)
        w.write(b"GET /1 HTTP/1.1\r\nHost: x\r\n\r\n"
                b"POST /2 HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc"
                b"GET /3 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        bodies = [(await read_response(r))[2] for _ in range(3)]
        assert bodies == [b"/1", b"/2abc", b"/3"]
        await assert_closed(r)


async def test_chunked_request_body():
    async with serve(echo) as srv:
        r, w = await raw(srv)
        w.write(b"POST /c HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n")
        await w.drain()
        await asyncio.sleep(0.01)
        w.write(b"6\r\n world\r\n0\r\n\r\n")
        status, _, body, _ = await read_response(r)
        assert status == 200 and json.loads(body)["body"] == "hello world"
        w.close()


async def test_413_by_content_length_without_reading_body():
    called = []

    async def handler(req):
        called.append(req)
        return Response(200)

    async with serve(handler, max_body_bytes=100) as srv:
        r, w = await raw(srv)
        w.write(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 101\r\n\r\n")  # body never sent
        status, h, body, _ = await read_response(r)
        assert status == 413 and h["connection"] == "close"
        assert json.loads(body)["error"]["message"]
        await assert_closed(r)
        assert called == []


async def test_413_by_chunked_growth_as_soon_as_it_passes_limit():
    async with serve(echo, max_body_bytes=100) as srv:
        r, w = await raw(srv)
        w.write(b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n")
        w.write(b"50\r\n" + b"a" * 80 + b"\r\n")
        w.write(b"50\r\n" + b"a" * 80 + b"\r\n")  # no terminating chunk: must not wait for it
        status, h, _, _ = await read_response(r)
        assert status == 413 and h["connection"] == "close"
        await assert_closed(r)


async def test_413_by_aiohttp_client_sees_response():
    async with serve(echo, max_body_bytes=1000) as srv, aiohttp.ClientSession() as s:
        async with s.post(f"http://127.0.0.1:{srv.port}/", data=b"x" * 200_000) as r:
            assert r.status == 413


async def test_expect_100_continue():
    async with serve(echo, max_body_bytes=100) as srv:
        r, w = await raw(srv)
        w.write(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n")
        async with asyncio.timeout(T):
            assert await r.readuntil(b"\r\n\r\n") == b"HTTP/1.1 100 Continue\r\n\r\n"
        w.write(b"hello")
        status, _, body, _ = await read_response(r)
        assert status == 200 and json.loads(body)["body"] == "hello"
        # over the limit: straight 413, no 100
        w.write(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 500\r\nExpect: 100-continue\r\n\r\n")
        status, _, _, _ = await read_response(r)
        assert status == 413
        await assert_closed(r)


@pytest.mark.parametrize("junk", [
    b"GARBAGE\r\n\r\n",
    b"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n",
    b"GET / HTTP/1.1\r\nBad Header\r\n\r\n",
])
async def test_malformed_request_400(junk):
    async with serve(echo) as srv:
        r, w = await raw(srv)
        w.write(junk)
        status, h, _, _ = await read_response(r)
        assert status == 400 and h["connection"] == "close"
        await assert_closed(r)


async def test_header_section_too_large_431():
    async with serve(echo, max_header_bytes=4096) as srv:
        for hdrs in (b"".join(b"X-H%d: %s\r\n" % (i, b"v" * 100) for i in range(100)),  # many
                     b"X-Big: " + b"v" * 20000 + b"\r\n"):  # one huge line, sent in pieces
            r, w = await raw(srv)
            msg = b"GET / HTTP/1.1\r\nHost: x\r\n" + hdrs + b"\r\n"
            for i in range(0, len(msg), 1000):
                w.write(msg[i:i + 1000])
                await w.drain()
            status, _, _, _ = await read_response(r)
            assert status == 431
            await assert_closed(r)


async def test_big_body_with_small_header_limit_is_not_431():
    # a single read holding headers + a large body must not be mistaken for big headers
    async with serve(echo, max_header_bytes=1024) as srv, aiohttp.ClientSession() as s:
        async with s.post(f"http://127.0.0.1:{srv.port}/", data=b"y" * 300_000) as r:
            assert r.status == 200 and len((await r.json())["body"]) == 300_000


async def test_absolute_form_target():
    async with serve(echo) as srv:
        r, w = await raw(srv)
        w.write(b"GET http://example.com/a/b?x=1 HTTP/1.1\r\nHost: example.com\r\n\r\n")
        d = json.loads((await read_response(r))[2])
        assert d["path"] == "/a/b" and d["query"] == "x=1"


async def slow_first(req):
    if req.path == "/slow":
        await asyncio.sleep(0.05)
    return Response(200, req.path.encode() + req.body)


async def test_error_in_pipelined_request_waits_for_earlier_response():
    async with serve(slow_first, max_body_bytes=10) as srv:
        r, w = await raw(srv)
        w.write(b"GET /slow HTTP/1.1\r\nHost: x\r\n\r\n"
                b"POST /big HTTP/1.1\r\nHost: x\r\nContent-Length: 11\r\n\r\n")
        assert (await read_response(r))[:1] == (200,)
        assert (await read_response(r))[:1] == (413,)
        await assert_closed(r)


async def test_100_continue_deferred_while_previous_response_pending():
    async with serve(slow_first) as srv:
        r, w = await raw(srv)
        w.write(b"GET /slow HTTP/1.1\r\nHost: x\r\n\r\n"
                b"POST /p HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nExpect: 100-continue\r\n\r\n")
        assert (await read_response(r))[2] == b"/slow"
        async with asyncio.timeout(T):
            assert await r.readuntil(b"\r\n\r\n") == b"HTTP/1.1 100 Continue\r\n\r\n"
        w.write(b"ok")
        assert (await read_response(r))[2] == b"/pok"


async def test_broken_error_responder_falls_back_to_default(caplog):
    def responder(status, message, req):
        raise ValueError("bad responder")

    async def handler(req):
        raise RuntimeError("boom")

    with caplog.at_level(logging.ERROR, logger="switchyard.http"):
        async with serve(handler, error_responder=responder) as srv:
            r, w = await raw(srv)
            w.write(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            status, _, body, _ = await read_response(r)
    assert status == 500 and json.loads(body)["error"]["type"] == "server_error"


def sse_handler(chunks):
    async def handler(req):
        async def gen():
            for c in chunks:
                await asyncio.sleep(0)
                yield c
        return StreamResponse(200, gen(), headers=[("cache-control", "no-cache")])
    return handler


async def test_stream_response_chunked_with_real_client():
    chunks = [b"data: 1\n\n", b"", b"data: 2\n\n", b"x" * 100_000, b"data: [DONE]\n\n"]
    async with serve(sse_handler(chunks)) as srv, aiohttp.ClientSession() as s:
        async with s.post(f"http://127.0.0.1:{srv.port}/v1/chat") as r:
            assert r.headers["transfer-encoding"] == "chunked"
            assert r.headers["content-type"] == "text/event-stream"
            assert r.headers["cache-control"] == "no-cache"
            assert await r.read() == b"".join(chunks)
        # raw framing: one chunk per non-empty yield, then 0\r\n\r\n; conn stays open
        r, w = await raw(srv)
        w.write(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        _, _, body, rawb = await read_response(r)
        assert body == b"".join(chunks)
        expected = b"".join(b"%x\r\n%s\r\n" % (len(c), c) for c in chunks if c) + b"0\r\n\r\n"
        assert rawb == expected
        w.write(b"HEAD / HTTP/1.1\r\nHost: x\r\n\r\n")  # still usable; HEAD has no body
        status, h, _, _ = await read_response(r, head_only=True)
        assert status == 200 and h["transfer-encoding"] == "chunked"
        w.write(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        assert (await read_response(r))[2] == b"".join(chunks)
        w.close()


async def test_empty_stream_and_head_on_response():
    async def handler(req):
        if req.path == "/empty":
            return StreamResponse(200, _agen([]))
        return Response(200, b"12345")

    async with serve(handler) as srv:
        r, w = await raw(srv)
        w.write(b"HEAD / HTTP/1.1\r\nHost: x\r\n\r\nGET /empty HTTP/1.1\r\nHost: x\r\n\r\n")
        status, h, _, _ = await read_response(r, head_only=True)
        assert status == 200 and h["content-length"] == "5"
        status, h, body, rawb = await read_response(r)
        assert body == b"" and rawb == b"0\r\n\r\n"
        w.close()


async def _agen(items):
    for i in items:
        yield i


async def test_stream_http10_no_chunking_then_close():
    chunks = [b"a" * 10, b"b" * 20, b"c"]
    async with serve(sse_handler(chunks)) as srv:
        r, w = await raw(srv)
        w.write(b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
        status, h, body, _ = await read_response(r)
        assert "transfer-encoding" not in h and h["connection"] == "close"
        assert body == b"".join(chunks)  # read until EOF


async def _disconnect_cancels(streaming: bool):
    started, cancelled, never = asyncio.Event(), asyncio.Event(), asyncio.Event()

    async def wait_forever():
        started.set()
        try:
            await never.wait()
        except asyncio.CancelledError:
            cancelled.set()
            raise

    async def handler(req):
        if not streaming:
            await wait_forever()
            return Response(200)

        async def gen():
            yield b"data: first\n\n"
            await wait_forever()
            yield b"never"
        return StreamResponse(200, gen())

    async with serve(handler) as srv:
        r, w = await raw(srv)
        w.write(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}")
        if streaming:
            async with asyncio.timeout(T):
                assert b"data: first" in await r.readuntil(b"data: first\n\n")
        async with asyncio.timeout(T):
            await started.wait()
        assert srv.active_requests == 1
        w.close()
        async with asyncio.timeout(T):
            await cancelled.wait()
            while srv.active_requests:
                await asyncio.sleep(0.01)


async def test_disconnect_cancels_handler():
    await _disconnect_cancels(streaming=False)


async def test_disconnect_cancels_stream_body():
    await _disconnect_cancels(streaming=True)


async def test_handler_exception_500_custom_responder(caplog):
    def responder(status, message, req):
        return Response(status, json.dumps({"type": "error", "status": status,
                                            "path": req.path if req else None}).encode(),
                        headers=[("x-shaped", "1")])

    async def handler(req):
        if req.path == "/late":
            async def gen():
                yield b"partial"
                raise RuntimeError("boom late")
            return StreamResponse(200, gen())
        if req.path == "/early":
            async def gen2():
                raise RuntimeError("boom early")
                yield b""
            return StreamResponse(200, gen2())
        raise RuntimeError("boom")

    with caplog.at_level(logging.ERROR, logger="switchyard.http"):
        async with serve(handler, error_responder=responder) as srv:
            r, w = await raw(srv)
            for path in (b"/x", b"/early"):
                w.write(b"POST %s HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer sk-secret\r\n"
                        b"Content-Length: 9\r\n\r\nsk-body-1" % path)
                status, h, body, _ = await read_response(r)
                assert status == 500 and h["x-shaped"] == "1"
                assert json.loads(body) == {"type": "error", "status": 500, "path": path.decode()}
            # error after headers were sent: the connection is closed mid-body
            w.write(b"GET /late HTTP/1.1\r\nHost: x\r\n\r\n")
            with pytest.raises((asyncio.IncompleteReadError, ConnectionResetError)):
                await read_response(r)
            # 400s are shaped too (no request available)
            r, w = await raw(srv)
            w.write(b"NOT HTTP\r\n\r\n")
            status, _, body, _ = await read_response(r)
            assert status == 400 and json.loads(body)["path"] is None
    assert "boom" in caplog.text and "boom late" in caplog.text
    assert "sk-secret" not in caplog.text and "sk-body" not in caplog.text


async def test_graceful_close_waits_for_stream():
    release = asyncio.Event()

    async def handler(req):
        async def gen():
            yield b"one\n"
            await release.wait()
            yield b"two\n"
        return StreamResponse(200, gen())

    srv = HTTPServer(handler)
    await srv.start()
    port = srv.port
    idle_r, idle_w = await raw(srv)  # idle keep-alive connection: closed right away
    r, w = await raw(srv)
    w.write(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    async with asyncio.timeout(T):
        await r.readuntil(b"one\n\r\n")
    closing = asyncio.create_task(srv.close(grace=T))
    await assert_closed(idle_r)
    with pytest.raises(OSError):
        await asyncio.open_connection("127.0.0.1", port)
    assert not closing.done() and srv.active_requests == 1
    release.set()
    async with asyncio.timeout(T):
        assert await r.readuntil(b"0\r\n\r\n") == b"4\r\ntwo\n\r\n0\r\n\r\n"
        await closing
    await assert_closed(r)
    assert srv.active_requests == 0
    close_writers()


async def test_close_cancels_after_grace():
    cancelled = asyncio.Event()

    async def handler(req):
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            cancelled.set()
            raise

    srv = HTTPServer(handler)
    await srv.start()
    r, w = await raw(srv)
    w.write(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    async with asyncio.timeout(T):
        while not srv.active_requests:
            await asyncio.sleep(0.01)
        await srv.close(grace=0.1)
    assert cancelled.is_set()
    await assert_closed(r)
    close_writers()


async def test_backpressure_blocks_producer():
    produced = 0
    chunk = b"x" * 65536
    total = 2000  # 128 MiB if nobody stopped us
    finished = asyncio.Event()

    async def handler(req):
        async def gen():  # never suspends by itself: only the server's drain stops it
            nonlocal produced
            try:
                for _ in range(total):
                    produced += 1
                    yield chunk
            finally:
                finished.set()
        return StreamResponse(200, gen())

    # Small kernel buffers (accepted sockets inherit SO_SNDBUF from the listener).
    lsock = socket.socket()
    lsock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 64 * 1024)
    lsock.bind(("127.0.0.1", 0))
    lsock.listen()
    async with serve(handler, sock=lsock) as srv:
        csock = socket.socket()
        csock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)
        csock.setblocking(False)
        await asyncio.get_running_loop().sock_connect(csock, ("127.0.0.1", srv.port))
        r, w = await asyncio.open_connection(sock=csock, limit=2**16)
        _writers.append(w)
        w.write(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        # don't read: wait until the producer stops advancing
        async with asyncio.timeout(T * 2):
            last = -1
            while produced != last:
                last = produced
                await asyncio.sleep(0.2)
        assert 0 < produced < 100, produced  # i.e. < 6.4 MiB of 128 MiB
        # the producer resumes once we read
        got = 0
        async with asyncio.timeout(T * 2):
            while got < 8 * 1024 * 1024:
                data = await r.read(1 << 20)
                assert data, "the server closed the stream"  # at EOF read() returns at once: no spin
                got += len(data)
        assert produced > last
        w.close()  # unread data -> RST: the producer must stop, not spin on a dead socket
        async with asyncio.timeout(T):
            await finished.wait()
        assert produced < total


async def test_upgrade_request_answered_then_closed():
    async with serve(echo) as srv:
        r, w = await raw(srv)
        w.write(b"GET /ws HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n")
        status, h, body, _ = await read_response(r)
        assert status == 200 and h["connection"] == "close"
        await assert_closed(r)


async def test_reuse_port_and_port_property():
    srv1 = HTTPServer(echo)
    await srv1.start(port=0, reuse_port=True)
    srv2 = HTTPServer(echo)
    await srv2.start(port=srv1.port, reuse_port=True)  # second bind needs SO_REUSEPORT
    assert srv2.port == srv1.port
    await srv1.close()
    await srv2.close()


# Re-run every fixture-free async test above on uvloop.
_ASYNC_TESTS = [f for n, f in sorted(globals().items())
                if n.startswith("test_") and asyncio.iscoroutinefunction(f)
                and f.__code__.co_argcount == 0]


@pytest.mark.parametrize("fn", _ASYNC_TESTS, ids=lambda f: f.__name__)
def test_under_uvloop(fn):
    uvloop = pytest.importorskip("uvloop")
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        runner.run(fn())
