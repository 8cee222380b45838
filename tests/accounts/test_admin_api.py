"""The admin API: lifecycle, error shape, authorisation, and the sub-key subset invariant
(CVE-2026-47101: a key can never grant more than its creator has)."""

from __future__ import annotations

from typing import Any

import msgspec
import pytest

from switchyard.accounts.inputs import KeyCreate, LimitsIn
from switchyard.accounts.service import ROOT
from switchyard.api.admin import AdminAPI, routes
from tests.accounts.conftest import ADMIN_KEY, Factory, bearer, request

ADMIN = bearer(ADMIN_KEY)


async def call(api: AdminAPI, method: str, path: str, body: Any = None,
               headers: dict[str, str] | None = None) -> tuple[int, Any]:
    resp = await api.handle(request(method, path, body, ADMIN if headers is None else headers))
    assert resp is not None
    return resp.status, msgspec.json.decode(resp.body)


def assert_error(status: int, body: Any, expected: int) -> None:
    assert status == expected, body
    assert set(body) == {"error"} and set(body["error"]) >= {"message", "type", "param", "code"}


@pytest.fixture
async def api(make_accounts: Factory) -> AdminAPI:
    return AdminAPI(make_accounts(admin_key=ADMIN_KEY))


async def test_key_lifecycle(api: AdminAPI) -> None:
    status, created = await call(api, "POST", "/admin/keys", {
        "name": "alice", "project": "acme", "allowed_models": ["openai/gpt-4o"],
        "limits": {"rpm": 10, "budget_usd": 5, "budget_period": "daily"}, "tags": ["a"],
        "expires_at": "2099-01-01", "byok": {"openai": "sk-provider"}})
    assert status == 201
    key, key_id = created["key"], created["id"]
    assert key.startswith("sy-") and key_id.startswith("key_")
    assert created["byok_providers"] == ["openai"] and created["status"] == "active"
    assert created["expires_at"] == "2099-01-01T00:00:00Z" and created["created_by"] == "admin"
    auth = api.accounts.authenticator
    assert (await auth.authenticate(bearer(key))).key_id == key_id

    status, listed = await call(api, "GET", "/admin/keys")
    assert status == 200 and [k["id"] for k in listed["data"]] == [key_id]
    status, one = await call(api, "GET", f"/admin/keys/{key_id}")
    assert status == 200 and one["name"] == "alice"
    raw = await api.accounts.store.get_key(key_id)
    for body in (listed, one):
        text = msgspec.json.encode(body).decode()
        assert key not in text and raw.key_hash not in text and "sk-provider" not in text  # type: ignore[union-attr]
        assert "key_hash" not in text and '"key"' not in text and "v1." not in text

    status, patched = await call(api, "PATCH", f"/admin/keys/{key_id}", {
        "name": "alice2", "limits": {"tpm": 99}, "allowed_models": None, "tags": ["b"], "expires_at": None})
    assert status == 200 and patched["name"] == "alice2" and patched["allowed_models"] is None
    assert patched["limits"] == {"rpm": None, "tpm": 99, "budget_usd": None, "budget_period": "monthly"}
    assert patched["expires_at"] is None and patched["byok_providers"] == ["openai"]
    assert (await auth.authenticate(bearer(key))).limits.tpm == 99

    status, revoked = await call(api, "DELETE", f"/admin/keys/{key_id}")
    assert status == 200 and revoked["status"] == "revoked" and revoked["revoked_ids"] == [key_id]
    with pytest.raises(Exception):
        await auth.authenticate(bearer(key))
    status, body = await call(api, "PATCH", f"/admin/keys/{key_id}", {"name": "zombie"})
    assert_error(status, body, 400)


