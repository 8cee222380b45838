"""Google error answers -> categorised UpstreamError."""

from __future__ import annotations

import json
from typing import Any

import pytest

from switchyard.errors import ErrorCategory as C
from switchyard.protocols.gemini.errors import parse_google_error


def google(code: int, status: str, message: str, details: list[Any] | None = None) -> bytes:
    err: dict[str, Any] = {"code": code, "message": message, "status": status}
    if details is not None:
        err["details"] = details
    return json.dumps({"error": err}, indent=2).encode()


RETRY = {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "17s"}
QUOTA = {"@type": "type.googleapis.com/google.rpc.QuotaFailure", "violations": [
    {"quotaMetric": "generativelanguage.googleapis.com/generate_content_free_tier_requests",
     "quotaId": "GenerateRequestsPerMinutePerProjectPerModel-FreeTier", "quotaValue": "10"}]}
KEY_INVALID = {"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "API_KEY_INVALID",
               "domain": "googleapis.com", "metadata": {"service": "generativelanguage.googleapis.com"}}


@pytest.mark.parametrize(("status", "body", "category"), [
    (400, google(400, "INVALID_ARGUMENT", "Request contains an invalid argument."), C.INVALID_REQUEST),
    (400, google(400, "INVALID_ARGUMENT", "The input token count (1048577) exceeds the maximum number of tokens "
                                          "allowed (1048576)."), C.CONTEXT_TOO_LONG),
    (400, google(400, "INVALID_ARGUMENT", "API key not valid. Please pass a valid API key.", [KEY_INVALID]),
     C.AUTHENTICATION),
    (400, google(400, "FAILED_PRECONDITION", "User location is not supported for the API use."), C.PERMISSION),
    (400, google(400, "INVALID_ARGUMENT", "Function calling is not enabled for models/gemma-3-27b-it"),
     C.UNSUPPORTED),
    (400, google(400, "INVALID_ARGUMENT", "Image input modality is not supported for this model."), C.UNSUPPORTED),
    (401, google(401, "UNAUTHENTICATED", "Request had invalid authentication credentials."), C.AUTHENTICATION),
    (403, google(403, "PERMISSION_DENIED", "Method doesn't allow unregistered callers."), C.PERMISSION),
    (404, google(404, "NOT_FOUND", "models/gemini-9 is not found for API version v1beta, or is not supported "
                                   "for generateContent."), C.MODEL_NOT_FOUND),
    (404, google(404, "NOT_FOUND", "Publisher Model `projects/p/locations/l/publishers/google/models/x` was not "
                                   "found or your project does not have access to it."), C.MODEL_NOT_FOUND),
    (404, google(404, "NOT_FOUND", "Requested entity was not found."), C.NOT_FOUND),
    (429, google(429, "RESOURCE_EXHAUSTED", "You exceeded your current quota.", [QUOTA, RETRY]), C.RATE_LIMITED),
    (500, google(500, "INTERNAL", "An internal error has occurred."), C.SERVER_ERROR),
    (503, google(503, "UNAVAILABLE", "The model is overloaded. Please try again later."), C.OVERLOADED),
    (504, google(504, "DEADLINE_EXCEEDED", "Deadline expired before operation could complete."), C.TIMEOUT),
    (499, google(499, "CANCELLED", "The operation was cancelled."), C.SERVER_ERROR),
    (413, b"<html><body>Request Entity Too Large</body></html>", C.REQUEST_TOO_LARGE),
    (502, b"<html>Bad Gateway</html>", C.SERVER_ERROR),
    (503, b"upstream connect error", C.OVERLOADED),
    (418, b"", C.INVALID_REQUEST),
])
def test_categories(status: int, body: bytes, category: C) -> None:
    err = parse_google_error("google", status, {}, body)
    assert err.category is category
    assert err.upstream_status == status
    assert err.message.startswith("google: ")


def test_message_code_and_body_are_kept() -> None:
    raw = google(429, "RESOURCE_EXHAUSTED", "You exceeded your current quota.", [QUOTA, RETRY])
    err = parse_google_error("google", 429, {}, raw)
    assert err.message == "google: You exceeded your current quota."
    assert err.code == "RESOURCE_EXHAUSTED"
    assert err.body == json.loads(raw)


@pytest.mark.parametrize(("details", "headers", "retry_after"), [
    ([RETRY], {}, 17.0),
    ([{"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "0.5s"}], {}, 0.5),
    ([RETRY], {"retry-after": "3"}, 17.0),  # Google's own hint wins
    ([], {"retry-after": "3"}, 3.0),
    ([{"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "soon"}], {}, None),
    ([], {}, None),
])
def test_retry_after(details: list[Any], headers: dict[str, str], retry_after: float | None) -> None:
    err = parse_google_error("vertex", 429, headers, google(429, "RESOURCE_EXHAUSTED", "Quota", details))
    assert err.retry_after == retry_after


def test_array_wrapped_error_and_html_and_empty() -> None:
    arr = b'[{"error": {"code": 503, "message": "busy", "status": "UNAVAILABLE"}}]'
    assert parse_google_error("google", 503, {}, arr).message == "google: busy"
    assert parse_google_error("google", 502, {}, b"<html>x</html>").message == "google: HTTP 502"
    assert parse_google_error("google", 500, {}, b"").message == "google: HTTP 500"
    assert parse_google_error("google", 500, {}, b"oops").message == "google: oops"


def test_status_name_decides_over_http_status() -> None:
    # A proxy may relay Google's error with another status; the canonical code still says what it is.
    err = parse_google_error("google", 500, {}, google(429, "RESOURCE_EXHAUSTED", "Quota"))
    assert err.category is C.RATE_LIMITED
