"""Provider side of the OpenAI Chat Completions protocol: OpenAI and every compatible server."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import msgspec

from switchyard.canonical import ChatRequest, ChatResult, EmbedRequest, EmbedResult, Usage
from switchyard.config.model import ProviderConfig
from switchyard.errors import ErrorCategory, UpstreamError
from switchyard.protocols.openai_chat import embeddings, errors, response
from switchyard.protocols.openai_chat.passthrough import OpenAIPassthroughStream
from switchyard.protocols.openai_chat.request_out import encode_canonical, encode_passthrough
from switchyard.protocols.openai_chat.stream_in import OpenAIStreamDecoder
from switchyard.providers.base import ProviderAdapter, StreamDecoder, UpstreamCall


class OpenAIChatAdapter(ProviderAdapter):
    protocol = "openai-chat"

    def __init__(self, provider: ProviderConfig) -> None:
        super().__init__(provider)
        self.url = provider.base_url.rstrip("/") + "/chat/completions"
        self.embed_url = provider.base_url.rstrip("/") + "/embeddings"
        headers = {"content-type": "application/json"}
        if provider.api_key:
            headers["authorization"] = f"Bearer {provider.api_key}"
        headers.update(provider.headers)
        self._headers = headers
        self._stream_headers = {**headers, "accept": "text/event-stream"}

    def _call(self, body: bytes, stream: bool, kind: str = "language") -> UpstreamCall:
        if kind == "embedding":
            return UpstreamCall(self.embed_url, self._headers, body)
        return UpstreamCall(self.url, self._stream_headers if stream else self._headers, body)

    def build_chat(self, request: ChatRequest, model_id: str, max_output: int | None = None) -> UpstreamCall:
        return self._call(encode_canonical(request, model_id, self.provider.slug), request.stream)

    def parse_chat(self, body: bytes) -> ChatResult:
        return response.parse_result(body)

    def stream_decoder(self) -> StreamDecoder:
        return OpenAIStreamDecoder(self.provider.slug)

    def parse_error(self, status: int, headers: Mapping[str, str], body: bytes) -> UpstreamError:
        return errors.parse_error(self.provider.slug, status, headers, body)

    def build_embed(self, request: EmbedRequest, model_id: str) -> UpstreamCall:
        return self._call(embeddings.encode_request(request, model_id, self.provider.slug), False, "embedding")

    def parse_embed(self, body: bytes) -> EmbedResult:
        return embeddings.parse_result(body, self.provider.slug)

    # ---- pass-through: the caller speaks this protocol too ----

    def passthrough_call(self, raw: dict[str, Any], model_id: str, stream: bool, kind: str = "language") -> UpstreamCall:
        if kind == "embedding":
            return self._call(embeddings.encode_passthrough(raw, model_id, self.provider.slug), False, kind)
        return self._call(encode_passthrough(raw, model_id, self.provider.slug), stream)

    def passthrough_result(self, body: bytes, kind: str = "language") -> tuple[Any, Usage | None, str | None]:
        """The provider's body (to be returned, augmented), its usage and finish reason."""
        if kind == "embedding":
            parsed, usage = embeddings.passthrough_result(body, self.provider.slug)
            return parsed, usage, None
        try:
            data = msgspec.json.decode(body)
            choice = data["choices"][0]
        except (msgspec.DecodeError, KeyError, IndexError, TypeError):
            raise UpstreamError(ErrorCategory.BAD_RESPONSE,
                                f"{self.provider.slug}: provider returned an unreadable completion") from None
        return data, response.usage_in(data.get("usage")), choice.get("finish_reason")

    def passthrough_stream(self, wants_usage: bool) -> OpenAIPassthroughStream:
        return OpenAIPassthroughStream(self.provider.slug, wants_usage)
