"""Fake Gemini API (Google AI Studio): ``POST /v1beta/models/{model}:generateContent`` (or ``/v1/``),
``:streamGenerateContent`` (``?alt=sse``, or a JSON array without it), ``:batchEmbedContents`` and
``GET /v1beta/models``.

Auth as Google does it: the key in ``x-goog-api-key`` (a missing key is 403 PERMISSION_DENIED, a
wrong one 400 INVALID_ARGUMENT with reason API_KEY_INVALID). A ``?key=`` query parameter is refused
outright, so a test fails if anything puts the key in a URL. Errors carry Google's body
``{"error": {"code", "message", "status", "details"}}``; a 429 from ``fail(429, retry_after=N)``
says ``RetryInfo.retryDelay: "Ns"`` in ``details`` (Google sends no ``retry-after`` header).

Like the real API it refuses unknown top-level and ``generationConfig`` fields, the OpenAPI
``parameters`` schema with ``additionalProperties``, and, for Gemini 3 style models (ids not
starting ``gemini-1``/``gemini-2``), a model turn whose first function call has no thought
signature, or a signature it did not issue (the documented bypass value is accepted).

Scripted replies (``push``): ``finish_reason="SAFETY"`` (or any Gemini finish reason) ends the
candidate with it and, for the safety family, no content; ``finish_reason="prompt:SAFETY"`` blocks
the prompt (no candidates, ``promptFeedback.blockReason``). ``thinking`` is returned as thought
parts when ``thinkingConfig.includeThoughts`` is set and counted in ``thoughtsTokenCount``.
Switches (see base.SWITCH_DEFAULTS): ``stream_error_after`` sends an ``{"error": ...}`` event.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
from typing import Any, ClassVar

from aiohttp import web

from .base import Exchange, FailRule, FakeProvider
from .openai_fake import embedding_vector
from .replies import (
    Reply,
    ToolCall,
    count_prompt,
    count_words,
    resolve_reply,
    split_words,
    truncate_words,
)

STATUS_NAMES = {400: "INVALID_ARGUMENT", 401: "UNAUTHENTICATED", 403: "PERMISSION_DENIED", 404: "NOT_FOUND",
                409: "ABORTED", 413: "INVALID_ARGUMENT", 429: "RESOURCE_EXHAUSTED", 499: "CANCELLED",
                500: "INTERNAL", 503: "UNAVAILABLE", 504: "DEADLINE_EXCEEDED"}
DEFAULT_MESSAGES = {
    400: "Request contains an invalid argument.",
    401: "Request had invalid authentication credentials.",
    403: "The caller does not have permission",
    404: "Requested entity was not found.",
    429: "You exceeded your current quota, please check your plan and billing details. For more "
         "information on this error, head to: https://ai.google.dev/gemini-api/docs/rate-limits.",
    500: "An internal error has occurred. Please retry or report in "
         "https://developers.generativeai.google/guide/troubleshooting",
    503: "The model is overloaded. Please try again later.",
    504: "Deadline expired before operation could complete.",
}
SIGNATURE_BYPASS = "skip_thought_signature_validator"
FILTER_REASONS = ("SAFETY", "PROHIBITED_CONTENT", "BLOCKLIST", "SPII", "RECITATION")
TOP_LEVEL = {"contents", "systemInstruction", "tools", "toolConfig", "generationConfig", "safetySettings",
             "cachedContent", "labels"}
GENERATION_CONFIG = {"temperature", "topP", "topK", "maxOutputTokens", "stopSequences", "seed", "presencePenalty",
                     "frequencyPenalty", "responseMimeType", "responseSchema", "responseJsonSchema", "thinkingConfig",
                     "candidateCount", "responseModalities", "responseLogprobs", "logprobs", "mediaResolution",
                     "speechConfig", "imageConfig", "enableEnhancedCivicAnswers", "audioTimestamp"}


def dumps(obj: Any) -> str:
    """JSON as Google writes it: ``": "`` after keys, no space after commas."""
    return json.dumps(obj, separators=(",", ": "), ensure_ascii=False)


def sse(obj: Any) -> str:
    return f"data: {dumps(obj)}\r\n\r\n"  # Google's streams use CRLF


# ---- request helpers (public so tests can compute expected values) ----------
def part_text(part: dict[str, Any]) -> str:
    if "text" in part and not part.get("thought"):
        return str(part["text"])
    if "functionCall" in part:
        fc = part["functionCall"]
        return f"{fc.get('name', '')} {json.dumps(fc.get('args') or {}, separators=(',', ':'))}"
    if "functionResponse" in part:
        resp = part["functionResponse"].get("response") or {}
        return str(resp.get("content", resp.get("output", resp.get("error", ""))))
    return ""


def content_text(content: dict[str, Any]) -> str:
    return " ".join(t for t in (part_text(p) for p in content.get("parts") or []) if t)


def prompt_tokens(body: dict[str, Any]) -> int:
    """Words of every part (+1 per content, and for the system instruction)."""
    texts = [content_text(body["systemInstruction"])] if body.get("systemInstruction") else []
    texts += [content_text(c) for c in body.get("contents") or []]
    return count_prompt(texts)


def last_user_text(contents: list[dict[str, Any]]) -> str:
    for c in reversed(contents):
        if c.get("role", "user") == "user":
            texts = [p["text"] for p in c.get("parts") or [] if "text" in p]
            if texts:
                return " ".join(texts)
    return ""


def trailing_tool_result(contents: list[dict[str, Any]]) -> str | None:
    if not contents or contents[-1].get("role", "user") != "user":
        return None
    results = [part_text(p) for p in contents[-1].get("parts") or [] if "functionResponse" in p]
    return " | ".join(results) if results else None


def signature_bytes(sig: str) -> bytes:
    """Signatures are bytes on the wire: standard or URL-safe base64 both decode to them."""
    try:
        return base64.urlsafe_b64decode(sig.replace("+", "-").replace("/", "_") + "=" * (-len(sig) % 4))
    except ValueError:
        return b""


def signs_thoughts(model: str) -> bool:
    return not model.startswith(("gemini-1", "gemini-2", "gemma", "text-embedding"))


def google_error(status: int, message: str | None = None, status_name: str | None = None,
                 details: list[Any] | None = None) -> dict[str, Any]:
    err: dict[str, Any] = {"code": status, "message": message or DEFAULT_MESSAGES.get(status, f"Error {status}"),
                           "status": status_name or STATUS_NAMES.get(status, "UNKNOWN")}
    if details:
        err["details"] = details
    return {"error": err}


class GeminiFake(FakeProvider):
    """``base_url`` is the root: clients append ``/v1beta/models/...``."""

    url_suffix = ""
    default_models: ClassVar[list[str]] = ["gemini-2.5-flash", "gemini-3-pro-preview", "gemini-embedding-001"]

    def __init__(self, api_key: str | None = None, *, embedding_dims: int = 8, **kw: Any):
        super().__init__(api_key, **kw)
        self.embedding_dims = embedding_dims
        self.signatures: set[bytes] = set()  # thought signatures this fake issued (decoded)

    def routes(self) -> list[Any]:
        # v1beta is what the gateway uses; Google's current SDK defaults to v1, the same methods.
        return [("POST", "/{version:v1beta|v1}/models/{target}", self.model_action, True),
                ("GET", "/{version:v1beta|v1}/models", self.list_models, False),
                ("*", "/{tail:.*}", self.not_found, False)]

    # ---- errors / auth ---------------------------------------------------
    def error_body(self, ex: Exchange, status: int, message: str | None, *, error_type: str | None = None,
                   code: str | None = None, param: str | None = None) -> dict[str, Any]:
        return google_error(status, message, error_type)

    async def error(self, ex: Exchange, status: int, message: str | None = None, *, status_name: str | None = None,
                    details: list[Any] | None = None) -> web.StreamResponse:
        return await ex.send_json(status, google_error(status, message, status_name, details))

    async def send_failure(self, ex: Exchange, rule: FailRule) -> web.StreamResponse:
        if rule.body is None and rule.status == 429 and rule.retry_after is not None:
            body = self.error_body(ex, 429, rule.message, error_type=rule.error_type)
            body["error"]["details"] = [{"@type": "type.googleapis.com/google.rpc.RetryInfo",
                                         "retryDelay": f"{rule.retry_after}s"}]
            return await ex.send_json(429, body, rule.headers)
        return await super().send_failure(ex, rule)

    async def check_auth(self, ex: Exchange) -> web.StreamResponse | None:
        if "key" in ex.request.query:
            return await self.error(ex, 400, "fake: the API key must travel in x-goog-api-key, never in the URL")
        if self.api_key is None:
            return None
        key = ex.request.headers.get("x-goog-api-key")
        if not key:
            return await self.error(ex, 403, "Method doesn't allow unregistered callers (callers without established "
                                             "identity). Please use API Key or other form of API consumer identity "
                                             "to call this API.")
        if key != self.api_key:
            return await self.error(ex, 400, "API key not valid. Please pass a valid API key.", details=[
                {"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "API_KEY_INVALID",
                 "domain": "googleapis.com", "metadata": {"service": "generativelanguage.googleapis.com"}}])
        return None

    # ---- routes ------------------------------------------------------------
    async def not_found(self, ex: Exchange) -> web.StreamResponse:
        return await self.error(ex, 404, "Not Found")

    async def list_models(self, ex: Exchange) -> web.StreamResponse:
        return await ex.send_json(200, {"models": [{"name": f"models/{m}", "displayName": m} for m in self.models]})

    async def model_action(self, ex: Exchange) -> web.StreamResponse:
        model, _, action = ex.request.match_info["target"].partition(":")
        if self.known_models_only and model not in self.models:
            return await self.error(ex, 404, f"models/{model} is not found for API version v1beta, or is not "
                                             f"supported for {action}. Call ListModels to see the list of "
                                             "available models and their supported methods.")
        if action == "generateContent":
            return await self.generate(ex, model, stream=False)
        if action == "streamGenerateContent":
            return await self.generate(ex, model, stream=True)
        if action == "batchEmbedContents":
            return await self.batch_embed(ex, model)
        return await self.error(ex, 404, f"fake: unknown method {action!r}")

    async def batch_embed(self, ex: Exchange, model: str) -> web.StreamResponse:
        body = ex.body
        requests = body.get("requests") if isinstance(body, dict) else None
        if not isinstance(requests, list) or not requests:
            return await self.error(ex, 400, "* BatchEmbedContentsRequest.requests: requests is required")
        out = []
        for i, r in enumerate(requests):
            if r.get("model") != f"models/{model}":
                return await self.error(ex, 400, f"* BatchEmbedContentsRequest.requests[{i}].model: the model in "
                                                 "the request must match the model in the URL")
            text = " ".join(p.get("text", "") for p in (r.get("content") or {}).get("parts") or [])
            out.append({"values": embedding_vector(text, int(r.get("outputDimensionality") or self.embedding_dims))})
        return await ex.send_json(200, {"embeddings": out})

    # ---- generateContent ---------------------------------------------------
    async def _validate(self, ex: Exchange, body: Any, model: str) -> web.StreamResponse | None:
        if not isinstance(body, dict):
            return await self.error(ex, 400, "Invalid JSON payload received.")
        for key in body:
            if key not in TOP_LEVEL:
                return await self.error(ex, 400, f'Invalid JSON payload received. Unknown name "{key}": '
                                                 "Cannot find field.")
        for key in body.get("generationConfig") or {}:
            if key not in GENERATION_CONFIG:
                return await self.error(ex, 400, f'Invalid JSON payload received. Unknown name "{key}" at '
                                                 "'generation_config': Cannot find field.")
        contents = body.get("contents")
        if not isinstance(contents, list) or not contents:
            return await self.error(ex, 400, "* GenerateContentRequest.contents: contents is not specified")
        for i, c in enumerate(contents):
            if c.get("role", "user") not in ("user", "model"):
                return await self.error(ex, 400, "Please use a valid role: user, model.")
            if not c.get("parts"):
                return await self.error(ex, 400, f"* GenerateContentRequest.contents[{i}].parts: contents.parts "
                                                 "must not be empty.")
        for tool in body.get("tools") or []:
            for decl in tool.get("functionDeclarations") or []:
                if "parameters" in decl and "parametersJsonSchema" in decl:
                    return await self.error(ex, 400, "parameters and parametersJsonSchema are mutually exclusive")
                if "additionalProperties" in json.dumps(decl.get("parameters") or {}):
                    return await self.error(ex, 400, 'Invalid JSON payload received. Unknown name '
                                                     '"additionalProperties" at \'tools[0].function_declarations'
                                                     "[0].parameters': Cannot find field.")
        problem = self._check_signatures(contents, model)
        return await self.error(ex, 400, problem) if problem else None

    def _check_signatures(self, contents: list[dict[str, Any]], model: str) -> str:
        if not signs_thoughts(model):
            return ""
        for i, c in enumerate(contents):
            calls = [p for p in c.get("parts") or [] if "functionCall" in p]
            if c.get("role") == "model" and calls:
                sig = calls[0].get("thoughtSignature")
                if sig is None:
                    return (f"Function call is missing a thought_signature in functionCall parts. This is required "
                            f"for tools to work correctly, and missing thought_signature may lead to degraded "
                            f"model performance. Additional data, function call `default_api:{calls[0]['functionCall'].get('name')}` , "
                            f"position {i + 1}. Please refer to https://ai.google.dev/gemini-api/docs/thought-signatures "
                            "for more details.")
            for p in c.get("parts") or []:
                sig = p.get("thoughtSignature")
                if sig is not None and signature_bytes(sig) not in self.signatures | {signature_bytes(SIGNATURE_BYPASS)}:
                    return "Corrupted thought signature."
        return ""

    def _sign(self, model: str, seed: str) -> str:
        digest = hashlib.sha256(f"{model}|{seed}".encode()).digest()
        self.signatures.add(digest)
        return base64.b64encode(digest).decode()  # Google's alphabet: "+" and "/"

    async def generate(self, ex: Exchange, model: str, stream: bool) -> web.StreamResponse:
        body, sw = ex.body, ex.sw
        if (bad := await self._validate(ex, body, model)) is not None:
            return bad
        contents = body["contents"]
        decls = [d for t in body.get("tools") or [] for d in t.get("functionDeclarations") or []]
        if decls and not sw.supports_tools:
            return await self.error(ex, 400, f"Function calling is not enabled for models/{model}")
        if not sw.supports_images and any("inlineData" in p or "fileData" in p
                                          for c in contents for p in c.get("parts") or []):
            return await self.error(ex, 400, f"Image input is not supported for models/{model}.")
        n_prompt = prompt_tokens(body)
        if sw.context_window is not None and n_prompt > sw.context_window:
            return await self.error(ex, 400, f"The input token count ({n_prompt}) exceeds the maximum number of "
                                             f"tokens allowed ({sw.context_window}).")
        reply = self._reply(body, contents, decls)
        response = self._response(ex, body, model, reply)
        if not stream:
            return await ex.send_json(200, response)
        chunks = self._chunks(response, ex.sw.chunk_words)
        if ex.request.query.get("alt") != "sse":
            return await ex.send_json(200, chunks)
        await ex.start_stream()
        for i, chunk in enumerate(chunks):
            if sw.stream_error_after is not None and i >= sw.stream_error_after:
                await ex.send_event(sse(google_error(503)))
                break
            await ex.send_event(sse(chunk))
        return await ex.end_stream()

    def _reply(self, body: dict[str, Any], contents: list[dict[str, Any]],
               decls: list[dict[str, Any]]) -> Reply:
        cfg = (body.get("toolConfig") or {}).get("functionCallingConfig") or {}
        names = [] if cfg.get("mode") == "NONE" else [d.get("name") for d in decls]
        if cfg.get("allowedFunctionNames"):
            names = [n for n in names if n in cfg["allowedFunctionNames"]]
        scripted = self.next_scripted()
        reply = resolve_reply(scripted, last_user_text(contents), trailing_tool_result(contents), names)
        if scripted is None and cfg.get("mode") == "ANY" and names and not reply.tool_calls:
            reply = Reply(tool_calls=[ToolCall(names[0], {})])
        return reply

    def _response(self, ex: Exchange, body: dict[str, Any], model: str, reply: Reply) -> dict[str, Any]:
        gen = body.get("generationConfig") or {}
        thinking_cfg = gen.get("thinkingConfig") or {}
        thinking = reply.thinking
        usage: dict[str, Any] = {"promptTokenCount": prompt_tokens(body)}
        usage["promptTokensDetails"] = [{"modality": "TEXT", "tokenCount": usage["promptTokenCount"]}]
        out: dict[str, Any] = {"modelVersion": reply.model or model, "responseId": secrets.token_urlsafe(16)}
        finish = reply.finish_reason or "STOP"
        if finish.startswith("prompt:"):
            out["promptFeedback"] = {"blockReason": finish[7:], "safetyRatings": [
                {"category": "HARM_CATEGORY_DANGEROUS_CONTENT", "probability": "HIGH", "blocked": True}]}
            out["usageMetadata"] = {**usage, "totalTokenCount": usage["promptTokenCount"]}
            return out
        text = reply.text
        if text and reply.finish_reason is None:
            hits = sorted((text.index(s), s) for s in gen.get("stopSequences") or [] if s and s in text)
            if hits:
                text = text[:hits[0][0]]
            elif gen.get("maxOutputTokens") and count_words(text) > gen["maxOutputTokens"]:
                text, finish = truncate_words(text, gen["maxOutputTokens"]), "MAX_TOKENS"
        parts: list[dict[str, Any]] = []
        if thinking and thinking_cfg.get("includeThoughts"):
            parts.append({"text": thinking, "thought": True})
        if finish not in FILTER_REASONS:
            if text or not reply.tool_calls:
                parts.append({"text": text or ""})
            for c in reply.tool_calls:
                parts.append({"functionCall": {"name": c.name, "args": c.input}})
        first_call = next((p for p in parts if "functionCall" in p), None)
        if signs_thoughts(model) and parts:
            target = first_call or parts[-1]
            target["thoughtSignature"] = self._sign(model, json.dumps(target, sort_keys=True))
        n_out = Reply(text=text if finish not in FILTER_REASONS else None, tool_calls=reply.tool_calls
                      if finish not in FILTER_REASONS else []).output_tokens
        usage["candidatesTokenCount"] = n_out
        if thinking:
            usage["thoughtsTokenCount"] = count_words(thinking)
        usage["totalTokenCount"] = usage["promptTokenCount"] + n_out + usage.get("thoughtsTokenCount", 0)
        for k, v in (reply.usage or {}).items():
            usage[k] = v
        candidate: dict[str, Any] = {"content": {"parts": parts, "role": "model"}, "finishReason": finish, "index": 0}
        if finish in FILTER_REASONS:
            candidate = {"finishReason": finish, "index": 0, "safetyRatings": [
                {"category": "HARM_CATEGORY_HARASSMENT", "probability": "HIGH", "blocked": True}]}
        out["candidates"] = [candidate]
        out["usageMetadata"] = usage
        return {"candidates": out.pop("candidates"), **out}

    @staticmethod
    def _chunks(response: dict[str, Any], chunk_words: int) -> list[dict[str, Any]]:
        """The whole response cut as Gemini streams it: text in pieces, each function call whole, the
        finish reason and final usage on the last chunk, partial usage on the others."""
        meta = {k: response[k] for k in ("modelVersion", "responseId") if k in response}
        usage = response.get("usageMetadata") or {}
        if "candidates" not in response:
            return [response]
        cand = response["candidates"][0]
        pieces: list[dict[str, Any]] = []
        for part in (cand.get("content") or {}).get("parts") or []:
            if part.get("text"):
                words = split_words(part["text"], chunk_words)
                pieces += [{k: v for k, v in part.items() if k != "thoughtSignature"} | {"text": w} for w in words]
                if "thoughtSignature" in part:
                    pieces[-1]["thoughtSignature"] = part["thoughtSignature"]
            else:
                pieces.append(part)
        partial = {"promptTokenCount": usage.get("promptTokenCount", 0),
                   "totalTokenCount": usage.get("promptTokenCount", 0)}
        chunks = [{"candidates": [{"content": {"parts": [p], "role": "model"}, "index": 0}],
                   "usageMetadata": partial, **meta} for p in pieces]
        last = {k: v for k, v in cand.items() if k != "content"}
        if chunks:
            chunks[-1]["candidates"][0].update(last)
        else:
            chunks.append({"candidates": [last], **meta})
        chunks[-1]["usageMetadata"] = usage
        return chunks
