"""Loading the catalog from a data file, merging config overrides and narrowing to enabled providers."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from switchyard.catalog import Catalog, Pricing, load_catalog
from switchyard.catalog.catalog import CatalogError, Offering
from switchyard.catalog.pricing import PriceTier

DATA = """
openai/gpt-4o:
  name: GPT-4o
  context_window: 128000
  max_output: 16384
  capabilities: [tools, vision, json]
  pricing: {input: 2.5, output: 10.0, cache_read: 1.25}
  providers:
    openai: {id: gpt-4o-2024-08-06}
    azure: {id: gpt-4o}
    openrouter: {id: openai/gpt-4o, context_window: 64000, pricing: {input: 3.0, output: 12.0}}

meta/llama-3.3-70b:
  context_window: 131072
  max_output: 32768
  capabilities: [tools, json]
  providers:
    groq: {id: llama-3.3-70b-versatile, max_output: 8192, pricing: {input: 0.59, output: 0.79}}
    together: {id: meta-llama/Llama-3.3-70B-Instruct-Turbo, capabilities: [json]}

openai/text-embedding-3-small:
  type: embedding
  context_window: 8191
  dimensions: 1536
  pricing: {input: 0.02}
  providers:
    openai: {id: text-embedding-3-small}
"""


@pytest.fixture
def data_file(tmp_path: Path) -> Path:
    path = tmp_path / "models.yaml"
    path.write_text(DATA, encoding="utf-8")
    return path


def catalog(data_file: Path, overrides: dict[str, Any] | None = None, enabled: Any = None) -> Catalog:
    return load_catalog(overrides, enabled=enabled, data_file=data_file)


def test_load(data_file: Path) -> None:
    c = catalog(data_file)
    assert len(c) == 3
    assert [m.id for m in c] == ["openai/gpt-4o", "meta/llama-3.3-70b", "openai/text-embedding-3-small"]
    m = c.get("openai/gpt-4o")
    assert m is not None
    assert (m.name, m.type, m.creator, m.context_window, m.max_output) == ("GPT-4o", "language", "openai",
                                                                          128000, 16384)
    assert m.capabilities == {"tools", "vision", "json"}
    assert m.pricing == Pricing(input=2.5, output=10.0, cache_read=1.25)
    assert [o.provider for o in m.offerings] == ["openai", "azure", "openrouter"]
    assert c.get("openai/gpt-5") is None


def test_offerings_inherit_and_override(data_file: Path) -> None:
    c = catalog(data_file)
    gpt = c.get("openai/gpt-4o")
    assert gpt is not None
    assert gpt.offering("openai") == Offering("openai", "gpt-4o-2024-08-06", 128000, 16384,
                                              frozenset({"tools", "vision", "json"}),
                                              Pricing(input=2.5, output=10.0, cache_read=1.25))
    orouter = gpt.offering("openrouter")
    assert orouter is not None
    assert orouter.context_window == 64000
    assert orouter.pricing == Pricing(input=3.0, output=12.0)  # replaces the whole pricing
    assert gpt.offering("bedrock") is None
    llama = c.get("meta/llama-3.3-70b")
    assert llama is not None
    groq, together = llama.offering("groq"), llama.offering("together")
    assert groq is not None and together is not None
    assert groq.max_output == 8192 and together.max_output == 32768
    assert together.capabilities == {"json"} and groq.capabilities == {"tools", "json"}
    assert llama.name == "meta/llama-3.3-70b"  # no name: the id
    assert together.pricing == Pricing()  # neither the model nor the provider has prices


def test_embedding_model(data_file: Path) -> None:
    m = catalog(data_file).get("openai/text-embedding-3-small")
    assert m is not None
    assert m.type == "embedding" and m.dimensions == 1536
    assert m.max_output is None


def test_overrides_merge_provider_by_provider(data_file: Path) -> None:
    c = catalog(data_file, {
        "openai/gpt-4o": {
            "max_output": 8000,
            "providers": {"azure": {"context_window": 32000}, "bedrock": {"id": "openai.gpt-4o"}},
        },
    })
    m = c.get("openai/gpt-4o")
    assert m is not None
    assert m.max_output == 8000
    assert m.context_window == 128000  # untouched fields keep the shipped value
    assert [o.provider for o in m.offerings] == ["openai", "azure", "openrouter", "bedrock"]
    azure = m.offering("azure")
    assert azure is not None
    assert azure.model_id == "gpt-4o"  # kept from the shipped entry
    assert azure.context_window == 32000
    assert azure.max_output == 8000  # inherits the overridden model value
    openai = m.offering("openai")
    assert openai is not None and openai.context_window == 128000


def test_override_replaces_non_provider_fields(data_file: Path) -> None:
    c = catalog(data_file, {"openai/gpt-4o": {"capabilities": ["tools"], "pricing": {"input": 1.0, "output": 2.0}}})
    m = c.get("openai/gpt-4o")
    assert m is not None
    assert m.capabilities == {"tools"}
    assert m.pricing == Pricing(input=1.0, output=2.0)  # cache_read is gone: the dict is replaced
    assert m.offering("azure").pricing == Pricing(input=1.0, output=2.0)  # type: ignore[union-attr]


def test_override_adds_a_model(data_file: Path) -> None:
    c = catalog(data_file, {"acme/private-7b": {
        "context_window": 8192, "capabilities": ["json"],
        "pricing": {"input": 0.1, "output": 0.2, "tiers": [{"above": 4096, "input": 0.2, "output": 0.4}]},
        "providers": {"local": {"id": "private-7b-q4"}}}})
    m = c.get("acme/private-7b")
    assert m is not None
    assert m.offerings[0].model_id == "private-7b-q4"
    assert m.pricing.tiers == [PriceTier(4096, 0.2, 0.4)]
    assert len(c) == 4


def test_empty_override_is_harmless(data_file: Path) -> None:
    assert catalog(data_file, {"openai/gpt-4o": {}}).get("openai/gpt-4o") == catalog(data_file).get("openai/gpt-4o")
    assert catalog(data_file, {"openai/gpt-4o": None}).get("openai/gpt-4o") is not None  # type: ignore[dict-item]


def test_overrides_do_not_leak_between_loads(data_file: Path) -> None:
    catalog(data_file, {"openai/gpt-4o": {"providers": {"azure": {"context_window": 1}}}})
    azure = catalog(data_file).get("openai/gpt-4o").offering("azure")  # type: ignore[union-attr]
    assert azure is not None and azure.context_window == 128000


def test_narrowing_to_enabled_providers(data_file: Path) -> None:
    c = catalog(data_file, enabled=["azure", "together"])
    assert [m.id for m in c] == ["openai/gpt-4o", "meta/llama-3.3-70b"]
    assert [o.provider for o in c.get("openai/gpt-4o").offerings] == ["azure"]  # type: ignore[union-attr]
    assert [o.provider for o in c.get("meta/llama-3.3-70b").offerings] == ["together"]  # type: ignore[union-attr]
    assert c.get("openai/text-embedding-3-small") is None  # no enabled provider serves it
    assert len(catalog(data_file, enabled=[])) == 0
    assert len(catalog(data_file, enabled={"openai": object()}.keys())) == 2


def test_disabled_provider_entries_are_not_validated(data_file: Path) -> None:
    c = catalog(data_file, {"x/y": {"providers": {"elsewhere": {"context_window": 5}}}}, enabled=["openai"])
    assert c.get("x/y") is None


def test_missing_data_file_means_overrides_only(tmp_path: Path) -> None:
    c = load_catalog({"a/b": {"providers": {"p": {"id": "b"}}}}, data_file=tmp_path / "absent.yaml")
    assert [m.id for m in c] == ["a/b"]


@pytest.mark.parametrize("override,where", [
    ({"capabilities": ["tools", "telepathy"]}, "models.openai/gpt-4o.capabilities"),
    ({"providers": {"azure": {"capabilities": ["vision", "smell"]}}}, "models.openai/gpt-4o.providers.azure.capabilities"),
])
def test_unknown_capability(data_file: Path, override: dict[str, Any], where: str) -> None:
    with pytest.raises(CatalogError) as info:
        catalog(data_file, {"openai/gpt-4o": override})
    msg = str(info.value)
    assert msg.startswith(where)
    assert "telepathy" in msg or "smell" in msg


def test_provider_id_required(data_file: Path) -> None:
    with pytest.raises(CatalogError) as info:
        catalog(data_file, {"acme/m": {"providers": {"local": {"context_window": 10}}}})
    assert "models.acme/m.providers.local" in str(info.value)
    assert "'id'" in str(info.value)


def test_ids_are_creator_slash_model(data_file: Path) -> None:
    with pytest.raises(CatalogError) as info:
        catalog(data_file, {"gpt-4o": {"providers": {"openai": {"id": "gpt-4o"}}}})
    assert "creator/model" in str(info.value)


@pytest.mark.parametrize("pricing,where", [
    ({"input": "cheap"}, "models.acme/m.pricing"),
    ({"tiers": [{"input": 1.0, "output": 1.0}]}, "models.acme/m.pricing"),
])
def test_bad_pricing(data_file: Path, pricing: dict[str, Any], where: str) -> None:
    with pytest.raises(CatalogError) as info:
        catalog(data_file, {"acme/m": {"pricing": pricing, "providers": {"p": {"id": "m"}}}})
    assert str(info.value).startswith(where)


def test_bad_provider_pricing(data_file: Path) -> None:
    with pytest.raises(CatalogError) as info:
        catalog(data_file, {"acme/m": {"providers": {"p": {"id": "m", "pricing": {"output": [1]}}}}})
    assert str(info.value).startswith("models.acme/m.providers.p.pricing")


@pytest.mark.parametrize("entry,where", [
    ({"context_window": "lots", "providers": {"p": {"id": "m"}}}, "models.acme/m"),
    ({"providers": {"p": {"id": "m", "context_window": "big"}}}, "models.acme/m.providers.p"),
    ({"max_output": [1], "providers": {"p": {"id": "m"}}}, "models.acme/m.max_output"),
    ({"providers": {"p": {"id": "m", "max_output": "x"}}}, "models.acme/m.providers.p.max_output"),
])
def test_bad_numbers_are_catalog_errors(data_file: Path, entry: dict[str, Any], where: str) -> None:
    with pytest.raises(CatalogError) as info:
        catalog(data_file, {"acme/m": entry})
    assert str(info.value).startswith(where)


def test_top_level_must_be_a_mapping(tmp_path: Path) -> None:
    path = tmp_path / "models.yaml"
    path.write_text("- a\n- b\n", encoding="utf-8")
    with pytest.raises(CatalogError):
        load_catalog(data_file=path)


def test_shipped_catalog_loads() -> None:
    c = load_catalog()
    assert len(c) > 0
    for m in c:
        assert "/" in m.id and m.offerings


def test_numbers_as_strings_from_interpolated_config(data_file: Path) -> None:
    m = catalog(data_file, {"acme/m": {"context_window": "8192",
                                       "providers": {"p": {"id": "m", "max_output": "1024"}}}}).get("acme/m")
    assert m is not None
    assert m.context_window == 8192
    assert m.offerings[0].context_window == 8192 and m.offerings[0].max_output == 1024
