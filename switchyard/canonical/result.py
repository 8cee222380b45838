"""The canonical result of a completion and its token usage."""

from __future__ import annotations

from typing import Literal

import msgspec

from switchyard.canonical.request import ReasoningPart, TextPart, ToolCallPart

FinishReason = Literal["stop", "length", "tool_calls", "content_filter", "error", "other"]


class Usage(msgspec.Struct):
    """Token counts, normalised so that totals include their subsets.

    ``input_tokens`` counts every prompt token, cached ones included (OpenAI and Gemini report it so;
    Anthropic's ``input_tokens`` excludes cache reads and writes, and its adapter adds them back).
    ``output_tokens`` includes ``reasoning_tokens``.
    """

    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0
    reasoning_tokens: int = 0

    @property
    def total_tokens(self) -> int:
        return self.input_tokens + self.output_tokens


class ChatResult(msgspec.Struct):
    """A finished, non-streamed completion as the provider returned it."""

    content: list[TextPart | ReasoningPart | ToolCallPart]
    finish_reason: FinishReason
    usage: Usage | None = None
    id: str | None = None  # the provider's response id
    model: str | None = None  # the provider's model id as it reported it
    raw_finish_reason: str | None = None

    def text(self) -> str:
        return "".join(p.text for p in self.content if type(p) is TextPart)
