"""Transport exceptions of the upstream client.

All of them are ``OSError`` subclasses, so code that guards upstream I/O with
``except (asyncio.TimeoutError, OSError)`` keeps catching them, and ``client.transport_error`` maps
them to an UpstreamError category. Their messages are fixed texts: never a URL (a query string can
hold a key) and never a header.
"""

from __future__ import annotations


class UpstreamTransportError(OSError):
    """Base class: the exchange failed below HTTP."""


class ConnectFailed(UpstreamTransportError):
    """No connection could be opened (DNS, refused, unreachable, TLS handshake or verification)."""


class ConnectTimeout(ConnectFailed, TimeoutError):
    """Opening the connection (or waiting for a free one under a per-host limit) took too long."""


class ReadTimeout(UpstreamTransportError, TimeoutError):
    """The provider was silent for longer than ``first_byte``, or the ``total`` deadline passed.
    A ``TimeoutError``, i.e. ``asyncio.TimeoutError``."""


class ServerDisconnected(UpstreamTransportError):
    """The provider closed the connection before the response was complete."""


class BadResponse(UpstreamTransportError):
    """The provider sent something that is not a valid HTTP/1.x response (or undecodable gzip)."""


class InvalidRequest(UpstreamTransportError):
    """The request cannot be sent as given (bad URL, CR/LF in a header). A bug in an adapter."""
