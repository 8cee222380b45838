"""Shared machinery for the fake provider servers: lifecycle, request
recording, connection/cancellation tracking, failure injection, per-request
switches and the response writers (JSON and SSE)."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections import deque
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any, Awaitable, Callable

from aiohttp import web

from .replies import Reply

# Per-request behaviour switches. Each is a constructor kwarg and a plain
# attribute on the fake (persistent); ``fake.for_next(n, **switches)``
# overrides them for the next n API requests only.
SWITCH_DEFAULTS: dict[str, Any] = {
    "delay_s": 0.0,              # sleep before sending response headers
    "first_byte_delay_s": 0.0,   # sleep between headers and first body byte
    "chunk_delay_s": 0.0,        # stream: sleep before each event after the first
    "hang": False,               # accept the request, never answer (until close)
    "cut_after_chunks": None,    # stream: close the connection after N events
    "hold_after_chunks": None,   # stream: after N events, wait for fake.release.set()
    "stream_error_after": None,  # Anthropic stream: `event: error` after N events
    "context_window": None,      # prompt tokens above this -> context-length 400
    "supports_images": True,     # False -> provider's 400 for image content
    "supports_tools": True,      # False -> provider's 400 when tools are sent
    "chunk_words": 1,            # words per streamed text chunk
    "args_fragment_chars": 4,    # chars per streamed tool-argument fragment
}


@dataclass
class RecordedRequest:
    method: str
    path: str
    headers: dict[str, str]
    json: Any
    body: bytes = b""
    query: dict[str, str] = field(default_factory=dict)

    @property
    def stream(self) -> bool:
        return isinstance(self.json, dict) and bool(self.json.get("stream"))


@dataclass
class FailRule:
    status: int
    times: int | None = None         # None -> every request until cleared
    retry_after: float | str | None = None
    body: Any = None                 # dict (JSON) / str / bytes: sent verbatim
    message: str | None = None
    error_type: str | None = None
    code: str | None = None
    headers: dict[str, str] | None = None


class Exchange:
    """One in-flight request: its switches and the response writers."""

    def __init__(self, fake: "FakeProvider", request: web.Request, sw: SimpleNamespace,
                 record: RecordedRequest):
        self.fake = fake
        self.request = request
        self.sw = sw
        self.record = record
        self.request_id = fake.new_request_id()
        self.response: web.StreamResponse | None = None
        self.events_sent = 0
        self.self_aborted = False
        self.started = time.monotonic()

    @property
    def elapsed_ms(self) -> int:
        return int((time.monotonic() - self.started) * 1000)

    @property
    def body(self) -> Any:
        return self.record.json

    async def pause(self, seconds: float | None) -> None:
        """Sleep ``seconds`` (None = forever), aborting if the fake closes."""
        if seconds is not None and seconds <= 0:
            return
        try:
            await asyncio.wait_for(self.fake._stop.wait(), seconds)
        except TimeoutError:
            return
        self.abort(hard=True)

    def abort(self, hard: bool = False) -> None:
        """Drop the connection without finishing the response."""
        self.self_aborted = True
        transport = self.request.transport
        if transport is not None:
            transport.abort() if hard else transport.close()
        raise asyncio.CancelledError()

    def _headers(self, extra: dict[str, str] | None) -> dict[str, str]:
        return {**self.fake.response_headers(self), **(extra or {})}

    async def send_json(self, status: int, obj: Any, headers: dict[str, str] | None = None) -> web.StreamResponse:
        if isinstance(obj, (bytes, bytearray)):
            data, ctype = bytes(obj), "application/json"
        elif isinstance(obj, str):
            data, ctype = obj.encode(), "text/plain"
        else:
            data, ctype = json.dumps(obj).encode(), "application/json"
        hdrs = self._headers(headers)
        resp = web.StreamResponse(status=status, headers=hdrs)
        if "content-type" not in {k.lower() for k in hdrs}:
            resp.content_type = ctype
        resp.content_length = len(data)
        self.response = resp
        await resp.prepare(self.request)
        await self.pause(self.sw.first_byte_delay_s)
        await resp.write(data)
        await resp.write_eof()
        return resp

    async def start_stream(self, headers: dict[str, str] | None = None) -> None:
        resp = web.StreamResponse(status=200, headers=self._headers(headers))
        resp.content_type = "text/event-stream"
        resp.charset = "utf-8"
        resp.headers["Cache-Control"] = "no-cache"
        self.response = resp
        await resp.prepare(self.request)
        await self.pause(self.sw.first_byte_delay_s)

    async def send_event(self, data: str) -> None:
        """Write one SSE event (already framed); honours ``cut_after_chunks``."""
        cut = self.sw.cut_after_chunks
        if cut is not None and self.events_sent >= cut:
            self.abort()
        if self.events_sent:
            await self.pause(self.sw.chunk_delay_s)
        if self.sw.hold_after_chunks is not None and self.events_sent == self.sw.hold_after_chunks:
            await self.fake.release.wait()
        assert self.response is not None
        await self.response.write(data.encode())
        self.events_sent += 1

    async def end_stream(self) -> web.StreamResponse:
        assert self.response is not None
        await self.response.write_eof()
        return self.response


Handler = Callable[[Exchange], Awaitable[web.StreamResponse]]


class FakeProvider:
    """Base class. Subclasses define ``routes()``, ``check_auth()``,
    ``error_body()``, ``response_headers()`` and ``url_suffix``."""

    url_suffix = ""
    request_id_prefix = "req_"

    def __init__(self, api_key: str | None = None, *, host: str = "127.0.0.1", port: int = 0,
                 models: list[str] | None = None, known_models_only: bool = False,
                 shutdown_timeout: float = 0.5, **switches: Any):
        unknown = set(switches) - set(SWITCH_DEFAULTS)
        if unknown:
            raise TypeError(f"unknown switches: {sorted(unknown)}")
        self.api_key = api_key
        self.host, self.port = host, port
        self.models = list(models or self.default_models)
        self.known_models_only = known_models_only
        for k, v in {**SWITCH_DEFAULTS, **switches}.items():
            setattr(self, k, v)
        self.requests: list[RecordedRequest] = []
        self.script: deque[Reply] = deque()
        self.failures: list[FailRule] = []
        self._overrides: deque[list[Any]] = deque()
        self.active_connections = 0
        self.connections_total = 0
        self.active_requests = 0
        self.cancelled = 0
        self.completed = 0
        self.shutdown_timeout = shutdown_timeout
        self._runner: web.AppRunner | None = None
        self._stop: asyncio.Event | None = None
        self.release = asyncio.Event()  # see hold_after_chunks
        self._closing = False
        self.loop: asyncio.AbstractEventLoop | None = None

    default_models: list[str] = []

    # ---- lifecycle -------------------------------------------------------
    async def start(self) -> "FakeProvider":
        self.loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        self._closing = False
        app = web.Application(client_max_size=64 * 1024 * 1024)
        for method, path, handler, api in self.routes():
            app.router.add_route(method, path, self._wrap(handler, api))
        runner = web.AppRunner(app, handler_cancellation=True, access_log=None,
                               shutdown_timeout=self.shutdown_timeout)
        await runner.setup()
        server = runner.server
        assert server is not None
        orig_made, orig_lost = server.connection_made, server.connection_lost

        def made(handler: Any, transport: Any) -> None:
            self.active_connections += 1
            self.connections_total += 1
            orig_made(handler, transport)

        def lost(handler: Any, exc: BaseException | None = None) -> None:
            self.active_connections -= 1
            orig_lost(handler, exc)

        server.connection_made, server.connection_lost = made, lost  # type: ignore[method-assign]
        site = web.TCPSite(runner, self.host, self.port)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self._runner = runner
        return self

    async def close(self) -> None:
        if self._runner is None:
            return
        self._closing = True
        assert self._stop is not None
        self._stop.set()
        runner, self._runner = self._runner, None
        await runner.cleanup()

    async def __aenter__(self) -> "FakeProvider":
        return await self.start()

    async def __aexit__(self, *exc: Any) -> None:
        await self.close()

    @property
    def root_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def base_url(self) -> str:
        return self.root_url + self.url_suffix

    # ---- test-facing controls -------------------------------------------
    def push(self, text: str | None = None, **kw: Any) -> Reply:
        """Queue a scripted reply (see ``Reply``); consumed in FIFO order."""
        reply = Reply(text=text, **kw)
        self.script.append(reply)
        return reply

    def fail(self, status: int = 500, times: int | None = None, retry_after: float | str | None = None,
             body: Any = None, message: str | None = None, *, error_type: str | None = None,
             code: str | None = None, headers: dict[str, str] | None = None) -> FailRule:
        """Answer the next ``times`` API requests (None: all, until
        ``clear_failures()``) with ``status`` and the provider's error body."""
        rule = FailRule(status, times, retry_after, body, message, error_type, code, headers)
        self.failures.append(rule)
        return rule

    def clear_failures(self) -> None:
        self.failures.clear()

    def for_next(self, times: int = 1, **switches: Any) -> None:
        """Override switches (see SWITCH_DEFAULTS) for the next ``times`` API requests."""
        unknown = set(switches) - set(SWITCH_DEFAULTS)
        if unknown:
            raise TypeError(f"unknown switches: {sorted(unknown)}")
        self._overrides.append([times, switches])

    def reset(self) -> None:
        """Forget recorded requests, script, failures, overrides and counters."""
        self.requests.clear()
        self.script.clear()
        self.failures.clear()
        self._overrides.clear()
        self.cancelled = self.completed = 0

    @property
    def last_request(self) -> RecordedRequest:
        return self.requests[-1]

    def api_requests(self, path_suffix: str = "") -> list[RecordedRequest]:
        return [r for r in self.requests if r.path.endswith(path_suffix)]

    async def wait_for(self, predicate: Callable[[], bool], timeout: float = 5.0) -> None:
        """Async poll until ``predicate()`` is true (AssertionError on timeout)."""
        deadline = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() > deadline:
                raise AssertionError("condition not reached before timeout")
            await asyncio.sleep(0.01)

    def wait_until(self, predicate: Callable[[], bool], timeout: float = 5.0) -> None:
        """Blocking poll, for fakes running in a background thread."""
        deadline = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() > deadline:
                raise AssertionError("condition not reached before timeout")
            time.sleep(0.01)

    # ---- helpers for subclasses ----------------------------------------
    def new_request_id(self) -> str:
        return self.request_id_prefix + uuid.uuid4().hex[:24]

    def next_scripted(self) -> Reply | None:
        return self.script.popleft() if self.script else None

    def _take_switches(self) -> SimpleNamespace:
        values = {k: getattr(self, k) for k in SWITCH_DEFAULTS}
        if self._overrides:
            entry = self._overrides[0]
            values.update(entry[1])
            entry[0] -= 1
            if entry[0] <= 0:
                self._overrides.popleft()
        return SimpleNamespace(**values)

    def _take_failure(self) -> FailRule | None:
        for rule in self.failures:
            if rule.times is None:
                return rule
            if rule.times > 0:
                rule.times -= 1
                if rule.times == 0:
                    self.failures.remove(rule)
                return rule
        return None

    def _wrap(self, handler: Handler, api: bool) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
        async def wrapped(request: web.Request) -> web.StreamResponse:
            raw = await request.read()
            try:
                parsed = json.loads(raw) if raw else None
            except ValueError:
                parsed = None
            record = RecordedRequest(request.method, request.path,
                                     {k.lower(): v for k, v in request.headers.items()},
                                     parsed, raw, dict(request.query))
            self.requests.append(record)
            sw = self._take_switches() if api else SimpleNamespace(**SWITCH_DEFAULTS)
            ex = Exchange(self, request, sw, record)
            self.active_requests += 1
            try:
                if sw.hang:
                    await ex.pause(None)
                await ex.pause(sw.delay_s)
                denied = await self.check_auth(ex)
                if denied is not None:
                    return denied
                rule = self._take_failure() if api else None
                if rule is not None:
                    return await self.send_failure(ex, rule)
                resp = await handler(ex)
                self.completed += 1
                return resp
            except (asyncio.CancelledError, ConnectionResetError):
                if not ex.self_aborted and not self._closing:
                    self.cancelled += 1
                raise asyncio.CancelledError()
            finally:
                self.active_requests -= 1

        return wrapped

    async def send_failure(self, ex: Exchange, rule: FailRule) -> web.StreamResponse:
        headers = dict(self.failure_headers(rule))
        if rule.retry_after is not None:
            ra = rule.retry_after
            headers["retry-after"] = str(int(ra)) if isinstance(ra, (int, float)) and float(ra).is_integer() else str(ra)
        headers.update(rule.headers or {})
        body = rule.body if rule.body is not None else self.error_body(
            ex, rule.status, rule.message, error_type=rule.error_type, code=rule.code)
        return await ex.send_json(rule.status, body, headers)

    # ---- subclass hooks --------------------------------------------------
    def routes(self) -> list[tuple[str, str, Handler, bool]]:
        raise NotImplementedError

    async def check_auth(self, ex: Exchange) -> web.StreamResponse | None:
        """Return an error response to deny the request, else None."""
        return None

    def error_body(self, ex: Exchange, status: int, message: str | None, *,
                   error_type: str | None = None, code: str | None = None,
                   param: str | None = None) -> dict[str, Any]:
        raise NotImplementedError

    def failure_headers(self, rule: FailRule) -> dict[str, str]:
        return {}

    def response_headers(self, ex: Exchange) -> dict[str, str]:
        return {}
