"""Fake Amazon Bedrock runtime: Converse, ConverseStream (real AWS event-stream framing and CRCs) and
InvokeModel for Titan and Cohere embeddings. Every request's SigV4 signature is verified the way AWS
does it (recomputed from the raw path, the signed headers and the body with the fake's secret); a
mismatch is AWS's 403 InvalidSignatureException, with its body and ``x-amzn-ErrorType`` header.

    async with BedrockFake(access_key_id="AKID", secret_access_key="secret", session_token="tok") as fake:
        fake.url  # -> http://127.0.0.1:PORT, the provider's base_url

Switches (see base.SWITCH_DEFAULTS) plus ``stream_exception`` (the ``:exception-type`` sent by
``stream_error_after``, default ``modelStreamErrorException``) and ``stream_exception_message``.
``fail(status, error_type="ThrottlingException")`` answers with AWS's error shape.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
import secrets
import string
import uuid
from datetime import datetime, timedelta, timezone
from types import SimpleNamespace
from typing import Any
from urllib.parse import quote, unquote

from aiohttp import web

from .aws_eventstream import event, exception
from .base import SWITCH_DEFAULTS, Exchange, FailRule, FakeProvider
from .openai_fake import embedding_vector
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

BEDROCK_SWITCHES: dict[str, Any] = {"stream_exception": "modelStreamErrorException", "stream_exception_message": None}
BEDROCK_NS = "http://internal.amazon.com/coral/com.amazon.bedrock/"
CORAL_NS = "http://internal.amazon.com/coral/com.amazon.coral.service/"
_ALNUM = string.ascii_letters + string.digits

_DEFAULT_ERRORS = {
    400: ("ValidationException", "Malformed input request, please reformat your input and try again."),
    403: ("AccessDeniedException", "You don't have access to the model with the specified model ID."),
    404: ("ResourceNotFoundException", "Could not resolve the foundation model from the provided model identifier."),
    408: ("ModelTimeoutException", "Model has timed out in processing the request. Try your request again."),
    424: ("ModelErrorException", "The model returned an error. Try your request again."),
    429: ("ThrottlingException", "Too many requests, please wait before trying again."),
    500: ("InternalServerException", "The server encountered an internal error while processing the request."),
    503: ("ServiceUnavailableException", "Bedrock is unable to process your request."),
}
_STREAM_MESSAGES = {
    "modelStreamErrorException": "The model encountered an error while streaming the response.",
    "throttlingException": "Too many requests, please wait before trying again.",
    "validationException": "Input is too long for requested model.",
    "serviceUnavailableException": "Bedrock is unable to process your request.",
    "internalServerException": "The server encountered an internal error while processing the request.",
}
_AUTH_RE = re.compile(r"^AWS4-HMAC-SHA256 Credential=([^/\s]+)/(\d{8})/([^/\s]+)/([^/\s]+)/aws4_request,\s*"
                      r"SignedHeaders=([a-z0-9;\-]+),\s*Signature=([0-9a-f]{64})$")


# ---- SigV4 verification, written independently of switchyard's signer ----
def _remove_dots(path: str) -> str:
    out: list[str] = []
    for seg in path.split("/"):
        if seg == "..":
            if out:
                out.pop()
        elif seg not in ("", "."):
            out.append(seg)
    return "/" + "/".join(out) + ("/" if path.endswith("/") and out else "")


def canonical_request(method: str, raw_path: str, headers: Any, signed: list[str], body: bytes) -> str:
    path, _, query = raw_path.partition("?")
    pairs = sorted(p.partition("=")[::2] for p in query.split("&")) if query else []
    lines = "".join(f"{h}:{','.join(' '.join(v.split()) for v in headers.getall(h, []))}\n" for h in signed)
    return "\n".join([method, quote(_remove_dots(path), safe="/~"), "&".join(f"{k}={v}" for k, v in pairs),
                      lines, ";".join(signed), hashlib.sha256(body).hexdigest()])


def signature(secret: str, amz_date: str, region: str, service: str, canonical: str) -> tuple[str, str]:
    scope = f"{amz_date[:8]}/{region}/{service}/aws4_request"
    sts = f"AWS4-HMAC-SHA256\n{amz_date}\n{scope}\n{hashlib.sha256(canonical.encode()).hexdigest()}"
    key = ("AWS4" + secret).encode()
    for part in (amz_date[:8], region, service, "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return hmac.new(key, sts.encode(), hashlib.sha256).hexdigest(), sts


# ---- Converse request helpers (public so tests can compute expected values) ----
def block_text(b: dict[str, Any]) -> str:
    if "text" in b:
        return b["text"]
    if "toolUse" in b:
        return f"{b['toolUse'].get('name', '')} {json.dumps(b['toolUse'].get('input', {}), separators=(',', ':'))}"
    if "toolResult" in b:
        return " ".join(c["text"] if "text" in c else json.dumps(c.get("json"))
                        for c in b["toolResult"].get("content", []) if "text" in c or "json" in c)
    if "reasoningContent" in b:
        return (b["reasoningContent"].get("reasoningText") or {}).get("text", "")
    return ""


def prompt_tokens(body: dict[str, Any]) -> int:
    """Words of the system prompt and of each message, + 1 for each (as the other fakes count)."""
    texts = [" ".join(s.get("text", "") for s in body["system"])] if body.get("system") else []
    texts += [" ".join(block_text(b) for b in m.get("content", [])) for m in body.get("messages") or []]
    return count_prompt(texts)


def last_user_text(messages: list[dict[str, Any]]) -> str:
    for m in reversed(messages):
        if m.get("role") == "user":
            return " ".join(b["text"] for b in m.get("content", []) if "text" in b)
    return ""


def trailing_tool_result(messages: list[dict[str, Any]]) -> str | None:
    if not messages or messages[-1].get("role") != "user":
        return None
    results = [block_text(b) for b in messages[-1].get("content", []) if "toolResult" in b]
    return " | ".join(results) if results else None


def reasoning_signature(text: str) -> str:
    return base64.b64encode(hashlib.sha256(text.encode()).digest()).decode()


class _Invalid(Exception):
    pass


class BedrockFake(FakeProvider):
    url_suffix = ""
    default_models = ["anthropic.claude-sonnet-5-5", "amazon.nova-pro-v1:0", "amazon.titan-embed-text-v2:0",
                      "cohere.embed-english-v3", "cohere.embed-v4:0"]

    def __init__(self, access_key_id: str = "AKIDFAKEEXAMPLE", secret_access_key: str = "fake/secret+key",
                 session_token: str | None = None, *, region: str = "us-east-1", verify_signature: bool = True,
                 max_clock_skew_s: float = 300.0, **kw: Any):
        extras = {k: kw.pop(k) for k in list(kw) if k in BEDROCK_SWITCHES}
        super().__init__(None, **kw)
        for k, v in {**BEDROCK_SWITCHES, **extras}.items():
            setattr(self, k, v)
        self.access_key_id, self.secret_access_key, self.session_token = access_key_id, secret_access_key, session_token
        self.region = region
        self.verify_signature = verify_signature
        self.max_clock_skew_s = max_clock_skew_s
        self.signature_failures = 0

    @property
    def url(self) -> str:
        return self.root_url

    def new_request_id(self) -> str:
        return str(uuid.uuid4())

    def for_next(self, times: int = 1, **switches: Any) -> None:
        unknown = set(switches) - set(SWITCH_DEFAULTS) - set(BEDROCK_SWITCHES)
        if unknown:
            raise TypeError(f"unknown switches: {sorted(unknown)}")
        self._overrides.append([times, switches])

    def _take_switches(self) -> SimpleNamespace:
        ns = super()._take_switches()
        for k in BEDROCK_SWITCHES:
            if not hasattr(ns, k):
                setattr(ns, k, getattr(self, k))
        return ns

    def routes(self) -> list[Any]:
        return [
            ("POST", "/model/{model_id:.+}/converse", self.converse, True),
            ("POST", "/model/{model_id:.+}/converse-stream", self.converse_stream, True),
            ("POST", "/model/{model_id:.+}/invoke", self.invoke, True),
            ("*", "/{tail:.*}", self.not_found, False),
        ]

    # ---- errors and headers ----
    def response_headers(self, ex: Exchange) -> dict[str, str]:
        return {"x-amzn-RequestId": ex.request_id}

    def error_body(self, ex: Exchange, status: int, message: str | None, *, error_type: str | None = None,
                   code: str | None = None, param: str | None = None) -> dict[str, Any]:
        return {"message": message or _DEFAULT_ERRORS.get(status, ("", f"Error {status}"))[1]}

    def failure_headers(self, rule: FailRule) -> dict[str, str]:
        err_type = rule.error_type or _DEFAULT_ERRORS.get(
            rule.status, ("InternalServerException" if rule.status >= 500 else "ValidationException", ""))[0]
        return {"x-amzn-ErrorType": f"{err_type}:{BEDROCK_NS}"}

    async def aws_error(self, ex: Exchange, status: int, err_type: str, message: str,
                        namespace: str = BEDROCK_NS) -> web.StreamResponse:
        return await ex.send_json(status, {"message": message}, {"x-amzn-ErrorType": f"{err_type}:{namespace}"})

    async def not_found(self, ex: Exchange) -> web.StreamResponse:
        return await self.aws_error(ex, 404, "UnknownOperationException", "Unknown operation", CORAL_NS)

    # ---- SigV4 ----
    async def check_auth(self, ex: Exchange) -> web.StreamResponse | None:
        if not self.verify_signature:
            return None
        denied = self._verify(ex)
        if denied is None:
            return None
        self.signature_failures += 1
        return await self.aws_error(ex, 403, denied[0], denied[1], CORAL_NS)

    def _verify(self, ex: Exchange) -> tuple[str, str] | None:
        req = ex.request
        auth = req.headers.get("Authorization")
        if not auth:
            return "MissingAuthenticationTokenException", "Missing Authentication Token"
        m = _AUTH_RE.match(auth.strip())
        if m is None:
            return "IncompleteSignatureException", f"Authorization header requires 'Credential', 'Signature' " \
                f"and 'SignedHeaders' parameters. Authorization={auth.split(' ')[0]}"
        key_id, date, region, service, signed_raw, given = m.groups()
        if key_id != self.access_key_id:
            return "UnrecognizedClientException", "The security token included in the request is invalid."
        if self.session_token is not None and req.headers.get("x-amz-security-token") != self.session_token:
            return "UnrecognizedClientException", "The security token included in the request is invalid."
        if region != self.region:
            return "InvalidSignatureException", f"Credential should be scoped to a valid region, not '{region}'."
        if service != "bedrock":
            return "InvalidSignatureException", "Credential should be scoped to correct service: 'bedrock'."
        signed = signed_raw.split(";")
        if signed != sorted(signed) or "host" not in signed or "x-amz-date" not in signed:
            return "InvalidSignatureException", "'Host' or 'X-Amz-Date' must be a signed header, in sorted order."
        amz_date = req.headers.get("x-amz-date", "")
        try:
            when = datetime.strptime(amz_date, "%Y%m%dT%H%M%SZ").replace(tzinfo=timezone.utc)
        except ValueError:
            return "IncompleteSignatureException", f"Date must be in ISO-8601 'basic format'. Got '{amz_date}'."
        if amz_date[:8] != date:
            return "InvalidSignatureException", f"Date in Credential scope does not match YYYYMMDD from ISO-8601 " \
                f"version of date from HTTP: '{date}' != '{amz_date[:8]}', from '{amz_date}'."
        now = datetime.now(timezone.utc)
        skew = timedelta(seconds=self.max_clock_skew_s)
        if when < now - skew:
            return "InvalidSignatureException", f"Signature expired: {amz_date} is now earlier than " \
                f"{(now - skew).strftime('%Y%m%dT%H%M%SZ')} ({now.strftime('%Y%m%dT%H%M%SZ')} - 5 min.)"
        if when > now + skew:
            return "InvalidSignatureException", f"Signature not yet current: {amz_date} is still later than " \
                f"{(now + skew).strftime('%Y%m%dT%H%M%SZ')} ({now.strftime('%Y%m%dT%H%M%SZ')} + 5 min.)"
        canonical = canonical_request(req.method, req.raw_path, req.headers, signed, ex.record.body)
        expected, sts = signature(self.secret_access_key, amz_date, region, service, canonical)
        if not hmac.compare_digest(expected, given):
            return "InvalidSignatureException", (
                "The request signature we calculated does not match the signature you provided. Check your AWS "
                "Secret Access Key and signing method. Consult the service documentation for details.\n\n"
                f"The Canonical String for this request should have been\n'{canonical}'\n\n"
                f"The String-to-Sign should have been\n'{sts}'\n")
        return None

    # ---- Converse ----
    def _validate(self, body: Any, model_id: str, sw: SimpleNamespace) -> None:
        if not isinstance(body, dict):
            raise _Invalid("Malformed input request, please reformat your input and try again.")
        if self.known_models_only and model_id not in self.models:
            raise _Invalid("The provided model identifier is invalid.")
        messages = body.get("messages")
        if not isinstance(messages, list) or not messages:
            raise _Invalid("A conversation must start with a user message. Try again with a conversation that "
                           "starts with a user message.")
        has_tool_blocks = False
        previous_calls: set[str] = set()
        for i, m in enumerate(messages):
            role = m.get("role")
            if i == 0 and role != "user":
                raise _Invalid("A conversation must start with a user message. Try again with a conversation that "
                               "starts with a user message.")
            if i and role == messages[i - 1].get("role"):
                raise _Invalid("A conversation must alternate between user and assistant roles. Make sure the "
                               "conversation alternates between user and assistant roles and try again.")
            content = m.get("content")
            if not content:
                raise _Invalid(f"The content field in the Message object at messages.{i} is empty. Add a "
                               "ContentBlock object to the content field and try again.")
            calls: set[str] = set()
            for j, b in enumerate(content):
                if "text" in b and not b["text"].strip():
                    raise _Invalid(f"The text field in the ContentBlock object at messages.{i}.content.{j} is "
                                   "blank. Add text to the text field, and try again.")
                if "toolUse" in b:
                    has_tool_blocks = True
                    calls.add(b["toolUse"]["toolUseId"])
                if "toolResult" in b:
                    has_tool_blocks = True
                    if b["toolResult"]["toolUseId"] not in previous_calls:
                        raise _Invalid(f"The toolResult blocks at messages.{i}.content contain toolUseIds that do "
                                       "not match the toolUse blocks of the previous turn.")
                    for c in b["toolResult"].get("content", []):
                        if "text" in c and not c["text"].strip():
                            raise _Invalid(f"The text field in the ToolResultContentBlock object at "
                                           f"messages.{i}.content.{j} is blank.")
                if "image" in b:
                    self._check_image(b["image"], i, j, sw)
            previous_calls = calls
        if has_tool_blocks and not body.get("toolConfig"):
            raise _Invalid("The toolConfig field must be defined when using toolUse and toolResult content blocks.")
        temperature = (body.get("inferenceConfig") or {}).get("temperature")
        if temperature is not None and not 0 <= temperature <= 1:
            raise _Invalid("The value at inferenceConfig.temperature must be between 0 and 1.")

    def _check_image(self, image: dict[str, Any], i: int, j: int, sw: SimpleNamespace) -> None:
        if not sw.supports_images:
            raise _Invalid("This model doesn't support the image content block that you provided. Try again "
                           "with a supported content block type.")
        if image.get("format") not in ("png", "jpeg", "gif", "webp"):
            raise _Invalid(f"messages.{i}.content.{j}.image.format: invalid value")
        data = (image.get("source") or {}).get("bytes")
        try:
            base64.b64decode(data or "", validate=True)
        except (binascii.Error, ValueError):
            raise _Invalid(f"messages.{i}.content.{j}.image.source.bytes: invalid base64") from None

    async def converse(self, ex: Exchange) -> web.StreamResponse:
        return await self._converse(ex, stream=False)

    async def converse_stream(self, ex: Exchange) -> web.StreamResponse:
        return await self._converse(ex, stream=True)

    async def _converse(self, ex: Exchange, stream: bool) -> web.StreamResponse:
        body, sw = ex.body, ex.sw
        model_id = unquote(ex.request.match_info["model_id"])
        try:
            self._validate(body, model_id, sw)
            tools = (body.get("toolConfig") or {}).get("tools") or []
            if tools and not sw.supports_tools:
                raise _Invalid("This model doesn't support tool use.")
            n_prompt = prompt_tokens(body)
            if sw.context_window is not None and n_prompt > sw.context_window:
                raise _Invalid("Input is too long for requested model.")
        except _Invalid as exc:
            return await self.aws_error(ex, 400, "ValidationException", str(exc))
        messages = body["messages"]
        names = [t["toolSpec"]["name"] for t in tools if "toolSpec" in t]
        user_text = last_user_text(messages)
        reply = resolve_reply(self.next_scripted(), user_text, trailing_tool_result(messages), names)
        extra = body.get("additionalModelRequestFields") or {}
        thinking = reply.thinking
        if thinking is None and (extra.get("thinking") or {}).get("type") == "enabled":
            thinking = "Thinking about: " + user_text
        config = body.get("inferenceConfig") or {}
        text, stop = reply.text, reply.finish_reason
        if stop is None and text:
            hits = sorted((text.index(s), s) for s in config.get("stopSequences") or [] if s and s in text)
            if hits:
                text, stop = text[:hits[0][0]], "stop_sequence"
            elif config.get("maxTokens") and count_words(text) > config["maxTokens"]:
                text, stop = truncate_words(text, config["maxTokens"]), "max_tokens"
        stop = stop or ("tool_use" if reply.tool_calls else "end_turn")
        blocks: list[dict[str, Any]] = []
        if thinking is not None:
            blocks.append({"reasoningContent": {"reasoningText": {"text": thinking,
                                                                  "signature": reasoning_signature(thinking)}}})
        if text or not reply.tool_calls:
            blocks.append({"text": text or ""})
        raw_args: dict[str, str] = {}
        for c in reply.tool_calls:
            tid = c.id or "tooluse_" + "".join(secrets.choice(_ALNUM) for _ in range(22))
            raw_args[tid] = c.arguments_json
            blocks.append({"toolUse": {"toolUseId": tid, "name": c.name, "input": c.input}})
        n_out = Reply(text=text, thinking=thinking, tool_calls=reply.tool_calls).output_tokens
        usage = merge_usage({"inputTokens": n_prompt, "outputTokens": n_out}, reply.usage)
        if "totalTokens" not in usage:
            usage["totalTokens"] = sum(usage.get(k, 0) for k in ("inputTokens", "outputTokens",
                                                                "cacheReadInputTokens", "cacheWriteInputTokens"))
        metrics = {"latencyMs": ex.elapsed_ms + 1}
        if not stream:
            return await ex.send_json(200, {"output": {"message": {"role": "assistant", "content": blocks}},
                                            "stopReason": stop, "usage": usage, "metrics": metrics})
        return await self._stream(ex, blocks, raw_args, stop, usage, metrics)

    async def _stream(self, ex: Exchange, blocks: list[dict[str, Any]], raw_args: dict[str, str], stop: str,
                      usage: dict[str, Any], metrics: dict[str, Any]) -> web.StreamResponse:
        resp = web.StreamResponse(status=200, headers=self.response_headers(ex))
        resp.content_type = "application/vnd.amazon.eventstream"
        ex.response = resp
        await resp.prepare(ex.request)
        await ex.pause(ex.sw.first_byte_delay_s)
        sw = ex.sw

        async def emit(frame: bytes) -> bool:
            if sw.stream_error_after is not None and ex.events_sent >= sw.stream_error_after:
                exc_type = sw.stream_exception
                msg = sw.stream_exception_message or _STREAM_MESSAGES.get(exc_type, "Stream error.")
                extra = {"originalStatusCode": 500, "originalMessage": msg} \
                    if exc_type == "modelStreamErrorException" else {}
                await self._write(ex, exception(exc_type, msg, **extra))
                return False
            await self._write(ex, frame)
            return True

        async def run() -> None:
            if not await emit(event("messageStart", {"role": "assistant"})):
                return
            for i, b in enumerate(blocks):
                deltas: list[dict[str, Any]]
                if "toolUse" in b:
                    tu = b["toolUse"]
                    if not await emit(event("contentBlockStart", {"contentBlockIndex": i, "start": {
                            "toolUse": {"toolUseId": tu["toolUseId"], "name": tu["name"]}}})):
                        return
                    deltas = [{"toolUse": {"input": f}} for f in split_chars(raw_args[tu["toolUseId"]],
                                                                             sw.args_fragment_chars)]
                elif "reasoningContent" in b:
                    rt = b["reasoningContent"]["reasoningText"]
                    deltas = [{"reasoningContent": {"text": p}} for p in split_words(rt["text"], sw.chunk_words)]
                    deltas.append({"reasoningContent": {"signature": rt["signature"]}})
                else:
                    deltas = [{"text": p} for p in split_words(b["text"], sw.chunk_words)]
                for d in deltas:
                    if not await emit(event("contentBlockDelta", {"contentBlockIndex": i, "delta": d})):
                        return
                if not await emit(event("contentBlockStop", {"contentBlockIndex": i})):
                    return
            if await emit(event("messageStop", {"stopReason": stop})):
                await emit(event("metadata", {"usage": usage, "metrics": metrics}))

        await run()
        await resp.write_eof()
        return resp

    async def _write(self, ex: Exchange, frame: bytes) -> None:
        cut = ex.sw.cut_after_chunks
        if cut is not None and ex.events_sent >= cut:
            ex.abort()
        if ex.events_sent:
            await ex.pause(ex.sw.chunk_delay_s)
        assert ex.response is not None
        await ex.response.write(frame)
        ex.events_sent += 1

    # ---- InvokeModel (embeddings) ----
    async def invoke(self, ex: Exchange) -> web.StreamResponse:
        model_id = unquote(ex.request.match_info["model_id"])
        body = ex.body
        if not isinstance(body, dict):
            return await self.aws_error(ex, 400, "ValidationException", "Malformed input request, please reformat "
                                        "your input and try again.")
        if "titan-embed" in model_id:
            allowed = {"inputText"} if "titan-embed-text-v1" in model_id else \
                {"inputText", "dimensions", "normalize", "embeddingTypes"}
            texts = [body.get("inputText")]
            dims = body.get("dimensions", 1024)
            if dims not in (256, 512, 1024):
                return await self._malformed(ex, f"#/dimensions: {dims} is not a valid enum value")
        elif "cohere.embed" in model_id:
            v4 = "embed-v4" in model_id
            allowed = {"texts", "input_type", "truncate", "embedding_types", "images"} | \
                ({"output_dimension", "max_tokens", "inputs"} if v4 else set())
            texts = body.get("texts")
            dims = body.get("output_dimension") or (1536 if v4 else 1024)
            if "input_type" not in body:
                return await self._malformed(ex, "#: required key [input_type] not found")
            if not isinstance(texts, list) or not 0 < len(texts) <= 96:
                return await self._malformed(ex, "#/texts: expected between 1 and 96 texts")
        else:
            return await self.aws_error(ex, 400, "ValidationException", "The provided model identifier is invalid.")
        extra = sorted(set(body) - allowed)
        if extra:
            return await self._malformed(ex, f"#: extraneous key [{extra[0]}] is not permitted")
        if not all(isinstance(t, str) and t for t in texts):
            return await self._malformed(ex, "#: required key [inputText] not found" if "titan" in model_id
                                         else "#/texts: expected non-empty strings")
        vectors = [embedding_vector(t, dims) for t in texts]
        n = sum(count_words(t) for t in texts)
        headers = {"X-Amzn-Bedrock-Input-Token-Count": str(n), "X-Amzn-Bedrock-Invocation-Latency": "12"}
        if "titan" in model_id:
            out: dict[str, Any] = {"embedding": vectors[0], "inputTextTokenCount": n}
            if "v1" not in model_id:
                out["embeddingsByType"] = {"float": vectors[0]}
        elif body.get("embedding_types"):
            out = {"id": str(uuid.uuid4()), "embeddings": {"float": vectors}, "response_type": "embeddings_by_type",
                   "texts": texts}
        else:
            out = {"id": str(uuid.uuid4()), "embeddings": vectors, "response_type": "embeddings_floats",
                   "texts": texts}
        return await ex.send_json(200, out, headers)

    async def _malformed(self, ex: Exchange, detail: str) -> web.StreamResponse:
        return await self.aws_error(ex, 400, "ValidationException",
                                    f"Malformed input request: {detail}, please reformat your input and try again.")

