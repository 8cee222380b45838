"""The Anthropic Messages provider adapter: wires request, response, stream and error translation
to one configured provider.

Provider options read here: ``anthropic_version`` (default ``2023-06-01``), ``anthropic_beta``
(a string or a list of beta names) and ``auth`` (``"bearer"`` sends ``Authorization: Bearer``
instead of ``x-api-key``, for Anthropic-compatible endpoints that want it).

Pass-through (the caller speaks the Messages API too): ``passthrough_call`` / ``passthrough_result``
/ ``passthrough_stream`` relay the caller's own body and the provider's own answer (see
``passthrough.py``), and ``count_tokens_call`` addresses ``/v1/messages/count_tokens``. The caller's
key is never sent: every call carries this provider's credentials only.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import msgspec

from switchyard.canonical import ChatRequest, ChatResult, Usage
from switchyard.config.model import ProviderConfig
from switchyard.errors import ErrorCategory, RequestError, UpstreamError
from switchyard.protocols.anthropic.errors import error_from_wire, parse_error
from switchyard.protocols.anthropic.passthrough import (
    AnthropicPassthroughStream,
    merge_beta,
    passthrough_body,
)
from switchyard.protocols.anthropic.request import build_body
from switchyard.protocols.anthropic.request_in import BETA_KEY, VERSION_KEY
from switchyard.protocols.anthropic.response import (
    WireUsage,
    finish_reason,
    parse_message,
    to_usage,
)
from switchyard.protocols.anthropic.stream import AnthropicStreamDecoder
from switchyard.providers.base import ProviderAdapter, UpstreamCall

DEFAULT_VERSION = "2023-06-01"
# What /v1/messages/count_tokens accepts of a Messages body (it rejects max_tokens, stream, ...).
COUNT_TOKENS_KEYS = frozenset({"model", "messages", "system", "tools", "tool_choice", "thinking", "mcp_servers",
                               "output_config", "output_format", "context_management", "container",
                               "cache_control"})


class AnthropicAdapter(ProviderAdapter):
    protocol = "anthropic-messages"
    byok_header = "x-api-key"

    def __init__(self, provider: ProviderConfig) -> None:
        super().__init__(provider)
        base = provider.base_url.rstrip("/")
        # Accept both "https://api.anthropic.com" and "https://api.anthropic.com/v1".
        self._url = base + ("/messages" if base.endswith("/v1") else "/v1/messages")
        self._count_url = self._url + "/count_tokens"
        self._headers = self._static_headers(provider)
        self._stream_headers = {**self._headers, "accept": "text/event-stream"}
        self._pinned_version = "anthropic_version" in provider.options

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

    # ---- pass-through: the caller speaks this protocol too ----

    def _passthrough_headers(self, raw: Mapping[str, Any], stream: bool) -> dict[str, str]:
        headers = self._stream_headers if stream else self._headers
        beta = raw.get(BETA_KEY)
        version = None if self._pinned_version else raw.get(VERSION_KEY)
        if not beta and not version:
            return headers
        headers = dict(headers)
        if beta:
            merged = merge_beta(headers.get("anthropic-beta"), beta)
            if merged:
                headers["anthropic-beta"] = merged
        if isinstance(version, str) and version.strip() and all(c.isalnum() or c in "-_." for c in version.strip()):
            headers["anthropic-version"] = version.strip()
        return headers

    def passthrough_call(self, raw: dict[str, Any], model_id: str, stream: bool,
                         kind: str = "language") -> UpstreamCall:
        if kind != "language":
            raise RequestError(f"{self.provider.slug} ({self.protocol}) does not serve {kind} models.",
                               category=ErrorCategory.UNSUPPORTED)
        body = passthrough_body(raw, model_id, stream, self.provider.slug)
        return UpstreamCall(self._url, self._passthrough_headers(raw, stream), msgspec.json.encode(body))

    def passthrough_result(self, body: bytes, kind: str = "language") -> tuple[Any, Usage | None, str | None]:
        """The provider's message (to be returned with our metadata), its usage and finish reason."""
        try:
            data = msgspec.json.decode(body)
        except msgspec.DecodeError:
            data = None
        if isinstance(data, dict) and data.get("type") == "error" and isinstance(data.get("error"), dict):
            err = data["error"]
            raise error_from_wire(0, err.get("type"), str(err.get("message") or err.get("type")), data)
        if not isinstance(data, dict) or not isinstance(data.get("content"), list):
            raise UpstreamError(ErrorCategory.BAD_RESPONSE,
                                f"{self.provider.slug}: provider returned an unreadable message")
        usage: Usage | None = None
        if isinstance(data.get("usage"), dict):
            try:
                usage = to_usage(msgspec.convert(data["usage"], WireUsage))
            except msgspec.ValidationError:
                usage = None
        raw_stop = data.get("stop_reason")
        return data, usage, finish_reason(raw_stop) if isinstance(raw_stop, str) else None

    def passthrough_stream(self, wants_usage: bool = True) -> AnthropicPassthroughStream:
        return AnthropicPassthroughStream(self.provider.slug)

    def count_tokens_call(self, raw: dict[str, Any], model_id: str) -> UpstreamCall:
        """``POST /v1/messages/count_tokens`` for the caller's body, addressed to ``model_id``."""
        drop = frozenset(k for k in raw if k not in COUNT_TOKENS_KEYS)
        body = passthrough_body(raw, model_id, False, self.provider.slug, drop=drop)
        for key in [k for k in body if k not in COUNT_TOKENS_KEYS]:
            del body[key]  # anything providerOptions merged that counting does not take
        return UpstreamCall(self._count_url, self._passthrough_headers(raw, False), msgspec.json.encode(body))
