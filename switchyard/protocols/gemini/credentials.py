"""Google credentials for Vertex AI: read a credentials JSON and make the OAuth2 grant that trades it
for an access token.

- ``service_account`` keys (``gcloud iam service-accounts keys create``): a JWT signed RS256 with the
  account's private key is the assertion of a ``urn:ietf:params:oauth:grant-type:jwt-bearer`` grant
  (RFC 7523), as Google's own auth libraries do. Header ``{alg, typ, kid}``, claims ``{iss, scope,
  aud, iat, exp}`` with a lifetime of one hour. ``aud`` is always Google's token endpoint, as
  ``google-auth`` signs it, even when the grant is posted elsewhere (the key's ``token_uri``, or a
  ``token_url`` override).
- ``authorized_user`` (``gcloud auth application-default login``): a ``refresh_token`` grant.

Nothing here prints a secret: ``repr`` of a credential names the account only.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from typing import Any

SCOPE = "https://www.googleapis.com/auth/cloud-platform"
DEFAULT_TOKEN_URI = "https://oauth2.googleapis.com/token"
AUDIENCE = DEFAULT_TOKEN_URI  # what Google's token endpoint expects in ``aud``
JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
ASSERTION_LIFETIME = 3600  # seconds; Google's maximum


class CredentialsError(ValueError):
    """The credentials cannot be used; the message never contains a secret."""


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _compact_json(obj: Any) -> bytes:
    return json.dumps(obj, separators=(",", ":")).encode()


class ServiceAccount:
    __slots__ = ("_key", "client_email", "key_id", "project_id", "token_uri")

    def __init__(self, info: Mapping[str, Any]) -> None:
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import rsa

        for field in ("client_email", "private_key"):
            if not isinstance(info.get(field), str) or not info[field]:
                raise CredentialsError(f"service account credentials lack '{field}'")
        try:
            key = serialization.load_pem_private_key(info["private_key"].encode(), password=None)
        except (ValueError, TypeError):
            raise CredentialsError("the service account's private_key is not a readable PEM key") from None
        if not isinstance(key, rsa.RSAPrivateKey):
            raise CredentialsError("the service account's private_key is not an RSA key")
        self._key = key
        self.client_email: str = info["client_email"]
        self.key_id: str | None = info.get("private_key_id") or None
        self.token_uri: str = info.get("token_uri") or DEFAULT_TOKEN_URI
        self.project_id: str | None = info.get("project_id") or None

    def __repr__(self) -> str:
        return f"ServiceAccount({self.client_email!r})"

    def assertion(self, now: int) -> str:
        """The signed JWT for a token request at ``now`` (seconds since the epoch)."""
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import padding

        header: dict[str, str] = {"alg": "RS256", "typ": "JWT"}
        if self.key_id:
            header["kid"] = self.key_id
        claims = {"iss": self.client_email, "scope": SCOPE, "aud": AUDIENCE,
                  "iat": now, "exp": now + ASSERTION_LIFETIME}
        signing_input = f"{b64url(_compact_json(header))}.{b64url(_compact_json(claims))}"
        signature = self._key.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
        return f"{signing_input}.{b64url(signature)}"

    def grant(self, now: int) -> dict[str, str]:
        return {"grant_type": JWT_BEARER, "assertion": self.assertion(now)}


class AuthorizedUser:
    __slots__ = ("_client_id", "_client_secret", "_refresh_token", "project_id", "token_uri")

    def __init__(self, info: Mapping[str, Any]) -> None:
        for field in ("client_id", "client_secret", "refresh_token"):
            if not isinstance(info.get(field), str) or not info[field]:
                raise CredentialsError(f"authorized_user credentials lack '{field}'")
        self._client_id: str = info["client_id"]
        self._client_secret: str = info["client_secret"]
        self._refresh_token: str = info["refresh_token"]
        self.token_uri: str = info.get("token_uri") or DEFAULT_TOKEN_URI
        self.project_id: str | None = info.get("quota_project_id") or None

    def __repr__(self) -> str:
        return "AuthorizedUser()"

    def grant(self, now: int) -> dict[str, str]:
        return {"grant_type": "refresh_token", "client_id": self._client_id,
                "client_secret": self._client_secret, "refresh_token": self._refresh_token}


Credentials = ServiceAccount | AuthorizedUser


def load_credentials(inline: Any = None, path: str | None = None) -> Credentials:
    """From ``inline`` (a dict, or its JSON text) or else the JSON file at ``path``."""
    info: Any = inline
    if isinstance(info, str):
        try:
            info = json.loads(info)
        except ValueError:
            raise CredentialsError("inline credentials are not valid JSON") from None
    if info is None and path:
        try:
            with open(path, encoding="utf-8") as f:
                info = json.load(f)
        except OSError as e:
            raise CredentialsError(f"cannot read credentials file {path}: {e.strerror}") from None
        except ValueError:
            raise CredentialsError(f"credentials file {path} is not valid JSON") from None
    if not isinstance(info, dict):
        raise CredentialsError("no credentials: set options.credentials_file, options.credentials "
                               "or options.access_token")
    kind = info.get("type")
    if kind == "service_account":
        return ServiceAccount(info)
    if kind == "authorized_user":
        return AuthorizedUser(info)
    raise CredentialsError(f"credentials of type {kind!r} are not supported "
                           "(use a service account key or gcloud application-default credentials)")
