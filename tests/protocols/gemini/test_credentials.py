"""Google credentials: loading, and the RS256 JWT assertion of a service account."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from switchyard.protocols.gemini.credentials import (
    JWT_BEARER,
    SCOPE,
    AuthorizedUser,
    CredentialsError,
    ServiceAccount,
    load_credentials,
)
from tests.fakes.vertex_fake import service_account, verify_jwt

pytest.importorskip("cryptography")

TOKEN_URI = "https://oauth2.googleapis.com/token"


def segments(jwt: str) -> tuple[dict[str, object], dict[str, object]]:
    head, body, _ = jwt.split(".")
    pad = lambda s: s + "=" * (-len(s) % 4)
    return json.loads(base64.urlsafe_b64decode(pad(head))), json.loads(base64.urlsafe_b64decode(pad(body)))


def public_key(info: dict[str, object]):  # type: ignore[no-untyped-def]
    from cryptography.hazmat.primitives import serialization
    return serialization.load_pem_private_key(str(info["private_key"]).encode(), None).public_key()


def test_assertion_header_claims_and_signature() -> None:
    info = service_account(TOKEN_URI)
    sa = ServiceAccount(info)
    jwt = sa.assertion(1_750_000_000)
    assert "=" not in jwt  # base64url without padding
    header, claims = verify_jwt(jwt, public_key(info))  # raises unless the signature verifies
    assert header == {"alg": "RS256", "typ": "JWT", "kid": "0123456789abcdef"}
    assert claims == {"iss": info["client_email"], "scope": SCOPE, "aud": TOKEN_URI,
                      "iat": 1_750_000_000, "exp": 1_750_003_600}
    assert segments(jwt) == (header, claims)


def test_a_tampered_assertion_does_not_verify() -> None:
    info = service_account(TOKEN_URI)
    head, _, sig = ServiceAccount(info).assertion(1_750_000_000).split(".")
    forged = base64.urlsafe_b64encode(json.dumps({"iss": "evil@x", "aud": TOKEN_URI}).encode()).decode().rstrip("=")
    with pytest.raises(ValueError):
        verify_jwt(f"{head}.{forged}.{sig}", public_key(info))


def test_google_auth_accepts_the_assertion() -> None:
    """Cross-check with Google's own library when it is installed (google-genai brings it)."""
    gjwt = pytest.importorskip("google.auth.jwt")
    from cryptography.hazmat.primitives import serialization

    info = service_account(TOKEN_URI)
    pem = public_key(info).public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    import time
    claims = gjwt.decode(ServiceAccount(info).grant(int(time.time()))["assertion"], certs=pem, audience=TOKEN_URI)
    assert claims["iss"] == info["client_email"] and claims["scope"] == SCOPE


def test_grant_form() -> None:
    grant = ServiceAccount(service_account(TOKEN_URI)).grant(100)
    assert set(grant) == {"grant_type", "assertion"} and grant["grant_type"] == JWT_BEARER


def test_key_id_is_optional() -> None:
    info = {k: v for k, v in service_account(TOKEN_URI).items() if k != "private_key_id"}
    header, _ = segments(ServiceAccount(info).assertion(1))
    assert header == {"alg": "RS256", "typ": "JWT"}


def test_load_from_file_inline_dict_and_inline_json(tmp_path: Path) -> None:
    info = service_account("http://127.0.0.1:9/token", project_id="proj-1")
    path = tmp_path / "sa.json"
    path.write_text(json.dumps(info))
    for creds in (load_credentials(path=str(path)), load_credentials(info), load_credentials(json.dumps(info)),
                  load_credentials(info, path="/nonexistent")):  # inline wins
        assert isinstance(creds, ServiceAccount)
        assert (creds.token_uri, creds.project_id) == ("http://127.0.0.1:9/token", "proj-1")


def test_authorized_user() -> None:
    creds = load_credentials({"type": "authorized_user", "client_id": "cid", "client_secret": "csecret",
                              "refresh_token": "1//rt", "quota_project_id": "qp"})
    assert isinstance(creds, AuthorizedUser)
    assert creds.grant(0) == {"grant_type": "refresh_token", "client_id": "cid", "client_secret": "csecret",
                              "refresh_token": "1//rt"}
    assert (creds.token_uri, creds.project_id) == (TOKEN_URI, "qp")
    assert "csecret" not in repr(creds) and "1//rt" not in repr(creds)


def test_repr_never_shows_the_key() -> None:
    info = service_account(TOKEN_URI)
    text = repr(ServiceAccount(info))
    assert "PRIVATE" not in text and info["client_email"] in text


@pytest.mark.parametrize(("inline", "path", "message"), [
    (None, None, "no credentials"),
    (None, "/nonexistent/sa.json", "cannot read credentials file"),
    ("{not json", None, "not valid JSON"),
    ({"type": "external_account"}, None, "'external_account' are not supported"),
    ({"type": "service_account", "private_key": "x"}, None, "lack 'client_email'"),
    ({"type": "service_account", "client_email": "a@b", "private_key": "-----BEGIN PRIVATE KEY-----\nAAAA"},
     None, "not a readable PEM key"),
    ({"type": "authorized_user", "client_id": "x"}, None, "lack 'client_secret'"),
])
def test_unusable_credentials(inline: object, path: str | None, message: str) -> None:
    with pytest.raises(CredentialsError) as exc:
        load_credentials(inline, path)
    assert message in str(exc.value)


def test_invalid_json_file(tmp_path: Path) -> None:
    path = tmp_path / "sa.json"
    path.write_text("{")
    with pytest.raises(CredentialsError, match="is not valid JSON"):
        load_credentials(path=str(path))
