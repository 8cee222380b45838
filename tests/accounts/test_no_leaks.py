"""Keys, hashes, provider keys and configured secrets never reach a log line, an error body or a
repr: every log record at DEBUG is captured while a whole key lifecycle runs on both backends."""

from __future__ import annotations

import logging
from typing import Any

import msgspec
import pytest

from switchyard.accounts.config import AccountsConfig, load_accounts_config
from switchyard.accounts.keys import generate_key, hash_key
from switchyard.api.admin import AdminAPI
from switchyard.errors import GatewayError
from tests.accounts.conftest import (
    ADMIN_KEY,
    PG_DSN,
    SECRET_KEY,
    Factory,
    bearer,
    request,
)

PROVIDER_KEY = "sk-provider-" + "p" * 24


async def test_nothing_secret_in_logs_errors_or_reprs(make_accounts: Factory,
                                                      caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    acc = make_accounts(admin_key=ADMIN_KEY)
    api = AdminAPI(acc)
    bodies: list[bytes] = []

    async def call(method: str, path: str, body: Any = None, token: str = ADMIN_KEY) -> Any:
        resp = await api.handle(request(method, path, body, bearer(token)))
        assert resp is not None
        bodies.append(resp.body)
        return msgspec.json.decode(resp.body)

    created = await call("POST", "/admin/keys", {"name": "leaky", "byok": {"openai": PROVIDER_KEY},
                                                 "can_create_keys": True, "limits": {"rpm": 5}})
    bodies.pop()  # the one answer that must carry the key
    key, key_id = created["key"], created["id"]
    stored = await acc.store.get_key(key_id)
    assert stored is not None
    secrets = [key, stored.key_hash, PROVIDER_KEY, stored.byok["openai"], ADMIN_KEY, SECRET_KEY]

    p = await acc.authenticator.authenticate(bearer(key))
    assert p.byok == {"openai": PROVIDER_KEY}
    await call("GET", "/admin/keys")
    await call("GET", f"/admin/keys/{key_id}")
    await call("PATCH", f"/admin/keys/{key_id}", {"limits": {"rpm": 6}})
    await call("POST", "/admin/keys", {"name": "over", "limits": {"rpm": 50}}, token=key)  # 403
    await call("POST", "/admin/keys", {"name": "x", "key_hash": stored.key_hash})  # 400
    await call("GET", "/admin/keys", token=stored.key_hash)  # pass-the-hash: 401
    await call("GET", "/admin/keys", token=key + "x")  # 401
    tampered = key[:-1] + ("B" if key.endswith("A") else "A")  # never the key itself (1 in 64 ends in A)
    for bad in (tampered, stored.key_hash, "sy-" + stored.key_hash, generate_key()):
        with pytest.raises(GatewayError) as e:
            await acc.authenticator.authenticate(bearer(bad))
        bodies.append(e.value.message.encode())
    await acc.authenticator.refresh(full=True)
    await call("DELETE", f"/admin/keys/{key_id}")
    with pytest.raises(GatewayError) as e:
        await acc.authenticator.authenticate(bearer(key))
    bodies.append(e.value.message.encode())

    reprs = [repr(x) for x in (acc, acc.config, acc.authenticator, acc.authenticator.cache, acc.store, acc.box,
                               stored, p, acc.authenticator.cache.get(stored.key_hash), api)]
    text = caplog.text + "\n".join(r.getMessage() + repr(r.args) for r in caplog.records)
    for secret in secrets:
        assert secret not in text, "a secret reached the logs"
        for body in bodies:
            assert secret.encode() not in body, "a secret reached a response"
        for r in reprs:
            assert secret not in r, "a secret reached a repr"
    assert key_id in caplog.text  # key ids, not keys, are what the logs name


def test_config_repr_and_loading_redact(tmp_path: Any) -> None:
    cfg = tmp_path / "c.yaml"
    cfg.write_text("accounts:\n  database: postgresql://user:dbpass@127.0.0.1/test\n"
                   "  admin_key: ${ADMIN}\n  require_auth: true\n")
    loaded = load_accounts_config(str(cfg), env={"ADMIN": ADMIN_KEY, "SWITCHYARD_SECRET_KEY": SECRET_KEY})
    assert loaded.admin_key == ADMIN_KEY and loaded.secret_key == SECRET_KEY and loaded.require_auth
    for text in (repr(loaded), str(loaded)):
        assert ADMIN_KEY not in text and SECRET_KEY not in text and "dbpass" not in text
    env_only = AccountsConfig().with_env({"SWITCHYARD_ADMIN_KEY": "a" * 20, "SWITCHYARD_DATABASE_URL": PG_DSN})
    assert env_only.admin_key == "a" * 20 and env_only.database == PG_DSN
    assert load_accounts_config(None, env={}).database.startswith("sqlite:///")


def test_keys_and_ids_are_well_formed() -> None:
    import re

    from switchyard.accounts.keys import new_key_id, ulid

    keys = {generate_key() for _ in range(200)}
    assert len(keys) == 200 and all(re.fullmatch(r"sy-[A-Za-z0-9_-]{43}", k) for k in keys)
    k = next(iter(keys))
    assert hash_key(k) == __import__("hashlib").sha256(k.encode()).hexdigest()
    assert re.fullmatch(r"key_[0-9A-HJKMNP-TV-Z]{26}", new_key_id())
    assert ulid(1000.0) < ulid(2000.0)


def test_secret_box() -> None:
    from switchyard.accounts.crypto import SecretBox, SecretBoxError

    box = SecretBox(SECRET_KEY)
    blob = box.encrypt(PROVIDER_KEY, "key_a/openai")
    assert PROVIDER_KEY not in blob and box.decrypt(blob, "key_a/openai") == PROVIDER_KEY
    assert box.encrypt(PROVIDER_KEY, "key_a/openai") != blob  # fresh nonce
    for ctx in ("key_b/openai", "key_a/groq"):  # bound to its record and provider
        with pytest.raises(SecretBoxError):
            box.decrypt(blob, ctx)
    with pytest.raises(SecretBoxError):
        SecretBox("another-secret-0123456789").decrypt(blob, "key_a/openai")
    tampered = blob[:-2] + ("A" if blob[-2] != "A" else "B") + blob[-1]
    with pytest.raises(SecretBoxError):
        box.decrypt(tampered, "key_a/openai")
    with pytest.raises(SecretBoxError):
        SecretBox("short")
    assert SECRET_KEY not in repr(box)
