"""Who is calling, and what they may do: the value authentication produces and quotas consume.

Built by ``accounts.auth`` from an API key or an OIDC token; carried on the GenerationRecord so that
usage is attributed and settled. Never holds a secret in clear except ``byok`` provider keys, which
live only for the request.
"""

from __future__ import annotations

import msgspec


class Limits(msgspec.Struct, frozen=True):
    rpm: int | None = None  # requests per minute
    tpm: int | None = None  # tokens (input + output) per minute
    budget_usd: float | None = None  # spend allowed per period
    budget_period: str = "monthly"  # daily | monthly | total


class Principal(msgspec.Struct, frozen=True):
    key_id: str | None  # the API key's id (never the key), or None for OIDC / open access
    project: str | None = None
    name: str | None = None
    allowed_models: frozenset[str] | None = None  # None: every model
    limits: Limits = Limits()
    project_limits: Limits = Limits()
    tags: tuple[str, ...] = ()
    is_admin: bool = False
    # Bring-your-own provider keys for this request only: provider slug -> key. Never stored or logged.
    byok: dict[str, str] = msgspec.field(default_factory=dict)
    # Ids of the non-admin keys this key was created under, outermost first. Its scope is already
    # held within theirs; quotas may also charge its usage to them (N sub-keys, one creator budget).
    ancestors: tuple[str, ...] = ()

    def __repr__(self) -> str:  # byok keys must never reach a log line
        return f"Principal(key_id={self.key_id!r}, project={self.project!r})"

    __str__ = __repr__


ANONYMOUS = Principal(key_id=None)
