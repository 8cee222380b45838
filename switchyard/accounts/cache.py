"""Every instance's in-memory copy of the key table: key hash -> Entry (record, Principal), and projects.

Filled by ``Authenticator.refresh`` (a full load at start, then rows changed since the last refresh),
so the request path never waits on the database for a known key. Revoked and expired keys stay in
the cache, so they are rejected without a database round trip too.

Effective scope: a key created by a non-admin key is held, at every request, within its creator's
*current* scope (models intersected, limits the smaller, expiry the earlier, revoked if the creator
is), recursively. So narrowing or revoking a key narrows or revokes everything created under it,
even after the fact. Keys created by admins stand on their own.
"""

from __future__ import annotations

from collections.abc import Iterable

import msgspec

from switchyard.accounts.config import ProjectConfig
from switchyard.accounts.keys import KeyRecord, ProjectRecord
from switchyard.accounts.policy import intersect_models
from switchyard.accounts.principal import Limits, Principal

_MAX_DEPTH = 64


class Entry:
    __slots__ = ("record", "principal", "expires_at", "revoked")

    def __init__(self, record: KeyRecord, principal: Principal, expires_at: float | None, revoked: bool) -> None:
        self.record = record
        self.principal = principal  # never holds BYOK keys: those are decrypted per request
        self.expires_at = expires_at  # the earliest along the chain of creators
        self.revoked = revoked  # this key or one of its (non-admin) creators is revoked

    def __repr__(self) -> str:
        return f"Entry({self.record!r})"


def smaller(a: int | float | None, b: int | float | None) -> int | float | None:
    return b if a is None else a if b is None else min(a, b)


def clamp(own: Limits, cap: Limits) -> Limits:
    return msgspec.structs.replace(own, rpm=smaller(own.rpm, cap.rpm), tpm=smaller(own.tpm, cap.tpm),
                                   budget_usd=smaller(own.budget_usd, cap.budget_usd))


class KeyCache:
    def __init__(self, config_projects: dict[str, ProjectConfig] | None = None) -> None:
        self._by_hash: dict[str, Entry] = {}
        self._by_id: dict[str, Entry] = {}
        self._children: dict[str, set[str]] = {}  # creator id -> ids of the keys it created
        self._projects: dict[str, ProjectRecord] = {}  # from the store; they override config
        self._config_projects = config_projects or {}
        self.key_mark = float("-inf")  # the newest updated_at seen
        self.project_mark = float("-inf")

    def __len__(self) -> int:
        return len(self._by_hash)

    def __repr__(self) -> str:
        return f"KeyCache({len(self)} keys, {len(self._projects)} projects)"

    def get(self, key_hash: str) -> Entry | None:
        return self._by_hash.get(key_hash)

    def by_id(self, key_id: str) -> Entry | None:
        return self._by_id.get(key_id)

    def project(self, name: str) -> tuple[Limits, frozenset[str] | None] | None:
        found: ProjectRecord | ProjectConfig | None = self._projects.get(name) or self._config_projects.get(name)
        if found is None:
            return None
        models = found.allowed_models
        return found.limits, None if models is None else frozenset(models)

    def _entry(self, rec: KeyRecord) -> Entry:
        project_limits, project_models = Limits(), None
        if rec.project is not None:
            found = self.project(rec.project)
            if found is not None:
                project_limits, project_models = found
        models = intersect_models(rec.allowed_models, None if project_models is None else sorted(project_models))
        limits, expires, revoked, ancestors = rec.limits, rec.expires_at, rec.revoked_at is not None, ()
        creator = self._by_id.get(rec.created_by)
        if creator is not None and not creator.record.is_admin:
            cp = creator.principal
            cm = None if cp.allowed_models is None else sorted(cp.allowed_models)
            models = intersect_models(None if models is None else sorted(models), cm)
            limits = clamp(limits, cp.limits)
            expires = smaller(expires, creator.expires_at)
            revoked = revoked or creator.revoked
            ancestors = (*cp.ancestors, creator.record.id)
        principal = Principal(key_id=rec.id, project=rec.project, name=rec.name, allowed_models=models,
                              limits=limits, project_limits=project_limits, tags=tuple(rec.tags),
                              is_admin=rec.is_admin, ancestors=ancestors)
        return Entry(rec, principal, expires, revoked)

    def _depth(self, key_id: str) -> int:
        depth, rec = 0, self._by_id[key_id].record
        while rec.created_by in self._by_id and depth < _MAX_DEPTH:
            depth, rec = depth + 1, self._by_id[rec.created_by].record
        return depth

    def put_keys(self, records: Iterable[KeyRecord]) -> None:
        changed: list[str] = []
        for rec in records:
            current = self._by_id.get(rec.id)
            if current is not None and current.record.updated_at > rec.updated_at:
                continue  # an older read of this row (a slow look-up racing a refresh)
            # placeholder entry so the chain is known; rebuilt below, creators first
            self._by_id[rec.id] = self._by_hash[rec.key_hash] = Entry(rec, Principal(key_id=rec.id), None, True)
            self._children.setdefault(rec.created_by, set()).add(rec.id)
            self.key_mark = max(self.key_mark, rec.updated_at)
            changed.append(rec.id)
        affected, stack = set(), changed
        while stack:  # the changed keys and every key created under them
            key_id = stack.pop()
            if key_id not in affected:
                affected.add(key_id)
                stack.extend(self._children.get(key_id, ()))
        for key_id in sorted(affected, key=self._depth):
            entry = self._entry(self._by_id[key_id].record)
            self._by_id[key_id] = self._by_hash[entry.record.key_hash] = entry

    def put_projects(self, records: Iterable[ProjectRecord]) -> None:
        changed = set()
        for p in records:
            self._projects[p.name] = p
            self.project_mark = max(self.project_mark, p.updated_at)
            changed.add(p.name)
        if changed:  # keys of a changed project carry its limits: rebuild their principals
            self.put_keys([e.record for e in list(self._by_id.values()) if e.record.project in changed])
