"""The fast path: an Anthropic Messages caller served by an Anthropic Messages provider.

Request: the caller's body, re-addressed to the provider's model id, gateway keys removed,
``providerOptions.anthropic`` (then ``providerOptions.<provider slug>``) merged in, and thinking
blocks without a signature dropped (they come from other providers' reasoning and Anthropic rejects
them). The caller's ``anthropic-beta`` header is forwarded, merged with the provider's configured
betas; the caller's ``anthropic-version`` too, unless the provider's config pins one.

Stream: event bytes go out exactly as the provider sent them. Only ``message_start`` (input usage),
``message_delta`` (stop reason, cumulative usage), ``message_stop`` and ``error`` are looked at, and
a block of events is split only when a substring test finds one of them. ``message_start`` and
``ping`` are held until the first content event, so that an ``overloaded_error`` right after
``message_start`` still fails over to another provider. The ``message_delta`` is held and re-sent,
with our metadata, by ``finish()``, followed by ``message_stop``.
"""

from __future__ import annotations

from typing import Any

import msgspec

from switchyard.canonical import Usage
from switchyard.errors import ErrorCategory, UpstreamError
from switchyard.protocols.anthropic.errors import error_from_wire
from switchyard.protocols.anthropic.request_in import GATEWAY_KEYS, PRIVATE_KEYS
from switchyard.protocols.anthropic.response import WireUsage, finish_reason, to_usage
from switchyard.telemetry.record import GenerationRecord

_decode = msgspec.json.Decoder().decode
_encode = msgspec.json.Encoder().encode
_HELD = (b"message_start", b"ping")
MESSAGE_STOP = b'event: message_stop\ndata: {"type":"message_stop"}\n\n'


def _unsigned(block: Any) -> bool:
    return isinstance(block, dict) and block.get("type") == "thinking" and not block.get("signature")


def _without_unsigned_thinking(messages: list[Any]) -> list[Any]:
    """Thinking from other providers' reasoning carries no signature and Anthropic rejects it. The
    caller's list is returned as is when there is none (the common case: nothing is copied)."""
    out = messages
    for i, m in enumerate(messages):
        content = m.get("content") if isinstance(m, dict) and m.get("role") == "assistant" else None
        if isinstance(content, list) and any(_unsigned(b) for b in content):
            if out is messages:
                out = list(messages)
            out[i] = {**m, "content": [b for b in content if not _unsigned(b)]}
    return out


def passthrough_body(raw: dict[str, Any], model_id: str, stream: bool, slug: str,
                     drop: frozenset[str] = frozenset()) -> dict[str, Any]:
    body = {k: v for k, v in raw.items() if k not in GATEWAY_KEYS and k not in PRIVATE_KEYS and k not in drop}
    body["model"] = model_id
    if isinstance(body.get("messages"), list):
        body["messages"] = _without_unsigned_thinking(body["messages"])
    if stream:
        body["stream"] = True
    else:
        body.pop("stream", None)
    opts = raw.get("providerOptions") or raw.get("provider_options")
    if isinstance(opts, dict):
        for key in {"anthropic": None, slug: None}:  # ordered and without a repeat
            extra = opts.get(key)
            if isinstance(extra, dict):
                body.update(extra)
    return body


def merge_beta(configured: str | None, caller: str | None) -> str | None:
    """Both lists of beta names, configured first, without repeats; names that are not plain
    tokens are dropped so that nothing but beta names reaches the provider's header."""
    names: list[str] = []
    for source in (configured, caller):
        for name in (source or "").split(","):
            name = name.strip()
            if name and name not in names and all(c.isalnum() or c in "-_." for c in name):
                names.append(name)
    return ",".join(names) or None


def _event_name(event: bytes) -> bytes:
    if event.startswith(b"event:"):
        end = event.find(b"\n")
        return event[6:end if end >= 0 else len(event)].strip()
    try:  # a server that sends data lines only: the type is in the payload
        kind = _decode(_payload(event)).get("type")
    except (msgspec.DecodeError, AttributeError):
        return b""
    return kind.encode() if isinstance(kind, str) else b""


def _payload(event: bytes) -> bytes:
    i = event.find(b"data:")
    if i < 0:
        return b""
    end = event.find(b"\n", i)
    return event[i + 5:end if end >= 0 else len(event)].strip()


