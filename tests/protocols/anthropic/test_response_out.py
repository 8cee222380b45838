"""Results rendered for an Anthropic caller, and our errors in Anthropic's shape."""

from __future__ import annotations

import json

import pytest
from anthropic.types import Message

from switchyard.canonical import (
    ChatResult,
    ReasoningPart,
    TextPart,
    ToolCallPart,
    Usage,
)
from switchyard.errors import (
    AllAttemptsFailed,
    ErrorCategory,
    GatewayError,
    RequestError,
    UpstreamError,
)
from switchyard.protocols.anthropic import errors_out
from switchyard.protocols.anthropic.response_out import (
    render_passthrough,
    render_result,
    stop_reason,
    usage_out,
)
from switchyard.telemetry.record import Attempt
from tests.protocols.anthropic.sse_helpers import events, record


def test_message_object() -> None:
    rec = record(model="acme/chat")
    rec.usage = Usage(input_tokens=100, output_tokens=20, cache_read_tokens=60, cache_write_tokens=10)
    result = ChatResult(content=[ReasoningPart("why", signature="sig"), ReasoningPart(redacted="opaque"),
                                 TextPart("Hello"), ToolCallPart("call_1", "get_weather", '{"city": "Paris"}'),
                                 ToolCallPart("call_2", "broken", "{not json")],
                        finish_reason="tool_calls", usage=rec.usage, id="chatcmpl-1", model="gpt-x")
    out = json.loads(render_result(result, rec))
    msg = Message.model_validate(out)  # the SDK's own type accepts it
    assert msg.id == rec.id and msg.model == "acme/chat" and msg.role == "assistant"
    assert out["content"] == [
        {"type": "thinking", "thinking": "why", "signature": "sig"},
        {"type": "redacted_thinking", "data": "opaque"},
        {"type": "text", "text": "Hello"},
        {"type": "tool_use", "id": "call_1", "name": "get_weather", "input": {"city": "Paris"}},
        {"type": "tool_use", "id": "call_2", "name": "broken", "input": {}},
    ]
    assert out["stop_reason"] == "tool_use" and out["stop_sequence"] is None
    # Anthropic's convention: input_tokens excludes cache reads and writes.
    assert out["usage"] == {"input_tokens": 30, "output_tokens": 20, "cache_creation_input_tokens": 10,
                            "cache_read_input_tokens": 60}
    meta = out["provider_metadata"]["gateway"]
    assert meta["generationId"] == rec.id and meta["routing"]["resolvedProvider"] == "openai"


@pytest.mark.parametrize("finish, raw, expected", [
    ("stop", "stop", "end_turn"), ("length", "length", "max_tokens"), ("tool_calls", None, "tool_use"),
    ("content_filter", "content_filter", "refusal"), ("other", "weird", "end_turn"), ("error", None, "end_turn"),
    ("stop", "stop_sequence", "stop_sequence"), ("stop", "pause_turn", "pause_turn"),
])
def test_stop_reasons(finish: str, raw: str | None, expected: str) -> None:
    assert stop_reason(finish, raw) == expected


def test_usage_without_usage() -> None:
    assert usage_out(None) == {"input_tokens": 0, "output_tokens": 0, "cache_creation_input_tokens": 0,
                               "cache_read_input_tokens": 0}


def test_passthrough_body_keeps_the_providers_fields() -> None:
    rec = record(provider="anthropic", provider_model="claude-x")
    data = {"id": "msg_1", "type": "message", "model": "claude-x", "content": [], "usage": {"input_tokens": 1},
            "container": None}
    out = json.loads(render_passthrough(data, rec))
    assert out["id"] == "msg_1" and out["container"] is None
    assert out["provider_metadata"]["gateway"]["routing"]["resolvedProvider"] == "anthropic"


# ---- errors ----

@pytest.mark.parametrize("err, status, kind", [
    (RequestError("messages: Field required", param="messages"), 400, "invalid_request_error"),
    (RequestError("model: unknown", status=404, category=ErrorCategory.MODEL_NOT_FOUND), 404, "not_found_error"),
    (GatewayError(ErrorCategory.AUTHENTICATION, "bad key"), 401, "authentication_error"),
    (GatewayError(ErrorCategory.PERMISSION, "no"), 403, "permission_error"),
    (GatewayError(ErrorCategory.REQUEST_TOO_LARGE, "big"), 413, "request_too_large"),
    (GatewayError(ErrorCategory.RATE_LIMITED, "slow down"), 429, "rate_limit_error"),
    (GatewayError(ErrorCategory.SERVER_ERROR, "boom", status=500), 500, "api_error"),
    (GatewayError(ErrorCategory.SERVER_ERROR, "bad gateway"), 502, "api_error"),
    (GatewayError(ErrorCategory.OVERLOADED, "busy"), 503, "api_error"),
    (RequestError("gone", status=405), 405, "invalid_request_error"),
])
def test_error_types_follow_the_status(err: GatewayError, status: int, kind: str) -> None:
    assert errors_out.status_of(err) == status
    out = json.loads(errors_out.render_error(err, "gen_1"))
    assert out == {"type": "error", "error": {"type": kind, "message": err.message}, "request_id": "gen_1"}


def test_all_attempts_overloaded_is_529_and_lists_attempts() -> None:
    attempts = [Attempt("anthropic", "m", "c", 1.0, 2.0, False, 529, "overloaded", "overloaded"),
                Attempt("bedrock", "m", "b", 2.0, 3.0, False, 503, "busy", "overloaded")]
    err = AllAttemptsFailed("All 2 attempt(s) failed", attempts, UpstreamError(ErrorCategory.OVERLOADED, "x"))
    assert errors_out.status_of(err) == 529
    out = json.loads(errors_out.render_error(err, None))
    assert out["error"]["type"] == "overloaded_error" and out["request_id"].startswith("req_")
    assert [a["provider"] for a in out["error"]["attempts"]] == ["anthropic", "bedrock"]
    attempts[1].category = "server_error"
    assert errors_out.status_of(err) == 502 and json.loads(errors_out.render_error(err, None))["error"]["type"] == "api_error"


@pytest.mark.parametrize("category, kind", [(ErrorCategory.OVERLOADED, "overloaded_error"),
                                            (ErrorCategory.SERVER_ERROR, "api_error"),
                                            (ErrorCategory.TIMEOUT, "api_error")])
def test_stream_error_event(category: ErrorCategory, kind: str) -> None:
    raw = errors_out.encode_stream_error(UpstreamError(category, "anthropic: Overloaded"), "gen_9")
    assert events(raw) == [("error", {"type": "error", "error": {"type": kind, "message": "anthropic: Overloaded"},
                                      "request_id": "gen_9"})]
