"""Fixtures for the accounts tests: real SQLite files in tmp_path and the real PostgreSQL ``test``
database (a unique schema per test, dropped afterwards)."""

from __future__ import annotations

import os
import secrets
from collections.abc import AsyncIterator, Callable
from typing import Any

import asyncpg
import pytest

from switchyard.accounts.config import AccountsConfig
from switchyard.accounts.service import Accounts
from switchyard.http import Request

PG_DSN = os.environ.get("SWITCHYARD_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")
ADMIN_KEY = "admin-" + "k" * 30
SECRET_KEY = "byok-secret-" + "s" * 30

Factory = Callable[..., Accounts]


@pytest.fixture
async def pg_schema() -> AsyncIterator[str]:
    schema = "sy_test_" + secrets.token_hex(6)
    yield schema
    conn = await asyncpg.connect(PG_DSN)
    try:
        await conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    finally:
        await conn.close()


def _factory(database: str, schema: str | None) -> tuple[Factory, list[Accounts]]:
    made: list[Accounts] = []

    def make(**overrides: Any) -> Accounts:
        settings: dict[str, Any] = {"database": database, "schema": schema, "refresh_interval": 0.3,
                                    "secret_key": SECRET_KEY}
        settings.update(overrides)
        accounts = Accounts(AccountsConfig(**settings), env={})
        made.append(accounts)
        return accounts
    return make, made


@pytest.fixture(params=["sqlite", "postgres"])
async def make_accounts(request: pytest.FixtureRequest, tmp_path: Any) -> AsyncIterator[Factory]:
    """Build Accounts sharing one database (SQLite file, or a PostgreSQL schema)."""
    if request.param == "sqlite":
        make, made = _factory(f"sqlite:///{tmp_path}/accounts.sqlite3", None)
        yield make
    else:
        schema = "sy_test_" + secrets.token_hex(6)
        make, made = _factory(PG_DSN, schema)
        yield make
    for accounts in made:
        await accounts.close()
    if request.param == "postgres":
        conn = await asyncpg.connect(PG_DSN)
        try:
            await conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        finally:
            await conn.close()


@pytest.fixture
async def sqlite_accounts(tmp_path: Any) -> AsyncIterator[Factory]:
    make, made = _factory(f"sqlite:///{tmp_path}/accounts.sqlite3", None)
    yield make
    for accounts in made:
        await accounts.close()


def bearer(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}


def request(method: str, path: str, body: Any = None, headers: dict[str, str] | None = None) -> Request:
    import msgspec

    raw = b"" if body is None else body if isinstance(body, bytes) else msgspec.json.encode(body)
    return Request(method, path, "", dict(headers or {}), raw, ("127.0.0.1", 1))
