"""What the executor hands back to the HTTP layer: plain values, no HTTP library types."""

from __future__ import annotations

from collections.abc import AsyncIterator

import msgspec


class Outcome(msgspec.Struct):
    status: int
    headers: list[tuple[str, str]]
    body: bytes = b""
    stream: AsyncIterator[bytes] | None = None
    content_type: str = "application/json"
