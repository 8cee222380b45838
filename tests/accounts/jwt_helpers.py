"""Test-time keys, a JWT signer and a local OIDC issuer (discovery + JWKS) on 127.0.0.1."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from typing import Any

from aiohttp import web
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

from switchyard.accounts.jwk import b64url_encode


def _b64json(obj: Any) -> str:
    return b64url_encode(json.dumps(obj, separators=(",", ":")).encode())


class SigningKey:
    def __init__(self, kind: str, kid: str) -> None:
        self.kind, self.kid = kind, kid
        if kind == "RS256":
            self.private: Any = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        else:
            self.private = ec.generate_private_key(ec.SECP256R1())

    def jwk(self) -> dict[str, Any]:
        nums = self.private.public_key().public_numbers()
        if self.kind == "RS256":
            n = nums.n.to_bytes((nums.n.bit_length() + 7) // 8, "big")
            return {"kty": "RSA", "kid": self.kid, "use": "sig", "alg": "RS256", "n": b64url_encode(n),
                    "e": b64url_encode(nums.e.to_bytes(3, "big"))}
        return {"kty": "EC", "kid": self.kid, "use": "sig", "alg": "ES256", "crv": "P-256",
                "x": b64url_encode(nums.x.to_bytes(32, "big")), "y": b64url_encode(nums.y.to_bytes(32, "big"))}

    def public_pem(self) -> bytes:
        return self.private.public_key().public_bytes(serialization.Encoding.PEM,
                                                      serialization.PublicFormat.SubjectPublicKeyInfo)

    def sign(self, claims: dict[str, Any], header: dict[str, Any] | None = None) -> str:
        head = {"alg": self.kind, "typ": "JWT", "kid": self.kid, **(header or {})}
        signing_input = f"{_b64json(head)}.{_b64json(claims)}".encode()
        if self.kind == "RS256":
            sig = self.private.sign(signing_input, padding.PKCS1v15(), hashes.SHA256())
        else:
            r, s = decode_dss_signature(self.private.sign(signing_input, ec.ECDSA(hashes.SHA256())))
            sig = r.to_bytes(32, "big") + s.to_bytes(32, "big")
        return f"{signing_input.decode()}.{b64url_encode(sig)}"


def unsigned(claims: dict[str, Any], header: dict[str, Any]) -> str:
    return f"{_b64json(header)}.{_b64json(claims)}."


def hs256(claims: dict[str, Any], secret: bytes, kid: str) -> str:
    signing_input = f"{_b64json({'alg': 'HS256', 'typ': 'JWT', 'kid': kid})}.{_b64json(claims)}".encode()
    return f"{signing_input.decode()}.{b64url_encode(hmac.new(secret, signing_input, hashlib.sha256).digest())}"


class Issuer:
    """A local identity provider: ``/.well-known/openid-configuration`` and ``/jwks``."""

    def __init__(self) -> None:
        self.keys: list[SigningKey] = []
        self.jwks_fetches = 0
        self.discovery_issuer: str | None = None  # override to test a mismatching discovery document
        self._runner: web.AppRunner | None = None
        self.url = ""

    async def __aenter__(self) -> Issuer:
        app = web.Application()
        app.router.add_get("/.well-known/openid-configuration", self._discovery)
        app.router.add_get("/jwks", self._jwks)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{port}"
        return self

    async def __aexit__(self, *exc: Any) -> None:
        assert self._runner is not None
        await self._runner.cleanup()

    async def _discovery(self, request: web.Request) -> web.Response:
        return web.json_response({"issuer": self.discovery_issuer or self.url, "jwks_uri": f"{self.url}/jwks"})

    async def _jwks(self, request: web.Request) -> web.Response:
        self.jwks_fetches += 1
        return web.json_response({"keys": [k.jwk() for k in self.keys]})

    def claims(self, **over: Any) -> dict[str, Any]:
        now = int(time.time())
        return {"iss": self.url, "aud": "switchyard", "sub": "user-1", "iat": now, "nbf": now,
                "exp": now + 300, **over}
