"""Encryption at rest for BYOK provider keys: AES-256-GCM under a key derived (HKDF-SHA256) from
``accounts.secret_key`` / ``SWITCHYARD_SECRET_KEY``. Each ciphertext is bound (associated data) to
the API key id and provider slug it belongs to, so it cannot be moved to another record."""

from __future__ import annotations

import base64
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

_VERSION = "v1."


class SecretBoxError(Exception):
    pass


class SecretBox:
    __slots__ = ("_aead",)

    def __init__(self, secret: str) -> None:
        if len(secret) < 16:
            raise SecretBoxError("the secret key must be at least 16 characters")
        key = HKDF(algorithm=hashes.SHA256(), length=32, salt=b"switchyard",
                   info=b"switchyard byok v1").derive(secret.encode("utf-8"))
        self._aead = AESGCM(key)

    def __repr__(self) -> str:
        return "SecretBox(***)"

    def encrypt(self, plaintext: str, context: str) -> str:
        nonce = os.urandom(12)
        ct = self._aead.encrypt(nonce, plaintext.encode("utf-8"), context.encode("utf-8"))
        return _VERSION + base64.urlsafe_b64encode(nonce + ct).decode("ascii")

    def decrypt(self, blob: str, context: str) -> str:
        if not blob.startswith(_VERSION):
            raise SecretBoxError("unknown ciphertext format")
        try:
            raw = base64.urlsafe_b64decode(blob[len(_VERSION):])
            return self._aead.decrypt(raw[:12], raw[12:], context.encode("utf-8")).decode("utf-8")
        except (InvalidTag, ValueError):
            raise SecretBoxError("cannot decrypt (wrong secret key or tampered data)") from None


def byok_context(key_id: str, provider: str) -> str:
    return f"{key_id}/{provider}"
