"""The AI SDK prompt (``LanguageModelV{2,3,4}Prompt``) in canonical messages.

Messages: ``system`` (content is a string), ``user`` (text, file), ``assistant`` (text, file,
reasoning, tool-call; provider-executed tool calls and results, ``custom`` and ``reasoning-file`` parts
have no canonical form and are dropped) and ``tool`` (tool-result; ``tool-approval-response`` parts
are settled by the client and dropped).

File data differs by version. v2/v3: a string, either an http(s) URL or a ``data:`` URL (the client
turns bytes into one), or bare base64. v4: ``{type: 'data', data}``, ``{type: 'url', url}``,
``{type: 'text', text}`` or ``{type: 'reference'}`` (provider file ids: unsupported). Images become
ImageParts; text files (``text/*``, JSON) become text; other media are unsupported.

Anthropic prompt caching arrives as ``providerOptions.anthropic.cacheControl`` on a part (or on a
message, meaning its last part); reasoning signatures as ``providerOptions.anthropic.signature`` /
``redactedData``. Both are kept.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

import msgspec

from switchyard.canonical import (
    ImagePart,
    Message,
    Part,
    ReasoningPart,
    TextPart,
    ToolCallPart,
    ToolResultPart,
)
from switchyard.errors import ErrorCategory, RequestError

ROLES = frozenset({"system", "user", "assistant", "tool"})
_TEXT_TYPES = ("text/", "application/json", "application/xml", "application/x-yaml", "application/yaml")


def unsupported(message: str, param: str) -> RequestError:
    return RequestError(message, param=param, category=ErrorCategory.UNSUPPORTED)


def _anthropic(opts: Any) -> dict[str, Any]:
    a = opts.get("anthropic") if isinstance(opts, dict) else None
    return a if isinstance(a, dict) else {}


def _cache_control(opts: Any) -> dict[str, Any] | None:
    a = _anthropic(opts)
    cc = a.get("cacheControl", a.get("cache_control"))
    return cc if isinstance(cc, dict) else None


def _source(data: Any, media_type: str, where: str) -> tuple[str | None, str | None, str | None, str]:
    """(url, base64 data, text, media type) of a file part's ``data``."""
    if isinstance(data, dict):  # v4 SharedV4FileData
        kind = data.get("type")
        if kind == "data" and isinstance(data.get("data"), str):
            return None, data["data"], None, media_type
        if kind == "url" and isinstance(data.get("url"), str):
            return _source(data["url"], media_type, where)
        if kind == "text" and isinstance(data.get("text"), str):
            return None, None, data["text"], media_type
        raise unsupported(f"File data of type {kind!r} at '{where}' is not supported by this gateway "
                          f"(send the bytes or a URL).", where)
    if not isinstance(data, str) or not data:
        raise RequestError(f"'{where}.data' must be a string (a URL, a data: URL or base64).", param=where)
    if data.startswith(("https://", "http://")):
        return data, None, None, media_type
    if data.startswith("data:"):
        header, sep, payload = data.partition(",")
        if not sep or ";base64" not in header:
            raise RequestError(f"'{where}.data' must be a base64 data URL.", param=where)
        return None, payload, None, header[5:].split(";", 1)[0] or media_type
    return None, data, None, media_type


def _check_base64(payload: str, where: str) -> None:
    head = payload[:64]
    try:
        base64.b64decode(head + "=" * (-len(head) % 4), validate=True)
    except (binascii.Error, ValueError):
        raise RequestError(f"'{where}.data' holds invalid base64 data.", param=where) from None


def file_part(p: dict[str, Any], where: str) -> TextPart | ImagePart:
    media_type = p.get("mediaType") if isinstance(p.get("mediaType"), str) else "application/octet-stream"
    url, data, text, media_type = _source(p.get("data"), media_type, where)
    if text is not None:
        return TextPart(text, cache_control=_cache_control(p.get("providerOptions")))
    if media_type.startswith("image"):
        if data is not None:
            _check_base64(data, where)
            return ImagePart(data=data, media_type=media_type if "/" in media_type else "image/png")
        return ImagePart(url=url)
    if data is not None and media_type.startswith(_TEXT_TYPES):
        try:
            decoded = base64.b64decode(data, validate=True).decode("utf-8")
        except (binascii.Error, ValueError):
            raise RequestError(f"'{where}.data' holds invalid base64 text.", param=where) from None
        return TextPart(decoded, cache_control=_cache_control(p.get("providerOptions")))
    raise unsupported(f"Files of type '{media_type}' at '{where}' are not supported by this gateway yet "
                      f"(images and text files are).", where)


def _json_text(value: Any) -> str:
    """A JSON value as JSON text; a string is taken to be JSON text already (tool-call input)."""
    return value if isinstance(value, str) else _json(value)


def _json(value: Any) -> str:
    return msgspec.json.encode(value).decode()


def _result_content(items: Any, where: str) -> list[TextPart | ImagePart]:
    out: list[TextPart | ImagePart] = []
    for k, c in enumerate(items if isinstance(items, list) else ()):
        kind = c.get("type") if isinstance(c, dict) else None
        at = f"{where}[{k}]"
        if kind == "text":
            out.append(TextPart(str(c.get("text") or "")))
        elif kind in ("media", "file-data", "image-data", "file"):  # v2 media, v3 *-data, v4 file
            out.append(file_part(c, at))
        elif kind in ("image-url", "file-url") and isinstance(c.get("url"), str):
            media = c.get("mediaType") or ("image/*" if kind == "image-url" else "application/octet-stream")
            out.append(file_part({**c, "data": c["url"], "mediaType": media}, at))
        elif kind is not None and kind != "custom":
            raise unsupported(f"Tool result content of type {kind!r} at '{at}' is not supported.", at)
    return out


