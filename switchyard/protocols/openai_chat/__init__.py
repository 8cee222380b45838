"""The OpenAI Chat Completions protocol (and OpenAI embeddings), both sides."""

from switchyard.protocols.openai_chat.adapter import OpenAIChatAdapter
from switchyard.protocols.openai_chat.frontdoor import OpenAIChatFrontDoor

ADAPTERS = (OpenAIChatAdapter,)

__all__ = ["ADAPTERS", "OpenAIChatAdapter", "OpenAIChatFrontDoor"]
