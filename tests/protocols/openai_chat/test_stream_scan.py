"""Finding the first event the relay must read: the schema check over a whole block and the byte
scan behind it agree with a reference that decodes every event, for every block of every stream."""

from __future__ import annotations

import json
import random
from typing import Any

import pytest

from switchyard.protocols.openai_chat.stream_scan import EventScan, scan_first_special
from tests.protocols.openai_chat.helpers import fixture

GROQ_PATHS = (("x_groq", "usage"), ("x_groq", "error"))


def chunk(content: str = "hi", finish: str | None = None, usage: Any = "null", **extra: Any) -> dict:
    c = {"id": "c1", "object": "chat.completion.chunk", "created": 1, "model": "m",
         "choices": [{"index": 0, "delta": {"content": content}, "logprobs": None, "finish_reason": finish}]}
    if usage != "absent":
        c["usage"] = None if usage == "null" else usage
    c.update(extra)
    return c


def event(payload: Any, spaced: bool = False, space_after_data: bool = True) -> bytes:
    body = json.dumps(payload) if spaced else json.dumps(payload, separators=(",", ":"))
    return (b"data: " if space_after_data else b"data:") + body.encode() + b"\n\n"


DONE = b"data: [DONE]\n\n"
USAGE = {"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5}


def reference_special(ev: bytes, extra_paths=()) -> bool:
    """Decode the event and look: what the relay must read."""
    payload = ev.split(b":", 1)[1].strip()
    if payload == b"[DONE]":
        return True
    try:
        c = json.loads(payload)
    except ValueError:
        return False
    if not isinstance(c, dict):
        return True
    if c.get("usage") is not None or c.get("error") is not None:
        return True
    for path in extra_paths:
        node: Any = c
        for key in path:
            node = node.get(key) if isinstance(node, dict) else None
        if node is not None:
            return True
    return any(ch.get("finish_reason") is not None for ch in c.get("choices") or [])


def first_index(block: bytes, offset: int) -> int:
    """The number of the event that ``offset`` falls in (-1 for -1)."""
    return -1 if offset < 0 else block.count(b"\n\n", 0, offset)


def expected_index(events: list[bytes], extra_paths=()) -> int:
    return next((i for i, e in enumerate(events) if reference_special(e, extra_paths)), -1)


PLAIN = [chunk("Hello"), chunk(' "finish_reason":"stop", "usage": {'), chunk("[DONE] \"error\": x"),
         chunk("x", usage="absent"), chunk("tool", error=None)]
SPECIAL = [chunk("", finish="stop"), chunk("", usage=USAGE, choices=[]), {"error": {"message": "boom"}},
           chunk("", finish="length", usage=USAGE), chunk("", usage=USAGE)]


@pytest.mark.parametrize("spaced", [False, True], ids=["compact", "spaced"])
def test_every_position_of_every_kind_of_special_event(spaced: bool) -> None:
    scan = EventScan()
    for special in SPECIAL:
        for at in range(6):
            before = [event(p, spaced) for p in (PLAIN * 2)[:at]]
            events = [*before, event(special, spaced), event(PLAIN[0], spaced)]
            block = b"".join(events)
            assert first_index(block, scan.first_special(block)) == at, (special, at)
            # the byte scan may stop early, at content that mentions [DONE] or "error" (the relay
            # then decodes that event and forwards it unchanged), never late
            assert 0 <= first_index(block, scan_first_special(block)) <= at
            decoy = b"[DONE]" in block[:len(b"".join(events[:at]))]
            assert decoy or first_index(block, scan_first_special(block)) == at
    for n in range(1, 8):
        block = b"".join(event(p, spaced) for p in (PLAIN * 2)[:n])
        assert scan.first_special(block) == -1
        assert scan.plain(block.split(b"\n\n")[0])
        assert scan_first_special(block) == (-1 if n < 3 else block.find(b"[DONE]"))


def test_done_comments_and_data_without_space_take_the_byte_scan() -> None:
    scan = EventScan()
    plain = event(chunk("a"))
    assert scan.first_special(plain * 3 + DONE) == len(plain) * 3
    assert scan.first_special(DONE) == 0
    assert scan.first_special(plain + b": keep-alive\n\n" + plain) == -1
    assert first_index(b"", scan.first_special(plain + b": keep-alive\n\n" + event(chunk(finish="stop")))) >= 0
    nospace = event(chunk("a"), space_after_data=False) + event(chunk(finish="stop"), space_after_data=False)
    assert first_index(nospace, scan.first_special(nospace)) == 1


def test_groq_extra_paths() -> None:
    scan, plain_scan = EventScan(GROQ_PATHS), EventScan()
    with_id = event(chunk("a", x_groq={"id": "req_1"}))
    with_usage = event(chunk("", finish=None, x_groq={"id": "req_1", "usage": USAGE}))
    with_error = event(chunk("", x_groq={"error": "overloaded"}))
    assert scan.first_special(with_id * 2) == -1
    assert scan.first_special(with_id + with_usage) == len(with_id)
    assert scan.first_special(with_id + with_error) == len(with_id)
    assert not scan.plain(with_usage[:-2])
    # without the quirk's paths the schema lets x_groq through; nested usage is still not missed by
    # the byte scan, which looks at every "usage"
    assert plain_scan.first_special(with_id + with_usage) == -1
    assert first_index(with_id + with_usage, scan_first_special(with_id + with_usage)) == 1


def test_odd_values_count_as_special_so_the_relay_reads_them() -> None:
    scan = EventScan()
    for odd in (b'data: {"choices":[1]}\n\n', b'data: {"choices":null}\n\n', b'data: "text"\n\n',
                b'data: {"usage":{}}\n\n', b'data: {"error":false}\n\n'):
        assert scan.first_special(event(chunk()) + odd) == len(event(chunk())), odd


@pytest.mark.parametrize("name", ["text.sse", "tool_calls.sse", "groq.sse", "deepseek_reasoner.sse",
                                  "error_midstream.sse"])
def test_recorded_streams_in_random_blocks_agree_with_the_reference(name: str) -> None:
    raw = fixture(name).replace(b"\r\n", b"\n")
    events = [e + b"\n\n" for e in raw.split(b"\n\n") if e.strip()]
    paths = GROQ_PATHS if name == "groq.sse" else ()
    scan = EventScan(paths)
    rng = random.Random(7)
    for _ in range(200):
        i = rng.randrange(len(events))
        j = rng.randrange(i + 1, len(events) + 1)
        part = events[i:j]
        if part[0].startswith(b":"):
            continue  # the relay drops leading comments before it scans
        block = b"".join(part)
        data_events = [e for e in part if not e.startswith(b":")]
        want = expected_index(data_events, paths)
        got = scan.first_special(block)
        if want < 0:
            assert got == -1, (name, i, j)
        else:
            # the index among all events, comments included
            special = data_events[want]
            assert first_index(block, got) == part.index(special), (name, i, j)


def test_random_compact_and_spaced_streams_agree_with_the_reference() -> None:
    rng = random.Random(11)
    scan = EventScan()
    for _ in range(400):
        spaced = rng.random() < 0.3
        payloads = [rng.choice(PLAIN) for _ in range(rng.randrange(1, 10))]
        if rng.random() < 0.7:
            payloads.insert(rng.randrange(len(payloads) + 1), rng.choice(SPECIAL))
        events = [event(p, spaced) for p in payloads]
        block = b"".join(events)
        assert first_index(block, scan.first_special(block)) == expected_index(events)