class AnthropicPassthroughStream:
    __slots__ = ("_slug", "_buf", "_pending", "_committed", "_held", "_stop", "_rest", "_error", "_wire",
                 "_closed", "usage", "finish_reason", "done", "model")

    def __init__(self, slug: str) -> None:
        self._slug = slug
        self._buf = b""
        self._pending: list[bytes] = []  # message_start and ping, until the first content event
        self._committed = False
        self._held: dict[str, Any] | None = None  # the message_delta, re-sent by finish()
        self._stop = b""
        self._rest = b""  # output of close(), sent by finish()
        self._error: UpstreamError | None = None
        self._wire = WireUsage()
        self._closed = False
        self.usage: Usage | None = None
        self.finish_reason: str | None = None
        self.done = False
        self.model: str | None = None

    def feed(self, data: bytes) -> bytes:
        if self._error is not None:
            raise self._error
        buf = self._buf + data if self._buf else data
        if b"\r" in buf:
            buf = buf.replace(b"\r\n", b"\n")
        end = buf.rfind(b"\n\n")
        if end < 0:
            self._buf = buf
            return b""
        self._buf = buf[end + 2:]
        block = buf[:end + 2]
        # Common case: content deltas only. Nothing to look at, forward the bytes as they are.
        if self._committed and b"message_" not in block and b"error" not in block:
            return block
        return self._events(block)

    def _events(self, block: bytes) -> bytes:
        out: list[bytes] = []
        for event in block.split(b"\n\n"):
            if not event.strip():
                continue
            name = _event_name(event)
            if name == b"error":
                err = self._upstream_error(event)
                if self._committed and out:
                    self._error = err  # deliver what came before it; raise on the next call
                    break
                raise err
            if name in _HELD and not self._committed:
                if name == b"message_start":
                    self._start(event)
                self._pending.append(event + b"\n\n")
                continue
            if not self._committed:
                self._committed = True
                out.extend(self._pending)
                self._pending = []
            if name == b"message_delta":
                self._delta(event)
            elif name == b"message_stop":
                self._stop = event + b"\n\n"
                self.done = True
            else:
                out.append(event + b"\n\n")
        return b"".join(out)

    def _upstream_error(self, event: bytes) -> UpstreamError:
        try:
            body = _decode(_payload(event))
            err = body.get("error") if isinstance(body, dict) else None
        except msgspec.DecodeError:
            body, err = None, None
        if not isinstance(err, dict):
            return UpstreamError(ErrorCategory.SERVER_ERROR, f"{self._slug}: unreadable error event")
        message = str(err.get("message") or err.get("type") or "error")
        return error_from_wire(0, err.get("type"), message, body)

    def _start(self, event: bytes) -> None:
        try:
            msg = _decode(_payload(event)).get("message") or {}
            usage = msg.get("usage")
            if isinstance(usage, dict):
                self._wire = msgspec.convert(usage, WireUsage)
                self.usage = to_usage(self._wire)
            if isinstance(msg.get("model"), str):
                self.model = msg["model"]
        except (msgspec.DecodeError, msgspec.ValidationError, AttributeError):
            pass  # usage is a nicety; the bytes still go out

    def _delta(self, event: bytes) -> None:
        try:
            held = _decode(_payload(event))
        except msgspec.DecodeError:
            held = None
        if not isinstance(held, dict):
            self._rest += event + b"\n\n"  # not ours to understand: pass it on as it came
            return
        self._held = held
        delta = held.get("delta") or {}
        if isinstance(delta, dict) and delta.get("stop_reason"):
            self.finish_reason = finish_reason(delta["stop_reason"])
        usage = held.get("usage")
        if isinstance(usage, dict):
            try:
                u = msgspec.convert(usage, WireUsage)
            except msgspec.ValidationError:
                return
            w = self._wire  # cumulative: what message_delta repeats is the final word
            for key in ("input_tokens", "output_tokens", "cache_creation_input_tokens",
                        "cache_read_input_tokens", "output_tokens_details"):
                if getattr(u, key) is not None:
                    setattr(w, key, getattr(u, key))
            self.usage = to_usage(w)

    def close(self) -> None:
        """The provider's body ended: it must have sent ``message_stop``."""
        if self._closed:
            return
        if self._error is not None:
            raise self._error
        rest, self._buf = self._buf, b""
        if rest.strip():
            self._rest += self._events(rest.rstrip(b"\n") + b"\n\n")
        if not self.done:
            raise UpstreamError(ErrorCategory.SERVER_ERROR, f"{self._slug}: stream ended before message_stop")
        self._closed = True

    def finish(self, rec: GenerationRecord) -> bytes:
        delta = self._held or {"type": "message_delta", "delta": {"stop_reason": "end_turn", "stop_sequence": None},
                               "usage": {"output_tokens": self.usage.output_tokens if self.usage else 0}}
        delta["provider_metadata"] = {"gateway": rec.gateway_metadata()}
        pending = b"".join(self._pending)
        self._pending = []
        return (pending + self._rest + b"event: message_delta\ndata: " + _encode(delta) + b"\n\n"
                + (self._stop or MESSAGE_STOP))
