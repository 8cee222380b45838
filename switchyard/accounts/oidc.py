"""Bearer JWTs from configured OpenID Connect issuers.

The token's ``iss`` picks the issuer (exact match); its header ``alg`` must be one the issuer pins
(RS256 / ES256 only: never ``none``, never HS*); the key comes from the issuer's JWKS by ``kid``,
fetched with aiohttp, cached, and re-fetched when a ``kid`` is unknown (at most once per
``jwks_refresh_min_interval``) or the set is older than ``jwks_max_age``. Then ``exp`` (required),
``nbf`` and ``iat`` (with ``leeway``), and ``aud`` are checked, and the claims map to a Principal.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import aiohttp
import msgspec

from switchyard.accounts.config import OIDCIssuerConfig
from switchyard.accounts.jwk import (
    JWK,
    JWKError,
    b64url_decode,
    load_jwk,
    verify_signature,
)
from switchyard.accounts.principal import Limits, Principal
from switchyard.errors import ErrorCategory, GatewayError

log = logging.getLogger("switchyard.accounts.oidc")
MAX_TOKEN = 16 * 1024
MAX_DOC = 1024 * 1024

# project name -> (project limits, project allowed models), or None when the project is unknown
ProjectLookup = Callable[[str], "tuple[Limits, frozenset[str] | None] | None"]


def _reject(message: str) -> GatewayError:
    return GatewayError(ErrorCategory.AUTHENTICATION, message, code="invalid_token")


def _check_url(url: str) -> str:
    """https, or http to a loopback address only (a local identity provider in development)."""
    parts = urlsplit(url)
    if parts.scheme == "https":
        return url
    host = parts.hostname or ""
    try:
        loopback = host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if parts.scheme == "http" and loopback:
        return url
    raise ValueError(f"OIDC URLs must use https: {url}")


class _Issuer:
    def __init__(self, cfg: OIDCIssuerConfig) -> None:
        self.cfg = cfg
        self.audiences = {cfg.audience} if isinstance(cfg.audience, str) else set(cfg.audience)
        self.keys: list[JWK] = []
        self.fetched_at = 0.0  # last successful fetch
        self.attempted_at = float("-inf")  # last fetch attempt, for the refresh rate limit
        self.lock = asyncio.Lock()

    def pick(self, kid: str | None, alg: str) -> JWK | None:
        fitting = [k for k in self.keys if k.fits(alg) and (kid is None or k.kid == kid)]
        return fitting[0] if len(fitting) == 1 or (fitting and kid is not None) else None


class OIDCVerifier:
    def __init__(self, issuers: list[OIDCIssuerConfig], projects: ProjectLookup | None = None,
                 clock: Callable[[], float] = time.time) -> None:
        self._issuers = {i.issuer: _Issuer(i) for i in issuers}
        self._projects = projects or (lambda name: None)
        self._clock = clock
        self._session: aiohttp.ClientSession | None = None

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    # ---- JWKS ----

    async def _get_json(self, url: str) -> Any:
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5))
        async with self._session.get(_check_url(url), allow_redirects=False) as resp:
            if resp.status != 200:
                raise ValueError(f"HTTP {resp.status}")
            body = bytearray()
            async for chunk in resp.content.iter_chunked(65536):
                body += chunk
                if len(body) > MAX_DOC:
                    raise ValueError("document too large")
            return msgspec.json.decode(bytes(body))

    async def _fetch(self, iss: _Issuer) -> None:
        iss.attempted_at = self._clock()
        try:
            uri = iss.cfg.jwks_uri
            if uri is None:
                doc = await self._get_json(iss.cfg.issuer.rstrip("/") + "/.well-known/openid-configuration")
                if not isinstance(doc, dict) or doc.get("issuer") != iss.cfg.issuer \
                        or not isinstance(doc.get("jwks_uri"), str):
                    raise ValueError("discovery document does not match the issuer")
                uri = doc["jwks_uri"]
            jwks = await self._get_json(uri)
            entries = jwks.get("keys") if isinstance(jwks, dict) else None
            if not isinstance(entries, list):
                raise ValueError("not a JWKS")
            iss.keys = [k for k in map(load_jwk, entries) if k is not None]
            iss.fetched_at = self._clock()
        except (aiohttp.ClientError, asyncio.TimeoutError, ValueError, msgspec.DecodeError) as e:
            log.warning("cannot fetch the JWKS of %s: %s", iss.cfg.issuer, type(e).__name__)

    def _due(self, iss: _Issuer) -> bool:
        return self._clock() - iss.attempted_at >= iss.cfg.jwks_refresh_min_interval

    def _stale(self, iss: _Issuer) -> bool:
        return not iss.keys or self._clock() - iss.fetched_at > iss.cfg.jwks_max_age

    async def _key(self, iss: _Issuer, kid: str | None, alg: str) -> JWK:
        # Every fetch, for whatever reason, is rate-limited per issuer: a flood of tokens with
        # made-up kids (or an unreachable IdP) costs at most one fetch per interval.
        if self._stale(iss) and self._due(iss):
            async with iss.lock:
                if self._stale(iss) and self._due(iss):
                    await self._fetch(iss)
        key = iss.pick(kid, alg)
        if key is None:  # an unknown kid: the issuer may have rotated its keys
            async with iss.lock:
                key = iss.pick(kid, alg)
                if key is None and self._due(iss):
                    await self._fetch(iss)
                    key = iss.pick(kid, alg)
        if key is None:
            if not iss.keys:
                raise GatewayError(ErrorCategory.OVERLOADED, "The identity provider's keys are unavailable.",
                                   status=503, code="jwks_unavailable")
            raise _reject("The token's signing key is unknown.")
        return key

    # ---- tokens ----

    async def verify(self, token: str) -> Principal:
        if len(token) > MAX_TOKEN or token.count(".") != 2:
            raise _reject("The token is not a JWT.")
        h64, p64, s64 = token.split(".")
        try:
            header = msgspec.json.decode(b64url_decode(h64))
            claims = msgspec.json.decode(b64url_decode(p64))
            signature = b64url_decode(s64)
        except (JWKError, msgspec.DecodeError):
            raise _reject("The token is not a valid JWT.") from None
        if not isinstance(header, dict) or not isinstance(claims, dict):
            raise _reject("The token is not a valid JWT.")
        iss = self._issuers.get(claims.get("iss")) if isinstance(claims.get("iss"), str) else None
        if iss is None:
            raise _reject("The token's issuer is not accepted.")
        alg = header.get("alg")
        if not isinstance(alg, str) or alg not in iss.cfg.algorithms:
            raise _reject("The token's signing algorithm is not accepted.")
        if "crit" in header:
            raise _reject("The token has critical header parameters we do not understand.")
        kid = header.get("kid") if isinstance(header.get("kid"), str) else None
        key = await self._key(iss, kid, alg)
        if not verify_signature(alg, key, f"{h64}.{p64}".encode("ascii"), signature):
            raise _reject("The token's signature is invalid.")
        self._check_claims(iss, claims)
        return self._principal(iss.cfg, claims)

    def _check_claims(self, iss: _Issuer, claims: dict[str, Any]) -> None:
        now, leeway = self._clock(), iss.cfg.leeway

        def number(name: str) -> float | None:
            v = claims.get(name)
            if v is None:
                return None
            if isinstance(v, bool) or not isinstance(v, (int, float)):
                raise _reject(f"The token's '{name}' claim is not a number.")
            return float(v)

        exp, nbf, iat = number("exp"), number("nbf"), number("iat")
        if exp is None:
            raise _reject("The token has no 'exp' claim.")
        if now > exp + leeway:
            raise _reject("The token has expired.")
        if nbf is not None and now + leeway < nbf:
            raise _reject("The token is not valid yet.")
        if iat is not None and now + leeway < iat:
            raise _reject("The token was issued in the future.")
        aud = claims.get("aud")
        auds = {aud} if isinstance(aud, str) else set(a for a in aud if isinstance(a, str)) \
            if isinstance(aud, list) else set()
        if not auds & iss.audiences:
            raise _reject("The token's audience is not accepted.")

    def _principal(self, cfg: OIDCIssuerConfig, claims: dict[str, Any]) -> Principal:
        project: str | None = None
        if cfg.project_claim:
            value = claims.get(cfg.project_claim)
            project = str(value) if isinstance(value, (str, int)) and not isinstance(value, bool) and \
                str(value) else cfg.default_project
            if project is None:
                raise GatewayError(ErrorCategory.PERMISSION, f"The token has no '{cfg.project_claim}' claim.",
                                   code="no_project")
        is_admin = False
        if cfg.admin_claim:
            v = claims.get(cfg.admin_claim)
            is_admin = (v is True) if cfg.admin_value is None else \
                (v == cfg.admin_value or (isinstance(v, list) and cfg.admin_value in v))
        found = self._projects(project) if project is not None else None
        limits, models = found if found is not None else (Limits(), None)
        name = claims.get(cfg.name_claim)
        return Principal(key_id=None, project=project, name=str(name) if name is not None else None,
                         allowed_models=models, project_limits=limits, is_admin=is_admin,
                         tags=("oidc",))
