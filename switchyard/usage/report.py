"""Reports and lookups over the usage records, in the shapes the API answers with (no HTTP here)."""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any

import msgspec

from switchyard.errors import RequestError
from switchyard.telemetry.record import GenerationRecord
from switchyard.usage.schema import record_from_row

AISDK_GROUPS = ("day", "user", "model", "tag", "provider", "credential_type")


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
