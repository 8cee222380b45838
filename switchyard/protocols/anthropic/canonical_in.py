"""A validated Messages request -> the canonical ChatRequest, for providers of other protocols.

Only called when the attempt's provider does not speak the Messages API: what has no canonical form
(documents, file sources, server tools such as ``web_search_*``, server tool blocks, citations)
raises RequestError UNSUPPORTED, and the executor moves on to a provider that may take the request
natively. Tool results become ``tool`` messages placed before the rest of their user turn.

Thinking: ``thinking`` goes to ``provider_options["anthropic"]["thinking"]`` (for an Anthropic-
protocol provider reached by translation) and, when the catalog says the model reasons, becomes a
``reasoning_effort`` hint for the others: ``output_config.effort`` if given, else from the budget
(up to 4096 tokens "low", up to 16384 "medium", more "high"; adaptive is "medium").
"""

from __future__ import annotations

from typing import Any

import msgspec

from switchyard.canonical import (
    ChatRequest,
    ImagePart,
    Message,
    Part,
    ReasoningPart,
    ResponseFormat,
    TextPart,
    Tool,
    ToolCallPart,
    ToolChoice,
    ToolResultPart,
)
from switchyard.errors import ErrorCategory, RequestError

_encode = msgspec.json.Encoder().encode
GATEWAY_OPTION_KEYS = ("gateway",)


def unsupported(what: str, where: str) -> RequestError:
    return RequestError(f"{where}: {what} cannot be translated for this model's provider; only "
                        f"Anthropic itself accepts it.", param=where, category=ErrorCategory.UNSUPPORTED)


def _text(b: dict[str, Any]) -> TextPart:
    return TextPart(b["text"], cache_control=b.get("cache_control"))


def _image(b: dict[str, Any], where: str) -> ImagePart:
    source = b["source"]
    if source["type"] == "base64":
        return ImagePart(data=source["data"], media_type=source["media_type"])
    if source["type"] == "url":
        return ImagePart(url=source["url"])
    raise unsupported("an image from the Files API", f"{where}.source")


def _result_content(content: Any, where: str) -> list[TextPart | ImagePart]:
    if content is None:
        return []
    if isinstance(content, str):
        return [TextPart(content)] if content else []
    out: list[TextPart | ImagePart] = []
    for k, c in enumerate(content):
        if c["type"] == "text":
            out.append(_text(c))
        elif c["type"] == "image":
            out.append(_image(c, f"{where}.{k}"))
        else:
            raise unsupported(f"a '{c['type']}' block", f"{where}.{k}")
    return out


def _user(content: Any, i: int) -> list[Message]:
    if isinstance(content, str):
        return [Message("user", [TextPart(content)])]
    results: list[Message] = []
    parts: list[Part] = []
    for j, b in enumerate(content):
        where = f"messages.{i}.content.{j}"
        kind = b["type"]
        if kind == "text":
            parts.append(_text(b))
        elif kind == "image":
            parts.append(_image(b, where))
        elif kind == "tool_result":
            results.append(Message("tool", [ToolResultPart(
                b["tool_use_id"], _result_content(b.get("content"), f"{where}.content"),
                is_error=bool(b.get("is_error")))]))
        else:
            raise unsupported(f"a '{kind}' block", where)
    return results + ([Message("user", parts)] if parts or not results else [])


def _assistant(content: Any, i: int) -> Message:
    if isinstance(content, str):
        return Message("assistant", [TextPart(content)] if content else [])
    parts: list[Part] = []
    for j, b in enumerate(content):
        kind = b["type"]
        if kind == "text":
            parts.append(_text(b))
        elif kind == "tool_use":
            parts.append(ToolCallPart(b["id"], b["name"], _encode(b["input"]).decode()))
        elif kind == "thinking":
            parts.append(ReasoningPart(b["thinking"], signature=b.get("signature") or None))
        elif kind == "redacted_thinking":
            parts.append(ReasoningPart(redacted=b["data"]))
        else:
            raise unsupported(f"a '{kind}' block", f"messages.{i}.content.{j}")
    return Message("assistant", parts)


def _system(system: Any) -> list[Message]:
    if system is None:
        return []
    if isinstance(system, str):
        return [Message("system", [TextPart(system)])] if system else []
    return [Message("system", [_text(b) for b in system])] if system else []


def _tools(tools: Any) -> list[Tool] | None:
    out = []
    for i, t in enumerate(tools or ()):
        if t.get("type") not in (None, "custom"):
            raise unsupported(f"the Anthropic-defined tool '{t['type']}'", f"tools.{i}")
        out.append(Tool(t["name"], t["input_schema"], t.get("description"), t.get("strict")))
    return out or None


def _tool_choice(choice: Any) -> tuple[ToolChoice | None, bool | None]:
    if not isinstance(choice, dict):
        return None, None
    mode = {"auto": "auto", "any": "required", "tool": "tool", "none": "none"}[choice["type"]]
    parallel = False if choice.get("disable_parallel_tool_use") else None
    return ToolChoice(mode, choice.get("name") if mode == "tool" else None), parallel  # type: ignore[arg-type]


def _response_format(data: dict[str, Any]) -> ResponseFormat | None:
    fmt = data.get("output_format")
    config = data.get("output_config")
    if isinstance(config, dict) and isinstance(config.get("format"), dict):
        fmt = config["format"]
    if isinstance(fmt, dict) and fmt.get("type") == "json_schema" and isinstance(fmt.get("schema"), dict):
        return ResponseFormat("json_schema", schema=fmt["schema"], name="response")
    return None


def _effort(data: dict[str, Any]) -> str | None:
    config = data.get("output_config")
    if isinstance(config, dict) and config.get("effort") in ("low", "medium", "high"):
        return config["effort"]
    thinking = data.get("thinking")
    if not isinstance(thinking, dict) or thinking.get("type") == "disabled":
        return None
    budget = thinking.get("budget_tokens")
    if thinking.get("type") != "enabled" or not isinstance(budget, int):
        return "medium"
    return "low" if budget <= 4096 else "medium" if budget <= 16384 else "high"


def to_canonical(data: dict[str, Any], model: str, reasoning: bool = False) -> ChatRequest:
    messages = _system(data.get("system"))
    for i, m in enumerate(data["messages"]):
        if m["role"] == "user":
            messages.extend(_user(m["content"], i))
        else:
            messages.append(_assistant(m["content"], i))
    choice, parallel = _tool_choice(data.get("tool_choice"))
    opts = data.get("providerOptions") or data.get("provider_options") or {}
    options = {k: dict(v) for k, v in opts.items() if k not in GATEWAY_OPTION_KEYS and isinstance(v, dict)}
    thinking = data.get("thinking")
    if isinstance(thinking, dict):
        options.setdefault("anthropic", {}).setdefault("thinking", thinking)
    metadata = data.get("metadata") or {}
    return ChatRequest(
        model=model,
        messages=messages,
        stream=bool(data.get("stream")),
        include_usage=True,
        max_tokens=data["max_tokens"],
        temperature=data.get("temperature"),
        top_p=data.get("top_p"),
        top_k=data.get("top_k"),
        stop=data.get("stop_sequences") or None,
        user=metadata.get("user_id"),
        tools=_tools(data.get("tools")),
        tool_choice=choice,
        parallel_tool_calls=parallel,
        response_format=_response_format(data),
        reasoning_effort=_effort(data) if reasoning else None,
        provider_options=options,
    )
