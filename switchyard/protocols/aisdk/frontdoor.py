"""The AI SDK gateway front doors: ``{baseURL}/language-model`` and ``{baseURL}/embedding-model``.

One door per path prefix; ``default_spec`` is that prefix's spec version, used when the request's
own version header is missing. The version a request speaks is kept on its Inbound and its answer is
rendered in it. No provider speaks this protocol, so the pass-through path is never taken.
"""

from __future__ import annotations

import weakref
from collections.abc import Mapping
from typing import Any

from switchyard.canonical import ChatResult
from switchyard.errors import GatewayError
from switchyard.gateway.frontdoor import FrontDoor, StreamEncoder
from switchyard.gateway.inbound import Inbound
from switchyard.protocols.aisdk import embeddings, errors, request_in, result_out
from switchyard.protocols.aisdk.stream_out import AISDKStreamEncoder
from switchyard.telemetry.record import GenerationRecord

PROTOCOL = "aisdk-gateway"


def _spec(inbound: Inbound, default: int) -> int:
    return getattr(inbound, "spec", default)


class AISDKFrontDoor(FrontDoor):
    protocol = PROTOCOL

    def __init__(self, default_spec: int = 4) -> None:
        self.default_spec = default_spec
        # The encoder of each running stream, so that stream_error can close it in the right version.
        self._streams: weakref.WeakValueDictionary[str, AISDKStreamEncoder] = weakref.WeakValueDictionary()

    def parse(self, body: bytes, headers: Mapping[str, str]) -> Inbound:
        return request_in.parse(body, headers, self.default_spec)

    def render_result(self, result: ChatResult, rec: GenerationRecord, inbound: Inbound) -> bytes:
        return result_out.render_result(result, rec, _spec(inbound, self.default_spec))

    def render_passthrough(self, data: Any, rec: GenerationRecord, inbound: Inbound) -> bytes:
        raise NotImplementedError("no provider speaks the AI SDK gateway protocol")

    def stream_encoder(self, inbound: Inbound, rec: GenerationRecord) -> StreamEncoder:
        encoder = AISDKStreamEncoder(rec, _spec(inbound, self.default_spec))
        self._streams[rec.id] = encoder
        return encoder

    def stream_error(self, err: GatewayError, rec: GenerationRecord) -> bytes:
        encoder = self._streams.pop(rec.id, None) or AISDKStreamEncoder(rec, self.default_spec)
        return encoder.fail(err)

    def render_error(self, err: GatewayError, rec: GenerationRecord | None) -> bytes:
        if rec is None:
            return errors.render_error(err)
        return errors.render_error(err, rec.id, rec.requested_model)


class AISDKEmbeddingFrontDoor(AISDKFrontDoor):
    """``{baseURL}/embedding-model``: shares the errors; parses and renders embeddings."""

    def parse(self, body: bytes, headers: Mapping[str, str]) -> Inbound:
        return embeddings.parse(body, headers, self.default_spec)

    def render_result(self, result: Any, rec: GenerationRecord, inbound: Inbound) -> bytes:
        return embeddings.render_result(result, rec)
