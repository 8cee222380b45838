"""The incremental SSE decoder shared by provider stream decoders."""

from __future__ import annotations

import random

import pytest

from switchyard.providers.sse import SSEDecoder

ANTHROPIC = (b"event: message_start\ndata: {\"type\":\"message_start\"}\n\n"
             b"event: ping\ndata: {\"type\": \"ping\"}\n\n"
             b"event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"delta\":{\"text\":\"Hi\"}}\n\n"
             b"event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n")
EXPECTED = [("message_start", b'{"type":"message_start"}'), ("ping", b'{"type": "ping"}'),
            ("content_block_delta", b'{"type":"content_block_delta","delta":{"text":"Hi"}}'),
            ("message_stop", b'{"type":"message_stop"}')]


def decode(chunks: list[bytes]) -> list[tuple[str | None, bytes]]:
    d = SSEDecoder()
    out: list[tuple[str | None, bytes]] = []
    for c in chunks:
        out += d.feed(c)
    return out + d.flush()


def cuts(raw: bytes, seed: int) -> list[bytes]:
    rng = random.Random(seed)
    points = sorted(rng.sample(range(1, len(raw)), 10))
    return [raw[a:b] for a, b in zip([0, *points], [*points, len(raw)])]


def test_whole() -> None:
    assert decode([ANTHROPIC]) == EXPECTED


def test_byte_by_byte() -> None:
    assert decode([ANTHROPIC[i:i + 1] for i in range(len(ANTHROPIC))]) == EXPECTED


@pytest.mark.parametrize("seed", range(10))
def test_random_splits(seed: int) -> None:
    assert decode(cuts(ANTHROPIC, seed)) == EXPECTED


@pytest.mark.parametrize("seed", range(5))
def test_crlf(seed: int) -> None:
    raw = ANTHROPIC.replace(b"\n", b"\r\n")
    assert decode([raw]) == EXPECTED
    assert decode([raw[i:i + 1] for i in range(len(raw))]) == EXPECTED
    assert decode(cuts(raw, seed)) == EXPECTED


def test_split_between_cr_and_lf() -> None:
    raw = b"data: a\r\n\r\ndata: b\r\n\r\n"
    i = raw.index(b"\n")
    assert decode([raw[:i], raw[i:]]) == [(None, b"a"), (None, b"b")]
    j = raw.index(b"\r\n\r\n") + 3
    assert decode([raw[:j], raw[j:]]) == [(None, b"a"), (None, b"b")]


def test_data_only_events_have_no_name() -> None:
    assert decode([b'data: {"a":1}\n\ndata: [DONE]\n\n']) == [(None, b'{"a":1}'), (None, b"[DONE]")]


def test_comments_and_keepalives_are_dropped() -> None:
    raw = b": keep-alive\n\n: OPENROUTER PROCESSING\n\n:\n\ndata: x\n\n"
    assert decode([raw]) == [(None, b"x")]
    # a comment line inside an event is skipped, the event kept
    assert decode([b": hello\ndata: y\n\n"]) == [(None, b"y")]


def test_events_without_data_are_dropped() -> None:
    assert decode([b"event: ping\n\nid: 7\nretry: 1000\n\ndata: z\n\n"]) == [(None, b"z")]


def test_field_without_space_and_extra_spaces() -> None:
    assert decode([b"data:x\n\n"]) == [(None, b"x")]
    # only one leading space is removed
    assert decode([b"data:  two\n\n"]) == [(None, b" two")]
    assert decode([b"event:e\ndata:v\n\n"]) == [("e", b"v")]


def test_multiline_data_is_joined_with_newlines() -> None:
    assert decode([b"data: {\ndata: \"a\": 1\ndata: }\n\n"]) == [(None, b'{\n"a": 1\n}')]


def test_id_and_retry_fields_are_ignored() -> None:
    assert decode([b"id: 12\nevent: delta\nretry: 10\ndata: q\n\n"]) == [("delta", b"q")]


def test_flush_returns_final_event_without_blank_line() -> None:
    d = SSEDecoder()
    assert d.feed(b"data: a\n\ndata: [DONE]") == [(None, b"a")]
    assert d.flush() == [(None, b"[DONE]")]
    assert d.flush() == []
    d = SSEDecoder()
    assert d.feed(b"data: last\r\n") == []
    assert d.flush() == [(None, b"last")]


def test_flush_of_nothing_or_comment() -> None:
    assert SSEDecoder().flush() == []
    d = SSEDecoder()
    d.feed(b": keep-alive\n")
    assert d.flush() == []


def test_feed_returns_only_complete_events() -> None:
    d = SSEDecoder()
    assert d.feed(b"data: par") == []
    assert d.feed(b"tial\n") == []
    assert d.feed(b"\n") == [(None, b"partial")]
    assert d.feed(b"") == []


def test_utf8_split_inside_a_character() -> None:
    raw = "data: héllo 😀\n\n".encode()
    i = raw.index("😀".encode()) + 2
    assert decode([raw[:i], raw[i:]]) == [(None, "héllo 😀".encode())]


def test_mixed_line_endings() -> None:
    # an intermediary's LF keep-alive before a CRLF upstream stream, and the reverse
    raw = b": keep-alive\n\ndata: a\r\n\r\ndata: b\r\n\r\n"
    assert decode([raw]) == [(None, b"a"), (None, b"b")]
    assert decode([raw[i:i + 1] for i in range(len(raw))]) == [(None, b"a"), (None, b"b")]
    raw = b"data: a\r\n\r\ndata: b\n\n"
    assert decode([raw]) == [(None, b"a"), (None, b"b")]
