"""The embedded databases open cleanly when several worker processes create them at the same moment."""

from __future__ import annotations

import multiprocessing
import sqlite3
from pathlib import Path

import pytest

from switchyard.sqlite_files import open_database

TRIALS = 8  # before the retry, the second opener failed in about 1 of 2 (accounts) to 59 of 60 (usage)


def _open_store(module: str, path: str, barrier, results) -> None:
    """In a forked worker: open ``module``'s SQLiteStore at ``path`` together with the other worker."""
    import importlib

    store = importlib.import_module(module).SQLiteStore(path)
    barrier.wait()
    try:
        store._open()
        results.put("ok")
    except Exception as e:  # reported, not raised: the parent asserts
        results.put(f"{type(e).__name__}: {e}")


@pytest.mark.parametrize("module", ["switchyard.usage.stores", "switchyard.accounts.store_sqlite"],
                         ids=["usage", "accounts"])
def test_two_workers_create_the_same_database_at_once(tmp_path: Path, module: str) -> None:
    ctx = multiprocessing.get_context("fork")
    for trial in range(TRIALS):
        path = str(tmp_path / f"t{trial}" / "db.sqlite3")
        barrier, results = ctx.Barrier(2), ctx.Queue()
        procs = [ctx.Process(target=_open_store, args=(module, path, barrier, results)) for _ in range(2)]
        for p in procs:
            p.start()
        for p in procs:
            p.join(30)
        assert [results.get(timeout=5) for _ in procs] == ["ok", "ok"], trial
        db = sqlite3.connect(path)
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert db.execute("SELECT count(*) FROM sqlite_master WHERE type = 'table'").fetchone()[0] >= 1


def test_a_lock_that_outlasts_the_timeout_is_an_error(tmp_path: Path) -> None:
    path = str(tmp_path / "db.sqlite3")
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    calls = []

    def setup(conn: sqlite3.Connection) -> None:
        calls.append(1)
        conn.execute("CREATE TABLE IF NOT EXISTS t (a)")

    with pytest.raises(sqlite3.OperationalError, match="locked"):
        open_database(path, setup, timeout=0.3)
    holder.execute("COMMIT")
    conn = open_database(path, setup, timeout=0.3)
    assert conn.execute("SELECT count(*) FROM t").fetchone() == (0,)


def test_other_errors_are_not_retried(tmp_path: Path) -> None:
    calls = []

    def setup(conn: sqlite3.Connection) -> None:
        calls.append(1)
        conn.execute("CREATE TABLE broken (")

    with pytest.raises(sqlite3.OperationalError, match="syntax|incomplete"):
        open_database(str(tmp_path / "db.sqlite3"), setup)
    assert calls == [1]
