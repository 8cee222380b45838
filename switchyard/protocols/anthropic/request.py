"""Canonical ChatRequest -> Anthropic Messages request body.

Anthropic differs from the canonical (OpenAI-shaped) model in ways this module absorbs:
a single top-level ``system``; strict user/assistant alternation (tool results travel in *user*
turns); tool call arguments as a JSON object, not text; ``max_tokens`` is mandatory.
"""

from __future__ import annotations

from typing import Any

import msgspec

from switchyard.canonical import (
    ChatRequest,
    ImagePart,
    Message,
    ReasoningPart,
    ResponseFormat,
    TextPart,
    ToolCallPart,
    ToolChoice,
    ToolResultPart,
)
from switchyard.errors import RequestError
from switchyard.protocols._shared import arguments_object, sniff_media_type

DEFAULT_MAX_TOKENS = 4096
Block = dict[str, Any]



# reasoning_effort -> thinking budget_tokens (Anthropic's minimum budget is 1024). "none" disables.
THINKING_BUDGETS = {"minimal": 1024, "low": 2048, "medium": 8192, "high": 24576, "xhigh": 32768, "max": 32768}


def build_body(request: ChatRequest, model_id: str, max_output: int | None = None,
               slug: str = "anthropic") -> bytes:
    """``max_output`` (the model's output limit) is the ``max_tokens`` default. Options are read
    from ``provider_options["anthropic"]`` and then from the provider's own slug, if different."""
    system: list[Block] = []
    turns: list[dict[str, Any]] = []
    for i, msg in enumerate(request.messages):
        if msg.role == "system":
            system.extend(_system_blocks(msg, i))
            continue
        # Tool results are user content on Anthropic's wire.
        role = "assistant" if msg.role == "assistant" else "user"
        blocks = _blocks(msg)
        if not blocks:
            continue  # Anthropic rejects empty content; dropping keeps alternation intact
        if turns and turns[-1]["role"] == role:
            turns[-1]["content"].extend(blocks)  # Anthropic requires alternating roles
        else:
            turns.append({"role": role, "content": blocks})
    for turn in turns:
        if turn["role"] == "user":
            _tool_results_first(turn["content"])
    if turns and turns[-1]["role"] == "assistant":
        _trim_prefill(turns[-1]["content"])

    fmt = request.response_format
    if fmt is not None and fmt.type != "text":
        system.append({"type": "text", "text": _json_instruction(fmt)})

    body: dict[str, Any] = {
        "model": model_id,
        "max_tokens": request.max_tokens or max_output or DEFAULT_MAX_TOKENS,
        "messages": turns,
    }
    if system:
        body["system"] = system
    if request.temperature is not None:
        # OpenAI-shaped callers may send up to 2; Anthropic answers 400 above 1.
        body["temperature"] = min(max(request.temperature, 0.0), 1.0)
    if request.top_p is not None:
        body["top_p"] = request.top_p
    if request.top_k is not None:
        body["top_k"] = request.top_k
    if request.stop:
        body["stop_sequences"] = request.stop
    if request.user:
        body["metadata"] = {"user_id": request.user}
    if request.tools:
        body["tools"] = [_tool(t.name, t.description, t.parameters) for t in request.tools]
        choice = _tool_choice(request.tool_choice, request.parallel_tool_calls)
        if choice is not None:
            body["tool_choice"] = choice
    if request.stream:
        body["stream"] = True
    budget = THINKING_BUDGETS.get(request.reasoning_effort or "")
    if budget is not None:
        # An OpenAI-style effort becomes extended thinking with a budget; max_tokens must exceed it,
        # and Anthropic allows no temperature other than 1 (nor top_k) while thinking.
        body["thinking"] = {"type": "enabled", "budget_tokens": budget}
        body["max_tokens"] = max(body["max_tokens"], budget + 1024)
        body.pop("temperature", None)
        body.pop("top_k", None)
    # seed, presence/frequency penalties have no Anthropic equivalent and are dropped.
    for key in {"anthropic": None, slug: None}:  # ordered and without a repeat
        extra = request.provider_options.get(key)
        if extra:
            body.update(extra)  # last, so callers can override anything above
    return msgspec.json.encode(body)


def _system_blocks(msg: Message, i: int) -> list[Block]:
    out: list[Block] = []
    for p in msg.content:
        if type(p) is not TextPart:
            raise RequestError("anthropic: system messages may only contain text",
                               param=f"messages[{i}].content")
        if p.text:
            out.append(_text(p))
    return out


