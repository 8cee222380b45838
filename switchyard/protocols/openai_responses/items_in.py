"""Responses ``instructions`` + ``input`` -> canonical messages, validated as they are read.

``input`` is a string (one user message) or a list of items. Items without a ``type`` but with a
``role`` are messages. Consecutive assistant-side items (assistant messages, ``reasoning``,
``function_call``, ``custom_tool_call``) form one assistant turn, and consecutive tool outputs one
tool turn: Chat-Completions-shaped providers need every call of a turn answered right after it.

Reasoning items round-trip: the gateway renders a provider's signed thinking (Anthropic) with its
signature in ``encrypted_content`` (prefix ``swy1:``), and turns it back into signed reasoning here.
Other providers' ``encrypted_content`` cannot be read by anyone else and is ignored.

Items recording OpenAI's hosted tools (``web_search_call``, ``local_shell_call``, ...) never come from
a gateway answer (those tools are not offered) and are dropped. ``item_reference`` points at stored
items, which the gateway does not keep: 400.
"""

from __future__ import annotations

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
from switchyard.protocols.openai_responses.tools_in import ToolMap

ENCRYPTED_PREFIX = "swy1:"
_ROLES = {"user": "user", "assistant": "assistant", "system": "system", "developer": "system"}
_TEXT_PARTS = ("input_text", "output_text", "text", "summary_text", "reasoning_text")
_HOSTED_ITEMS = frozenset({
    "web_search_call", "file_search_call", "computer_call", "computer_call_output", "local_shell_call",
    "local_shell_call_output", "shell_call", "shell_call_output", "apply_patch_call", "apply_patch_call_output",
    "mcp_list_tools", "mcp_approval_request", "mcp_approval_response", "mcp_call", "image_generation_call",
    "code_interpreter_call", "tool_search_call", "tool_search_output", "compaction", "compaction_summary",
})
_encode = msgspec.json.Encoder().encode


def _bad(message: str, param: str, category: ErrorCategory = ErrorCategory.INVALID_REQUEST) -> RequestError:
    return RequestError(message, param=param, category=category)


def _str(item: dict[str, Any], key: str, param: str) -> str:
    value = item.get(key)
    if not isinstance(value, str):
        raise _bad(f"Invalid type for '{param}.{key}': expected a string.", f"{param}.{key}")
    return value


