"""Microsoft Entra ID tokens for Azure OpenAI: the OAuth 2.0 client-credentials grant.

``POST https://login.microsoftonline.com/{tenant}/oauth2/v2.0/token`` with ``grant_type=
client_credentials``, ``client_id``, ``client_secret`` and ``scope=https://cognitiveservices.azure.com/
.default`` answers ``{"token_type": "Bearer", "expires_in": 3599, "access_token": "..."}``. The token is
cached and refreshed before it expires (half its lifetime or five minutes ahead, whichever is
sooner); concurrent callers share one request. If a refresh fails while the cached token is still
valid, the cached token is used and the refresh retried on the next call.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

import aiohttp
import msgspec

from switchyard.errors import ErrorCategory, UpstreamError

log = logging.getLogger("switchyard.azure")

TOKEN_URL = "https://login.microsoftonline.com/{tenant}/oauth2/v2.0/token"
SCOPE = "https://cognitiveservices.azure.com/.default"
_EARLY = 300.0  # seconds before expiry at which a token is renewed, at most half its lifetime


class _TokenAnswer(msgspec.Struct):
    access_token: str
    expires_in: int | str = 3599  # Entra's v1 endpoint sent it as a string


class EntraTokenSource:
    def __init__(self, slug: str, tenant_id: str, client_id: str, client_secret: str, *,
                 token_url: str | None = None, scope: str = SCOPE, timeout: float = 10.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._slug = slug
        self._url = (token_url or TOKEN_URL).replace("{tenant}", tenant_id)
        self._form = {"grant_type": "client_credentials", "client_id": client_id,
                      "client_secret": client_secret, "scope": scope}
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._clock = clock
        self._token: str | None = None
        self._refresh_at = 0.0
        self._expires_at = 0.0
        self._lock = asyncio.Lock()
        self.fetches = 0

    @property
    def cached(self) -> str | None:
        """The cached token while it is still valid."""
        return self._token if self._token is not None and self._clock() < self._expires_at else None

    async def token(self) -> str:
        if self._token is not None and self._clock() < self._refresh_at:
            return self._token
        async with self._lock:  # single flight: the first caller fetches, the others reuse its token
            if self._token is not None and self._clock() < self._refresh_at:
                return self._token
            try:
                await self._fetch()
            except UpstreamError:
                valid = self.cached
                if valid is None:
                    raise
                log.warning("%s: Entra token refresh failed; using the cached token until it expires", self._slug)
                return valid
            assert self._token is not None
            return self._token

    async def _fetch(self) -> None:
        self.fetches += 1
        started = self._clock()
        try:
            async with aiohttp.ClientSession(timeout=self._timeout) as session:
                async with session.post(self._url, data=self._form, allow_redirects=False) as resp:
                    body = await resp.read()
                    status = resp.status
        except (aiohttp.ClientError, asyncio.TimeoutError, OSError):
            raise UpstreamError(ErrorCategory.CONNECT, f"{self._slug}: could not reach the Entra ID token "
                                                       f"endpoint") from None
        if status != 200:
            raise UpstreamError(ErrorCategory.AUTHENTICATION if status < 500 else ErrorCategory.SERVER_ERROR,
                                f"{self._slug}: Entra ID refused the token request ({status}"
                                f"{': ' + _aad_error(body) if _aad_error(body) else ''})", status=status)
        try:
            answer = msgspec.json.decode(body, type=_TokenAnswer)
            lifetime = float(answer.expires_in)
        except (msgspec.DecodeError, msgspec.ValidationError, ValueError):
            raise UpstreamError(ErrorCategory.BAD_RESPONSE,
                                f"{self._slug}: unreadable Entra ID token response") from None
        self._token = answer.access_token
        self._expires_at = started + lifetime
        self._refresh_at = started + lifetime - min(_EARLY, lifetime / 2)


def _aad_error(body: bytes) -> str:
    """AADSTS code and error name, never the description's request details in full."""
    try:
        data = msgspec.json.decode(body)
    except msgspec.DecodeError:
        return ""
    if not isinstance(data, dict):
        return ""
    name = str(data.get("error") or "")
    desc = str(data.get("error_description") or "")
    code = desc.split(":", 1)[0] if desc.startswith("AADSTS") else ""
    return " ".join(x for x in (name, code) if x)
