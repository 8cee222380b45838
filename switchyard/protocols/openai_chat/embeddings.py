"""``POST /v1/embeddings`` in OpenAI's shape: caller side (parse, render) and provider side.

Vectors are large: on the pass-through path the provider's ``data`` array is kept as raw bytes
(``msgspec.Raw``) and never turned into floats, only ``usage`` and ``model`` are read.
"""

from __future__ import annotations

import base64
import struct
from typing import Any

import msgspec

from switchyard.canonical import EmbedRequest, EmbedResult, Usage
from switchyard.errors import ErrorCategory, RequestError, UpstreamError
from switchyard.gateway.inbound import Inbound
from switchyard.protocols.openai_chat.request_in import (
    GATEWAY_KEYS,
    _gateway_options,
    _str_list,
    decode_body,
)
from switchyard.routing.plan import RouteRequest
from switchyard.telemetry.record import GenerationRecord


class _ProviderBody(msgspec.Struct):
    data: msgspec.Raw
    model: str | None = None
    usage: dict[str, Any] | None = None
    object: str = "list"


def parse_request(body: bytes) -> Inbound:
    data = decode_body(body)
    model = data.get("model")
    if not isinstance(model, str) or not model:
        raise RequestError("You must provide a model parameter.", param="model")
    inp = data.get("input")
    if isinstance(inp, str):
        chars = len(inp)
    elif isinstance(inp, list) and inp and all(isinstance(x, str) for x in inp):
        chars = sum(len(x) for x in inp)
    elif isinstance(inp, list) and inp and all(isinstance(x, int) or (isinstance(x, list) and x) for x in inp):
        chars = 4 * sum(len(x) if isinstance(x, list) else 1 for x in inp)  # token ids
    else:
        raise RequestError("'input' must be a non-empty string or array of strings (or of token arrays).",
                           param="input")
    fmt = data.get("encoding_format")
    if fmt is not None and fmt not in ("float", "base64"):
        raise RequestError("'encoding_format' must be 'float' or 'base64'.", param="encoding_format")
    dims = data.get("dimensions")
    if dims is not None and (not isinstance(dims, int) or isinstance(dims, bool) or dims < 1):
        raise RequestError("'dimensions' must be a positive integer.", param="dimensions")
    gateway = _gateway_options(data)
    fallbacks = _str_list(data.get("models"), "models") or _str_list(gateway.get("models"),
                                                                      "providerOptions.gateway.models")
    route = RouteRequest(model=model, kind="embedding", fallbacks=tuple(m for m in fallbacks or () if m != model),
                         order=_str_list(gateway.get("order"), "providerOptions.gateway.order"),
                         only=_str_list(gateway.get("only"), "providerOptions.gateway.only"),
                         est_input_tokens=chars // 4)
    user = gateway.get("user") if isinstance(gateway.get("user"), str) else data.get("user")
    return Inbound(route, False, data, to_canonical, kind="embedding",
                   user=user if isinstance(user, str) else None,
                   tags=_str_list(gateway.get("tags"), "providerOptions.gateway.tags"))


def to_canonical(data: dict[str, Any]) -> EmbedRequest:
    inp = data["input"]
    inputs = [inp] if isinstance(inp, str) else inp
    if not all(isinstance(x, str) for x in inputs):
        raise RequestError("Token-array inputs can only be sent to OpenAI-compatible providers.", param="input",
                           category=ErrorCategory.UNSUPPORTED)
    opts = data.get("providerOptions") or data.get("provider_options") or {}
    return EmbedRequest(model=data["model"], inputs=inputs, dimensions=data.get("dimensions"),
                        user=data.get("user"),
                        provider_options={k: v for k, v in opts.items() if k != "gateway" and isinstance(v, dict)})


# ---- provider side ----

def encode_request(req: EmbedRequest, model_id: str, slug: str) -> bytes:
    body: dict[str, Any] = {"model": model_id, "input": req.inputs, "encoding_format": "float"}
    if req.dimensions is not None:
        body["dimensions"] = req.dimensions
    if req.user:
        body["user"] = req.user
    body.update(req.provider_options.get(slug) or {})
    return msgspec.json.encode(body)


def encode_passthrough(raw: dict[str, Any], model_id: str, slug: str) -> bytes:
    body = {k: v for k, v in raw.items() if k not in GATEWAY_KEYS}
    body["model"] = model_id
    opts = raw.get("providerOptions") or raw.get("provider_options")
    if isinstance(opts, dict) and isinstance(opts.get(slug), dict):
        body.update(opts[slug])
    return msgspec.json.encode(body)


def usage_in(u: dict[str, Any] | None) -> Usage | None:
    if not isinstance(u, dict):
        return None
    return Usage(input_tokens=u.get("prompt_tokens") or u.get("total_tokens") or 0)


def _bad(slug: str) -> UpstreamError:
    return UpstreamError(ErrorCategory.BAD_RESPONSE, f"{slug}: provider returned unreadable embeddings")


def parse_result(body: bytes, slug: str) -> EmbedResult:
    try:
        data = msgspec.json.decode(body)
        items = sorted(data["data"], key=lambda d: d.get("index", 0))
        vectors = [_vector(d["embedding"]) for d in items]
    except (msgspec.DecodeError, KeyError, TypeError, ValueError):
        raise _bad(slug) from None
    return EmbedResult(vectors, usage_in(data.get("usage")), data.get("model"))


def _vector(v: Any) -> list[float]:
    if isinstance(v, str):  # base64 float32, little-endian
        raw = base64.b64decode(v)
        return list(struct.unpack(f"<{len(raw) // 4}f", raw))
    return v


def passthrough_result(body: bytes, slug: str) -> tuple[_ProviderBody, Usage | None]:
    try:
        parsed = msgspec.json.decode(body, type=_ProviderBody)
    except (msgspec.DecodeError, msgspec.ValidationError):
        raise _bad(slug) from None
    return parsed, usage_in(parsed.usage)


# ---- caller side ----

def _encode_vector(v: list[float], fmt: str) -> Any:
    if fmt == "base64":
        return base64.b64encode(struct.pack(f"<{len(v)}f", *v)).decode()
    return v


def _usage_out(rec: GenerationRecord) -> dict[str, Any]:
    tokens = rec.usage.input_tokens if rec.usage else 0
    out: dict[str, Any] = {"prompt_tokens": tokens, "total_tokens": tokens}
    if rec.cost is not None:
        out["cost"] = round(rec.cost, 12)
    return out


def render_result(result: EmbedResult, rec: GenerationRecord, fmt: str) -> bytes:
    return msgspec.json.encode({
        "object": "list",
        "data": [{"object": "embedding", "index": i, "embedding": _encode_vector(v, fmt)}
                 for i, v in enumerate(result.embeddings)],
        "model": result.model or rec.provider_model_id,
        "usage": _usage_out(rec),
        "provider_metadata": {"gateway": rec.gateway_metadata()},
    })


def render_passthrough(parsed: _ProviderBody, rec: GenerationRecord) -> bytes:
    return msgspec.json.encode({"object": parsed.object, "data": parsed.data,
                                "model": parsed.model or rec.provider_model_id, "usage": _usage_out(rec),
                                "provider_metadata": {"gateway": rec.gateway_metadata()}})
