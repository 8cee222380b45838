"""Where keys and projects live: one small interface, two backends (SQLite, PostgreSQL).

Every statement is written once here with ``?`` placeholders and only ever receives values as
parameters (never formatted into the SQL); the PostgreSQL backend renumbers them to ``$n``. The only
thing formatted into SQL is the table name, built from a validated identifier.
"""

from __future__ import annotations

import re
from typing import Any, Protocol

import msgspec

from switchyard.accounts.keys import KeyRecord, ProjectRecord
from switchyard.accounts.principal import Limits

KEY_COLUMNS = ("id", "key_hash", "name", "project", "created_by", "allowed_models", "limits", "tags",
               "is_admin", "can_create_keys", "byok", "expires_at", "revoked_at", "created_at",
               "updated_at")
PROJECT_COLUMNS = ("name", "limits", "allowed_models", "created_at", "updated_at")
_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")


class Store(Protocol):
    async def init(self) -> None: ...
    async def close(self) -> None: ...
    async def insert_key(self, rec: KeyRecord) -> None: ...
    async def update_key(self, rec: KeyRecord) -> bool: ...
    async def get_key(self, key_id: str) -> KeyRecord | None: ...
    async def get_key_by_hash(self, key_hash: str) -> KeyRecord | None: ...
    async def list_keys(self, created_by: str | None = None) -> list[KeyRecord]: ...
    async def keys_changed_since(self, ts: float) -> list[KeyRecord]: ...
    async def revoke_key(self, key_id: str, now: float) -> list[str]: ...
    async def put_project(self, project: ProjectRecord) -> None: ...
    async def get_project(self, name: str) -> ProjectRecord | None: ...
    async def list_projects(self) -> list[ProjectRecord]: ...
    async def projects_changed_since(self, ts: float) -> list[ProjectRecord]: ...


class SQL:
    """The statements, for tables ``<prefix>api_keys`` and ``<prefix>projects`` in ``schema``."""

    def __init__(self, schema: str | None = None, prefix: str = "sy_") -> None:
        for part in (schema, prefix + "x"):
            if part is not None and not _IDENT.match(part):
                raise ValueError("schema and table prefix must be plain SQL identifiers")
        q = f'"{schema}".' if schema else ""
        keys, projects = f"{q}{prefix}api_keys", f"{q}{prefix}projects"
        cols, pcols = ", ".join(KEY_COLUMNS), ", ".join(PROJECT_COLUMNS)
        self.create = [
            f"CREATE TABLE IF NOT EXISTS {keys} (id TEXT PRIMARY KEY, key_hash TEXT NOT NULL UNIQUE, "
            "name TEXT NOT NULL, project TEXT, created_by TEXT NOT NULL, allowed_models TEXT, "
            "limits TEXT NOT NULL, tags TEXT NOT NULL, is_admin BOOLEAN NOT NULL, "
            "can_create_keys BOOLEAN NOT NULL, byok TEXT NOT NULL, expires_at DOUBLE PRECISION, "
            "revoked_at DOUBLE PRECISION, created_at DOUBLE PRECISION NOT NULL, "
            "updated_at DOUBLE PRECISION NOT NULL)",
            f"CREATE INDEX IF NOT EXISTS {prefix}api_keys_updated ON {keys} (updated_at)",
            f"CREATE INDEX IF NOT EXISTS {prefix}api_keys_created_by ON {keys} (created_by)",
            f"CREATE TABLE IF NOT EXISTS {projects} (name TEXT PRIMARY KEY, limits TEXT NOT NULL, "
            "allowed_models TEXT, created_at DOUBLE PRECISION NOT NULL, "
            "updated_at DOUBLE PRECISION NOT NULL)",
        ]
        self.insert_key = f"INSERT INTO {keys} ({cols}) VALUES ({', '.join('?' * len(KEY_COLUMNS))})"
        self.update_key = (f"UPDATE {keys} SET name = ?, allowed_models = ?, limits = ?, tags = ?, "
                           "is_admin = ?, can_create_keys = ?, byok = ?, expires_at = ?, updated_at = ? "
                           "WHERE id = ? AND revoked_at IS NULL")
        self.get_key = f"SELECT {cols} FROM {keys} WHERE id = ?"
        self.get_key_by_hash = f"SELECT {cols} FROM {keys} WHERE key_hash = ?"
        self.list_keys = f"SELECT {cols} FROM {keys} ORDER BY id"
        self.list_keys_by = f"SELECT {cols} FROM {keys} WHERE created_by = ? ORDER BY id"
        self.keys_since = f"SELECT {cols} FROM {keys} WHERE updated_at > ? ORDER BY updated_at"
        # Revoking a key revokes every key created under it by non-admin keys, recursively (keys
        # an admin key created stand on their own, like those created with the admin key).
        self.revoke = (f"WITH RECURSIVE tree(id, admin) AS (SELECT id, is_admin FROM {keys} WHERE id = ? "
                       f"UNION SELECT k.id, k.is_admin FROM {keys} k JOIN tree ON k.created_by = tree.id "
                       "WHERE NOT tree.admin) "
                       f"UPDATE {keys} SET revoked_at = ?, updated_at = ? "
                       "WHERE revoked_at IS NULL AND id IN (SELECT id FROM tree) RETURNING id")
        self.put_project = (f"INSERT INTO {projects} ({pcols}) VALUES (?, ?, ?, ?, ?) "
                            "ON CONFLICT (name) DO UPDATE SET limits = excluded.limits, "
                            "allowed_models = excluded.allowed_models, updated_at = excluded.updated_at")
        self.get_project = f"SELECT {pcols} FROM {projects} WHERE name = ?"
        self.list_projects = f"SELECT {pcols} FROM {projects} ORDER BY name"
        self.projects_since = f"SELECT {pcols} FROM {projects} WHERE updated_at > ? ORDER BY updated_at"


