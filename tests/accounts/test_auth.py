"""Authenticator: credentials, modes, revocation, expiry, BYOK, the cache and its negative side."""

from __future__ import annotations

import hashlib
import hmac
import time
from typing import Any

import pytest

from switchyard.accounts import auth as auth_module
from switchyard.accounts.auth import (
    ADMIN,
    byok_from_gateway_options,
    credential,
    with_byok,
)
from switchyard.accounts.config import ProjectConfig
from switchyard.accounts.inputs import KeyCreate, KeyPatch, LimitsIn, ProjectIn
from switchyard.accounts.keys import KeyRecord, generate_key, hash_key, new_key_id
from switchyard.accounts.policy import check_model
from switchyard.accounts.principal import ANONYMOUS, Limits, Principal
from switchyard.accounts.service import ROOT
from switchyard.errors import ErrorCategory, GatewayError, RequestError
from tests.accounts.conftest import ADMIN_KEY, Factory, bearer


async def _err(coro: Any) -> GatewayError:
    with pytest.raises(GatewayError) as e:
        await coro
    return e.value


async def test_api_key_lifecycle(make_accounts: Factory) -> None:
    acc = make_accounts(projects={"acme": ProjectConfig(limits=Limits(rpm=600), allowed_models=["openai/*"])})
    await acc.start()
    rec, key = await acc.create_key(ROOT, KeyCreate(
        name="alice", project="acme", allowed_models=["openai/gpt-4o", "anthropic/claude-sonnet-4"],
        limits=LimitsIn(rpm=10, tpm=1000, budget_usd=5), tags=["team-a"]))
    a = acc.authenticator
    for headers in (bearer(key), {"x-api-key": key}, {"authorization": f"bearer   {key} "}):
        p = await a.authenticate(headers)
        assert p.key_id == rec.id and p.project == "acme" and p.name == "alice"
        assert p.limits == Limits(rpm=10, tpm=1000, budget_usd=5.0, budget_period="monthly")
        assert p.project_limits == Limits(rpm=600)
        assert p.allowed_models == frozenset({"openai/gpt-4o"})  # key models within the project's
        assert p.tags == ("team-a",) and not p.is_admin

    await acc.revoke_key(ROOT, rec.id)
    err = await _err(a.authenticate(bearer(key)))
    assert err.status == 401 and err.category is ErrorCategory.AUTHENTICATION and err.code == "api_key_revoked"


async def test_expired_keys_are_rejected(sqlite_accounts: Factory) -> None:
    acc = sqlite_accounts()
    await acc.start()
    rec, key = await acc.create_key(ROOT, KeyCreate(name="short", expires_at="2099-01-01"))
    assert (await acc.authenticator.authenticate(bearer(key))).key_id == rec.id
    acc.authenticator._clock = lambda: rec.expires_at + 1  # type: ignore[operator,assignment]
    err = await _err(acc.authenticator.authenticate(bearer(key)))
    assert err.status == 401 and err.code == "api_key_expired"
    with pytest.raises(RequestError):  # an expiry in the past is refused at creation
        await acc.create_key(ROOT, KeyCreate(name="past", expires_at="2001-01-01"))


async def test_invalid_missing_and_hash_credentials(sqlite_accounts: Factory) -> None:
    acc = sqlite_accounts()
    rec, key = await acc.create_key(ROOT, KeyCreate(name="k"))
    a = acc.authenticator
    for bad in (generate_key(), key + "x", key[:-1], rec.key_hash, "sy-" + rec.key_hash, "unused",
                "eyJhbGciOiJub25lIn0.e30."):
        err = await _err(a.authenticate(bearer(bad)))
        assert err.status == 401, bad  # a key's hash is never a credential (pass-the-hash)
    assert (await _err(a.authenticate({}))).code == "missing_api_key"
    assert (await _err(a.authenticate({"authorization": f"Basic {key}"}))).status == 401
    assert (await _err(a.authenticate({"authorization": "Bearer "}))).status == 401


async def test_open_mode_until_a_key_exists(sqlite_accounts: Factory) -> None:
    acc = sqlite_accounts()
    a = acc.authenticator
    assert await a.authenticate({}) is ANONYMOUS
    assert await a.authenticate(bearer("unused")) is ANONYMOUS  # OpenAI clients insist on a key
    assert (await _err(a.authenticate(bearer(generate_key())))).status == 401  # ours: verified
    await acc.create_key(ROOT, KeyCreate(name="first"))
    assert a.required
    assert (await _err(a.authenticate({}))).status == 401
    assert (await _err(a.authenticate(bearer("unused")))).status == 401


async def test_require_auth_settings(sqlite_accounts: Factory) -> None:
    strict = sqlite_accounts(require_auth=True)
    assert (await _err(strict.authenticator.authenticate({}))).status == 401
    open_ = sqlite_accounts(require_auth=False)
    _, key = await open_.create_key(ROOT, KeyCreate(name="k"))
    await open_.start()
    assert await open_.authenticator.authenticate({}) is ANONYMOUS
    assert (await open_.authenticator.authenticate(bearer(key))).name == "k"
    admin_only = sqlite_accounts(admin_key=ADMIN_KEY)
    assert admin_only.authenticator.required
    assert (await _err(admin_only.authenticator.authenticate({}))).status == 401


