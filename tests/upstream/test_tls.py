"""HTTPS against a local server with a self-signed certificate made at test time."""

from __future__ import annotations

import asyncio
import ssl

import pytest

from switchyard.errors import ErrorCategory, UpstreamError
from switchyard.upstream.client import UpstreamClient
from tests.upstream.servers import (
    Conn,
    RawServer,
    chunk,
    keepalive_handler,
    self_signed,
)
from tests.upstream.test_client import T, call, get

pytest.importorskip("cryptography")


@pytest.fixture
def certs(tmp_path):
    cert, key = self_signed(tmp_path)
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server.load_cert_chain(cert, key)
    client = ssl.create_default_context(cafile=str(cert))
    return server, client


async def test_https_keepalive_and_stream(certs):
    server_ctx, client_ctx = certs

    async def h(conn: Conn) -> None:
        await conn.request()
        await conn.send(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n" + chunk(b"data: a\n\n"))
        await asyncio.sleep(0.02)
        await conn.send(chunk(b"data: b\n\n") + b"0\r\n\r\n")
        await keepalive_handler(conn)

    c = UpstreamClient(ssl_context=client_ctx)
    try:
        async with RawServer(h, ssl_ctx=server_ctx) as srv:
            assert srv.url.startswith("https://")
            resp = await c.send("p", call(srv.url), T)
            chunks = [x async for x in resp.content.iter_any()]
            assert b"".join(chunks) == b"data: a\n\ndata: b\n\n" and len(chunks) == 2
            resp.release()
            for _ in range(3):
                assert await get(c, srv.url) == (200, b'{"ok":true}')
            assert len(srv.conns) == 1
            assert srv.requests[0].headers["host"] == f"127.0.0.1:{srv.port}"
    finally:
        await c.close()


async def test_https_close_disconnects_at_once(certs):
    server_ctx, client_ctx = certs

    async def h(conn: Conn) -> None:
        await conn.request()
        await conn.send(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n" + chunk(b"data: a\n\n"))
        await conn.wait_client_gone()

    c = UpstreamClient(ssl_context=client_ctx)
    try:
        async with RawServer(h, ssl_ctx=server_ctx) as srv:
            resp = await c.send("p", call(srv.url), T)
            await anext(resp.content.iter_any())
            resp.close()
            await asyncio.wait_for(srv.conns[0].closed.wait(), 2)
    finally:
        await c.close()


async def test_untrusted_certificate_is_a_connect_error(certs):
    server_ctx, _ = certs
    c = UpstreamClient()  # the default context: system CAs only
    try:
        async with RawServer(keepalive_handler, ssl_ctx=server_ctx) as srv:
            with pytest.raises(UpstreamError) as ei:
                await c.send("p", call(srv.url), T)
            assert ei.value.category == ErrorCategory.CONNECT
            assert c.open_connections() == 0
    finally:
        await c.close()
