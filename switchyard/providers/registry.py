"""The one place that maps a wire protocol to its provider adapter. Nothing else compares protocol
or provider names.

Each protocol package under ``switchyard.protocols`` exports ``ADAPTERS``: the adapter classes it
provides, each with a unique ``protocol`` string.
"""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Mapping

from switchyard.config.model import ProviderConfig
from switchyard.providers.base import ProviderAdapter

PROTOCOL_PACKAGES = (
    "switchyard.protocols.openai_chat",
    "switchyard.protocols.anthropic",
    "switchyard.protocols.gemini",
    "switchyard.protocols.bedrock",
    "switchyard.protocols.azure",
)


def adapter_classes() -> dict[str, type[ProviderAdapter]]:
    classes: dict[str, type[ProviderAdapter]] = {}
    for name in PROTOCOL_PACKAGES:
        if importlib.util.find_spec(name) is None:
            continue
        for cls in getattr(importlib.import_module(name), "ADAPTERS", ()):
            classes[cls.protocol] = cls
    return classes


class UnknownProtocol(ValueError):
    pass


def build_adapters(providers: Mapping[str, ProviderConfig]) -> dict[str, ProviderAdapter]:
    classes = adapter_classes()
    adapters = {}
    for slug, provider in providers.items():
        cls = classes.get(provider.protocol)
        if cls is None:
            raise UnknownProtocol(f"providers.{slug}: unknown protocol '{provider.protocol}' "
                                  f"(known: {', '.join(sorted(classes))})")
        adapters[slug] = cls(provider)
    return adapters
