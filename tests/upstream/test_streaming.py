"""Streams, release/close, cancellation, timeouts and flow control of the upstream client."""

from __future__ import annotations

import asyncio
import time
import zlib

import pytest
from aiohttp import web

from switchyard.config.model import Timeouts
from switchyard.errors import ErrorCategory, UpstreamError
from switchyard.upstream.client import UpstreamClient, transport_error
from switchyard.upstream.connection import HIGH_WATER
from switchyard.upstream.errors import ServerDisconnected
from tests.upstream.servers import Conn, RawServer, chunk, keepalive_handler, response
from tests.upstream.test_client import T, call, get, until

SSE_HEAD = b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n"


@pytest.fixture
async def client():
    c = UpstreamClient()
    yield c
    await c.close()


async def test_chunks_arrive_incrementally(client):
    go = asyncio.Event()
    sent_second = False

    async def h(conn: Conn) -> None:
        nonlocal sent_second
        await conn.request()
        await conn.send(SSE_HEAD + chunk(b"data: one\n\n"))
        await go.wait()
        sent_second = True
        await conn.send(chunk(b"data: two\n\n") + b"0\r\n\r\n")
        await keepalive_handler(conn)

    async with RawServer(h) as srv:
        resp = await client.send("p", call(srv.url, headers={"accept": "text/event-stream"}), T)
        it = resp.content.iter_any()
        assert await asyncio.wait_for(anext(it), 2) == b"data: one\n\n"
        assert not sent_second
        go.set()
        rest = [c async for c in it]
        assert b"".join(rest) == b"data: two\n\n"
        resp.release()
        assert (await get(client, srv.url))[0] == 200
        assert len(srv.conns) == 1  # fully read: the connection was reused


