"""The gateway's metadata answers in the shapes of ``@ai-sdk/gateway``'s zod schemas:
``{baseURL}/config`` (``getAvailableModels``, ``gateway-fetch-metadata.ts``) and the report row shape
of ``getSpendReport`` (``gateway-spend-report.ts``).

``/v1/credits`` and ``/v1/report`` are served from the quota service and the durable usage records
(``switchyard.usage``); ``report_json`` here computes the same report over in-memory records, and is
kept as the reference the SQL report is tested against.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Mapping
from typing import Any

import msgspec

from switchyard.catalog import Catalog, format_usd
from switchyard.errors import RequestError
from switchyard.protocols.aisdk import versions
from switchyard.telemetry.record import GenerationRecord

GROUPS = ("day", "user", "model", "tag", "provider", "credential_type")


# ---- /config ----

def config_json(catalog: Catalog, spec: int) -> bytes:
    models = []
    for m in catalog:
        models.append({
            "id": m.id, "name": m.name, "pricing": m.pricing.per_token(),
            "specification": {"specificationVersion": versions.literal(spec), "provider": m.creator,
                              "modelId": m.id},
            "modelType": m.type,
        })
    return msgspec.json.encode({"models": models})


# ---- records ----

def all_records(records: Any) -> list[GenerationRecord]:
    """Every record the in-memory store still holds."""
    return list(records.values())


def created_at(rec: GenerationRecord) -> datetime.datetime:
    return datetime.datetime.fromtimestamp(rec.created_at, datetime.timezone.utc)


def _iso(dt: datetime.datetime) -> str:
    return dt.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _usd(amount: float | None) -> float:
    return float(format_usd(amount or 0.0))


# ---- /v1/report ----

def _date(value: str | None, param: str) -> datetime.date:
    try:
        return datetime.date.fromisoformat(value or "")
    except ValueError:
        raise RequestError(f"'{param}' is required, as YYYY-MM-DD.", param=param) from None


def _keys(rec: GenerationRecord, group: str, hourly: bool) -> list[str]:
    if group == "day":
        at = created_at(rec)
        return [at.strftime("%Y-%m-%dT%H:00:00Z") if hourly else at.strftime("%Y-%m-%d")]
    if group == "model":
        return [rec.model or rec.requested_model]
    if group == "provider":
        return [rec.provider] if rec.provider else []
    if group == "credential_type":
        return ["system"]
    if group == "user":
        user = getattr(rec, "user", None)
        return [user] if isinstance(user, str) and user else []
    return [t for t in getattr(rec, "tags", None) or () if isinstance(t, str)]  # tag


def _matches(rec: GenerationRecord, q: Mapping[str, str], start: datetime.date, end: datetime.date) -> bool:
    if rec.provider is None or not start <= created_at(rec).date() <= end:
        return False
    if q.get("model") and (rec.model or rec.requested_model) != q["model"]:
        return False
    if q.get("provider") and rec.provider != q["provider"]:
        return False
    if q.get("credential_type") and q["credential_type"] != "system":
        return False
    if q.get("user_id") and getattr(rec, "user", None) != q["user_id"]:
        return False
    wanted = [t for t in (q.get("tags") or "").split(",") if t]
    return not wanted or bool(set(wanted) & set(getattr(rec, "tags", None) or ()))


def report_json(records: Iterable[GenerationRecord] | Any, query: Mapping[str, str]) -> bytes:
    start, end = _date(query.get("start_date"), "start_date"), _date(query.get("end_date"), "end_date")
    group = query.get("group_by") or "day"
    if group not in GROUPS:
        raise RequestError(f"'group_by' must be one of {', '.join(GROUPS)}.", param="group_by")
    hourly = query.get("date_part") == "hour"
    rows: dict[str, dict[str, Any]] = {}
    for rec in all_records(records):
        if not _matches(rec, query, start, end):
            continue
        u = rec.usage
        for key in _keys(rec, group, hourly):
            field = "hour" if group == "day" and hourly else group
            row = rows.setdefault(key, {field: key, "total_cost": 0.0, "market_cost": 0.0, "input_tokens": 0,
                                        "output_tokens": 0, "cached_input_tokens": 0,
                                        "cache_creation_input_tokens": 0, "reasoning_tokens": 0,
                                        "request_count": 0})
            row["total_cost"] += rec.cost or 0.0
            row["market_cost"] += rec.cost or 0.0
            row["request_count"] += 1
            if u is not None:
                row["input_tokens"] += u.input_tokens
                row["output_tokens"] += u.output_tokens
                row["cached_input_tokens"] += u.cache_read_tokens
                row["cache_creation_input_tokens"] += u.cache_write_tokens
                row["reasoning_tokens"] += u.reasoning_tokens
    results = []
    for key in sorted(rows):
        row = rows[key]
        row["total_cost"], row["market_cost"] = _usd(row["total_cost"]), _usd(row["market_cost"])
        results.append(row)
    return msgspec.json.encode({"results": results})
