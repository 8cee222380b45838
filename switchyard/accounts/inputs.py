"""Request bodies of the admin API (also built by the CLI). Unknown fields are rejected, so nothing
like ``key``, ``key_hash`` or ``allowed_routes`` can be smuggled into a record."""

from __future__ import annotations

import msgspec
from msgspec import UNSET, UnsetType

from switchyard.accounts.principal import Limits


class LimitsIn(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    rpm: int | None = None
    tpm: int | None = None
    budget_usd: float | None = None
    budget_period: str | None = None  # None: monthly (for a non-admin's key: its creator's period)

    def to_limits(self) -> Limits:
        return Limits(rpm=self.rpm, tpm=self.tpm, budget_usd=self.budget_usd,
                      budget_period=self.budget_period or "monthly")


class KeyCreate(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    name: str
    project: str | None = None
    allowed_models: list[str] | None = None  # None: every model (a non-admin's key: its creator's)
    limits: LimitsIn = LimitsIn()
    tags: list[str] = msgspec.field(default_factory=list)
    expires_at: str | None = None  # ISO 8601 date or date-time
    is_admin: bool = False
    can_create_keys: bool = False
    byok: dict[str, str] = msgspec.field(default_factory=dict)  # provider slug -> provider key

    def __repr__(self) -> str:
        return f"KeyCreate(name={self.name!r}, project={self.project!r})"


class KeyPatch(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    name: str | UnsetType = UNSET
    allowed_models: list[str] | None | UnsetType = UNSET
    limits: LimitsIn | UnsetType = UNSET  # replaces all four limits
    tags: list[str] | UnsetType = UNSET
    expires_at: str | None | UnsetType = UNSET
    is_admin: bool | UnsetType = UNSET
    can_create_keys: bool | UnsetType = UNSET
    byok: dict[str, str] | None | UnsetType = UNSET  # replaces every stored provider key; null clears

    def __repr__(self) -> str:
        return "KeyPatch(...)"


class ProjectIn(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    name: str
    limits: LimitsIn = LimitsIn()
    allowed_models: list[str] | None = None
