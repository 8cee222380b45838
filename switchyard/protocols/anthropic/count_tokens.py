"""``POST /v1/messages/count_tokens`` for every catalog model.

A model served by an Anthropic-protocol provider is counted by that provider (its
``/v1/messages/count_tokens``, the first such offering that answers; its answer is returned as it
came). For any other model, or when no such provider answers, the count is an ESTIMATE made here
from the text: a quarter of the characters of the system prompt, messages, tool calls and results
and tool definitions, plus 3 per message and 1600 per image (Anthropic's cost of a full-size one).
An estimate says so with the header ``x-switchyard-estimate: true``.
"""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
import msgspec

from switchyard.catalog.names import ModelNames
from switchyard.errors import ErrorCategory, GatewayError, RequestError, UpstreamError
from switchyard.http import Request, Response
from switchyard.protocols.anthropic import errors_out
from switchyard.protocols.anthropic.frontdoor import PROTOCOL
from switchyard.protocols.anthropic.request_in import remember_headers
from switchyard.protocols.anthropic.validate import (
    Scan,
    bad,
    decode_body,
    scan_messages,
    scan_system,
    scan_tools,
)
from switchyard.routing.failover import Next, next_step

_encode = msgspec.json.Encoder().encode
IMAGE_TOKENS = 1600  # Anthropic's cost of a full-size image


def estimate_tokens(data: dict[str, Any]) -> int:
    """An estimate of the input tokens of a validated Messages body (see the module docstring)."""
    scan = Scan()
    scan_messages(data.get("messages"), scan)
    scan_system(data.get("system"), scan)
    scan_tools(data, scan)
    return -(-scan.chars // 4) + 3 * len(data["messages"]) + IMAGE_TOKENS * scan.images


class TokenCounter:
    def __init__(self, app: Any, resolve: ModelNames) -> None:
        self.app = app
        self.resolve = resolve

    def _parse(self, request: Request) -> dict[str, Any]:
        data = decode_body(request.body)
        if not isinstance(data.get("model"), str) or not data["model"]:
            raise bad("model", "Field required")
        estimate_tokens(data)  # validates messages, system and tools
        remember_headers(data, request.headers)
        return data

    async def handle(self, request: Request) -> Response:
        try:
            data = self._parse(request)
        except GatewayError as err:
            return Response(err.status, errors_out.render_error(err, None))
        model_id = self.resolve(data["model"])
        model = self.app.catalog.get(model_id)
        if model is None:
            err = RequestError(f"model: The model '{data['model']}' does not exist or no configured provider "
                               f"serves it.", param="model", status=404, category=ErrorCategory.MODEL_NOT_FOUND)
            return Response(404, errors_out.render_error(err, None))
        for offering in model.offerings:
            adapter = self.app.executor.adapters.get(offering.provider)
            if adapter is None or adapter.protocol != PROTOCOL or not hasattr(adapter, "count_tokens_call"):
                continue
            answer = await self._forward(adapter, data, offering.model_id)
            if answer is not None:
                answer.headers = [("x-switchyard-provider", offering.provider),
                                  ("x-switchyard-provider-model", offering.model_id),
                                  ("x-switchyard-model", model.id), *(answer.headers or [])]
                return answer
        return Response(200, _encode({"input_tokens": estimate_tokens(data)}),
                        [("x-switchyard-estimate", "true"), ("x-switchyard-model", model.id)])

    async def _forward(self, adapter: Any, data: dict[str, Any], model_id: str) -> Response | None:
        """The provider's answer, or None to move on (it failed in a way that is not the caller's)."""
        provider = adapter.provider
        call = adapter.count_tokens_call(data, model_id)
        try:
            resp = await self.app.client.send(provider.slug, call, provider.timeouts)
            try:
                body = await resp.read()
            finally:
                resp.release()
        except (UpstreamError, aiohttp.ClientError, asyncio.TimeoutError, OSError):
            return None
        if resp.status < 300:
            return Response(200, body)
        err = adapter.parse_error(resp.status, resp.headers, body)
        if next_step(err.category) is Next.STOP:
            out = _encode(err.body) if errors_out.is_anthropic_error_body(err.body) \
                else errors_out.render_error(err, None)
            return Response(resp.status, out)
        return None
