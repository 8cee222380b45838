"""The Anthropic Messages provider adapter: wires request, response, stream and error translation
to one configured provider.

Provider options read here: ``anthropic_version`` (default ``2023-06-01``), ``anthropic_beta``
(a string or a list of beta names) and ``auth`` (``"bearer"`` sends ``Authorization: Bearer``
instead of ``x-api-key``, for Anthropic-compatible endpoints that want it).
"""

from __future__ import annotations

from collections.abc import Mapping

from switchyard.canonical import ChatRequest, ChatResult
from switchyard.config.model import ProviderConfig
from switchyard.errors import UpstreamError
from switchyard.protocols.anthropic.errors import parse_error
from switchyard.protocols.anthropic.request import build_body
from switchyard.protocols.anthropic.response import parse_message
from switchyard.protocols.anthropic.stream import AnthropicStreamDecoder
from switchyard.providers.base import ProviderAdapter, UpstreamCall

DEFAULT_VERSION = "2023-06-01"


class AnthropicAdapter(ProviderAdapter):
    protocol = "anthropic-messages"

    def __init__(self, provider: ProviderConfig) -> None:
        super().__init__(provider)
        base = provider.base_url.rstrip("/")
        # Accept both "https://api.anthropic.com" and "https://api.anthropic.com/v1".
        self._url = base + ("/messages" if base.endswith("/v1") else "/v1/messages")
        self._headers = self._static_headers(provider)

    @staticmethod
    def _static_headers(provider: ProviderConfig) -> dict[str, str]:
        options = provider.options
        headers = {
            "content-type": "application/json",
            "anthropic-version": str(options.get("anthropic_version", DEFAULT_VERSION)),
        }
        beta = options.get("anthropic_beta")
        if beta:
            headers["anthropic-beta"] = beta if isinstance(beta, str) else ",".join(beta)
        if provider.api_key:
            if options.get("auth") == "bearer":
                headers["authorization"] = f"Bearer {provider.api_key}"
            else:
                headers["x-api-key"] = provider.api_key
        headers.update(provider.headers)
        return headers

    def build_chat(self, request: ChatRequest, model_id: str, max_output: int | None = None) -> UpstreamCall:
        """``max_output`` is the model's output limit from the catalog: Anthropic requires
        ``max_tokens``, and it is the default when the caller set none."""
        headers = dict(self._headers)
        if request.stream:
            headers["accept"] = "text/event-stream"
        body = build_body(request, model_id, max_output, self.provider.slug)
        return UpstreamCall(url=self._url, headers=headers, body=body)

    def parse_chat(self, body: bytes) -> ChatResult:
        return parse_message(body)

    def stream_decoder(self) -> AnthropicStreamDecoder:
        return AnthropicStreamDecoder()

    def parse_error(self, status: int, headers: Mapping[str, str], body: bytes) -> UpstreamError:
        return parse_error(status, headers, body)
