"""Fake Vertex AI with its own fake OAuth2 token endpoint.

    POST /v1/projects/{p}/locations/{l}/publishers/google/models/{m}:generateContent
                                                                  :streamGenerateContent?alt=sse
                                                                  :predict            (embeddings)
    POST /v1/projects/{p}/locations/{l}/publishers/anthropic/models/{m}:rawPredict
                                                                     :streamRawPredict
    POST /token                                                   (OAuth2 token endpoint)

The Gemini publisher behaves as GeminiFake; the Anthropic one as AnthropicFake, on the Messages body
Vertex takes (no ``model``; ``anthropic_version``, e.g. ``vertex-2023-10-16``, in the body). Every API call
needs ``Authorization: Bearer <token>`` with a token this fake issued and that has not expired
(else 401 UNAUTHENTICATED), for the configured project (else 403).

The token endpoint takes a ``jwt-bearer`` grant whose assertion must be an RS256 JWT signed by the
test service account's key (verified with its public key) with the right ``iss``, ``scope``,
``aud`` and a lifetime of at most an hour; or a ``refresh_token`` grant. It issues tokens that live
``token_ttl`` seconds and counts them in ``tokens_issued``; ``token_fail_status`` makes it fail.

``service_account(token_uri)`` makes a test service account (an RSA key generated once per run).
"""

from __future__ import annotations

import base64
import functools
import json
import secrets
import time
from typing import Any
from urllib.parse import parse_qs

from aiohttp import web

from .anthropic_fake import AnthropicFake
from .base import Exchange
from .gemini_fake import GeminiFake
from .openai_fake import embedding_vector
from .replies import Reply, count_words

JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
SCOPE = "https://www.googleapis.com/auth/cloud-platform"
GOOGLE_TOKEN_AUDIENCE = "https://oauth2.googleapis.com/token"  # google-auth signs this aud, wherever it posts


@functools.lru_cache(maxsize=1)
def _test_key_pem() -> str:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption()).decode()


def service_account(token_uri: str, project_id: str = "test-project") -> dict[str, Any]:
    """A service-account key file's content, as ``gcloud iam service-accounts keys create`` writes it."""
    return {"type": "service_account", "project_id": project_id, "private_key_id": "0123456789abcdef",
            "private_key": _test_key_pem(), "client_email": f"gateway@{project_id}.iam.gserviceaccount.com",
            "client_id": "1234567890", "auth_uri": "https://accounts.google.com/o/oauth2/auth",
            "token_uri": token_uri, "auth_provider_x509_cert_url": "https://www.googleapis.com/oauth2/v1/certs",
            "universe_domain": "googleapis.com"}


def _b64decode(seg: str) -> bytes:
    return base64.urlsafe_b64decode(seg + "=" * (-len(seg) % 4))


