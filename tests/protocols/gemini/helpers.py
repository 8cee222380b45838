"""Shared helpers for the Gemini and Vertex tests: recorded fixtures, the ways to cut them, providers."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

from switchyard.config.model import ProviderConfig

FIXTURES = Path(__file__).parent / "fixtures"


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def splits(raw: bytes, seed: int = 7) -> list[list[bytes]]:
    """The same bytes cut every way: whole, byte by byte, fixed sizes and seeded random cuts."""
    out = [[raw], [raw[i:i + 1] for i in range(len(raw))]]
    for size in (2, 3, 7, 64, 1000):
        out.append([raw[i:i + size] for i in range(0, len(raw), size)])
    rng = random.Random(seed)
    for _ in range(10):
        cuts = sorted(rng.sample(range(1, len(raw)), min(12, len(raw) - 1)))
        out.append([raw[a:b] for a, b in zip([0, *cuts], [*cuts, len(raw)])])
    return out


def gemini_provider(**kw: Any) -> ProviderConfig:
    base: dict[str, Any] = {"slug": "google", "protocol": "gemini",
                            "base_url": "https://generativelanguage.googleapis.com", "api_key": "gk-secret"}
    base.update(kw)
    return ProviderConfig(**base)


def vertex_provider(options: dict[str, Any] | None = None, **kw: Any) -> ProviderConfig:
    base: dict[str, Any] = {"slug": "vertex", "protocol": "vertex", "base_url": "",
                            "options": {"project": "proj", "location": "us-central1", "access_token": "ya29.static",
                                        **(options or {})}}
    base.update(kw)
    return ProviderConfig(**base)
