"""Who is calling: ``Authenticator.authenticate(headers) -> Principal``.

Credentials: ``Authorization: Bearer <token>`` or ``x-api-key: <token>`` (Anthropic clients). A token
is the admin key (compared in constant time), an API key (``sy-...``: SHA-256, then a lookup in the
in-memory cache and a constant-time compare), or a JWT from a configured OIDC issuer.

When is authentication required? ``accounts.require_auth: true``: always; ``false``: never (requests
without credentials, or with a token that is none of the above - OpenAI clients insist on sending
something - get ``ANONYMOUS``; an ``sy-`` key or JWT that is presented is still verified); unset
(the default): as soon as an admin key or an OIDC issuer is configured or any API key exists (even a
revoked one), so the embedded default with none of these stays open.

Freshness: the cache is refreshed every ``refresh_interval`` seconds (fixed cadence) with the rows
changed since the previous refresh, so a revocation or update on any instance takes effect on every
instance within ``refresh_interval`` plus one refresh query. A key unknown to the cache is looked up
once in the store (then negative-cached for ``negative_ttl``; at most ``miss_lookups_per_second``
such look-ups per instance, the rest are rejected until the next refresh brings the key in).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from typing import Any

import msgspec

from switchyard.accounts.cache import Entry, KeyCache
from switchyard.accounts.config import AccountsConfig
from switchyard.accounts.crypto import SecretBox, SecretBoxError, byok_context
from switchyard.accounts.keys import looks_like_key
from switchyard.accounts.oidc import OIDCVerifier
from switchyard.accounts.policy import check_model  # noqa: F401 - re-exported for the app
from switchyard.accounts.principal import ANONYMOUS, Principal
from switchyard.accounts.store import Store
from switchyard.errors import ErrorCategory, GatewayError, RequestError

log = logging.getLogger("switchyard.accounts")

ADMIN = Principal(key_id=None, name="admin", is_admin=True)
_NEGATIVE_MAX = 10_000


def _unauthorized(message: str, code: str = "invalid_api_key") -> GatewayError:
    return GatewayError(ErrorCategory.AUTHENTICATION, message, code=code)


def credential(headers: Mapping[str, str]) -> str | None:
    """The bearer token or x-api-key (headers have lower-case names)."""
    auth = headers.get("authorization")
    if auth:
        scheme, _, token = auth.strip().partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise _unauthorized("Use 'Authorization: Bearer <key>'.", "invalid_authorization_header")
        return token.strip()
    key = headers.get("x-api-key")
    return key.strip() if key and key.strip() else None


def looks_like_jwt(token: str) -> bool:
    return token.count(".") == 2


class _Bucket:
    def __init__(self, rate: float) -> None:
        self.rate, self.capacity = rate, max(1.0, rate)
        self.tokens, self.at = self.capacity, time.monotonic()

    def take(self) -> bool:
        now = time.monotonic()
        self.tokens = min(self.capacity, self.tokens + (now - self.at) * self.rate)
        self.at = now
        if self.tokens >= 1:
            self.tokens -= 1
            return True
        return False


class Authenticator:
    def __init__(self, config: AccountsConfig, store: Store, *, box: SecretBox | None = None,
                 oidc: OIDCVerifier | None = None, clock: Callable[[], float] = time.time) -> None:
        self.config = config
        self.store = store
        self.box = box
        self.cache = KeyCache(config.projects)
        self.oidc = oidc
        self._clock = clock
        if config.admin_key is not None and len(config.admin_key) < 16:
            raise ValueError("accounts.admin_key must be at least 16 characters")
        self._admin_hash = hashlib.sha256(config.admin_key.encode()).digest() if config.admin_key else None
        self._negative: OrderedDict[str, float] = OrderedDict()
        self._inflight: dict[str, asyncio.Task[Entry | None]] = {}
        self._misses = _Bucket(config.miss_lookups_per_second)
        self._started = False
        self._start_lock = asyncio.Lock()
        self._refresh_lock = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None
        self._last_full = 0.0
        self.last_refresh = 0.0

    def __repr__(self) -> str:
        return f"Authenticator({self.cache!r}, required={self.required})"

    @property
    def required(self) -> bool:
        if self.config.require_auth is not None:
            return self.config.require_auth
        return self._admin_hash is not None or bool(self.config.oidc) or len(self.cache) > 0

    # ---- lifecycle and refresh ----

    async def start(self) -> None:
        """Load every key, then refresh in the background. Called lazily by the first request."""
        async with self._start_lock:
            if self._started:
                return
            await self.store.init()
            await self.refresh(full=True)
            self._task = asyncio.get_running_loop().create_task(self._refresh_loop())
            self._started = True

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None
        if self.oidc is not None:
            await self.oidc.close()

    async def refresh(self, full: bool = False) -> None:
        async with self._refresh_lock:  # one at a time: an older read never lands after a newer one
            cache, overlap = self.cache, self.config.refresh_overlap
            projects = await self.store.projects_changed_since(-1.0 if full else cache.project_mark - overlap)
            keys = await self.store.keys_changed_since(-1.0 if full else cache.key_mark - overlap)
            cache.put_projects(projects)
            cache.put_keys(keys)
        now = self._clock()
        self.last_refresh = now
        if full:
            self._last_full = now
        if keys:  # a key created elsewhere may sit in the negative cache
            for rec in keys:
                self._negative.pop(rec.key_hash, None)

    async def _refresh_loop(self) -> None:
        loop = asyncio.get_running_loop()
        interval = self.config.refresh_interval
        next_at = loop.time() + interval
        while True:
            await asyncio.sleep(max(0.0, next_at - loop.time()))
            next_at += interval
            if next_at < loop.time():  # fell behind (a slow database): do not burst to catch up
                next_at = loop.time() + interval
            try:
                await self.refresh(full=self._clock() - self._last_full >= self.config.full_reload_interval)
            except Exception as e:  # noqa: BLE001 - keep serving the cached keys, retry next tick
                log.warning("key cache refresh failed (%s); serving the cached keys", type(e).__name__)

    # ---- authentication ----

    async def authenticate(self, headers: Mapping[str, str]) -> Principal:
        if not self._started:
            try:
                await self.start()
            except Exception as e:  # noqa: BLE001 - fail closed while the store is unreachable
                log.error("cannot load API keys (%s)", type(e).__name__)
                raise GatewayError(ErrorCategory.OVERLOADED, "Authentication is unavailable.", status=503,
                                   code="auth_unavailable") from None
        try:
            token = credential(headers)
        except GatewayError:
            if self.required:
                raise
            token = None
        if token is None:
            if self.required:
                raise _unauthorized("Missing API key: send 'Authorization: Bearer <key>'.", "missing_api_key")
            return ANONYMOUS
        digest = hashlib.sha256(token.encode("utf-8", "surrogatepass")).digest()
        if self._admin_hash is not None and hmac.compare_digest(digest, self._admin_hash):
            return ADMIN
        if looks_like_key(token):
            return await self._api_key(digest.hex())
        if self.oidc is not None and looks_like_jwt(token):
            return await self.oidc.verify(token)
        if not self.required:
            return ANONYMOUS
        raise _unauthorized("Invalid API key.")

    async def _api_key(self, key_hash: str) -> Principal:
        entry = self.cache.get(key_hash)
        if entry is None:
            entry = await self._lookup(key_hash)
        if entry is None or not hmac.compare_digest(entry.record.key_hash, key_hash):
            raise _unauthorized("Invalid API key.")
        rec = entry.record
        if entry.revoked:  # this key, or a key it was created under
            raise _unauthorized("This API key has been revoked.", "api_key_revoked")
        if entry.expires_at is not None and entry.expires_at <= self._clock():
            raise _unauthorized("This API key has expired.", "api_key_expired")
        if not rec.byok:
            return entry.principal
        if self.box is None:
            log.error("API key %s has BYOK keys but accounts.secret_key is not set", rec.id)
            raise GatewayError(ErrorCategory.SERVER_ERROR, "Stored provider keys cannot be decrypted.", status=500)
        try:  # decrypted for this request only: the cached Principal never holds them
            byok = {slug: self.box.decrypt(blob, byok_context(rec.id, slug)) for slug, blob in rec.byok.items()}
        except SecretBoxError:
            log.error("cannot decrypt the BYOK keys of API key %s (wrong accounts.secret_key?)", rec.id)
            raise GatewayError(ErrorCategory.SERVER_ERROR, "Stored provider keys cannot be decrypted.",
                               status=500) from None
        return msgspec.structs.replace(entry.principal, byok=byok)

    async def _lookup(self, key_hash: str) -> Entry | None:
        """A key not in the cache: perhaps created on another instance since the last refresh."""
        until = self._negative.get(key_hash)
        if until is not None and until > self._clock():
            return None
        task = self._inflight.get(key_hash)
        if task is None:  # one store query per unknown hash at a time, whoever is waiting for it
            if not self._misses.take():
                return None
            task = asyncio.get_running_loop().create_task(self._fetch(key_hash))
            self._inflight[key_hash] = task
            task.add_done_callback(lambda t: (self._inflight.pop(key_hash, None),
                                              t.cancelled() or t.exception()))
        return await asyncio.shield(task)  # a caller that goes away does not cancel the query

    async def _fetch(self, key_hash: str) -> Entry | None:
        try:
            rec = await self.store.get_key_by_hash(key_hash)
        except Exception as e:  # noqa: BLE001
            log.warning("key lookup failed (%s)", type(e).__name__)
            raise GatewayError(ErrorCategory.OVERLOADED, "Authentication is unavailable.", status=503,
                               code="auth_unavailable") from None
        if rec is None:
            self._negative[key_hash] = self._clock() + self.config.negative_ttl
            self._negative.move_to_end(key_hash)
            while len(self._negative) > _NEGATIVE_MAX:
                self._negative.popitem(last=False)
            return None
        self.cache.put_keys([rec])
        return self.cache.get(key_hash)

    async def authenticate_admin(self, headers: Mapping[str, str]) -> Principal:
        """For management routes: credentials are always required, whatever ``require_auth`` says."""
        if credential(headers) is None:
            raise _unauthorized("Missing API key: send 'Authorization: Bearer <key>'.", "missing_api_key")
        principal = await self.authenticate(headers)
        if principal is ANONYMOUS:
            raise _unauthorized("Invalid API key.")
        return principal


def byok_from_gateway_options(options: Mapping[str, Any] | None) -> dict[str, str]:
    """Per-request provider keys from ``providerOptions.gateway.byok`` (Vercel AI Gateway shape:
    ``{"openai": [{"apiKey": "..."}]}``); ``options`` is providerOptions or its ``gateway`` entry.
    Only ``apiKey`` is accepted: no base URLs, regions or headers from callers."""
    if not options:
        return {}
    gateway = options.get("gateway", options) if isinstance(options, Mapping) else None
    byok = gateway.get("byok") if isinstance(gateway, Mapping) else None
    if byok is None:
        return {}
    param = "providerOptions.gateway.byok"
    if not isinstance(byok, Mapping):
        raise RequestError("byok must map provider slugs to lists of credentials.", param=param)
    out: dict[str, str] = {}
    for slug, creds in byok.items():
        if not isinstance(slug, str) or not isinstance(creds, list) or not creds:
            raise RequestError("byok must map provider slugs to lists of credentials.", param=param)
        for cred in creds:
            if not isinstance(cred, Mapping) or set(cred) != {"apiKey"} \
                    or not isinstance(cred["apiKey"], str) or not cred["apiKey"]:
                raise RequestError("Each byok credential must be {\"apiKey\": \"...\"}.", param=f"{param}.{slug}")
        out[slug] = creds[0]["apiKey"]
    return out


def with_byok(principal: Principal, byok: Mapping[str, str]) -> Principal:
    """The principal with per-request provider keys added (they take precedence over stored ones)."""
    return msgspec.structs.replace(principal, byok={**principal.byok, **byok}) if byok else principal
