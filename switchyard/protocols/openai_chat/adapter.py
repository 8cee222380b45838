"""Provider side of the OpenAI Chat Completions protocol: OpenAI and every compatible server."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import msgspec

from switchyard.canonical import (
    ChatRequest,
    ChatResult,
    EmbedRequest,
    EmbedResult,
    Usage,
)
from switchyard.config.model import ProviderConfig
from switchyard.errors import ErrorCategory, UpstreamError
from switchyard.protocols.openai_chat import embeddings, errors, response
from switchyard.protocols.openai_chat.passthrough import OpenAIPassthroughStream
from switchyard.protocols.openai_chat.quirks import Quirks, quirks_for
from switchyard.protocols.openai_chat.request_out import (
    encode_canonical,
    encode_passthrough,
)
from switchyard.protocols.openai_chat.stream_in import OpenAIStreamDecoder
from switchyard.providers.base import ProviderAdapter, StreamDecoder, UpstreamCall


class OpenAIChatAdapter(ProviderAdapter):
    protocol = "openai-chat"
    byok_header = "authorization"
    # The caller-side protocol whose bodies this adapter can relay as they are (the pass-through path).
    passthrough_protocol: ClassVar[str | None] = "openai-chat"
    default_quirks: ClassVar[str | None] = None  # the quirks entry used when options.quirks is absent

    def __init__(self, provider: ProviderConfig) -> None:
        super().__init__(provider)
        self.quirks: Quirks = quirks_for(provider, self.default_quirks)
        self.url = provider.base_url.rstrip("/") + "/chat/completions"
        self.embed_url = provider.base_url.rstrip("/") + "/embeddings"
        self._set_headers(self._auth_headers())

    def _auth_headers(self) -> dict[str, str]:
        key = self.provider.api_key
        return {"authorization": f"Bearer {key}"} if key else {}

    def _set_headers(self, auth: dict[str, str]) -> None:
        headers = {"content-type": "application/json", **auth}
        headers.update(self.provider.headers)
        self._headers = headers
        self._stream_headers = {**headers, "accept": "text/event-stream"}

    # ---- addressing: overridden by servers that put the model in the URL (Azure deployments) ----

    def target(self, model_id: str) -> str:
        """The model name to send for the provider model ``model_id``."""
        return model_id

    def endpoint(self, kind: str, target: str) -> str:
        return self.embed_url if kind == "embedding" else self.url

    def _call(self, body: bytes, stream: bool, target: str, kind: str = "language") -> UpstreamCall:
        if kind == "embedding":
            return UpstreamCall(self.endpoint(kind, target), self._headers, body)
        return UpstreamCall(self.endpoint(kind, target), self._stream_headers if stream else self._headers, body)

    # ---- translated path ----

    def build_chat(self, request: ChatRequest, model_id: str, max_output: int | None = None) -> UpstreamCall:
        target = self.target(model_id)
        return self._call(encode_canonical(request, target, self.provider.slug, self.quirks), request.stream, target)

    def parse_chat(self, body: bytes) -> ChatResult:
        return response.parse_result(body)

    def stream_decoder(self) -> StreamDecoder:
        return OpenAIStreamDecoder(self.provider.slug, self.quirks)

    def parse_error(self, status: int, headers: Mapping[str, str], body: bytes) -> UpstreamError:
        return errors.parse_error(self.provider.slug, status, headers, body)

    def build_embed(self, request: EmbedRequest, model_id: str) -> UpstreamCall:
        target = self.target(model_id)
        return self._call(embeddings.encode_request(request, target, self.provider.slug), False, target, "embedding")

    def parse_embed(self, body: bytes, headers: Mapping[str, str] | None = None) -> EmbedResult:
        return embeddings.parse_result(body, self.provider.slug)

    # ---- pass-through: the caller speaks this protocol too ----

    def passthrough_call(self, raw: dict[str, Any], model_id: str, stream: bool, kind: str = "language") -> UpstreamCall:
        target = self.target(model_id)
        if kind == "embedding":
            return self._call(embeddings.encode_passthrough(raw, target, self.provider.slug), False, target, kind)
        return self._call(encode_passthrough(raw, target, self.provider.slug, self.quirks), stream, target)

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
        return OpenAIPassthroughStream(self.provider.slug, wants_usage, self.quirks)
