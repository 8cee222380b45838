"""Budget periods (UTC): the key suffix of the current period, when it resets, how long to keep it."""

from __future__ import annotations

import datetime
import functools

_UTC = datetime.timezone.utc
DAY = 86_400


@functools.lru_cache(maxsize=64)
def _period_of_hour(budget_period: str, hour: int) -> str:
    dt = datetime.datetime.fromtimestamp(hour * 3600, _UTC)
    if budget_period == "daily":
        return dt.strftime("%Y-%m-%d")
    return dt.strftime("%Y-%m")  # monthly, and anything unknown


def period_of(budget_period: str, now: float) -> str:
    """Periods change on UTC hour boundaries at the finest, so the string is computed once an hour."""
    if budget_period == "total":
        return "all"
    return _period_of_hour(budget_period, int(now // 3600))


def reset_in(budget_period: str, now: float) -> float | None:
    """Seconds until the period ends (None: a total budget never resets)."""
    if budget_period == "total":
        return None
    dt = datetime.datetime.fromtimestamp(now, _UTC)
    if budget_period == "daily":
        end = datetime.datetime(dt.year, dt.month, dt.day, tzinfo=_UTC) + datetime.timedelta(days=1)
    else:
        end = datetime.datetime(dt.year + dt.month // 12, dt.month % 12 + 1, 1, tzinfo=_UTC)
    return max(0.0, end.timestamp() - now)


def keep_for(budget_period: str) -> int:
    """Seconds a period's Redis keys live after their last write (long enough to report on them)."""
    if budget_period == "total":
        return 400 * DAY
    if budget_period == "daily":
        return 8 * DAY
    return 100 * DAY
