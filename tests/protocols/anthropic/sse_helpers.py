"""Read an Anthropic SSE byte stream the way the `anthropic` SDK does: its own SSE decoder, and its
``accumulate_event`` to build the final message from the events."""

from __future__ import annotations

import json
from typing import Any

from anthropic._streaming import SSEDecoder
from anthropic.lib.streaming._messages import accumulate_event

from switchyard.telemetry.record import Attempt, GenerationRecord


def events(raw: bytes) -> list[tuple[str | None, dict[str, Any]]]:
    """(event name, payload) pairs, in order."""
    return [(sse.event, sse.json()) for sse in SSEDecoder().iter_bytes(iter([raw])) if sse.data]


def names(raw: bytes) -> list[str | None]:
    return [name for name, _ in events(raw)]


def accumulate(raw: bytes) -> Any:
    """The SDK's final message snapshot (raises as the SDK would on an out-of-order stream)."""
    snapshot = None
    json_bufs: dict[int, bytes] = {}
    for name, payload in events(raw):
        if name in ("ping", "error"):
            continue
        assert payload["type"] == name, (name, payload)
        snapshot = accumulate_event(event=payload, current_snapshot=snapshot, json_bufs=json_bufs)  # type: ignore[arg-type]
    return snapshot


def record(model: str = "acme/chat", provider: str = "openai", provider_model: str = "gpt-x",
           stream: bool = True, cost: float | None = 0.0001) -> GenerationRecord:
    rec = GenerationRecord(model, stream=stream)
    rec.model, rec.provider, rec.provider_model_id = model, provider, provider_model
    rec.attempts.append(Attempt(provider, model, provider_model, 1000.0, 1100.0, True, 200))
    rec.cost = cost
    return rec


def body(**fields: Any) -> bytes:
    data: dict[str, Any] = {"model": "acme/chat", "max_tokens": 100,
                            "messages": [{"role": "user", "content": "hello"}]}
    data.update(fields)
    return json.dumps({k: v for k, v in data.items() if v is not ...}).encode()
