import random

from switchyard.catalog import Offering, Pricing
from switchyard.health.registry import HealthConfig, ProviderHealth


class Clock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def offering(provider: str, price: float = 1.0) -> Offering:
    return Offering(provider, f"{provider}-m", 100_000, 1000, frozenset(), Pricing(input=price, output=price))


def test_no_data_keeps_catalog_order_and_failures_demote():
    clock = Clock()
    h = ProviderHealth(HealthConfig(breaker_threshold=3), clock=clock, rng=random.Random(1))
    offers = [offering("a"), offering("b"), offering("c")]
    assert [o.provider for o in h.rank(offers, None)] == ["a", "b", "c"]
    for _ in range(2):
        h.begin("a", "a-m")
        h.end("a", "a-m", category="server_error", latency=0.1)
    assert h.score("a", "a-m") < 0.75
    assert [o.provider for o in h.rank(offers, None)][-1] == "a"
    assert h.blocked("a", "a-m") is None  # 2 < threshold
    h.begin("a", "a-m")
    h.end("a", "a-m", category="overloaded", latency=0.1)
    assert "circuit open" in h.blocked("a", "a-m")
    snap = {s["provider"]: s for s in h.snapshot()}
    assert snap["a"]["circuit"] == "open" and snap["a"]["failures"] == 3


def test_caller_faults_do_not_hurt_health():
    h = ProviderHealth(clock=Clock())
    for _ in range(10):
        h.begin("a", "a-m")
        h.end("a", "a-m", category="context_too_long", latency=0.1)
    assert h.score("a", "a-m") == 1.0 and h.blocked("a", "a-m") is None


def test_sort_by_cost_ttft_tps():
    clock = Clock()
    h = ProviderHealth(clock=clock)
    offers = [offering("a", 3.0), offering("b", 1.0), offering("c", 2.0)]
    assert [o.provider for o in h.rank(offers, "cost")] == ["b", "c", "a"]
    for name, ttft, latency, tokens in (("a", 0.2, 1.2, 100), ("b", 0.9, 1.9, 400), ("c", 0.5, 1.5, 50)):
        h.begin(name, f"{name}-m")
        h.end(name, f"{name}-m", category=None, latency=latency, ttft=ttft, output_tokens=tokens)
    assert [o.provider for o in h.rank(offers, "ttft")] == ["a", "c", "b"]
    assert [o.provider for o in h.rank(offers, "tps")] == ["b", "a", "c"]


def test_p2c_prefers_lower_peak_latency_between_equals():
    clock = Clock()
    h = ProviderHealth(clock=clock, rng=random.Random(7))
    offers = [offering("slow"), offering("fast")]
    for name, lat in (("slow", 3.0), ("fast", 0.2)):
        h.begin(name, f"{name}-m")
        h.end(name, f"{name}-m", category=None, latency=lat, ttft=lat / 2)
    firsts = [h.rank(offers, None)[0].provider for _ in range(20)]
    assert firsts == ["fast"] * 20  # with two candidates, P2C always compares both


def test_peak_ewma_reacts_at_once_to_a_slow_sample_and_decays():
    clock = Clock()
    h = ProviderHealth(HealthConfig(half_life=8.0), clock=clock)
    s = h.stats("a", "a-m")
    h.begin("a", "a-m")
    h.end("a", "a-m", category=None, latency=0.2, ttft=0.1)
    h.begin("a", "a-m")
    h.end("a", "a-m", category=None, latency=5.0, ttft=4.0)
    assert s.peak_latency.value == 4.0
    clock.t += 10
    h.begin("a", "a-m")
    h.end("a", "a-m", category=None, latency=0.2, ttft=0.1)
    assert 0.1 < s.peak_latency.value < 4.0


def test_remote_view_makes_local_view_worse():
    h = ProviderHealth(clock=Clock())
    h.remote[("a", "a-m")] = (0.2, None, None)
    assert h.score("a", "a-m") == 0.2
    assert [o.provider for o in h.rank([offering("a"), offering("b")], None)] == ["b", "a"]
