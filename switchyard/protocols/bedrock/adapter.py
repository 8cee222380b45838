"""The Amazon Bedrock runtime provider adapter: Converse / ConverseStream for chat, InvokeModel for
embeddings, every request signed with SigV4 (service ``bedrock``).

Provider options: ``access_key_id``, ``secret_access_key``, ``session_token`` (temporary
credentials) and ``region`` (default ``us-east-1``). The base URL defaults to
``https://bedrock-runtime.{region}.amazonaws.com``. With no access key but an ``api_key``, requests
carry it as ``Authorization: Bearer`` instead (a Bedrock API key); with neither, every attempt fails
as AUTHENTICATION and the router moves on.

The URL is built once, exactly as the transport will send it (aiohttp re-normalises URLs through
yarl, which writes the ``:`` of a model id as is), so the path that is signed is the path on the
wire. Body bytes are final before signing.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from urllib.parse import quote

import msgspec
from yarl import URL

from switchyard.canonical import ChatRequest, ChatResult, EmbedRequest, EmbedResult
from switchyard.config.model import ProviderConfig
from switchyard.errors import ErrorCategory, UpstreamError
from switchyard.protocols.bedrock import embeddings, errors
from switchyard.protocols.bedrock.request import build_body
from switchyard.protocols.bedrock.response import parse_converse
from switchyard.protocols.bedrock.sigv4 import Credentials, SigV4Signer
from switchyard.protocols.bedrock.stream import BedrockStreamDecoder
from switchyard.providers.base import ProviderAdapter, UpstreamCall

DEFAULT_REGION = "us-east-1"
EVENT_STREAM = "application/vnd.amazon.eventstream"


class BedrockAdapter(ProviderAdapter):
    protocol = "bedrock"

    def __init__(self, provider: ProviderConfig) -> None:
        super().__init__(provider)
        options = provider.options
        self.region = str(options.get("region") or DEFAULT_REGION)
        base = provider.base_url or f"https://bedrock-runtime.{self.region}.amazonaws.com"
        self._base = base.rstrip("/")
        key_id, secret = options.get("access_key_id"), options.get("secret_access_key")
        self._signer: SigV4Signer | None = None
        if key_id and secret:
            creds = Credentials(str(key_id), str(secret), str(options.get("session_token") or "") or None)
            self._signer = SigV4Signer(creds, self.region, "bedrock")
        self._headers = {"content-type": "application/json", **provider.headers}
        self.clock: Callable[[], datetime] | None = None  # the signing time; None: now (tests set it)

    def url(self, model_id: str, action: str) -> str:
        """``{base}/model/{model id, percent-encoded}/{action}`` in the form the transport sends."""
        raw = f"{self._base}/model/{quote(model_id, safe='')}/{action}"
        return str(URL(raw))

    def _call(self, model_id: str, action: str, accept: str, body: bytes) -> UpstreamCall:
        url = self.url(model_id, action)
        headers = {**self._headers, "accept": accept}
        if self._signer is not None:
            headers = self._signer.sign("POST", url, headers, body, self.clock() if self.clock else None)
        elif self.provider.api_key:
            headers["authorization"] = f"Bearer {self.provider.api_key}"
        else:
            raise UpstreamError(ErrorCategory.AUTHENTICATION,
                                f"{self.provider.slug}: no AWS credentials configured "
                                "(options access_key_id and secret_access_key, or api_key)")
        return UpstreamCall(url=url, headers=headers, body=body)

    def build_chat(self, request: ChatRequest, model_id: str, max_output: int | None = None) -> UpstreamCall:
        """Converse needs no ``maxTokens``: the model's default applies unless the caller set one."""
        body = build_body(request, model_id, self.provider.slug)
        if request.stream:
            return self._call(model_id, "converse-stream", EVENT_STREAM, body)
        return self._call(model_id, "converse", "application/json", body)

    def parse_chat(self, body: bytes) -> ChatResult:
        return parse_converse(body, self.provider.slug)

    def stream_decoder(self) -> BedrockStreamDecoder:
        return BedrockStreamDecoder(self.provider.slug)

    def parse_error(self, status: int, headers: Mapping[str, str], body: bytes) -> UpstreamError:
        return errors.parse_error(self.provider.slug, status, headers, body)

    def build_embed(self, request: EmbedRequest, model_id: str) -> UpstreamCall | list[UpstreamCall]:
        if embeddings.one_per_request(model_id) and len(request.inputs) > 1:
            # Titan embeds one text per InvokeModel: one signed call per input, sent concurrently.
            return [self._call(model_id, "invoke", "application/json", embeddings.encode_request(
                msgspec.structs.replace(request, inputs=[text]), model_id, self.provider.slug))
                for text in request.inputs]
        body = embeddings.encode_request(request, model_id, self.provider.slug)
        return self._call(model_id, "invoke", "application/json", body)

    def parse_embed(self, body: bytes, headers: Mapping[str, str] | None = None) -> EmbedResult:
        return embeddings.parse_result(body, self.provider.slug, embeddings.header_tokens(headers))
