"""Plan the attempts for a request: which models, and which providers for each, in which order.

Planning never sends anything. A provider that cannot serve the request (context window too small,
no tool or image support, excluded by ``only``) is skipped here, with the reason kept for the
response's routing metadata.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Protocol

import msgspec

from switchyard.catalog import Catalog, CatalogModel, Offering
from switchyard.config.model import RoutingConfig
from switchyard.errors import ErrorCategory, RequestError


class RouteRequest(msgspec.Struct, frozen=True):
    """What routing needs to know about a request; front doors fill it without full translation."""

    model: str
    kind: str = "language"  # the catalog type the caller's endpoint needs: language | embedding
    fallbacks: Sequence[str] = ()
    order: Sequence[str] | None = None
    only: Sequence[str] | None = None
    needs: frozenset[str] = frozenset()  # capabilities: tools, vision, json
    est_input_tokens: int = 0  # an underestimate: we only skip what surely cannot fit
    max_tokens: int | None = None
    sort: str | None = None  # cost | ttft | tps (providerOptions.gateway.sort)


class HealthView(Protocol):
    """What routing needs from provider health (implemented by switchyard.health)."""

    def blocked(self, provider: str, model_id: str) -> str | None: ...

    def rank(self, offerings: Sequence[Offering], sort: str | None) -> list[Offering]: ...


class Candidate(msgspec.Struct, frozen=True):
    model: CatalogModel
    offering: Offering
    fallback_index: int  # 0 for the requested model, 1.. for fallback models


class Skip(msgspec.Struct, frozen=True):
    model: str
    provider: str | None
    reason: str


class Plan(msgspec.Struct):
    candidates: list[Candidate]
    skipped: list[Skip]
    models: list[str]  # the requested model then the usable fallbacks, in order


def _provider_order(model: CatalogModel, req: RouteRequest, routing: RoutingConfig,
                    health: HealthView | None) -> list[Offering]:
    offerings = list(model.offerings)
    if len(offerings) == 1:
        return offerings  # nothing to order
    preferred = routing.order.get(model.id) or routing.order.get("*") or ()
    if req.order:
        preferred = list(req.order) + [p for p in preferred if p not in req.order]
    if not preferred and health is not None:
        # No explicit order: healthiest first, then the sort policy, then load balancing.
        return health.rank(offerings, req.sort or routing.sort)
    if preferred:
        rank = {slug: i for i, slug in enumerate(preferred)}
        # Stable: providers not named keep their catalog order, after the named ones.
        offerings.sort(key=lambda o: rank.get(o.provider, len(rank)))
    return offerings


def _unfit(offering: Offering, req: RouteRequest) -> str | None:
    missing = req.needs - offering.capabilities
    if missing:
        return f"does not support {', '.join(sorted(missing))}"
    need = req.est_input_tokens + (req.max_tokens or 0)
    if offering.context_window and need > offering.context_window:
        return f"context window {offering.context_window} is smaller than the request (~{need} tokens)"
    if req.max_tokens and offering.max_output and req.max_tokens > offering.max_output:
        return f"max output {offering.max_output} is below max_tokens {req.max_tokens}"
    return None


def plan_route(catalog: Catalog, routing: RoutingConfig, req: RouteRequest,
               fallbacks_by_model: Mapping[str, Sequence[str]] | None = None,
               health: HealthView | None = None) -> Plan:
    primary = catalog.get(req.model)
    if primary is None:
        raise RequestError(f"The model '{req.model}' does not exist or no configured provider serves it.",
                           param="model", status=404, category=ErrorCategory.MODEL_NOT_FOUND,
                           code="model_not_found")
    if primary.type != req.kind:
        raise RequestError(f"The model '{req.model}' is a {primary.type} model; this endpoint needs a "
                           f"{req.kind} model.", param="model", code="model_type_mismatch")
    fallbacks = list(req.fallbacks) if req.fallbacks else list((fallbacks_by_model or routing.fallbacks)
                                                                .get(req.model, ()))
    candidates: list[Candidate] = []
    skipped: list[Skip] = []
    models: list[str] = []
    only = set(req.only) if req.only else None
    seen: set[str] = set()
    tripped: list[Candidate] = []  # open circuits: tried only if nothing else is left
    for index, model_id in enumerate([req.model, *fallbacks]):
        if model_id in seen:
            continue
        seen.add(model_id)
        model = primary if index == 0 else catalog.get(model_id)
        if model is None:
            skipped.append(Skip(model_id, None, "not in the catalog or no configured provider serves it"))
            continue
        if model.type != primary.type:
            skipped.append(Skip(model_id, None, f"is not a {primary.type} model"))
            continue
        models.append(model_id)
        for offering in _provider_order(model, req, routing, health):
            if only is not None and offering.provider not in only:
                skipped.append(Skip(model_id, offering.provider, "not in 'only'"))
                continue
            reason = _unfit(offering, req)
            if reason is not None:
                skipped.append(Skip(model_id, offering.provider, reason))
                continue
            blocked = health.blocked(offering.provider, offering.model_id) if health is not None else None
            if blocked is not None:
                skipped.append(Skip(model_id, offering.provider, blocked))
                tripped.append(Candidate(model, offering, index))
                continue
            candidates.append(Candidate(model, offering, index))
    if not candidates and tripped:
        candidates = tripped  # every usable provider is tripped: try them rather than fail unheard
    if not candidates:
        details = "; ".join(f"{s.model}" + (f" via {s.provider}" if s.provider else "") + f": {s.reason}"
                            for s in skipped) or "no providers"
        category = ErrorCategory.UNSUPPORTED if any("support" in s.reason for s in skipped) \
            else ErrorCategory.INVALID_REQUEST
        raise RequestError(f"No provider can serve this request for '{req.model}' ({details}).",
                           param="model", category=category, code="no_provider_available")
    return Plan(candidates=candidates, skipped=skipped, models=models)
