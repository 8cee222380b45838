"""Azure streams: the prompt-filter chunk first, content-filter results on every choice, annotation
frames in asynchronous-filter mode, and output filtered mid-stream."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from switchyard.canonical import Finish, ResponseInfo, TextDelta, Usage, UsageReport
from switchyard.protocols.openai_chat.passthrough import OpenAIPassthroughStream
from switchyard.protocols.openai_chat.quirks import NO_QUIRKS, QUIRKS
from switchyard.protocols.openai_chat.response import parse_result
from switchyard.protocols.openai_chat.stream_in import OpenAIStreamDecoder
from switchyard.telemetry.record import GenerationRecord
from tests.protocols.openai_chat.helpers import splits, sse_json

FIXTURES = Path(__file__).parent / "fixtures"
AZURE = QUIRKS["azure"]


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def events_of(raw: bytes) -> list[bytes]:
    return [e + b"\n\n" for e in raw.split(b"\n\n") if e]


def decode(chunks: list[bytes]) -> list[object]:
    dec = OpenAIStreamDecoder("azure", AZURE)
    out: list[object] = []
    for c in chunks:
        out += dec.feed(c)
    return out + dec.close()


def relay(chunks: list[bytes], wants_usage: bool, quirks=AZURE) -> tuple[OpenAIPassthroughStream, bytes]:
    r = OpenAIPassthroughStream("azure", wants_usage, quirks)
    out = b"".join(r.feed(c) for c in chunks)
    r.close()
    return r, out


def record() -> GenerationRecord:
    rec = GenerationRecord("openai/gpt-4o", stream=True)
    rec.cost = 0.001
    return rec


USAGE = Usage(input_tokens=9, output_tokens=3)


@pytest.mark.parametrize("name", ["text.sse", "async_filter.sse"])
def test_decoder_skips_filter_frames_and_takes_the_real_id(name: str) -> None:
    for chunks in splits(fixture(name)):
        assert decode(chunks) == [ResponseInfo("chatcmpl-B8azureX1", "gpt-4o-2024-08-06"), TextDelta("Hello"),
                                  TextDelta(" from"), TextDelta(" Azure"), Finish("stop", "stop"), UsageReport(USAGE)]


def test_decoder_reports_output_filtered() -> None:
    events = decode([fixture("filtered.sse")])
    assert Finish("content_filter", "content_filter") in events
    assert events[1] == TextDelta("Once")


@pytest.mark.parametrize("name", ["text.sse", "async_filter.sse"])
@pytest.mark.parametrize("wants_usage", [False, True])
def test_relay_drops_filter_frames_and_forwards_the_rest_unchanged(name: str, wants_usage: bool) -> None:
    raw = fixture(name)
    kept = [e for e in events_of(raw) if b'"prompt_filter_results"' not in e and b'"content_filter_offsets"' not in e]
    # kept: role, 3 content chunks, finish, usage, [DONE]; the finish is held without usage, the usage
    # chunk always (it is re-sent with our metadata)
    expected = b"".join(kept[:5] if wants_usage else kept[:4])
    for chunks in splits(raw):
        r, out = relay(chunks, wants_usage)
        assert out == expected
        assert r.usage == USAGE and r.finish_reason == "stop" and r.model == "gpt-4o-2024-08-06"
    tail = sse_json(r.finish(record()))
    assert tail[-1] == "[DONE]"
    assert all(obj == "[DONE]" or obj["choices"] or obj.get("usage") for obj in tail)


def test_without_the_azure_quirks_the_frames_would_reach_the_caller() -> None:
    _, out = relay([fixture("text.sse")], False, NO_QUIRKS)
    assert out.startswith(b'data: {"choices":[],"created":0,"id":"","model":""')


def test_relay_keeps_output_filter_finish() -> None:
    r, out = relay([fixture("filtered.sse")], True)
    assert r.finish_reason == "content_filter"
    finish = [o for o in sse_json(out) if o["choices"] and o["choices"][0]["finish_reason"]]
    assert finish[0]["choices"][0]["content_filter_results"]["sexual"]["filtered"] is True


def test_non_streamed_content_filter_result() -> None:
    body = {"choices": [{"content_filter_results": {"sexual": {"filtered": True, "severity": "medium"}},
                         "finish_reason": "content_filter", "index": 0, "logprobs": None,
                         "message": {"content": None, "refusal": None, "role": "assistant"}}],
            "created": 1741570400, "id": "chatcmpl-B8azureX2", "model": "gpt-4o-2024-08-06",
            "object": "chat.completion", "prompt_filter_results": [{"prompt_index": 0, "content_filter_results": {}}],
            "usage": {"completion_tokens": 0, "prompt_tokens": 9, "total_tokens": 9}}
    result = parse_result(json.dumps(body).encode())
    assert result.finish_reason == "content_filter" and result.content == []
    assert result.usage == Usage(input_tokens=9)