async def test_errors_are_openai_shaped(api: AdminAPI) -> None:
    assert_error(*await call(api, "GET", "/admin/keys/key_nope"), 404)
    assert_error(*await call(api, "POST", "/admin/keys", b"{not json"), 400)
    assert_error(*await call(api, "POST", "/admin/keys", {}), 400)  # name is required
    for smuggled in ({"key_hash": "0" * 64}, {"key": "sy-chosen"}, {"allowed_routes": ["/*"]},
                     {"created_by": "admin"}, {"limits": {"rpm": 1, "admin": True}}):
        status, body = await call(api, "POST", "/admin/keys", {"name": "x", **smuggled})
        assert_error(status, body, 400)
    for bad in ({"limits": {"rpm": 0}}, {"limits": {"budget_period": "weekly"}}, {"expires_at": "soon"},
                {"allowed_models": ["*"]}, {"name": ""}, {"tags": ["\n"]}):
        assert_error(*await call(api, "POST", "/admin/keys", {"name": "x", **bad}), 400)
    assert_error(*await call(api, "PUT", "/admin/keys/key_x"), 405)
    assert await api.handle(request("GET", "/v1/models")) is None


async def test_who_may_use_the_admin_api(api: AdminAPI) -> None:
    assert_error(*await call(api, "GET", "/admin/keys", headers={}), 401)
    assert_error(*await call(api, "GET", "/admin/keys", headers=bearer("wrong")), 401)
    assert_error(*await call(api, "GET", "/admin/keys", headers=bearer(ADMIN_KEY + "x")), 401)
    _, plain = await call(api, "POST", "/admin/keys", {"name": "plain"})
    assert_error(*await call(api, "GET", "/admin/keys", headers=bearer(plain["key"])), 403)
    assert_error(*await call(api, "POST", "/admin/keys", {"name": "x"}, headers=bearer(plain["key"])), 403)
    _, admin = await call(api, "POST", "/admin/keys", {"name": "ops", "is_admin": True})
    status, made = await call(api, "POST", "/admin/keys", {"name": "by-ops", "is_admin": True},
                              headers=bearer(admin["key"]))
    assert status == 201 and made["created_by"] == admin["id"] and made["is_admin"]
    await call(api, "DELETE", f"/admin/keys/{admin['id']}")  # revoked admin keys lose rights at once
    assert_error(*await call(api, "GET", "/admin/keys", headers=bearer(admin["key"])), 401)


async def test_open_mode_never_opens_the_admin_api(make_accounts: Factory) -> None:
    api = AdminAPI(make_accounts(require_auth=False))
    assert_error(*await call(api, "GET", "/admin/keys", headers={}), 401)
    assert_error(*await call(api, "GET", "/admin/keys", headers=bearer("unused")), 401)


async def test_projects(api: AdminAPI) -> None:
    status, p = await call(api, "POST", "/admin/projects", {"name": "acme", "limits": {"rpm": 60}})
    assert status == 200 and p["limits"]["rpm"] == 60
    status, listed = await call(api, "GET", "/admin/projects")
    assert [x["name"] for x in listed["data"]] == ["acme"]
    status, one = await call(api, "GET", "/admin/projects/acme")
    assert status == 200 and one["name"] == "acme"
    assert_error(*await call(api, "GET", "/admin/projects/none"), 404)
    _, key = await call(api, "POST", "/admin/keys", {"name": "k", "can_create_keys": True})
    for method, path in (("GET", "/admin/projects"), ("POST", "/admin/projects")):
        assert_error(*await call(api, method, path, {"name": "evil"}, headers=bearer(key["key"])), 403)


# ---- sub-keys: never more than the creator has ----

PARENT = {"name": "team", "project": "acme", "can_create_keys": True, "allowed_models": ["openai/gpt-4o", "anthropic/*"],
          "limits": {"rpm": 10, "tpm": 1000, "budget_usd": 5, "budget_period": "monthly"},
          "expires_at": "2090-01-01"}


@pytest.fixture
async def parent(api: AdminAPI) -> dict[str, Any]:
    status, body = await call(api, "POST", "/admin/keys", PARENT)
    assert status == 201
    return body


