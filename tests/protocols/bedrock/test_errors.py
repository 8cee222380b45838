"""Bedrock HTTP errors -> categories."""

from __future__ import annotations

import json

import pytest

from switchyard.errors import ErrorCategory as C
from switchyard.protocols.bedrock.errors import parse_error

NS = "http://internal.amazon.com/coral/com.amazon.bedrock/"


def err(status, err_type, message, key="message", header=True):
    headers = {"x-amzn-ErrorType": f"{err_type}:{NS}"} if header and err_type else {}
    body = json.dumps({key: message} if not (err_type and not header) else {key: message, "__type": err_type})
    return parse_error("bedrock", status, headers, body.encode())


@pytest.mark.parametrize("status,err_type,message,category", [
    (400, "ValidationException", "Input is too long for requested model.", C.CONTEXT_TOO_LONG),
    (400, "ValidationException", "prompt is too long: 213462 tokens > 200000 maximum", C.CONTEXT_TOO_LONG),
    (400, "ValidationException", "The request has too many input tokens.", C.CONTEXT_TOO_LONG),
    (400, "ValidationException", "This model doesn't support tool use.", C.UNSUPPORTED),
    (400, "ValidationException", "This model does not support images.", C.UNSUPPORTED),
    (400, "ValidationException", "Malformed input request, please reformat your input.", C.INVALID_REQUEST),
    (400, "ValidationException", "Invocation of model ID anthropic.claude-x with on-demand throughput isn’t "
     "supported. Retry your request with the ID or ARN of an inference profile that contains this model.",
     C.MODEL_NOT_FOUND),
    (400, "ServiceQuotaExceededException", "Your request exceeds the service quota", C.RATE_LIMITED),
    (403, "AccessDeniedException", "You don't have access to the model with the specified model ID.", C.PERMISSION),
    (403, "UnrecognizedClientException", "The security token included in the request is invalid.",
     C.AUTHENTICATION),
    (403, "InvalidSignatureException", "Signature expired", C.AUTHENTICATION),
    (403, "MissingAuthenticationTokenException", "Missing Authentication Token", C.AUTHENTICATION),
    (404, "ResourceNotFoundException", "Could not resolve the foundation model", C.NOT_FOUND),
    (408, "ModelTimeoutException", "Model has timed out", C.TIMEOUT),
    (424, "ModelErrorException", "The model returned an error", C.SERVER_ERROR),
    (429, "ThrottlingException", "Too many requests, please wait before trying again.", C.RATE_LIMITED),
    (429, "ModelNotReadyException", "Model is not ready", C.RATE_LIMITED),
    (500, "InternalServerException", "internal error", C.SERVER_ERROR),
    (503, "ServiceUnavailableException", "Bedrock is unable to process your request.", C.OVERLOADED),
])
def test_typed_errors(status, err_type, message, category):
    e = err(status, err_type, message)
    assert e.category is category
    assert e.message == f"bedrock: {message}" and e.code == err_type and e.upstream_status == status


def test_type_from_body_and_capitalised_message():
    e = parse_error("bedrock", 403, {}, b'{"__type":"com.amazon.coral.service#UnrecognizedClientException",'
                                        b'"Message":"The security token included in the request is invalid."}')
    assert e.category is C.AUTHENTICATION and "security token" in e.message and e.code == "UnrecognizedClientException"


@pytest.mark.parametrize("status,category", [(400, C.INVALID_REQUEST), (401, C.AUTHENTICATION), (403, C.PERMISSION),
                                             (429, C.RATE_LIMITED), (502, C.SERVER_ERROR), (503, C.OVERLOADED)])
def test_status_only(status, category):
    e = parse_error("bedrock", status, {}, b"<html>Bad Gateway</html>")
    assert e.category is category and e.message == f"bedrock: HTTP {status}"


def test_signature_error_text_never_carries_the_canonical_request():
    message = ("The request signature we calculated does not match the signature you provided.\n\n"
               "The Canonical String for this request should have been\n'POST\n/model\n\n"
               "x-amz-security-token:SECRET-SESSION-TOKEN\n'\n\nThe String-to-Sign should have been\n'...'")
    e = err(403, "InvalidSignatureException", message)
    assert e.category is C.AUTHENTICATION
    assert "SECRET-SESSION-TOKEN" not in e.message and "SECRET-SESSION-TOKEN" not in json.dumps(e.body)
    assert e.message.endswith("signature you provided.")


def test_retry_after_is_read():
    e = parse_error("bedrock", 429, {"x-amzn-ErrorType": "ThrottlingException", "retry-after": "2"}, b"{}")
    assert e.retry_after == 2.0 and e.category is C.RATE_LIMITED and e.message == "bedrock: ThrottlingException"