async def test_admin_key(sqlite_accounts: Factory) -> None:
    a = sqlite_accounts(admin_key=ADMIN_KEY).authenticator
    assert await a.authenticate(bearer(ADMIN_KEY)) is ADMIN
    assert await a.authenticate({"x-api-key": ADMIN_KEY}) is ADMIN
    for bad in (ADMIN_KEY[:-1], ADMIN_KEY + "k", hashlib.sha256(ADMIN_KEY.encode()).hexdigest()):
        assert (await _err(a.authenticate(bearer(bad)))).status == 401


async def test_compares_are_constant_time(sqlite_accounts: Factory, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[Any, Any]] = []
    real = hmac.compare_digest

    def spy(x: Any, y: Any) -> bool:
        calls.append((x, y))
        return real(x, y)
    monkeypatch.setattr(auth_module.hmac, "compare_digest", spy)
    acc = sqlite_accounts(admin_key=ADMIN_KEY)
    rec, key = await acc.create_key(ROOT, KeyCreate(name="k"))
    await acc.authenticator.authenticate(bearer(key))
    assert (hashlib.sha256(key.encode()).hexdigest(), rec.key_hash) in [(y, x) for x, y in calls]
    calls.clear()
    await acc.authenticator.authenticate(bearer(ADMIN_KEY))
    assert calls and all(isinstance(x, bytes) for x, _ in calls)


class CountingStore:
    """A real store that counts key-by-hash look-ups."""

    def __init__(self, inner: Any) -> None:
        self.inner, self.by_hash = inner, 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    async def get_key_by_hash(self, key_hash: str) -> Any:
        self.by_hash += 1
        return await self.inner.get_key_by_hash(key_hash)


async def test_unknown_keys_are_negative_cached_and_rate_limited(sqlite_accounts: Factory) -> None:
    acc = sqlite_accounts(require_auth=True, miss_lookups_per_second=3, negative_ttl=60)
    counting = CountingStore(acc.store)
    acc.authenticator.store = counting  # type: ignore[assignment]
    unknown = generate_key()
    for _ in range(5):
        await _err(acc.authenticator.authenticate(bearer(unknown)))
    assert counting.by_hash == 1  # one look-up, then the negative cache answers
    for _ in range(20):  # a flood of distinct made-up keys costs at most the burst
        await _err(acc.authenticator.authenticate(bearer(generate_key())))
    assert counting.by_hash <= 4


async def test_key_from_another_instance_found_by_one_lookup(make_accounts: Factory) -> None:
    a, b = make_accounts(), make_accounts(refresh_interval=3600)
    await b.start()
    rec, key = await a.create_key(ROOT, KeyCreate(name="elsewhere"))
    counting = CountingStore(b.store)
    b.authenticator.store = counting  # type: ignore[assignment]
    for _ in range(3):
        assert (await b.authenticator.authenticate(bearer(key))).key_id == rec.id
    assert counting.by_hash == 1  # then served from the cache


async def test_byok_is_encrypted_at_rest_and_decrypted_per_request(sqlite_accounts: Factory) -> None:
    acc = sqlite_accounts()
    rec, key = await acc.create_key(ROOT, KeyCreate(name="byok", byok={"openai": "sk-provider-secret"}))
    stored = await acc.store.get_key(rec.id)
    assert stored is not None and "sk-provider-secret" not in stored.byok["openai"]
    p = await acc.authenticator.authenticate(bearer(key))
    assert p.byok == {"openai": "sk-provider-secret"}
    assert acc.authenticator.cache.get(rec.key_hash).principal.byok == {}  # type: ignore[union-attr]
    assert "sk-provider-secret" not in repr(p)
    no_secret = sqlite_accounts(secret_key=None)
    with pytest.raises(RequestError):
        await no_secret.create_key(ROOT, KeyCreate(name="byok", byok={"openai": "sk-x"}))
    # the record read back with a different secret: refuse (500), never leak the ciphertext
    wrong = sqlite_accounts(secret_key="another-secret-key-1234567890")
    err = await _err(wrong.authenticator.authenticate(bearer(key)))
    assert err.status == 500 and "v1." not in err.message


async def test_projects_from_store_override_config_and_refresh(sqlite_accounts: Factory) -> None:
    acc = sqlite_accounts(projects={"acme": ProjectConfig(limits=Limits(rpm=1))})
    await acc.start()
    _, key = await acc.create_key(ROOT, KeyCreate(name="k", project="acme"))
    assert (await acc.authenticator.authenticate(bearer(key))).project_limits == Limits(rpm=1)
    await acc.put_project(ROOT, ProjectIn(name="acme", limits=LimitsIn(tpm=7), allowed_models=["x/y"]))
    p = await acc.authenticator.authenticate(bearer(key))
    assert p.project_limits == Limits(tpm=7) and p.allowed_models == frozenset({"x/y"})


