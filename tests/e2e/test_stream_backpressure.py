"""A caller that reads slowly throttles the provider: the pass-through relay (push mode) pauses the
provider's socket while the caller's socket is full, instead of buffering the whole stream."""

from __future__ import annotations

import asyncio
import json
import socket

from tests.e2e.test_openai_sdk import providers
from tests.gateway_harness import gateway, model

WORDS = 2_000_000  # ~12 MB of text in ~500 events of ~24 kB: more than the kernel buffers the caller


async def test_slow_reader_throttles_the_provider(openai_fake):
    openai_fake.push(" ".join(["word"] * WORDS))
    openai_fake.chunk_words = 4000
    async with gateway(providers(openai_fake), {"acme/chat": model({"openai": "gpt"})}) as gw:
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # the caller's window stays small
        sock.setblocking(False)
        await asyncio.get_running_loop().sock_connect(sock, ("127.0.0.1", gw.server.port))
        reader, writer = await asyncio.open_connection(sock=sock)
        body = json.dumps({"model": "acme/chat", "messages": [{"role": "user", "content": "go"}],
                           "stream": True}).encode()
        writer.write(b"POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\n"
                     b"content-length: %d\r\n\r\n%b" % (len(body), body))
        await writer.drain()
        await reader.readexactly(1024)  # the stream has started; now the caller stops reading
        await asyncio.sleep(1.0)
        (conn,) = list(gw.server._conns)
        buffered = conn._t.get_write_buffer_size()
        # Paused at the high-water mark: one provider read past it at most, not megabytes. (The
        # provider itself may still finish: the kernel buffers of the upstream socket are large.)
        assert buffered < 512 * 1024, buffered
        received = 1024
        while True:
            data = await reader.read(65536)
            if not data:
                break
            received += len(data)
            if data.endswith(b"0\r\n\r\n"):
                break
        writer.close()
        await openai_fake.wait_for(lambda: openai_fake.completed == 1)
    assert received > WORDS * 5  # every word made it through
