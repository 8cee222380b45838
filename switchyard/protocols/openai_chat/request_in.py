"""A caller's Chat Completions request: validate it, read the routing facts, translate to canonical.

Validation checks types of every field we read and names the offending field (``messages[2].role``)
in the error. Fields we do not know are left alone: on the pass-through path they reach an
OpenAI-compatible provider untouched.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

import msgspec

from switchyard.canonical import (
    ChatRequest,
    ImagePart,
    Message,
    Part,
    ResponseFormat,
    TextPart,
    Tool,
    ToolCallPart,
    ToolChoice,
    ToolResultPart,
)
from switchyard.errors import ErrorCategory, RequestError
from switchyard.gateway.inbound import Inbound
from switchyard.routing.plan import RouteRequest

ROLES = frozenset({"system", "developer", "user", "assistant", "tool", "function"})
# Body keys that steer the gateway and are never forwarded to a provider.
GATEWAY_KEYS = ("models", "providerOptions", "provider_options", "provider")


def _bad(message: str, param: str) -> RequestError:
    return RequestError(message, param=param)


def _type_name(value: Any) -> str:
    return {dict: "object", list: "array", str: "string", bool: "boolean", int: "integer",
            float: "number", type(None): "null"}.get(type(value), type(value).__name__)


def _expect(body: dict[str, Any], key: str, types: type | tuple[type, ...], what: str) -> Any:
    value = body.get(key)
    if value is None:
        return None
    # bool is an int subclass: never accept true where a number is expected.
    if not isinstance(value, types) or (isinstance(value, bool) and bool not in
                                        (types if isinstance(types, tuple) else (types,))):
        raise _bad(f"Invalid type for '{key}': expected {what}, but got {_type_name(value)}.", key)
    return value


def decode_body(body: bytes) -> dict[str, Any]:
    try:
        data = msgspec.json.decode(body)
    except msgspec.DecodeError as e:
        raise RequestError(f"The request body is not valid JSON: {e}") from None
    if not isinstance(data, dict):
        raise RequestError("The request body must be a JSON object.")
    return data


def _gateway_options(body: dict[str, Any]) -> dict[str, Any]:
    opts = body.get("providerOptions")
    if opts is None:
        opts = body.get("provider_options")
    gateway: dict[str, Any] = {}
    if opts is not None:
        if not isinstance(opts, dict):
            raise _bad("Invalid type for 'providerOptions': expected an object.", "providerOptions")
        g = opts.get("gateway")
        if g is not None and not isinstance(g, dict):
            raise _bad("Invalid type for 'providerOptions.gateway': expected an object.",
                       "providerOptions.gateway")
        gateway = g or {}
    # OpenRouter's spelling, for callers coming from there.
    legacy = body.get("provider")
    if isinstance(legacy, dict):
        gateway = {**{k: legacy[k] for k in ("order", "only") if k in legacy}, **gateway}
    return gateway


def _str_list(value: Any, param: str) -> list[str] | None:
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise _bad(f"Invalid type for '{param}': expected an array of strings.", param)
    return value


def _scan_messages(messages: list[Any]) -> tuple[int, bool]:
    """Check each message's shape; return (characters of text, whether any image is present)."""
    chars = 0
    images = False
    for i, m in enumerate(messages):
        if not isinstance(m, dict):
            raise _bad(f"Invalid type for 'messages[{i}]': expected an object.", f"messages[{i}]")
        role = m.get("role")
        if role not in ROLES:
            raise _bad(f"Invalid value for 'messages[{i}].role': {role!r} is not one of "
                       f"system, developer, user, assistant, tool.", f"messages[{i}].role")
        content = m.get("content")
        if type(content) is str:
            chars += len(content)
        elif type(content) is list:
            for j, part in enumerate(content):
                if not isinstance(part, dict) or not isinstance(part.get("type"), str):
                    raise _bad(f"Invalid content part at 'messages[{i}].content[{j}]': expected an object "
                               f"with a 'type'.", f"messages[{i}].content[{j}]")
                ptype = part["type"]
                if ptype == "text":
                    text = part.get("text")
                    if not isinstance(text, str):
                        raise _bad(f"Invalid type for 'messages[{i}].content[{j}].text': expected a string.",
                                   f"messages[{i}].content[{j}].text")
                    chars += len(text)
                elif ptype == "image_url":
                    images = True
        elif content is not None:
            raise _bad(f"Invalid type for 'messages[{i}].content': expected a string or an array of "
                       f"content parts, but got {_type_name(content)}.", f"messages[{i}].content")
        elif role != "assistant":
            raise _bad(f"Missing 'messages[{i}].content'.", f"messages[{i}].content")
        tool_calls = m.get("tool_calls")
        if tool_calls is not None:
            if not isinstance(tool_calls, list):
                raise _bad(f"Invalid type for 'messages[{i}].tool_calls': expected an array.",
                           f"messages[{i}].tool_calls")
            for tc in tool_calls:
                if isinstance(tc, dict) and isinstance(tc.get("function"), dict):
                    chars += len(str(tc["function"].get("arguments") or ""))
    return chars, images


