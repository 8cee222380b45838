"""Both store backends, for real: SQLite files and the PostgreSQL test database."""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import pytest

from switchyard.accounts.keys import (
    KeyRecord,
    ProjectRecord,
    generate_key,
    hash_key,
    new_key_id,
)
from switchyard.accounts.principal import Limits
from switchyard.accounts.store import Store, open_store
from tests.accounts.conftest import PG_DSN


@pytest.fixture(params=["sqlite", "postgres"])
async def store(request: pytest.FixtureRequest, tmp_path: Any) -> AsyncIterator[Store]:
    schema = "sy_test_" + secrets.token_hex(6)
    s = open_store(f"sqlite:///{tmp_path}/s.sqlite3") if request.param == "sqlite" else open_store(PG_DSN, schema)
    await s.init()
    yield s
    await s.close()
    if request.param == "postgres":
        conn = await asyncpg.connect(PG_DSN)
        await conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        await conn.close()


def record(name: str = "k", created_by: str = "admin", **kw: Any) -> KeyRecord:
    now = time.time()
    return KeyRecord(id=new_key_id(), key_hash=hash_key(generate_key()), name=name, created_by=created_by,
                     created_at=now, updated_at=now, **kw)


async def test_key_lifecycle(store: Store) -> None:
    rec = record("alice", project="acme", allowed_models=["openai/gpt-4o"], tags=["t1"],
                 limits=Limits(rpm=5, budget_usd=1.5, budget_period="daily"), byok={"openai": "v1.xx"},
                 expires_at=time.time() + 3600, is_admin=False, can_create_keys=True)
    await store.insert_key(rec)
    assert await store.get_key(rec.id) == rec
    assert await store.get_key_by_hash(rec.key_hash) == rec
    assert await store.list_keys() == [rec]
    assert await store.list_keys(created_by="admin") == [rec]
    assert await store.list_keys(created_by="key_other") == []
    changed = await store.keys_changed_since(rec.updated_at - 1)
    assert [r.id for r in changed] == [rec.id]
    assert await store.keys_changed_since(rec.updated_at) == []

    import msgspec
    new = msgspec.structs.replace(rec, name="bob", allowed_models=None, limits=Limits(tpm=9), tags=[],
                                  is_admin=True, byok={}, expires_at=None, updated_at=rec.updated_at + 1)
    assert await store.update_key(new)
    assert await store.get_key(rec.id) == new

    assert await store.revoke_key(rec.id, time.time()) == [rec.id]
    got = await store.get_key(rec.id)
    assert got is not None and got.revoked_at is not None and got.status() == "revoked"
    assert await store.revoke_key(rec.id, time.time()) == []  # already revoked: nothing changes
    assert not await store.update_key(msgspec.structs.replace(new, name="again"))  # revoked: immutable
    assert await store.get_key("key_missing") is None


async def test_revoke_cascades_to_keys_created_under_it(store: Store) -> None:
    parent = record("parent")
    child = record("child", created_by=parent.id)
    grandchild = record("grandchild", created_by=child.id)
    other = record("other")
    for r in (parent, child, grandchild, other):
        await store.insert_key(r)
    assert sorted(await store.revoke_key(parent.id, time.time())) == sorted([parent.id, child.id, grandchild.id])
    assert (await store.get_key(other.id)).revoked_at is None  # type: ignore[union-attr]


async def test_hostile_values_are_parameters_not_sql(store: Store) -> None:
    evil = "x'); DROP TABLE sy_api_keys; --"
    rec = record(evil, project="p' OR '1'='1", tags=["'; DELETE FROM sy_api_keys; --"])
    await store.insert_key(rec)
    assert (await store.get_key(rec.id)) == rec
    for probe in ("' OR '1'='1", "' OR 1=1 --", "%", "*", rec.key_hash + "' OR 'a'='a"):
        assert await store.get_key_by_hash(probe) is None
        assert await store.get_key(probe) is None
        assert await store.revoke_key(probe, time.time()) == []
    assert await store.list_keys(created_by="' OR '1'='1") == []
    assert len(await store.list_keys()) == 1


async def test_projects(store: Store) -> None:
    p = ProjectRecord(name="acme", limits=Limits(rpm=100), allowed_models=["openai/*"], created_at=1.0,
                      updated_at=2.0)
    await store.put_project(p)
    assert await store.get_project("acme") == p
    p2 = ProjectRecord(name="acme", limits=Limits(budget_usd=3.0), created_at=1.0, updated_at=5.0)
    await store.put_project(p2)
    assert await store.get_project("acme") == p2
    assert await store.list_projects() == [p2]
    assert await store.projects_changed_since(4.0) == [p2]
    assert await store.projects_changed_since(5.0) == []
    assert await store.get_project("nope") is None


async def test_postgres_instances_start_concurrently(pg_schema: str) -> None:
    stores = [open_store(PG_DSN, pg_schema) for _ in range(4)]
    await asyncio.gather(*(s.init() for s in stores))  # tables created once, no race
    rec = record("shared")
    await stores[0].insert_key(rec)
    assert await stores[3].get_key_by_hash(rec.key_hash) == rec
    for s in stores:
        await s.close()


def test_store_urls(tmp_path: Any) -> None:
    with pytest.raises(ValueError):
        open_store("mysql://x")
    with pytest.raises(ValueError):
        open_store(PG_DSN, schema='x"; DROP SCHEMA public; --')
    assert "secret" not in repr(open_store("postgresql://u:secret@127.0.0.1/db"))
