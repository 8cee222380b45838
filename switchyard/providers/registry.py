"""The one place that maps a wire protocol to its provider adapter. Nothing else compares protocol
or provider names."""

from __future__ import annotations

from collections.abc import Mapping

from switchyard.config.model import ProviderConfig
from switchyard.providers.base import ProviderAdapter


def _adapter_classes() -> dict[str, type[ProviderAdapter]]:
    from switchyard.protocols.anthropic import AnthropicAdapter
    from switchyard.protocols.openai_chat import OpenAIChatAdapter

    return {cls.protocol: cls for cls in (OpenAIChatAdapter, AnthropicAdapter)}


class UnknownProtocol(ValueError):
    pass


def build_adapters(providers: Mapping[str, ProviderConfig]) -> dict[str, ProviderAdapter]:
    classes = _adapter_classes()
    adapters = {}
    for slug, provider in providers.items():
        cls = classes.get(provider.protocol)
        if cls is None:
            raise UnknownProtocol(f"providers.{slug}: unknown protocol '{provider.protocol}' "
                                  f"(known: {', '.join(sorted(classes))})")
        adapters[slug] = cls(provider)
    return adapters
