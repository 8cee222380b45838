"""HTTP answers backed by the usage database.

    GET /admin/usage?group_by=model&start=2026-11-01&end=2026-11-30[&key_id=&project=&model=&provider=
                    &user_id=&tags=a,b&status=&credential_type=&served_only=true]   (admin only)
    report_json(writer, query, principal)    GET /v1/report, the AI SDK's getSpendReport shape
    generation(writer, id)                   GET /v1/generation for records no longer in memory
"""

from __future__ import annotations

import datetime
import inspect
from collections.abc import Awaitable, Callable
from typing import Any

import msgspec

from switchyard.errors import ErrorCategory, GatewayError
from switchyard.http import Request, Response
from switchyard.usage.query import epoch

Handler = Callable[[Request], Awaitable[Response]]
ADMIN_FILTERS = ("model", "provider", "key_id", "project", "user_id", "tags", "status", "credential_type")


def _iso(ts: float) -> str:
    return datetime.datetime.fromtimestamp(ts, datetime.timezone.utc).isoformat().replace("+00:00", "Z")


def _error(err: GatewayError) -> Response:
    from switchyard.protocols.openai_chat.errors import render_error

    return Response(err.status, render_error(err))


def routes(app: Any, require_admin: Callable[[Request], Any] | None = None,
           usage: Any = None) -> dict[tuple[str, str], Handler]:
    """``/admin/usage``. ``require_admin(request)`` (sync or async; default ``app.require_admin``)
    raises a GatewayError or returns a Response to refuse, anything else to allow; without one every
    request is refused. ``usage`` defaults to ``app.usage``."""

    async def admin_usage(request: Request) -> Response:
        writer = usage if usage is not None else app.usage
        check = require_admin if require_admin is not None else getattr(app, "require_admin", None)
        try:
            if check is None:
                raise GatewayError(ErrorCategory.PERMISSION, "The admin API is not configured.")
            verdict = check(request)
            if inspect.isawaitable(verdict):
                verdict = await verdict
            if isinstance(verdict, Response):
                return verdict
            q = request.query_params()
            now = datetime.datetime.now(datetime.timezone.utc)
            start = q.get("start") or q.get("start_date") or (now - datetime.timedelta(days=30)).isoformat()
            end = q.get("end") or q.get("end_date") or now.isoformat()
            group_by = q.get("group_by") or "day"
            filters = {k: q[k] for k in ADMIN_FILTERS if q.get(k)}
            await writer.flush()
            rows = await writer.report(start, end, group_by, filters, served_only=q.get("served_only") == "true")
        except GatewayError as err:
            return _error(err)
        body = {"group_by": group_by, "start": _iso(epoch(start)), "end": _iso(epoch(end, end=True)),
                "results": rows}
        return Response(200, msgspec.json.encode(body))

    return {("GET", "/admin/usage"): admin_usage}
