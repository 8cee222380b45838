"""The ``accounts:`` section of the configuration: where keys live, who is admin, OIDC issuers and
project limits.

    accounts:
      database: sqlite:///./data/switchyard.sqlite3     # or postgresql://user@host:5432/db
      schema: null                 # PostgreSQL only: schema holding the tables (default: search_path)
      admin_key: ${SWITCHYARD_ADMIN_KEY}                 # default: that variable, if set
      secret_key: ${SWITCHYARD_SECRET_KEY}               # encrypts BYOK provider keys at rest
      require_auth: null           # null: required once an admin key, an issuer or any API key exists
      refresh_interval: 5          # seconds: bound on how stale an instance's key cache may be
      oidc:
        - issuer: https://login.example.com/
          audience: switchyard
          project_claim: org_id
          admin_claim: roles
          admin_value: switchyard-admin
      projects:
        acme: {limits: {rpm: 600, budget_usd: 500, budget_period: monthly}}
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from typing import Any

import msgspec
import yaml

from switchyard.accounts.principal import Limits

SUPPORTED_ALGORITHMS = frozenset({"RS256", "ES256"})
DEFAULT_DATABASE = "sqlite:///./data/switchyard.sqlite3"
_SCHEMA = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")


class OIDCIssuerConfig(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    issuer: str
    audience: str | list[str]
    jwks_uri: str | None = None  # default: discovered from {issuer}/.well-known/openid-configuration
    algorithms: list[str] = msgspec.field(default_factory=lambda: ["RS256", "ES256"])
    leeway: float = 30.0  # seconds of clock skew tolerated on exp / nbf / iat
    project_claim: str | None = None  # claim naming the caller's project (e.g. org_id)
    default_project: str | None = None  # used when the claim is absent; otherwise such tokens get 403
    admin_claim: str | None = None  # claim granting admin: true, or equal to / containing admin_value
    admin_value: str | None = None
    name_claim: str = "sub"
    jwks_refresh_min_interval: float = 30.0  # unknown kid: re-fetch the JWKS at most this often
    jwks_max_age: float = 3600.0


class ProjectConfig(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    limits: Limits = Limits()
    allowed_models: list[str] | None = None


class AccountsConfig(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    database: str = DEFAULT_DATABASE
    schema: str | None = None
    admin_key: str | None = None
    secret_key: str | None = None
    require_auth: bool | None = None
    refresh_interval: float = 5.0
    # Each incremental refresh re-reads rows changed this long before the last one it saw, so that
    # writers' clock skew and slow transactions cannot hide a change; a full reload runs every
    # full_reload_interval seconds as a safety net.
    refresh_overlap: float = 60.0
    full_reload_interval: float = 300.0
    negative_ttl: float = 5.0  # an unknown key is looked up in the store at most once per this
    miss_lookups_per_second: float = 50.0  # store look-ups for unknown keys, per instance
    oidc: list[OIDCIssuerConfig] = msgspec.field(default_factory=list)
    projects: dict[str, ProjectConfig] = msgspec.field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.schema is not None and not _SCHEMA.match(self.schema):
            raise ValueError("accounts.schema must be a plain SQL identifier")
        if self.refresh_interval <= 0:
            raise ValueError("accounts.refresh_interval must be positive")
        for iss in self.oidc:
            bad = set(iss.algorithms) - SUPPORTED_ALGORITHMS
            if bad or not iss.algorithms:
                raise ValueError(f"accounts.oidc[{iss.issuer}].algorithms: only RS256 and ES256 are "
                                 f"accepted, not {sorted(bad)}")

    def with_env(self, env: Mapping[str, str] | None = None) -> AccountsConfig:
        """Fill admin_key / secret_key / database from SWITCHYARD_* variables when not configured."""
        env = os.environ if env is None else env
        return msgspec.structs.replace(
            self,
            admin_key=self.admin_key or env.get("SWITCHYARD_ADMIN_KEY") or None,
            secret_key=self.secret_key or env.get("SWITCHYARD_SECRET_KEY") or None,
            database=(env.get("SWITCHYARD_DATABASE_URL") or self.database)
            if self.database == DEFAULT_DATABASE else self.database)

    def __repr__(self) -> str:  # never print the admin key, the secret key or a database password
        return (f"AccountsConfig(database={redact_url(self.database)!r}, schema={self.schema!r}, "
                f"admin_key={'***' if self.admin_key else None}, "
                f"secret_key={'***' if self.secret_key else None}, require_auth={self.require_auth!r}, "
                f"refresh_interval={self.refresh_interval!r}, oidc={len(self.oidc)} issuer(s), "
                f"projects={sorted(self.projects)!r})")

    __str__ = __repr__


def redact_url(url: str) -> str:
    return re.sub(r"(://[^:/@]+):[^@/]*@", r"\1:***@", url)


def load_accounts_config(path: str | None, env: Mapping[str, str] | None = None) -> AccountsConfig:
    """The ``accounts`` section of a config file (same ``${VAR}`` interpolation as the rest)."""
    from switchyard.config.load import ConfigError, _interpolate

    env = os.environ if env is None else env
    raw: Any = {}
    if path is not None:
        try:
            with open(path, encoding="utf-8") as f:
                doc = yaml.safe_load(f) or {}
        except OSError as e:
            raise ConfigError(f"cannot read config file {path}: {e.strerror}") from None
        except yaml.YAMLError as e:
            raise ConfigError(f"config file {path} is not valid YAML: {e}") from None
        raw = (doc.get("accounts") if isinstance(doc, dict) else None) or {}
    try:
        cfg = msgspec.convert(_interpolate(raw, env, "accounts"), AccountsConfig, strict=False)
    except (msgspec.ValidationError, ValueError) as e:
        raise ConfigError(f"accounts: {e}") from None
    return cfg.with_env(env)
