"""Invariants of the shipped model catalog (switchyard/catalog/data/models.yaml).

These check the data file itself -- shape, units and internal consistency -- independently of the
loader, so a bad edit to the catalog fails here with a message naming the entry."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

CATALOG_PATH = Path(__file__).resolve().parents[2] / "switchyard" / "catalog" / "data" / "models.yaml"

PROVIDER_SLUGS = {
    "openai", "anthropic", "google", "vertex", "bedrock", "azure", "mistral", "groq", "deepseek",
    "xai", "together", "fireworks", "cerebras", "perplexity", "openrouter",
}
CAPABILITIES = {"tools", "vision", "json", "reasoning", "caching", "audio", "pdf"}
TYPES = {"language", "embedding"}
MODEL_KEYS = {
    "name", "type", "context_window", "max_output", "max_input_tokens", "dimensions",
    "capabilities", "pricing", "providers",
}
PROVIDER_KEYS = {"id", "context_window", "max_output", "max_input_tokens", "capabilities", "pricing"}
PRICE_KEYS = {"input", "output", "cache_read", "cache_write"}
TIER_KEYS = PRICE_KEYS | {"above"}
MODEL_ID_RE = re.compile(r"^[a-z0-9][a-z0-9-]*/[A-Za-z0-9][A-Za-z0-9._:-]*$")


class _DuplicateKeyLoader(yaml.SafeLoader):
    """SafeLoader that refuses duplicate mapping keys (plain safe_load keeps the last one silently)."""


def _construct_mapping(loader: yaml.SafeLoader, node: yaml.MappingNode, deep: bool = False):
    seen = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r}", key_node.start_mark)
        seen.add(key)
    return loader.construct_mapping(node, deep=deep)


_DuplicateKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def _load() -> dict:
    with CATALOG_PATH.open(encoding="utf-8") as f:
        return yaml.safe_load(f)


CATALOG = _load()


def _is_number(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _is_count(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool) and v > 0


def _effective(entry: dict, provider: dict) -> dict:
    """The model's facts as served by one provider: provider overrides win, pricing is replaced whole."""
    eff = {k: entry[k] for k in ("type", "context_window", "max_output", "max_input_tokens",
                                 "dimensions", "capabilities", "pricing") if k in entry}
    eff.setdefault("type", "language")
    for k in ("context_window", "max_output", "max_input_tokens", "capabilities", "pricing"):
        if k in provider:
            eff[k] = provider[k]
    return eff


def _pricing_problems(pricing, kind: str) -> list[str]:
    if not isinstance(pricing, dict):
        return [f"pricing must be a mapping, got {pricing!r}"]
    problems = []
    unknown = set(pricing) - PRICE_KEYS - {"tiers"}
    if unknown:
        problems.append(f"unknown pricing keys {sorted(unknown)}")
    required = {"input", "output"} if kind == "language" else {"input"}
    missing = required - set(pricing)
    if missing:
        problems.append(f"pricing lacks {sorted(missing)}")

    def check_prices(d: dict, where: str) -> None:
        for k in PRICE_KEYS & set(d):
            if not _is_number(d[k]) or d[k] < 0:
                problems.append(f"{where}{k} must be a non-negative number, got {d[k]!r}")
        if _is_number(d.get("cache_read")) and _is_number(d.get("input")) and d["cache_read"] > d["input"]:
            problems.append(f"{where}cache_read {d['cache_read']} exceeds input {d['input']}")

    check_prices(pricing, "")
    tiers = pricing.get("tiers")
    if tiers is not None:
        if not isinstance(tiers, list) or not tiers:
            problems.append(f"tiers must be a non-empty list, got {tiers!r}")
            return problems
        aboves = []
        for i, t in enumerate(tiers):
            if not isinstance(t, dict):
                problems.append(f"tiers[{i}] must be a mapping")
                continue
            if set(t) - TIER_KEYS:
                problems.append(f"tiers[{i}] has unknown keys {sorted(set(t) - TIER_KEYS)}")
            if not _is_count(t.get("above")):
                problems.append(f"tiers[{i}].above must be a positive int, got {t.get('above')!r}")
            else:
                aboves.append(t["above"])
            for k in ("input", "output"):  # a tier restates both base prices (the loader requires them)
                if k not in t:
                    problems.append(f"tiers[{i}] lacks {k}")
            check_prices(t, f"tiers[{i}].")
        if aboves != sorted(set(aboves)):
            problems.append(f"tiers must be strictly ascending by 'above', got {aboves}")
    return problems