def tool_result(p: dict[str, Any], where: str) -> ToolResultPart:
    call_id = p.get("toolCallId")
    if not isinstance(call_id, str):
        raise RequestError(f"'{where}.toolCallId' must be a string.", param=f"{where}.toolCallId")
    output = p.get("output")
    kind = output.get("type") if isinstance(output, dict) else None
    value = output.get("value") if isinstance(output, dict) else None
    if kind == "text":
        return ToolResultPart(call_id, [TextPart(str(value or ""))])
    if kind == "json":
        return ToolResultPart(call_id, [TextPart(_json(value))])
    if kind == "error-text":
        return ToolResultPart(call_id, [TextPart(str(value or ""))], is_error=True)
    if kind == "error-json":
        return ToolResultPart(call_id, [TextPart(_json(value))], is_error=True)
    if kind == "content":
        return ToolResultPart(call_id, _result_content(value, f"{where}.output.value"))
    if kind == "execution-denied":
        reason = output.get("reason") if isinstance(output, dict) else None
        return ToolResultPart(call_id, [TextPart(reason or "Tool execution denied.")], is_error=True)
    if output is None and "result" in p:  # the v1 spelling, from hand-written clients
        return ToolResultPart(call_id, [TextPart(_json_text(p["result"]))], is_error=bool(p.get("isError")))
    if output is not None and not isinstance(output, dict):  # lenient: a bare value
        return ToolResultPart(call_id, [TextPart(_json_text(output))])
    raise RequestError(f"'{where}.output.type' must be one of text, json, error-text, error-json, content, "
                       f"execution-denied.", param=f"{where}.output")


def _part(p: Any, role: str, where: str) -> Part | None:
    if not isinstance(p, dict) or not isinstance(p.get("type"), str):
        raise RequestError(f"Invalid content part at '{where}': expected an object with a 'type'.", param=where)
    kind = p["type"]
    if kind == "text":
        return TextPart(str(p.get("text") or ""), cache_control=_cache_control(p.get("providerOptions")))
    if kind == "file" and role in ("user", "assistant"):
        return file_part(p, where)
    if kind == "reasoning" and role == "assistant":
        a = _anthropic(p.get("providerOptions"))
        if isinstance(a.get("redactedData"), str):
            return ReasoningPart(redacted=a["redactedData"])
        sig = a.get("signature")
        return ReasoningPart(str(p.get("text") or ""), signature=sig if isinstance(sig, str) else None)
    if kind == "tool-call" and role == "assistant":
        if p.get("providerExecuted"):
            return None
        call_id, name, args = p.get("toolCallId"), p.get("toolName"), p.get("input")
        if not isinstance(call_id, str) or not isinstance(name, str):
            raise RequestError(f"'{where}' needs a toolCallId and a toolName.", param=where)
        return ToolCallPart(call_id, name, _json_text({} if args is None else args))
    if kind == "tool-result" and role == "tool":
        return tool_result(p, where)
    if kind in ("tool-result", "tool-approval-response", "custom", "reasoning-file", "tool-approval-request"):
        return None  # provider-executed results and client-side approvals: nothing to send on
    raise unsupported(f"Content part type {kind!r} at '{where}' is not supported in a {role} message.", where)


def _with_cache(parts: list[Part], cc: dict[str, Any] | None) -> list[Part]:
    """Message-level cacheControl marks the message's last part (as @ai-sdk/anthropic does)."""
    if cc is None or not parts or type(parts[-1]) is not TextPart or parts[-1].cache_control is not None:
        return parts
    return [*parts[:-1], TextPart(parts[-1].text, cache_control=cc)]


def to_messages(prompt: list[Any]) -> list[Message]:
    out: list[Message] = []
    for i, m in enumerate(prompt):
        role = m["role"]
        content = m.get("content")
        where = f"prompt[{i}].content"
        cc = _cache_control(m.get("providerOptions"))
        if role == "system":
            text = content if isinstance(content, str) else "".join(
                str(p.get("text") or "") for p in content or () if isinstance(p, dict))
            out.append(Message("system", _with_cache([TextPart(text)], cc)))
            continue
        if isinstance(content, str):  # lenient: hand-written clients send plain strings
            content = [{"type": "text", "text": content}]
        parts = [q for j, p in enumerate(content or ()) if (q := _part(p, role, f"{where}[{j}]")) is not None]
        if parts:
            out.append(Message(role, _with_cache(parts, cc)))
    return out


def scan(prompt: Any) -> tuple[int, bool]:
    """Check the prompt's shape; return (characters of text, whether an image is present)."""
    if not isinstance(prompt, list):
        raise RequestError("'prompt' must be an array of messages.", param="prompt")
    chars, images = 0, False
    for i, m in enumerate(prompt):
        if not isinstance(m, dict) or m.get("role") not in ROLES:
            raise RequestError(f"'prompt[{i}]' must be a message with role system, user, assistant or tool.",
                               param=f"prompt[{i}].role")
        content = m.get("content")
        if isinstance(content, str):
            chars += len(content)
            continue
        if not isinstance(content, list):
            raise RequestError(f"'prompt[{i}].content' must be an array of parts.", param=f"prompt[{i}].content")
        for p in content:
            if not isinstance(p, dict):
                continue
            if isinstance(p.get("text"), str):
                chars += len(p["text"])
            elif p.get("type") == "tool-call":
                chars += len(_json_text(p.get("input")))
            elif p.get("type") == "tool-result":
                chars += len(_json_text(p.get("output")))
            elif p.get("type") == "file" and str(p.get("mediaType") or "").startswith("image"):
                images = True
    return chars, images
