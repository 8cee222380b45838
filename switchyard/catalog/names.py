"""Resolve the model names clients send by habit (Claude Code's ``claude-sonnet-4-5-20250929``,
Codex's ``gpt-5-codex``) to catalog ids, for front doors whose clients don't write ``creator/model``."""

from __future__ import annotations

import re
from collections.abc import Iterable

from switchyard.catalog.catalog import Catalog

# A trailing release date (20250929 or 2024-08-06) or "-latest".
_SUFFIX = re.compile(r"-(?:\d{8}|\d{4}-\d{2}-\d{2}|latest)$")


class ModelNames:
    """``name`` as is when it is a catalog id; else ``<creator>/<name>``; else the catalog model one
    of whose providers uses ``name`` as its own id (the ``native`` providers' ids first); each also
    tried without a date suffix. Anything else is returned unchanged, for routing to answer 404."""

    def __init__(self, catalog: Catalog, creator: str, native: Iterable[str] = ()) -> None:
        self._creator = creator
        preferred = set(native)
        self._ids = frozenset(m.id for m in catalog)
        self._by_provider_id: dict[str, str] = {}
        for first in (True, False):  # the native providers' ids win over others'
            for m in catalog:
                for o in m.offerings:
                    if (o.provider in preferred) == first:
                        self._by_provider_id.setdefault(o.model_id, m.id)
        self._cache: dict[str, str] = {}

    def __call__(self, name: str) -> str:
        found = self._cache.get(name)
        if found is None:
            found = self._resolve(name)
            if len(self._cache) < 10_000:  # callers choose the names: bound what we remember
                self._cache[name] = found
        return found

    def _resolve(self, name: str) -> str:
        if name in self._ids:
            return name
        prefix = self._creator + "/"
        bare = name[len(prefix):] if name.startswith(prefix) else name
        if "/" in bare:
            return name
        for candidate in dict.fromkeys((bare, _SUFFIX.sub("", bare))):
            if prefix + candidate in self._ids:
                return prefix + candidate
            if candidate in self._by_provider_id:
                return self._by_provider_id[candidate]
        return name
