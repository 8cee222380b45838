"""Where finished generation records go. The embedded default keeps the most recent ones in memory
so ``GET /v1/generation?id=`` can answer; durable sinks (SQLite, PostgreSQL) implement the same
``submit``."""

from __future__ import annotations

from collections import OrderedDict
from typing import Protocol

from switchyard.telemetry.record import GenerationRecord


class RecordSink(Protocol):
    def submit(self, rec: GenerationRecord) -> None: ...


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
