"""Fake OpenAI API: /v1/chat/completions, /v1/embeddings, /v1/models."""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import json
import math
import secrets
import string
import struct
import time
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


# ---- request helpers (public so tests can compute expected values) -------
def content_text(content: Any) -> str:
    """Text of a message ``content``: the string, or its text parts joined by a space."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    return " ".join(p.get("text", "") for p in content
                    if isinstance(p, dict) and p.get("type") in ("text", "input_text"))


def message_texts(messages: list[dict[str, Any]]) -> list[str]:
    out = []
    for m in messages:
        parts = [content_text(m.get("content"))]
        for tc in m.get("tool_calls") or []:
            fn = tc.get("function") or {}
            parts += [fn.get("name", ""), fn.get("arguments", "")]
        out.append(" ".join(p for p in parts if p))
    return out


def prompt_tokens(body: dict[str, Any]) -> int:
    """Fake prompt token count: words of each message + 1 per message."""
    return count_prompt(message_texts(body.get("messages") or []))


def last_user_text(messages: list[dict[str, Any]]) -> str:
    for m in reversed(messages):
        if m.get("role") == "user":
            return content_text(m.get("content"))
    return ""


def trailing_tool_result(messages: list[dict[str, Any]]) -> str | None:
    results = []
    for m in reversed(messages):
        if m.get("role") != "tool":
            break
        results.insert(0, content_text(m.get("content")))
    return " | ".join(results) if results else None


def embedding_vector(text: str, dims: int = 1536) -> list[float]:
    """Deterministic unit vector for ``text`` (values exactly float32-representable)."""
    ints = struct.unpack(f"<{dims}I", hashlib.shake_256(text.encode()).digest(4 * dims))
    v = [x / 2**31 - 1.0 for x in ints]
    norm = math.sqrt(sum(x * x for x in v)) or 1.0
    return list(struct.unpack(f"<{dims}f", struct.pack(f"<{dims}f", *(x / norm for x in v))))


def default_embedding_dims(model: str) -> int:
    return 3072 if "large" in model else 1536


def sse(obj: Any) -> str:
    return f"data: {json.dumps(obj, separators=(',', ':'))}\n\n"


_DEFAULT_ERRORS = {
    400: ("invalid_request_error", None, "Invalid request."),
    401: ("invalid_request_error", "invalid_api_key", "Incorrect API key provided."),
    403: ("invalid_request_error", None, "You are not allowed to sample from this model"),
    404: ("invalid_request_error", "model_not_found", None),
    500: ("server_error", None, "The server had an error while processing your request. Sorry about that!"),
    502: ("server_error", None, "Bad gateway."),
    503: ("server_error", None, "The server is overloaded or not ready yet."),
}


class OpenAIFake(FakeProvider):
    """Fake OpenAI server. ``base_url`` ends in ``/v1``.

    Extra kwargs: ``organization``, ``ratelimit_requests``, ``ratelimit_tokens``,
    ``system_fingerprint`` (plus all FakeProvider kwargs / switches).
    """

    url_suffix = "/v1"
    default_models = ["gpt-4o-mini", "gpt-4o", "text-embedding-3-small", "text-embedding-3-large"]

    def __init__(self, api_key: str | None = None, *, organization: str = "org-fake",
                 ratelimit_requests: int = 10000, ratelimit_tokens: int = 30_000_000,
                 system_fingerprint: str = "fp_fake00001", **kw: Any):
        super().__init__(api_key, **kw)
        self.organization = organization
        self.ratelimit_requests = ratelimit_requests
        self.ratelimit_tokens = ratelimit_tokens
        self.system_fingerprint = system_fingerprint
        self.tokens_used = 0

    prompt_tokens = staticmethod(prompt_tokens)

    def routes(self) -> list[Any]:
        return [
            ("POST", "/v1/chat/completions", self.chat_completions, True),
            ("POST", "/v1/embeddings", self.embeddings, True),
            ("GET", "/v1/models", self.list_models, False),
            ("GET", "/v1/models/{model}", self.get_model, False),
            ("*", "/{tail:.*}", self.not_found, False),
        ]

    # ---- errors / headers ------------------------------------------------
    def error_body(self, ex: Exchange, status: int, message: str | None, *,
                   error_type: str | None = None, code: str | None = None,
                   param: str | None = None) -> dict[str, Any]:
        d_type, d_code, d_msg = _DEFAULT_ERRORS.get(
            status, ("server_error" if status >= 500 else "invalid_request_error", None, f"Error {status}"))
        model = (ex.body or {}).get("model", "gpt-4o-mini") if isinstance(ex.body, dict) else "gpt-4o-mini"
        if status == 429:
            if code == "insufficient_quota":
                d_type, d_code = "insufficient_quota", "insufficient_quota"
                d_msg = ("You exceeded your current quota, please check your plan and billing details. "
                         "For more information on this error, read the docs: "
                         "https://platform.openai.com/docs/guides/error-codes/api-errors.")
            else:
                kind = error_type or "requests"
                d_type, d_code = kind, "rate_limit_exceeded"
                unit, limit = (("tokens per min (TPM)", self.ratelimit_tokens) if kind == "tokens"
                               else ("requests per min (RPM)", self.ratelimit_requests))
                d_msg = (f"Rate limit reached for {model} in organization {self.organization} on {unit}: "
                         f"Limit {limit}, Used {limit}, Requested 1. Please try again in 6ms. "
                         "Visit https://platform.openai.com/account/rate-limits to learn more.")
        elif status == 404 and d_msg is None:
            d_msg = f"The model `{model}` does not exist or you do not have access to it."
        return {"error": {"message": message or d_msg, "type": error_type or d_type,
                          "param": param, "code": code if code is not None else d_code}}

    async def error(self, ex: Exchange, status: int, message: str | None = None, *,
                    param: str | None = None, **kw: Any) -> web.StreamResponse:
        """Send an OpenAI error; an explicit ``code=`` (even None) overrides the default."""
        body = self.error_body(ex, status, message, error_type=kw.get("error_type"), param=param)
        if "code" in kw:
            body["error"]["code"] = kw["code"]
        return await ex.send_json(status, body)

    def response_headers(self, ex: Exchange) -> dict[str, str]:
        return {
            "x-request-id": ex.request_id,
            "openai-organization": self.organization,
            "openai-processing-ms": str(ex.elapsed_ms),
            "openai-version": "2020-10-01",
            "x-ratelimit-limit-requests": str(self.ratelimit_requests),
            "x-ratelimit-remaining-requests": str(max(0, self.ratelimit_requests - len(self.requests))),
            "x-ratelimit-reset-requests": "6ms",
            "x-ratelimit-limit-tokens": str(self.ratelimit_tokens),
            "x-ratelimit-remaining-tokens": str(max(0, self.ratelimit_tokens - self.tokens_used)),
            "x-ratelimit-reset-tokens": "0s",
        }

    def failure_headers(self, rule: FailRule) -> dict[str, str]:
        if rule.status != 429:
            return {}
        kind = "tokens" if rule.error_type == "tokens" else "requests"
        return {f"x-ratelimit-remaining-{kind}": "0"}

    async def check_auth(self, ex: Exchange) -> web.StreamResponse | None:
        if self.api_key is None:
            return None
        auth = ex.request.headers.get("Authorization", "")
        if not auth:
            return await self.error(ex, 401, "You didn't provide an API key. You need to provide your API key "
                                    "in an Authorization header using Bearer auth (i.e. Authorization: Bearer "
                                    "YOUR_KEY), or as the password field (with blank username) if you're "
                                    "accessing the API from your browser and are prompted for a username and "
                                    "password. You can obtain an API key from "
                                    "https://platform.openai.com/account/api-keys.", code=None)
        key = auth[7:].strip() if auth.lower().startswith("bearer ") else auth.strip()
        if key != self.api_key:
            masked = key[:3] + "*" * max(0, len(key) - 7) + key[-4:] if len(key) > 8 else key[:2] + "****"
            return await self.error(ex, 401, f"Incorrect API key provided: {masked}. You can find your "
                                    "API key at https://platform.openai.com/account/api-keys.")
        return None

    # ---- routes ------------------------------------------------------------
    async def not_found(self, ex: Exchange) -> web.StreamResponse:
        return await self.error(ex, 404, f"Invalid URL ({ex.request.method} {ex.request.path})", code=None)

    def _model_obj(self, m: str) -> dict[str, Any]:
        return {"id": m, "object": "model", "created": 1700000000, "owned_by": "system"}

    async def list_models(self, ex: Exchange) -> web.StreamResponse:
        return await ex.send_json(200, {"object": "list", "data": [self._model_obj(m) for m in self.models]})

    async def get_model(self, ex: Exchange) -> web.StreamResponse:
        m = ex.request.match_info["model"]
        if m not in self.models:
            return await self.error(ex, 404, f"The model '{m}' does not exist", param="model")
        return await ex.send_json(200, self._model_obj(m))

    async def _validate(self, ex: Exchange, body: Any, field: str) -> web.StreamResponse | None:
        if not isinstance(body, dict):
            return await self.error(ex, 400, "We could not parse the JSON body of your request. (HINT: This "
                                    "likely means you aren't using your HTTP library correctly. The OpenAI API "
                                    "expects a JSON payload, but what was sent was not valid JSON.")
        if not body.get("model"):
            return await self.error(ex, 400, "you must provide a model parameter")
        if field not in body or body[field] in (None, [], ""):
            return await self.error(ex, 400, f"Missing required parameter: '{field}'.", param=field,
                                    code="missing_required_parameter")
        if self.known_models_only and body["model"] not in self.models:
            return await self.error(ex, 404, param=None)
        return None

    async def embeddings(self, ex: Exchange) -> web.StreamResponse:
        body = ex.body
        if (bad := await self._validate(ex, body, "input")) is not None:
            return bad
        model, raw = body["model"], body["input"]
        if isinstance(raw, str) or (isinstance(raw, list) and raw and isinstance(raw[0], int)):
            raw = [raw]
        texts = [x if isinstance(x, str) else " ".join(map(str, x)) for x in raw]
        if any(t == "" for t in texts):
            return await self.error(ex, 400, "'$.input' is invalid. Please check the API reference: "
                                    "https://platform.openai.com/docs/api-reference.")
        dims = body.get("dimensions")
        if dims is not None and "ada-002" in model:
            return await self.error(ex, 400, "This model does not support specifying dimensions.")
        dims = int(dims or default_embedding_dims(model))
        fmt = body.get("encoding_format") or "float"
        data = []
        for i, t in enumerate(texts):
            vec: Any = embedding_vector(t, dims)
            if fmt == "base64":
                vec = base64.b64encode(struct.pack(f"<{dims}f", *vec)).decode()
            data.append({"object": "embedding", "index": i, "embedding": vec})
        n = sum(count_words(t) for t in texts)
        self.tokens_used += n
        return await ex.send_json(200, {"object": "list", "data": data, "model": model,
                                        "usage": {"prompt_tokens": n, "total_tokens": n}})

    async def chat_completions(self, ex: Exchange) -> web.StreamResponse:
        body, sw = ex.body, ex.sw
        if (bad := await self._validate(ex, body, "messages")) is not None:
            return bad
        messages = body["messages"]
        tools = body.get("tools") or []
        if tools and not sw.supports_tools:
            return await self.error(ex, 400, "Unsupported parameter: 'tools' is not supported with this model.",
                                    param="tools", code="unsupported_parameter")
        if not sw.supports_images:
            for i, m in enumerate(messages):
                for j, p in enumerate(m.get("content") if isinstance(m.get("content"), list) else []):
                    if isinstance(p, dict) and p.get("type") == "image_url":
                        return await self.error(ex, 400, "Invalid content type. image_url is only supported "
                                                "by certain models.", param=f"messages.[{i}].content.[{j}].type")
        n_prompt = prompt_tokens(body)
        if sw.context_window is not None and n_prompt > sw.context_window:
            return await self.error(
                ex, 400, f"This model's maximum context length is {sw.context_window} tokens. However, your "
                f"messages resulted in {n_prompt} tokens. Please reduce the length of the messages.",
                param="messages", code="context_length_exceeded")
        self.tokens_used += n_prompt
        names = [] if body.get("tool_choice") == "none" else [
            (t.get("function") or {}).get("name") for t in tools if t.get("type", "function") == "function"]
        reply = resolve_reply(self.next_scripted(), last_user_text(messages), trailing_tool_result(messages), names)
        reply = self._apply_limits(reply, body)
        calls = [(c, c.id or "call_" + "".join(secrets.choice(_ALNUM) for _ in range(24))) for c in reply.tool_calls]
        n_out = reply.output_tokens
        usage = merge_usage({
            "prompt_tokens": n_prompt, "completion_tokens": n_out, "total_tokens": n_prompt + n_out,
            "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
            "completion_tokens_details": {"reasoning_tokens": count_words(reply.thinking), "audio_tokens": 0,
                                          "accepted_prediction_tokens": 0, "rejected_prediction_tokens": 0},
        }, reply.usage)
        if "total_tokens" not in (reply.usage or {}):
            usage["total_tokens"] = usage["prompt_tokens"] + usage["completion_tokens"]
        head = {"id": "chatcmpl-" + "".join(secrets.choice(_ALNUM) for _ in range(29)),
                "object": "chat.completion", "created": int(time.time()), "model": reply.model or body["model"]}
        tail = {"service_tier": body.get("service_tier") if body.get("service_tier") in ("flex", "priority")
                else "default", "system_fingerprint": self.system_fingerprint}
        if body.get("stream"):
            return await self._stream(ex, body, reply, calls, usage, head, tail)
        msg: dict[str, Any] = {"role": "assistant",
                               "content": reply.text if (reply.text is not None or not calls) else None,
                               "refusal": None, "annotations": []}
        if msg["content"] is None and not calls:
            msg["content"] = ""
        if calls:
            msg["tool_calls"] = [{"id": cid, "type": "function",
                                  "function": {"name": c.name, "arguments": c.arguments_json}} for c, cid in calls]
        choice = {"index": 0, "message": msg, "logprobs": None, "finish_reason": reply.finish_reason}
        return await ex.send_json(200, {**head, "choices": [choice], "usage": usage, **tail})

    def _apply_limits(self, reply: Reply, body: dict[str, Any]) -> Reply:
        text, finish = reply.text, reply.finish_reason
        if finish is None and text:
            limit = body.get("max_completion_tokens") or body.get("max_tokens")
            stops = body.get("stop")
            stops = [stops] if isinstance(stops, str) else (stops or [])
            hits = [text.index(s) for s in stops if s and s in text]
            if hits:
                text = text[:min(hits)]
            if limit and count_words(text) > limit:
                text, finish = truncate_words(text, limit), "length"
        if finish is None:
            finish = "tool_calls" if reply.tool_calls else "stop"
        return dataclasses.replace(reply, text=text, finish_reason=finish)

    async def _stream(self, ex: Exchange, body: dict[str, Any], reply: Reply, calls: list[Any],
                      usage: dict[str, Any], head: dict[str, Any], tail: dict[str, Any]) -> web.StreamResponse:
        include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
        base = {**head, "object": "chat.completion.chunk", **tail}

        def chunk(delta: dict[str, Any], finish: str | None = None) -> str:
            obj = {**base, "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}]}
            if include_usage:
                obj["usage"] = None
            return sse(obj)

        await ex.start_stream()
        await ex.send_event(chunk({"role": "assistant", "content": "", "refusal": None}))
        for piece in split_words(reply.text or "", ex.sw.chunk_words):
            await ex.send_event(chunk({"content": piece}))
        for i, (c, cid) in enumerate(calls):
            await ex.send_event(chunk({"tool_calls": [{"index": i, "id": cid, "type": "function",
                                                       "function": {"name": c.name, "arguments": ""}}]}))
            for frag in split_chars(c.arguments_json, ex.sw.args_fragment_chars):
                await ex.send_event(chunk({"tool_calls": [{"index": i, "function": {"arguments": frag}}]}))
        await ex.send_event(chunk({}, reply.finish_reason))
        if include_usage:
            await ex.send_event(sse({**base, "choices": [], "usage": usage}))
        await ex.send_event("data: [DONE]\n\n")
        return await ex.end_stream()
