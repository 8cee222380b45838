"""Incremental decoder for the AWS event-stream framing (``application/vnd.amazon.eventstream``).

One message::

    [total length u32][headers length u32][prelude CRC32 u32]   12-byte prelude, big-endian
    [headers]                                                   name len u8, name, type u8, value
    [payload]
    [message CRC32 u32]                                         CRC32 of every byte before it

Header value types: 0 true, 1 false (no value bytes), 2 byte (i8), 3 short (i16), 4 integer (i32),
5 long (i64), 6 byte array (u16 length + bytes), 7 string (u16 length + UTF-8), 8 timestamp (i64
milliseconds since the epoch), 9 UUID (16 bytes). Both CRCs are checked; a mismatch, an impossible
length or an unknown header type is a BAD_RESPONSE: the bytes cannot be trusted from there on.
"""

from __future__ import annotations

import struct
import uuid
import zlib
from datetime import datetime, timedelta, timezone
from typing import Union

from switchyard.errors import ErrorCategory, UpstreamError

PRELUDE_LEN = 12
OVERHEAD = 16  # prelude + message CRC
MAX_HEADERS_LEN = 128 * 1024  # botocore's limits
MAX_PAYLOAD_LEN = 24 * 1024 * 1024

HeaderValue = Union[bool, int, bytes, str, datetime, uuid.UUID]
Headers = dict[str, HeaderValue]

_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_PRELUDE = struct.Struct("!III")
_INTS = {2: struct.Struct("!b"), 3: struct.Struct("!h"), 4: struct.Struct("!i"), 5: struct.Struct("!q")}
_I64 = _INTS[5]
_U16 = struct.Struct("!H")
_U32 = struct.Struct("!I")


class _Malformed(Exception):
    pass


def parse_headers(data: bytes) -> Headers:
    headers: Headers = {}
    pos, end = 0, len(data)
    try:
        while pos < end:
            name_len = data[pos]
            name = data[pos + 1:pos + 1 + name_len].decode()
            pos += 1 + name_len
            kind = data[pos]
            pos += 1
            value: HeaderValue
            if kind == 0 or kind == 1:
                value = kind == 0
            elif kind in _INTS:
                fmt = _INTS[kind]
                (value,) = fmt.unpack_from(data, pos)
                pos += fmt.size
            elif kind == 6 or kind == 7:
                (n,) = _U16.unpack_from(data, pos)
                raw = data[pos + 2:pos + 2 + n]
                if len(raw) != n:
                    raise _Malformed("header value runs past the headers")
                value = raw if kind == 6 else raw.decode()
                pos += 2 + n
            elif kind == 8:
                (ms,) = _I64.unpack_from(data, pos)
                value = _EPOCH + timedelta(milliseconds=ms)
                pos += 8
            elif kind == 9:
                raw = data[pos:pos + 16]
                if len(raw) != 16:
                    raise _Malformed("header value runs past the headers")
                value = uuid.UUID(bytes=raw)
                pos += 16
            else:
                raise _Malformed(f"unknown header type {kind}")
            headers[name] = value
    except (IndexError, struct.error, UnicodeDecodeError) as exc:
        raise _Malformed(f"malformed headers ({type(exc).__name__})") from None
    if pos != end:
        raise _Malformed("header value runs past the headers")
    return headers


class EventStreamDecoder:
    """Feed bytes as they arrive, split anywhere; get back complete ``(headers, payload)`` messages.
    Not thread-safe; one per response."""

    def __init__(self, slug: str = "bedrock") -> None:
        self.slug = slug
        self._buf = bytearray()
        self._pos = 0  # start of the first unconsumed message in _buf
        self._checked_prelude = -1  # _pos whose prelude CRC was verified
        self._error: UpstreamError | None = None

    def _bad(self, why: str) -> UpstreamError:
        return UpstreamError(ErrorCategory.BAD_RESPONSE, f"{self.slug}: corrupt event stream ({why})")

    def feed(self, data: bytes) -> list[tuple[Headers, bytes]]:
        """Complete messages, in order. Raises UpstreamError(BAD_RESPONSE) on corruption: at once
        if no message came before it in this call, else on the next call."""
        if self._error is not None:
            raise self._error
        buf = self._buf
        buf += data
        out: list[tuple[Headers, bytes]] = []
        view = memoryview(buf)
        try:
            while len(buf) - self._pos >= PRELUDE_LEN:
                start = self._pos
                total, headers_len, prelude_crc = _PRELUDE.unpack_from(buf, start)
                if self._checked_prelude != start:
                    if zlib.crc32(view[start:start + 8]) != prelude_crc:
                        raise self._bad("prelude CRC mismatch")
                    if headers_len > MAX_HEADERS_LEN or total < OVERHEAD + headers_len \
                            or total - OVERHEAD - headers_len > MAX_PAYLOAD_LEN:
                        raise self._bad("impossible lengths")
                    self._checked_prelude = start
                if len(buf) - start < total:
                    break
                end = start + total
                (message_crc,) = _U32.unpack_from(buf, end - 4)
                if zlib.crc32(view[start:end - 4]) != message_crc:
                    raise self._bad("message CRC mismatch")
                headers_end = start + PRELUDE_LEN + headers_len
                try:
                    headers = parse_headers(bytes(view[start + PRELUDE_LEN:headers_end]))
                except _Malformed as exc:
                    raise self._bad(str(exc)) from None
                out.append((headers, bytes(view[headers_end:end - 4])))
                self._pos = end
        except UpstreamError as exc:
            self._error = exc
            if not out:
                raise
        finally:
            view.release()
        if self._pos and (self._pos == len(buf) or self._pos > 65536):
            del buf[:self._pos]  # compact: rarely, so decoding stays linear
            self._checked_prelude = 0 if self._checked_prelude == self._pos else -1
            self._pos = 0
        return out

    @property
    def pending(self) -> int:
        """Bytes of an incomplete message still buffered."""
        return len(self._buf) - self._pos
