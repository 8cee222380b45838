"""Incremental Server-Sent Events decoder for provider streams.

Fed raw bytes as they arrive; yields ``(event, data)`` for each complete event. Comment lines
(``: keep-alive``, ``: OPENROUTER PROCESSING``) and events without data are dropped. Handles LF and
CRLF line endings and events split across reads. Work per event is a few slices: no regexes.
"""

from __future__ import annotations


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
