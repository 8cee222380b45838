"""Opening the embedded SQLite databases, which several worker processes open at the same moment.

``switchyard serve --workers N`` starts N processes that each open ``data/usage.sqlite3`` and the
accounts database on their first start. Switching a new file to WAL mode and creating its tables
takes a write lock, and SQLite answers a second process that asks for it meanwhile with
"database is locked" at once, without waiting out the busy timeout (it would otherwise risk a
deadlock between two readers that both want to write). So the setup is retried, with backoff,
until the timeout: the other worker is done within milliseconds.
"""

from __future__ import annotations

import os
import random
import sqlite3
import time
from collections.abc import Callable
from typing import Any


def open_database(path: str, setup: Callable[[sqlite3.Connection], None], *, timeout: float = 10.0,
                  **connect_kw: Any) -> sqlite3.Connection:
    """A connection to ``path`` (made with ``check_same_thread=False``) on which ``setup`` (pragmas,
    ``CREATE ... IF NOT EXISTS``) has run; ``setup`` must be safe to run again."""
    if path != ":memory:":
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    deadline = time.monotonic() + timeout
    delay = 0.005
    while True:
        conn = sqlite3.connect(path, check_same_thread=False, timeout=timeout, **connect_kw)
        try:
            setup(conn)
            return conn
        except BaseException as e:
            conn.close()
            if not isinstance(e, sqlite3.OperationalError) or "locked" not in str(e) \
                    or time.monotonic() + delay > deadline:
                raise
        time.sleep(delay * random.uniform(0.5, 1.5))  # jitter: two workers must not retry in step
        delay = min(delay * 2, 0.2)
