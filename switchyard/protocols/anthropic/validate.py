"""Validation of a caller's Messages body, shared by ``/v1/messages`` and ``count_tokens``.

Errors name the field the way Anthropic does (``messages.1.content.0.source.data: Field required``)
and are ``invalid_request_error`` 400s. Block types we do not know (documents, server tool blocks,
future types) are left for Anthropic to judge. The scan also measures the prompt for routing.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import msgspec

from switchyard.errors import RequestError

_decode = msgspec.json.Decoder().decode


def bad(param: str, message: str) -> RequestError:
    return RequestError(f"{param}: {message}", param=param)


def _type_name(value: Any) -> str:
    return {dict: "an object", list: "an array", str: "a string", bool: "a boolean", int: "an integer",
            float: "a number", type(None): "null"}.get(type(value), type(value).__name__)


def check(data: Mapping[str, Any], key: str, types: type | tuple[type, ...], what: str,
           where: str | None = None) -> Any:
    value = data.get(key)
    if value is None:
        return None
    allowed = types if isinstance(types, tuple) else (types,)
    if not isinstance(value, allowed) or (isinstance(value, bool) and bool not in allowed):
        raise bad(where or key, f"Input should be {what}, not {_type_name(value)}")
    return value


def decode_body(body: bytes) -> dict[str, Any]:
    try:
        data = _decode(body)
    except msgspec.DecodeError as e:
        raise RequestError(f"There was an issue with your request body: invalid JSON ({e})") from None
    if not isinstance(data, dict):
        raise RequestError("There was an issue with your request body: expected a JSON object")
    return data


class Scan:
    """What a pass over the prompt learns: characters of text, images, and whether any block needs
    a capability."""

    __slots__ = ("chars", "images")

    def __init__(self) -> None:
        self.chars = 0
        self.images = 0

    @property
    def tokens(self) -> int:
        return self.chars // 4


def _json_len(value: Any) -> int:
    try:
        return len(msgspec.json.encode(value))
    except (TypeError, msgspec.EncodeError):
        return 0


def _block(b: Any, where: str, scan: Scan, nested: bool = False) -> None:
    if not isinstance(b, dict) or not isinstance(b.get("type"), str):
        raise bad(where, "Input should be an object with a 'type'")
    kind = b["type"]
    if kind == "text":
        text = b.get("text")
        if not isinstance(text, str):
            raise bad(f"{where}.text", "Field required" if text is None else "Input should be a valid string")
        scan.chars += len(text)
    elif kind == "image":
        source = b.get("source")
        if not isinstance(source, dict):
            raise bad(f"{where}.source", "Field required")
        stype = source.get("type")
        if stype == "base64":
            for key in ("media_type", "data"):
                if not isinstance(source.get(key), str) or not source[key]:
                    raise bad(f"{where}.source.{key}", "Field required")
        elif stype == "url":
            if not isinstance(source.get("url"), str) or not source["url"]:
                raise bad(f"{where}.source.url", "Field required")
        elif stype != "file":
            raise bad(f"{where}.source.type", "Input should be 'base64', 'url' or 'file'")
        scan.images += 1
    elif nested:
        return  # tool_result content: other types (search results, documents) are Anthropic's to judge
    elif kind == "tool_use":
        for key in ("id", "name"):
            if not isinstance(b.get(key), str):
                raise bad(f"{where}.{key}", "Field required")
        if not isinstance(b.get("input"), dict):
            raise bad(f"{where}.input", "Input should be an object")
        scan.chars += len(b["name"]) + _json_len(b["input"])
    elif kind == "tool_result":
        if not isinstance(b.get("tool_use_id"), str):
            raise bad(f"{where}.tool_use_id", "Field required")
        check(b, "is_error", bool, "a valid boolean", f"{where}.is_error")
        content = b.get("content")
        if isinstance(content, str):
            scan.chars += len(content)
        elif isinstance(content, list):
            for k, c in enumerate(content):
                _block(c, f"{where}.content.{k}", scan, nested=True)
        elif content is not None:
            raise bad(f"{where}.content", "Input should be a string or an array of content blocks")
    elif kind == "thinking":
        if not isinstance(b.get("thinking"), str):
            raise bad(f"{where}.thinking", "Field required")
        check(b, "signature", str, "a valid string", f"{where}.signature")
    elif kind == "redacted_thinking":
        if not isinstance(b.get("data"), str):
            raise bad(f"{where}.data", "Field required")
    # document, search_result, server tool blocks and future types: passed through unread.


def scan_messages(messages: Any, scan: Scan) -> None:
    if not isinstance(messages, list) or not messages:
        raise bad("messages", "Field required" if messages is None else
                  "Input should be a non-empty array of messages")
    for i, m in enumerate(messages):
        where = f"messages.{i}"
        if not isinstance(m, dict):
            raise bad(where, "Input should be an object")
        if m.get("role") not in ("user", "assistant"):
            raise bad(f"{where}.role", "Input should be 'user' or 'assistant'")
        content = m.get("content")
        if isinstance(content, str):
            scan.chars += len(content)
        elif isinstance(content, list):
            for j, b in enumerate(content):
                _block(b, f"{where}.content.{j}", scan)
        else:
            raise bad(f"{where}.content", "Field required" if content is None else
                      "Input should be a string or an array of content blocks")


def scan_system(system: Any, scan: Scan) -> None:
    if system is None:
        return
    if isinstance(system, str):
        scan.chars += len(system)
        return
    if not isinstance(system, list):
        raise bad("system", "Input should be a string or an array of text blocks")
    for i, b in enumerate(system):
        if not isinstance(b, dict) or b.get("type") != "text" or not isinstance(b.get("text"), str):
            raise bad(f"system.{i}", "Input should be a text block")
        scan.chars += len(b["text"])


def scan_tools(data: Mapping[str, Any], scan: Scan) -> bool:
    """Validate ``tools`` and ``tool_choice``; True when the model may call a tool."""
    tools = check(data, "tools", list, "an array")
    choice = check(data, "tool_choice", dict, "an object")
    if choice is not None:
        ctype = choice.get("type")
        if ctype not in ("auto", "any", "tool", "none"):
            raise bad("tool_choice.type", "Input should be 'auto', 'any', 'tool' or 'none'")
        if ctype == "tool" and not isinstance(choice.get("name"), str):
            raise bad("tool_choice.name", "Field required")
        check(choice, "disable_parallel_tool_use", bool, "a valid boolean", "tool_choice.disable_parallel_tool_use")
    for i, t in enumerate(tools or ()):
        if not isinstance(t, dict) or not isinstance(t.get("name"), str):
            raise bad(f"tools.{i}.name", "Field required")
        if t.get("type") in (None, "custom") and not isinstance(t.get("input_schema"), dict):
            raise bad(f"tools.{i}.input_schema", "Field required")
        scan.chars += len(t["name"]) + len(str(t.get("description") or "")) + _json_len(t.get("input_schema"))
    return bool(tools) and (choice is None or choice.get("type") != "none")


def str_list(value: Any, param: str) -> list[str] | None:
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise bad(param, "Input should be an array of strings")
    return value


def gateway_options(data: Mapping[str, Any]) -> dict[str, Any]:
    """``providerOptions.gateway``, over OpenRouter's spelling (a top-level ``provider`` with
    ``order`` / ``only``) for callers coming from there."""
    opts = data.get("providerOptions")
    if opts is None:
        opts = data.get("provider_options")
    if opts is not None and not isinstance(opts, dict):
        raise bad("providerOptions", "Input should be an object")
    gateway = (opts or {}).get("gateway")
    if gateway is not None and not isinstance(gateway, dict):
        raise bad("providerOptions.gateway", "Input should be an object")
    legacy = data.get("provider")
    if isinstance(legacy, dict):
        return {**{k: legacy[k] for k in ("order", "only") if k in legacy}, **(gateway or {})}
    return gateway or {}
