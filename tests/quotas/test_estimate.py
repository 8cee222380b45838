"""Reservation estimates (most expensive candidate, long-context tier, caps) and settlement charges."""

from __future__ import annotations

import pytest

from switchyard.catalog import load_catalog
from switchyard.catalog.pricing import PriceTier, Pricing
from switchyard.quotas import candidate_pricing, estimate
from switchyard.quotas.charges import actual
from tests.gateway_harness import NO_DATA, model
from tests.quotas.conftest import Rec


def test_most_expensive_candidate_prices_input_and_output_separately():
    cheap_in = Pricing(input=1.0, output=20.0)
    cheap_out = Pricing(input=10.0, output=2.0)
    usd, tokens = estimate([cheap_in, cheap_out], 1000, 500, None, 4096, None)
    assert tokens == 1500
    assert usd == pytest.approx((1000 * 10.0 + 500 * 20.0) / 1e6)


def test_long_context_tier_applies_above_its_threshold():
    p = Pricing(input=1.0, output=2.0, tiers=[PriceTier(above=200_000, input=5.0, output=8.0),
                                                PriceTier(above=100_000, input=3.0, output=4.0)])
    assert estimate([p], 50_000, 10, None, 4096, None)[0] == pytest.approx((50_000 * 1 + 10 * 2) / 1e6)
    assert estimate([p], 150_000, 10, None, 4096, None)[0] == pytest.approx((150_000 * 3 + 10 * 4) / 1e6)
    assert estimate([p], 300_000, 10, None, 4096, None)[0] == pytest.approx((300_000 * 5 + 10 * 8) / 1e6)


def test_cache_write_price_counts_when_dearer_than_input():
    p = Pricing(input=3.0, output=15.0, cache_read=0.3, cache_write=3.75)
    assert estimate([p], 1000, 0, None, 4096, None)[0] == pytest.approx(1000 * 3.75 / 1e6)


def test_output_reservation_is_capped_and_defaults_to_model_max_output():
    p = Pricing(input=0.0, output=1.0)
    assert estimate([p], 0, 100_000, None, 4096, None) == (pytest.approx(4096 / 1e6), 4096)
    assert estimate([p], 0, None, 1000, 4096, None) == (pytest.approx(1000 / 1e6), 1000)
    assert estimate([p], 0, None, None, 2048, None) == (pytest.approx(2048 / 1e6), 2048)
    assert estimate([p], 0, 50, None, 4096, None)[1] == 50
    assert estimate([p], 10, 50, None, 4096, None, kind="embedding") == (0.0, 10)


def test_per_request_usd_cap():
    p = Pricing(input=100.0, output=100.0)
    usd, tokens = estimate([p], 100_000, 4096, None, 4096, reserve_max_usd=0.5)
    assert usd == 0.5 and tokens == 104_096


def test_actual_charges():
    assert actual(Rec(None, 0.02, tokens=30), 0.5, 100) == (0.02, 30)
    # a stream cut by the caller: no usage ever arrived, the provider billed it: the estimate
    assert actual(Rec(None, None, tokens=None, status=499), 0.5, 100) == (0.5, 100)
    # answered without a usage report: the estimate
    assert actual(Rec(None, None, tokens=None, status=200), 0.5, 100) == (0.5, 100)
    # failed (every attempt, or the caller's fault): nothing is billed
    assert actual(Rec(None, None, tokens=None, status=502), 0.5, 100) == (0.0, 0)
    assert actual(Rec(None, None, tokens=None, status=400), 0.5, 100) == (0.0, 0)


def test_candidate_pricing_covers_every_offering_and_fallback():
    models = {
        "acme/a": model({"p1": "a1", "p2": "a2"}, max_output=1000, pricing={"input": 1.0, "output": 2.0}),
        "acme/b": model({"p1": "b1"}, max_output=8000, pricing={"input": 5.0, "output": 9.0}),
    }
    catalog = load_catalog(models, enabled={"p1", "p2"}, data_file=NO_DATA)
    pricings, max_output = candidate_pricing(catalog, "acme/a")
    assert len(pricings) == 2 and max_output == 1000
    pricings, max_output = candidate_pricing(catalog, "acme/a", fallbacks=["acme/b"])
    assert max(p.input for p in pricings) == 5.0 and max_output == 8000
    pricings, _ = candidate_pricing(catalog, "acme/a", routing_fallbacks={"acme/a": ["acme/b", "nope/x"]})
    assert len(pricings) == 3