@pytest.mark.parametrize("child, param", [
    ({"is_admin": True}, "is_admin"),
    ({"project": "other"}, "project"),
    ({"allowed_models": ["groq/llama"]}, "allowed_models"),
    ({"allowed_models": ["openai/*"]}, "allowed_models"),  # wider than openai/gpt-4o
    ({"limits": {"rpm": 11}}, "limits.rpm"),
    ({"limits": {"tpm": 1001}}, "limits.tpm"),
    ({"limits": {"budget_usd": 5.01}}, "limits.budget_usd"),
    ({"limits": {"budget_usd": 1, "budget_period": "daily"}}, "limits.budget_period"),
    ({"expires_at": "2091-01-01"}, "expires_at"),
])
async def test_a_sub_key_cannot_exceed_its_creator(api: AdminAPI, parent: dict[str, Any], child: dict[str, Any],
                                                   param: str) -> None:
    status, body = await call(api, "POST", "/admin/keys", {"name": "sub", **child}, headers=bearer(parent["key"]))
    assert_error(status, body, 403)
    assert body["error"]["param"] == param and body["error"]["type"] == "permission_error"


async def test_a_sub_key_inherits_its_creators_scope(api: AdminAPI, parent: dict[str, Any]) -> None:
    status, sub = await call(api, "POST", "/admin/keys", {"name": "sub"}, headers=bearer(parent["key"]))
    assert status == 201
    assert sub["project"] == "acme" and sub["allowed_models"] == PARENT["allowed_models"]
    assert sub["limits"] == PARENT["limits"] and sub["expires_at"] == "2090-01-01T00:00:00Z"
    assert sub["created_by"] == parent["id"] and not sub["is_admin"]
    status, narrow = await call(api, "POST", "/admin/keys", {
        "name": "narrow", "allowed_models": ["anthropic/claude-sonnet-4"],
        "limits": {"rpm": 2, "budget_usd": 1, "budget_period": "total"}, "expires_at": "2080-01-01"},
        headers=bearer(parent["key"]))
    assert status == 201 and narrow["limits"]["tpm"] == 1000  # omitted: the creator's


async def test_sub_key_updates_and_visibility(api: AdminAPI, parent: dict[str, Any]) -> None:
    pk = bearer(parent["key"])
    _, sub = await call(api, "POST", "/admin/keys", {"name": "sub", "can_create_keys": True}, headers=pk)
    _, other = await call(api, "POST", "/admin/keys", {"name": "someone else's"})
    for patch in ({"is_admin": True}, {"limits": {"rpm": 100}}, {"allowed_models": ["groq/x"]},
                  {"expires_at": "2095-01-01"}):
        status, body = await call(api, "PATCH", f"/admin/keys/{sub['id']}", patch, headers=pk)
        assert_error(status, body, 403)
    status, body = await call(api, "PATCH", f"/admin/keys/{sub['id']}", {"limits": {"rpm": 3}}, headers=pk)
    assert status == 200 and body["limits"]["rpm"] == 3 and body["limits"]["tpm"] == 1000
    # only the keys it created: not another tenant's, not itself
    status, listed = await call(api, "GET", "/admin/keys", headers=pk)
    assert [k["id"] for k in listed["data"]] == [sub["id"]]
    for key_id in (other["id"], parent["id"]):
        for method, body in (("GET", None), ("PATCH", {"limits": {"rpm": 1000}}), ("DELETE", None)):
            assert_error(*await call(api, method, f"/admin/keys/{key_id}", body, headers=pk), 404)
    # grandchildren stay within the (narrowed) scope too, and revoking the parent revokes them all
    _, grand = await call(api, "POST", "/admin/keys", {"name": "grand"}, headers=bearer(sub["key"]))
    assert grand["limits"]["rpm"] == 3
    status, revoked = await call(api, "DELETE", f"/admin/keys/{parent['id']}")
    assert sorted(revoked["revoked_ids"]) == sorted([parent["id"], sub["id"], grand["id"]])
    assert_error(*await call(api, "POST", "/admin/keys", {"name": "x"}, headers=bearer(sub["key"])), 401)