async def test_aiohttp_stream_response(client):
    async def handle(request: web.Request) -> web.StreamResponse:
        resp = web.StreamResponse(headers={"content-type": "text/event-stream"})
        await resp.prepare(request)
        for i in range(5):
            await resp.write(b"data: %d\n\n" % i)
            await asyncio.sleep(0.01)
        await resp.write_eof()
        return resp

    app = web.Application()
    app.router.add_post("/s", handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        url = f"http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}"
        for _ in range(2):
            resp = await client.send("p", call(url, "/s", headers={"accept": "text/event-stream"}), T)
            chunks = [c async for c in resp.content.iter_any()]
            assert b"".join(chunks) == b"".join(b"data: %d\n\n" % i for i in range(5))
            assert len(chunks) >= 3  # sent 10 ms apart: not one blob
            resp.release()
        assert client.open_connections() == 1
    finally:
        await runner.cleanup()


async def test_gzip_stream_is_decompressed_incrementally(client):
    go = asyncio.Event()

    async def h(conn: Conn) -> None:
        await conn.request()
        z = zlib.compressobj(wbits=31)
        await conn.send(b"HTTP/1.1 200 OK\r\ncontent-encoding: gzip\r\ntransfer-encoding: chunked\r\n\r\n"
                        + chunk(z.compress(b"data: one\n\n") + z.flush(zlib.Z_SYNC_FLUSH)))
        await go.wait()
        await conn.send(chunk(z.compress(b"data: two\n\n") + z.flush()) + b"0\r\n\r\n")
        await keepalive_handler(conn)

    async with RawServer(h) as srv:
        resp = await client.send("p", call(srv.url, headers={"accept": "text/event-stream"}), T)
        it = resp.content.iter_any()
        assert await asyncio.wait_for(anext(it), 2) == b"data: one\n\n"
        go.set()
        assert b"".join([c async for c in it]) == b"data: two\n\n"
        resp.release()
        assert (await get(client, srv.url))[0] == 200
        assert len(srv.conns) == 1


async def test_release_before_the_end_closes_the_connection(client):
    async def h(conn: Conn) -> None:
        await conn.request()
        await conn.send(SSE_HEAD + chunk(b"data: one\n\n"))
        await conn.wait_client_gone()

    async with RawServer(h) as srv:
        resp = await client.send("p", call(srv.url), T)
        assert await anext(resp.content.iter_any()) == b"data: one\n\n"
        resp.release()
        await asyncio.wait_for(srv.conns[0].closed.wait(), 2)
        await until(lambda: client.open_connections() == 0)
        with pytest.raises(ServerDisconnected):
            await resp.read()


async def test_release_after_full_read_keeps_it(client):
    async with RawServer(keepalive_handler) as srv:
        resp = await client.send("p", call(srv.url), T)
        await resp.read()
        resp.release()
        resp.release()  # idempotent
        resp.close()    # no effect once released
        assert client.open_connections() == 1
        await get(client, srv.url)
        assert len(srv.conns) == 1


@pytest.mark.parametrize("when", ["headers", "body"])
async def test_close_disconnects_the_provider_at_once(client, when):
    async def h(conn: Conn) -> None:
        await conn.request()
        await conn.send(SSE_HEAD + chunk(b"data: one\n\n"))
        await conn.wait_client_gone()

    async with RawServer(h) as srv:
        resp = await client.send("p", call(srv.url), T)
        if when == "body":
            await anext(resp.content.iter_any())
        t0 = time.monotonic()
        resp.close()
        await asyncio.wait_for(srv.conns[0].closed.wait(), 2)
        assert time.monotonic() - t0 < 0.5
        with pytest.raises(ServerDisconnected):
            await anext(resp.content.iter_any())


@pytest.mark.parametrize("when", ["connecting-done-waiting-headers", "mid-stream", "read"])
async def test_cancelling_the_task_disconnects_the_provider(client, when):
    async def h(conn: Conn) -> None:
        await conn.request()
        if when == "mid-stream":
            await conn.send(SSE_HEAD + chunk(b"data: one\n\n"))
        elif when == "read":
            await conn.send(b"HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\npartial")
        await conn.wait_client_gone()

    async with RawServer(h) as srv:
        async def work():
            resp = await client.send("p", call(srv.url), T)
            if when == "read":
                return await resp.read()
            async for _ in resp.content.iter_any():
                pass

        task = asyncio.ensure_future(work())
        await until(lambda: len(srv.requests) == 1)
        await asyncio.sleep(0.05)
        assert not task.done()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        await asyncio.wait_for(srv.conns[0].closed.wait(), 1)
        await until(lambda: client.open_connections() == 0)


async def test_server_closes_mid_stream(client):
    async def h(conn: Conn) -> None:
        await conn.request()
        await conn.send(SSE_HEAD + chunk(b"data: one\n\n"))
        await asyncio.sleep(0.05)

    async with RawServer(h) as srv:
        resp = await client.send("p", call(srv.url), T)
        got = []
        with pytest.raises(ServerDisconnected) as ei:
            async for c in resp.content.iter_any():
                got.append(c)
        assert got == [b"data: one\n\n"]  # what arrived before the cut is delivered first
        assert transport_error("p", ei.value).category == ErrorCategory.SERVER_ERROR
        resp.close()


# ---- timeouts ----

async def test_first_byte_timeout(client):
    async def h(conn: Conn) -> None:
        await conn.request()
        await conn.wait_client_gone()

    async with RawServer(h) as srv:
        t0 = time.monotonic()
        with pytest.raises(UpstreamError) as ei:
            await client.send("p", call(srv.url), Timeouts(connect=2, first_byte=0.2, total=10))
        assert 0.15 < time.monotonic() - t0 < 1.5
        assert ei.value.category == ErrorCategory.TIMEOUT
        assert ei.value.message == "p: timed out waiting for the provider"
        await asyncio.wait_for(srv.conns[0].closed.wait(), 1)  # the connection was closed


async def test_silence_mid_stream_times_out(client):
    async def h(conn: Conn) -> None:
        await conn.request()
        await conn.send(SSE_HEAD)
        for i in range(4):  # keeps talking at 0.1 s intervals: no timeout
            await asyncio.sleep(0.1)
            await conn.send(chunk(b"data: %d\n\n" % i))
        await conn.wait_client_gone()  # then goes silent

    async with RawServer(h) as srv:
        resp = await client.send("p", call(srv.url), Timeouts(connect=2, first_byte=0.3, total=10))
        got = []
        t0 = time.monotonic()
        with pytest.raises(asyncio.TimeoutError) as ei:
            async for c in resp.content.iter_any():
                got.append(c)
        assert b"".join(got) == b"".join(b"data: %d\n\n" % i for i in range(4))
        assert 0.6 < time.monotonic() - t0 < 2.0
        assert transport_error("p", ei.value).category == ErrorCategory.TIMEOUT
        await asyncio.wait_for(srv.conns[0].closed.wait(), 1)
        resp.close()


async def test_total_timeout_bounds_a_talking_stream(client):
    async def h(conn: Conn) -> None:
        await conn.request()
        await conn.send(SSE_HEAD)
        while True:
            await asyncio.sleep(0.05)
            await conn.send(chunk(b"data: x\n\n"))

    async with RawServer(h) as srv:
        t0 = time.monotonic()
        resp = await client.send("p", call(srv.url), Timeouts(connect=2, first_byte=1, total=0.4))
        with pytest.raises(asyncio.TimeoutError):
            async for _ in resp.content.iter_any():
                pass
        assert 0.35 < time.monotonic() - t0 < 1.5
        resp.close()


async def test_total_timeout_for_read(client):
    async def h(conn: Conn) -> None:
        await conn.request()
        await conn.send(b"HTTP/1.1 200 OK\r\ncontent-length: 1000\r\n\r\n")
        while True:
            await asyncio.sleep(0.05)
            await conn.send(b"x")

    async with RawServer(h) as srv:
        resp = await client.send("p", call(srv.url), Timeouts(connect=2, first_byte=1, total=0.3))
        with pytest.raises(asyncio.TimeoutError):
            await resp.read()
        resp.release()


async def test_connect_timeout():
    c = UpstreamClient(limit_per_host=1)  # a full pool: waiting for a slot is bounded by connect
    gate = asyncio.Event()

    async def h(conn: Conn) -> None:
        await conn.request()
        await gate.wait()
        await conn.send(response(200, b"late"))

    try:
        async with RawServer(h) as srv:
            first = asyncio.ensure_future(get(c, srv.url))
            await until(lambda: len(srv.requests) == 1)
            with pytest.raises(UpstreamError) as ei:
                await c.send("p", call(srv.url), Timeouts(connect=0.2, first_byte=5, total=5))
            assert ei.value.category == ErrorCategory.TIMEOUT
            assert ei.value.message == "p: timed out connecting to the provider"
            gate.set()
            assert await first == (200, b"late")
    finally:
        await c.close()


async def test_a_timer_per_connection_not_per_chunk(client, monkeypatch):
    """Chunks don't touch timers; requests on a warm connection don't create new ones."""
    n_chunks = 50

    async def h(conn: Conn) -> None:
        while (await conn.request()) is not None:
            await conn.send(SSE_HEAD)
            for i in range(n_chunks):
                await conn.send(chunk(b"data: %d\n\n" % i))
                await asyncio.sleep(0)
            await conn.send(b"0\r\n\r\n")

    async with RawServer(h) as srv:
        await get(client, srv.url)  # warm
        loop = asyncio.get_running_loop()
        calls = 0
        real = loop.call_at

        def counting(*a, **kw):
            nonlocal calls
            calls += 1
            return real(*a, **kw)

        monkeypatch.setattr(loop, "call_at", counting)
        chunks = 0
        for _ in range(5):
            resp = await client.send("p", call(srv.url), T)
            async for _ in resp.content.iter_any():
                chunks += 1
            resp.release()
        monkeypatch.undo()
        assert chunks > 5 * 3
        assert calls == 0


# ---- flow control and large bodies ----

async def test_large_streamed_body_with_flow_control(client):
    size = 8 * 1024 * 1024
    block = bytes(range(256)) * 256  # 64 KiB

    async def h(conn: Conn) -> None:
        await conn.request()
        await conn.send(b"HTTP/1.1 200 OK\r\ncontent-length: %d\r\n\r\n" % size)
        for _ in range(size // len(block)):
            conn.writer.write(block)
            await conn.writer.drain()  # blocks while the client has paused reading
        await keepalive_handler(conn)

    async with RawServer(h) as srv:
        resp = await client.send("p", call(srv.url), T)
        total = 0
        biggest = 0
        paused = False
        conn = resp._conn
        async for c in resp.content.iter_any():
            total += len(c)
            biggest = max(biggest, len(c))
            await asyncio.sleep(0.002)  # a slow reader
            paused |= conn._paused
            assert conn._buffered <= HIGH_WATER + 256 * 1024  # paused: not the whole body in memory
        assert total == size
        assert paused
        assert biggest < 2 * 1024 * 1024
        resp.release()
        assert (await get(client, srv.url))[0] == 200
        assert len(srv.conns) == 1


async def test_large_body_read_at_once(client):
    body = bytes(range(256)) * 16384  # 4 MiB

    async def h(conn: Conn) -> None:
        await conn.request()
        await conn.send(response(200, body))
        await conn.request()
        await conn.send(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n"
                        + b"".join(chunk(body[i:i + 100_000]) for i in range(0, len(body), 100_000))
                        + b"0\r\n\r\n")
        await keepalive_handler(conn)

    async with RawServer(h) as srv:
        assert await get(client, srv.url) == (200, body)
        assert await get(client, srv.url) == (200, body)
        assert len(srv.conns) == 1


async def test_a_dropped_response_does_not_leak_its_connection(client):
    async def h(conn: Conn) -> None:
        await conn.request()
        await conn.send(SSE_HEAD + chunk(b"data: one\n\n"))
        await conn.wait_client_gone()

    async with RawServer(h) as srv:
        resp = await client.send("p", call(srv.url), T)
        assert client.open_connections() == 1
        del resp  # never read, released or closed
        await asyncio.wait_for(srv.conns[0].closed.wait(), 2)
        await until(lambda: client.open_connections() == 0)
