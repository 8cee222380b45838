"""Planning attempts: provider order, skipping with reasons, fallback models, and what cannot be served."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from switchyard.catalog import Catalog, load_catalog
from switchyard.config.model import RoutingConfig
from switchyard.errors import ErrorCategory, RequestError
from switchyard.routing.plan import Plan, RouteRequest, Skip, plan_route

NO_FILE = Path("/nonexistent/switchyard-models.yaml")

MODELS: dict[str, dict[str, Any]] = {
    "openai/gpt-4o": {
        "context_window": 128000, "max_output": 16384, "capabilities": ["tools", "vision", "json"],
        "pricing": {"input": 2.5, "output": 10},
        "providers": {
            "openai": {"id": "gpt-4o-2024-08-06"},
            "azure": {"id": "gpt-4o"},
            "openrouter": {"id": "openai/gpt-4o", "context_window": 64000},
        },
    },
    "meta/llama-3.3-70b": {
        "context_window": 131072, "max_output": 32768, "capabilities": ["tools", "json"],
        "providers": {
            "groq": {"id": "llama-3.3-70b-versatile", "max_output": 8192},
            "together": {"id": "meta-llama/Llama-3.3-70B-Instruct-Turbo", "capabilities": ["json"]},
            "cerebras": {"id": "llama-3.3-70b", "context_window": 8192},
        },
    },
    "mistral/mistral-small": {
        "context_window": 32768, "max_output": 8192, "capabilities": ["tools"],
        "providers": {"mistral": {"id": "mistral-small-latest"}},
    },
    "openai/text-embedding-3-small": {
        "type": "embedding", "context_window": 8191, "dimensions": 1536,
        "providers": {"openai": {"id": "text-embedding-3-small"}},
    },
}


@pytest.fixture
def catalog() -> Catalog:
    return load_catalog(MODELS, data_file=NO_FILE)


def plan(catalog: Catalog, routing: RoutingConfig | None = None, **req: Any) -> Plan:
    req.setdefault("model", "openai/gpt-4o")
    return plan_route(catalog, routing or RoutingConfig(), RouteRequest(**req))


def order(p: Plan) -> list[tuple[str, str]]:
    return [(c.model.id, c.offering.provider) for c in p.candidates]


def test_catalog_order_by_default(catalog: Catalog) -> None:
    p = plan(catalog)
    assert order(p) == [("openai/gpt-4o", "openai"), ("openai/gpt-4o", "azure"), ("openai/gpt-4o", "openrouter")]
    assert p.skipped == []
    assert p.models == ["openai/gpt-4o"]
    assert [c.fallback_index for c in p.candidates] == [0, 0, 0]
    assert p.candidates[0].offering.model_id == "gpt-4o-2024-08-06"


def test_request_order_puts_named_first_rest_keep_catalog_order(catalog: Catalog) -> None:
    p = plan(catalog, order=["openrouter"])
    assert [c.offering.provider for c in p.candidates] == ["openrouter", "openai", "azure"]
    p = plan(catalog, order=["openrouter", "azure"])
    assert [c.offering.provider for c in p.candidates] == ["openrouter", "azure", "openai"]
    # names of providers that do not serve the model are harmless
    p = plan(catalog, order=["bedrock", "azure"])
    assert [c.offering.provider for c in p.candidates] == ["azure", "openai", "openrouter"]


def test_config_order_per_model_and_star(catalog: Catalog) -> None:
    routing = RoutingConfig(order={"openai/gpt-4o": ["azure"], "*": ["together", "openrouter"]})
    assert [c.offering.provider for c in plan(catalog, routing).candidates] == ["azure", "openai", "openrouter"]
    p = plan(catalog, routing, model="meta/llama-3.3-70b")
    assert [c.offering.provider for c in p.candidates] == ["together", "groq", "cerebras"]


def test_request_order_before_config_order(catalog: Catalog) -> None:
    routing = RoutingConfig(order={"openai/gpt-4o": ["azure", "openrouter"]})
    p = plan(catalog, routing, order=["openrouter"])
    assert [c.offering.provider for c in p.candidates] == ["openrouter", "azure", "openai"]


def test_only(catalog: Catalog) -> None:
    p = plan(catalog, only=["azure", "openrouter"], order=["openrouter"])
    assert [c.offering.provider for c in p.candidates] == ["openrouter", "azure"]
    assert p.skipped == [Skip("openai/gpt-4o", "openai", "not in 'only'")]


def test_only_excludes_everything(catalog: Catalog) -> None:
    with pytest.raises(RequestError) as info:
        plan(catalog, only=["bedrock"])
    err = info.value
    assert err.category is ErrorCategory.INVALID_REQUEST
    assert err.code == "no_provider_available"
    assert err.param == "model"
    assert "not in 'only'" in err.message


def test_skip_missing_capability_with_reason(catalog: Catalog) -> None:
    p = plan(catalog, model="meta/llama-3.3-70b", needs=frozenset({"tools"}))
    assert [c.offering.provider for c in p.candidates] == ["groq", "cerebras"]
    assert p.skipped == [Skip("meta/llama-3.3-70b", "together", "does not support tools")]


def test_skip_reason_lists_every_missing_capability(catalog: Catalog) -> None:
    with pytest.raises(RequestError) as info:
        plan(catalog, model="mistral/mistral-small", needs=frozenset({"vision", "json", "tools"}))
    assert info.value.category is ErrorCategory.UNSUPPORTED
    assert "does not support json, vision" in info.value.message


def test_skip_context_window(catalog: Catalog) -> None:
    p = plan(catalog, est_input_tokens=70000)
    assert [c.offering.provider for c in p.candidates] == ["openai", "azure"]
    assert len(p.skipped) == 1
    s = p.skipped[0]
    assert (s.model, s.provider) == ("openai/gpt-4o", "openrouter")
    assert "context window 64000" in s.reason and "70000" in s.reason


def test_context_need_includes_max_tokens(catalog: Catalog) -> None:
    p = plan(catalog, est_input_tokens=60000, max_tokens=5000)
    assert [c.offering.provider for c in p.candidates] == ["openai", "azure"]
    assert "65000" in p.skipped[0].reason
    # exactly at the window is fine
    p = plan(catalog, est_input_tokens=60000, max_tokens=4000)
    assert len(p.candidates) == 3


def test_skip_max_output(catalog: Catalog) -> None:
    p = plan(catalog, model="meta/llama-3.3-70b", max_tokens=10000)
    assert [c.offering.provider for c in p.candidates] == ["together"]
    reasons = {s.provider: s.reason for s in p.skipped}
    assert reasons["groq"] == "max output 8192 is below max_tokens 10000"
    assert "context window 8192" in reasons["cerebras"]


def test_fallback_models_appended(catalog: Catalog) -> None:
    p = plan(catalog, fallbacks=("meta/llama-3.3-70b", "mistral/mistral-small"))
    assert order(p) == [
        ("openai/gpt-4o", "openai"), ("openai/gpt-4o", "azure"), ("openai/gpt-4o", "openrouter"),
        ("meta/llama-3.3-70b", "groq"), ("meta/llama-3.3-70b", "together"), ("meta/llama-3.3-70b", "cerebras"),
        ("mistral/mistral-small", "mistral"),
    ]
    assert p.models == ["openai/gpt-4o", "meta/llama-3.3-70b", "mistral/mistral-small"]
    assert [c.fallback_index for c in p.candidates] == [0, 0, 0, 1, 1, 1, 2]


def test_fallbacks_are_filtered_by_the_same_rules(catalog: Catalog) -> None:
    p = plan(catalog, fallbacks=("meta/llama-3.3-70b",), needs=frozenset({"vision"}))
    assert order(p) == [("openai/gpt-4o", "openai"), ("openai/gpt-4o", "azure"), ("openai/gpt-4o", "openrouter")]
    assert {s.provider for s in p.skipped} == {"groq", "together", "cerebras"}
    assert p.models == ["openai/gpt-4o", "meta/llama-3.3-70b"]


def test_unknown_fallback_is_skipped(catalog: Catalog) -> None:
    p = plan(catalog, fallbacks=("nobody/nothing", "mistral/mistral-small"))
    assert p.models == ["openai/gpt-4o", "mistral/mistral-small"]
    assert Skip("nobody/nothing", None, "not in the catalog or no configured provider serves it") in p.skipped
    assert order(p)[-1] == ("mistral/mistral-small", "mistral")


def test_fallback_of_another_type_is_skipped(catalog: Catalog) -> None:
    p = plan(catalog, fallbacks=("openai/text-embedding-3-small",))
    assert p.skipped == [Skip("openai/text-embedding-3-small", None, "is not a language model")]
    assert p.models == ["openai/gpt-4o"]


def test_duplicate_models_ignored(catalog: Catalog) -> None:
    p = plan(catalog, fallbacks=("mistral/mistral-small", "openai/gpt-4o", "mistral/mistral-small"))
    assert p.models == ["openai/gpt-4o", "mistral/mistral-small"]
    assert order(p).count(("mistral/mistral-small", "mistral")) == 1
    assert len(p.candidates) == 4
    assert p.skipped == []


def test_config_fallbacks_used_when_request_has_none(catalog: Catalog) -> None:
    routing = RoutingConfig(fallbacks={"openai/gpt-4o": ["mistral/mistral-small"]})
    assert plan(catalog, routing).models == ["openai/gpt-4o", "mistral/mistral-small"]
    # the request's own list replaces the configured one
    assert plan(catalog, routing, fallbacks=("meta/llama-3.3-70b",)).models == ["openai/gpt-4o",
                                                                                 "meta/llama-3.3-70b"]
    # an explicit mapping passed in wins over the config's
    p = plan_route(catalog, routing, RouteRequest("openai/gpt-4o"), {"openai/gpt-4o": ["meta/llama-3.3-70b"]})
    assert p.models == ["openai/gpt-4o", "meta/llama-3.3-70b"]


def test_only_applies_to_fallbacks_too(catalog: Catalog) -> None:
    p = plan(catalog, only=["openai", "mistral"], fallbacks=("mistral/mistral-small", "meta/llama-3.3-70b"))
    assert order(p) == [("openai/gpt-4o", "openai"), ("mistral/mistral-small", "mistral")]


def test_unknown_primary_is_model_not_found(catalog: Catalog) -> None:
    with pytest.raises(RequestError) as info:
        plan(catalog, model="openai/gpt-9", fallbacks=("openai/gpt-4o",))
    err = info.value
    assert err.status == 404
    assert err.category is ErrorCategory.MODEL_NOT_FOUND
    assert err.code == "model_not_found"
    assert err.param == "model"
    assert "openai/gpt-9" in err.message


def test_nothing_servable_for_capability_is_unsupported(catalog: Catalog) -> None:
    with pytest.raises(RequestError) as info:
        plan(catalog, model="meta/llama-3.3-70b", needs=frozenset({"vision"}))
    err = info.value
    assert err.category is ErrorCategory.UNSUPPORTED
    assert err.status == 400
    assert err.code == "no_provider_available"
    for provider in ("groq", "together", "cerebras"):
        assert f"meta/llama-3.3-70b via {provider}: does not support vision" in err.message


def test_nothing_servable_for_size_is_invalid_request(catalog: Catalog) -> None:
    with pytest.raises(RequestError) as info:
        plan(catalog, model="mistral/mistral-small", est_input_tokens=40000)
    assert info.value.category is ErrorCategory.INVALID_REQUEST
    assert "context window 32768" in info.value.message


def test_capability_on_the_offering_overrides_the_model(catalog: Catalog) -> None:
    together = catalog.get("meta/llama-3.3-70b").offering("together")  # type: ignore[union-attr]
    assert together is not None and together.capabilities == frozenset({"json"})
    groq = catalog.get("meta/llama-3.3-70b").offering("groq")  # type: ignore[union-attr]
    assert groq is not None and groq.capabilities == frozenset({"tools", "json"})
