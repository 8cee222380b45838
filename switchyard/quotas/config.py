"""The ``quotas:`` section of the configuration. Redis itself is the top-level ``redis:`` section
(``redis.url``; none: embedded mode, one process, in memory).

    quotas:
      batch_interval_ms: 100         # settlements and lease refills go to Redis at least this often
      batch_size: 200                # ... or as soon as this many settlements are waiting
      lease_fraction: 0.05           # an instance leases this share of what is left (0: no leases,
                                     #   every admission reserves in Redis, every settlement syncs)
      lease_max_usd: 1.0             # caps of one lease, per key / project
      lease_max_requests: 50
      lease_max_tokens: 100000
      lease_ttl_s: 30                # a dead instance's leases (and the holds in them) expire after this
      idle_release_s: 5              # an instance idle this long on a key gives its lease back
      reserve_max_output_tokens: 4096
      reserve_max_usd: null          # cap of one request's reservation (USD), none by default
      on_redis_error: fail_open      # fail_open: admit on local accounting, reconcile later
                                     # fail_closed: 503 once the local lease is spent or expired
      charge_byok: false             # BYOK requests (the caller's provider key) cost no budget
"""

from __future__ import annotations

import msgspec


class QuotaConfig(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    batch_interval_ms: int = 100
    batch_size: int = 200
    lease_fraction: float = 0.05
    lease_max_usd: float = 1.0
    lease_max_requests: int = 50
    lease_max_tokens: int = 100_000
    lease_ttl_s: float = 30.0
    idle_release_s: float = 5.0
    reserve_max_output_tokens: int = 4096
    reserve_max_usd: float | None = None
    on_redis_error: str = "fail_open"
    charge_byok: bool = False  # BYOK requests are paid by the caller's own provider account
    redis_timeout_s: float = 2.0
    key_prefix: str = "sy:q"
    # A reservation never settled (a bug upstream of the sink) is charged its estimate after this.
    max_hold_s: float = 3600.0

    def __post_init__(self) -> None:
        if self.on_redis_error not in ("fail_open", "fail_closed"):
            raise ValueError("quotas.on_redis_error must be fail_open or fail_closed")
        if not 0.0 <= self.lease_fraction <= 1.0:
            raise ValueError("quotas.lease_fraction must be between 0 and 1")
        if self.batch_interval_ms <= 0 or self.batch_size <= 0 or self.lease_ttl_s <= 0:
            raise ValueError("quotas.batch_interval_ms, batch_size and lease_ttl_s must be positive")
        if self.reserve_max_output_tokens < 0:
            raise ValueError("quotas.reserve_max_output_tokens must not be negative")
