"""The OpenAI Chat Completions protocol, both sides."""

from switchyard.protocols.openai_chat.adapter import OpenAIChatAdapter
from switchyard.protocols.openai_chat.frontdoor import OpenAIChatFrontDoor

__all__ = ["OpenAIChatAdapter", "OpenAIChatFrontDoor"]
