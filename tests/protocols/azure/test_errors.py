"""Azure OpenAI error answers: OpenAI's plus the content filter."""

from __future__ import annotations

import json

from switchyard.errors import ErrorCategory
from switchyard.protocols.azure.errors import parse_error

FILTERED = {"error": {
    "message": "The response was filtered due to the prompt triggering Azure OpenAI's content management policy. "
               "Please modify your prompt and retry.",
    "type": None, "param": "prompt", "code": "content_filter", "status": 400,
    "innererror": {"code": "ResponsibleAIPolicyViolation", "content_filter_result": {
        "hate": {"filtered": True, "severity": "high"}, "self_harm": {"filtered": False, "severity": "safe"},
        "sexual": {"filtered": False, "severity": "safe"}, "violence": {"filtered": True, "severity": "medium"}}}}}


def test_prompt_content_filter() -> None:
    err = parse_error("azure", 400, {}, json.dumps(FILTERED).encode())
    assert err.category is ErrorCategory.CONTENT_FILTERED
    assert err.code == "content_filter" and err.param == "prompt" and err.upstream_status == 400
    assert err.message.endswith("(filtered: hate, violence)")
    assert err.body == FILTERED  # returned as is when the caller's own request is at fault


def test_inner_error_alone_is_enough() -> None:
    body = {"error": {"message": "blocked", "code": "BadRequest",
                      "innererror": {"code": "ResponsibleAIPolicyViolation", "content_filter_result": {
                          "jailbreak": {"filtered": True, "detected": True}}}}}
    err = parse_error("azure", 400, {}, json.dumps(body).encode())
    assert err.category is ErrorCategory.CONTENT_FILTERED and "jailbreak" in err.message


def test_rate_limit_with_retry_after_ms() -> None:
    body = {"error": {"code": "429", "message": "Requests to the ChatCompletions_Create Operation under Azure OpenAI "
                      "API version 2024-10-21 have exceeded token rate limit of your current OpenAI S0 pricing tier."}}
    err = parse_error("azure", 429, {"retry-after-ms": "1500", "retry-after": "2"}, json.dumps(body).encode())
    assert err.category is ErrorCategory.RATE_LIMITED and err.retry_after == 1.5


def test_auth_and_deployment_errors() -> None:
    err = parse_error("azure", 401, {}, b'{"error":{"code":"401","message":"Access denied due to invalid '
                      b'subscription key or wrong API endpoint."}}')
    assert err.category is ErrorCategory.AUTHENTICATION
    err = parse_error("azure", 404, {}, b'{"error":{"code":"DeploymentNotFound","message":"The API deployment '
                      b'for this resource does not exist."}}')
    assert err.category is ErrorCategory.NOT_FOUND and err.code == "DeploymentNotFound"
    err = parse_error("azure", 400, {}, b'{"error":{"message":"Unknown parameter: \'stream_options\'.",'
                      b'"type":"invalid_request_error","param":"stream_options","code":"unknown_parameter"}}')
    assert err.category is ErrorCategory.INVALID_REQUEST and err.param == "stream_options"


def test_context_overflow_is_still_recognised() -> None:
    body = {"error": {"message": "This model's maximum context length is 128000 tokens. However, your messages "
                      "resulted in 130000 tokens.", "type": "invalid_request_error", "param": "messages",
                      "code": "context_length_exceeded"}}
    assert parse_error("azure", 400, {}, json.dumps(body).encode()).category is ErrorCategory.CONTEXT_TOO_LONG
