"""Shared helpers for the OpenAI Chat stream tests: recorded fixtures and the ways to cut them."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

FIXTURES = Path(__file__).parent / "fixtures"


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def splits(raw: bytes, seed: int = 42) -> list[list[bytes]]:
    """The same bytes cut every way: whole, byte by byte, fixed sizes and seeded random cuts."""
    out = [[raw], [raw[i:i + 1] for i in range(len(raw))]]
    for size in (2, 3, 7, 64, 1000):
        out.append([raw[i:i + size] for i in range(0, len(raw), size)])
    rng = random.Random(seed)
    for _ in range(8):
        cuts = sorted(rng.sample(range(1, len(raw)), min(12, len(raw) - 1)))
        out.append([raw[a:b] for a, b in zip([0, *cuts], [*cuts, len(raw)])])
    return out


def sse_json(stream: bytes) -> list[Any]:
    """The data payloads of an SSE byte stream: JSON objects, and the string "[DONE]"."""
    out: list[Any] = []
    for block in stream.replace(b"\r\n", b"\n").split(b"\n\n"):
        for line in block.split(b"\n"):
            if line.startswith(b"data: "):
                payload = line[6:]
                out.append("[DONE]" if payload == b"[DONE]" else json.loads(payload))
    return out
