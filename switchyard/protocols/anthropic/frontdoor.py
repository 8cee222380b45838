"""Caller side of the Anthropic Messages protocol: ``POST /v1/messages`` for every catalog model.

Model names: the catalog's ``creator/model`` ids work as everywhere. Anthropic clients (Claude Code,
the SDKs' examples) send Anthropic's own bare ids instead (``claude-sonnet-4-5-20250929``), so a
name without ``/`` that is not itself a catalog id is resolved, first match wins:

1. ``anthropic/<name>`` in the catalog;
2. a catalog model that an Anthropic-protocol provider serves under exactly that provider model id
   (``claude-sonnet-4-5-20250929`` -> ``anthropic/claude-sonnet-4-5``), then any provider's;
3. the same two with a trailing ``-YYYYMMDD`` date or ``-latest`` removed
   (``claude-sonnet-4-20250514`` -> ``anthropic/claude-sonnet-4``).

``anthropic/<name>`` that is not in the catalog is resolved as ``<name>``. Anything else is left as
it is, and routing answers 404 ``not_found_error`` for it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import msgspec

from switchyard.canonical import ChatResult
from switchyard.catalog import Catalog
from switchyard.catalog.names import ModelNames
from switchyard.errors import GatewayError
from switchyard.gateway.frontdoor import FrontDoor, StreamEncoder
from switchyard.gateway.inbound import Inbound
from switchyard.protocols.anthropic import errors_out, response_out
from switchyard.protocols.anthropic.request_in import parse_request
from switchyard.protocols.anthropic.stream_out import AnthropicStreamEncoder
from switchyard.telemetry.record import GenerationRecord

PROTOCOL = "anthropic-messages"


class AnthropicFrontDoor(FrontDoor):
    protocol = PROTOCOL

    def __init__(self, catalog: Catalog, anthropic_providers: Iterable[str] = ("anthropic",)) -> None:
        self.resolve = ModelNames(catalog, "anthropic", anthropic_providers)  # bare Claude ids too
        self._reasoning = frozenset(m.id for m in catalog if "reasoning" in m.capabilities)

    def parse(self, body: bytes, headers: Mapping[str, str]) -> Inbound:
        return parse_request(body, headers, self.resolve, self._reasoning)

    def render_result(self, result: ChatResult, rec: GenerationRecord, inbound: Inbound) -> bytes:
        return response_out.render_result(result, rec)

    def render_passthrough(self, data: Any, rec: GenerationRecord, inbound: Inbound) -> bytes:
        return response_out.render_passthrough(data, rec)

    def stream_encoder(self, inbound: Inbound, rec: GenerationRecord) -> StreamEncoder:
        return AnthropicStreamEncoder(rec, inbound.route.model)

    def stream_error(self, err: GatewayError, rec: GenerationRecord) -> bytes:
        return errors_out.encode_stream_error(err, rec.id)

    def render_error(self, err: GatewayError, rec: GenerationRecord | None) -> bytes:
        return errors_out.render_error(err, rec.id if rec is not None else None)

    def error_status(self, err: GatewayError) -> int:
        return errors_out.status_of(err)

    def render_upstream_error_body(self, body: Any) -> bytes | None:
        if errors_out.is_anthropic_error_body(body):
            return msgspec.json.encode(body)
        return None
