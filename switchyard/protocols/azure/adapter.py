"""Azure OpenAI: OpenAI's Chat Completions and embeddings behind deployments.

Addressing (``base_url`` is the resource endpoint, ``https://{resource}.openai.azure.com``):

- dated API versions (``options.api_version``, default ``2024-10-21``, the latest GA of the
  deployments API): ``{endpoint}/openai/deployments/{deployment}/chat/completions?api-version=...``
  (and ``/embeddings``); the body's ``model`` is the deployment too, which Azure accepts and ignores.
- ``options.api_version: v1``, the v1 GA API (August 2025): ``{endpoint}/openai/v1/chat/completions``
  with the deployment as the body's ``model`` and no api-version
  (https://learn.microsoft.com/azure/ai-foundry/openai/api-version-lifecycle).

The deployment is the catalog's provider model id unless ``options.deployments`` maps that id to
another name.

Auth, first configured wins: ``options.bearer_token`` (a static Entra token); ``options.tenant_id``,
``client_id`` and ``client_secret`` (client-credentials tokens, see ``auth``; ``options.token_url``
moves the token endpoint); ``api_key`` as the ``api-key`` header.

``stream_options`` appeared in 2024-09-01-preview and is in the 2024-10-21 GA (Azure's
"API preview lifecycle" page; griptape-ai/griptape#1640); older versions answer 400 "Unknown parameter:
'stream_options'" (agno-agi/agno#1066), so it is not sent to them and streams go without usage.
"""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import quote

import msgspec

from switchyard.config.model import ProviderConfig
from switchyard.errors import UpstreamError
from switchyard.protocols.azure import errors
from switchyard.protocols.azure.auth import EntraTokenSource
from switchyard.protocols.openai_chat.adapter import OpenAIChatAdapter

DEFAULT_API_VERSION = "2024-10-21"
_STREAM_OPTIONS_SINCE = "2024-09-01"


class AzureOpenAIAdapter(OpenAIChatAdapter):
    protocol = "azure-openai"
    byok_header = "api-key"
    default_quirks = "azure"

    def __init__(self, provider: ProviderConfig) -> None:
        opts = provider.options
        endpoint = provider.base_url.rstrip("/")
        if not endpoint:
            raise ValueError(f"providers.{provider.slug}: base_url (the resource endpoint, "
                             f"AZURE_OPENAI_ENDPOINT) is required")
        self.api_version = str(opts.get("api_version") or DEFAULT_API_VERSION)
        self.v1 = self.api_version == "v1" or endpoint.endswith("/openai/v1")
        for suffix in ("/openai/v1", "/openai"):  # accept the endpoint with Azure's own path too
            if endpoint.endswith(suffix):
                endpoint = endpoint[:-len(suffix)]
                break
        self.endpoint_url = endpoint
        deployments = opts.get("deployments") or {}
        if not isinstance(deployments, dict):
            raise ValueError(f"providers.{provider.slug}: options.deployments must map model ids to deployments")
        self.deployments: dict[str, str] = {str(k): str(v) for k, v in deployments.items()}
        self._tokens: EntraTokenSource | None = None
        self._bearer: str | None = opts.get("bearer_token") or None
        creds = [opts.get(k) for k in ("tenant_id", "client_id", "client_secret")]
        if self._bearer is None and any(creds):
            if not all(creds):
                raise ValueError(f"providers.{provider.slug}: Entra ID needs options.tenant_id, client_id "
                                 f"and client_secret")
            self._tokens = EntraTokenSource(provider.slug, *map(str, creds),
                                            token_url=opts.get("token_url"))
        elif self._bearer is None and not provider.api_key:
            raise ValueError(f"providers.{provider.slug}: set api_key (AZURE_OPENAI_API_KEY), "
                             f"options.bearer_token or options.tenant_id/client_id/client_secret")
        super().__init__(provider)
        if not self.v1 and self.api_version < _STREAM_OPTIONS_SINCE:
            self.quirks = msgspec.structs.replace(self.quirks, stream_options=False)
        self._query = "" if self.v1 else "?api-version=" + quote(self.api_version, safe="")

    def _auth_headers(self) -> dict[str, str]:
        if self._bearer is not None:
            return {"authorization": f"Bearer {self._bearer}"}
        if self._tokens is not None:
            token = self._tokens.cached
            return {"authorization": f"Bearer {token}"} if token else {}
        return {"api-key": self.provider.api_key or ""}

    async def prepare(self) -> None:
        """Awaited before each attempt: renews the Entra token when it is due (one request for all
        waiting callers) and puts it in the headers the next calls are built with."""
        if self._tokens is None:
            return
        token = await self._tokens.token()
        if self._headers.get("authorization") != f"Bearer {token}":
            self._set_headers({"authorization": f"Bearer {token}"})

    def target(self, model_id: str) -> str:
        return self.deployments.get(model_id, model_id)

    def endpoint(self, kind: str, target: str) -> str:
        path = "embeddings" if kind == "embedding" else "chat/completions"
        if self.v1:
            return f"{self.endpoint_url}/openai/v1/{path}"
        return f"{self.endpoint_url}/openai/deployments/{quote(target, safe='')}/{path}{self._query}"

    def parse_error(self, status: int, headers: Mapping[str, str], body: bytes) -> UpstreamError:
        return errors.parse_error(self.provider.slug, status, headers, body)
