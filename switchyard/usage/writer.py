"""UsageWriter: the RecordSink that writes one row per generation, in batches, and never loses one.

``submit`` turns the record into a row and appends it to an in-memory queue (no I/O, never blocks).
A background task writes the queue in batches (``batch_size`` rows, at least every
``flush_interval_ms``). A failed batch goes back to the head of the queue and is retried with
exponential backoff (up to 5 s). While the queue holds ``max_queue`` rows, further rows are appended
to a local spill file (JSON lines; a small buffered append, the only I/O ``submit`` may do) instead
of blocking the caller or dropping them; once the database has caught up, spill files are replayed
(inserts ignore ids already written, so a replay interrupted by a crash is simply redone). ``close``
awaits the flush (up to ``close_timeout_s`` while the database is failing) and spills whatever is
left, so a graceful shutdown loses nothing; rows submitted after ``close`` go to the spill file.
"""

from __future__ import annotations

import asyncio
import glob
import logging
import os
import time
from collections import deque
from typing import Any

import msgspec

from switchyard.usage.config import UsageConfig
from switchyard.usage.schema import row_dict, row_from_record
from switchyard.usage.stores import open_store

log = logging.getLogger("switchyard.usage")


def _read_chunk(fh: Any, n: int) -> list[bytes]:
    out = []
    for line in fh:
        out.append(line)
        if len(out) >= n:
            break
    return out


