"""Quotas: requests and tokens per minute, and USD budgets per day / month / in total, per API key
and per project, shared by every gateway instance through Redis (or in memory when embedded).

Design
------
*Shared state* (Redis, one atomic Lua script per key, ``lua.SYNC``; all of a key's Redis keys carry
the hash tag ``{k:<key_id>}`` / ``{p:<project>}``, so the script stays on one Cluster slot):
rates are GCRA (one TAT per limit, burst = the limit, variable cost, exact retry-after); budgets
are ``spent`` and ``reserved`` per period key (``…:b:{k:id}:2026-11``), and every reservation is an
instance's *lease*: an amount and a TTL under the instance's id, so a dead instance's reservations
(and the holds of its requests in flight) expire on their own.

*Hot path* (``service.admit``/``submit``, no I/O): each instance leases a slice of each key's
remaining requests, tokens and budget, ``min(lease_fraction × remaining, cap)``, and admits locally
against it: ``reserve`` takes the request's estimate from the lease, ``settle`` gives back
``estimate − actual`` (reserve-then-settle, see ``charges`` for the estimate and the charge when
usage is missing). A background sync (``syncer``, every ``batch_interval_ms``, or at once after
``batch_size`` settlements or when a lease runs low) pushes the settled spend in one pipeline,
gives back what is not needed, and tops leases up. Leases shrink with what remains, so near a limit
they are small and syncs frequent; when a lease cannot cover a request the admission waits for a
sync that claims exactly what it needs (then it costs one round trip, shared by every admission
waiting at that moment), and is refused only if Redis cannot grant it. ``lease_fraction: 0`` gives
per-request reserve-then-settle (two round trips per request).

Overshoot bounds (stated and tested, ``tests/quotas/test_multiprocess.py``)
---------------------------------------------------------------------------
Budgets, while Redis is reachable (or under ``fail_closed``): a lease is reserved in Redis before
its instance may admit against it, and given back locally before Redis hears of it, so whatever is
admitted is covered by a reservation. The only overshoot is what requests cost beyond their
reservation::

    spent  <=  budget + Σ over requests of max(actual − estimate, 0)

(+ at most one lease, ``<= lease_max_usd``, per instance stalled longer than ``lease_ttl_s`` while
holding it: Redis then frees that lease although the instance may still settle against it).
Rates: a leased slice is debited from the GCRA before it is used, so Redis itself never grants more
than GCRA(limit, burst = limit) allows; a slice may be used up to one sync later than it was debited.
So over any interval of length t::

    requests admitted <= rpm × (1 + t / 60 s) + one slice (<= lease_max_requests) per instance
    tokens charged    <= tpm × (1 + t / 60 s) + one slice (<= lease_max_tokens) per instance
                         + Σ max(actual − estimate, 0) of the requests settled in it

(``rpm × (1 + t / 60 s)`` is what GCRA itself allows: a full bucket, then the rate.)

*Redis down*: ``on_redis_error: fail_closed`` keeps admitting only against a lease still alive in
Redis (so the bounds hold) and answers 503 beyond it; ``fail_open`` admits on local accounting (the
last known remaining budget less this instance's spend since; a local GCRA at the full limit, so up
to N× the rate with N instances) and reconciles when Redis is back: every settled cost is pushed,
exactly once (each sync carries a per-instance sequence number the script deduplicates on).
"""

import importlib
from typing import Any

# Lazy, so that ``switchyard.config`` can embed ``quotas.config.QuotaConfig`` without importing the rest.
_EXPORTS = {"QuotaConfig": "config", "QuotaExceeded": "reservation", "QuotaService": "service",
            "Reservation": "reservation", "candidate_pricing": "charges", "estimate": "charges"}
__all__ = ["QuotaConfig", "QuotaExceeded", "QuotaService", "Reservation", "candidate_pricing", "estimate"]


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(f"switchyard.quotas.{_EXPORTS[name]}"), name)
    raise AttributeError(name)
