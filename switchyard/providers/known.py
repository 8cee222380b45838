"""Providers Switchyard knows by slug: their wire protocol, default base URL and the conventional
environment variables for their key and base URL. With no config file, every provider here whose key
variable is set is enabled; in a config file, a provider with a known slug inherits these defaults."""

from __future__ import annotations

import msgspec


class KnownProvider(msgspec.Struct, frozen=True):
    protocol: str
    base_url: str
    key_env: str
    base_url_env: str


def _compat(base_url: str, slug: str) -> KnownProvider:
    env = slug.upper()
    return KnownProvider("openai-chat", base_url, f"{env}_API_KEY", f"{env}_BASE_URL")


KNOWN_PROVIDERS: dict[str, KnownProvider] = {
    "openai": KnownProvider("openai-chat", "https://api.openai.com/v1", "OPENAI_API_KEY", "OPENAI_BASE_URL"),
    "anthropic": KnownProvider("anthropic-messages", "https://api.anthropic.com", "ANTHROPIC_API_KEY",
                               "ANTHROPIC_BASE_URL"),
    "mistral": _compat("https://api.mistral.ai/v1", "mistral"),
    "groq": _compat("https://api.groq.com/openai/v1", "groq"),
    "deepseek": _compat("https://api.deepseek.com/v1", "deepseek"),
    "xai": _compat("https://api.x.ai/v1", "xai"),
    "together": _compat("https://api.together.xyz/v1", "together"),
    "fireworks": _compat("https://api.fireworks.ai/inference/v1", "fireworks"),
    "cerebras": _compat("https://api.cerebras.ai/v1", "cerebras"),
    "perplexity": _compat("https://api.perplexity.ai", "perplexity"),
    "openrouter": _compat("https://openrouter.ai/api/v1", "openrouter"),
}
