"""The Vertex AI provider adapter: Google's models, Claude and open models in one Google Cloud project.

    {origin}/v1/projects/{project}/locations/{location}/
        publishers/google/models/{model}:generateContent | :streamGenerateContent?alt=sse | :predict
        publishers/anthropic/models/{model}:rawPredict | :streamRawPredict
        endpoints/openapi/chat/completions           (model-as-a-service ids: ``meta/llama-...-maas``)

``origin`` is ``https://{location}-aiplatform.googleapis.com``; ``https://aiplatform.googleapis.com``
for ``global``, ``https://aiplatform.{us,eu}.rep.googleapis.com`` for the ``us`` / ``eu``
multi-regions; or the provider's ``base_url`` when one is configured (tests, proxies).

Publisher by model id: ids containing ``claude`` are Anthropic's (the Messages body without ``model``,
plus ``anthropic_version``); ids with a ``/`` are model-as-a-service (OpenAI Chat Completions); the
rest are Google's (the Gemini body). Embeddings use ``predict``.

Options: ``project`` (default: the credentials' project), ``location`` (default ``global``),
``credentials_file`` or ``credentials`` (a service-account or gcloud user JSON, as a path or inline)
with ``token_url`` to override its token endpoint, or ``access_token`` for a fixed token;
``anthropic_version`` (default ``vertex-2023-10-16``) and ``anthropic_beta`` for Claude.

Auth is ``Authorization: Bearer <token>``. The executor awaits ``prepare()`` before each attempt,
which gets a fresh token when the cached one is due (see tokens.py); the synchronous build methods
then use it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import msgspec

from switchyard.canonical import ChatRequest, ChatResult, EmbedRequest, EmbedResult
from switchyard.config.load import ConfigError
from switchyard.config.model import ProviderConfig
from switchyard.errors import ErrorCategory, UpstreamError
from switchyard.protocols.anthropic.errors import parse_error as parse_anthropic_error
from switchyard.protocols.anthropic.request import build_body as build_anthropic_body
from switchyard.protocols.gemini import embeddings
from switchyard.protocols.gemini.credentials import CredentialsError, load_credentials
from switchyard.protocols.gemini.errors import parse_google_error
from switchyard.protocols.gemini.request import build_body as build_gemini_body
from switchyard.protocols.gemini.tokens import OAuthTokenSource, TokenSource
from switchyard.protocols.gemini.vertex_stream import VertexStreamDecoder, parse_any
from switchyard.protocols.openai_chat.request_out import encode_canonical
from switchyard.providers.base import ProviderAdapter, UpstreamCall

DEFAULT_LOCATION = "global"
ANTHROPIC_VERSION = "vertex-2023-10-16"


def origin(location: str) -> str:
    if location == "global":
        return "https://aiplatform.googleapis.com"
    if location in ("us", "eu"):
        return f"https://aiplatform.{location}.rep.googleapis.com"
    return f"https://{location}-aiplatform.googleapis.com"


def publisher(model_id: str) -> str:
    if "claude" in model_id.lower():
        return "anthropic"
    if "/" in model_id:
        return "openapi"
    return "google"


class _ErrorShape(msgspec.Struct):
    type: str | None = None


class VertexAdapter(ProviderAdapter):
    protocol = "vertex"

    def __init__(self, provider: ProviderConfig) -> None:
        super().__init__(provider)
        opts = provider.options
        self._tokens, project = self._token_source(provider)
        project = str(opts.get("project") or project or "")
        if not project:
            raise ConfigError(f"providers.{provider.slug}: options.project is required (or credentials "
                              "that name a project)")
        location = str(opts.get("location") or DEFAULT_LOCATION)
        base = provider.base_url.rstrip("/") or origin(location)
        base = base.removesuffix("/v1")
        self._prefix = f"{base}/v1/projects/{project}/locations/{location}"
        self._anthropic_version = str(opts.get("anthropic_version") or ANTHROPIC_VERSION)
        beta = opts.get("anthropic_beta")
        self._anthropic_beta = [beta] if isinstance(beta, str) else list(beta or [])

    @staticmethod
    def _token_source(provider: ProviderConfig) -> tuple[TokenSource, str | None]:
        opts = provider.options
        if opts.get("access_token"):
            return TokenSource(str(opts["access_token"])), None
        try:
            creds = load_credentials(opts.get("credentials"), opts.get("credentials_file"))
        except CredentialsError as e:
            raise ConfigError(f"providers.{provider.slug}: {e}") from None
        token_url = opts.get("token_url")
        return OAuthTokenSource(provider.slug, creds, str(token_url) if token_url else None,
                                provider.timeouts), creds.project_id

    async def prepare(self) -> None:
        """Make sure a valid access token is cached (fetching one if due) before an attempt."""
        await self._tokens.fresh()

    def _headers(self) -> dict[str, str]:
        token = self._tokens.current
        if token is None:
            raise UpstreamError(ErrorCategory.AUTHENTICATION, f"{self.provider.slug}: no access token "
                                "(the adapter's prepare() was not awaited)")
        return {"content-type": "application/json", "authorization": f"Bearer {token}", **self.provider.headers}

    def _model_url(self, pub: str, model_id: str, action: str) -> str:
        return f"{self._prefix}/publishers/{pub}/models/{model_id}:{action}"

    def build_chat(self, request: ChatRequest, model_id: str, max_output: int | None = None) -> UpstreamCall:
        slug = self.provider.slug
        pub = publisher(model_id)
        if pub == "anthropic":
            body: dict[str, Any] = msgspec.json.decode(build_anthropic_body(request, model_id, max_output, slug))
            body.pop("model", None)
            body["anthropic_version"] = self._anthropic_version
            if self._anthropic_beta:
                body["anthropic_beta"] = self._anthropic_beta
            action = "streamRawPredict" if request.stream else "rawPredict"
            return UpstreamCall(self._model_url(pub, model_id, action), self._headers(), msgspec.json.encode(body))
        if pub == "openapi":
            return UpstreamCall(f"{self._prefix}/endpoints/openapi/chat/completions", self._headers(),
                                encode_canonical(request, model_id, slug))
        action = "streamGenerateContent?alt=sse" if request.stream else "generateContent"
        return UpstreamCall(self._model_url(pub, model_id, action), self._headers(),
                            build_gemini_body(request, model_id, slug))

    def parse_chat(self, body: bytes) -> ChatResult:
        return parse_any(body, self.provider.slug)

    def stream_decoder(self) -> VertexStreamDecoder:
        return VertexStreamDecoder(self.provider.slug)

    def parse_error(self, status: int, headers: Mapping[str, str], body: bytes) -> UpstreamError:
        if status == 401:
            self._tokens.invalidate()  # revoked or expired early: fetch a new one next time
        try:
            shape = msgspec.json.decode(body, type=_ErrorShape)
        except (msgspec.DecodeError, msgspec.ValidationError):
            shape = _ErrorShape()
        if shape.type == "error":  # Claude's own error, passed through by Vertex
            return parse_anthropic_error(status, headers, body)
        return parse_google_error(self.provider.slug, status, headers, body)

    def build_embed(self, request: EmbedRequest, model_id: str) -> UpstreamCall:
        return UpstreamCall(self._model_url("google", model_id, "predict"), self._headers(),
                            embeddings.vertex_body(request, self.provider.slug))

    def parse_embed(self, body: bytes, headers: Mapping[str, str] | None = None) -> EmbedResult:
        return embeddings.parse_vertex(body, self.provider.slug)
