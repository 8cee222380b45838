"""ConverseStream event stream -> canonical stream events."""

from __future__ import annotations

import random

import pytest

from switchyard.canonical import (
    Finish,
    ReasoningDelta,
    TextDelta,
    ToolCallDelta,
    ToolCallStart,
    Usage,
    UsageReport,
)
from switchyard.errors import ErrorCategory, UpstreamError
from switchyard.protocols.bedrock.stream import BedrockStreamDecoder
from tests.fakes.aws_eventstream import encode_message
from tests.protocols.bedrock import fixtures


def decode(frames: list[bytes], seed: int | None = None) -> list:
    decoder = BedrockStreamDecoder("bedrock")
    wire = b"".join(frames)
    out = []
    if seed is None:
        out += decoder.feed(wire)
    else:
        rng = random.Random(seed)
        pos = 0
        while pos < len(wire):
            n = rng.randint(1, 80)
            out += decoder.feed(wire[pos:pos + n])
            pos += n
    return out + decoder.close()


@pytest.mark.parametrize("seed", [None, 1, 2, 3])
def test_text(seed):
    events = decode(fixtures.text_stream(), seed)
    text = "".join(e.text for e in events if type(e) is TextDelta)
    assert text == "Hello, world"
    assert events[-2:] == [Finish("stop", raw="end_turn"),
                           UsageReport(Usage(input_tokens=25, output_tokens=12))]


def test_tool_calls_and_cached_usage():
    events = decode(fixtures.tool_stream())
    assert events[0] == TextDelta("Let me check.")
    assert events[1] == ToolCallStart(0, "tooluse_kZJMlvQmRJ6eAyJE5GIl7Q", "get_weather")
    assert events[2:4] == [ToolCallDelta(0, '{"city":'), ToolCallDelta(0, '"Paris"}')]
    assert events[4:6] == [ToolCallStart(1, "tooluse_second", "now"), ToolCallDelta(1, "{}")]
    assert events[6] == Finish("tool_calls", raw="tool_use")
    # inputTokens excludes cache reads and writes: canonical input counts them.
    assert events[7] == UsageReport(Usage(input_tokens=135, output_tokens=12, cache_read_tokens=100,
                                          cache_write_tokens=10))


def test_reasoning():
    events = decode(fixtures.reasoning_stream())
    assert events[:4] == [ReasoningDelta(text="Think"), ReasoningDelta(text="ing."), ReasoningDelta(signature="c2ln"),
                          ReasoningDelta(redacted="cmVk")]
    assert events[4] == TextDelta("42")
    assert events[5] == Finish("length", raw="max_tokens")


@pytest.mark.parametrize("exc_type,message,category", [
    ("throttlingException", "Too many requests", ErrorCategory.RATE_LIMITED),
    ("modelStreamErrorException", "The model failed", ErrorCategory.SERVER_ERROR),
    ("validationException", "Input is too long for requested model.", ErrorCategory.CONTEXT_TOO_LONG),
    ("validationException", "Malformed input", ErrorCategory.INVALID_REQUEST),
    ("serviceUnavailableException", "Bedrock is unable to process your request.", ErrorCategory.OVERLOADED),
    ("internalServerException", "oops", ErrorCategory.SERVER_ERROR),
    ("modelTimeoutException", "timed out", ErrorCategory.TIMEOUT),
])
def test_in_stream_exceptions(exc_type, message, category):
    decoder = BedrockStreamDecoder("bedrock")
    frames = fixtures.with_exception(2, exc_type, message)
    # The text before the exception is delivered first; the error is raised on the next call.
    assert decoder.feed(b"".join(frames)) == [TextDelta("Hello")]
    with pytest.raises(UpstreamError) as exc:
        decoder.feed(b"")
    assert exc.value.category is category
    assert exc.value.code == exc_type and message in exc.value.message
    with pytest.raises(UpstreamError):
        decoder.close()


def test_exception_first_raises_at_once():
    decoder = BedrockStreamDecoder("bedrock")
    with pytest.raises(UpstreamError) as exc:
        decoder.feed(b"".join(fixtures.with_exception(0, "throttlingException", "slow")))
    assert exc.value.category is ErrorCategory.RATE_LIMITED


def test_error_message_type():
    frame = encode_message({":message-type": "error", ":error-code": "InternalFailure",
                            ":error-message": "An internal error occurred"})
    with pytest.raises(UpstreamError) as exc:
        BedrockStreamDecoder().feed(frame)
    assert exc.value.category is ErrorCategory.SERVER_ERROR and "internal error" in exc.value.message


@pytest.mark.parametrize("keep", [1, 4, 5])
def test_cut_before_metadata_is_a_server_error(keep):
    decoder = BedrockStreamDecoder("bedrock")
    decoder.feed(b"".join(fixtures.text_stream()[:keep]))
    with pytest.raises(UpstreamError) as exc:
        decoder.close()
    assert exc.value.category is ErrorCategory.SERVER_ERROR and "metadata" in exc.value.message


def test_cut_mid_frame():
    wire = b"".join(fixtures.text_stream())
    decoder = BedrockStreamDecoder()
    decoder.feed(wire[:-10])
    with pytest.raises(UpstreamError) as exc:
        decoder.close()
    assert exc.value.category is ErrorCategory.SERVER_ERROR


def test_corrupt_frame_is_bad_response():
    wire = bytearray(b"".join(fixtures.text_stream()))
    wire[30] ^= 0xFF
    with pytest.raises(UpstreamError) as exc:
        BedrockStreamDecoder().feed(bytes(wire))
    assert exc.value.category is ErrorCategory.BAD_RESPONSE


def test_unreadable_event_payload():
    frame = encode_message({":message-type": "event", ":event-type": "contentBlockDelta"}, b"{not json")
    with pytest.raises(UpstreamError) as exc:
        BedrockStreamDecoder().feed(frame)
    assert exc.value.category is ErrorCategory.BAD_RESPONSE


def test_unknown_events_are_skipped_and_nothing_after_metadata():
    frames = fixtures.text_stream()
    frames.insert(1, encode_message({":message-type": "event", ":event-type": "futureEvent"}, b"{}"))
    frames.append(encode_message({":message-type": "event", ":event-type": "contentBlockDelta"},
                                 b'{"contentBlockIndex":0,"delta":{"text":"late"}}'))
    events = decode(frames)
    assert "".join(e.text for e in events if type(e) is TextDelta) == "Hello, world"


def test_metadata_without_message_stop_still_finishes():
    frames = [f for f in fixtures.text_stream()]
    del frames[4]  # messageStop
    events = decode(frames)
    assert Finish("other") in events and type(events[-1]) is UsageReport
