"""Incremental Server-Sent Events decoder for provider streams.

Fed raw bytes as they arrive; yields ``(event, data)`` for each complete event. Comment lines
(``: keep-alive``, ``: OPENROUTER PROCESSING``) and events without data are dropped. Handles LF and
CRLF line endings and events split across reads. Work per event is a few slices: no regexes.
"""

from __future__ import annotations

from typing import Any


class SSEDecoder:
    __slots__ = ("_buf",)

    def __init__(self) -> None:
        self._buf = b""

    def feed(self, chunk: bytes) -> list[tuple[str | None, bytes]]:
        buf = self._buf + chunk if self._buf else chunk
        # Normalise whenever a CR is present, not only when the first line had one: an intermediary's
        # LF keep-alive may precede a CRLF stream.
        if b"\r" in buf:
            buf = buf.replace(b"\r\n", b"\n")
        out: list[tuple[str | None, bytes]] = []
        start = 0
        while True:
            end = buf.find(b"\n\n", start)
            if end < 0:
                break
            ev = self._parse(buf[start:end])
            if ev is not None:
                out.append(ev)
            start = end + 2
        self._buf = buf[start:] if start < len(buf) else b""
        return out

    def flush(self) -> list[tuple[str | None, bytes]]:
        """End of input: a final event without its blank line still counts (some servers omit it)."""
        rest, self._buf = self._buf.strip(b"\r\n"), b""
        if not rest:
            return []
        ev = self._parse(rest.replace(b"\r\n", b"\n"))
        return [ev] if ev is not None else []

    @staticmethod
    def _parse(block: bytes) -> tuple[str | None, bytes] | None:
        event: str | None = None
        data: list[bytes] = []
        for line in block.split(b"\n"):
            if not line or line[0] == 58:  # ':' comment
                continue
            name, _, value = line.partition(b":")
            if value[:1] == b" ":
                value = value[1:]
            if name == b"data":
                data.append(value)
            elif name == b"event":
                event = value.decode()
        if not data:
            return None
        return event, data[0] if len(data) == 1 else b"\n".join(data)


class SSEStreamDecoder:
    """The shared skeleton of SSE stream decoders (a StreamDecoder): events decoded before an error
    in the same read are delivered first and the error is raised on the next call; at the end, a
    half-received last event counts as a cut stream. Subclasses decode events in ``_handle``
    (setting ``_error`` to stop) and check completeness in ``_finish``."""

    def __init__(self) -> None:
        self._sse = SSEDecoder()
        self._error: Any = None  # an UpstreamError to raise on the next call

    def feed(self, data: bytes) -> list[Any]:
        if self._error is not None:
            raise self._error
        return self._handle(self._sse.feed(data))

    def close(self) -> list[Any]:
        from switchyard.errors import ErrorCategory, UpstreamError

        if self._error is not None:
            raise self._error
        try:
            out = self._handle(self._sse.flush())
        except UpstreamError as exc:
            if exc.category is not ErrorCategory.BAD_RESPONSE:
                raise
            out = []  # a half-received last event: the stream was cut, reported by _finish
        if self._error is not None and self._error.category is not ErrorCategory.BAD_RESPONSE:
            raise self._error
        return self._finish(out)

    def _handle(self, raw: list[tuple[str | None, bytes]]) -> list[Any]:
        raise NotImplementedError

    def _finish(self, out: list[Any]) -> list[Any]:
        raise NotImplementedError
