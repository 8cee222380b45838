"""The endpoints' own touches: Anthropic's request-id header and 529, and the count_tokens estimate."""

from __future__ import annotations

import json

import pytest

from switchyard.errors import (
    AllAttemptsFailed,
    ErrorCategory,
    RequestError,
    UpstreamError,
)
from switchyard.http import Response, StreamResponse
from switchyard.protocols.anthropic import errors_out
from switchyard.protocols.anthropic.count_tokens import IMAGE_TOKENS, estimate_tokens
from switchyard.protocols.anthropic.routes import finalize
from switchyard.telemetry.record import Attempt


def test_request_id_is_the_generation_id() -> None:
    resp = finalize(Response(200, b"{}", [("x-switchyard-generation-id", "gen_1")]))
    assert ("request-id", "gen_1") in resp.headers


def test_request_id_of_an_early_error_matches_its_body() -> None:
    body = errors_out.render_error(RequestError("max_tokens: Field required"), None)
    resp = finalize(Response(400, body))
    assert dict(resp.headers)["request-id"] == json.loads(body)["request_id"]


async def test_stream_gets_a_request_id() -> None:
    async def gen():  # pragma: no cover - never iterated
        yield b""

    resp = finalize(StreamResponse(200, gen(), [("x-switchyard-generation-id", "gen_2")]))
    assert ("request-id", "gen_2") in resp.headers


def test_every_provider_overloaded_is_529() -> None:
    attempts = [Attempt("a", "m", "x", 0.0, 1.0, False, 529, "busy", "overloaded")]
    err = AllAttemptsFailed("failed", attempts, UpstreamError(ErrorCategory.OVERLOADED, "busy"))
    assert errors_out.status_of(err) == 529
    assert b'"overloaded_error"' in errors_out.render_error(err, "gen_3")
    other = AllAttemptsFailed("failed", [], UpstreamError(ErrorCategory.SERVER_ERROR, "x"))
    assert errors_out.status_of(other) == 502
    resp = finalize(Response(502, errors_out.render_error(other, "gen_4")))
    assert ("request-id", "gen_4") in resp.headers


def test_estimate_counts_text_tools_images_and_messages() -> None:
    data = {"model": "m", "system": "a" * 40,
            "tools": [{"name": "f", "description": "d", "input_schema": {"type": "object"}}],
            "messages": [
                {"role": "user", "content": [{"type": "text", "text": "b" * 40},
                                             {"type": "image", "source": {"type": "url", "url": "https://x"}}]},
                {"role": "assistant", "content": [{"type": "tool_use", "id": "t", "name": "f", "input": {"k": 1}}]},
                {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t", "content": "c" * 40}]}]}
    chars = 40 + 40 + 40 + len("f") + len('{"k":1}') + len("f") + len("d") + len('{"type":"object"}')
    assert estimate_tokens(data) == -(-chars // 4) + 3 * 3 + IMAGE_TOKENS


def test_estimate_validates() -> None:
    with pytest.raises(RequestError) as exc:
        estimate_tokens({"model": "m", "messages": [{"role": "bot", "content": "x"}]})
    assert exc.value.param == "messages.0.role"
