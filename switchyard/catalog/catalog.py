"""The model catalog: which models exist, which providers serve each, and at what limits and prices.

The shipped data (``data/models.yaml``) is merged with the config's ``models`` section (a config entry
overrides fields of a shipped one, provider by provider) and then narrowed to the providers that are
configured: a model no configured provider serves is not in the catalog.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import msgspec
import yaml

from switchyard.catalog.pricing import Pricing

DATA_FILE = Path(__file__).parent / "data" / "models.yaml"

CAPABILITIES = frozenset({"tools", "vision", "json", "reasoning", "caching", "audio", "pdf"})


class Offering(msgspec.Struct, frozen=True):
    """One provider's way of serving a catalog model."""

    provider: str
    model_id: str  # the provider's own id
    context_window: int
    max_output: int | None
    capabilities: frozenset[str]
    pricing: Pricing


class CatalogModel(msgspec.Struct, frozen=True):
    id: str  # creator/model
    name: str
    type: str  # language | embedding
    context_window: int
    max_output: int | None
    capabilities: frozenset[str]
    pricing: Pricing
    offerings: tuple[Offering, ...]
    dimensions: int | None = None

    @property
    def creator(self) -> str:
        return self.id.split("/", 1)[0]

    def offering(self, provider: str) -> Offering | None:
        for o in self.offerings:
            if o.provider == provider:
                return o
        return None


class CatalogError(ValueError):
    pass


class Catalog:
    def __init__(self, models: Mapping[str, CatalogModel]) -> None:
        self.models = dict(models)

    def get(self, model_id: str) -> CatalogModel | None:
        return self.models.get(model_id)

    def __len__(self) -> int:
        return len(self.models)

    def __iter__(self) -> Iterable[CatalogModel]:  # type: ignore[override]
        return iter(self.models.values())


def _load_yaml(path: Path) -> dict[str, Any]:
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    with open(path, encoding="utf-8") as f:
        data = yaml.load(f, Loader=loader) or {}
    if not isinstance(data, dict):
        raise CatalogError(f"{path}: top level must be a mapping")
    return data


def _merge(base: dict[str, Any] | None, override: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base or {})
    for key, value in override.items():
        if key == "providers" and isinstance(value, dict):
            providers = dict(merged.get("providers") or {})
            for slug, p in value.items():
                providers[slug] = {**(providers.get(slug) or {}), **(p or {})}
            merged["providers"] = providers
        else:
            merged[key] = value
    return merged


def _pricing(raw: Any, where: str) -> Pricing:
    try:
        return msgspec.convert(raw or {}, Pricing)
    except msgspec.ValidationError as e:
        raise CatalogError(f"{where}.pricing: {e}") from None


def _caps(raw: Any, where: str) -> frozenset[str]:
    caps = frozenset(raw or ())
    unknown = caps - CAPABILITIES
    if unknown:
        raise CatalogError(f"{where}.capabilities: unknown {sorted(unknown)}")
    return caps


def _tokens(value: Any, where: str, key: str) -> int | None:
    """A token count (context_window, max_output): a positive integer, or None when absent."""
    if value is None:
        return None
    try:
        return int(value)  # "8192" too: config values may come from ${VAR} interpolation
    except (TypeError, ValueError):
        raise CatalogError(f"{where}.{key}: expected a number of tokens, got {value!r}") from None


def _build(model_id: str, raw: dict[str, Any], enabled: set[str] | None) -> CatalogModel | None:
    where = f"models.{model_id}"
    if "/" not in model_id:
        raise CatalogError(f"{where}: ids are creator/model")
    mtype = raw.get("type", "language")
    ctx = _tokens(raw.get("context_window"), where, "context_window") or 0
    max_out = _tokens(raw.get("max_output"), where, "max_output")
    caps = _caps(raw.get("capabilities"), where)
    pricing = _pricing(raw.get("pricing"), where)
    offerings = []
    for slug, p in (raw.get("providers") or {}).items():
        if enabled is not None and slug not in enabled:
            continue
        p = p or {}
        if "id" not in p:
            raise CatalogError(f"{where}.providers.{slug}: 'id' (the provider's model id) is required")
        pw = f"{where}.providers.{slug}"
        offerings.append(Offering(
            provider=slug,
            model_id=str(p["id"]),
            context_window=_tokens(p.get("context_window"), pw, "context_window") or ctx,
            max_output=_tokens(p["max_output"], pw, "max_output") if "max_output" in p else max_out,
            capabilities=_caps(p["capabilities"], pw) if "capabilities" in p else caps,
            pricing=_pricing(p["pricing"], pw) if "pricing" in p else pricing,
        ))
    if not offerings:
        return None
    return CatalogModel(id=model_id, name=str(raw.get("name") or model_id), type=mtype, context_window=ctx,
                        max_output=max_out, capabilities=caps, pricing=pricing, offerings=tuple(offerings),
                        dimensions=raw.get("dimensions"))


def load_catalog(overrides: Mapping[str, dict[str, Any]] | None = None, enabled: Iterable[str] | None = None,
                 data_file: Path = DATA_FILE) -> Catalog:
    raw = _load_yaml(data_file) if data_file.exists() else {}
    for model_id, override in (overrides or {}).items():
        raw[model_id] = _merge(raw.get(model_id), override or {})
    enabled_set = set(enabled) if enabled is not None else None
    models = {}
    for model_id, entry in raw.items():
        built = _build(model_id, entry or {}, enabled_set)
        if built is not None:
            models[model_id] = built
    return Catalog(models)
