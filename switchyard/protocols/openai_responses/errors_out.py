"""Errors in the Responses API's shapes. Before a stream starts (and for non-streamed requests) an error
is OpenAI's error object, ``{"error": {"message", "type", "param", "code"}}``, with the HTTP status, as
on ``/v1/chat/completions``. After a stream started it is an ``error`` event (then ``response.failed``,
see ``stream_out``)."""

from __future__ import annotations

import msgspec

from switchyard.errors import ErrorCategory, GatewayError
from switchyard.protocols.openai_chat.errors import error_object, render_error

__all__ = ["error_event", "render_error", "response_error_code"]

_encode = msgspec.json.Encoder().encode


def response_error_code(err: GatewayError) -> str:
    """``Response.error.code``, which the API limits to a fixed list."""
    return "rate_limit_exceeded" if err.category is ErrorCategory.RATE_LIMITED else "server_error"


def error_event(err: GatewayError, seq: int) -> bytes:
    """The documented top-level ``code``/``message``/``param``, and also the nested ``error`` object
    OpenAI sends in practice: the OpenAI SDKs raise ``APIError`` on it."""
    obj = error_object(err)
    return (b"event: error\ndata: " + _encode({
        "type": "error", "code": obj.get("code") or response_error_code(err), "message": err.message,
        "param": err.param, "error": obj, "sequence_number": seq}) + b"\n\n")
