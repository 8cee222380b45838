"""Accounts: the store, the authenticator and the key operations the admin API and the CLI share.

    accounts = Accounts(config.accounts)        # AccountsConfig
    principal = await accounts.authenticator.authenticate(request.headers)
    ...
    await accounts.close()
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping

import msgspec

from switchyard.accounts.auth import Authenticator
from switchyard.accounts.cache import clamp, smaller
from switchyard.accounts.config import AccountsConfig
from switchyard.accounts.crypto import SecretBox, byok_context
from switchyard.accounts.inputs import KeyCreate, KeyPatch, LimitsIn, ProjectIn
from switchyard.accounts.keys import (
    KeyRecord,
    ProjectRecord,
    generate_key,
    hash_key,
    new_key_id,
    parse_time,
)
from switchyard.accounts.oidc import OIDCVerifier
from switchyard.accounts.policy import (
    check_grant,
    denied,
    intersect_models,
    validate_limits,
    validate_models,
)
from switchyard.accounts.principal import Limits, Principal
from switchyard.accounts.store import Store, open_store
from switchyard.errors import ErrorCategory, GatewayError, RequestError

log = logging.getLogger("switchyard.accounts")
UNSET = msgspec.UNSET


class Actor(msgspec.Struct, frozen=True):
    """Who performs a management operation: ``id`` becomes ``created_by`` of the keys it creates."""
    id: str
    is_admin: bool
    record: KeyRecord | None = None


ROOT = Actor(id="admin", is_admin=True)  # the admin key, and the CLI (it has the database itself)


def _not_found(key_id: str) -> GatewayError:
    return RequestError(f"No API key with id '{key_id}'.", param="id", status=404,
                        category=ErrorCategory.NOT_FOUND, code="key_not_found")


def _text(value: str, param: str, limit: int = 200) -> str:
    if not value or len(value) > limit or not value.isprintable():
        raise RequestError(f"{param} must be 1 to {limit} printable characters.", param=param)
    return value


def _inherit(creator: KeyRecord, limits: LimitsIn) -> Limits:
    """A non-admin's omitted limits are its own: "as much as I have", never more."""
    mine = creator.limits
    budget, period = limits.budget_usd, limits.budget_period
    if budget is None:
        budget, period = mine.budget_usd, period or mine.budget_period
    return Limits(rpm=limits.rpm if limits.rpm is not None else mine.rpm,
                  tpm=limits.tpm if limits.tpm is not None else mine.tpm,
                  budget_usd=budget, budget_period=period or mine.budget_period)


