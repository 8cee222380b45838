"""The canonical chat request: what every front door produces and every provider adapter consumes.

Field by field, this is the intersection of what the OpenAI Chat Completions, Anthropic Messages,
Gemini, Bedrock Converse and AI SDK call options can express. Anything provider-specific travels in
``provider_options[slug]`` and is merged into that provider's request body by its adapter only.
"""

from __future__ import annotations

from typing import Any, Literal, Union

import msgspec


class TextPart(msgspec.Struct, tag="text", frozen=True):
    text: str
    # Anthropic prompt caching marker ({"type": "ephemeral"}); other providers ignore it.
    cache_control: dict[str, Any] | None = None


class ImagePart(msgspec.Struct, tag="image", frozen=True):
    """An image, either by URL or inline. Inline data is base64 without the ``data:`` prefix."""

    url: str | None = None
    data: str | None = None
    media_type: str | None = None
    detail: str | None = None  # OpenAI's "low" | "high" | "auto"


class ReasoningPart(msgspec.Struct, tag="reasoning", frozen=True):
    """Model thinking. ``signature`` is Anthropic's opaque proof that must be echoed back verbatim;
    ``redacted`` holds Anthropic's encrypted ``redacted_thinking`` data."""

    text: str = ""
    signature: str | None = None
    redacted: str | None = None


class ToolCallPart(msgspec.Struct, tag="tool_call", frozen=True):
    id: str
    name: str
    arguments: str  # JSON text, exactly as the model produced it


class ToolResultPart(msgspec.Struct, tag="tool_result", frozen=True):
    tool_call_id: str
    content: list[TextPart | ImagePart]
    is_error: bool = False


Part = Union[TextPart, ImagePart, ReasoningPart, ToolCallPart, ToolResultPart]
Role = Literal["system", "user", "assistant", "tool"]


class Message(msgspec.Struct, frozen=True):
    """One turn. ``system`` messages may appear anywhere; adapters whose wire format only has a single
    system prompt hoist and join them. ``tool`` messages carry ToolResultParts only."""

    role: Role
    content: list[Part]
    name: str | None = None


class Tool(msgspec.Struct, frozen=True):
    name: str
    parameters: dict[str, Any]  # JSON Schema of the arguments
    description: str | None = None
    strict: bool | None = None


class ToolChoice(msgspec.Struct, frozen=True):
    mode: Literal["auto", "none", "required", "tool"] = "auto"
    name: str | None = None  # with mode="tool"


class ResponseFormat(msgspec.Struct, frozen=True):
    type: Literal["text", "json_object", "json_schema"] = "text"
    schema: dict[str, Any] | None = None
    name: str | None = None
    description: str | None = None
    strict: bool | None = None


class ChatRequest(msgspec.Struct):
    """A request for one completion. ``model`` is the catalog id the caller asked for
    (``creator/model``); the provider's own id is chosen per attempt by the router."""

    model: str
    messages: list[Message]
    stream: bool = False
    include_usage: bool = False  # caller asked for the usage chunk (OpenAI stream_options)
    max_tokens: int | None = None
    temperature: float | None = None
    top_p: float | None = None
    top_k: int | None = None
    stop: list[str] | None = None
    seed: int | None = None
    presence_penalty: float | None = None
    frequency_penalty: float | None = None
    user: str | None = None
    tools: list[Tool] | None = None
    tool_choice: ToolChoice | None = None
    parallel_tool_calls: bool | None = None
    response_format: ResponseFormat | None = None
    reasoning_effort: str | None = None
    # Options for one provider, keyed by provider slug; merged into that provider's body only.
    provider_options: dict[str, dict[str, Any]] = msgspec.field(default_factory=dict)

    def has_images(self) -> bool:
        for m in self.messages:
            for p in m.content:
                if type(p) is ImagePart:
                    return True
                if type(p) is ToolResultPart and any(type(c) is ImagePart for c in p.content):
                    return True
        return False
