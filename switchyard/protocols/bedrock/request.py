"""Canonical ChatRequest -> Bedrock Converse request body.

What Converse wants that the canonical model does not give directly:
- one top-level ``system`` list; ``messages`` alternating user/assistant (tool results are user
  content, consecutive turns of one role are merged); no blank text blocks;
- images inline as bytes (base64 in JSON) with a format of png/jpeg/gif/webp, or from S3
  (``s3://`` URLs); http(s) image URLs cannot be sent and raise UNSUPPORTED so the router moves on;
- tool call arguments as a JSON object; tool results as ``[{text}|{image}]`` (text, not ``{json}``:
  every tool-capable Converse model takes text, not all take JSON documents);
- a ``toolConfig`` whenever the history holds toolUse/toolResult blocks. With no tools, or
  ``tool_choice: none`` (Converse has no "none"), the history's tool blocks are rewritten as text
  and no tools are sent, so the model cannot call one;
- JSON modes are emulated with a system instruction (Converse's native ``outputConfig`` exists only
  on some models; callers wanting it pass it in ``provider_options``).

``provider_options["bedrock"]`` (and the provider's own slug) are merged last: Converse top-level
fields (``guardrailConfig``, ``performanceConfig``, ``outputConfig``, ...) go to the top level,
anything else (``top_k``, ``thinking``, ...) into ``additionalModelRequestFields``.
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
    ToolResultPart,
)
from switchyard.errors import ErrorCategory, RequestError
from switchyard.protocols._shared import arguments_object
from switchyard.protocols.bedrock.tools import tool_config

Block = dict[str, Any]

TOP_LEVEL_FIELDS = frozenset({
    "guardrailConfig", "performanceConfig", "outputConfig", "serviceTier", "promptVariables",
    "requestMetadata", "additionalModelResponseFieldPaths", "inferenceConfig", "toolConfig", "system",
})
_FORMATS = {"image/png": "png", "image/jpeg": "jpeg", "image/jpg": "jpeg", "image/gif": "gif",
            "image/webp": "webp"}
_MAGIC = (("iVBORw0KGgo", "png"), ("/9j/", "jpeg"), ("R0lGOD", "gif"), ("UklGR", "webp"))

_encode_json = msgspec.json.encode


def build_body(request: ChatRequest, model_id: str, slug: str = "bedrock") -> bytes:
    options: dict[str, Any] = {}
    for key in {"bedrock": None, slug: None}:  # ordered and without a repeat
        options.update(request.provider_options.get(key) or {})
    tools = request.tools if request.tools and (request.tool_choice is None
                                                 or request.tool_choice.mode != "none") else None
    system: list[Block] = []
    turns: list[dict[str, Any]] = []
    for i, msg in enumerate(request.messages):
        if msg.role == "system":
            system.extend(_system_blocks(msg, i))
            continue
        role = "assistant" if msg.role == "assistant" else "user"
        blocks = _blocks(msg, i, tools is not None)
        if not blocks:
            continue  # Converse rejects empty content
        if turns and turns[-1]["role"] == role:
            turns[-1]["content"].extend(blocks)
        else:
            turns.append({"role": role, "content": blocks})
    for turn in turns:
        if turn["role"] == "user" and len(turn["content"]) > 1:
            turn["content"].sort(key=lambda b: "toolResult" not in b)  # stable: results first
    if turns and turns[-1]["role"] == "assistant":
        _trim_prefill(turns[-1]["content"])
    fmt = request.response_format
    if fmt is not None and fmt.type != "text":
        system.append({"text": _json_instruction(fmt)})

    body: dict[str, Any] = {"messages": turns}
    if system:
        body["system"] = system
    inference: dict[str, Any] = {}
    if request.max_tokens is not None:
        inference["maxTokens"] = request.max_tokens
    if request.temperature is not None:
        inference["temperature"] = min(max(request.temperature, 0.0), 1.0)  # Converse allows 0..1
    if request.top_p is not None:
        inference["topP"] = request.top_p
    if request.stop:
        inference["stopSequences"] = request.stop
    if inference:
        body["inferenceConfig"] = inference
    if tools is not None:
        body["toolConfig"] = tool_config(tools, request.tool_choice)
    extra: dict[str, Any] = {}
    if request.top_k is not None and ".anthropic." in f".{model_id}":
        extra["top_k"] = request.top_k  # the field name is per model; only Claude's is known here
    # seed, penalties, user and parallel_tool_calls have no Converse field and are dropped.
    for key, value in options.items():
        if key == "additionalModelRequestFields" and isinstance(value, dict):
            extra.update(value)
        elif key in TOP_LEVEL_FIELDS:
            current = body.get(key)
            body[key] = {**current, **value} if isinstance(current, dict) and isinstance(value, dict) else value
        else:
            extra[key] = value
    if extra:
        body["additionalModelRequestFields"] = extra
    return _encode_json(body)


def _system_blocks(msg: Message, i: int) -> list[Block]:
    out: list[Block] = []
    for p in msg.content:
        if type(p) is not TextPart:
            raise RequestError("bedrock: system messages may only contain text", param=f"messages[{i}].content")
        _add_text(out, p)
    return out


def _add_text(out: list[Block], p: TextPart) -> None:
    if p.text.strip():
        out.append({"text": p.text})
        if p.cache_control is not None:
            out.append({"cachePoint": {"type": "default"}})  # Anthropic's cache marker, in Converse's words


def _blocks(msg: Message, i: int, with_tools: bool) -> list[Block]:
    out: list[Block] = []
    for p in msg.content:
        if type(p) is TextPart:
            _add_text(out, p)
        elif type(p) is ImagePart:
            out.append(_image(p, f"messages[{i}].content"))
        elif type(p) is ToolCallPart:
            if with_tools:
                out.append({"toolUse": {"toolUseId": p.id, "name": p.name, "input": arguments_object(p.arguments)}})
            else:
                out.append({"text": f"[called tool {p.name} with arguments {p.arguments or '{}'}]"})
        elif type(p) is ToolResultPart:
            out.extend(_tool_result(p, i, with_tools))
        elif type(p) is ReasoningPart:
            block = _reasoning(p)
            if block is not None:
                out.append(block)
    return out


def _image(p: ImagePart, param: str) -> Block:
    if p.data is not None:
        return _bytes_image(p.media_type, p.data, param)
    url = p.url or ""
    if url.startswith("data:"):
        head, sep, data = url[5:].partition(",")
        params = head.split(";")
        if not sep or "base64" not in params[1:]:
            raise RequestError("bedrock: image data URLs must be base64", param=param)
        return _bytes_image(params[0] or None, data, param)
    if url.startswith("s3://"):
        return {"image": {"format": _format(p.media_type, url.rsplit(".", 1)[-1].lower(), param),
                          "source": {"s3Location": {"uri": url}}}}
    raise RequestError("bedrock: Converse takes images inline or from S3, not by http(s) URL", param=param,
                       category=ErrorCategory.UNSUPPORTED)


def _bytes_image(media_type: str | None, data: str, param: str) -> Block:
    return {"image": {"format": _format(media_type, data, param), "source": {"bytes": data}}}


def _format(media_type: str | None, hint: str, param: str) -> str:
    if media_type:
        fmt = _FORMATS.get(media_type.lower())
        if fmt is None:
            raise RequestError(f"bedrock: image type {media_type} is not supported (png, jpeg, gif, webp)",
                               param=param, category=ErrorCategory.UNSUPPORTED)
        return fmt
    if hint in ("png", "jpeg", "gif", "webp"):
        return hint
    if hint == "jpg":
        return "jpeg"
    for prefix, fmt in _MAGIC:
        if hint.startswith(prefix):
            return fmt
    return "png"




def _tool_result(p: ToolResultPart, i: int, with_tools: bool) -> list[Block]:
    content: list[Block] = []
    for c in p.content:
        if isinstance(c, ImagePart):
            content.append(_image(c, f"messages[{i}].content"))
        elif c.text:
            content.append({"text": c.text})
    if not with_tools:
        text = " ".join(b["text"] for b in content if "text" in b)
        images = [b for b in content if "image" in b]
        return [{"text": f"[tool result{' (error)' if p.is_error else ''}: {text}]"}, *images]
    # Converse rejects blank text blocks, a tool result's included: an empty result says so.
    block: Block = {"toolUseId": p.tool_call_id, "content": content or [{"text": "(empty)"}]}
    if p.is_error:
        block["status"] = "error"
    return [{"toolResult": block}]


def _reasoning(p: ReasoningPart) -> Block | None:
    if p.redacted is not None:
        return {"reasoningContent": {"redactedContent": p.redacted}}
    if p.signature is None:
        return None  # unsigned thinking (another provider's) would be rejected
    return {"reasoningContent": {"reasoningText": {"text": p.text, "signature": p.signature}}}


def _trim_prefill(content: list[Block]) -> None:
    # A final assistant turn may not end with whitespace (Claude answers 400).
    last = content[-1]
    if "text" in last:
        text = last["text"].rstrip()
        if text:
            last["text"] = text
        else:
            content.pop()


def _json_instruction(fmt: ResponseFormat) -> str:
    text = ("Respond with a single JSON value only: no prose before or after it and no "
            "Markdown code fences.")
    if fmt.type == "json_schema" and fmt.schema is not None:
        text += " It must conform to this JSON Schema"
        if fmt.name:
            text += f" (named {fmt.name!r}"
            text += f": {fmt.description})" if fmt.description else ")"
        text += ":\n" + _encode_json(fmt.schema).decode()
    return text
