"""Fake OpenAI-compatible provider for the proxy benchmark.

Raw asyncio Protocol on uvloop, all response bytes precomputed, HTTP/1.1
keep-alive. Non-streaming answers carry Content-Length; streaming answers use
chunked transfer-encoding with one SSE event per chunk, each chunk written
with its own ``transport.write`` call (role chunk, N content chunks of one
word, finish chunk, usage chunk when ``stream_options.include_usage``, then
``data: [DONE]``).

Run standalone:  python bench/_fake_provider.py --port 0 --chunks 20
It prints ``READY <port>`` on stdout once listening, then nothing else.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import sys

MODEL = "bench-model"
_WORDS = ("Hello there! I am doing well, thank you for asking. It is a fine day to "
          "benchmark a gateway and see how fast it relays tokens to clients.").split()
PROMPT_TOKENS = 14

_STREAM_RE = re.compile(rb'"stream"\s*:\s*true')
_USAGE_RE = re.compile(rb'"include_usage"\s*:\s*true')


def content_pieces(n: int) -> list[str]:
    """The n content deltas (first word bare, the others with a leading space)."""
    words = [_WORDS[i % len(_WORDS)] for i in range(n)]
    return [w if i == 0 else " " + w for i, w in enumerate(words)]


def expected_text(n: int) -> str:
    return "".join(content_pieces(n))


def sse_events(n: int, include_usage: bool) -> list[bytes]:
    """The SSE events of one streamed completion, each a complete ``data: ...\\n\\n``."""
    base = {"id": "chatcmpl-bench0001", "object": "chat.completion.chunk", "created": 1700000000,
            "model": MODEL, "system_fingerprint": "fp_bench"}
    extra = {"usage": None} if include_usage else {}

    def chunk(delta: dict, finish: str | None) -> dict:
        return {**base, "choices": [{"index": 0, "delta": delta, "logprobs": None,
                                     "finish_reason": finish}], **extra}

    events = [chunk({"role": "assistant", "content": "", "refusal": None}, None)]
    events += [chunk({"content": piece}, None) for piece in content_pieces(n)]
    events.append(chunk({}, "stop"))
    if include_usage:
        events.append({**base, "choices": [], "usage": {
            "prompt_tokens": PROMPT_TOKENS, "completion_tokens": n, "total_tokens": PROMPT_TOKENS + n}})
    out = [b"data: " + json.dumps(e, separators=(",", ":")).encode() + b"\n\n" for e in events]
    out.append(b"data: [DONE]\n\n")
    return out


def events_per_stream(n: int, include_usage: bool = True) -> int:
    return n + 3 + (1 if include_usage else 0)  # role + n + finish (+ usage) + [DONE]


def _completion_body(n: int) -> bytes:
    body = {"id": "chatcmpl-bench0001", "object": "chat.completion", "created": 1700000000,
            "model": MODEL, "system_fingerprint": "fp_bench",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": expected_text(n),
                                                 "refusal": None},
                         "logprobs": None, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": PROMPT_TOKENS, "completion_tokens": n,
                      "total_tokens": PROMPT_TOKENS + n}}
    return json.dumps(body, separators=(",", ":")).encode()


def _plain(status: str, body: bytes, ctype: bytes = b"application/json") -> bytes:
    return (b"HTTP/1.1 " + status.encode() + b"\r\nContent-Type: " + ctype
            + b"\r\nContent-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body)


class Responses:
    def __init__(self, n: int):
        self.completion = _plain("200 OK", _completion_body(n))
        self.models = _plain("200 OK", json.dumps(
            {"object": "list", "data": [{"id": MODEL, "object": "model", "created": 1700000000,
                                         "owned_by": "bench"}]}).encode())
        self.not_found = _plain("404 Not Found", b'{"error":{"message":"not found","type":"invalid_request_error"}}')
        self.stream_head = (b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream; charset=utf-8\r\n"
                            b"Cache-Control: no-cache\r\nTransfer-Encoding: chunked\r\n\r\n")
        # every event pre-framed as one HTTP chunk
        self.stream = {u: [b"%x\r\n%s\r\n" % (len(e), e) for e in sse_events(n, u)] for u in (False, True)}
        self.stream_end = b"0\r\n\r\n"


class FakeProvider(asyncio.Protocol):
    """One connection. Parses just enough HTTP/1.1: request line, headers, a Content-Length
    or chunked body; pipelined requests are answered in order."""

    def __init__(self, res: Responses, delay: float):
        self.res, self.delay = res, delay
        self.buf = bytearray()
        self.transport: asyncio.Transport | None = None
        self.queue: list[tuple[bytes, bytes]] = []   # used only with a chunk delay
        self.task: asyncio.Task | None = None
        self.close_after = False

    def connection_made(self, transport):
        self.transport = transport

    def connection_lost(self, exc):
        if self.task:
            self.task.cancel()

    def data_received(self, data: bytes):
        self.buf += data
        while True:
            req = self._parse_one()
            if req is None:
                return
            if self.delay:
                self.queue.append(req)
                if self.task is None or self.task.done():
                    self.task = asyncio.get_running_loop().create_task(self._drain())
            else:
                self._answer_now(*req)

    def _parse_one(self) -> tuple[bytes, bytes] | None:
        end = self.buf.find(b"\r\n\r\n")
        if end < 0:
            return None
        head = bytes(self.buf[:end]).split(b"\r\n")
        length, chunked = 0, False
        for line in head[1:]:
            name, _, value = line.partition(b":")
            name = name.strip().lower()
            if name == b"content-length":
                length = int(value)
            elif name == b"transfer-encoding" and b"chunked" in value.lower():
                chunked = True
            elif name == b"connection" and value.strip().lower() == b"close":
                self.close_after = True
        start = end + 4
        if chunked:
            body, consumed = self._dechunk(start)
            if body is None:
                return None
            del self.buf[:consumed]
        else:
            if len(self.buf) < start + length:
                return None
            body = bytes(self.buf[start:start + length])
            del self.buf[:start + length]
        parts = head[0].split(b" ")
        path = parts[1] if len(parts) > 1 else b"/"
        return path, body

    def _dechunk(self, pos: int) -> tuple[bytes | None, int]:
        out = bytearray()
        while True:
            eol = self.buf.find(b"\r\n", pos)
            if eol < 0:
                return None, 0
            size = int(bytes(self.buf[pos:eol]).split(b";")[0], 16)
            pos = eol + 2
            if size == 0:  # no trailers expected
                if len(self.buf) < pos + 2:
                    return None, 0
                return bytes(out), pos + 2
            if len(self.buf) < pos + size + 2:
                return None, 0
            out += self.buf[pos:pos + size]
            pos += size + 2

    def _route(self, path: bytes, body: bytes):
        path = path.split(b"?")[0]
        if path.endswith(b"/chat/completions"):
            if _STREAM_RE.search(body):
                return self.res.stream[bool(_USAGE_RE.search(body))]
            return self.res.completion
        if path.endswith(b"/models"):
            return self.res.models
        return self.res.not_found

    def _answer_now(self, path: bytes, body: bytes):
        out = self._route(path, body)
        write = self.transport.write
        if isinstance(out, bytes):
            write(out)
        else:
            write(self.res.stream_head)
            for chunk in out:
                write(chunk)
            write(self.res.stream_end)
        if self.close_after:
            self.transport.close()

    async def _drain(self):
        while self.queue:
            path, body = self.queue.pop(0)
            out = self._route(path, body)
            if isinstance(out, bytes):
                self.transport.write(out)
            else:
                self.transport.write(self.res.stream_head)
                for i, chunk in enumerate(out):
                    if i:
                        await asyncio.sleep(self.delay)
                    if self.transport.is_closing():
                        return
                    self.transport.write(chunk)
                self.transport.write(self.res.stream_end)
            if self.close_after:
                self.transport.close()
                return


async def serve(host: str, port: int, chunks: int, delay_ms: float):
    res = Responses(chunks)
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: FakeProvider(res, delay_ms / 1000.0), host, port,
                                      backlog=1024, reuse_address=True)
    print(f"READY {server.sockets[0].getsockname()[1]}", flush=True)
    async with server:
        await server.serve_forever()


def _run(coro):
    """Run on uvloop, the gateway's loop (plain asyncio only if uvloop is missing)."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(coro)
    return uvloop.run(coro)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--chunks", type=int, default=20, help="content chunks (one word each) per stream")
    ap.add_argument("--chunk-delay-ms", type=float, default=0.0, help="sleep between stream events")
    a = ap.parse_args(argv)
    try:
        _run(serve(a.host, a.port, a.chunks, a.chunk_delay_ms))
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    sys.exit(main())
