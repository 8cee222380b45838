"""Switchyard's own low-CPU HTTP/1.1 server (see server.py for why)."""
from .server import (
    ErrorResponder,
    Handler,
    HTTPServer,
    Request,
    Response,
    StreamResponse,
    default_error_responder,
)

__all__ = [
    "ErrorResponder",
    "HTTPServer",
    "Handler",
    "Request",
    "Response",
    "StreamResponse",
    "default_error_responder",
]
