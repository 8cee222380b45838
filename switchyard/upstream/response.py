"""The reader's side of one exchange: status, headers, and the body as a whole or as chunks.

The subset of aiohttp.ClientResponse the gateway uses: ``status``, ``headers`` (case-insensitive
``get``), ``await read()``, ``content.iter_any()`` (an async iterator of the body bytes as they
arrive: all bytes buffered since the last step, joined), ``release()`` and ``close()``.

The connection goes back to the pool by itself once the body has been read to the end (as in
aiohttp); ``release()`` then does nothing. Before that, ``release()`` and ``close()`` close the
connection: an unread remainder can't be skipped safely, and closing is how an upstream request is
cancelled at once.
"""

from __future__ import annotations

import asyncio
import zlib
from collections.abc import Callable
from http import HTTPStatus
from typing import Any

from switchyard.upstream.connection import DONE, Connection, final_head
from switchyard.upstream.errors import BadResponse, ServerDisconnected

_NAMES: dict[bytes, str] = {}  # raw header name -> lower-cased str
_UNSET: Any = object()
_ZLIB_AUTO = 32 + zlib.MAX_WBITS  # gzip or zlib header, detected


class Headers(dict):
    """Lower-cased names; lookups are case-insensitive. Repeated headers are joined with ", "."""

    __slots__ = ()

    def get(self, key: str, default: Any = None) -> Any:  # type: ignore[override]
        return dict.get(self, key.lower(), default)

    def __getitem__(self, key: str) -> str:
        return dict.__getitem__(self, key.lower())

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and dict.__contains__(self, key.lower())

    def getone(self, key: str, default: Any = _UNSET) -> Any:
        v = dict.get(self, key.lower(), default)
        if v is _UNSET:
            raise KeyError(key)
        return v


def _headers(head: bytes) -> Headers:
    h = Headers()
    names = _NAMES
    for line in head.split(b"\r\n")[1:-1]:  # after the status line; the head ends with CRLF
        name, _, value = line.partition(b":")
        k = names.get(name)
        if k is None:
            k = name.decode("latin-1").lower()
            if len(names) < 2048:
                names[name] = k
        v = value.strip(b" \t").decode("utf-8", "surrogateescape")
        old = dict.get(h, k)
        dict.__setitem__(h, k, v if old is None else f"{old}, {v}")
    return h


def _decompressor(head: bytes) -> Any:
    hl = head.lower()
    i = hl.find(b"\r\ncontent-encoding:")
    if i < 0:
        return None
    v = hl[i + 19:hl.index(b"\r\n", i + 2)].strip(b" \t")
    if v in (b"gzip", b"x-gzip", b"deflate"):
        return zlib.decompressobj(_ZLIB_AUTO)
    return None  # identity, or something we didn't ask for: passed on as is


