"""Google's wire protocols, provider side: the Gemini API (``gemini``) and Vertex AI (``vertex``,
which also serves Claude through the Anthropic Messages translation and open models through the
OpenAI Chat Completions one)."""

from switchyard.protocols.gemini.adapter import GeminiAdapter
from switchyard.protocols.gemini.vertex import VertexAdapter

ADAPTERS = (GeminiAdapter, VertexAdapter)

__all__ = ["ADAPTERS", "GeminiAdapter", "VertexAdapter"]
