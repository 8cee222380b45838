"""Shared fixtures: the requests captured from the real ai 5/6/7 clients (copied from
/work/shared/specs/aisdk-captured-requests.json) and small builders."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import msgspec

from switchyard.canonical import Usage
from switchyard.telemetry.record import Attempt, GenerationRecord

CAPTURED: dict[str, dict[str, Any]] = json.loads((Path(__file__).parent / "captured_requests.json").read_text())


def captured(key: str) -> tuple[bytes, dict[str, str], dict[str, Any]]:
    """(body bytes, lower-cased headers, body) of one captured request."""
    entry = copy.deepcopy(CAPTURED[key])
    headers = {k.lower(): v for k, v in entry["headers"].items()}
    body = entry["body"]
    return (msgspec.json.encode(body) if body is not None else b""), headers, body


def lm_headers(spec: int = 4, model: str = "acme/echo-1", stream: bool = False, **extra: str) -> dict[str, str]:
    return {"ai-language-model-specification-version": str(spec), "ai-language-model-id": model,
            "ai-language-model-streaming": "true" if stream else "false", **extra}


def call(**options: Any) -> bytes:
    """A call-options body; ``prompt`` defaults to one user text message."""
    options.setdefault("prompt", [{"role": "user", "content": [{"type": "text", "text": "hi"}]}])
    return msgspec.json.encode(options)


def record(usage: Usage | None = None, cost: float | None = 0.000011) -> GenerationRecord:
    rec = GenerationRecord("acme/echo-1", stream=False)
    rec.model, rec.provider, rec.provider_model_id = "acme/echo-1", "acme", "echo-1"
    rec.attempts.append(Attempt("acme", "acme/echo-1", "echo-1", 1000.0, 1010.0, success=True, status=200))
    rec.usage = usage if usage is not None else Usage(input_tokens=10, output_tokens=7, cache_read_tokens=4,
                                                      cache_write_tokens=1, reasoning_tokens=2)
    rec.cost = cost
    rec.status = 200
    return rec


def sse_parts(data: bytes) -> list[dict[str, Any]]:
    """The JSON parts of an SSE body, checking the framing on the way."""
    text = data.decode()
    assert text.endswith("\n\n") or not text
    parts = []
    for frame in filter(None, text.split("\n\n")):
        assert frame.startswith("data: "), frame
        parts.append(json.loads(frame[len("data: "):]))
    return parts
