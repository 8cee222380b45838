"""Embeddings through Bedrock's InvokeModel (``POST /model/{id}/invoke``), whose body is the model's
own format:

- Amazon Titan text (``amazon.titan-embed-text-v2:0``, ``...-v1``): ``{inputText, dimensions?,
  normalize}`` -> ``{embedding, inputTextTokenCount}``. One text per call: the adapter contract makes
  one HTTP call per attempt, so a batch is refused as UNSUPPORTED (the router moves on).
- Cohere (``cohere.embed-*``): ``{texts, input_type, embedding_types: ["float"]}`` (96 texts at most)
  -> ``{embeddings: [[...]] | {float: [[...]]}, texts}``. The body has no token count: InvokeModel
  puts it in the ``X-Amzn-Bedrock-Input-Token-Count`` response header, which is what usage is read
  from (for Titan too); only without it is usage estimated as ceil(characters / 4) from the
  ``texts`` echoed back.

Options from ``provider_options["bedrock"]`` (and the provider slug) are merged into the body last,
e.g. ``{"input_type": "search_query", "truncate": "END"}`` for Cohere or ``{"normalize": false}``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import msgspec

from switchyard.canonical import EmbedRequest, EmbedResult, Usage
from switchyard.errors import ErrorCategory, RequestError, UpstreamError

COHERE_MAX_TEXTS = 96


def _options(request: EmbedRequest, slug: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key in {"bedrock": None, slug: None}:
        out.update(request.provider_options.get(key) or {})
    return out


def _family(model_id: str) -> str:
    # Inference-profile ids carry a region prefix ("us.cohere.embed-v4:0"): match anywhere.
    name = model_id.rsplit("/", 1)[-1]
    if "amazon.titan-embed" in name:
        return "titan"
    if "cohere.embed" in name:
        return "cohere"
    return ""


def one_per_request(model_id: str) -> bool:
    """Titan takes one text per InvokeModel; the adapter fans a batch out into several calls."""
    return _family(model_id) == "titan"


def encode_request(request: EmbedRequest, model_id: str, slug: str = "bedrock") -> bytes:
    family = _family(model_id)
    body: dict[str, Any]
    if family == "titan":
        if len(request.inputs) != 1:  # the adapter sends one call per input
            raise RequestError(f"{slug}: Titan embeds one input per request", param="input",
                               category=ErrorCategory.UNSUPPORTED)
        body = {"inputText": request.inputs[0]}
        if "titan-embed-text-v1" not in model_id:  # G1 takes inputText only
            body["normalize"] = True
            if request.dimensions is not None:
                body["dimensions"] = request.dimensions
    elif family == "cohere":
        if len(request.inputs) > COHERE_MAX_TEXTS:
            raise RequestError(f"{slug}: Cohere on Bedrock embeds at most {COHERE_MAX_TEXTS} texts per request",
                               param="input", category=ErrorCategory.UNSUPPORTED)
        body = {"texts": request.inputs, "input_type": "search_document", "embedding_types": ["float"]}
        if request.dimensions is not None:
            body["output_dimension"] = request.dimensions  # Embed v4
    else:
        raise RequestError(f"{slug}: no embeddings body format known for {model_id}", param="model",
                           category=ErrorCategory.UNSUPPORTED)
    body.update(_options(request, slug))
    return msgspec.json.encode(body)


class _Body(msgspec.Struct):
    embedding: list[float] | None = None  # Titan
    inputTextTokenCount: int | None = None
    embeddings: Any = None  # Cohere: a list of vectors, or {"float": [...]} with embedding_types
    texts: list[str] | None = None


_decode = msgspec.json.Decoder(_Body).decode


def header_tokens(headers: Mapping[str, str] | None) -> int | None:
    """InvokeModel's input token count (``X-Amzn-Bedrock-Input-Token-Count``), if it is there."""
    value = headers.get("x-amzn-bedrock-input-token-count") if headers is not None else None
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def parse_result(body: bytes, slug: str = "bedrock", input_tokens: int | None = None) -> EmbedResult:
    """``input_tokens``: the count from the response header, which wins over the body's or an estimate."""
    bad = UpstreamError(ErrorCategory.BAD_RESPONSE, f"{slug}: provider returned unreadable embeddings")
    try:
        data = _decode(body)
    except (msgspec.DecodeError, msgspec.ValidationError):
        raise bad from None
    if data.embedding is not None:
        tokens = input_tokens if input_tokens is not None else data.inputTextTokenCount or 0
        return EmbedResult([data.embedding], Usage(input_tokens=tokens))
    vectors = data.embeddings
    if isinstance(vectors, dict):
        vectors = vectors.get("float")
    if not isinstance(vectors, list) or not all(isinstance(v, list) for v in vectors):
        raise bad
    if input_tokens is None:
        input_tokens = -(-sum(len(t) for t in data.texts or ()) // 4)
    return EmbedResult(vectors, Usage(input_tokens=input_tokens))
