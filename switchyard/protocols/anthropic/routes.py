"""The Anthropic endpoints: ``POST /v1/messages`` and ``POST /v1/messages/count_tokens``.

Callers authenticate as with Anthropic, ``x-api-key`` or ``Authorization: Bearer``, and send any
``anthropic-version``. Caller keys are not checked yet (accounts come later) and are never sent
upstream: each provider gets its own configured credentials only.

Every answer carries Anthropic's ``request-id`` header: the generation id when the request reached
the executor (the same id as ``x-switchyard-generation-id`` and the error body's ``request_id``).
"""

from __future__ import annotations

from typing import Any

from switchyard.http import Request, Response, StreamResponse
from switchyard.protocols.anthropic.count_tokens import TokenCounter
from switchyard.protocols.anthropic.errors_out import new_request_id
from switchyard.protocols.anthropic.frontdoor import PROTOCOL, AnthropicFrontDoor


def _request_id(resp: Response | StreamResponse) -> str:
    for name, value in resp.headers or ():
        if name == "x-switchyard-generation-id":
            return value
    if isinstance(resp, Response) and resp.status >= 400:
        i = resp.body.find(b'"request_id":"')
        if i >= 0:
            j = resp.body.find(b'"', i + 14)
            if j > i:
                return resp.body[i + 14:j].decode("utf-8", "replace")
    return new_request_id()


def finalize(resp: Response | StreamResponse) -> Response | StreamResponse:
    """Anthropic's ``request-id`` header on every answer."""
    headers = list(resp.headers or ())
    headers.append(("request-id", _request_id(resp)))
    resp.headers = headers
    return resp


def routes(app: Any) -> dict[tuple[str, str], Any]:
    native = [slug for slug, a in app.executor.adapters.items() if a.protocol == PROTOCOL]
    door = AnthropicFrontDoor(app.catalog, native)
    app.register_error_door("/v1/messages", door)
    counter = TokenCounter(app, door.resolve)

    async def messages(request: Request) -> Response | StreamResponse:
        return finalize(await app.serve(door, request))

    async def count_tokens(request: Request) -> Response | StreamResponse:
        return finalize(await counter.handle(request))

    return {("POST", "/v1/messages"): messages, ("POST", "/v1/messages/count_tokens"): count_tokens}
