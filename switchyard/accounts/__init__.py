"""Accounts: API keys, projects, OIDC, and the Principal every request runs as (issue #5).

The app builds one ``Accounts(config.accounts)`` and calls ``accounts.authenticator.authenticate``
per request; ``switchyard.api.admin`` serves the management endpoints; ``switchyard keys`` is the CLI.
Names are imported lazily, so ``switchyard.accounts.principal`` stays a light import.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "Accounts": "service", "Authenticator": "auth", "byok_from_gateway_options": "auth", "with_byok": "auth",
    "AccountsConfig": "config", "OIDCIssuerConfig": "config", "ProjectConfig": "config",
    "load_accounts_config": "config", "check_model": "policy", "ANONYMOUS": "principal",
    "Limits": "principal", "Principal": "principal",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'switchyard.accounts' has no attribute {name!r}")
    return getattr(importlib.import_module(f"switchyard.accounts.{module}"), name)
