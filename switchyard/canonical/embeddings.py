"""The canonical embeddings request and result."""

from __future__ import annotations

from typing import Any

import msgspec

from switchyard.canonical.result import Usage


class EmbedRequest(msgspec.Struct):
    model: str  # catalog id
    inputs: list[str]
    dimensions: int | None = None
    user: str | None = None
    # e.g. Cohere/Gemini task types ("search_query", "RETRIEVAL_DOCUMENT"), keyed by provider slug.
    provider_options: dict[str, dict[str, Any]] = msgspec.field(default_factory=dict)


class EmbedResult(msgspec.Struct):
    embeddings: list[list[float]]  # one vector per input, in input order
    usage: Usage | None = None
    model: str | None = None
