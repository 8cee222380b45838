"""The ``usage:`` section of the configuration (no imports beyond msgspec: config.model may embed it).

    usage:
      database: sqlite:///./data/usage.sqlite3   # or postgresql://user@host:5432/db
      schema: null                # PostgreSQL only
      table_prefix: sy_
      batch_size: 500             # rows per INSERT batch
      flush_interval_ms: 200      # a batch goes at least this often
      max_queue: 50000            # rows held in memory; beyond, rows go to the spill file
      spill_path: ./data/usage-spill.jsonl
      close_timeout_s: 10         # how long close() retries a failing database before spilling
"""

from __future__ import annotations

import msgspec


class UsageConfig(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    database: str = "sqlite:///./data/usage.sqlite3"
    schema: str | None = None
    table_prefix: str = "sy_"
    batch_size: int = 500
    flush_interval_ms: int = 200
    max_queue: int = 50_000
    spill_path: str = "./data/usage-spill.jsonl"
    close_timeout_s: float = 10.0

    def __post_init__(self) -> None:
        if self.batch_size <= 0 or self.flush_interval_ms <= 0 or self.max_queue <= 0:
            raise ValueError("usage.batch_size, flush_interval_ms and max_queue must be positive")