async def test_update_is_seen(sqlite_accounts: Factory) -> None:
    acc = sqlite_accounts()
    await acc.start()
    rec, key = await acc.create_key(ROOT, KeyCreate(name="k"))
    await acc.update_key(ROOT, rec.id, KeyPatch(allowed_models=["a/b"], limits=LimitsIn(rpm=3), name="n2"))
    p = await acc.authenticator.authenticate(bearer(key))
    assert p.allowed_models == frozenset({"a/b"}) and p.limits.rpm == 3 and p.name == "n2"


async def test_store_unreachable_fails_closed(tmp_path: Any, sqlite_accounts: Factory) -> None:
    (tmp_path / "file").write_text("not a directory")
    acc = sqlite_accounts(database=f"sqlite:///{tmp_path}/file/accounts.sqlite3")
    err = await _err(acc.authenticator.authenticate(bearer(generate_key())))
    assert err.status == 503


def test_check_model() -> None:
    check_model(ANONYMOUS, "any/model")
    p = Principal(key_id="key_x", allowed_models=frozenset({"openai/gpt-4o", "anthropic/*"}))
    check_model(p, "openai/gpt-4o")
    check_model(p, "anthropic/claude-sonnet-4")
    for model in ("openai/gpt-4o-mini", "anthropic", "anthropicx/y", "groq/llama"):
        with pytest.raises(GatewayError) as e:
            check_model(p, model)
        assert e.value.status == 403 and e.value.code == "model_not_allowed" and e.value.param == "model"


def test_byok_from_gateway_options() -> None:
    shape = {"byok": {"openai": [{"apiKey": "sk-1"}, {"apiKey": "sk-2"}], "anthropic": [{"apiKey": "sk-a"}]}}
    assert byok_from_gateway_options({"gateway": shape}) == {"openai": "sk-1", "anthropic": "sk-a"}
    assert byok_from_gateway_options(shape) == {"openai": "sk-1", "anthropic": "sk-a"}
    assert byok_from_gateway_options(None) == {} == byok_from_gateway_options({"gateway": {"order": ["x"]}})
    for bad in ({"byok": []}, {"byok": {"openai": "sk"}}, {"byok": {"openai": []}},
                {"byok": {"openai": [{"apiKey": ""}]}},
                {"byok": {"openai": [{"apiKey": "sk", "baseURL": "http://169.254.169.254"}]}}):
        with pytest.raises(RequestError) as e:
            byok_from_gateway_options({"gateway": bad})
        assert e.value.status == 400 and "sk" not in e.value.message
    p = with_byok(Principal(key_id="k", byok={"openai": "stored", "groq": "g"}), {"openai": "request"})
    assert p.byok == {"openai": "request", "groq": "g"}


def test_credential_extraction() -> None:
    assert credential({"authorization": "Bearer abc"}) == "abc"
    assert credential({"x-api-key": "abc"}) == "abc"
    assert credential({"authorization": "Bearer abc", "x-api-key": "other"}) == "abc"
    assert credential({}) is None and credential({"x-api-key": "  "}) is None


def _rec(created_by: str = "admin", **kw: Any) -> KeyRecord:
    return KeyRecord(id=new_key_id(), key_hash=hash_key(generate_key()), name="n", created_by=created_by,
                     created_at=time.time(), updated_at=time.time(), **kw)


def test_cache_holds_sub_keys_within_their_creators() -> None:
    import msgspec

    from switchyard.accounts.cache import KeyCache

    cache = KeyCache()
    parent = _rec(allowed_models=["a/*"], limits=Limits(rpm=5), expires_at=2e9)
    child = _rec(parent.id, allowed_models=["a/x", "b/y"], limits=Limits(rpm=50, tpm=3))
    cache.put_keys([child, parent])  # any order: creators are built first
    e = cache.get(child.key_hash)
    assert e is not None and e.principal.allowed_models == frozenset({"a/x"})
    assert e.principal.limits == Limits(rpm=5, tpm=3) and e.expires_at == 2e9 and not e.revoked
    assert e.principal.ancestors == (parent.id,) and parent.key_hash not in repr(e)
    cache.put_keys([msgspec.structs.replace(parent, revoked_at=time.time())])  # only the creator's row
    assert cache.get(child.key_hash).revoked  # type: ignore[union-attr]
    admin = _rec(is_admin=True, limits=Limits(rpm=1))
    granted = _rec(admin.id, limits=Limits(rpm=100))
    cache.put_keys([admin, granted, msgspec.structs.replace(admin, revoked_at=time.time())])
    g = cache.get(granted.key_hash)
    assert g is not None and not g.revoked and g.principal.limits.rpm == 100 and g.principal.ancestors == ()


def test_a_short_admin_key_is_refused_at_startup(tmp_path: Any) -> None:
    from switchyard.accounts.config import AccountsConfig
    from switchyard.accounts.service import Accounts

    with pytest.raises(ValueError):
        Accounts(AccountsConfig(database=f"sqlite:///{tmp_path}/x.sqlite3", admin_key="admin"), env={})
