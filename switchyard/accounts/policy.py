"""What a key may do: model access, and the rule that a key never grants more than its creator has.

Sub-keys: admins (the configured admin key, an ``is_admin`` API key, an OIDC admin) create any key.
A non-admin API key may create keys only when it has ``can_create_keys``, and then only inside its
own scope (cf. CVE-2026-47101):

- never ``is_admin``; same project as the creator;
- ``allowed_models`` a subset of the creator's (``creator/*`` patterns cover ``creator/<model>``);
- each of rpm, tpm and budget_usd at most the creator's (a creator limit forbids "unlimited");
- the budget period the creator's own or ``total`` (a budget that resets more often could spend more);
- ``expires_at`` no later than the creator's.

What a non-admin leaves out (project, models, a limit, expiry) is its own: "as much as I have".

The same rules apply when a non-admin updates one of its keys; it sees and manages only the keys it
created itself. Revoking or narrowing a non-admin key revokes or narrows every key created
under it (accounts.cache holds sub-keys within their creators' current scope at every request).
"""

from __future__ import annotations

from collections.abc import Iterable

from switchyard.accounts.keys import KeyRecord
from switchyard.accounts.principal import Limits, Principal
from switchyard.errors import ErrorCategory, GatewayError, RequestError

PERIODS = ("daily", "monthly", "total")


def denied(message: str, param: str | None = None, code: str = "insufficient_permissions") -> GatewayError:
    return GatewayError(ErrorCategory.PERMISSION, message, param=param, code=code)


def model_allowed(allowed: Iterable[str] | None, model_id: str) -> bool:
    if allowed is None:
        return True
    for pattern in allowed:
        if pattern == model_id or (pattern.endswith("/*") and model_id.startswith(pattern[:-1])):
            return True
    return False


def check_model(principal: Principal, model_id: str) -> None:
    """Raise 403 ``model_not_allowed`` unless ``principal`` may use ``model_id``."""
    if not model_allowed(principal.allowed_models, model_id):
        raise denied(f"This API key is not allowed to use the model '{model_id}'.", param="model",
                     code="model_not_allowed")


def intersect_models(a: list[str] | None, b: list[str] | None) -> frozenset[str] | None:
    """Models allowed by both lists (None: every model)."""
    if a is None and b is None:
        return None
    if a is None or b is None:
        return frozenset(a if b is None else b)  # type: ignore[arg-type]
    return frozenset([m for m in a if model_allowed(b, m)] + [m for m in b if model_allowed(a, m)])


def validate_limits(limits: Limits, param: str = "limits") -> None:
    for field in ("rpm", "tpm"):
        v = getattr(limits, field)
        if v is not None and (not isinstance(v, int) or isinstance(v, bool) or v < 1):
            raise RequestError(f"{field} must be a positive integer.", param=f"{param}.{field}")
    if limits.budget_usd is not None and not (0 <= limits.budget_usd < 1e12):
        raise RequestError("budget_usd must be zero or more.", param=f"{param}.budget_usd")
    if limits.budget_period not in PERIODS:
        raise RequestError(f"budget_period must be one of {', '.join(PERIODS)}.", param=f"{param}.budget_period")


def validate_models(models: list[str] | None, param: str = "allowed_models") -> None:
    if models is None:
        return
    if len(models) > 1000:
        raise RequestError("Too many models.", param=param)
    for m in models:
        if not m or len(m) > 200 or "*" in m[:-1] or (m.endswith("*") and not m.endswith("/*")):
            raise RequestError("Each model is a catalog id or a 'creator/*' pattern.", param=param)


def check_grant(creator: KeyRecord, child: KeyRecord) -> None:
    """Raise 403 unless a non-admin ``creator`` may hold a key like ``child`` under it."""
    if child.is_admin:
        raise denied("Only an admin can create or update admin keys.", "is_admin")
    if child.project != creator.project:
        raise denied("A key can only create keys in its own project.", "project")
    if creator.allowed_models is not None:
        if child.allowed_models is None:
            raise denied("allowed_models must be a subset of the creating key's models.", "allowed_models")
        for m in child.allowed_models:
            if not model_allowed(creator.allowed_models, m):
                raise denied(f"The creating key may not use '{m}', so it cannot grant it.", "allowed_models")
    mine, theirs = creator.limits, child.limits
    for field in ("rpm", "tpm", "budget_usd"):
        cap, v = getattr(mine, field), getattr(theirs, field)
        if cap is not None and (v is None or v > cap):
            raise denied(f"limits.{field} cannot exceed the creating key's ({cap}).", f"limits.{field}")
    if mine.budget_usd is not None and theirs.budget_period not in (mine.budget_period, "total"):
        raise denied(f"limits.budget_period must be '{mine.budget_period}' or 'total'.", "limits.budget_period")
    if creator.expires_at is not None and (child.expires_at is None or child.expires_at > creator.expires_at):
        raise denied("expires_at cannot be later than the creating key's.", "expires_at")
