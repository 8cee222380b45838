"""Prices and the cost of a generation."""

from __future__ import annotations

import msgspec
import pytest

from switchyard.canonical import Usage
from switchyard.catalog import Pricing, format_usd
from switchyard.catalog.pricing import PriceTier

M = 1_000_000


def test_plain_input_and_output() -> None:
    p = Pricing(input=2.5, output=10.0)
    assert p.cost(Usage(input_tokens=M, output_tokens=M)) == pytest.approx(12.5)
    assert p.cost(Usage(input_tokens=1000, output_tokens=500)) == pytest.approx(0.0025 + 0.005)
    assert p.cost(Usage()) == 0.0


def test_free_by_default() -> None:
    assert Pricing().cost(Usage(input_tokens=M, output_tokens=M)) == 0.0


def test_cache_read_at_its_own_price() -> None:
    p = Pricing(input=3.0, output=15.0, cache_read=0.3, cache_write=3.75)
    # 10k prompt tokens of which 8k were read from cache and 1k written to it
    u = Usage(input_tokens=10_000, output_tokens=1_000, cache_read_tokens=8_000, cache_write_tokens=1_000)
    expected = (1_000 * 3.0 + 8_000 * 0.3 + 1_000 * 3.75 + 1_000 * 15.0) / M
    assert p.cost(u) == pytest.approx(expected)


def test_cache_without_its_own_price_costs_input() -> None:
    p = Pricing(input=2.0, output=8.0)
    cached = Usage(input_tokens=10_000, output_tokens=0, cache_read_tokens=9_000, cache_write_tokens=1_000)
    assert p.cost(cached) == pytest.approx(p.cost(Usage(input_tokens=10_000)))


def test_reasoning_tokens_are_output_tokens_billed_once() -> None:
    p = Pricing(input=1.1, output=4.4)
    with_reasoning = Usage(input_tokens=100, output_tokens=1_000, reasoning_tokens=800)
    assert p.cost(with_reasoning) == pytest.approx((100 * 1.1 + 1_000 * 4.4) / M)


def test_cache_counts_larger_than_input_never_go_negative() -> None:
    p = Pricing(input=1.0, output=1.0, cache_read=0.1)
    u = Usage(input_tokens=100, cache_read_tokens=150)
    assert p.cost(u) == pytest.approx(150 * 0.1 / M)


TIERED = Pricing(input=1.25, output=10.0, cache_read=0.125, tiers=[
    PriceTier(above=200_000, input=2.5, output=15.0, cache_read=0.25),
])


def test_tier_applies_above_threshold_to_the_whole_request() -> None:
    at = Usage(input_tokens=200_000, output_tokens=1_000)
    above = Usage(input_tokens=200_001, output_tokens=1_000)
    assert TIERED.cost(at) == pytest.approx((200_000 * 1.25 + 1_000 * 10.0) / M)
    assert TIERED.cost(above) == pytest.approx((200_001 * 2.5 + 1_000 * 15.0) / M)


def test_tier_cache_prices() -> None:
    u = Usage(input_tokens=300_000, cache_read_tokens=100_000)
    assert TIERED.cost(u) == pytest.approx((200_000 * 2.5 + 100_000 * 0.25) / M)
    # a tier without its own cache price keeps the base one
    p = Pricing(input=1.0, output=1.0, cache_read=0.1, tiers=[PriceTier(above=10, input=2.0, output=2.0)])
    assert p.cost(Usage(input_tokens=100, cache_read_tokens=50)) == pytest.approx((50 * 2.0 + 50 * 0.1) / M)


def test_highest_matching_tier_wins_whatever_the_order() -> None:
    tiers = [PriceTier(above=100_000, input=2.0, output=2.0), PriceTier(above=500_000, input=3.0, output=3.0)]
    asc = Pricing(input=1.0, output=1.0, tiers=tiers)
    desc = Pricing(input=1.0, output=1.0, tiers=list(reversed(tiers)))
    for n, price in ((50_000, 1.0), (200_000, 2.0), (600_000, 3.0)):
        u = Usage(input_tokens=n)
        assert asc.cost(u) == pytest.approx(n * price / M)
        assert desc.cost(u) == pytest.approx(n * price / M)


def test_pricing_from_catalog_shape() -> None:
    p = msgspec.convert({"input": 0.1, "output": 0.5, "cache_read": 0.01, "cache_write": 0.125,
                         "tiers": [{"above": 100000, "input": 0.5, "output": 2.5}]}, Pricing)
    assert p.tiers == [PriceTier(100000, 0.5, 2.5)]
    assert Pricing().tiers == [] and Pricing().tiers is not Pricing().tiers


def test_per_token_strings() -> None:
    assert Pricing(input=2.5, output=10.0).per_token() == {"input": "0.0000025", "output": "0.00001"}
    assert Pricing(input=3.0, output=15.0, cache_read=0.3, cache_write=3.75).per_token() == {
        "input": "0.000003", "output": "0.000015", "input_cache_read": "0.0000003",
        "input_cache_write": "0.00000375"}
    assert Pricing(input=0.075, output=0.3).per_token() == {"input": "0.000000075", "output": "0.0000003"}
    assert Pricing().per_token() == {"input": "0", "output": "0"}


@pytest.mark.parametrize("amount,text", [
    (0.0, "0"),
    (1.0, "1"),
    (12.5, "12.5"),
    (0.0000025, "0.0000025"),
    (0.00123, "0.00123"),
    (1e-12, "0.000000000001"),
    (1e-14, "0"),
    (1234.5, "1234.5"),
    (0.1 + 0.2, "0.3"),
])
def test_format_usd(amount: float, text: str) -> None:
    assert format_usd(amount) == text
    assert "e" not in format_usd(amount).lower()
