"""The SQLite store writes a batch as one multi-row INSERT, padded with copies of its last row; every
row lands exactly once, at every batch size around the chunk and power-of-two boundaries."""

from __future__ import annotations

import sqlite3

import pytest

from switchyard.usage.schema import COLUMNS, row_from_record
from switchyard.usage.stores import MAX_ROWS_PER_INSERT, SQLiteStore, multi_row
from tests.usage.conftest import record


def test_multi_row_repeats_the_value_group_and_keeps_the_conflict_clause():
    single = "INSERT INTO t (a, b) VALUES (?, ?) ON CONFLICT (a) DO NOTHING"
    assert multi_row(single, 3) == "INSERT INTO t (a, b) VALUES (?, ?), (?, ?), (?, ?) ON CONFLICT (a) DO NOTHING"
    assert multi_row(single, 1) == single


def _rows(n: int, start: int = 0) -> list[tuple]:
    rows = []
    for i in range(start, start + n):
        rec = record(i, tags=["t1", "t2"] if i % 3 == 0 else [])
        rec.id = f"gen_{i:08d}"  # ids independent of the clock: stable per index
        rows.append(row_from_record(rec))
    return rows


@pytest.mark.parametrize("n", [1, 2, 3, 7, 500, MAX_ROWS_PER_INSERT, MAX_ROWS_PER_INSERT + 1, 2500])
async def test_every_row_of_a_batch_lands_once(tmp_path, n):
    path = tmp_path / "usage.sqlite3"
    store = SQLiteStore(str(path))
    try:
        rows = _rows(n)
        await store.write(rows)
        await store.write(rows[: max(1, n // 2)])  # a replayed batch changes nothing
    finally:
        await store.close()
    db = sqlite3.connect(path)
    got = db.execute("SELECT id, input_tokens FROM sy_generations ORDER BY id").fetchall()
    assert got == [(r[0], r[COLUMNS.index("input_tokens")]) for r in rows]
    tags = db.execute("SELECT generation_id, tag FROM sy_generation_tags ORDER BY 1, 2").fetchall()
    assert tags == sorted((r[0], t) for i, r in enumerate(rows) if i % 3 == 0 for t in ("t1", "t2"))
    # a statement journal in memory, not a temporary file per statement; WAL for concurrent readers
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


async def test_a_batch_is_one_statement_per_table(tmp_path):
    store = SQLiteStore(str(tmp_path / "usage.sqlite3"))
    rows = _rows(300)
    statements = store._statements(store.tables.insert, rows)
    assert len(statements) == 1
    sql, params = statements[0]
    assert len(params) == 512 * len(COLUMNS)  # padded to the next power of two
    assert params[-len(COLUMNS):] == list(rows[-1])
    assert len(store._statements(store.tables.insert, _rows(MAX_ROWS_PER_INSERT + 5))) == 2


class _Conformer:
    """Records whether sqlite3 went on to ask the value to adapt itself."""

    asked = 0

    def __conform__(self, protocol):
        _Conformer.asked += 1
        return 1


async def test_none_columns_are_stored_as_null_without_the_adapter_search(tmp_path):
    path = tmp_path / "usage.sqlite3"
    store = SQLiteStore(str(path))
    rec = record(1)
    rec.user, rec.error = None, None
    row = row_from_record(rec)
    nones = [c for c, v in zip(COLUMNS, row) if v is None]
    assert {"user_id", "error"} <= set(nones)
    try:
        await store.write([row])
    finally:
        await store.close()
    db = sqlite3.connect(path)
    got = db.execute(f"SELECT {', '.join(f'{c} IS NULL' for c in nones)} FROM sy_generations").fetchall()
    assert got == [(1,) * len(nones)]
    # None is found in the adapter registry: sqlite3 stops there instead of raising and formatting
    # two AttributeErrors per None (the registry is what the search consults first; a value that is
    # not registered still reaches __conform__)
    assert sqlite3.adapters[(type(None), sqlite3.PrepareProtocol)](None) is None
    mem = sqlite3.connect(":memory:")
    assert mem.execute("SELECT ?", (_Conformer(),)).fetchall() == [(1,)]
    assert _Conformer.asked == 1