def _json(value: Any) -> str | None:
    return None if value is None else msgspec.json.encode(value).decode("utf-8")


def key_row(rec: KeyRecord) -> tuple[Any, ...]:
    return (rec.id, rec.key_hash, rec.name, rec.project, rec.created_by, _json(rec.allowed_models),
            _json(rec.limits), _json(rec.tags), rec.is_admin, rec.can_create_keys, _json(rec.byok),
            rec.expires_at, rec.revoked_at, rec.created_at, rec.updated_at)


def key_update_args(rec: KeyRecord) -> tuple[Any, ...]:
    return (rec.name, _json(rec.allowed_models), _json(rec.limits), _json(rec.tags), rec.is_admin,
            rec.can_create_keys, _json(rec.byok), rec.expires_at, rec.updated_at, rec.id)


def key_from_row(row: Any) -> KeyRecord:
    (id_, key_hash, name, project, created_by, models, limits, tags, is_admin, can_create, byok,
     expires_at, revoked_at, created_at, updated_at) = tuple(row)
    return KeyRecord(
        id=id_, key_hash=key_hash, name=name, project=project, created_by=created_by,
        allowed_models=None if models is None else msgspec.json.decode(models, type=list[str]),
        limits=msgspec.json.decode(limits, type=Limits), tags=msgspec.json.decode(tags, type=list[str]),
        is_admin=bool(is_admin), can_create_keys=bool(can_create),
        byok=msgspec.json.decode(byok, type=dict[str, str]), expires_at=expires_at,
        revoked_at=revoked_at, created_at=created_at, updated_at=updated_at)


def project_row(p: ProjectRecord) -> tuple[Any, ...]:
    return (p.name, _json(p.limits), _json(p.allowed_models), p.created_at, p.updated_at)


def project_from_row(row: Any) -> ProjectRecord:
    name, limits, models, created_at, updated_at = tuple(row)
    return ProjectRecord(name=name, limits=msgspec.json.decode(limits, type=Limits),
                         allowed_models=None if models is None else msgspec.json.decode(models, type=list[str]),
                         created_at=created_at, updated_at=updated_at)


def open_store(url: str, schema: str | None = None) -> Store:
    """``sqlite:///relative/path``, ``sqlite:////absolute/path``, ``sqlite:///:memory:`` or
    ``postgresql://...`` (``postgres://`` too)."""
    if url.startswith("sqlite:///"):
        from switchyard.accounts.store_sqlite import SQLiteStore
        return SQLiteStore(url[len("sqlite:///"):])
    if url.startswith(("postgresql://", "postgres://")):
        from switchyard.accounts.store_pg import PostgresStore
        return PostgresStore(url, schema=schema)
    raise ValueError("accounts.database must start with sqlite:/// or postgresql://")
