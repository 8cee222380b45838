"""Embeddings on Google: the Gemini API's ``batchEmbedContents`` and Vertex AI's ``predict``.

Options (``provider_options["google"]``, then the provider's slug): ``taskType`` (or ``task_type``:
``RETRIEVAL_QUERY``, ``RETRIEVAL_DOCUMENT``, ``SEMANTIC_SIMILARITY``, ...), ``title``, and on Vertex
``autoTruncate``. ``dimensions`` becomes ``outputDimensionality``.

Usage: Vertex reports ``statistics.token_count`` per input. The Gemini API's batch answer carries no
token count (newer versions may add ``usageMetadata``, which is used when present); without one the
input is estimated at one token per four characters, rounded up, when the request is at hand.
"""

from __future__ import annotations

import math
from typing import Any

import msgspec

from switchyard.canonical import EmbedRequest, EmbedResult, Usage
from switchyard.errors import ErrorCategory, UpstreamError


def _options(req: EmbedRequest, slug: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key in dict.fromkeys(("google", slug)):
        out.update(req.provider_options.get(key) or {})
    if "task_type" in out:
        out.setdefault("taskType", out.pop("task_type"))
    return out


def estimate_usage(inputs: list[str]) -> Usage:
    return Usage(input_tokens=math.ceil(sum(len(t) for t in inputs) / 4))


def _bad(slug: str) -> UpstreamError:
    return UpstreamError(ErrorCategory.BAD_RESPONSE, f"{slug}: provider returned unreadable embeddings")


# ---- Gemini API: POST /v1beta/models/{model}:batchEmbedContents ----

def gemini_body(req: EmbedRequest, model_id: str, slug: str) -> bytes:
    opts = _options(req, slug)
    template: dict[str, Any] = {"model": f"models/{model_id}"}
    if req.dimensions is not None:
        template["outputDimensionality"] = req.dimensions
    template.update(opts)  # taskType, title, outputDimensionality, ...: per request on this API
    return msgspec.json.encode({"requests": [{**template, "content": {"parts": [{"text": t}]}}
                                             for t in req.inputs]})


def parse_gemini(body: bytes, slug: str, request: EmbedRequest | None = None) -> EmbedResult:
    try:
        data = msgspec.json.decode(body)
        vectors = [e["values"] for e in data["embeddings"]]
    except (msgspec.DecodeError, KeyError, TypeError):
        raise _bad(slug) from None
    usage = None
    meta = data.get("usageMetadata")
    if isinstance(meta, dict) and isinstance(meta.get("promptTokenCount"), int):
        usage = Usage(input_tokens=meta["promptTokenCount"])
    elif request is not None:
        usage = estimate_usage(request.inputs)
    return EmbedResult(vectors, usage)


# ---- Vertex AI: POST .../publishers/google/models/{model}:predict ----

def vertex_body(req: EmbedRequest, slug: str) -> bytes:
    opts = _options(req, slug)
    extra = {k: opts[k] for k in ("title",) if k in opts}
    if "taskType" in opts:
        extra["task_type"] = opts["taskType"]
    parameters: dict[str, Any] = {}
    if req.dimensions is not None:
        parameters["outputDimensionality"] = req.dimensions
    for key in ("outputDimensionality", "autoTruncate"):
        if key in opts:
            parameters[key] = opts[key]
    body: dict[str, Any] = {"instances": [{"content": t, **extra} for t in req.inputs]}
    if parameters:
        body["parameters"] = parameters
    return msgspec.json.encode(body)


def parse_vertex(body: bytes, slug: str) -> EmbedResult:
    try:
        data = msgspec.json.decode(body)
        embeddings = [p["embeddings"] for p in data["predictions"]]
        vectors = [e["values"] for e in embeddings]
        tokens = sum(float((e.get("statistics") or {}).get("token_count") or 0) for e in embeddings)
    except (msgspec.DecodeError, KeyError, TypeError, ValueError, AttributeError):
        raise _bad(slug) from None
    return EmbedResult(vectors, Usage(input_tokens=int(tokens)))
