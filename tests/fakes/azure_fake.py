"""Fake Azure OpenAI resource and fake Microsoft Entra ID token endpoint.

    async with EntraTokenFake() as entra, AzureOpenAIFake(token_check=entra.valid,
                                                          deployments={"prod-4o": "gpt-4o"}) as azure:
        azure.root_url   # the resource endpoint (AZURE_OPENAI_ENDPOINT)
        entra.token_url  # ".../{tenant}/oauth2/v2.0/token", for options.token_url

The Azure fake reuses OpenAIFake's replies, switches and failures, on Azure's paths:
``/openai/deployments/{deployment}/chat/completions|embeddings?api-version=...`` (the api-version is
required: 404 without it, 400 when unknown) and the v1 API's ``/openai/v1/chat/completions|embeddings``
(the deployment in the body's ``model``). It authenticates with the ``api-key`` header or an Entra
bearer token, answers in Azure's shapes (``prompt_filter_results`` and per-choice
``content_filter_results``; streams open with a choices-less prompt-filter chunk), blocks prompts
containing a ``blocked_terms`` entry with Azure's content-filter 400, rejects ``stream_options`` on API
versions older than 2024-09-01-preview, and sends ``retry-after-ms`` with its 429s.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs

from aiohttp import web

from .base import Exchange, FailRule, FakeProvider
from .openai_fake import OpenAIFake, last_user_text, sse

SAFE = {"hate": {"filtered": False, "severity": "safe"}, "self_harm": {"filtered": False, "severity": "safe"},
        "sexual": {"filtered": False, "severity": "safe"}, "violence": {"filtered": False, "severity": "safe"}}
API_VERSIONS = frozenset({"2023-05-15", "2024-02-01", "2024-06-01", "2024-10-21", "2024-08-01-preview",
                          "2024-09-01-preview", "2024-10-01-preview", "2025-01-01-preview",
                          "2025-04-01-preview"})
ENTRA_SCOPE = "https://cognitiveservices.azure.com/.default"


def _filtered(category: str, severity: str = "high") -> dict[str, Any]:
    return {**SAFE, category: {"filtered": True, "severity": severity}}


class AzureOpenAIFake(OpenAIFake):
    url_suffix = ""
    request_id_prefix = ""

    def __init__(self, api_key: str | None = None, *, deployments: dict[str, str] | None = None,
                 token_check: Callable[[str], bool] | None = None,
                 blocked_terms: tuple[str, ...] = ("forbidden-topic",), async_filter: bool = False,
                 **kw: Any) -> None:
        """``deployments`` maps deployment names to the model each serves (None: any name is a
        deployment of the model of that name); ``token_check`` accepts Entra bearer tokens;
        ``async_filter`` adds the annotation chunks of Azure's asynchronous filter mode."""
        super().__init__(api_key, **kw)
        self.deployments = deployments
        self.token_check = token_check
        self.blocked_terms = blocked_terms
        self.async_filter = async_filter

    def routes(self) -> list[Any]:
        return [
            ("POST", "/openai/deployments/{deployment}/chat/completions", self.deployment_chat, True),
            ("POST", "/openai/deployments/{deployment}/embeddings", self.deployment_embeddings, True),
            ("POST", "/openai/v1/chat/completions", self.v1_chat, True),
            ("POST", "/openai/v1/embeddings", self.v1_embeddings, True),
            ("*", "/{tail:.*}", self.not_found, False),
        ]

    # ---- auth, errors, headers ----------------------------------------------
    async def check_auth(self, ex: Exchange) -> web.StreamResponse | None:
        if self.api_key is None and self.token_check is None:
            return None
        key = ex.request.headers.get("api-key")
        auth = ex.request.headers.get("Authorization", "")
        if self.api_key is not None and key == self.api_key:
            return None
        if auth.lower().startswith("bearer ") and self.token_check is not None and self.token_check(auth[7:].strip()):
            return None
        return await ex.send_json(401, {"error": {"code": "401", "message": (
            "Access denied due to invalid subscription key or wrong API endpoint. Make sure to provide a valid "
            "key for an active subscription and use a correct regional API endpoint for your resource.")}})

    def error_body(self, ex: Exchange, status: int, message: str | None, *,
                   error_type: str | None = None, code: str | None = None,
                   param: str | None = None) -> dict[str, Any]:
        if status == 429:
            return {"error": {"code": code or "429", "message": message or (
                f"Requests to the ChatCompletions_Create Operation under Azure OpenAI API version "
                f"{ex.request.query.get('api-version', 'v1')} have exceeded token rate limit of your current "
                f"OpenAI S0 pricing tier. Please retry after 1 second.")}}
        if status in (401, 404) and message is None:
            return {"error": {"code": str(status), "message": "Resource not found" if status == 404
                              else "Access denied due to invalid subscription key or wrong API endpoint."}}
        return super().error_body(ex, status, message, error_type=error_type, code=code, param=param)

    def failure_headers(self, rule: FailRule) -> dict[str, str]:
        if rule.status == 429 and rule.retry_after is not None:
            return {"retry-after-ms": str(int(float(rule.retry_after) * 1000)),
                    "x-ratelimit-remaining-requests": "0"}
        return {}

    def response_headers(self, ex: Exchange) -> dict[str, str]:
        return {"apim-request-id": ex.request_id or "apim-fake", "x-request-id": ex.request_id or "req-fake",
                "x-ratelimit-remaining-requests": "99", "x-ratelimit-remaining-tokens": "99000"}

    # ---- routes ---------------------------------------------------------------
    async def _deployment(self, ex: Exchange) -> str | web.StreamResponse:
        """The model a deployment serves, or Azure's error for the URL."""
        version = ex.request.query.get("api-version")
        if version is None:
            return await ex.send_json(404, {"error": {"code": "404", "message": "Resource not found"}})
        if version not in API_VERSIONS:
            return await ex.send_json(400, {"error": {"code": "BadRequest", "message": "API version not supported"}})
        name = ex.request.match_info["deployment"]
        if self.deployments is not None and name not in self.deployments:
            return await ex.send_json(404, {"error": {"code": "DeploymentNotFound", "message": (
                "The API deployment for this resource does not exist. If you created the deployment within "
                "the last 5 minutes, please wait a moment and try again.")}})
        return self.deployments[name] if self.deployments is not None else name

    def _v1_model(self, body: Any) -> str | None:
        name = body.get("model") if isinstance(body, dict) else None
        if not isinstance(name, str):
            return None
        return self.deployments.get(name) if self.deployments is not None else name

    async def deployment_chat(self, ex: Exchange) -> web.StreamResponse:
        model = await self._deployment(ex)
        if not isinstance(model, str):
            return model
        return await self._chat(ex, model)

    async def v1_chat(self, ex: Exchange) -> web.StreamResponse:
        model = self._v1_model(ex.body)
        if model is None:
            return await ex.send_json(404, {"error": {"code": "DeploymentNotFound", "message": (
                "The API deployment for this resource does not exist.")}})
        return await self._chat(ex, model)

    async def deployment_embeddings(self, ex: Exchange) -> web.StreamResponse:
        model = await self._deployment(ex)
        if not isinstance(model, str):
            return model
        self._as_model(ex, model)
        return await self.embeddings(ex)

    async def v1_embeddings(self, ex: Exchange) -> web.StreamResponse:
        model = self._v1_model(ex.body)
        if model is None:
            return await ex.send_json(404, {"error": {"code": "DeploymentNotFound", "message": "Not found."}})
        self._as_model(ex, model)
        return await self.embeddings(ex)

    @staticmethod
    def _as_model(ex: Exchange, model: str) -> None:
        """The OpenAI handlers read the model from the body; Azure takes it from the deployment. The
        recorded request (``fake.requests``) keeps what was sent."""
        if isinstance(ex.body, dict):
            ex.record = dataclasses.replace(ex.record, json={**ex.body, "model": model})

    async def _chat(self, ex: Exchange, model: str) -> web.StreamResponse:
        body = ex.body
        if isinstance(body, dict):
            version = ex.request.query.get("api-version", "v1")
            if body.get("stream_options") is not None and version[:10] < "2024-09-01":
                return await ex.send_json(400, {"error": {
                    "message": "Unknown parameter: 'stream_options'.", "type": "invalid_request_error",
                    "param": "stream_options", "code": "unknown_parameter"}})
            text = last_user_text(body.get("messages") or [])
            if any(term in text for term in self.blocked_terms):
                return await ex.send_json(400, {"error": {
                    "message": ("The response was filtered due to the prompt triggering Azure OpenAI's content "
                                "management policy. Please modify your prompt and retry. To learn more about our "
                                "content filtering policies please read our documentation: "
                                "https://go.microsoft.com/fwlink/?linkid=2198766"),
                    "type": None, "param": "prompt", "code": "content_filter", "status": 400,
                    "innererror": {"code": "ResponsibleAIPolicyViolation",
                                   "content_filter_result": _filtered("violence")}}})
        self._as_model(ex, model)
        self._azure_shapes(ex)
        return await self.chat_completions(ex)

    def _azure_shapes(self, ex: Exchange) -> None:
        """Wrap this exchange's writers so that OpenAI's answers come out in Azure's shape."""
        send_json, start_stream, send_event = ex.send_json, ex.start_stream, ex.send_event
        prompt_results = [{"prompt_index": 0, "content_filter_results": SAFE}]

        def choice_results(choice: dict[str, Any]) -> dict[str, Any]:
            if choice.get("finish_reason") == "content_filter":
                return _filtered("sexual")
            delta = choice.get("delta", choice.get("message")) or {}
            return SAFE if delta.get("content") else {}

        async def json_azure(status: int, obj: Any, headers: dict[str, str] | None = None) -> web.StreamResponse:
            if status == 200 and isinstance(obj, dict) and obj.get("object") == "chat.completion":
                obj["prompt_filter_results"] = prompt_results
                for c in obj["choices"]:
                    c["content_filter_results"] = choice_results(c)
            return await send_json(status, obj, headers)

        async def start_azure(headers: dict[str, str] | None = None) -> None:
            await start_stream(headers)
            await send_event(sse({"choices": [], "created": 0, "id": "", "model": "", "object": "",
                                  "prompt_filter_results": prompt_results}))

        offsets = itertools.count(1)

        async def event_azure(data: str) -> None:
            if not data.startswith("data: {"):
                return await send_event(data)
            obj = json.loads(data[6:])
            for c in obj.get("choices") or ():
                c["content_filter_results"] = choice_results(c)
            await send_event(sse(obj))
            if self.async_filter and any((c.get("delta") or {}).get("content") for c in obj.get("choices") or ()):
                n = next(offsets)
                await send_event(sse({**obj, "choices": [{
                    "index": 0, "finish_reason": None, "content_filter_results": SAFE,
                    "content_filter_offsets": {"check_offset": n, "start_offset": n - 1, "end_offset": n}}]}))
            return None

        ex.send_json = json_azure  # type: ignore[method-assign]
        ex.start_stream = start_azure  # type: ignore[method-assign]
        ex.send_event = event_azure  # type: ignore[method-assign]


