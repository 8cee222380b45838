"""Endpoints of the AI SDK gateway protocol, for ``createGateway({ baseURL: 'http://HOST:PORT/v1/ai' })``.

For each prefix (``/v1/ai`` spec v2 for ai 5, ``/v3/ai`` v3 for ai 6, ``/v4/ai`` v4 for ai 7; a request's
own version header wins over the prefix, so any client works under any prefix):

    POST {prefix}/language-model     generateText / streamText
    POST {prefix}/embedding-model    embed / embedMany
    GET  {prefix}/config             getAvailableModels (version from the client's user-agent, else prefix)

and, rooted at the origin: ``GET /v1/credits`` (getCredits) and ``GET /v1/report`` (getSpendReport).
``GET /v1/generation`` (getGenerationInfo) is the app's own endpoint.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import msgspec

from switchyard.catalog import format_usd
from switchyard.errors import GatewayError
from switchyard.http import Request, Response, StreamResponse
from switchyard.protocols.aisdk import errors, metadata, versions
from switchyard.protocols.aisdk.frontdoor import AISDKEmbeddingFrontDoor, AISDKFrontDoor
from switchyard.usage.report import report_json as usage_report_json

Handler = Callable[[Request], Awaitable[Response | StreamResponse]]


def routes(app: Any) -> dict[tuple[str, str], Handler]:
    table: dict[tuple[str, str], Handler] = {}
    # The catalog does not change while running: each version's /config is rendered once.
    configs = {spec: metadata.config_json(app.catalog, spec) for spec in versions.SPECS}

    def serve(door: AISDKFrontDoor) -> Handler:
        async def handler(request: Request) -> Response | StreamResponse:
            return await app.serve(door, request)
        return handler

    def config(spec: int) -> Handler:
        async def handler(request: Request) -> Response:
            return Response(200, configs[versions.from_user_agent(request.headers, spec)])
        return handler

    for prefix, spec in versions.PREFIXES.items():
        door = AISDKFrontDoor(spec)
        app.register_error_door(prefix, door)  # 404/413/malformed under the prefix: AI SDK error shape
        table[("POST", f"{prefix}/language-model")] = serve(door)
        table[("POST", f"{prefix}/embedding-model")] = serve(AISDKEmbeddingFrontDoor(spec))
        table[("GET", f"{prefix}/config")] = config(spec)

    async def credits(request: Request) -> Response:
        """The caller's remaining budget ("0" with no budget: nothing is prepaid) and spend this period."""
        balance, used = await app.quotas.credits(request.state)
        return Response(200, msgspec.json.encode({"balance": format_usd(balance or 0.0),
                                                  "total_used": format_usd(used)}))

    async def report(request: Request) -> Response:
        """Spend from the durable usage records; callers other than admins see their own only."""
        try:
            return Response(200, await usage_report_json(app.usage, request.query_params(), request.state))
        except GatewayError as err:
            return Response(err.status, errors.render_error(err))

    table[("GET", "/v1/credits")] = credits
    table[("GET", "/v1/report")] = report
    return table