class Accounts:
    def __init__(self, config: AccountsConfig, store: Store | None = None,
                 env: Mapping[str, str] | None = None) -> None:
        self.config = config = config.with_env(env)
        self.store = store or open_store(config.database, config.schema)
        self.box = SecretBox(config.secret_key) if config.secret_key else None
        oidc = None
        if config.oidc:
            oidc = OIDCVerifier(config.oidc, projects=lambda name: self.authenticator.cache.project(name))
        self.authenticator = Authenticator(config, self.store, box=self.box, oidc=oidc)

    def __repr__(self) -> str:
        return f"Accounts({self.store!r})"

    async def start(self) -> None:
        await self.authenticator.start()

    async def close(self) -> None:
        await self.authenticator.close()
        await self.store.close()

    async def _changed(self) -> None:
        """After a write: this instance sees it at once (the others within refresh_interval)."""
        if self.authenticator._started:
            try:
                await self.authenticator.refresh()
            except Exception as e:  # noqa: BLE001 - the write itself succeeded
                log.warning("key cache refresh after a change failed (%s)", type(e).__name__)

    async def actor_for(self, principal: Principal) -> Actor:
        """The actor behind an authenticated principal; key-based actors are re-read from the store,
        so a revoked or demoted key loses its management rights at once, not after a refresh."""
        await self.store.init()
        if principal.key_id is None:
            if principal.is_admin:
                oidc = "oidc" in principal.tags
                return Actor(id=f"oidc:{principal.name}" if oidc else "admin", is_admin=True)
            raise denied("This credential cannot manage API keys.")
        rec = await self.store.get_key(principal.key_id)
        if rec is None or rec.status() != "active":
            raise GatewayError(ErrorCategory.AUTHENTICATION, "Invalid API key.", code="invalid_api_key")
        if rec.is_admin:
            return Actor(id=rec.id, is_admin=True, record=rec)
        if not rec.can_create_keys:
            raise denied("This API key cannot manage API keys.")
        entry = self.authenticator.cache.by_id(rec.id)
        if entry is not None:  # held within the keys it was created under, as at authentication
            if entry.revoked:
                raise GatewayError(ErrorCategory.AUTHENTICATION, "Invalid API key.", code="invalid_api_key")
            p = entry.principal
            models = intersect_models(rec.allowed_models, None if p.allowed_models is None else sorted(p.allowed_models))
            same = models is None or (rec.allowed_models is not None and models == frozenset(rec.allowed_models))
            rec = msgspec.structs.replace(rec, allowed_models=rec.allowed_models if same else sorted(models or ()),
                                          limits=clamp(rec.limits, p.limits),
                                          expires_at=smaller(rec.expires_at, entry.expires_at))
        return Actor(id=rec.id, is_admin=False, record=rec)

    # ---- keys ----

    def _byok(self, key_id: str, byok: dict[str, str]) -> dict[str, str]:
        if not byok:
            return {}
        if self.box is None:
            raise RequestError("Storing provider keys needs accounts.secret_key (SWITCHYARD_SECRET_KEY).",
                               param="byok")
        for slug, value in byok.items():
            _text(slug, "byok", 64)
            if not value or len(value) > 8192:
                raise RequestError("Each provider key must be 1 to 8192 characters.", param=f"byok.{slug}")
        return {slug: self.box.encrypt(value, byok_context(key_id, slug)) for slug, value in byok.items()}

    @staticmethod
    def _expiry(value: str | None, now: float) -> float | None:
        if value is None:
            return None
        try:
            ts = parse_time(value)
        except ValueError as e:
            raise RequestError(str(e), param="expires_at") from None
        if ts <= now:
            raise RequestError("expires_at must be in the future.", param="expires_at")
        return ts

    def _checked(self, actor: Actor, rec: KeyRecord) -> KeyRecord:
        _text(rec.name, "name")
        if rec.project is not None:
            _text(rec.project, "project")
        validate_models(rec.allowed_models)
        validate_limits(rec.limits)
        if len(rec.tags) > 50:
            raise RequestError("At most 50 tags.", param="tags")
        for tag in rec.tags:
            _text(tag, "tags", 100)
        if not actor.is_admin:
            assert actor.record is not None
            check_grant(actor.record, rec)
        return rec

    async def create_key(self, actor: Actor, spec: KeyCreate) -> tuple[KeyRecord, str]:
        """The new record and its key: the only time the key exists outside the caller's hands."""
        await self.store.init()
        now = time.time()
        key_id, secret = new_key_id(), generate_key()
        limits, project, models = spec.limits.to_limits(), spec.project, spec.allowed_models
        expires = self._expiry(spec.expires_at, now)
        if not actor.is_admin:
            creator = actor.record
            assert creator is not None
            limits = _inherit(creator, spec.limits)
            project = creator.project if project is None else project
            models = creator.allowed_models if models is None else models
            expires = creator.expires_at if expires is None else expires
        rec = self._checked(actor, KeyRecord(
            id=key_id, key_hash=hash_key(secret), name=spec.name, project=project, created_by=actor.id,
            allowed_models=models, limits=limits, tags=list(spec.tags), is_admin=spec.is_admin,
            can_create_keys=spec.can_create_keys, byok=self._byok(key_id, spec.byok), expires_at=expires,
            created_at=now, updated_at=now))
        await self.store.insert_key(rec)
        log.info("API key %s created by %s", rec.id, actor.id)
        await self._changed()
        return rec, secret

    async def get_key(self, actor: Actor, key_id: str) -> KeyRecord:
        await self.store.init()
        rec = await self.store.get_key(key_id)
        if rec is None or (not actor.is_admin and rec.created_by != actor.id):
            raise _not_found(key_id)  # another tenant's key does not exist, as far as you know
        return rec

    async def list_keys(self, actor: Actor) -> list[KeyRecord]:
        await self.store.init()
        return await self.store.list_keys(None if actor.is_admin else actor.id)

    async def update_key(self, actor: Actor, key_id: str, patch: KeyPatch) -> KeyRecord:
        rec = await self.get_key(actor, key_id)
        if rec.revoked_at is not None:
            raise RequestError("This API key is revoked.", param="id", code="key_revoked")
        changes: dict[str, object] = {"updated_at": time.time()}
        for field in ("name", "allowed_models", "tags", "is_admin", "can_create_keys"):
            value = getattr(patch, field)
            if value is not UNSET:
                changes[field] = value
        if patch.limits is not UNSET:
            changes["limits"] = patch.limits.to_limits()
        if patch.expires_at is not UNSET:
            changes["expires_at"] = self._expiry(patch.expires_at, time.time())
        if patch.byok is not UNSET:
            changes["byok"] = self._byok(rec.id, patch.byok or {})
        if not actor.is_admin:  # "omitted" (null) means the creator's own scope, as at creation
            creator = actor.record
            assert creator is not None
            if patch.limits is not UNSET:
                changes["limits"] = _inherit(creator, patch.limits)
            if changes.get("allowed_models", UNSET) is None:
                changes["allowed_models"] = creator.allowed_models
            if "expires_at" in changes and changes["expires_at"] is None:
                changes["expires_at"] = creator.expires_at
        new = self._checked(actor, msgspec.structs.replace(rec, **changes))
        if not await self.store.update_key(new):
            raise RequestError("This API key is revoked.", param="id", code="key_revoked")
        log.info("API key %s updated by %s", rec.id, actor.id)
        await self._changed()
        return new

    async def revoke_key(self, actor: Actor, key_id: str) -> tuple[KeyRecord, list[str]]:
        """Revoke the key and the sub-keys created under it (through non-admin keys); returns the key
        and the ids revoked now."""
        await self.get_key(actor, key_id)
        revoked = await self.store.revoke_key(key_id, time.time())
        log.info("API key %s revoked by %s (%d key(s) in all)", key_id, actor.id, len(revoked))
        await self._changed()
        return await self.get_key(actor, key_id), revoked

    # ---- projects (admins only) ----

    async def put_project(self, actor: Actor, spec: ProjectIn) -> ProjectRecord:
        await self.store.init()
        if not actor.is_admin:
            raise denied("Only an admin can manage projects.")
        _text(spec.name, "name")
        validate_models(spec.allowed_models)
        limits = spec.limits.to_limits()
        validate_limits(limits)
        now = time.time()
        old = await self.store.get_project(spec.name)
        rec = ProjectRecord(name=spec.name, limits=limits, allowed_models=spec.allowed_models,
                            created_at=old.created_at if old else now, updated_at=now)
        await self.store.put_project(rec)
        log.info("project %s saved by %s", spec.name, actor.id)
        await self._changed()
        return rec

    async def list_projects(self, actor: Actor) -> list[ProjectRecord]:
        await self.store.init()
        if not actor.is_admin:
            raise denied("Only an admin can manage projects.")
        return await self.store.list_projects()
