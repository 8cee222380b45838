"""Rate limits and budgets, in embedded mode and against the real Redis (every test runs on both)."""

from __future__ import annotations

import asyncio

import pytest

from switchyard.accounts.principal import ANONYMOUS, Limits
from switchyard.errors import ErrorCategory
from switchyard.quotas import QuotaExceeded
from switchyard.quotas.periods import reset_in
from tests.quotas.conftest import PRICE, Clock, Rec, principal, route, unique


async def admit(q, p, r=None, pricing=PRICE):
    return await q.admit(p, r or route(), pricing, None)


async def try_admit(q, p, r=None):
    try:
        return await admit(q, p, r)
    except QuotaExceeded as e:
        return e


@pytest.mark.parametrize("fraction", [0.0, 0.05])
async def test_gcra_retry_after_is_exact(make_quotas, fraction):
    clock = Clock()
    q = make_quotas(clock, lease_fraction=fraction)
    p = principal(unique(), rpm=6)  # one request every 10 s, burst 6
    for _ in range(6):
        await admit(q, p)
    err = await try_admit(q, p)
    assert isinstance(err, QuotaExceeded) and err.status == 429 and err.code == "rate_limit_exceeded"
    assert err.retry_after == pytest.approx(10.0, abs=1e-6)
    assert ("retry-after", "10") in err.headers and ("x-ratelimit-remaining-requests", "0") in err.headers
    clock.advance(9.25)
    err = await try_admit(q, p)
    assert isinstance(err, QuotaExceeded) and err.retry_after == pytest.approx(0.75, abs=1e-6)
    clock.advance(0.75)
    await admit(q, p)  # exactly when it said
    err = await try_admit(q, p)
    assert err.retry_after == pytest.approx(10.0, abs=1e-6)


async def test_tokens_per_minute_variable_cost_and_refund(make_quotas):
    clock = Clock()
    q = make_quotas(clock, lease_fraction=0.0)
    p = principal(unique(), tpm=1000)  # 60 ms per token
    held = [await admit(q, p, route(200, 100)) for _ in range(3)]  # 300 tokens reserved each
    err = await try_admit(q, p, route(200, 100))
    assert err.status == 429 and err.retry_after == pytest.approx(12.0, abs=1e-6)  # 200 more tokens: 12 s
    for res in held:  # each used 100 tokens, not 300: 600 come back to this instance
        q.submit(Rec(res, 0.01, tokens=100))
    await admit(q, p, route(200, 100))
    await admit(q, p, route(200, 100))


async def test_request_larger_than_the_token_limit_waits_for_a_full_bucket(make_quotas):
    clock = Clock()
    q = make_quotas(clock, lease_fraction=0.0)
    p = principal(unique(), tpm=100)
    res = await admit(q, p, route(500, 500))  # capped at the limit: admitted on a full bucket
    q.submit(Rec(res, 0.0, tokens=1000))  # ... and charged what it used: 10 minutes of tokens
    err = await try_admit(q, p, route(1, 1))
    # the bucket is 900 tokens in debt (9 minutes) plus the 2 tokens wanted, less the 60 s burst
    assert err.status == 429 and err.retry_after == pytest.approx(600 + 2 * 0.6 - 60, abs=1e-6)


@pytest.mark.parametrize("fraction", [0.0, 0.05, 0.5])
async def test_hundreds_of_concurrent_admissions_exact_rpm(make_quotas, fraction):
    clock = Clock()
    a, b = make_quotas(clock, lease_fraction=fraction), make_quotas(clock, lease_fraction=fraction)
    p = principal(unique(), rpm=50)
    results = await asyncio.gather(*[try_admit(a if i % 2 else b, p) for i in range(300)])
    admitted = [r for r in results if not isinstance(r, Exception)]
    denied = [r for r in results if isinstance(r, QuotaExceeded)]
    assert len(admitted) == 50 and len(denied) == 250
    assert all(e.status == 429 and e.retry_after is not None and 0 < e.retry_after <= 60 for e in denied)


@pytest.mark.parametrize("fraction", [0.0, 0.05, 0.5])
async def test_hundreds_of_concurrent_admissions_never_overspend(make_quotas, fraction):
    clock = Clock()
    a, b = make_quotas(clock, lease_fraction=fraction), make_quotas(clock, lease_fraction=fraction)
    p = principal(unique(), budget_usd=1.0)  # each request reserves $0.2
    results = await asyncio.gather(*[try_admit(a if i % 2 else b, p) for i in range(200)])
    admitted = [r for r in results if not isinstance(r, Exception)]
    # Never more than the budget covers. With leases, the other instance may hold a fragment smaller
    # than one request (given back when it idles): one fewer, never one more.
    assert len(admitted) == 5 if fraction == 0 else 4 <= len(admitted) <= 5
    assert all(isinstance(r, QuotaExceeded) and r.status == 402 and r.code == "budget_exceeded"
               for r in results if isinstance(r, Exception))
    for res in admitted:  # each cost $0.1
        res._service.submit(Rec(res, 0.1, tokens=100))
    clock.advance(10)  # both idle: their leases go back
    await a.syncer.run_once()
    await b.syncer.run_once()
    left = 1.0 - 0.1 * len(admitted)
    assert await a.credits(p) == (pytest.approx(left), pytest.approx(0.1 * len(admitted)))
    again = await asyncio.gather(*[try_admit(a if i % 2 else b, p) for i in range(200)])
    n = len([r for r in again if not isinstance(r, Exception)])
    assert n == int(left / 0.2 + 1e-9) if fraction == 0 else int(left / 0.2 + 1e-9) - 1 <= n <= int(left / 0.2 + 1e-9)


