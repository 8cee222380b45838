"""``POST {baseURL}/embedding-model``: ``embed`` and ``embedMany``.

The model comes from the ``ai-model-id`` header (the generic name every non-language model uses).
Bodies: 3.x/4.x ``{"values": [...], "dimensions"? (4.x), "providerOptions"?}``; 1.x/2.x
``{"input": str | [str], "providerOptions"?}``. The answer, for every version:

    {"embeddings": [[...]], "usage": {"tokens"}, "providerMetadata": {"gateway": ...}, "warnings": []}
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import msgspec

from switchyard.canonical import EmbedRequest, EmbedResult
from switchyard.errors import RequestError
from switchyard.protocols.aisdk import provider_options, versions
from switchyard.protocols.aisdk.request_in import (
    AISDKInbound,
    decode_body,
    gateway_options,
    route_request,
    str_list,
)
from switchyard.telemetry.record import GenerationRecord

MODEL_HEADER = "ai-model-id"


def _values(data: dict[str, Any]) -> list[str]:
    key = "values" if "values" in data else "input"
    value = data.get(key)
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
        raise RequestError(f"'{key}' must be a non-empty array of strings.", param=key)
    return value


def parse(body: bytes, headers: Mapping[str, str], default_spec: int) -> AISDKInbound:
    data = decode_body(body)
    default = 2 if "input" in data and "values" not in data else default_spec
    spec = versions.from_header(headers, versions.EMBEDDING_HEADER, default)
    model = headers.get(MODEL_HEADER, "").strip()
    if not model:
        raise RequestError(f"The '{MODEL_HEADER}' header (the model, e.g. 'openai/text-embedding-3-small') is "
                           f"required.", param=MODEL_HEADER)
    values = _values(data)
    dims = data.get("dimensions")
    if dims is not None and (not isinstance(dims, int) or isinstance(dims, bool) or dims < 1):
        raise RequestError("'dimensions' must be a positive integer.", param="dimensions")
    gateway = gateway_options(data)
    route = route_request(model, "embedding", gateway, est_input_tokens=sum(len(v) for v in values) // 4)
    user = gateway.get("user")
    return AISDKInbound(route, False, data, lambda d: to_canonical(d, model), kind="embedding", spec=spec,
                        user=user if isinstance(user, str) else None,
                        tags=str_list(gateway.get("tags"), "providerOptions.gateway.tags"))


def to_canonical(data: dict[str, Any], model: str) -> EmbedRequest:
    forwarded, _ = provider_options.split(data.get("providerOptions"))
    return EmbedRequest(model=model, inputs=_values(data), dimensions=data.get("dimensions"),
                        provider_options=forwarded)


def render_result(result: EmbedResult, rec: GenerationRecord) -> bytes:
    tokens = rec.usage.input_tokens if rec.usage is not None else None
    body: dict[str, Any] = {"embeddings": result.embeddings}
    if tokens is not None:
        body["usage"] = {"tokens": tokens}
    body["providerMetadata"] = {"gateway": rec.gateway_metadata()}
    body["warnings"] = []
    return msgspec.json.encode(body)
