"""Requests to an OpenAI-compatible provider: from the canonical model, or (pass-through) from the
caller's own Chat Completions body with only what must change rewritten."""

from __future__ import annotations

from typing import Any

import msgspec

from switchyard.canonical import (
    ChatRequest,
    ImagePart,
    Message,
    ReasoningPart,
    TextPart,
    ToolCallPart,
    ToolResultPart,
)
from switchyard.protocols.openai_chat import quirks as _quirks
from switchyard.protocols.openai_chat.quirks import Quirks
from switchyard.protocols.openai_chat.request_in import GATEWAY_KEYS


def _image(p: ImagePart) -> dict[str, Any]:
    url = p.url if p.url else f"data:{p.media_type or 'image/png'};base64,{p.data}"
    spec: dict[str, Any] = {"url": url}
    if p.detail:
        spec["detail"] = p.detail
    return {"type": "image_url", "image_url": spec}


def _content(parts: list[Any]) -> str | list[dict[str, Any]]:
    # A plain string when the turn is text only: the most widely accepted form among compatibles.
    if all(type(p) is TextPart and p.cache_control is None for p in parts):
        return "".join(p.text for p in parts)
    out: list[dict[str, Any]] = []
    for p in parts:
        if type(p) is TextPart:
            out.append({"type": "text", "text": p.text})
        elif type(p) is ImagePart:
            out.append(_image(p))
    return out


def _messages(messages: list[Message]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for m in messages:
        if m.role == "tool":
            for p in m.content:
                if type(p) is ToolResultPart:
                    text = _content(list(p.content))
                    out.append({"role": "tool", "tool_call_id": p.tool_call_id, "content": text})
            continue
        if m.role == "assistant":
            msg: dict[str, Any] = {"role": "assistant"}
            text = "".join(p.text for p in m.content if type(p) is TextPart)
            calls = [{"id": p.id, "type": "function", "function": {"name": p.name, "arguments": p.arguments}}
                     for p in m.content if type(p) is ToolCallPart]
            reasoning = "".join(p.text for p in m.content if type(p) is ReasoningPart)
            msg["content"] = text if text or not calls else None
            if calls:
                msg["tool_calls"] = calls
            if reasoning:
                msg["reasoning_content"] = reasoning
            out.append(msg)
            continue
        msg = {"role": m.role, "content": _content([p for p in m.content if type(p) in (TextPart, ImagePart)])}
        if m.name:
            msg["name"] = m.name
        out.append(msg)
    return out


def build_body(req: ChatRequest, model_id: str, slug: str) -> dict[str, Any]:
    body: dict[str, Any] = {"model": model_id, "messages": _messages(req.messages)}
    if req.stream:
        body["stream"] = True
        body["stream_options"] = {"include_usage": True}
    for key in ("temperature", "top_p", "seed", "presence_penalty", "frequency_penalty", "user",
                "parallel_tool_calls", "reasoning_effort"):
        value = getattr(req, key)
        if value is not None:
            body[key] = value
    if req.max_tokens is not None:
        body["max_tokens"] = req.max_tokens
    if req.stop:
        body["stop"] = req.stop
    if req.tools:
        tools = []
        for t in req.tools:
            fn: dict[str, Any] = {"name": t.name, "parameters": t.parameters}
            if t.description:
                fn["description"] = t.description
            if t.strict is not None:
                fn["strict"] = t.strict
            tools.append({"type": "function", "function": fn})
        body["tools"] = tools
    if req.tool_choice is not None:
        tc = req.tool_choice
        body["tool_choice"] = {"type": "function", "function": {"name": tc.name}} if tc.mode == "tool" else tc.mode
    rf = req.response_format
    if rf is not None and rf.type != "text":
        if rf.type == "json_object":
            body["response_format"] = {"type": "json_object"}
        else:
            js: dict[str, Any] = {"name": rf.name or "response", "schema": rf.schema or {}}
            if rf.strict is not None:
                js["strict"] = rf.strict
            if rf.description:
                js["description"] = rf.description
            body["response_format"] = {"type": "json_schema", "json_schema": js}
    extra = req.provider_options.get(slug)
    if extra:
        body.update(extra)
    return body


def encode_canonical(req: ChatRequest, model_id: str, slug: str, quirks: Quirks | None = None) -> bytes:
    """``quirks`` defaults to the entry named after ``slug``."""
    body = build_body(req, model_id, slug)
    q = quirks if quirks is not None else _quirks.named(slug)
    if q.active:
        body = _quirks.apply(body, model_id, q, slug)
    return msgspec.json.encode(body)


def encode_passthrough(raw: dict[str, Any], model_id: str, slug: str, quirks: Quirks | None = None) -> bytes:
    """The caller's body, re-addressed: provider model id, gateway keys removed, this provider's
    ``providerOptions`` merged in, usage requested on streams so that we can account for them, and
    the server's quirks applied (``quirks`` defaults to the entry named after ``slug``)."""
    body = {k: v for k, v in raw.items() if k not in GATEWAY_KEYS}
    body["model"] = model_id
    if body.get("stream"):
        opts = body.get("stream_options")
        body["stream_options"] = {**opts, "include_usage": True} if isinstance(opts, dict) else {"include_usage": True}
    opts = raw.get("providerOptions") or raw.get("provider_options")
    if isinstance(opts, dict) and isinstance(opts.get(slug), dict):
        body.update(opts[slug])
    q = quirks if quirks is not None else _quirks.named(slug)
    if q.active:
        body = _quirks.apply(body, model_id, q, slug)
    return msgspec.json.encode(body)
