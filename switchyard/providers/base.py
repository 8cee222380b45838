"""The provider adapter contract.

An adapter speaks one wire protocol. It is created once per configured provider (it holds the
provider's config, never per-request state) and turns canonical requests into HTTP calls and the
provider's answers back into canonical results, stream events and categorised errors. The transport
(connection pools, timeouts, cancellation) is not its business: ``switchyard.upstream`` sends what
``build_chat`` describes.

A ``StreamDecoder`` is created per streamed attempt and is stateful: feed it the response body bytes
as they arrive, in order.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Mapping
from typing import ClassVar

import msgspec

from switchyard.canonical import (
    ChatRequest,
    ChatResult,
    EmbedRequest,
    EmbedResult,
    StreamEvent,
)
from switchyard.config.model import ProviderConfig
from switchyard.errors import ErrorCategory, RequestError, UpstreamError


class UpstreamCall(msgspec.Struct):
    """An HTTP request to send. ``url`` is absolute and derived from the provider's configured base
    URL only: nothing a caller sends can choose it."""

    url: str
    headers: dict[str, str]
    body: bytes
    method: str = "POST"
    # Carries a caller's own credentials (BYOK): the client must not keep any of it after sending.
    private: bool = False


class StreamDecoder(ABC):
    @abstractmethod
    def feed(self, data: bytes) -> list[StreamEvent]:
        """Decode the next bytes. Raises UpstreamError for an error the provider sent inside the
        stream (Anthropic ``event: error``, an OpenAI ``{"error": ...}`` data line)."""

    @abstractmethod
    def close(self) -> list[StreamEvent]:
        """The body ended. Returns the events still buffered; raises UpstreamError (category
        SERVER_ERROR) when the stream stopped before the provider's own end marker."""


class ProviderAdapter(ABC):
    protocol: ClassVar[str]
    # The caller-side protocol whose bodies this adapter relays as they are (the pass-through path);
    # None: the same as ``protocol``. Azure OpenAI, say, speaks its own URLs and auth but OpenAI bodies.
    passthrough_protocol: ClassVar[str | None] = None
    # Adapters whose credentials expire (OAuth tokens) define ``async def prepare(self) -> None``,
    # awaited before each attempt; it refreshes what it must and raises UpstreamError if it cannot.
    prepare: ClassVar[Callable[..., Awaitable[None]] | None] = None

    def __init__(self, provider: ProviderConfig) -> None:
        self.provider = provider

    @abstractmethod
    def build_chat(self, request: ChatRequest, model_id: str, max_output: int | None = None) -> UpstreamCall:
        """The HTTP call for this request, addressed to ``model_id`` (the provider's own id).
        ``max_output`` is the model's output limit, for protocols that require ``max_tokens``.
        Streams ask the provider for usage too, whether or not the caller did."""

    @abstractmethod
    def parse_chat(self, body: bytes) -> ChatResult:
        """A successful non-streaming body. Raises UpstreamError(BAD_RESPONSE) if unreadable."""

    @abstractmethod
    def stream_decoder(self) -> StreamDecoder:
        ...

    @abstractmethod
    def parse_error(self, status: int, headers: Mapping[str, str], body: bytes) -> UpstreamError:
        """Map a non-2xx answer to a categorised UpstreamError (retry_after from the headers)."""

    # The header that carries a plain API key, for bring-your-own-key requests; None: this protocol
    # signs or exchanges its credentials (Bedrock, Vertex) and BYOK falls back to system credentials.
    byok_header: ClassVar[str | None] = None

    def with_key(self, call: UpstreamCall, key: str) -> UpstreamCall | None:
        """``call`` authenticated with the caller's own key instead of ours (None: not possible)."""
        name = self.byok_header
        if name is None:
            return None
        headers = {k: v for k, v in call.headers.items() if k not in ("authorization", "x-api-key", "api-key")}
        headers[name] = f"Bearer {key}" if name == "authorization" else key
        return UpstreamCall(call.url, headers, call.body, call.method, private=True)

    # Embeddings are optional: a protocol without them says so, and the router moves on. A provider
    # that embeds one input per request returns one call per input; parse_embed then reads each body
    # (with its response's headers, where some providers put the token count).
    def build_embed(self, request: EmbedRequest, model_id: str) -> UpstreamCall | list[UpstreamCall]:
        raise RequestError(f"{self.provider.slug} ({self.protocol}) does not serve embeddings.",
                           category=ErrorCategory.UNSUPPORTED)

    def parse_embed(self, body: bytes, headers: Mapping[str, str] | None = None) -> EmbedResult:
        raise NotImplementedError


def parse_retry_after(headers: Mapping[str, str]) -> float | None:
    """Seconds from ``retry-after`` (delta-seconds; HTTP dates are rare from AI providers and are
    ignored) or OpenAI's ``retry-after-ms``."""
    ms = headers.get("retry-after-ms")
    if ms:
        try:
            return max(0.0, float(ms) / 1000.0)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if value:
        try:
            return max(0.0, float(value))
        except ValueError:
            return None
    return None
