"""The front-door contract: what a client-facing protocol implements so the executor can serve it.

A front door parses the caller's body into an ``Inbound`` and renders results, stream events and
errors in its own wire shape. When the chosen provider speaks the same protocol (``protocol`` equals
the adapter's), the executor uses the adapter's pass-through methods and the front door only adds
the gateway's metadata to the provider's own body.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from typing import Any, ClassVar, Protocol

from switchyard.canonical import StreamEvent
from switchyard.errors import GatewayError
from switchyard.gateway.inbound import Inbound
from switchyard.telemetry.record import GenerationRecord


class StreamEncoder(Protocol):
    """Per stream. May also define ``fail(err) -> bytes``: the bytes that end the stream after an
    upstream failure, when they depend on the stream's own state (sequence numbers, open blocks);
    otherwise the door's ``stream_error`` is used."""

    def encode(self, events: list[StreamEvent]) -> bytes: ...

    def finish(self) -> bytes: ...


class FrontDoor(ABC):
    protocol: ClassVar[str]

    @abstractmethod
    def parse(self, body: bytes, headers: Mapping[str, str]) -> Inbound: ...

    @abstractmethod
    def render_result(self, result: Any, rec: GenerationRecord, inbound: Inbound) -> bytes:
        """A ChatResult (or EmbedResult, for an embeddings front door) in this protocol's shape."""

    @abstractmethod
    def render_passthrough(self, data: Any, rec: GenerationRecord, inbound: Inbound) -> bytes:
        """The provider's own parsed body (same protocol) with the gateway's metadata added."""

    @abstractmethod
    def stream_encoder(self, inbound: Inbound, rec: GenerationRecord) -> StreamEncoder: ...

    @abstractmethod
    def stream_error(self, err: GatewayError, rec: GenerationRecord) -> bytes:
        """The bytes that end a stream that already started, reporting ``err`` in-band."""

    @abstractmethod
    def render_error(self, err: GatewayError, rec: GenerationRecord | None) -> bytes: ...

    def error_status(self, err: GatewayError) -> int:
        """The HTTP status this protocol's callers should see for ``err`` (Anthropic answers 529
        when every provider was overloaded, where others answer 502)."""
        return err.status

    def render_upstream_error_body(self, body: Any) -> bytes | None:
        """A caller-fault error from a provider of this same protocol, returned as the provider sent
        it. None when the body is not in this protocol's shape."""
        return None