def _blocks(msg: Message) -> list[Block]:
    out: list[Block] = []
    for p in msg.content:
        if type(p) is TextPart:
            if p.text:
                out.append(_text(p))
        elif type(p) is ImagePart:
            out.append(_image(p))
        elif type(p) is ToolCallPart:
            out.append({"type": "tool_use", "id": p.id, "name": p.name, "input": arguments_object(p.arguments)})
        elif type(p) is ToolResultPart:
            out.append(_tool_result(p))
        elif type(p) is ReasoningPart:
            block = _reasoning(p)
            if block is not None:
                out.append(block)
    return out


def _text(p: TextPart) -> Block:
    if p.cache_control is not None:
        return {"type": "text", "text": p.text, "cache_control": p.cache_control}
    return {"type": "text", "text": p.text}


def _image(p: ImagePart) -> Block:
    if p.data is not None:
        return _base64_image(p.media_type or sniff_media_type(p.data), p.data)
    url = p.url or ""
    if url.startswith("data:"):
        # data:[<media type>][;base64],<data>; Anthropic only takes base64 inline.
        head, sep, data = url[5:].partition(",")
        params = head.split(";")
        if not sep or "base64" not in params[1:]:
            raise RequestError("anthropic: image data URLs must be base64", param="image_url")
        return _base64_image(params[0] or sniff_media_type(data), data)
    return {"type": "image", "source": {"type": "url", "url": url}}


def _base64_image(media_type: str, data: str) -> Block:
    return {"type": "image", "source": {"type": "base64", "media_type": media_type, "data": data}}








def _tool_result(p: ToolResultPart) -> Block:
    content: list[Block] = []
    for c in p.content:
        if isinstance(c, ImagePart):
            content.append(_image(c))
        elif c.text:
            content.append(_text(c))
    block: Block = {"type": "tool_result", "tool_use_id": p.tool_call_id}
    if content:
        block["content"] = content
    if p.is_error:
        block["is_error"] = True
    return block


def _reasoning(p: ReasoningPart) -> Block | None:
    if p.redacted is not None:
        return {"type": "redacted_thinking", "data": p.redacted}
    if p.signature is None or "|" in p.signature:
        # Thinking from another provider has no signature, or one tagged "<slug>/<model>|..." by the
        # Gemini adapter (Anthropic's own are base64); Anthropic rejects both.
        return None
    return {"type": "thinking", "thinking": p.text, "signature": p.signature}


def _tool_results_first(content: list[Block]) -> None:
    # Anthropic wants tool_result blocks before any other block of the same user turn.
    if len(content) > 1 and any(b["type"] == "tool_result" for b in content):
        content.sort(key=lambda b: b["type"] != "tool_result")  # stable


def _trim_prefill(content: list[Block]) -> None:
    # A final assistant turn (prefill) may not end with whitespace: Anthropic answers 400.
    last = content[-1]
    if last["type"] == "text":
        text = last["text"].rstrip()
        if text:
            last["text"] = text
        else:
            content.pop()


def _tool(name: str, description: str | None, parameters: dict[str, Any]) -> Block:
    schema = parameters or {"type": "object", "properties": {}}
    if "type" not in schema:
        schema = {"type": "object", **schema}  # Anthropic requires an object schema
    tool: Block = {"name": name, "input_schema": schema}
    if description:
        tool["description"] = description
    return tool


def _tool_choice(choice: ToolChoice | None, parallel: bool | None) -> Block | None:
    mode = choice.mode if choice is not None else "auto"
    if mode == "none":
        return {"type": "none"}
    if mode == "tool" and choice is not None and choice.name:
        out: Block = {"type": "tool", "name": choice.name}
    elif mode == "required":
        out = {"type": "any"}
    elif choice is None and parallel is not False:
        return None  # Anthropic's default is auto
    else:
        out = {"type": "auto"}
    if parallel is False:
        out["disable_parallel_tool_use"] = True
    return out


def _json_instruction(fmt: ResponseFormat) -> str:
    # Anthropic's native structured outputs (``output_format``) is a beta behind a header and only
    # on some models, so JSON mode is emulated with an instruction that works on every model.
    # Callers wanting the native feature pass it via provider_options["anthropic"] and the
    # provider's ``anthropic_beta`` option.
    text = ("Respond with a single JSON value only: no prose before or after it and no "
            "Markdown code fences.")
    if fmt.type == "json_schema" and fmt.schema is not None:
        text += " It must conform to this JSON Schema"
        if fmt.name:
            text += f" (named {fmt.name!r}"
            text += f": {fmt.description})" if fmt.description else ")"
        text += ":\n" + msgspec.json.encode(fmt.schema).decode()
    return text