def parse_request(body: bytes) -> Inbound:
    data = decode_body(body)
    model = data.get("model")
    if not isinstance(model, str) or not model:
        raise _bad("You must provide a model parameter ('model': a string such as 'openai/gpt-4o').", "model")
    messages = data.get("messages")
    if not isinstance(messages, list) or not messages:
        raise _bad("'messages' must be a non-empty array.", "messages")
    chars, images = _scan_messages(messages)

    stream = bool(_expect(data, "stream", bool, "a boolean"))
    stream_options = _expect(data, "stream_options", dict, "an object") or {}
    wants_usage = stream and bool(stream_options.get("include_usage"))
    max_key = "max_completion_tokens"
    max_tokens = _expect(data, max_key, int, "an integer")
    if max_tokens is None:
        max_key = "max_tokens"
        max_tokens = _expect(data, max_key, int, "an integer")
    if max_tokens is not None and max_tokens < 1:
        raise _bad(f"'{max_key}' must be at least 1.", max_key)
    for key in ("temperature", "top_p", "presence_penalty", "frequency_penalty"):
        _expect(data, key, (int, float), "a number")
    _expect(data, "seed", int, "an integer")
    _expect(data, "user", str, "a string")
    _expect(data, "parallel_tool_calls", bool, "a boolean")
    stop = data.get("stop")
    if stop is not None and not isinstance(stop, str):
        _str_list(stop, "stop")
    n = _expect(data, "n", int, "an integer")
    if n is not None and n != 1:
        raise _bad("Only n=1 is supported.", "n")

    needs: set[str] = set()
    tools = _expect(data, "tools", list, "an array")
    if tools:
        for i, t in enumerate(tools):
            fn = t.get("function") if isinstance(t, dict) else None
            if not isinstance(fn, dict) or not isinstance(fn.get("name"), str):
                raise _bad(f"Invalid tool at 'tools[{i}]': expected {{'type': 'function', 'function': "
                           f"{{'name': ...}}}}.", f"tools[{i}]")
            chars += len(fn["name"]) + len(str(fn.get("description") or "")) + 40
        if data.get("tool_choice") != "none":
            needs.add("tools")
    if images:
        needs.add("vision")
    response_format = _expect(data, "response_format", dict, "an object")
    if response_format is not None:
        rtype = response_format.get("type")
        if rtype not in ("text", "json_object", "json_schema"):
            raise _bad("Invalid value for 'response_format.type': expected 'text', 'json_object' or "
                       "'json_schema'.", "response_format.type")
        if rtype == "json_schema" and not isinstance(response_format.get("json_schema"), dict):
            raise _bad("'response_format.json_schema' is required with type 'json_schema'.",
                       "response_format.json_schema")
        if rtype != "text":
            needs.add("json")

    gateway = _gateway_options(data)
    fallbacks = _str_list(data.get("models"), "models")
    if fallbacks is None:
        fallbacks = _str_list(gateway.get("models"), "providerOptions.gateway.models")
    route = RouteRequest(
        model=model,
        fallbacks=tuple(m for m in fallbacks or () if m != model),
        order=_str_list(gateway.get("order"), "providerOptions.gateway.order"),
        only=_str_list(gateway.get("only"), "providerOptions.gateway.only"),
        needs=frozenset(needs),
        est_input_tokens=chars // 4,
        max_tokens=max_tokens,
    )
    user = gateway.get("user") if isinstance(gateway.get("user"), str) else data.get("user")
    tags = _str_list(gateway.get("tags"), "providerOptions.gateway.tags")
    return Inbound(route, stream, data, to_canonical, wants_usage=wants_usage,
                   user=user if isinstance(user, str) else None, tags=tags)


# ---- translation to the canonical model (only when the provider speaks another protocol) ----

def _image(part: dict[str, Any], param: str) -> ImagePart:
    spec = part.get("image_url")
    url = spec.get("url") if isinstance(spec, dict) else spec
    if not isinstance(url, str) or not url:
        raise _bad(f"'{param}.image_url.url' must be a string.", f"{param}.image_url.url")
    detail = spec.get("detail") if isinstance(spec, dict) else None
    if url.startswith("data:"):
        header, sep, payload = url.partition(",")
        if not sep or ";base64" not in header:
            raise _bad(f"'{param}.image_url.url' must be a base64 data URL or an http(s) URL.",
                       f"{param}.image_url.url")
        try:
            base64.b64decode(payload[:64] + "=" * (-len(payload[:64]) % 4), validate=True)
        except (binascii.Error, ValueError):
            raise _bad(f"'{param}.image_url.url' holds invalid base64 data.", f"{param}.image_url.url") from None
        return ImagePart(data=payload, media_type=header[5:].split(";", 1)[0] or "image/png", detail=detail)
    if not url.startswith(("https://", "http://")):
        raise _bad(f"'{param}.image_url.url' must be a base64 data URL or an http(s) URL.",
                   f"{param}.image_url.url")
    return ImagePart(url=url, detail=detail)


