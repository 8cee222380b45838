"""Caller side of the Chat Completions protocol: ``POST /v1/chat/completions``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import msgspec

from switchyard.canonical import ChatResult
from switchyard.errors import GatewayError
from switchyard.gateway.frontdoor import FrontDoor, StreamEncoder
from switchyard.gateway.inbound import Inbound
from switchyard.protocols.openai_chat import embeddings, errors, response
from switchyard.protocols.openai_chat.request_in import parse_request
from switchyard.protocols.openai_chat.stream_out import (
    OpenAIStreamEncoder,
    encode_stream_error,
)
from switchyard.telemetry.record import GenerationRecord


class OpenAIChatFrontDoor(FrontDoor):
    protocol = "openai-chat"

    def parse(self, body: bytes, headers: Mapping[str, str]) -> Inbound:
        return parse_request(body)

    def render_result(self, result: ChatResult, rec: GenerationRecord, inbound: Inbound) -> bytes:
        return response.render_result(result, rec)

    def render_passthrough(self, data: Any, rec: GenerationRecord, inbound: Inbound) -> bytes:
        return response.augment_passthrough(data, rec)

    def stream_encoder(self, inbound: Inbound, rec: GenerationRecord) -> StreamEncoder:
        return OpenAIStreamEncoder(rec, inbound.wants_usage)

    def stream_error(self, err: GatewayError, rec: GenerationRecord) -> bytes:
        return encode_stream_error(err, rec.id)

    def render_error(self, err: GatewayError, rec: GenerationRecord | None) -> bytes:
        return errors.render_error(err, rec.id if rec is not None else None)

    def render_upstream_error_body(self, body: Any) -> bytes | None:
        if isinstance(body, dict) and isinstance(body.get("error"), dict):
            return msgspec.json.encode(body)
        return None


class OpenAIEmbeddingsFrontDoor(OpenAIChatFrontDoor):
    """``POST /v1/embeddings``. Shares the chat front door's errors; results differ."""

    def parse(self, body: bytes, headers: Mapping[str, str]) -> Inbound:
        return embeddings.parse_request(body)

    def render_result(self, result: Any, rec: GenerationRecord, inbound: Inbound) -> bytes:
        return embeddings.render_result(result, rec, inbound.raw.get("encoding_format") or "float")

    def render_passthrough(self, data: Any, rec: GenerationRecord, inbound: Inbound) -> bytes:
        return embeddings.render_passthrough(data, rec)
