"""The HTTP/1.1 messages of Switchyard's server: requests, responses, and the bytes of a response head.

Heads are built as one string per response from constants made once (``HTTPStatus`` lookups are slow
enum operations) and a date line formatted at most once per second.
"""
from __future__ import annotations

import json
import time
from email.utils import formatdate
from http import HTTPStatus
from typing import AsyncIterator, Awaitable, Callable
from urllib.parse import parse_qsl

_STATUS_LINES = {s.value: f"HTTP/1.1 {s.value} {s.phrase}\r\n" for s in HTTPStatus}
CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"
LAST_CHUNK = b"0\r\n\r\n"
CHUNKED = "transfer-encoding: chunked\r\n"
_CONN_CLOSE = "connection: close\r\n"
_CONN_KEEP = "connection: keep-alive\r\n"  # only HTTP/1.0 clients need to be told


class Request:
    __slots__ = ("method", "path", "query", "headers", "body", "client", "state",
                 "_params", "_keep_alive", "_http11")

    def __init__(self, method: str, path: str, query: str, headers: dict[str, str],
                 body: bytes, client: tuple[str, int] | None,
                 keep_alive: bool = True, http11: bool = True) -> None:
        self.method = method
        self.path = path
        self.query = query
        self.headers = headers
        self.body = body
        self.client = client
        self.state: object = None  # for the application (the authenticated caller, say)
        self._params: dict[str, str] | None = None
        self._keep_alive = keep_alive
        self._http11 = http11

    def query_params(self) -> dict[str, str]:
        # Lazy: most gateway endpoints never look at the query string.
        p = self._params
        if p is None:
            p = self._params = dict(parse_qsl(self.query, keep_blank_values=True))
        return p


class Response:
    __slots__ = ("status", "body", "headers", "content_type")

    def __init__(self, status: int, body: bytes = b"", headers: list[tuple[str, str]] | None = None,
                 content_type: str = "application/json") -> None:
        self.status = status
        self.body = body
        self.headers = headers
        self.content_type = content_type


class StreamResponse:
    __slots__ = ("status", "body", "headers", "content_type")

    def __init__(self, status: int, body: AsyncIterator[bytes], headers: list[tuple[str, str]] | None = None,
                 content_type: str = "text/event-stream") -> None:
        self.status = status
        self.body = body
        self.headers = headers
        self.content_type = content_type


Handler = Callable[[Request], Awaitable["Response | StreamResponse"]]
ErrorResponder = Callable[[int, str, "Request | None"], Response]


def default_error_responder(status: int, message: str, request: Request | None) -> Response:
    kind = "server_error" if status >= 500 else "invalid_request_error"
    return Response(status, json.dumps({"error": {"message": message, "type": kind}}).encode())


_date = [0, ""]


def _date_line() -> str:
    # Date is a MUST for origin servers; format it at most once per second.
    now = int(time.time())
    if now != _date[0]:
        _date[0], _date[1] = now, f"date: {formatdate(now, usegmt=True)}\r\n"
    return _date[1]


def response_head(status: int, ctype: str, headers, framing: str, ka: bool, http11: bool) -> bytes:
    # App-supplied header names/values are trusted (no CR/LF check on the hot path).
    s = _STATUS_LINES.get(status) or f"HTTP/1.1 {status} \r\n"
    s += _date_line()
    if ctype:
        s += f"content-type: {ctype}\r\n"
    s += framing
    if headers:
        for k, v in headers:
            s += f"{k}: {v}\r\n"
    if not ka:
        s += _CONN_CLOSE
    elif not http11:
        s += _CONN_KEEP
    return (s + "\r\n").encode("latin-1")
