"""The refresh bound: a change made through one instance is seen by every other instance within
``refresh_interval`` (plus one refresh query), whatever it had cached. Two independent Accounts
(each its own store connection and cache) share one database: PostgreSQL and a SQLite file."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from switchyard.accounts.inputs import KeyCreate, KeyPatch
from switchyard.accounts.keys import generate_key, new_key_id
from switchyard.accounts.service import ROOT
from switchyard.errors import GatewayError
from tests.accounts.conftest import Factory, bearer

INTERVAL = 0.3
SLACK = 0.5  # one refresh query, and scheduling on a loaded test machine


async def _rejected_within(auth: Any, key: str, bound: float) -> float:
    start = time.monotonic()
    while True:
        try:
            await auth.authenticate(bearer(key))
        except GatewayError as e:
            assert e.status == 401
            return time.monotonic() - start
        assert time.monotonic() - start < bound, "the revocation was not seen in time"
        await asyncio.sleep(0.01)


async def test_revocation_reaches_every_instance_within_the_interval(make_accounts: Factory) -> None:
    a, b = make_accounts(refresh_interval=INTERVAL), make_accounts(refresh_interval=INTERVAL)
    c = make_accounts(refresh_interval=3600)  # refreshes only at start: shows the hot path's source
    for acc in (a, b, c):
        await acc.start()
    rec, key = await a.create_key(ROOT, KeyCreate(name="shared"))
    assert (await a.authenticator.authenticate(bearer(key))).key_id == rec.id
    assert (await b.authenticator.authenticate(bearer(key))).key_id == rec.id  # B caches it now
    assert (await c.authenticator.authenticate(bearer(key))).key_id == rec.id

    for _ in range(3):  # B answers from its cache from now on, wherever the refresh tick is
        await b.authenticator.authenticate(bearer(key))
    await a.revoke_key(ROOT, rec.id)
    with pytest.raises(GatewayError):  # the instance that revoked sees it at once
        await a.authenticator.authenticate(bearer(key))
    took = await _rejected_within(b.authenticator, key, INTERVAL + SLACK)
    assert took <= INTERVAL + SLACK
    # C answers from memory, no database round trip: it learns of the revocation at its next refresh
    assert (await c.authenticator.authenticate(bearer(key))).key_id == rec.id
    await c.authenticator.refresh()
    with pytest.raises(GatewayError):
        await c.authenticator.authenticate(bearer(key))


async def test_updates_and_new_keys_propagate(make_accounts: Factory) -> None:
    a, b = make_accounts(refresh_interval=INTERVAL), make_accounts(refresh_interval=INTERVAL, negative_ttl=60)
    await a.start()
    await b.start()
    key = generate_key()
    with pytest.raises(GatewayError):  # B negative-caches a key nobody has yet ...
        await b.authenticator.authenticate(bearer(key))

    # ... which the refresh brings in anyway once it exists (created here with a known secret).
    import hashlib

    import msgspec
    rec, _ = await a.create_key(ROOT, KeyCreate(name="later"))
    forged = msgspec.structs.replace(rec, id=new_key_id(), key_hash=hashlib.sha256(key.encode()).hexdigest())
    await a.store.insert_key(forged)
    await asyncio.sleep(INTERVAL + SLACK)
    assert (await b.authenticator.authenticate(bearer(key))).key_id == forged.id

    await a.update_key(ROOT, forged.id, KeyPatch(allowed_models=["openai/gpt-4o"]))
    await asyncio.sleep(INTERVAL + SLACK)
    assert (await b.authenticator.authenticate(bearer(key))).allowed_models == frozenset({"openai/gpt-4o"})


async def test_a_failing_refresh_keeps_serving_the_cache(sqlite_accounts: Factory,
                                                        caplog: pytest.LogCaptureFixture) -> None:
    acc = sqlite_accounts(refresh_interval=0.05)
    rec, key = await acc.create_key(ROOT, KeyCreate(name="k"))
    await acc.start()

    async def broken(ts: float) -> list[Any]:
        raise OSError("database is gone")
    acc.authenticator.store.keys_changed_since = broken  # type: ignore[method-assign]
    await asyncio.sleep(0.2)
    assert (await acc.authenticator.authenticate(bearer(key))).key_id == rec.id
    assert "key cache refresh failed (OSError)" in caplog.text