class EntraTokenFake(FakeProvider):
    """The client-credentials grant of ``login.microsoftonline.com/{tenant}/oauth2/v2.0/token``.

    Issued tokens are valid for ``expires_in`` seconds (``valid(token)``, for AzureOpenAIFake's
    ``token_check``); ``revoke(token)`` invalidates one early. ``fail(...)`` answers the next requests
    with an Entra error.
    """

    url_suffix = ""

    def __init__(self, tenant_id: str = "tenant-1", client_id: str = "client-1", client_secret: str = "secret-1",
                 *, expires_in: int = 3599, **kw: Any) -> None:
        super().__init__(None, **kw)
        self.tenant_id, self.client_id, self.client_secret = tenant_id, client_id, client_secret
        self.expires_in = expires_in
        self.issued: dict[str, float] = {}
        self.revoked: set[str] = set()
        self._serial = itertools.count(1)

    @property
    def token_url(self) -> str:
        return self.root_url + "/{tenant}/oauth2/v2.0/token"

    def routes(self) -> list[Any]:
        return [("POST", "/{tenant}/oauth2/v2.0/token", self.token, True),
                ("*", "/{tail:.*}", self.not_found, False)]

    def valid(self, token: str) -> bool:
        expires = self.issued.get(token)
        return expires is not None and time.monotonic() < expires and token not in self.revoked

    def revoke(self, token: str) -> None:
        self.revoked.add(token)

    def error_body(self, ex: Exchange, status: int, message: str | None, *,
                   error_type: str | None = None, code: str | None = None,
                   param: str | None = None) -> dict[str, Any]:
        return {"error": error_type or ("temporarily_unavailable" if status >= 500 else "invalid_request"),
                "error_description": message or f"AADSTS50000: There was an error issuing a token ({status}).",
                "error_codes": [50000]}

    async def _aad(self, ex: Exchange, status: int, error: str, description: str) -> web.StreamResponse:
        return await ex.send_json(status, {"error": error, "error_description": description,
                                           "error_codes": [int(description[6:description.index(":")])]})

    async def token(self, ex: Exchange) -> web.StreamResponse:
        form = {k: v[0] for k, v in parse_qs(ex.record.body.decode()).items()}
        ex.record.json = form
        if ex.request.match_info["tenant"] != self.tenant_id:
            return await self._aad(ex, 400, "invalid_request", f"AADSTS90002: Tenant "
                                   f"'{ex.request.match_info['tenant']}' not found.")
        if form.get("grant_type") != "client_credentials":
            return await self._aad(ex, 400, "unsupported_grant_type", "AADSTS70003: The app requested an "
                                   "unsupported grant type.")
        if form.get("client_id") != self.client_id:
            return await self._aad(ex, 400, "unauthorized_client", "AADSTS700016: Application with identifier "
                                   f"'{form.get('client_id')}' was not found in the directory.")
        if form.get("client_secret") != self.client_secret:
            return await self._aad(ex, 401, "invalid_client", "AADSTS7000215: Invalid client secret provided. "
                                   "Ensure the secret being sent in the request is the client secret value.")
        if form.get("scope") != ENTRA_SCOPE:
            return await self._aad(ex, 400, "invalid_scope", f"AADSTS70011: The provided value for scope "
                                   f"{form.get('scope')} is not valid.")
        token = f"entra-{next(self._serial)}-{ex.request_id}"
        self.issued[token] = time.monotonic() + self.expires_in
        return await ex.send_json(200, {"token_type": "Bearer", "expires_in": self.expires_in,
                                        "ext_expires_in": self.expires_in, "access_token": token})

    async def not_found(self, ex: Exchange) -> web.StreamResponse:
        return await ex.send_json(404, {"error": "not_found", "error_description": "AADSTS90000: Not found."})