async def test_budget_exhausted_answers_402_until_the_period_resets(make_quotas):
    clock = Clock(1_800_000_000.0)
    q = make_quotas(clock)
    p = principal(unique(), budget_usd=0.5, budget_period="daily")
    res = await admit(q, p)
    q.submit(Rec(res, 0.45, tokens=10))
    await q.syncer.run_once()
    err = await try_admit(q, p)
    assert err.status == 402 and err.category is ErrorCategory.PAYMENT_REQUIRED and err.code == "budget_exceeded"
    assert err.retry_after == pytest.approx(reset_in("daily", clock.now))
    assert await q.credits(p) == (pytest.approx(0.05), pytest.approx(0.45))
    clock.advance(err.retry_after + 1)  # the next day: a new budget
    await admit(q, p)


async def test_budget_held_by_requests_in_flight_says_retry_soon(make_quotas):
    q = make_quotas(Clock())
    p = principal(unique(), budget_usd=0.3, budget_period="total")
    held = await admit(q, p)
    err = await try_admit(q, p)
    assert err.status == 402 and err.retry_after == 1.0 and "in flight" in err.message
    q.submit(Rec(held, 0.05, tokens=10))
    await admit(q, p)


async def test_settlement_without_usage(make_quotas):
    q = make_quotas(Clock())
    p = principal(unique(), budget_usd=10.0)
    cut = await admit(q, p)
    q.submit(Rec(cut, None, tokens=None, status=499))  # caller left mid-stream: the estimate ($0.2)
    failed = await admit(q, p)
    q.submit(Rec(failed, None, tokens=None, status=502))  # nothing billed
    released = await admit(q, p)
    released.release()
    q.submit(Rec(released, 5.0, tokens=10))  # already settled: ignored
    await q.syncer.run_once()
    assert await q.credits(p) == (pytest.approx(9.8), pytest.approx(0.2))


async def test_project_limits_are_shared_by_its_keys(make_quotas):
    q = make_quotas(Clock(), lease_fraction=0.0)
    project = unique("proj")
    k1 = principal(unique(), project, project_limits=Limits(rpm=3))
    k2 = principal(unique(), project, project_limits=Limits(rpm=3))
    await admit(q, k1)
    await admit(q, k2)
    await admit(q, k1)
    err = await try_admit(q, k2)
    assert err.status == 429 and "project" in err.message


async def test_headers_on_success_and_none_without_limits(make_quotas):
    q = make_quotas(Clock())
    res = await admit(q, principal(unique(), rpm=10, tpm=10_000))
    h = dict(res.headers())
    assert h["x-ratelimit-limit-requests"] == "10" and h["x-ratelimit-remaining-requests"] == "9"
    assert h["x-ratelimit-reset-requests"] == "6s"
    assert h["x-ratelimit-limit-tokens"] == "10000" and h["x-ratelimit-remaining-tokens"] == "9800"
    assert (await admit(q, principal(unique()))).headers() == []
    assert (await admit(q, ANONYMOUS)).headers() == []
    assert (await admit(q, None)).headers() == []


async def test_zero_limits_refuse(make_quotas):
    q = make_quotas(Clock())
    err = await try_admit(q, principal(unique(), rpm=0))
    assert err.status == 429 and err.retry_after is None
    err = await try_admit(q, principal(unique(), budget_usd=0.0))
    assert err.status == 402


async def test_unlimited_keys_still_count_spend(make_quotas):
    q = make_quotas(Clock())
    p = principal(unique())
    for _ in range(3):
        q.submit(Rec(await admit(q, p), 0.25, tokens=10))
    await q.syncer.run_once()
    assert await q.credits(p) == (None, pytest.approx(0.75))
    assert await q.credits(ANONYMOUS) == (None, 0.0)


async def test_byok_requests_cost_no_budget(make_quotas):
    from switchyard.telemetry.record import Attempt

    q = make_quotas(Clock())
    p = principal(unique(), budget_usd=1.0)
    rec = Rec(await admit(q, p), 0.3, tokens=50)
    rec.attempts = [Attempt("openai", "acme/chat", "gpt", 0.0, 1.0, success=True, status=200, credential="byok")]
    q.submit(rec)
    await q.syncer.run_once()
    assert await q.credits(p) == (pytest.approx(1.0), 0.0)
    charged = make_quotas(Clock(), charge_byok=True)
    rec = Rec(await admit(charged, p), 0.3, tokens=50)
    rec.attempts = [Attempt("openai", "acme/chat", "gpt", 0.0, 1.0, success=True, status=200, credential="byok")]
    charged.submit(rec)
    await charged.syncer.run_once()
    assert (await charged.credits(p))[1] == pytest.approx(0.3)
