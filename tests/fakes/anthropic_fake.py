"""Fake Anthropic API: /v1/messages, /v1/messages/count_tokens, /v1/models."""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import string
from datetime import datetime, timedelta, timezone
from typing import Any

from aiohttp import web

from .base import Exchange, FailRule, FakeProvider
from .replies import (
    Reply,
    count_prompt,
    count_words,
    merge_usage,
    resolve_reply,
    split_chars,
    split_words,
    truncate_words,
)

_ALNUM = string.ascii_letters + string.digits


def _rid(prefix: str) -> str:
    return prefix + "".join(secrets.choice(_ALNUM) for _ in range(24))


# ---- request helpers (public so tests can compute expected values) -------
def block_text(content: Any) -> str:
    """A string content, or the text blocks of a block list joined by a space."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    return " ".join(b.get("text", "") for b in content if isinstance(b, dict) and b.get("type") == "text")


def _turn_text(content: Any) -> str:
    if not isinstance(content, list):
        return block_text(content)
    parts = []
    for b in content:
        t = b.get("type") if isinstance(b, dict) else None
        if t == "text":
            parts.append(b.get("text", ""))
        elif t == "tool_use":
            parts += [b.get("name", ""), json.dumps(b.get("input", {}), separators=(",", ":"))]
        elif t == "tool_result":
            parts.append(block_text(b.get("content")))
        elif t == "thinking":
            parts.append(b.get("thinking", ""))
    return " ".join(p for p in parts if p)


def prompt_tokens(body: dict[str, Any]) -> int:
    """Fake input token count: words + 1 for the system prompt (if any) and each message."""
    texts = [_turn_text(body["system"])] if body.get("system") else []
    texts += [_turn_text(m.get("content")) for m in body.get("messages") or []]
    return count_prompt(texts)


def last_user_text(messages: list[dict[str, Any]]) -> str:
    for m in reversed(messages):
        if m.get("role") == "user":
            return block_text(m.get("content"))
    return ""


def trailing_tool_result(messages: list[dict[str, Any]]) -> str | None:
    if not messages or messages[-1].get("role") != "user" or not isinstance(messages[-1].get("content"), list):
        return None
    results = [block_text(b.get("content")) for b in messages[-1]["content"]
               if isinstance(b, dict) and b.get("type") == "tool_result"]
    return " | ".join(results) if results else None


def thinking_signature(thinking: str) -> str:
    return base64.b64encode(hashlib.sha256(thinking.encode()).digest() * 2).decode()


def event(name: str, obj: Any) -> str:
    return f"event: {name}\ndata: {json.dumps(obj, separators=(',', ':'))}\n\n"


_DEFAULT_ERRORS = {
    400: ("invalid_request_error", "Invalid request"),
    401: ("authentication_error", "invalid x-api-key"),
    402: ("billing_error", "Your credit balance is too low to access the Anthropic API."),
    403: ("permission_error", "Your API key does not have permission to use the specified resource."),
    404: ("not_found_error", "Not found"),
    413: ("request_too_large", "Request exceeds the maximum allowed number of bytes."),
    429: ("rate_limit_error", "Number of request tokens has exceeded your per-minute rate limit "
          "(https://docs.claude.com/en/api/rate-limits); see the response headers for current usage. "
          "Please reduce the prompt length or the maximum tokens requested, or try again later."),
    500: ("api_error", "Internal server error"),
    529: ("overloaded_error", "Overloaded"),
}


class _StreamErrorSent(Exception):
    pass


class AnthropicFake(FakeProvider):
    """Fake Anthropic server. ``base_url`` is the root (the SDK appends /v1/messages).

    Extra kwargs: ``organization_id``, ``ratelimit_requests``, ``ratelimit_tokens``,
    ``require_version`` (400 without ``anthropic-version``; default True).
    """

    url_suffix = ""
    default_models = ["claude-haiku-4-5", "claude-sonnet-4-6", "claude-opus-4-6"]

    def __init__(self, api_key: str | None = None, *, organization_id: str = "00000000-0000-4000-8000-fakeorg00001",
                 ratelimit_requests: int = 4000, ratelimit_tokens: int = 400_000,
                 require_version: bool = True, **kw: Any):
        super().__init__(api_key, **kw)
        self.organization_id = organization_id
        self.ratelimit_requests = ratelimit_requests
        self.ratelimit_tokens = ratelimit_tokens
        self.require_version = require_version
        self.tokens_used = 0

    prompt_tokens = staticmethod(prompt_tokens)

    def routes(self) -> list[Any]:
        return [
            ("POST", "/v1/messages", self.messages, True),
            ("POST", "/v1/messages/count_tokens", self.count_tokens, True),
            ("GET", "/v1/models", self.list_models, False),
            ("*", "/{tail:.*}", self.not_found, False),
        ]

    # ---- errors / headers ------------------------------------------------
    def error_body(self, ex: Exchange, status: int, message: str | None, *,
                   error_type: str | None = None, code: str | None = None,
                   param: str | None = None) -> dict[str, Any]:
        d_type, d_msg = _DEFAULT_ERRORS.get(
            status, ("api_error" if status >= 500 else "invalid_request_error", f"Error {status}"))
        return {"type": "error", "error": {"type": error_type or d_type, "message": message or d_msg},
                "request_id": ex.request_id}

    async def error(self, ex: Exchange, status: int, message: str | None = None, **kw: Any) -> web.StreamResponse:
        return await ex.send_json(status, self.error_body(ex, status, message, **kw))

    def response_headers(self, ex: Exchange) -> dict[str, str]:
        reset = (datetime.now(timezone.utc) + timedelta(seconds=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
        h = {"request-id": ex.request_id, "anthropic-organization-id": self.organization_id}
        remaining_req = max(0, self.ratelimit_requests - len(self.requests))
        remaining_tok = max(0, self.ratelimit_tokens - self.tokens_used)
        for kind, limit, remaining in (("requests", self.ratelimit_requests, remaining_req),
                                       ("tokens", self.ratelimit_tokens, remaining_tok),
                                       ("input-tokens", self.ratelimit_tokens, remaining_tok),
                                       ("output-tokens", self.ratelimit_tokens // 5, self.ratelimit_tokens // 5)):
            h[f"anthropic-ratelimit-{kind}-limit"] = str(limit)
            h[f"anthropic-ratelimit-{kind}-remaining"] = str(remaining)
            h[f"anthropic-ratelimit-{kind}-reset"] = reset
        return h

    def failure_headers(self, rule: FailRule) -> dict[str, str]:
        h = {}
        if rule.status in (429, 529):
            h["retry-after"] = "0"
        if rule.status == 429:
            h["anthropic-ratelimit-requests-remaining"] = "0"
        return h

    async def check_auth(self, ex: Exchange) -> web.StreamResponse | None:
        headers = ex.request.headers
        if self.api_key is not None:
            key = headers.get("x-api-key")
            auth = headers.get("Authorization", "")
            if key is None and auth.lower().startswith("bearer "):
                key = auth[7:].strip()
            if not key:
                return await self.error(ex, 401, "x-api-key header is required")
            if key != self.api_key:
                return await self.error(ex, 401, "invalid x-api-key")
        if self.require_version and not headers.get("anthropic-version"):
            return await self.error(ex, 400, "anthropic-version: header is required")
        return None

    # ---- routes ------------------------------------------------------------
    async def not_found(self, ex: Exchange) -> web.StreamResponse:
        return await self.error(ex, 404, "Not Found")

    async def list_models(self, ex: Exchange) -> web.StreamResponse:
        data = [{"type": "model", "id": m, "display_name": m, "created_at": "2025-01-01T00:00:00Z"}
                for m in self.models]
        return await ex.send_json(200, {"data": data, "has_more": False,
                                        "first_id": data[0]["id"] if data else None,
                                        "last_id": data[-1]["id"] if data else None})

    async def _validate(self, ex: Exchange, body: Any, need_max_tokens: bool) -> web.StreamResponse | None:
        if not isinstance(body, dict):
            return await self.error(ex, 400, "There was an issue with your request body: invalid JSON")
        for f in ("model", "messages") + (("max_tokens",) if need_max_tokens else ()):
            if f not in body:
                return await self.error(ex, 400, f"{f}: Field required")
        if not body["messages"]:
            return await self.error(ex, 400, "messages: at least one message is required")
        if self.known_models_only and body["model"] not in self.models:
            return await self.error(ex, 404, f"model: {body['model']}")
        return None

    async def count_tokens(self, ex: Exchange) -> web.StreamResponse:
        if (bad := await self._validate(ex, ex.body, False)) is not None:
            return bad
        return await ex.send_json(200, {"input_tokens": prompt_tokens(ex.body)})

    async def messages(self, ex: Exchange) -> web.StreamResponse:
        body, sw = ex.body, ex.sw
        if (bad := await self._validate(ex, body, True)) is not None:
            return bad
        messages = body["messages"]
        tools = body.get("tools") or []
        if tools and not sw.supports_tools:
            return await self.error(ex, 400, "tools: Tool use is not supported for this model.")
        if not sw.supports_images:
            for i, m in enumerate(messages):
                for j, b in enumerate(m.get("content") if isinstance(m.get("content"), list) else []):
                    if isinstance(b, dict) and b.get("type") in ("image", "document"):
                        return await self.error(ex, 400, f"messages.{i}.content.{j}.{b['type']}: "
                                                f"{b['type'].capitalize()} input is not supported for this model.")
        n_prompt = prompt_tokens(body)
        if sw.context_window is not None and n_prompt > sw.context_window:
            return await self.error(ex, 400, f"prompt is too long: {n_prompt} tokens > {sw.context_window} maximum")
        self.tokens_used += n_prompt
        tool_choice = body.get("tool_choice") or {}
        names = [] if tool_choice.get("type") == "none" else [t.get("name") for t in tools]
        user_text = last_user_text(messages)
        reply = resolve_reply(self.next_scripted(), user_text, trailing_tool_result(messages), names)
        thinking = reply.thinking
        if thinking is None and (body.get("thinking") or {}).get("type") in ("enabled", "adaptive"):
            thinking = "Thinking about: " + user_text
        text, stop_reason, stop_seq = reply.text, reply.finish_reason, None
        if stop_reason is None and text:
            hits = sorted((text.index(s), s) for s in body.get("stop_sequences") or [] if s and s in text)
            if hits:
                text, stop_reason, stop_seq = text[:hits[0][0]], "stop_sequence", hits[0][1]
            elif count_words(text) > body["max_tokens"]:
                text, stop_reason = truncate_words(text, body["max_tokens"]), "max_tokens"
        stop_reason = stop_reason or ("tool_use" if reply.tool_calls else "end_turn")
        blocks: list[dict[str, Any]] = []
        if thinking is not None:
            blocks.append({"type": "thinking", "thinking": thinking, "signature": thinking_signature(thinking)})
        if text or not reply.tool_calls:
            blocks.append({"type": "text", "text": text or ""})
        raw_args = {}
        for c in reply.tool_calls:
            bid = c.id or _rid("toolu_01")
            raw_args[bid] = c.arguments_json
            blocks.append({"type": "tool_use", "id": bid, "name": c.name, "input": c.input})
        n_out = Reply(text=text, thinking=thinking, tool_calls=reply.tool_calls).output_tokens
        usage = merge_usage({"input_tokens": n_prompt, "cache_creation_input_tokens": 0,
                             "cache_read_input_tokens": 0, "output_tokens": n_out,
                             "service_tier": "standard"}, reply.usage)
        msg = {"id": _rid("msg_01"), "type": "message", "role": "assistant",
               "model": reply.model or body["model"], "content": blocks, "stop_reason": stop_reason,
               "stop_sequence": stop_seq, "usage": usage}
        if not body.get("stream"):
            return await ex.send_json(200, msg)
        try:
            await self._stream(ex, msg, raw_args)
        except _StreamErrorSent:
            pass
        return await ex.end_stream()

    async def _stream(self, ex: Exchange, msg: dict[str, Any], raw_args: dict[str, str]) -> None:
        err_after = ex.sw.stream_error_after

        async def emit(name: str, obj: Any) -> None:
            if err_after is not None and ex.events_sent >= err_after:
                await ex.send_event(event("error", {"type": "error", "error": {
                    "type": "overloaded_error", "message": "Overloaded"}, "request_id": ex.request_id}))
                raise _StreamErrorSent()
            await ex.send_event(event(name, obj))

        usage = msg["usage"]
        start_usage = {**usage, "output_tokens": 1}
        await ex.start_stream()
        await emit("message_start", {"type": "message_start", "message": {
            **msg, "content": [], "stop_reason": None, "stop_sequence": None, "usage": start_usage}})
        for i, block in enumerate(msg["content"]):
            kind = block["type"]
            empty = {"thinking": {"type": "thinking", "thinking": "", "signature": ""},
                     "text": {"type": "text", "text": ""},
                     "tool_use": {"type": "tool_use", "id": block.get("id"), "name": block.get("name"), "input": {}},
                     }[kind]
            await emit("content_block_start", {"type": "content_block_start", "index": i, "content_block": empty})
            if i == 0:
                await emit("ping", {"type": "ping"})
            if kind == "thinking":
                deltas = [{"type": "thinking_delta", "thinking": p}
                          for p in split_words(block["thinking"], ex.sw.chunk_words)]
                deltas.append({"type": "signature_delta", "signature": block["signature"]})
            elif kind == "text":
                deltas = [{"type": "text_delta", "text": p} for p in split_words(block["text"], ex.sw.chunk_words)]
            else:
                deltas = [{"type": "input_json_delta", "partial_json": f}
                          for f in split_chars(raw_args[block["id"]], ex.sw.args_fragment_chars)]
            for d in deltas:
                await emit("content_block_delta", {"type": "content_block_delta", "index": i, "delta": d})
            await emit("content_block_stop", {"type": "content_block_stop", "index": i})
        await emit("message_delta", {"type": "message_delta", "delta": {
            "stop_reason": msg["stop_reason"], "stop_sequence": msg["stop_sequence"]},
            "usage": {"output_tokens": usage["output_tokens"]}})
        await emit("message_stop", {"type": "message_stop"})
