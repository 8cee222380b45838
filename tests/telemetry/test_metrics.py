"""Metrics.submit: each label set's cells are found once and then added to in place; what the
registry renders is what was submitted, and nothing appears before it has something to count."""

from __future__ import annotations

import time

import pytest

from switchyard.canonical import Usage
from switchyard.telemetry.metrics import Metrics
from switchyard.telemetry.record import Attempt, GenerationRecord
from tests.e2e.test_metrics import sample


def record(status: int = 200, usage: Usage | None = None, cost: float | None = None,
           category: str | None = None, stream: bool = False) -> GenerationRecord:
    rec = GenerationRecord("acme/chat", stream)
    ok = status < 400
    rec.model, rec.provider = ("acme/chat", "openai") if ok else (None, None)
    rec.attempts.append(Attempt("openai", "acme/chat", "gpt", 1000.0, 1100.0, ok, status, category=category))
    rec.status, rec.usage, rec.cost = status, usage, cost
    rec.started = time.monotonic() - 0.05
    rec.first_token_at = rec.started + 0.01 if stream else None
    rec.ended = time.monotonic()
    return rec


def test_cached_cells_count_what_was_submitted():
    m = Metrics()
    for _ in range(3):
        m.submit(record(usage=Usage(10, 5, cache_read_tokens=4), cost=0.002))
    m.submit(record(usage=Usage(1, 1), stream=True))
    m.submit(record(status=502, category="server_error"))
    text = m.render().decode()
    ok = {"gen_ai_operation_name": "chat", "gen_ai_request_model": "acme/chat", "gen_ai_provider_name": "openai"}
    assert sample(text, "switchyard_requests_total", **ok, status="200") == 4
    assert sample(text, "switchyard_requests_total", gen_ai_provider_name="none", status="502") == 1
    assert sample(text, "switchyard_tokens_total", **ok, type="input") == 31
    assert sample(text, "switchyard_tokens_total", **ok, type="output") == 16
    assert sample(text, "switchyard_tokens_total", **ok, type="cached") == 12
    assert sample(text, "switchyard_cost_usd_total", **ok) == pytest.approx(0.006)
    assert sample(text, "gen_ai_client_token_usage_count", **ok, gen_ai_token_type="input") == 4
    assert sample(text, "gen_ai_client_token_usage_sum", **ok, gen_ai_token_type="output") == 16
    assert sample(text, "gen_ai_client_operation_duration_seconds_count", **ok, error_type="") == 4
    assert sample(text, "gen_ai_client_operation_duration_seconds_count", error_type="server_error") == 1
    assert sample(text, "gen_ai_server_time_to_first_token_seconds_count", gen_ai_provider_name="openai") == 1
    assert sample(text, "switchyard_attempts_total", outcome="success") == 4
    assert sample(text, "switchyard_attempts_total", outcome="server_error") == 1
    # the failed request had no usage or cost: no token or cost series for its labels
    assert 'gen_ai_provider_name="none"' not in "".join(
        line for line in text.splitlines() if line.startswith(("switchyard_tokens", "switchyard_cost",
                                                               "gen_ai_client_token_usage")))


def test_workers_sharing_a_directory_each_render_the_sum(tmp_path):
    a = Metrics(share_dir=str(tmp_path), worker="a")
    b = Metrics(share_dir=str(tmp_path), worker="b")
    for _ in range(2):
        a.submit(record(usage=Usage(10, 5), cost=0.001))
    b.submit(record(usage=Usage(1, 1), cost=0.001))
    b.submit(record(status=502, category="server_error"))
    ok = {"gen_ai_provider_name": "openai", "status": "200"}
    # nothing shared yet: each renders its own
    assert sample(a.render().decode(), "switchyard_requests_total", **ok) == 2
    a.write_snapshot()
    b.write_snapshot()
    a.submit(record(usage=Usage(10, 5)))  # live in a, not yet in its snapshot
    # a: its 3 live + b's snapshot (1); b: its 1 live + a's snapshot (2)
    assert sample(a.render().decode(), "switchyard_requests_total", **ok) == 4
    assert sample(b.render().decode(), "switchyard_requests_total", **ok) == 3
    for m in (a, b):
        assert sample(m.render().decode(), "switchyard_requests_total", gen_ai_provider_name="none",
                      status="502") == 1
    text = a.render().decode()
    assert sample(text, "switchyard_tokens_total", gen_ai_provider_name="openai", type="input") == 31
    assert sample(text, "switchyard_cost_usd_total", gen_ai_provider_name="openai") == pytest.approx(0.003)
    assert sample(text, "gen_ai_client_operation_duration_seconds_count", gen_ai_provider_name="openai") == 4
    # a file that is being written (or garbage) is skipped, not fatal
    (tmp_path / "c.msgpack").write_bytes(b"\xc1 not msgpack")
    assert sample(a.render().decode(), "switchyard_requests_total", **ok) == 4
