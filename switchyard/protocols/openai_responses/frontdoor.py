"""Caller side of the OpenAI Responses API: ``POST /v1/responses`` for every catalog model.

Model names: catalog ids (``creator/model``) work as everywhere. Clients of this API (the Codex CLI,
the OpenAI Agents SDK) default to OpenAI's bare names (``gpt-5-codex``, ``gpt-4.1-2025-04-14``), so a
name without ``/`` that is not a catalog id resolves, first match wins, to ``openai/<name>``, then to
the catalog model a provider serves under exactly that id (OpenAI's offerings first), then the same
two with a trailing ``-YYYY-MM-DD`` or ``-latest`` removed. Anything else is left as it is and routing
answers 404 ``model_not_found``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import msgspec

from switchyard.canonical import ChatResult
from switchyard.catalog import Catalog
from switchyard.catalog.names import ModelNames
from switchyard.errors import GatewayError
from switchyard.gateway.frontdoor import FrontDoor, StreamEncoder
from switchyard.gateway.inbound import Inbound
from switchyard.protocols.openai_responses import errors_out, response_out
from switchyard.protocols.openai_responses.request_in import (
    ResponsesInbound,
    parse_request,
)
from switchyard.protocols.openai_responses.stream_out import ResponsesStreamEncoder
from switchyard.telemetry.record import GenerationRecord

PROTOCOL = "openai-responses"


class OpenAIResponsesFrontDoor(FrontDoor):
    protocol = PROTOCOL

    def __init__(self, catalog: Catalog | None = None) -> None:
        self.resolve = ModelNames(catalog, "openai", ("openai",)) if catalog is not None else (lambda name: name)
        self._reasoning = frozenset(m.id for m in catalog if "reasoning" in m.capabilities) \
            if catalog is not None else None

    def parse(self, body: bytes, headers: Mapping[str, str]) -> Inbound:
        return parse_request(body, self.resolve, self._reasoning)

    def render_result(self, result: ChatResult, rec: GenerationRecord, inbound: Inbound) -> bytes:
        assert isinstance(inbound, ResponsesInbound)
        return response_out.render_result(result, rec, inbound)

    def render_passthrough(self, data: Any, rec: GenerationRecord, inbound: Inbound) -> bytes:
        return response_out.render_passthrough(data, rec)

    def stream_encoder(self, inbound: Inbound, rec: GenerationRecord) -> StreamEncoder:
        assert isinstance(inbound, ResponsesInbound)
        encoder = ResponsesStreamEncoder(rec, inbound)
        return encoder

    def stream_error(self, err: GatewayError, rec: GenerationRecord) -> bytes:
        # Reached only without an encoder (the executor calls the encoder's own fail() otherwise).
        return errors_out.error_event(err, 0)

    def render_error(self, err: GatewayError, rec: GenerationRecord | None) -> bytes:
        return errors_out.render_error(err, rec.id if rec is not None else None)

    def render_upstream_error_body(self, body: Any) -> bytes | None:
        if isinstance(body, dict) and isinstance(body.get("error"), dict):
            return msgspec.json.encode(body)
        return None
