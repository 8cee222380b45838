"""Anthropic Messages protocol, provider side: canonical requests out, canonical results in."""

from switchyard.protocols.anthropic.adapter import AnthropicAdapter

__all__ = ["AnthropicAdapter"]
