"""Access tokens for Vertex AI: fetched from the OAuth2 token endpoint, cached, refreshed early.

From ``min(5 minutes, half its lifetime)`` before a token expires, a request starts a refresh in
the background and goes on with the old token; once the old one is about to expire (``min(30 s, a
quarter of its lifetime)`` before), requests wait for the new one. Concurrent requests share one
refresh (single flight): the first starts it, the others await the same task, and a caller that goes
away does not cancel it for the rest. A failed refresh fails every request waiting on it; the next
request tries again (a failed background refresh is retried after ``RETRY_AFTER_FAILURE`` seconds).

The token only ever goes into an ``Authorization`` header. Errors say what failed, never the token,
the assertion or the token endpoint's answer beyond its ``error`` code and description.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

import aiohttp
import msgspec

from switchyard.config.model import Timeouts
from switchyard.errors import ErrorCategory, UpstreamError
from switchyard.protocols.gemini.credentials import Credentials
from switchyard.upstream.client import transport_error

REFRESH_EARLY = 300.0  # seconds
EXPIRY_MARGIN = 30.0
RETRY_AFTER_FAILURE = 5.0


class TokenSource:
    """A static token (``options.access_token``, e.g. from ``gcloud auth print-access-token``)."""

    def __init__(self, token: str | None = None) -> None:
        self._token = token

    @property
    def current(self) -> str | None:
        """The token to send now, if one is ready (after ``fresh()``)."""
        return self._token

    async def fresh(self) -> str:
        if self._token is None:
            raise UpstreamError(ErrorCategory.AUTHENTICATION, "no access token")
        return self._token

    def invalidate(self) -> None:
        """The provider refused the token: fetch a new one next time (static tokens cannot)."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class OAuthTokenSource(TokenSource):
    def __init__(self, slug: str, credentials: Credentials, token_url: str | None = None,
                 timeouts: Timeouts | None = None, clock: Callable[[], float] = time.time) -> None:
        super().__init__()
        self._slug = slug
        self._credentials = credentials
        self._url = token_url or credentials.token_uri
        timeouts = timeouts or Timeouts()
        self._timeout = aiohttp.ClientTimeout(total=min(timeouts.total, 60.0), connect=timeouts.connect,
                                              sock_connect=timeouts.connect)
        self._clock = clock
        self._refresh_at = 0.0
        self._usable_until = 0.0
        self._inflight: asyncio.Task[str] | None = None
        self.fetches = 0  # how many token requests were made (for tests and diagnostics)

    @property
    def current(self) -> str | None:
        if self._token is not None and self._clock() < self._usable_until:
            return self._token
        return None

    async def fresh(self) -> str:
        now = self._clock()
        if self._token is not None and now < self._refresh_at:
            return self._token
        task = self._inflight
        loop = asyncio.get_running_loop()
        if task is None or task.get_loop() is not loop:
            task = loop.create_task(self._refresh())
            self._inflight = task
            task.add_done_callback(self._settled)
        if self._token is not None and now < self._usable_until:
            return self._token  # still good: the refresh goes on in the background
        return await asyncio.shield(task)

    def invalidate(self) -> None:
        self._token = None
        self._refresh_at = self._usable_until = 0.0

    def _settled(self, task: asyncio.Task[str]) -> None:
        if self._inflight is task:
            self._inflight = None
        if not task.cancelled() and task.exception() is not None and self._token is not None:
            # A background refresh failed while the old token is still usable: wait before retrying.
            self._refresh_at = min(self._clock() + RETRY_AFTER_FAILURE, self._usable_until)

    async def _refresh(self) -> str:
        now = self._clock()
        form = self._credentials.grant(int(now))
        self.fetches += 1
        try:
            # A session of its own: one request an hour does not need the upstream pool.
            async with aiohttp.ClientSession(timeout=self._timeout, cookie_jar=aiohttp.DummyCookieJar()) as session, \
                    session.post(self._url, data=form, headers={"accept": "application/json"},
                                 allow_redirects=False) as resp:
                status, body = resp.status, await resp.read()
        except (TimeoutError, aiohttp.ClientError, OSError) as exc:
            raise transport_error(f"{self._slug} (token endpoint)", exc) from None
        data = _json(body)
        token = data.get("access_token") if status == 200 else None
        if not isinstance(token, str) or not token:
            raise self._failure(status, data)
        lifetime = data.get("expires_in")
        lifetime = float(lifetime) if isinstance(lifetime, (int, float)) and lifetime > 0 else 3600.0
        self._token = token
        self._refresh_at = now + lifetime - min(REFRESH_EARLY, lifetime / 2)
        self._usable_until = now + lifetime - min(EXPIRY_MARGIN, lifetime / 4)
        return token

    def _failure(self, status: int, data: dict[str, Any]) -> UpstreamError:
        what = data.get("error")
        detail = data.get("error_description")
        reason = ": ".join(str(x) for x in (what, detail) if isinstance(x, str) and x) or f"HTTP {status}"
        if status >= 500 or status == 429:
            category = ErrorCategory.SERVER_ERROR
        elif status == 200:
            category = ErrorCategory.BAD_RESPONSE
        else:
            category = ErrorCategory.AUTHENTICATION
        # No provider status: this answer came from the token endpoint, not from the model's API.
        return UpstreamError(category, f"{self._slug}: could not get an access token ({reason})")


def _json(body: bytes) -> dict[str, Any]:
    try:
        data = msgspec.json.decode(body)
    except msgspec.DecodeError:
        return {}
    return data if isinstance(data, dict) else {}
