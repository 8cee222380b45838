"""Gateway errors in the shape @ai-sdk/gateway maps to its error classes (create-gateway-error.ts)."""

from __future__ import annotations

import json

import pytest

from switchyard.errors import (
    AllAttemptsFailed,
    ErrorCategory,
    GatewayError,
    RequestError,
    UpstreamError,
)
from switchyard.protocols.aisdk.errors import render_error, stream_error_part
from switchyard.protocols.aisdk.frontdoor import AISDKFrontDoor
from switchyard.telemetry.record import Attempt
from tests.protocols.aisdk.helpers import record


@pytest.mark.parametrize("category, kind, status", [
    (ErrorCategory.INVALID_REQUEST, "invalid_request_error", 400),
    (ErrorCategory.CONTEXT_TOO_LONG, "invalid_request_error", 400),
    (ErrorCategory.UNSUPPORTED, "invalid_request_error", 400),
    (ErrorCategory.CONTENT_FILTERED, "invalid_request_error", 400),
    (ErrorCategory.REQUEST_TOO_LARGE, "invalid_request_error", 413),
    (ErrorCategory.AUTHENTICATION, "authentication_error", 401),
    (ErrorCategory.RATE_LIMITED, "rate_limit_exceeded", 429),
    (ErrorCategory.MODEL_NOT_FOUND, "model_not_found", 404),
    (ErrorCategory.NOT_FOUND, "not_found", 404),
    (ErrorCategory.PERMISSION, "forbidden", 403),
    (ErrorCategory.PAYMENT_REQUIRED, "internal_server_error", 402),
    (ErrorCategory.SERVER_ERROR, "internal_server_error", 502),
    (ErrorCategory.TIMEOUT, "internal_server_error", 504),
    (ErrorCategory.OVERLOADED, "internal_server_error", 503),
])
def test_types_by_category(category, kind, status) -> None:
    err = GatewayError(category, "it broke")
    body = json.loads(render_error(err, "gen_1"))
    assert err.status == status
    assert body["error"]["type"] == kind and body["error"]["message"] == "it broke"
    assert set(body["error"]) >= {"message", "type", "param", "code"} and body["generationId"] == "gen_1"


def test_model_not_found_names_the_model_in_param() -> None:
    err = RequestError("The model 'missing/x' does not exist.", param="model", status=404,
                       category=ErrorCategory.MODEL_NOT_FOUND, code="model_not_found")
    rec = record()
    rec.requested_model = "missing/x"
    body = json.loads(AISDKFrontDoor().render_error(err, rec))
    assert body == {"error": {"message": "The model 'missing/x' does not exist.", "type": "model_not_found",
                              "param": {"modelId": "missing/x"}, "code": "model_not_found"},
                    "generationId": rec.id}


def test_parse_errors_have_no_generation_id() -> None:
    body = json.loads(AISDKFrontDoor().render_error(RequestError("bad", param="prompt"), None))
    assert body == {"error": {"message": "bad", "type": "invalid_request_error", "param": "prompt", "code": None}}


def test_all_attempts_failed_lists_the_attempts() -> None:
    attempt = Attempt("acme", "acme/echo-1", "echo-1", 1.0, 2.0, status=503, error="down", category="overloaded")
    err = AllAttemptsFailed("All 1 attempt(s) failed", [attempt],
                            UpstreamError(ErrorCategory.OVERLOADED, "down", status=503))
    body = json.loads(render_error(err, "gen_2"))
    assert err.status == 502 and body["error"]["type"] == "internal_server_error"
    assert body["error"]["code"] == "all_attempts_failed" and body["error"]["attempts"][0]["statusCode"] == 503


def test_stream_error_part() -> None:
    part = stream_error_part(GatewayError(ErrorCategory.RATE_LIMITED, "slow down", code="rate_limit_exceeded"))
    assert part == {"type": "error", "error": {"message": "slow down", "type": "rate_limit_exceeded",
                                               "statusCode": 429, "isRetryable": True,
                                               "code": "rate_limit_exceeded"}}
    assert stream_error_part(GatewayError(ErrorCategory.CONTENT_FILTERED, "no"))["error"]["isRetryable"] is False
