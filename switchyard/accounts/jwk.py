"""JSON Web Keys and JWS signature checks, with ``cryptography`` only.

Two algorithms, each tied to one key type: RS256 (RSA >= 2048 bits, PKCS#1 v1.5, SHA-256) and ES256
(ECDSA P-256, SHA-256, the 64-byte ``r || s`` signature of RFC 7518 §3.4). Symmetric (``oct``) keys
are never loaded, so an HS256 token "signed" with a public key has no key to verify against.
"""

from __future__ import annotations

import base64
import binascii
import re
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

PublicKey = rsa.RSAPublicKey | ec.EllipticCurvePublicKey
_B64URL = re.compile(r"^[A-Za-z0-9_-]*$")


class JWKError(ValueError):
    pass


def b64url_decode(s: str) -> bytes:
    if not _B64URL.match(s):
        raise JWKError("not base64url")
    try:
        return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))
    except (binascii.Error, ValueError):
        raise JWKError("not base64url") from None


def b64url_encode(b: bytes) -> str:
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode("ascii")


def _int(s: Any) -> int:
    if not isinstance(s, str):
        raise JWKError("key parameter must be a string")
    return int.from_bytes(b64url_decode(s), "big")


class JWK:
    __slots__ = ("kid", "alg", "key")

    def __init__(self, kid: str | None, alg: str | None, key: PublicKey) -> None:
        self.kid, self.alg, self.key = kid, alg, key

    def fits(self, alg: str) -> bool:
        if self.alg is not None and self.alg != alg:
            return False
        if alg == "RS256":
            return isinstance(self.key, rsa.RSAPublicKey)
        if alg == "ES256":
            return isinstance(self.key, ec.EllipticCurvePublicKey) and isinstance(self.key.curve, ec.SECP256R1)
        return False


def load_jwk(d: Any) -> JWK | None:
    """A public signing key from a JWKS entry, or None for keys we never use (oct, enc, other curves)."""
    if not isinstance(d, dict) or d.get("use", "sig") != "sig":
        return None
    kid = d.get("kid") if isinstance(d.get("kid"), str) else None
    alg = d.get("alg") if isinstance(d.get("alg"), str) else None
    try:
        if d.get("kty") == "RSA":
            key: PublicKey = rsa.RSAPublicNumbers(_int(d.get("e")), _int(d.get("n"))).public_key()
            if key.key_size < 2048:
                return None
        elif d.get("kty") == "EC" and d.get("crv") == "P-256":
            key = ec.EllipticCurvePublicNumbers(_int(d.get("x")), _int(d.get("y")), ec.SECP256R1()).public_key()
        else:
            return None
    except (JWKError, ValueError):
        return None
    return JWK(kid, alg, key)


def verify_signature(alg: str, jwk: JWK, signing_input: bytes, signature: bytes) -> bool:
    if not jwk.fits(alg):
        return False
    try:
        if alg == "RS256":
            assert isinstance(jwk.key, rsa.RSAPublicKey)
            jwk.key.verify(signature, signing_input, padding.PKCS1v15(), hashes.SHA256())
            return True
        if alg == "ES256":
            assert isinstance(jwk.key, ec.EllipticCurvePublicKey)
            if len(signature) != 64:
                return False
            der = encode_dss_signature(int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big"))
            jwk.key.verify(der, signing_input, ec.ECDSA(hashes.SHA256()))
            return True
    except InvalidSignature:
        return False
    return False
