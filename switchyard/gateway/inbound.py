"""What a front door hands the executor: routing facts, read cheaply, and the caller's body."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from switchyard.routing.plan import RouteRequest


class Inbound:
    """One parsed caller request. ``raw`` is the caller's JSON body in its own protocol, kept for the
    pass-through path; the canonical request is built only when a translation needs it."""

    __slots__ = ("route", "stream", "wants_usage", "raw", "user", "tags", "_to_canonical", "_canonical", "kind")

    def __init__(self, route: RouteRequest, stream: bool, raw: dict[str, Any],
                 to_canonical: Callable[[dict[str, Any]], Any], *, wants_usage: bool = False,
                 user: str | None = None, tags: list[str] | None = None, kind: str = "language") -> None:
        self.kind = kind  # "language" (chat) or "embedding"
        self.route = route
        self.stream = stream
        self.wants_usage = wants_usage
        self.raw = raw
        self.user = user
        self.tags = tags or []
        self._to_canonical = to_canonical
        self._canonical: Any = None

    def canonical(self) -> Any:
        """The ChatRequest (or EmbedRequest for ``kind == "embedding"``)."""
        if self._canonical is None:
            self._canonical = self._to_canonical(self.raw)
        return self._canonical