class Response:
    __slots__ = ("_body", "_bufs", "_closed_early", "_conn", "_decomp", "_headers", "_n_info", "_raw", "status")

    def __init__(self, conn: Connection) -> None:
        self.status: int = conn._status
        self._bufs = conn._head  # the reads that brought the head; parsed only when needed
        self._n_info = conn._n_info
        self._raw: bytes | None = None
        self._headers: Headers | None = None
        self._conn: Connection | None = conn
        self._body: bytes | None = None
        self._decomp: Any = _UNSET
        self._closed_early = False

    def __repr__(self) -> str:
        return f"<upstream Response {self.status}>"

    @property
    def raw_head(self) -> bytes:
        """The status line and header lines as received (each ending with CRLF)."""
        raw = self._raw
        if raw is None:
            raw = self._raw = final_head(self._bufs, self._n_info)
            self._bufs = None  # type: ignore[assignment]  # may hold body bytes too: let them go
        return raw

    @property
    def headers(self) -> Headers:
        h = self._headers
        if h is None:
            h = self._headers = _headers(self.raw_head)
        return h

    @property
    def reason(self) -> str:
        try:
            return HTTPStatus(self.status).phrase
        except ValueError:
            return ""

    # ---- body ----

    @property
    def content(self) -> Response:
        return self

    def iter_any(self) -> Response:
        return self

    def __aiter__(self) -> Response:
        return self

    async def __anext__(self) -> bytes:
        conn = self._conn
        if conn is None:
            if self._closed_early:
                raise ServerDisconnected("the response was closed")
            raise StopAsyncIteration
        while True:
            chunks = conn._chunks
            if chunks:
                data = chunks.pop() if len(chunks) == 1 else b"".join(chunks)
                chunks.clear()
                conn._buffered = 0
                if conn._paused:
                    conn.resume()
                d = self._decomp
                if d is _UNSET:
                    d = self._decomp = _decompressor(self.raw_head)
                if d is not None:
                    data = self._inflate(d, data)
                    if not data:
                        continue
                return data
            if conn._exc is not None:
                self._conn = None
                conn.abort()
                raise conn._exc
            if conn._state == DONE:
                self._conn = None
                conn.done()
                d = self._decomp
                if d is not _UNSET and d is not None:
                    tail = self._inflate(d, b"", True)
                    if tail:
                        return tail
                raise StopAsyncIteration
            try:
                await conn.wait()
            except asyncio.CancelledError:
                self._conn = None
                conn.abort()  # the caller went away: so does the upstream request
                raise

    def push(self, on_data: Callable[[bytes], None]) -> asyncio.Future[None]:
        """Push mode for the rest of the body: each read calls ``on_data`` synchronously from the
        connection's protocol (no task is woken per chunk). Bytes already buffered go first. The
        future completes at the end of the body, or with the transport's error or ``on_data``'s."""
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        conn = self._conn
        if conn is None:
            if self._closed_early:
                fut.set_exception(ServerDisconnected("the response was closed"))
            else:
                fut.set_result(None)
            return fut
        d = self._decomp
        if d is _UNSET:
            d = self._decomp = _decompressor(self.raw_head)

        def pump() -> None:
            if fut.done():
                return
            try:
                chunks = conn._chunks
                if chunks:
                    data = chunks.pop() if len(chunks) == 1 else b"".join(chunks)
                    chunks.clear()
                    conn._buffered = 0
                    if d is not None:
                        data = self._inflate(d, data)
                    if data:
                        on_data(data)
                if conn._exc is not None:
                    self._conn, conn._sink = None, None
                    conn.abort()
                    fut.set_exception(conn._exc)
                elif conn._state == DONE:
                    self._conn, conn._sink = None, None
                    conn.done()
                    if d is not None:
                        tail = self._inflate(d, b"", True)
                        if tail:
                            on_data(tail)
                    fut.set_result(None)
            except BaseException as exc:  # noqa: BLE001 - on_data's error ends the exchange
                self._conn, conn._sink = None, None
                conn.abort()
                if not fut.done():
                    fut.set_exception(exc)

        conn._sink = pump
        if conn._paused:
            conn.resume()
        pump()
        return fut

    def pause_reading(self) -> None:
        """Push mode flow control: the reader's own consumer is slow."""
        conn = self._conn
        if conn is not None and not conn._paused and not conn._closed:
            conn._paused = True
            conn._t.pause_reading()

    def resume_reading(self) -> None:
        conn = self._conn
        if conn is not None and conn._paused:
            conn.resume()

    async def read(self) -> bytes:
        body = self._body
        if body is not None:
            return body
        conn = self._conn
        if conn is None:
            if self._closed_early:
                raise ServerDisconnected("the response was closed")
            return b""
        conn.no_flow_limit()
        while conn._state != DONE and conn._exc is None:
            try:
                await conn.wait()
            except asyncio.CancelledError:
                self._conn = None
                conn.abort()
                raise
        self._conn = None
        if conn._state != DONE:
            conn.abort()
            raise conn._exc  # type: ignore[misc]
        chunks = conn._chunks
        body = chunks.pop() if len(chunks) == 1 else b"".join(chunks)
        chunks.clear()
        conn._buffered = 0
        conn.done()
        d = self._decomp
        if d is _UNSET:
            d = _decompressor(self.raw_head)
        if d is not None and body:
            body = self._inflate(d, body, True)
        self._decomp = None
        self._body = body
        return body

    @staticmethod
    def _inflate(d: Any, data: bytes, last: bool = False) -> bytes:
        try:
            out = d.decompress(data)
            if last:
                out += d.flush()
                if not d.eof:
                    raise zlib.error("truncated")
            return out
        except zlib.error:
            raise BadResponse("the provider sent an undecodable compressed body") from None

    # ---- connection ----

    def release(self) -> None:
        """Done with the response. A fully received body leaves the connection reusable."""
        conn = self._conn
        if conn is not None:
            self._conn = None
            if conn._state == DONE and conn._exc is None:
                conn._chunks.clear()
                conn._buffered = 0
                conn.done()
            else:
                self._closed_early = True
                conn.abort()

    def __del__(self) -> None:
        # Dropped without release()/close() (e.g. a stream body generator that was never
        # started): don't leave the connection busy forever.
        conn = self._conn
        if conn is not None:
            self._conn = None
            try:
                conn.abort()
            except Exception:  # noqa: BLE001, S110  # the loop may be gone at interpreter exit
                pass

    def close(self) -> None:
        """Close the connection now (cancels the request upstream if still running)."""
        conn = self._conn
        if conn is not None:
            self._conn = None
            self._closed_early = conn._state != DONE
            conn._chunks.clear()
            conn.abort()
