"""ConverseStream event sequences in the shapes of AWS's API reference (ConverseStreamOutput and its
members), framed with the AWS event-stream encoder, padding field ``p`` included."""

from __future__ import annotations

from tests.fakes.aws_eventstream import event, exception

USAGE = {"inputTokens": 25, "outputTokens": 12, "totalTokens": 37}
METRICS = {"latencyMs": 512}


def text_stream() -> list[bytes]:
    return [
        event("messageStart", {"role": "assistant"}),
        event("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"text": "Hello"}}),
        event("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"text": ", world"}}),
        event("contentBlockStop", {"contentBlockIndex": 0}),
        event("messageStop", {"stopReason": "end_turn"}),
        event("metadata", {"usage": USAGE, "metrics": METRICS}),
    ]


def tool_stream() -> list[bytes]:
    return [
        event("messageStart", {"role": "assistant"}),
        event("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"text": "Let me check."}}),
        event("contentBlockStop", {"contentBlockIndex": 0}),
        event("contentBlockStart", {"contentBlockIndex": 1, "start": {
            "toolUse": {"toolUseId": "tooluse_kZJMlvQmRJ6eAyJE5GIl7Q", "name": "get_weather"}}}),
        event("contentBlockDelta", {"contentBlockIndex": 1, "delta": {"toolUse": {"input": "{\"city\":"}}}),
        event("contentBlockDelta", {"contentBlockIndex": 1, "delta": {"toolUse": {"input": "\"Paris\"}"}}}),
        event("contentBlockStop", {"contentBlockIndex": 1}),
        event("contentBlockStart", {"contentBlockIndex": 2, "start": {
            "toolUse": {"toolUseId": "tooluse_second", "name": "now"}}}),
        event("contentBlockStop", {"contentBlockIndex": 2}),
        event("messageStop", {"stopReason": "tool_use"}),
        event("metadata", {"usage": {**USAGE, "cacheReadInputTokens": 100, "cacheWriteInputTokens": 10,
                                     "totalTokens": 147}, "metrics": METRICS}),
    ]


def reasoning_stream() -> list[bytes]:
    return [
        event("messageStart", {"role": "assistant"}),
        event("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"reasoningContent": {"text": "Think"}}}),
        event("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"reasoningContent": {"text": "ing."}}}),
        event("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"reasoningContent": {"signature": "c2ln"}}}),
        event("contentBlockStop", {"contentBlockIndex": 0}),
        event("contentBlockDelta", {"contentBlockIndex": 1,
                                    "delta": {"reasoningContent": {"redactedContent": "cmVk"}}}),
        event("contentBlockStop", {"contentBlockIndex": 1}),
        event("contentBlockDelta", {"contentBlockIndex": 2, "delta": {"text": "42"}}),
        event("contentBlockStop", {"contentBlockIndex": 2}),
        event("messageStop", {"stopReason": "max_tokens", "additionalModelResponseFields": {}}),
        event("metadata", {"usage": USAGE, "metrics": METRICS}),
    ]


def with_exception(after: int, exc_type: str, message: str) -> list[bytes]:
    return text_stream()[:after] + [exception(exc_type, message)]