def verify_jwt(token: str, public_key: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """Header and claims of an RS256 JWT whose signature ``public_key`` verifies (else ValueError)."""
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding

    try:
        head, body, sig = token.split(".")
        header, claims = json.loads(_b64decode(head)), json.loads(_b64decode(body))
        public_key.verify(_b64decode(sig), f"{head}.{body}".encode(), padding.PKCS1v15(), hashes.SHA256())
    except (ValueError, InvalidSignature) as e:
        raise ValueError("Invalid JWT Signature.") from e
    return header, claims


class _ClaudeOnVertex(AnthropicFake):
    """Anthropic's behaviour behind Vertex: scripted replies come from the Vertex fake's script."""

    def __init__(self, owner: VertexFake) -> None:
        super().__init__(None, require_version=False)
        self.owner = owner

    def next_scripted(self) -> Reply | None:
        return self.owner.next_scripted()


class VertexFake(GeminiFake):
    """``url`` is the origin to configure as the provider's ``base_url``; ``token_url`` the token endpoint."""

    def __init__(self, credentials: dict[str, Any] | None = None, *, project: str = "test-project",
                 token_ttl: float = 3600, audience: str | None = None, refresh_token: str | None = None,
                 **kw: Any):
        super().__init__(None, **kw)
        self.credentials = credentials
        self.project = project
        self.token_ttl = token_ttl
        self.audience = audience or GOOGLE_TOKEN_AUDIENCE  # the JWT's expected aud
        self.refresh_token = refresh_token
        self.token_fail_status: int | None = None
        self.clock = time.time  # what "now" is for JWT times and token expiry (tests may move it)
        self.tokens_issued = 0
        self.assertions: list[tuple[dict[str, Any], dict[str, Any]]] = []  # (header, claims) received
        self._tokens: dict[str, float] = {}  # access token -> expiry (time.time())
        self.claude = _ClaudeOnVertex(self)

    @property
    def url(self) -> str:
        return self.root_url

    @property
    def token_url(self) -> str:
        return self.root_url + "/token"

    def routes(self) -> list[Any]:
        # v1 is what the gateway uses; Google's SDK uses v1beta1: the same methods.
        prefix = "/{version:v1|v1beta1}/projects/{project}/locations/{location}/publishers/{publisher}/models/{target}"
        return [("POST", "/token", self.token, False),
                ("POST", prefix, self.publisher_action, True),
                ("*", "/{tail:.*}", self.not_found, False)]

    def expire_tokens(self) -> None:
        """Make every issued token expire now (as if an hour had passed)."""
        self._tokens = {t: 0.0 for t in self._tokens}

    # ---- errors / auth -------------------------------------------------------
    def error_body(self, ex: Exchange, status: int, message: str | None, *, error_type: str | None = None,
                   code: str | None = None, param: str | None = None) -> dict[str, Any]:
        # Claude's own errors pass through Vertex in Anthropic's shape; quota errors are Vertex's.
        if "/publishers/anthropic/" in ex.request.path and status != 429:
            return self.claude.error_body(ex, status, message, error_type=error_type)
        return super().error_body(ex, status, message, error_type=error_type)

    async def check_auth(self, ex: Exchange) -> web.StreamResponse | None:
        if ex.request.path == "/token":
            return None
        auth = ex.request.headers.get("Authorization", "")
        token = auth[7:] if auth.startswith("Bearer ") else ""
        if self._tokens.get(token, 0.0) <= self.clock():
            return await self.error(ex, 401, "Request had invalid authentication credentials. Expected OAuth 2 "
                                             "access token, login cookie or other valid authentication credential. "
                                             "See https://developers.google.com/identity/sign-in/web/devconsole-project.")
        if ex.request.match_info.get("project") != self.project:
            return await self.error(ex, 403, f"Permission 'aiplatform.endpoints.predict' denied on resource "
                                             f"'//aiplatform.googleapis.com{ex.request.path.split(':')[0]}' "
                                             "(or it may not exist).")
        return None

    # ---- OAuth2 token endpoint ---------------------------------------------
    async def token(self, ex: Exchange) -> web.StreamResponse:
        form = {k: v[0] for k, v in parse_qs(ex.record.body.decode()).items()}
        if self.token_fail_status is not None:
            return await ex.send_json(self.token_fail_status, {"error": "internal_failure",
                                                               "error_description": "fake token endpoint failure"})
        grant = form.get("grant_type")
        if grant == JWT_BEARER:
            problem = self._check_assertion(form.get("assertion", ""))
            if problem:
                return await ex.send_json(400, {"error": "invalid_grant", "error_description": problem})
        elif grant == "refresh_token":
            if self.refresh_token is None or form.get("refresh_token") != self.refresh_token:
                return await ex.send_json(400, {"error": "invalid_grant", "error_description": "Bad Request"})
        else:
            return await ex.send_json(400, {"error": "unsupported_grant_type",
                                            "error_description": f"Invalid grant_type: {grant}"})
        self.tokens_issued += 1
        token = f"ya29.fake-{self.tokens_issued}-{secrets.token_urlsafe(12)}"
        self._tokens[token] = self.clock() + self.token_ttl
        return await ex.send_json(200, {"access_token": token, "expires_in": self.token_ttl, "token_type": "Bearer"})

    def _check_assertion(self, assertion: str) -> str:
        from cryptography.hazmat.primitives import serialization

        if self.credentials is None:
            return "no service account configured"
        public_key = serialization.load_pem_private_key(self.credentials["private_key"].encode(), None).public_key()
        try:
            header, claims = verify_jwt(assertion, public_key)
        except ValueError as e:
            return str(e)
        self.assertions.append((header, claims))
        now = self.clock()
        expected = {"alg": "RS256", "typ": "JWT", "kid": self.credentials["private_key_id"]}
        if {k: header.get(k) for k in expected} != expected:
            return "Invalid JWT header."
        if claims.get("iss") != self.credentials["client_email"]:
            return "Invalid issuer."
        if SCOPE not in str(claims.get("scope", "")).split():
            return "Invalid OAuth scope or ID token audience provided."
        if claims.get("aud") != self.audience:
            return "Invalid JWT audience."
        iat, exp = claims.get("iat"), claims.get("exp")
        if not isinstance(iat, int) or not isinstance(exp, int) or exp - iat > 3600 or exp <= now or iat > now + 60:
            return "Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe."
        return ""

    # ---- publishers ------------------------------------------------------------
    async def publisher_action(self, ex: Exchange) -> web.StreamResponse:
        publisher = ex.request.match_info["publisher"]
        model, _, action = ex.request.match_info["target"].partition(":")
        if publisher == "google":
            if action in ("generateContent", "streamGenerateContent"):
                return await self.generate(ex, model, stream=action == "streamGenerateContent")
            if action == "predict":
                return await self.predict(ex)
        elif publisher == "anthropic" and action in ("rawPredict", "streamRawPredict"):
            return await self.claude_messages(ex, model, stream=action == "streamRawPredict")
        return await self.error(ex, 404, f"Publisher Model `projects/{self.project}/locations/"
                                         f"{ex.request.match_info['location']}/publishers/{publisher}/models/"
                                         f"{model}` was not found or your project does not have access to it.")

    async def claude_messages(self, ex: Exchange, model: str, stream: bool) -> web.StreamResponse:
        body = ex.body
        if not isinstance(body, dict):
            return await self.claude.error(ex, 400, "invalid JSON")
        # Vertex documents vertex-2023-10-16; Anthropic's current SDK sends its API version date here.
        if not isinstance(body.get("anthropic_version"), str) or not body["anthropic_version"]:
            return await self.claude.error(ex, 400, "anthropic_version: Field required")
        if "model" in body:
            return await self.claude.error(ex, 400, "model: Extra inputs are not permitted")
        if bool(body.get("stream")) != stream:
            return await self.claude.error(ex, 400, "stream: streamRawPredict needs stream true, rawPredict false")
        # AnthropicFake reads the body from the record: show it the Messages API body for a while,
        # and leave the record as it was sent.
        ex.record.json = {k: v for k, v in body.items() if k != "anthropic_version"} | {"model": model}
        try:
            return await self.claude.messages(ex)
        finally:
            ex.record.json = body

    async def predict(self, ex: Exchange) -> web.StreamResponse:
        body = ex.body
        instances = body.get("instances") if isinstance(body, dict) else None
        if not isinstance(instances, list) or not instances:
            return await self.error(ex, 400, "Invalid instances: instances must be a non-empty list")
        dims = int((body.get("parameters") or {}).get("outputDimensionality") or self.embedding_dims)
        predictions = []
        for inst in instances:
            text = inst.get("content")
            if not isinstance(text, str):
                return await self.error(ex, 400, "Invalid instance: 'content' is required")
            predictions.append({"embeddings": {"values": embedding_vector(text, dims), "statistics": {
                "truncated": False, "token_count": count_words(text)}}})
        return await ex.send_json(200, {"predictions": predictions, "metadata": {
            "billableCharacterCount": sum(len(i["content"]) for i in instances)}})
