"""Providers Switchyard knows by slug: their wire protocol, default base URL and the conventional
environment variables for their credentials and settings. With no config file, every provider here
whose required variables are set is enabled; in a config file, a provider with a known slug inherits
these defaults."""

from __future__ import annotations

import msgspec


class KnownProvider(msgspec.Struct, frozen=True):
    protocol: str
    base_url: str  # "" when the adapter derives it (from a region, say)
    key_env: tuple[str, ...] = ()  # the first one set is the API key
    base_url_env: str | None = None
    # Protocol options read from the environment: option name -> variables, first set wins.
    options_env: dict[str, tuple[str, ...]] = {}
    # Enables the provider with no config file when every variable of any one group is set
    # (default: any key variable).
    requires: tuple[tuple[str, ...], ...] = ()


def _compat(base_url: str, slug: str) -> KnownProvider:
    env = slug.upper()
    return KnownProvider("openai-chat", base_url, (f"{env}_API_KEY",), f"{env}_BASE_URL")


KNOWN_PROVIDERS: dict[str, KnownProvider] = {
    "openai": KnownProvider("openai-chat", "https://api.openai.com/v1", ("OPENAI_API_KEY",), "OPENAI_BASE_URL"),
    "anthropic": KnownProvider("anthropic-messages", "https://api.anthropic.com", ("ANTHROPIC_API_KEY",),
                               "ANTHROPIC_BASE_URL"),
    "google": KnownProvider("gemini", "https://generativelanguage.googleapis.com",
                            ("GEMINI_API_KEY", "GOOGLE_API_KEY"), "GEMINI_BASE_URL"),
    "vertex": KnownProvider(
        "vertex", "", (), "VERTEX_BASE_URL",
        options_env={"project": ("VERTEX_PROJECT", "GOOGLE_CLOUD_PROJECT"),
                     "location": ("VERTEX_LOCATION", "GOOGLE_CLOUD_LOCATION"),
                     "credentials_file": ("GOOGLE_APPLICATION_CREDENTIALS",)},
        requires=(("GOOGLE_APPLICATION_CREDENTIALS",),)),
    "bedrock": KnownProvider(
        "bedrock", "", ("AWS_BEARER_TOKEN_BEDROCK",), "BEDROCK_BASE_URL",
        options_env={"access_key_id": ("AWS_ACCESS_KEY_ID",), "secret_access_key": ("AWS_SECRET_ACCESS_KEY",),
                     "session_token": ("AWS_SESSION_TOKEN",), "region": ("AWS_REGION", "AWS_DEFAULT_REGION")},
        requires=(("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"), ("AWS_BEARER_TOKEN_BEDROCK",))),
    "azure": KnownProvider("azure-openai", "", ("AZURE_OPENAI_API_KEY",), "AZURE_OPENAI_ENDPOINT",
                           options_env={"api_version": ("AZURE_OPENAI_API_VERSION", "OPENAI_API_VERSION")},
                           requires=(("AZURE_OPENAI_ENDPOINT",),)),
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
