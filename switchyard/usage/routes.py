"""HTTP answers backed by the usage database.

    GET /admin/usage?group_by=model&start=2026-11-01&end=2026-11-30[&key_id=&project=&model=&provider=
                    &user_id=&tags=a,b&status=&credential_type=&served_only=true]   (admin only)
    report_json(writer, query, principal)    GET /v1/report, the AI SDK's getSpendReport shape
    generation(writer, id)                   GET /v1/generation for records no longer in memory
"""

from __future__ import annotations

import datetime
import inspect
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import msgspec

from switchyard.errors import ErrorCategory, GatewayError, RequestError
from switchyard.http import Request, Response
from switchyard.telemetry.record import GenerationRecord
from switchyard.usage.query import epoch
from switchyard.usage.schema import record_from_row

Handler = Callable[[Request], Awaitable[Response]]
ADMIN_FILTERS = ("model", "provider", "key_id", "project", "user_id", "tags", "status", "credential_type")
AISDK_GROUPS = ("day", "user", "model", "tag", "provider", "credential_type")


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


async def report_json(writer: Any, query: Mapping[str, str], principal: Any = None) -> bytes:
    """``GET /v1/report`` from the database, in ``protocols.aisdk.metadata.report_json``'s shape. A
    caller who is not an admin sees only its own key's (else its project's) usage."""
    dates = []
    for param in ("start_date", "end_date"):
        try:
            dates.append(datetime.date.fromisoformat(query.get(param) or ""))
        except ValueError:
            raise RequestError(f"'{param}' is required, as YYYY-MM-DD.", param=param) from None
    group = query.get("group_by") or "day"
    if group not in AISDK_GROUPS:
        raise RequestError(f"'group_by' must be one of {', '.join(AISDK_GROUPS)}.", param="group_by")
    sql_group = "hour" if group == "day" and query.get("date_part") == "hour" else group
    filters: dict[str, Any] = {k: query[k] for k in ("model", "provider", "user_id", "tags", "credential_type")
                               if query.get(k)}
    if principal is not None and not getattr(principal, "is_admin", False):
        if getattr(principal, "key_id", None):
            filters["key_id"] = principal.key_id
        elif getattr(principal, "project", None):
            filters["project"] = principal.project
    await writer.flush()  # this instance's own queued records count too
    rows = await writer.report(dates[0], dates[1], sql_group, filters)
    if group == "user":  # as the in-memory report: generations without a user are not a group
        rows = [r for r in rows if r["user"]]
    if group == "provider":
        rows = [r for r in rows if r["provider"]]
    return msgspec.json.encode({"results": rows})


async def generation(writer: Any, generation_id: str) -> GenerationRecord | None:
    """The record of a generation from the database (``generation_json`` renders it)."""
    row = await writer.get(generation_id)
    return None if row is None else record_from_row(row)
