"""Where finished generation records go. The embedded default keeps the most recent ones in memory
so ``GET /v1/generation?id=`` can answer; durable sinks (SQLite, PostgreSQL) implement the same
``submit``."""

from __future__ import annotations

import logging
from collections import OrderedDict
from typing import Protocol

from switchyard.telemetry.record import GenerationRecord

log = logging.getLogger("switchyard.telemetry")


class RecordSink(Protocol):
    def submit(self, rec: GenerationRecord) -> None: ...


class SinkChain:
    """Hands each finished record to several sinks in order (recent records, quota settlement,
    usage writer, metrics). A failing sink is logged and does not stop the others."""

    def __init__(self, *sinks: RecordSink) -> None:
        self.sinks = list(sinks)

    def add(self, sink: RecordSink) -> None:
        self.sinks.append(sink)

    def submit(self, rec: GenerationRecord) -> None:
        for sink in self.sinks:
            try:
                sink.submit(rec)
            except Exception:  # noqa: BLE001 - one broken sink must not lose the record for the rest
                log.exception("record sink %s failed", type(sink).__name__)


class RecentRecords:
    def __init__(self, capacity: int = 10_000) -> None:
        self.capacity = capacity
        self._records: OrderedDict[str, GenerationRecord] = OrderedDict()

    def submit(self, rec: GenerationRecord) -> None:
        self._records[rec.id] = rec
        if len(self._records) > self.capacity:
            self._records.popitem(last=False)

    def get(self, generation_id: str) -> GenerationRecord | None:
        return self._records.get(generation_id)

    def values(self) -> list[GenerationRecord]:
        return list(self._records.values())