def _entry_problems(model_id: str, entry) -> list[str]:
    if not isinstance(entry, dict):
        return [f"entry must be a mapping, got {type(entry).__name__}"]
    problems = []
    if not MODEL_ID_RE.match(model_id):
        problems.append(f"id {model_id!r} is not of the form creator/model")
    unknown = set(entry) - MODEL_KEYS
    if unknown:
        problems.append(f"unknown keys {sorted(unknown)}")
    if not isinstance(entry.get("name"), str) or not entry["name"].strip():
        problems.append("name must be a non-empty string")
    kind = entry.get("type", "language")
    if kind not in TYPES:
        problems.append(f"type must be one of {sorted(TYPES)}, got {kind!r}")
        return problems
    if kind == "embedding":
        if "max_output" in entry:
            problems.append("embedding models have no max_output")
        if not _is_count(entry.get("dimensions")):
            problems.append(f"embedding dimensions must be a positive int, got {entry.get('dimensions')!r}")
    if "pricing" in entry:
        problems += [f"pricing: {p}" for p in _pricing_problems(entry["pricing"], kind)]

    providers = entry.get("providers")
    if not isinstance(providers, dict) or not providers:
        problems.append("providers must be a non-empty mapping")
        return problems
    for slug, prov in providers.items():
        where = f"provider {slug!r}: "
        if slug not in PROVIDER_SLUGS:
            problems.append(where + "unknown provider slug")
        if not isinstance(prov, dict):
            problems.append(where + "must be a mapping")
            continue
        if set(prov) - PROVIDER_KEYS:
            problems.append(where + f"unknown keys {sorted(set(prov) - PROVIDER_KEYS)}")
        if not isinstance(prov.get("id"), str) or not prov["id"].strip() or prov["id"] != prov["id"].strip():
            problems.append(where + f"id must be a non-empty string without surrounding space, got {prov.get('id')!r}")
        if "pricing" in prov:
            problems += [where + f"pricing: {p}" for p in _pricing_problems(prov["pricing"], kind)]

        eff = _effective(entry, prov)
        if "pricing" not in eff:
            problems.append(where + "no pricing (neither a model default nor a provider override)")
        caps = eff.get("capabilities", [])
        if not isinstance(caps, list) or set(caps) - CAPABILITIES or len(caps) != len(set(caps)):
            problems.append(where + f"capabilities must be a list of distinct values from {sorted(CAPABILITIES)}, got {caps!r}")
        ctx = eff.get("context_window")
        if not _is_count(ctx):
            problems.append(where + f"context_window must be a positive int, got {ctx!r}")
        if "max_input_tokens" in eff:
            mit = eff["max_input_tokens"]
            if not _is_count(mit) or (_is_count(ctx) and mit > ctx):
                problems.append(where + f"max_input_tokens must be a positive int <= context_window, got {mit!r}")
        if kind == "language":
            out = eff.get("max_output")
            if not _is_count(out):
                problems.append(where + f"max_output must be a positive int, got {out!r}")
            elif _is_count(ctx) and out > ctx:
                problems.append(where + f"max_output {out} exceeds context_window {ctx}")
        elif "max_output" in prov:
            problems.append(where + "embedding models have no max_output")
    return problems


def _pairs() -> list[tuple[str, str]]:
    return [(mid, slug) for mid, entry in CATALOG.items() for slug in entry.get("providers", {})]


def test_file_parses_as_a_mapping_of_models():
    assert isinstance(CATALOG, dict) and CATALOG, "catalog must be a non-empty mapping"
    assert all(isinstance(k, str) for k in CATALOG)


def test_file_has_no_duplicate_keys():
    with CATALOG_PATH.open(encoding="utf-8") as f:
        yaml.load(f, Loader=_DuplicateKeyLoader)  # raises on a duplicate key anywhere


def test_file_starts_with_a_header_comment():
    first = CATALOG_PATH.read_text(encoding="utf-8").lstrip().splitlines()[0]
    assert first.startswith("#"), "the catalog should open with its header comment (units, sources, date)"


@pytest.mark.parametrize("model_id", sorted(CATALOG))
def test_entry_is_well_formed(model_id):
    problems = _entry_problems(model_id, CATALOG[model_id])
    assert not problems, f"{model_id}:\n  " + "\n  ".join(problems)


def test_provider_ids_map_to_one_catalog_model_each():
    seen: dict[tuple[str, str], str] = {}
    clashes = []
    for mid, entry in CATALOG.items():
        for slug, prov in entry["providers"].items():
            key = (slug, prov["id"])
            if key in seen:
                clashes.append(f"{slug}:{prov['id']} is used by {seen[key]} and {mid}")
            seen[key] = mid
    assert not clashes, "\n".join(clashes)


def test_catalog_is_large_enough():
    pairs = _pairs()
    assert len(pairs) >= 300, f"only {len(pairs)} model-provider pairs"


def test_catalog_covers_many_providers():
    used = {slug for _, slug in _pairs()}
    assert len(used) >= 12, f"only {len(used)} provider slugs used: {sorted(used)}"


@pytest.mark.parametrize("slug", ["openai", "google", "bedrock", "mistral"])
def test_embeddings_are_available_from(slug):
    found = [mid for mid, e in CATALOG.items()
             if e.get("type") == "embedding" and slug in e.get("providers", {})]
    assert found, f"no embedding model served by {slug}"


def test_known_reference_entries():
    # Spot checks on long-stable facts, to catch gross unit mistakes (per-1K vs per-1M, etc.).
    assert CATALOG["openai/text-embedding-3-small"]["pricing"]["input"] == pytest.approx(0.02)
    assert CATALOG["openai/text-embedding-3-small"]["dimensions"] == 1536
    sonnet = CATALOG["anthropic/claude-sonnet-4-5"]
    assert sonnet["pricing"]["input"] == pytest.approx(3.0)
    assert sonnet["pricing"]["output"] == pytest.approx(15.0)
    assert sonnet["providers"]["bedrock"]["id"] == "anthropic.claude-sonnet-4-5-20250929-v1:0"
    assert sonnet["providers"]["vertex"]["id"] == "claude-sonnet-4-5@20250929"
    llama = CATALOG["meta/llama-3.3-70b-instruct"]["providers"]
    assert llama["groq"]["id"] == "llama-3.3-70b-versatile"
    assert llama["bedrock"]["id"] == "meta.llama3-3-70b-instruct-v1:0"
    pro = CATALOG["google/gemini-2.5-pro"]["pricing"]
    assert pro["tiers"][0]["above"] == 200000 and pro["tiers"][0]["input"] == pytest.approx(2.5)
