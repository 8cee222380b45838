"""AWS event-stream encoder (``application/vnd.amazon.eventstream``) for the Bedrock fake and tests.

Header values are typed by their Python type: bool (0/1), str (7), bytes (6), datetime (8,
milliseconds), uuid.UUID (9), int (4, i32); ``Typed(BYTE | SHORT | INT | LONG | TIMESTAMP, v)``
chooses any type explicitly.
"""

from __future__ import annotations

import json
import secrets
import struct
import uuid
import zlib
from datetime import datetime, timezone
from typing import Any, Mapping, NamedTuple

TRUE, FALSE, BYTE, SHORT, INT, LONG, BYTES, STRING, TIMESTAMP, UUID = range(10)
_INT_FORMATS = {BYTE: "!b", SHORT: "!h", INT: "!i", LONG: "!q", TIMESTAMP: "!q"}
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


class Typed(NamedTuple):
    kind: int
    value: Any


def _typed(value: Any) -> Typed:
    if isinstance(value, Typed):
        return value
    if isinstance(value, bool):
        return Typed(TRUE if value else FALSE, None)
    if isinstance(value, str):
        return Typed(STRING, value)
    if isinstance(value, (bytes, bytearray)):
        return Typed(BYTES, bytes(value))
    if isinstance(value, datetime):
        return Typed(TIMESTAMP, value)
    if isinstance(value, uuid.UUID):
        return Typed(UUID, value)
    if isinstance(value, int):
        return Typed(INT, value)
    raise TypeError(f"no event-stream header type for {type(value).__name__}")


def encode_header(name: str, value: Any) -> bytes:
    kind, v = _typed(value)
    raw_name = name.encode()
    out = struct.pack("!B", len(raw_name)) + raw_name + struct.pack("!B", kind)
    if kind in (TRUE, FALSE):
        return out
    if kind == TIMESTAMP and isinstance(v, datetime):
        v = round((v - _EPOCH).total_seconds() * 1000)
    if kind in _INT_FORMATS:
        return out + struct.pack(_INT_FORMATS[kind], v)
    if kind in (BYTES, STRING):
        data = v.encode() if isinstance(v, str) else v
        return out + struct.pack("!H", len(data)) + data
    if kind == UUID:
        return out + (v.bytes if isinstance(v, uuid.UUID) else bytes(v))
    raise ValueError(f"unknown header type {kind}")


def encode_message(headers: Mapping[str, Any], payload: bytes = b"") -> bytes:
    raw_headers = b"".join(encode_header(k, v) for k, v in headers.items())
    total = 16 + len(raw_headers) + len(payload)
    prelude = struct.pack("!II", total, len(raw_headers))
    prelude += struct.pack("!I", zlib.crc32(prelude))
    message = prelude + raw_headers + payload
    return message + struct.pack("!I", zlib.crc32(message))


def _padded(obj: dict[str, Any]) -> bytes:
    # Bedrock pads every event payload with a random-length "p" field (hides token lengths).
    pad = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"[:secrets.randbelow(40) + 1]
    return json.dumps({**obj, "p": pad}, separators=(",", ":")).encode()


def event(event_type: str, payload: dict[str, Any], pad: bool = True) -> bytes:
    return encode_message({":event-type": event_type, ":content-type": "application/json",
                           ":message-type": "event"}, _padded(payload) if pad else json.dumps(payload).encode())


def exception(exception_type: str, message: str, **extra: Any) -> bytes:
    return encode_message({":exception-type": exception_type, ":content-type": "application/json",
                           ":message-type": "exception"}, json.dumps({"message": message, **extra}).encode())
