"""API keys and the records describing them.

A key is ``sy-`` followed by 43 url-safe characters (32 random bytes). Only its SHA-256 (hex) is
stored; the key itself exists once, in the answer to its creation. Records never show the hash or
the encrypted BYOK keys in ``repr``, and ``public()`` (what the admin API and CLI print) has neither.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import time
from datetime import datetime, timezone
from typing import Any

import msgspec

from switchyard.accounts.principal import Limits

KEY_PREFIX = "sy-"
_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def generate_key() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(32)


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def looks_like_key(token: str) -> bool:
    return token.startswith(KEY_PREFIX) and 40 <= len(token) <= 128


def ulid(now: float | None = None) -> str:
    """A ULID: 48-bit millisecond timestamp then 80 random bits, Crockford base32 (sortable)."""
    ms = int((time.time() if now is None else now) * 1000) & ((1 << 48) - 1)
    value = (ms << 80) | int.from_bytes(os.urandom(10), "big")
    return "".join(_CROCKFORD[(value >> (5 * i)) & 31] for i in reversed(range(26)))


def new_key_id() -> str:
    return "key_" + ulid()


class KeyRecord(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    key_hash: str
    name: str
    project: str | None = None
    created_by: str = "admin"  # the creating key's id, "admin", or "oidc:<subject>"
    allowed_models: list[str] | None = None  # None: every model
    limits: Limits = Limits()
    tags: list[str] = msgspec.field(default_factory=list)
    is_admin: bool = False
    can_create_keys: bool = False  # may create sub-keys within its own scope (see accounts.policy)
    byok: dict[str, str] = msgspec.field(default_factory=dict)  # provider slug -> AES-GCM ciphertext
    expires_at: float | None = None
    revoked_at: float | None = None
    created_at: float = 0.0
    updated_at: float = 0.0

    def __repr__(self) -> str:  # the hash and the BYOK ciphertexts stay out of every log line
        return f"KeyRecord(id={self.id!r}, name={self.name!r}, project={self.project!r})"

    __str__ = __repr__

    def status(self, now: float | None = None) -> str:
        if self.revoked_at is not None:
            return "revoked"
        if self.expires_at is not None and self.expires_at <= (time.time() if now is None else now):
            return "expired"
        return "active"

    def public(self) -> dict[str, Any]:
        """What may be shown: never the key, its hash, or BYOK keys (only which providers have one)."""
        return {
            "id": self.id, "object": "api_key", "name": self.name, "project": self.project,
            "created_by": self.created_by, "allowed_models": self.allowed_models,
            "limits": msgspec.to_builtins(self.limits), "tags": list(self.tags),
            "is_admin": self.is_admin, "can_create_keys": self.can_create_keys,
            "byok_providers": sorted(self.byok), "status": self.status(),
            "expires_at": iso(self.expires_at), "revoked_at": iso(self.revoked_at),
            "created_at": iso(self.created_at), "updated_at": iso(self.updated_at),
        }


class ProjectRecord(msgspec.Struct, frozen=True, kw_only=True):
    name: str
    limits: Limits = Limits()
    allowed_models: list[str] | None = None
    created_at: float = 0.0
    updated_at: float = 0.0

    def public(self) -> dict[str, Any]:
        return {"name": self.name, "object": "project", "limits": msgspec.to_builtins(self.limits),
                "allowed_models": self.allowed_models, "created_at": iso(self.created_at),
                "updated_at": iso(self.updated_at)}


def iso(ts: float | None) -> str | None:
    if ts is None:
        return None
    return datetime.fromtimestamp(ts, timezone.utc).isoformat().replace("+00:00", "Z")


def parse_time(value: str) -> float:
    """``2027-01-01`` (midnight UTC) or an ISO 8601 date-time (UTC unless it says otherwise)."""
    try:
        dt = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"not an ISO 8601 date or date-time: {value!r}") from None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=timezone.utc)
    return dt.timestamp()
