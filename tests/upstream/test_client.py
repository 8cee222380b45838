"""UpstreamClient against real sockets on 127.0.0.1: pooling, framing, request shape, errors."""

from __future__ import annotations

import asyncio
import gzip
import zlib

import pytest
from aiohttp import web

from switchyard.config.model import Timeouts
from switchyard.errors import ErrorCategory, UpstreamError
from switchyard.providers.base import UpstreamCall
from switchyard.upstream.client import UpstreamClient, transport_error
from switchyard.upstream.errors import BadResponse, ServerDisconnected
from tests.upstream.servers import Conn, RawServer, chunk, keepalive_handler, response

T = Timeouts(connect=2.0, first_byte=5.0, total=10.0)


def call(url: str, path: str = "/v1/chat", body: bytes = b'{"q":1}', method: str = "POST",
         headers: dict[str, str] | None = None) -> UpstreamCall:
    return UpstreamCall(url + path, dict(headers or {"content-type": "application/json"}), body, method)


async def get(client: UpstreamClient, url: str, path: str = "/x", **kw) -> tuple[int, bytes]:
    resp = await client.send("p", call(url, path, **kw), T)
    try:
        return resp.status, await resp.read()
    finally:
        resp.release()


async def until(pred, timeout: float = 2.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not pred():
        assert asyncio.get_running_loop().time() < deadline, "condition not reached in time"
        await asyncio.sleep(0.005)


@pytest.fixture
async def client():
    c = UpstreamClient()
    yield c
    await c.close()


# ---- pooling ----

async def test_sequential_requests_reuse_one_connection(client):
    async with RawServer(keepalive_handler) as srv:
        for i in range(5):
            status, body = await get(client, srv.url, f"/r{i}")
            assert (status, body) == (200, b'{"ok":true}')
        assert len(srv.conns) == 1
        assert [r.target for r in srv.requests] == [f"/r{i}" for i in range(5)]
        assert client.open_connections() == 1


async def test_concurrent_requests_get_their_own_connections_then_are_reused(client):
    gate = asyncio.Event()

    async def slow(conn: Conn) -> None:
        while (await conn.request()) is not None:
            await gate.wait()
            await conn.send(response(200, b"ok"))

    async with RawServer(slow) as srv:
        tasks = [asyncio.ensure_future(get(client, srv.url)) for _ in range(4)]
        await until(lambda: len(srv.requests) == 4)
        gate.set()
        assert [await t for t in tasks] == [(200, b"ok")] * 4
        assert len(srv.conns) == 4
        assert client.open_connections() == 4
        for _ in range(3):
            await get(client, srv.url)
        assert len(srv.conns) == 4


async def test_reuse_is_lifo(client):
    gate = asyncio.Event()

    async def h(conn: Conn) -> None:
        while (await conn.request()) is not None:
            await gate.wait()
            await conn.send(response(200, str(conn.index).encode()))

    async with RawServer(h) as srv:
        t1 = asyncio.ensure_future(get(client, srv.url))
        await until(lambda: len(srv.requests) == 1)
        t2 = asyncio.ensure_future(get(client, srv.url))
        await until(lambda: len(srv.requests) == 2)
        gate.set()
        await t1
        await t2   # released last: connection 1
        assert (await get(client, srv.url))[1] == b"1"


async def test_limit_per_host_queues_requests():
    c = UpstreamClient(limit_per_host=1)
    try:
        async with RawServer(keepalive_handler) as srv:
            results = await asyncio.gather(*(get(c, srv.url) for _ in range(5)))
            assert all(r[0] == 200 for r in results)
            assert len(srv.conns) == 1
    finally:
        await c.close()


async def test_connection_close_header_is_honoured(client):
    async def h(conn: Conn) -> None:
        await conn.request()
        await conn.send(response(200, b"bye", {"connection": "close"}))
        await asyncio.sleep(0.5)  # we don't close: the client must not reuse it anyway

    async with RawServer(h) as srv:
        assert (await get(client, srv.url))[1] == b"bye"
        assert (await get(client, srv.url))[1] == b"bye"
        assert len(srv.conns) == 2


async def test_idle_connection_closed_by_server_is_replaced(client):
    async def one_then_close(conn: Conn) -> None:
        await conn.request()
        await conn.send(response(200, b"hi"))  # keep-alive response, then the server closes

    async with RawServer(one_then_close) as srv:
        assert await get(client, srv.url) == (200, b"hi")
        await until(lambda: client.open_connections() == 0)  # EOF noticed while idle
        assert await get(client, srv.url) == (200, b"hi")
        assert len(srv.conns) == 2


async def test_stale_connection_is_retried_once_on_a_new_one(client):
    """The server closes the idle connection just as the request is written: nothing received,
    so the request goes out again on a fresh connection."""
    async def h(conn: Conn) -> None:
        if conn.index == 0:
            await conn.request()
            await conn.send(response(200, b"first"))
            await conn.request()  # the second request arrives... and is dropped without an answer
            conn.writer.transport.abort()
            return
        await keepalive_handler(conn, b"second")

    async with RawServer(h) as srv:
        assert await get(client, srv.url) == (200, b"first")
        assert await get(client, srv.url) == (200, b"second")
        assert len(srv.conns) == 2


async def test_a_fresh_connection_is_not_retried(client):
    async def h(conn: Conn) -> None:
        await conn.request()
        conn.writer.transport.abort()

    async with RawServer(h) as srv:
        with pytest.raises(UpstreamError) as ei:
            await client.send("p", call(srv.url), T)
        assert ei.value.category == ErrorCategory.SERVER_ERROR
        assert len(srv.conns) == 1


async def test_idle_connections_expire():
    c = UpstreamClient(keepalive=0.2)
    try:
        async with RawServer(lambda conn: _serve_and_watch(conn)) as srv:
            await get(c, srv.url)
            assert c.open_connections() == 1
            await asyncio.wait_for(srv.conns[0].closed.wait(), 3)  # the client closed it
            await until(lambda: c.open_connections() == 0)
    finally:
        await c.close()


async def _serve_and_watch(conn: Conn) -> None:
    await conn.request()
    await conn.send(response(200, b"x"))
    await conn.wait_client_gone()


# ---- request shape ----

async def test_request_line_and_headers(client):
    async with RawServer(keepalive_handler) as srv:
        resp = await client.send("p", call(srv.url, "/v1/models/a%3Ab:go?key=s3cret&x=1", b"hello",
                                           headers={"X-Api-Key": "k", "content-type": "text/plain"}), T)
        await resp.read()
        resp.release()
        req = srv.requests[0]
        assert req.method == "POST"
        assert req.target == "/v1/models/a%3Ab:go?key=s3cret&x=1"  # sent as given
        assert req.body == b"hello"
        assert req.headers["host"] == f"127.0.0.1:{srv.port}"
        assert req.headers["content-length"] == "5"
        assert req.headers["x-api-key"] == "k"
        assert req.headers["content-type"] == "text/plain"
        assert req.headers["accept-encoding"] == "gzip, deflate"
        assert "user-agent" not in req.headers
        assert req.raw_head.count(b"\r\n") == len(req.headers) + 2  # nothing duplicated


async def test_caller_host_wins_and_framing_headers_are_ours(client):
    async with RawServer(keepalive_handler) as srv:
        await get(client, srv.url, headers={"host": "signed.example", "content-length": "999",
                                            "Transfer-Encoding": "chunked", "connection": "close"})
        req = srv.requests[0]
        assert req.headers["host"] == "signed.example"
        assert req.headers["content-length"] == str(len(b'{"q":1}'))
        assert "transfer-encoding" not in req.headers and "connection" not in req.headers
        assert len(srv.conns) == 1 and client.open_connections() == 1  # still keep-alive


async def test_event_stream_requests_are_not_offered_compression(client):
    async with RawServer(keepalive_handler) as srv:
        await get(client, srv.url, headers={"accept": "text/event-stream"})
        await get(client, srv.url, headers={"accept-encoding": "identity"})
        await get(client, srv.url, "/v1beta/models/g:streamGenerateContent?alt=sse")
        assert "accept-encoding" not in srv.requests[0].headers
        assert srv.requests[1].headers["accept-encoding"] == "identity"
        assert "accept-encoding" not in srv.requests[2].headers


async def test_get_without_body_and_changing_headers(client):
    async with RawServer(keepalive_handler) as srv:
        for i in range(3):  # the cached head must follow the headers
            await get(client, srv.url, "/m", body=b"", method="GET", headers={"x-n": str(i)})
        assert [r.headers["x-n"] for r in srv.requests] == ["0", "1", "2"]
        assert all(r.method == "GET" and "content-length" not in r.headers for r in srv.requests)


async def test_large_request_body(client):
    body = bytes(range(256)) * 8192  # 2 MiB: written without joining it to the head
    async with RawServer(keepalive_handler) as srv:
        assert (await get(client, srv.url, body=body))[0] == 200
        assert srv.requests[0].body == body


async def test_header_injection_is_refused_without_echoing_it(client):
    with pytest.raises(UpstreamError) as ei:
        await client.send("p", call("http://127.0.0.1:9", headers={"x": "a\r\nevil: 1"}), T)
    assert "evil" not in ei.value.message


async def test_url_with_credentials_is_never_echoed(client):
    with pytest.raises(UpstreamError) as ei:
        await client.send("p", call("http://127.0.0.1:1", "/v1?key=SECRET"), T)
    assert ei.value.category == ErrorCategory.CONNECT
    assert "SECRET" not in ei.value.message and "127.0.0.1" not in ei.value.message


# ---- response framing ----

async def test_content_length_and_chunked_bodies(client):
    async def h(conn: Conn) -> None:
        await conn.request()
        await conn.send(response(200, b"x" * 1000))
        await conn.request()
        await conn.send(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n"
                        + chunk(b"hello ") + chunk(b"world") + b"0\r\nx-trailer: t\r\n\r\n")
        await keepalive_handler(conn)

    async with RawServer(h) as srv:
        assert await get(client, srv.url) == (200, b"x" * 1000)
        assert await get(client, srv.url) == (200, b"hello world")
        assert (await get(client, srv.url))[0] == 200
        assert len(srv.conns) == 1


async def test_http10_close_delimited_body(client):
    async def h(conn: Conn) -> None:
        await conn.request()
        await conn.send(b"HTTP/1.0 200 OK\r\ncontent-type: text/plain\r\n\r\npart one, ")
        await asyncio.sleep(0.05)
        await conn.send(b"part two")

    async with RawServer(h) as srv:
        assert await get(client, srv.url) == (200, b"part one, part two")
        assert await get(client, srv.url) == (200, b"part one, part two")
        assert len(srv.conns) == 2


async def test_http10_keep_alive_response(client):
    async def h(conn: Conn) -> None:
        while (await conn.request()) is not None:
            await conn.send(response(200, b"ten", {"connection": "keep-alive"}, version="1.0"))

    async with RawServer(h) as srv:
        assert await get(client, srv.url) == (200, b"ten")
        assert await get(client, srv.url) == (200, b"ten")
        assert len(srv.conns) == 1


async def test_headers_are_case_insensitive_and_joined(client):
    async def h(conn: Conn) -> None:
        await conn.request()
        await conn.send(b"HTTP/1.1 429 Too Many Requests\r\nRetry-After: 3\r\nX-Multi: a\r\nx-multi: b\r\n"
                        b"content-length: 2\r\n\r\n{}")

    async with RawServer(h) as srv:
        resp = await client.send("p", call(srv.url), T)
        assert resp.status == 429 and resp.reason == "Too Many Requests"
        assert resp.headers.get("retry-after") == "3" and resp.headers["RETRY-AFTER"] == "3"
        assert resp.headers.get("x-multi") == "a, b"
        assert "Content-Length" in resp.headers and resp.headers.get("missing") is None
        assert await resp.read() == b"{}"
        resp.release()


async def test_informational_responses_are_skipped(client):
    async def h(conn: Conn) -> None:
        await conn.request()
        await conn.send(b"HTTP/1.1 103 Early Hints\r\nlink: </a>\r\n\r\n" + response(201, b"made"))
        await keepalive_handler(conn)

    async with RawServer(h) as srv:
        assert await get(client, srv.url) == (201, b"made")
        assert (await get(client, srv.url))[0] == 200
        assert len(srv.conns) == 1


async def test_redirects_are_not_followed(client):
    async def h(conn: Conn) -> None:
        await keepalive_handler(conn)

    async def redirect(conn: Conn) -> None:
        await conn.request()
        await conn.send(response(302, b"", {"location": "http://127.0.0.1:1/elsewhere"}, reason="Found"))

    async with RawServer(redirect) as srv:
        resp = await client.send("p", call(srv.url), T)
        assert resp.status == 302 and resp.headers.get("location") == "http://127.0.0.1:1/elsewhere"
        assert await resp.read() == b""
        resp.release()
        assert len(srv.requests) == 1


async def test_head_request(client):
    async def h(conn: Conn) -> None:
        await conn.request()
        await conn.send(b"HTTP/1.1 200 OK\r\ncontent-length: 1234\r\n\r\n")
        await conn.wait_client_gone()

    async with RawServer(h) as srv:
        resp = await client.send("p", call(srv.url, body=b"", method="HEAD"), T)
        assert resp.status == 200 and resp.headers["content-length"] == "1234"
        assert await resp.read() == b""
        resp.release()


# ---- gzip ----

async def test_gzip_body_is_decompressed(client):
    payload = b'{"text":"' + b"compressible " * 500 + b'"}'

    async def h(conn: Conn) -> None:
        await conn.request()
        await conn.send(response(200, gzip.compress(payload), {"content-encoding": "gzip"}))
        await conn.request()
        await conn.send(response(200, zlib.compress(payload), {"content-encoding": "deflate"}))
        await keepalive_handler(conn)

    async with RawServer(h) as srv:
        assert await get(client, srv.url) == (200, payload)
        assert await get(client, srv.url) == (200, payload)
        assert len(srv.conns) == 1


async def test_aiohttp_compressed_response(client):
    payload = b"a" * 100_000

    async def handle(request: web.Request) -> web.Response:
        resp = web.Response(body=payload)
        resp.enable_compression()
        return resp

    app = web.Application()
    app.router.add_post("/z", handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        port = site._server.sockets[0].getsockname()[1]
        resp = await client.send("p", call(f"http://127.0.0.1:{port}", "/z"), T)
        assert resp.headers.get("content-encoding") in ("gzip", "deflate")
        assert await resp.read() == payload
        resp.release()
    finally:
        await runner.cleanup()


async def test_corrupt_gzip_is_a_bad_response(client):
    async def h(conn: Conn) -> None:
        await conn.request()
        await conn.send(response(200, b"\x1f\x8b\x08\x00garbage-not-gzip", {"content-encoding": "gzip"}))

    async with RawServer(h) as srv:
        resp = await client.send("p", call(srv.url), T)
        with pytest.raises(BadResponse) as ei:
            await resp.read()
        assert transport_error("p", ei.value).category == ErrorCategory.BAD_RESPONSE


# ---- failures ----

async def test_connect_refused_is_connect(client):
    async with RawServer(keepalive_handler) as srv:
        url = srv.url
    with pytest.raises(UpstreamError) as ei:
        await client.send("prov", call(url), T)
    assert ei.value.category == ErrorCategory.CONNECT
    assert ei.value.message == "prov: could not connect to the provider"


async def test_unresolvable_host_is_connect(client):
    with pytest.raises(UpstreamError) as ei:
        await client.send("p", call("http://nonexistent.invalid"), T)
    assert ei.value.category == ErrorCategory.CONNECT


async def test_server_closes_mid_body(client):
    async def h(conn: Conn) -> None:
        await conn.request()
        await conn.send(b"HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\nonly part")

    async with RawServer(h) as srv:
        resp = await client.send("p", call(srv.url), T)
        with pytest.raises(ServerDisconnected) as ei:
            await resp.read()
        err = transport_error("p", ei.value)
        assert err.category == ErrorCategory.SERVER_ERROR
        assert err.message == "p: the provider closed the connection"
        resp.release()
        assert client.open_connections() == 0


async def test_server_closes_before_answering_on_new_connection(client):
    async def h(conn: Conn) -> None:
        await conn.request()

    async with RawServer(h) as srv:
        with pytest.raises(UpstreamError) as ei:
            await client.send("p", call(srv.url), T)
        assert ei.value.category == ErrorCategory.SERVER_ERROR


async def test_malformed_response_is_bad_response(client):
    async def h(conn: Conn) -> None:
        await conn.request()
        await conn.send(b"SMTP ready\r\n\r\n")
        await asyncio.sleep(1)

    async with RawServer(h) as srv:
        with pytest.raises(UpstreamError) as ei:
            await client.send("p", call(srv.url), T)
        assert ei.value.category == ErrorCategory.BAD_RESPONSE
        assert client.open_connections() in (0, 1)
        await until(lambda: client.open_connections() == 0)


async def test_an_endless_response_head_is_a_bad_response(client):
    async def h(conn: Conn) -> None:
        await conn.request()
        await conn.send(b"HTTP/1.1 200 OK\r\n")
        for i in range(10_000):
            await conn.send(b"x-filler-%d: %s\r\n" % (i, b"y" * 100))

    async with RawServer(h) as srv:
        with pytest.raises(UpstreamError) as ei:
            await client.send("p", call(srv.url), T)
        assert ei.value.category == ErrorCategory.BAD_RESPONSE


async def test_junk_after_a_response_drops_the_connection(client):
    async def h(conn: Conn) -> None:
        if conn.index == 0:
            await conn.request()
            await conn.send(response(200, b"ok") + b"garbage")
        await keepalive_handler(conn)

    async with RawServer(h) as srv:
        assert await get(client, srv.url) == (200, b"ok")
        assert await get(client, srv.url) == (200, b'{"ok":true}')
        assert len(srv.conns) == 2


async def test_transport_error_still_maps_aiohttp_errors():
    import aiohttp
    assert transport_error("p", aiohttp.ServerDisconnectedError()).category == ErrorCategory.SERVER_ERROR
    assert transport_error("p", TimeoutError()).category == ErrorCategory.TIMEOUT


async def test_client_survives_a_new_event_loop_and_close():
    c = UpstreamClient()
    async with RawServer(keepalive_handler) as srv:
        assert (await get(c, srv.url))[0] == 200
        await c.close()
        assert c.open_connections() == 0
        assert (await get(c, srv.url))[0] == 200  # usable again after close()
        await c.close()
