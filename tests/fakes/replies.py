"""Provider-neutral reply model shared by the fakes: scripted replies, the
default echo/tool behaviour, deterministic token counting and chunking."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

_CALL_RE = re.compile(r"\bcall\s+([A-Za-z0-9_.-]+)(?:\s+(\{.*\}))?", re.S)


def count_words(text: str | None) -> int:
    """Whitespace-separated words: the fakes' unit of 'tokens'."""
    return len(text.split()) if text else 0


def count_prompt(texts: list[str]) -> int:
    """Prompt tokens: words of each message's text + 1 per message."""
    return sum(count_words(t) + 1 for t in texts)


def split_words(text: str, words_per_chunk: int = 1) -> list[str]:
    """Split ``text`` into pieces of ``words_per_chunk`` words each (leading
    whitespace kept with the word), so that ``"".join(pieces) == text``."""
    if not text:
        return []
    parts = re.findall(r"\s*\S+", text)
    if not parts:
        return [text]
    tail = text[len("".join(parts)):]
    parts[-1] += tail
    n = max(1, int(words_per_chunk or 1))
    return ["".join(parts[i:i + n]) for i in range(0, len(parts), n)]


def split_chars(text: str, size: int) -> list[str]:
    """Split a string into fragments of ``size`` characters (at least one
    fragment, possibly ``""``)."""
    size = max(1, int(size or 1))
    return [text[i:i + size] for i in range(0, len(text), size)] or [""]


def truncate_words(text: str, limit: int) -> str:
    return "".join(split_words(text)[:limit])


@dataclass
class ToolCall:
    """A tool call the fake model makes. ``arguments`` may be a dict (sent as
    compact JSON) or a raw string (sent verbatim, e.g. to test invalid JSON)."""

    name: str
    arguments: dict[str, Any] | str = field(default_factory=dict)
    id: str | None = None

    @property
    def arguments_json(self) -> str:
        if isinstance(self.arguments, str):
            return self.arguments
        return json.dumps(self.arguments, separators=(",", ":"))

    @property
    def input(self) -> Any:
        if isinstance(self.arguments, str):
            try:
                return json.loads(self.arguments)
            except ValueError:
                return {}
        return self.arguments


@dataclass
class Reply:
    """One model answer. Scripted via ``fake.push(...)``.

    text: answer text (``None`` -> default echo text unless tool calls given).
    tool_calls: list of ToolCall (or (name, args) tuples / dicts).
    thinking: reasoning text (Anthropic thinking block; OpenAI counts it as
      reasoning_tokens only).
    finish_reason: provider-native value ("stop"/"length"/"tool_calls" or
      "end_turn"/"max_tokens"/"tool_use"/...); default chosen automatically.
    usage: dict merged over the computed usage (nested dicts merged too).
    model: override the model name echoed back.
    """

    text: str | None = None
    tool_calls: list[ToolCall] = field(default_factory=list)
    thinking: str | None = None
    finish_reason: str | None = None
    usage: dict[str, Any] | None = None
    model: str | None = None

    def __post_init__(self) -> None:
        calls = []
        for c in self.tool_calls or []:
            if isinstance(c, ToolCall):
                calls.append(c)
            elif isinstance(c, dict):
                calls.append(ToolCall(**c))
            else:
                calls.append(ToolCall(*c))
        self.tool_calls = calls

    @property
    def output_tokens(self) -> int:
        """Words of text + thinking + each tool call's name and JSON args."""
        n = count_words(self.text) + count_words(self.thinking)
        for c in self.tool_calls:
            n += count_words(c.name) + count_words(c.arguments_json)
        return n


def default_reply(last_user_text: str, tool_result: str | None, tool_names: list[str]) -> Reply:
    """The fakes' deterministic behaviour when no scripted reply is queued."""
    if tool_result is not None:
        return Reply(text=f"tool said: {tool_result}")
    m = _CALL_RE.search(last_user_text or "")
    if m and m.group(1) in tool_names:
        args: dict[str, Any] | str = {}
        if m.group(2):
            try:
                args = json.loads(m.group(2))
            except ValueError:
                args = m.group(2)
        return Reply(tool_calls=[ToolCall(m.group(1), args)])
    return Reply(text="echo: " + (last_user_text or ""))


def resolve_reply(scripted: Reply | None, last_user_text: str, tool_result: str | None,
                  tool_names: list[str]) -> Reply:
    """Scripted reply (with echo text filled in when it has neither text nor
    tool calls), else the default reply."""
    if scripted is None:
        return default_reply(last_user_text, tool_result, tool_names)
    if scripted.text is None and not scripted.tool_calls:
        base = default_reply(last_user_text, tool_result, [])
        scripted = Reply(text=base.text, thinking=scripted.thinking,
                         finish_reason=scripted.finish_reason, usage=scripted.usage,
                         model=scripted.model)
    return scripted


def merge_usage(usage: dict[str, Any], override: dict[str, Any] | None) -> dict[str, Any]:
    for k, v in (override or {}).items():
        if isinstance(v, dict) and isinstance(usage.get(k), dict):
            usage[k] = {**usage[k], **v}
        else:
            usage[k] = v
    return usage