class InputReader:
    """Reads the input once, counting characters (for routing) and noting images."""

    def __init__(self, tmap: ToolMap) -> None:
        self.tmap = tmap
        self.chars = 0
        self.images = False
        self.messages: list[Message] = []
        self._assistant: list[Part] = []
        self._results: list[Part] = []

    # ---- turns ----

    def _flush(self) -> None:
        if self._assistant:
            self.messages.append(Message("assistant", self._assistant))
            self._assistant = []
        if self._results:
            self.messages.append(Message("tool", self._results))
            self._results = []

    def _to_assistant(self, parts: list[Part]) -> None:
        if self._results:
            self._flush()
        self._assistant.extend(parts)

    def _to_results(self, part: ToolResultPart) -> None:
        if self._assistant:
            self._flush()
        self._results.append(part)

    # ---- content ----

    def _image(self, part: dict[str, Any], param: str) -> ImagePart:
        if part.get("file_id") is not None and part.get("image_url") is None:
            raise _bad(f"'{param}.file_id': images by file id need OpenAI's file storage, which the gateway does "
                       f"not have; send 'image_url' (an http(s) or base64 data URL).", f"{param}.file_id",
                       ErrorCategory.UNSUPPORTED)
        url = part.get("image_url")
        if isinstance(url, dict):  # the Chat Completions spelling, sent by some clients
            url = url.get("url")
        if not isinstance(url, str) or not url.startswith(("https://", "http://", "data:")):
            raise _bad(f"'{param}.image_url' must be an http(s) URL or a base64 data URL.", f"{param}.image_url")
        detail = part.get("detail") if isinstance(part.get("detail"), str) else None
        self.images = True
        if url.startswith("data:"):
            header, sep, payload = url.partition(",")
            if not sep or ";base64" not in header:
                raise _bad(f"'{param}.image_url' must be a base64 data URL.", f"{param}.image_url")
            return ImagePart(data=payload, media_type=header[5:].split(";", 1)[0] or "image/png", detail=detail)
        return ImagePart(url=url, detail=None if detail == "auto" else detail)

    def content(self, content: Any, param: str, images: bool = True) -> list[Any]:
        if isinstance(content, str):
            self.chars += len(content)
            return [TextPart(content)] if content else []
        if not isinstance(content, list):
            raise _bad(f"Invalid type for '{param}': expected a string or an array of content parts.", param)
        parts: list[Any] = []
        for j, part in enumerate(content):
            where = f"{param}[{j}]"
            ptype = part.get("type") if isinstance(part, dict) else None
            if ptype in _TEXT_PARTS:
                text = _str(part, "text", where)
                self.chars += len(text)
                parts.append(TextPart(text))
            elif ptype == "refusal":
                parts.append(TextPart(_str(part, "refusal", where)))
            elif ptype == "input_image" and images:
                parts.append(self._image(part, where))
            elif ptype in ("input_file", "input_audio", "input_image"):
                raise _bad(f"Content part type '{ptype}' at '{where}' is not supported here.", f"{where}.type",
                           ErrorCategory.UNSUPPORTED)
            else:
                raise _bad(f"Invalid content part at '{where}': 'type' must be one of input_text, output_text, "
                           f"refusal, input_image.", f"{where}.type")
        return parts

    # ---- items ----

    def instructions(self, text: Any) -> None:
        if text is None:
            return
        if not isinstance(text, str):
            raise _bad("Invalid type for 'instructions': expected a string.", "instructions")
        if text:
            self.chars += len(text)
            self.messages.append(Message("system", [TextPart(text)]))

    def read(self, data: Any) -> list[Message]:
        if isinstance(data, str):
            self.chars += len(data)
            self.messages.append(Message("user", [TextPart(data)]))
            return self.messages
        if not isinstance(data, list) or not data:
            raise _bad("'input' must be a string or a non-empty array of input items.", "input")
        for i, item in enumerate(data):
            param = f"input[{i}]"
            if not isinstance(item, dict):
                raise _bad(f"Invalid type for '{param}': expected an object.", param)
            itype = item.get("type")
            if itype is None and "role" in item:
                itype = "message"
            handler = _HANDLERS.get(itype)  # type: ignore[arg-type]
            if handler is not None:
                handler(self, item, param)
            elif itype in _HOSTED_ITEMS:
                continue
            elif itype == "item_reference":
                raise _bad(f"'{param}': item references need stored responses, which the gateway does not keep; "
                           f"send the items themselves.", param, ErrorCategory.UNSUPPORTED)
            else:
                raise _bad(f"Invalid value for '{param}.type': {itype!r} is not a supported input item type.",
                           f"{param}.type")
        self._flush()
        return self.messages

    def _message(self, item: dict[str, Any], param: str) -> None:
        role = _ROLES.get(item.get("role"))  # type: ignore[arg-type]
        if role is None:
            raise _bad(f"Invalid value for '{param}.role': {item.get('role')!r} is not one of user, assistant, "
                       f"system, developer.", f"{param}.role")
        if "content" not in item:
            raise _bad(f"Missing '{param}.content'.", f"{param}.content")
        parts = self.content(item["content"], f"{param}.content", images=role == "user")
        if role == "assistant":
            self._to_assistant(parts)
            return
        self._flush()
        self.messages.append(Message(role, parts))  # type: ignore[arg-type]

    def _function_call(self, item: dict[str, Any], param: str) -> None:
        call_id, name, args = _str(item, "call_id", param), _str(item, "name", param), _str(item, "arguments", param)
        ns = item.get("namespace") if isinstance(item.get("namespace"), str) else None
        self.chars += len(name) + len(args)
        self._to_assistant([ToolCallPart(call_id, ToolMap.canonical(name, ns), args)])

    def _custom_call(self, item: dict[str, Any], param: str) -> None:
        call_id, name, text = _str(item, "call_id", param), _str(item, "name", param), _str(item, "input", param)
        ns = item.get("namespace") if isinstance(item.get("namespace"), str) else None
        self.chars += len(name) + len(text)
        args = _encode({"input": text}).decode()
        self._to_assistant([ToolCallPart(call_id, ToolMap.canonical(name, ns), args)])

    def _call_output(self, item: dict[str, Any], param: str) -> None:
        call_id = _str(item, "call_id", param)
        output = item.get("output")
        if output is None:
            raise _bad(f"Missing '{param}.output'.", f"{param}.output")
        if not isinstance(output, (str, list)):
            output = _encode(output).decode()  # lenient: a JSON value as its text
        parts = self.content(output, f"{param}.output")
        self._to_results(ToolResultPart(call_id, parts))

    def _reasoning(self, item: dict[str, Any], param: str) -> None:
        texts: list[str] = []
        for key in ("summary", "content"):
            value = item.get(key)
            if isinstance(value, list):
                texts += [p["text"] for p in value if isinstance(p, dict) and isinstance(p.get("text"), str)]
            elif value is not None:
                raise _bad(f"Invalid type for '{param}.{key}': expected an array.", f"{param}.{key}")
        text = "\n\n".join(texts)
        signature = redacted = None
        enc = item.get("encrypted_content")
        if isinstance(enc, str) and enc.startswith(ENCRYPTED_PREFIX):
            kind, _, value = enc[len(ENCRYPTED_PREFIX):].partition(":")
            if kind == "sig":
                signature = value
            elif kind == "red":
                redacted = value
        if text or signature or redacted:
            self.chars += len(text)
            self._to_assistant([ReasoningPart(text, signature=signature, redacted=redacted)])


_HANDLERS = {
    "message": InputReader._message,
    "function_call": InputReader._function_call,
    "custom_tool_call": InputReader._custom_call,
    "function_call_output": InputReader._call_output,
    "custom_tool_call_output": InputReader._call_output,
    "reasoning": InputReader._reasoning,
}


def encrypted_reasoning(signature: str | None, redacted: str | None) -> str | None:
    """The ``encrypted_content`` of a reasoning item carrying a provider's signature or redacted data."""
    if redacted is not None:
        return f"{ENCRYPTED_PREFIX}red:{redacted}"
    if signature:
        return f"{ENCRYPTED_PREFIX}sig:{signature}"
    return None