async def test_service_level_grant_without_http(make_accounts: Factory) -> None:
    acc = make_accounts()
    rec, _ = await acc.create_key(ROOT, KeyCreate(name="p", can_create_keys=True, limits=LimitsIn(rpm=5)))
    from switchyard.accounts.principal import Principal
    actor = await acc.actor_for(Principal(key_id=rec.id))
    with pytest.raises(Exception) as e:
        await acc.create_key(actor, KeyCreate(name="c", limits=LimitsIn(rpm=6)))
    assert getattr(e.value, "status", None) == 403


def test_routes_merge_shape(tmp_path: Any) -> None:
    from switchyard.accounts.config import AccountsConfig
    from switchyard.accounts.service import Accounts

    class FakeApp:
        accounts = Accounts(AccountsConfig(database=f"sqlite:///{tmp_path}/x.sqlite3"), env={})
    r = routes(FakeApp())
    assert set(r) == {("POST", "/admin/keys"), ("GET", "/admin/keys"), ("POST", "/admin/projects"),
                      ("GET", "/admin/projects")}
    assert set(AdminAPI(FakeApp.accounts).prefix_routes()) == {"/admin/keys/", "/admin/projects/"}


async def test_narrowing_a_creator_narrows_its_sub_keys_at_once(api: AdminAPI, parent: dict[str, Any]) -> None:
    auth = api.accounts.authenticator
    await api.accounts.start()
    _, sub = await call(api, "POST", "/admin/keys", {"name": "sub", "can_create_keys": True},
                        headers=bearer(parent["key"]))
    _, grand = await call(api, "POST", "/admin/keys", {"name": "grand"}, headers=bearer(sub["key"]))
    p = await auth.authenticate(bearer(grand["key"]))
    assert p.ancestors == (parent["id"], sub["id"]) and p.limits.rpm == 10
    # the admin narrows the top key: every key under it is held within the new scope
    await call(api, "PATCH", f"/admin/keys/{parent['id']}", {
        "allowed_models": ["openai/gpt-4o"], "limits": {"rpm": 2, "tpm": 1000, "budget_usd": 1},
        "expires_at": "2070-01-01"})
    p = await auth.authenticate(bearer(grand["key"]))
    assert p.allowed_models == frozenset({"openai/gpt-4o"}) and p.limits.rpm == 2 and p.limits.budget_usd == 1
    entry = auth.cache.get(__import__("hashlib").sha256(grand["key"].encode()).hexdigest())
    assert entry is not None and entry.expires_at == parent_expiry("2070-01-01")
    # and what the middle key may still grant is its effective scope, not its own stale record
    status, body = await call(api, "POST", "/admin/keys", {"name": "g2", "limits": {"rpm": 5}},
                              headers=bearer(sub["key"]))
    assert_error(status, body, 403)
    status, g3 = await call(api, "POST", "/admin/keys", {"name": "g3"}, headers=bearer(sub["key"]))
    assert status == 201 and g3["limits"]["rpm"] == 2 and g3["allowed_models"] == ["openai/gpt-4o"]


def parent_expiry(day: str) -> float:
    from switchyard.accounts.keys import parse_time
    return parse_time(day)


async def test_keys_created_by_an_admin_key_outlive_it(api: AdminAPI) -> None:
    _, ops = await call(api, "POST", "/admin/keys", {"name": "ops", "is_admin": True})
    _, made = await call(api, "POST", "/admin/keys", {"name": "team", "limits": {"rpm": 1000}},
                         headers=bearer(ops["key"]))
    p = await api.accounts.authenticator.authenticate(bearer(made["key"]))
    assert p.ancestors == () and p.limits.rpm == 1000  # an admin's grant is not clamped
    _, revoked = await call(api, "DELETE", f"/admin/keys/{ops['id']}")
    assert revoked["revoked_ids"] == [ops["id"]]
    assert (await api.accounts.authenticator.authenticate(bearer(made["key"]))).key_id == made["id"]