class UsageWriter:
    def __init__(self, config: UsageConfig | None = None, *, store: Any = None) -> None:
        self.cfg = cfg = config or UsageConfig()
        self.store = store or open_store(cfg.database, cfg.schema, cfg.table_prefix)
        self._q: deque[tuple[Any, ...]] = deque()
        self._inflight: list[tuple[Any, ...]] = []
        self._event = asyncio.Event()
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._spill_fh: Any = None
        self._closing = self._closed = False
        self.failures = 0
        self.written = self.spilled = self.replayed = 0

    # ---- RecordSink ----

    def submit(self, rec: Any) -> None:
        try:
            row = row_from_record(rec)
        except Exception:  # a malformed record must not break the sink chain
            log.exception("usage: cannot convert record %s", getattr(rec, "id", "?"))
            return
        self.submit_row(row)

    def submit_row(self, row: tuple[Any, ...]) -> None:
        if self._closed or len(self._q) >= self.cfg.max_queue:
            self._spill([row])
            return
        self._q.append(row)
        if len(self._q) >= self.cfg.batch_size:
            self._event.set()

    # ---- lifecycle ----

    async def start(self) -> None:
        try:
            await self.store.open()
        except Exception:  # the database may come up later: rows wait in the queue
            log.exception("usage: database unavailable at start; rows are queued")
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._loop(), name="usage-writer")

    async def close(self) -> None:
        """Write everything queued (retrying for up to ``close_timeout_s``), spill the rest, close."""
        self._closing = True
        self._stop.set()
        self._event.set()
        if self._task is not None:
            await self._task
            self._task = None
        deadline = time.monotonic() + self.cfg.close_timeout_s
        while self._q and time.monotonic() < deadline:
            if not await self._write_once():
                await asyncio.sleep(min(0.1 * 2 ** min(self.failures, 5), 1.0))
        if self._q:
            log.error("usage: database unavailable at close; %d row(s) spilled to %s", len(self._q),
                      self.cfg.spill_path)
            self._spill(list(self._q))
            self._q.clear()
        self._closed = True
        if self._spill_fh is not None:
            self._spill_fh.close()
            self._spill_fh = None
        await self.store.close()

    async def flush(self) -> None:
        """Write everything queued now (tests, admin)."""
        while self._q:
            if not await self._write_once():
                raise RuntimeError("usage: the database rejected a batch")

    # ---- background ----

    async def _loop(self) -> None:
        interval = self.cfg.flush_interval_ms / 1000
        while not self._closing:
            if self.failures:
                event, wait = self._stop, min(interval * 2 ** min(self.failures, 6), 5.0)
            else:
                event, wait = self._event, interval
            if len(self._q) < self.cfg.batch_size:
                self._event.clear()  # a stale wake-up from rows the last write already took
            try:
                await asyncio.wait_for(event.wait(), wait)
            except TimeoutError:
                pass
            try:
                ok = True
                while self._q and ok and not self._closing:
                    ok = await self._write_once()
                    # Only full batches go back to back; the rest waits for the next tick. Else,
                    # under steady load, each write would take whatever arrived during the last
                    # one: many small commits, each rewriting the same index pages.
                    if len(self._q) < self.cfg.batch_size:
                        break
                if ok and not self._q and not self._closing:
                    await self._replay()
            except Exception:  # the loop must survive anything
                log.exception("usage: writer loop error")

    async def _write_once(self) -> bool:
        n = min(self.cfg.batch_size, len(self._q))
        batch = [self._q.popleft() for _ in range(n)]
        self._inflight = batch
        try:
            await self.store.write(batch)
        except Exception as e:  # noqa: BLE001 - retried: nothing is dropped
            self._q.extendleft(reversed(batch))
            self.failures += 1
            if self.failures == 1 or self.failures % 50 == 0:
                log.warning("usage: writing %d row(s) failed (%s: %s); retrying", n, type(e).__name__, e)
            return False
        finally:
            self._inflight = []
        self.failures = 0
        self.written += n
        return True

    # ---- spill ----

    def _spill(self, rows: list[tuple[Any, ...]]) -> None:
        if self._spill_fh is None:
            os.makedirs(os.path.dirname(os.path.abspath(self.cfg.spill_path)), exist_ok=True)
            self._spill_fh = open(self.cfg.spill_path, "ab")  # noqa: SIM115 - kept open for appends
        self._spill_fh.write(b"".join(msgspec.json.encode(r) + b"\n" for r in rows))
        self._spill_fh.flush()
        self.spilled += len(rows)

    async def _replay(self) -> None:
        path = self.cfg.spill_path
        if self._spill_fh is not None:
            self._spill_fh.close()
            self._spill_fh = None
        if os.path.exists(path) and os.path.getsize(path) > 0:
            os.replace(path, f"{path}.replay-{time.time_ns()}")
        for name in sorted(glob.glob(glob.escape(path) + ".replay-*")):
            fh = await asyncio.to_thread(open, name, "rb")
            with fh:
                while True:
                    lines = await asyncio.to_thread(_read_chunk, fh, self.cfg.batch_size)
                    rows = []
                    for line in lines:
                        try:
                            rows.append(tuple(msgspec.json.decode(line)))
                        except msgspec.DecodeError:
                            log.warning("usage: skipping a torn line in %s", name)
                    if rows:
                        try:
                            await self.store.write(rows)
                        except Exception as e:  # noqa: BLE001 - the file stays and is replayed later
                            self.failures += 1
                            log.warning("usage: replaying %s failed (%s); will retry", name, type(e).__name__)
                            return
                        self.replayed += len(rows)
                    if len(lines) < self.cfg.batch_size:
                        break
            os.remove(name)
            log.info("usage: replayed spill file %s", name)

    # ---- reading ----

    async def get(self, generation_id: str) -> dict[str, Any] | None:
        """One generation's row (as a dict), queued or written."""
        for row in (*self._inflight, *self._q):
            if row[0] == generation_id:
                return row_dict(row)
        return await self.store.get(generation_id)

    async def report(self, start: Any, end: Any, group_by: str, filters: dict[str, Any] | None = None,
                     served_only: bool = True) -> list[dict[str, Any]]:
        """Rows grouped by model | provider | key | project | user | tag | day | hour over written usage
        (call ``flush`` first to include what is still queued)."""
        return await self.store.report(start, end, group_by, filters, served_only)
