"""The streamed-body writer over real sockets: push-mode bodies (the gateway's relay) and when their
bytes go out. Every test also runs on uvloop."""
from __future__ import annotations

import asyncio
import contextlib

import pytest

from switchyard.http import StreamResponse
from tests.http.test_server import T, raw, read_response, serve


class _CountingTransport:
    """The connection's transport, with its writes recorded."""

    def __init__(self, t, writes):
        self._t, self.writes = t, writes

    def write(self, data):
        self.writes.append(bytes(data))
        self._t.write(data)

    def __getattr__(self, name):
        return getattr(self._t, name)


@contextlib.contextmanager
def counted_writes():
    from switchyard.http import server as server_mod

    writes: list[bytes] = []
    made = server_mod._Conn.connection_made
    server_mod._Conn.connection_made = lambda self, t: made(self, _CountingTransport(t, writes))
    try:
        yield writes
    finally:
        server_mod._Conn.connection_made = made


class PushBody:
    """A push-mode body like the gateway's relay: the first piece by iteration, the rest by pump."""

    def __init__(self, first, pieces=(), last=b"", wait=None):
        self.first, self.pieces, self.last, self.wait = first, list(pieces), last, wait
        self.pumped = False

    def __aiter__(self):
        return self

    async def __anext__(self):
        if self.first is None:
            raise StopAsyncIteration
        first, self.first = self.first, None
        return first

    async def pump(self, write, flow):
        self.pumped = True
        if self.wait is not None:
            write(b"")  # what the server holds goes out before we wait
            await self.wait.wait()
        for p in self.pieces:
            write(p)
        return self.last


async def test_push_body_already_complete_goes_out_in_one_write():
    body = PushBody(b"data: 1\n\n", last=b"data: end\n\n")
    with counted_writes() as writes:
        async with serve(lambda req: _ret(StreamResponse(200, body))) as srv:
            r, w = await raw(srv)
            w.write(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            status, h, got, _ = await read_response(r)
    assert status == 200 and h["transfer-encoding"] == "chunked" and body.pumped
    assert got == b"data: 1\n\ndata: end\n\n"
    assert len(writes) == 1 and writes[0].startswith(b"HTTP/1.1 200") and writes[0].endswith(b"0\r\n\r\n")


async def test_push_body_sends_head_and_first_chunk_before_it_waits():
    release = asyncio.Event()
    body = PushBody(b"data: 1\n\n", pieces=[b"data: 2\n\n"], last=b"data: end\n\n", wait=release)
    with counted_writes() as writes:
        async with serve(lambda req: _ret(StreamResponse(200, body))) as srv:
            r, w = await raw(srv)
            w.write(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            async with asyncio.timeout(T):
                seen = b""
                while b"data: 1\n\n\r\n" not in seen:  # the first chunk arrives while pump waits
                    seen += await read_some(r)
            assert not release.is_set() and b"data: 2" not in seen
            release.set()
            async with asyncio.timeout(T):
                while not seen.endswith(b"0\r\n\r\n"):
                    seen += await read_some(r)
    assert b"data: 2\n\n" in seen and b"data: end\n\n" in seen
    assert len(writes) == 3  # head + first, the piece, the last piece + end of body


async def read_some(reader: asyncio.StreamReader) -> bytes:
    data = await reader.read(4096)
    assert data, "the server closed the connection"  # at EOF read() returns at once: no spin
    return data


async def _ret(value):
    return value


_ASYNC_TESTS = [f for n, f in sorted(globals().items())
                if n.startswith("test_") and asyncio.iscoroutinefunction(f) and f.__code__.co_argcount == 0]


@pytest.mark.parametrize("fn", _ASYNC_TESTS, ids=lambda f: f.__name__)
def test_under_uvloop(fn):
    uvloop = pytest.importorskip("uvloop")
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        runner.run(fn())
