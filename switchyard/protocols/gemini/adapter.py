"""The Gemini API (Google AI Studio) provider adapter: ``{base}/v1beta/models/{model}:generateContent``,
``:streamGenerateContent?alt=sse`` and ``:batchEmbedContents``.

The key travels only in the ``x-goog-api-key`` header, never as ``?key=`` (URLs end up in logs and
exception texts). Options: ``api_version`` (default ``v1beta``; a base URL that already ends in a
version is used as is).
"""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import quote

from switchyard.canonical import ChatRequest, ChatResult, EmbedRequest, EmbedResult
from switchyard.config.model import ProviderConfig
from switchyard.errors import UpstreamError
from switchyard.protocols.gemini import embeddings
from switchyard.protocols.gemini.errors import parse_google_error
from switchyard.protocols.gemini.request import build_body
from switchyard.protocols.gemini.response import parse_response
from switchyard.protocols.gemini.stream import GeminiStreamDecoder
from switchyard.providers.base import ProviderAdapter, UpstreamCall

DEFAULT_API_VERSION = "v1beta"


def model_path(model_id: str) -> str:
    """``models/{id}``; ids that name their collection (``tunedModels/x``) are kept as they are."""
    path = model_id if "/" in model_id else f"models/{model_id}"
    return quote(path, safe="/@")


class GeminiAdapter(ProviderAdapter):
    protocol = "gemini"
    byok_header = "x-goog-api-key"

    def __init__(self, provider: ProviderConfig) -> None:
        super().__init__(provider)
        base = provider.base_url.rstrip("/")
        if not base.rsplit("/", 1)[-1].startswith("v1"):
            base += "/" + str(provider.options.get("api_version") or DEFAULT_API_VERSION)
        self._base = base
        headers = {"content-type": "application/json"}
        if provider.api_key:
            headers["x-goog-api-key"] = provider.api_key
        headers.update(provider.headers)
        self._headers = headers

    def build_chat(self, request: ChatRequest, model_id: str, max_output: int | None = None) -> UpstreamCall:
        """``max_output`` is not sent: Gemini's default output limit is the model's own."""
        action = ":streamGenerateContent?alt=sse" if request.stream else ":generateContent"
        return UpstreamCall(url=f"{self._base}/{model_path(model_id)}{action}", headers=self._headers,
                            body=build_body(request, model_id, self.provider.slug))

    def parse_chat(self, body: bytes) -> ChatResult:
        return parse_response(body, self.provider.slug)

    def stream_decoder(self) -> GeminiStreamDecoder:
        return GeminiStreamDecoder(self.provider.slug)

    def parse_error(self, status: int, headers: Mapping[str, str], body: bytes) -> UpstreamError:
        return parse_google_error(self.provider.slug, status, headers, body)

    def build_embed(self, request: EmbedRequest, model_id: str) -> UpstreamCall:
        return UpstreamCall(url=f"{self._base}/{model_path(model_id)}:batchEmbedContents", headers=self._headers,
                            body=embeddings.gemini_body(request, model_id, self.provider.slug))

    def parse_embed(self, body: bytes, request: EmbedRequest | None = None,
                    headers: Mapping[str, str] | None = None) -> EmbedResult:
        """With ``request``, usage missing from the answer is estimated from the input's length."""
        return embeddings.parse_gemini(body, self.provider.slug, request)
