"""The upstream HTTP client: one pooled aiohttp session per process (keep-alive connections are
reused across requests), with per-provider timeouts. We measured aiohttp's client at about a tenth
of httpx's CPU per proxied request.

Transport failures become UpstreamErrors (CONNECT or TIMEOUT) so the router can fail over. Redirects
are never followed: a provider that redirects is answered as an error, never re-addressed.
"""

from __future__ import annotations

import asyncio
import socket

import aiohttp

from switchyard.config.model import Timeouts
from switchyard.errors import ErrorCategory, UpstreamError
from switchyard.providers.base import UpstreamCall


def transport_error(slug: str, exc: BaseException) -> UpstreamError:
    """A failure with no HTTP answer. The message names the kind of failure only: exception texts
    can contain URLs, and URLs of some providers can contain credentials."""
    if isinstance(exc, (asyncio.TimeoutError, aiohttp.ServerTimeoutError)):
        return UpstreamError(ErrorCategory.TIMEOUT, f"{slug}: timed out waiting for the provider")
    if isinstance(exc, aiohttp.ClientConnectorError):
        return UpstreamError(ErrorCategory.CONNECT, f"{slug}: could not connect to the provider")
    if isinstance(exc, (aiohttp.ServerDisconnectedError, aiohttp.ClientPayloadError)):
        return UpstreamError(ErrorCategory.SERVER_ERROR, f"{slug}: the provider closed the connection")
    return UpstreamError(ErrorCategory.CONNECT, f"{slug}: connection to the provider failed "
                                                f"({type(exc).__name__})")


class UpstreamClient:
    def __init__(self) -> None:
        self._session: aiohttp.ClientSession | None = None
        self._timeouts: dict[Timeouts, aiohttp.ClientTimeout] = {}

    def _open(self) -> aiohttp.ClientSession:
        connector = aiohttp.TCPConnector(limit=0, ttl_dns_cache=300, keepalive_timeout=60,
                                         family=socket.AF_UNSPEC, enable_cleanup_closed=True)
        self._session = aiohttp.ClientSession(connector=connector, auto_decompress=True,
                                              skip_auto_headers=("User-Agent",), cookie_jar=aiohttp.DummyCookieJar())
        return self._session

    def _timeout(self, t: Timeouts) -> aiohttp.ClientTimeout:
        ct = self._timeouts.get(t)
        if ct is None:
            # sock_read bounds the wait for the first byte and every silence after it.
            ct = aiohttp.ClientTimeout(total=t.total, sock_connect=t.connect, connect=t.connect,
                                       sock_read=t.first_byte)
            self._timeouts[t] = ct
        return ct

    async def send(self, slug: str, call: UpstreamCall, timeouts: Timeouts) -> aiohttp.ClientResponse:
        session = self._session or self._open()
        try:
            return await session.request(call.method, call.url, data=call.body, headers=call.headers,
                                         timeout=self._timeout(timeouts), allow_redirects=False)
        except (aiohttp.ClientError, asyncio.TimeoutError, OSError) as exc:
            raise transport_error(slug, exc) from None

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None
