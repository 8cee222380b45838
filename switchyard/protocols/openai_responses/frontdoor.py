"""Caller side of the OpenAI Responses API: ``POST /v1/responses`` for every catalog model.

Model names: catalog ids (``creator/model``) work as everywhere. Clients of this API (the Codex CLI,
the OpenAI Agents SDK) default to OpenAI's bare names (``gpt-5-codex``, ``gpt-4.1-2025-04-14``), so a
name without ``/`` that is not a catalog id resolves, first match wins, to ``openai/<name>``, then to
the catalog model a provider serves under exactly that id (OpenAI's offerings first), then the same
two with a trailing ``-YYYY-MM-DD`` or ``-latest`` removed. Anything else is left as it is and routing
answers 404 ``model_not_found``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import msgspec

from switchyard.canonical import ChatResult
from switchyard.catalog import Catalog
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
_SUFFIX = re.compile(r"-(?:\d{4}-\d{2}-\d{2}|latest)$")


class ModelNames:
    def __init__(self, catalog: Catalog, preferred: str = "openai") -> None:
        self._ids = frozenset(m.id for m in catalog)
        self._by_provider_id: dict[str, str] = {}
        for first in (True, False):
            for m in catalog:
                for o in m.offerings:
                    if (o.provider == preferred) == first:
                        self._by_provider_id.setdefault(o.model_id, m.id)
        self._cache: dict[str, str] = {}

    def __call__(self, name: str) -> str:
        found = self._cache.get(name)
        if found is None:
            found = self._resolve(name)
            if len(self._cache) < 10_000:  # callers choose the names: bound what we remember
                self._cache[name] = found
        return found

    def _resolve(self, name: str) -> str:
        if name in self._ids or "/" in name:
            return name
        for candidate in dict.fromkeys((name, _SUFFIX.sub("", name))):
            if f"openai/{candidate}" in self._ids:
                return f"openai/{candidate}"
            if candidate in self._by_provider_id:
                return self._by_provider_id[candidate]
        return name


class OpenAIResponsesFrontDoor(FrontDoor):
    protocol = PROTOCOL

    def __init__(self, catalog: Catalog | None = None) -> None:
        self.resolve = ModelNames(catalog) if catalog is not None else (lambda name: name)
        self._reasoning = frozenset(m.id for m in catalog if "reasoning" in m.capabilities) \
            if catalog is not None else None
        # The encoder of each live stream, so that an upstream failure can end it in sequence
        # (stream_error is not handed the encoder). Entries go when their stream is collected.

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
