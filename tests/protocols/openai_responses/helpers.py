"""Shared helpers for the Responses front-door tests."""

from __future__ import annotations

import json
from typing import Any

import pydantic
from openai._models import construct_type
from openai._types import omit
from openai.lib.streaming.responses._responses import ResponseStreamState
from openai.types.responses import ResponseStreamEvent

from switchyard.canonical import Usage
from switchyard.protocols.openai_responses.request_in import (
    ResponsesInbound,
    parse_request,
)
from switchyard.telemetry.record import Attempt, GenerationRecord

EVENTS = pydantic.TypeAdapter(ResponseStreamEvent)


def inbound(**body: Any) -> ResponsesInbound:
    return parse_request(json.dumps({"model": "acme/chat", "input": "hi", **body}).encode())


def record(usage: Usage | None = None, cost: float | None = None, stream: bool = True) -> GenerationRecord:
    rec = GenerationRecord("acme/chat", stream=stream)
    rec.model, rec.provider, rec.provider_model_id = "acme/chat", "anthropic", "claude-x"
    rec.attempts.append(Attempt("anthropic", "acme/chat", "claude-x", 1000.0, 1100.0, True, 200))
    rec.usage, rec.cost = usage, cost
    return rec


def sse_events(stream: bytes) -> list[dict[str, Any]]:
    """Every event of a Responses stream, checking that ``event:`` names the data's ``type``."""
    out = []
    for block in stream.decode().split("\n\n"):
        if not block.strip():
            continue
        lines = block.split("\n")
        assert lines[0].startswith("event: ") and lines[1].startswith("data: ") and len(lines) == 2, block
        data = json.loads(lines[1][6:])
        assert data["type"] == lines[0][7:]
        out.append(data)
    return out


def check_with_sdk(events: list[dict[str, Any]]) -> Any:
    """Validate each event against the SDK's schema, feed them to the SDK's stream accumulator (the one
    behind ``client.responses.stream``), and return its final response (None if there is none)."""
    assert [e["sequence_number"] for e in events] == list(range(len(events)))
    state: ResponseStreamState[Any] = ResponseStreamState(input_tools=omit, text_format=omit)
    for e in events:
        if e["type"] != "error":
            EVENTS.validate_python(e)
            state.handle_event(construct_type(type_=ResponseStreamEvent, value=e))  # type: ignore[arg-type]
    return state._completed_response


def types(events: list[dict[str, Any]]) -> list[str]:
    return [e["type"].removeprefix("response.") for e in events]
