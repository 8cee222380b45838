"""AWS event-stream decoding: round trips through our test encoder, arbitrary splits, every header
type, CRC corruption, and agreement with botocore's own parser."""

from __future__ import annotations

import random
import struct
import uuid
import zlib
from datetime import datetime, timezone

import pytest
from botocore.eventstream import EventStreamBuffer

from switchyard.errors import ErrorCategory, UpstreamError
from switchyard.protocols.bedrock.eventstream import EventStreamDecoder
from tests.fakes.aws_eventstream import (
    BYTE,
    LONG,
    SHORT,
    TIMESTAMP,
    Typed,
    encode_message,
    event,
    exception,
)

WHEN = datetime(2026, 11, 25, 13, 45, 7, 123000, tzinfo=timezone.utc)
UID = uuid.UUID("12345678-1234-5678-1234-567812345678")
ALL_TYPES = {
    "t": True, "f": False, "byte": Typed(BYTE, -7), "short": Typed(SHORT, -300), "int": 70000,
    "long": Typed(LONG, -(2**40)), "bytes": b"\x00\xffraw", "string": "héllo", "ts": WHEN, "uuid": UID,
}


def messages(n: int = 20) -> list[tuple[dict, bytes]]:
    out = [(ALL_TYPES, b"")]
    for i in range(n):
        out.append(({":message-type": "event", ":event-type": "contentBlockDelta", ":content-type": "application/json"},
                     f'{{"contentBlockIndex":0,"delta":{{"text":"word {i} "}}}}'.encode()))
    out.append(({":message-type": "event", ":event-type": "big"}, bytes(range(256)) * 300))
    return out


def test_all_header_types_round_trip():
    [(headers, payload)] = EventStreamDecoder().feed(encode_message(ALL_TYPES, b"payload"))
    assert payload == b"payload"
    assert headers == {"t": True, "f": False, "byte": -7, "short": -300, "int": 70000, "long": -(2**40),
                       "bytes": b"\x00\xffraw", "string": "héllo", "ts": WHEN, "uuid": UID}
    assert isinstance(headers["ts"], datetime) and headers["ts"].tzinfo is not None


def test_timestamp_header_from_raw_milliseconds():
    [(headers, _)] = EventStreamDecoder().feed(encode_message({"ts": Typed(TIMESTAMP, 0)}))
    assert headers["ts"] == datetime(1970, 1, 1, tzinfo=timezone.utc)


@pytest.mark.parametrize("seed", range(25))
def test_random_splits(seed):
    rng = random.Random(seed)
    msgs = messages()
    wire = b"".join(encode_message(h, p) for h, p in msgs)
    decoder = EventStreamDecoder()
    got, pos = [], 0
    while pos < len(wire):
        step = rng.choice([1, 2, 3, 7, 11, 16, 64, 500, 4096])
        got += decoder.feed(wire[pos:pos + step])
        pos += step
    assert decoder.pending == 0
    assert [p for _, p in got] == [p for _, p in msgs]
    assert got[1][0][":event-type"] == "contentBlockDelta"


def test_byte_by_byte_and_whole():
    wire = b"".join(encode_message(h, p) for h, p in messages(3))
    d1, d2 = EventStreamDecoder(), EventStreamDecoder()
    one = [m for i in range(len(wire)) for m in d1.feed(wire[i:i + 1])]
    assert one == d2.feed(wire)
    assert d1.pending == d2.pending == 0


def test_agrees_with_botocore():
    wire = event("contentBlockDelta", {"contentBlockIndex": 2, "delta": {"text": "x"}}) + \
        exception("throttlingException", "slow down") + encode_message(ALL_TYPES, b"p")
    buf = EventStreamBuffer()
    buf.add_data(wire)
    theirs = [(m.headers, m.payload) for m in buf]
    ours = EventStreamDecoder().feed(wire)
    assert [p for _, p in ours] == [p for _, p in theirs]
    for (oh, _), (th, _) in zip(ours, theirs, strict=True):
        assert oh.keys() == th.keys()
        for k, v in th.items():
            if k == "ts":
                assert oh[k] == WHEN and v == int(WHEN.timestamp() * 1000)
            elif k == "uuid":
                assert oh[k].bytes == v
            else:
                assert oh[k] == v


def corrupt(frame: bytes, index: int) -> bytes:
    b = bytearray(frame)
    b[index] ^= 0x01
    return bytes(b)


@pytest.mark.parametrize("where", ["prelude", "prelude_crc", "headers", "payload", "message_crc"])
def test_crc_corruption_is_detected(where):
    frame = encode_message({":message-type": "event", ":event-type": "x"}, b'{"a":1}')
    index = {"prelude": 5, "prelude_crc": 9, "headers": 14, "payload": len(frame) - 6,
             "message_crc": len(frame) - 1}[where]
    with pytest.raises(UpstreamError) as exc:
        EventStreamDecoder("bedrock").feed(corrupt(frame, index))
    assert exc.value.category is ErrorCategory.BAD_RESPONSE
    assert "CRC" in exc.value.message or "lengths" in exc.value.message


def test_prelude_corruption_is_detected_before_the_message_is_complete():
    frame = corrupt(encode_message({"a": "b"}, b"x" * 1000), 2)
    with pytest.raises(UpstreamError):
        EventStreamDecoder().feed(frame[:12])


def test_good_messages_before_a_corrupt_one_are_delivered_first():
    good = encode_message({"n": 1}, b"one")
    bad = corrupt(encode_message({"n": 2}, b"two"), 20)
    decoder = EventStreamDecoder()
    assert [p for _, p in decoder.feed(good + bad)] == [b"one"]
    with pytest.raises(UpstreamError):
        decoder.feed(b"")


def test_impossible_lengths_and_bad_header_types():
    prelude = struct.pack("!II", 10, 0)  # shorter than the 16-byte overhead
    with pytest.raises(UpstreamError):
        EventStreamDecoder().feed(prelude + struct.pack("!I", zlib.crc32(prelude)))
    headers = b"\x01a\x0c"  # header type 12 does not exist
    prelude = struct.pack("!II", 16 + len(headers), len(headers))
    msg = prelude + struct.pack("!I", zlib.crc32(prelude)) + headers
    with pytest.raises(UpstreamError) as exc:
        EventStreamDecoder().feed(msg + struct.pack("!I", zlib.crc32(msg)))
    assert "header type" in exc.value.message
    headers = b"\x01a\x07\x00\x09abc"  # string length runs past the headers
    prelude = struct.pack("!II", 16 + len(headers), len(headers))
    msg = prelude + struct.pack("!I", zlib.crc32(prelude)) + headers
    with pytest.raises(UpstreamError):
        EventStreamDecoder().feed(msg + struct.pack("!I", zlib.crc32(msg)))


def test_partial_message_is_pending():
    frame = encode_message({"a": "b"}, b"payload")
    decoder = EventStreamDecoder()
    assert decoder.feed(frame[:-3]) == []
    assert decoder.pending == len(frame) - 3
    assert len(decoder.feed(frame[-3:])) == 1 and decoder.pending == 0


def test_long_streams_stay_compact():
    frame = encode_message({"a": "b"}, b"x" * 1000)
    decoder = EventStreamDecoder()
    for _ in range(200):
        assert len(decoder.feed(frame + frame[:100])) >= 1
        decoder.feed(frame[100:])
    assert decoder.pending == 0 and len(decoder._buf) == 0
