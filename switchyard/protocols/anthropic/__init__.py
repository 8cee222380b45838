"""Anthropic Messages protocol, provider side: canonical requests out, canonical results in."""

from switchyard.protocols.anthropic.adapter import AnthropicAdapter

ADAPTERS = (AnthropicAdapter,)

__all__ = ["ADAPTERS", "AnthropicAdapter"]
