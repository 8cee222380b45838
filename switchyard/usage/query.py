"""Usage reports in SQL: one GROUP BY over the generations table (joined to the tags table when
grouping by tag), the same statement for SQLite and PostgreSQL (``?`` placeholders, renumbered for
asyncpg). Rows come back in the AI SDK report shape (``protocols.aisdk.metadata.report_json``)."""

from __future__ import annotations

import datetime
from collections.abc import Mapping, Sequence
from typing import Any

from switchyard.errors import RequestError

GROUPS = {
    "model": "COALESCE(g.model, g.requested_model)",
    "provider": "g.provider",
    "key": "g.key_id",
    "project": "g.project",
    "user": "g.user_id",
    "day": "g.day",
    "hour": "g.hour",
    "tag": "t.tag",
    "credential_type": "COALESCE(g.credential_type, 'system')",
}
FILTERS = {"model": "COALESCE(g.model, g.requested_model)", "provider": "g.provider", "key_id": "g.key_id",
           "project": "g.project", "user_id": "g.user_id", "status": "g.status",
           "credential_type": "COALESCE(g.credential_type, 'system')"}
SUMS = ("SUM(COALESCE(g.cost, 0)), SUM(g.input_tokens), SUM(g.output_tokens), SUM(g.cached_tokens), "
        "SUM(g.cache_write_tokens), SUM(g.reasoning_tokens), COUNT(*)")


def epoch(value: Any, end: bool = False) -> float:
    """A bound as epoch seconds: a number, a datetime, a date or an ISO string. A bare date as an
    end bound means the end of that day (dates are inclusive)."""
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        text = value.strip().replace("Z", "+00:00")
        try:
            value = datetime.date.fromisoformat(text) if len(text) == 10 else datetime.datetime.fromisoformat(text)
        except ValueError:
            raise RequestError(f"'{value}' is not a date (YYYY-MM-DD) or an ISO 8601 time.") from None
    if isinstance(value, datetime.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=datetime.timezone.utc)
        return value.timestamp()
    if isinstance(value, datetime.date):
        start = datetime.datetime(value.year, value.month, value.day, tzinfo=datetime.timezone.utc)
        return (start + datetime.timedelta(days=1 if end else 0)).timestamp()
    raise RequestError(f"'{value!r}' is not a date.")


def report_sql(tables: Any, start: Any, end: Any, group_by: str, filters: Mapping[str, Any] | None = None,
               served_only: bool = True) -> tuple[str, list[Any]]:
    if group_by not in GROUPS:
        raise RequestError(f"'group_by' must be one of {', '.join(GROUPS)}.", param="group_by")
    expr = GROUPS[group_by]
    where = ["g.created_at >= ?", "g.created_at < ?"]
    args: list[Any] = [epoch(start), epoch(end, end=True)]
    if served_only:
        where.append("g.provider IS NOT NULL")
    for name, value in (filters or {}).items():
        if value is None or value == "":
            continue
        if name == "tags":
            tags = [t for t in (value.split(",") if isinstance(value, str) else value) if t]
            if tags:
                where.append(f"EXISTS (SELECT 1 FROM {tables.tags} ft WHERE ft.generation_id = g.id "
                             f"AND ft.tag IN ({', '.join('?' for _ in tags)}))")
                args.extend(tags)
        elif name in FILTERS:
            where.append(f"{FILTERS[name]} = ?")
            args.append(_int(value, name) if name == "status" else str(value))
        else:
            raise RequestError(f"Unknown filter '{name}'.", param=name)
    join = f" JOIN {tables.tags} t ON t.generation_id = g.id" if group_by == "tag" else ""
    sql = (f"SELECT {expr} AS grp, {SUMS} FROM {tables.gen} g{join} WHERE {' AND '.join(where)} "
           "GROUP BY 1 ORDER BY 1")
    return sql, args


def _int(value: Any, name: str) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise RequestError(f"'{name}' must be a number.", param=name) from None


def report_rows(group_by: str, raw: Sequence[Sequence[Any]]) -> list[dict[str, Any]]:
    from switchyard.catalog import format_usd

    out = []
    for grp, cost, inp, outp, cached, cwrite, reasoning, count in raw:
        usd = float(format_usd(float(cost or 0)))
        out.append({group_by: grp, "total_cost": usd, "market_cost": usd, "input_tokens": int(inp or 0),
                    "output_tokens": int(outp or 0), "cached_input_tokens": int(cached or 0),
                    "cache_creation_input_tokens": int(cwrite or 0), "reasoning_tokens": int(reasoning or 0),
                    "request_count": int(count)})
    return out


def numbered(sql: str) -> str:
    """``?`` -> ``$1, $2, ...`` for asyncpg (no statement here contains a literal question mark)."""
    parts = sql.split("?")
    return "".join(p + (f"${i + 1}" if i < len(parts) - 1 else "") for i, p in enumerate(parts))
