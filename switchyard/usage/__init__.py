"""Usage records: one row per generation, written in batches to SQLite (embedded default) or
PostgreSQL, never lost (queue, retry with backoff, spill file, flush on close), and queried back
for ``GET /v1/generation``, ``GET /v1/report`` and ``GET /admin/usage``.

    usage = UsageWriter(UsageConfig(database="postgresql://..."))   # or the SQLite default
    await usage.start(); app.sinks.add(usage)                        # a RecordSink
    await usage.get("gen_...");  await usage.report(start, end, "model", {"key_id": "..."})
    await usage.close()                                              # awaits the flush

``switchyard.api.usage`` serves ``GET /admin/usage`` over HTTP.
"""

import importlib
from typing import Any

# Lazy, so that ``switchyard.config`` can embed ``usage.config.UsageConfig`` without importing the rest.
_EXPORTS = {"PostgresStore": "stores", "SQLiteStore": "stores", "open_store": "stores", "UsageConfig": "config",
            "UsageWriter": "writer", "generation": "report", "report_json": "report",
            "record_from_row": "schema", "row_from_record": "schema"}
__all__ = ["PostgresStore", "SQLiteStore", "UsageConfig", "UsageWriter", "generation", "open_store",
           "record_from_row", "report_json", "row_from_record"]


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(f"switchyard.usage.{_EXPORTS[name]}"), name)
    raise AttributeError(name)
