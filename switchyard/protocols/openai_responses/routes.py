"""The Responses endpoint: ``POST /v1/responses``.

Nothing is stored, so there is no ``GET /v1/responses/{id}``, ``DELETE``, ``/cancel`` or
``/input_items``: those paths answer 404 like any unknown path.
"""

from __future__ import annotations

from typing import Any

from switchyard.http import Request, Response, StreamResponse
from switchyard.protocols.openai_responses.frontdoor import OpenAIResponsesFrontDoor


def routes(app: Any) -> dict[tuple[str, str], Any]:
    door = OpenAIResponsesFrontDoor(app.catalog)

    async def responses(request: Request) -> Response | StreamResponse:
        return await app.serve(door, request)

    return {("POST", "/v1/responses"): responses}