def _parts(content: Any, param: str, allow_images: bool = True) -> list[Part]:
    if content is None:
        return []
    if isinstance(content, str):
        return [TextPart(content)] if content else []
    parts: list[Part] = []
    for j, p in enumerate(content):
        ptype = p["type"]
        where = f"{param}[{j}]"
        if ptype == "text":
            parts.append(TextPart(p["text"], cache_control=p.get("cache_control")))
        elif ptype == "image_url" and allow_images:
            parts.append(_image(p, where))
        elif ptype == "refusal":
            parts.append(TextPart(str(p.get("refusal") or "")))
        else:
            raise RequestError(f"Content part type '{ptype}' at '{where}' cannot be translated for this "
                               f"model's provider.", param=where, category=ErrorCategory.UNSUPPORTED)
    return parts


def _message(m: dict[str, Any], i: int) -> Message:
    role = m["role"]
    param = f"messages[{i}].content"
    if role in ("system", "developer"):
        return Message("system", _parts(m.get("content"), param, allow_images=False))
    if role == "user":
        return Message("user", _parts(m.get("content"), param), name=m.get("name"))
    if role == "assistant":
        content = _parts(m.get("content"), param, allow_images=False)
        for k, tc in enumerate(m.get("tool_calls") or ()):
            fn = tc.get("function") if isinstance(tc, dict) else None
            if not isinstance(fn, dict) or not isinstance(tc.get("id"), str) or not isinstance(fn.get("name"), str):
                raise _bad(f"Invalid tool call at 'messages[{i}].tool_calls[{k}]': expected id and "
                           f"function.name.", f"messages[{i}].tool_calls[{k}]")
            args = fn.get("arguments")
            content.append(ToolCallPart(tc["id"], fn["name"], args if isinstance(args, str) else "{}"))
        return Message("assistant", content)
    # tool (and the deprecated function role, whose name stands in for the call id)
    call_id = m.get("tool_call_id") or m.get("name")
    if not isinstance(call_id, str):
        raise _bad(f"'messages[{i}].tool_call_id' is required for tool messages.", f"messages[{i}].tool_call_id")
    result = [p for p in _parts(m.get("content"), param) if isinstance(p, (TextPart, ImagePart))]
    return Message("tool", [ToolResultPart(call_id, result)])


def _tool_choice(value: Any) -> ToolChoice | None:
    if value is None:
        return None
    if value in ("auto", "none", "required"):
        return ToolChoice(value)
    if isinstance(value, dict) and isinstance(value.get("function"), dict) \
            and isinstance(value["function"].get("name"), str):
        return ToolChoice("tool", value["function"]["name"])
    raise _bad("Invalid value for 'tool_choice'.", "tool_choice")


def _response_format(value: dict[str, Any] | None) -> ResponseFormat | None:
    if value is None:
        return None
    if value["type"] == "json_schema":
        js = value["json_schema"]
        return ResponseFormat("json_schema", schema=js.get("schema"), name=js.get("name"),
                              description=js.get("description"), strict=js.get("strict"))
    return ResponseFormat(value["type"])


def to_canonical(data: dict[str, Any]) -> ChatRequest:
    stop = data.get("stop")
    opts = data.get("providerOptions") or data.get("provider_options") or {}
    return ChatRequest(
        model=data["model"],
        messages=[_message(m, i) for i, m in enumerate(data["messages"])],
        stream=bool(data.get("stream")),
        include_usage=bool((data.get("stream_options") or {}).get("include_usage")),
        max_tokens=data.get("max_completion_tokens") or data.get("max_tokens"),
        temperature=data.get("temperature"),
        top_p=data.get("top_p"),
        stop=[stop] if isinstance(stop, str) else stop,
        seed=data.get("seed"),
        presence_penalty=data.get("presence_penalty"),
        frequency_penalty=data.get("frequency_penalty"),
        user=data.get("user"),
        tools=[Tool(t["function"]["name"], t["function"].get("parameters") or {"type": "object", "properties": {}},
                    t["function"].get("description"), t["function"].get("strict"))
               for t in data.get("tools") or ()] or None,
        tool_choice=_tool_choice(data.get("tool_choice")),
        parallel_tool_calls=data.get("parallel_tool_calls"),
        response_format=_response_format(data.get("response_format")),
        reasoning_effort=data.get("reasoning_effort"),
        provider_options={k: v for k, v in opts.items() if k != "gateway" and isinstance(v, dict)},
    )
