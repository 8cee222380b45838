"""Usage reports in SQL (SQLite and PostgreSQL): every grouping, filters, the AI SDK /v1/report shape
(identical to the in-memory report over the same records), /admin/usage, and tenant scoping."""

from __future__ import annotations

import datetime
import json

import pytest

from switchyard.accounts.principal import Principal
from switchyard.api.usage import routes
from switchyard.errors import ErrorCategory, GatewayError
from switchyard.http import Request, Response
from switchyard.protocols.aisdk.metadata import report_json as memory_report_json
from switchyard.telemetry.store import RecentRecords
from switchyard.usage import report_json
from tests.usage.conftest import record

DAY1 = datetime.datetime(2026, 3, 1, 10, 30, tzinfo=datetime.timezone.utc).timestamp()
DAY2 = datetime.datetime(2026, 3, 2, 23, 59, tzinfo=datetime.timezone.utc).timestamp()
OUTSIDE = datetime.datetime(2026, 3, 5, 0, 0, tzinfo=datetime.timezone.utc).timestamp()


def dataset():
    return [
        record(0, key="key-a", user="alice", tags=["prod", "web"], model="acme/chat", provider="openai",
               cost=0.01, created_at=DAY1),
        record(1, key="key-a", user="bob", tags=["prod"], model="acme/chat", provider="anthropic",
               cost=0.02, created_at=DAY1 + 60),
        record(2, key="key-b", project="other", user=None, tags=[], model="acme/big", provider="openai",
               cost=0.04, created_at=DAY2),
        record(3, key="key-b", project="other", user="alice", tags=["web"], model="acme/big", provider=None,
               status=502, created_at=DAY2),  # never served
        record(4, key="key-a", user="alice", tags=["prod"], cost=1.0, created_at=OUTSIDE),  # out of range
    ]


@pytest.fixture
async def filled(make_writer):
    w = make_writer()
    await w.start()
    recs = dataset()
    for rec in recs:
        w.submit(rec)
    await w.flush()
    return w, recs


def by(rows, field):
    return {r[field]: (round(r["total_cost"], 9), r["request_count"], r["input_tokens"]) for r in rows}


async def test_grouping(filled):
    w, _ = filled
    start, end = "2026-03-01", "2026-03-02"
    assert by(await w.report(start, end, "model"), "model") == {"acme/chat": (0.03, 2, 21), "acme/big": (0.04, 1, 12)}
    assert by(await w.report(start, end, "provider"), "provider") == {"openai": (0.05, 2, 22),
                                                                      "anthropic": (0.02, 1, 11)}
    assert by(await w.report(start, end, "key"), "key") == {"key-a": (0.03, 2, 21), "key-b": (0.04, 1, 12)}
    assert by(await w.report(start, end, "project"), "project") == {"proj": (0.03, 2, 21), "other": (0.04, 1, 12)}
    assert by(await w.report(start, end, "user"), "user") == {"alice": (0.01, 1, 10), "bob": (0.02, 1, 11),
                                                              None: (0.04, 1, 12)}
    assert by(await w.report(start, end, "tag"), "tag") == {"prod": (0.03, 2, 21), "web": (0.01, 1, 10)}
    assert by(await w.report(start, end, "day"), "day") == {"2026-03-01": (0.03, 2, 21), "2026-03-02": (0.04, 1, 12)}
    assert by(await w.report(start, end, "hour"), "hour") == {"2026-03-01T10:00:00Z": (0.03, 2, 21),
                                                              "2026-03-02T23:00:00Z": (0.04, 1, 12)}
    # every generation, served or not, when asked
    assert by(await w.report(start, end, "key", served_only=False), "key")["key-b"] == (0.04, 2, 12)
    # datetimes bound exactly; dates include their whole day
    assert by(await w.report(DAY1 + 30, DAY2 + 1, "day"), "day") == {"2026-03-01": (0.02, 1, 11),
                                                                      "2026-03-02": (0.04, 1, 12)}


async def test_filters(filled):
    w, _ = filled
    start, end = "2026-03-01", "2026-03-31"
    assert by(await w.report(start, end, "model", {"key_id": "key-a"}), "model") == {"acme/chat": (1.03, 3, 35)}
    assert by(await w.report(start, end, "day", {"tags": "web"}), "day") == {"2026-03-01": (0.01, 1, 10)}
    assert by(await w.report(start, end, "key", {"tags": ["web", "prod"]}), "key") == {"key-a": (1.03, 3, 35)}
    assert by(await w.report(start, end, "user", {"provider": "openai", "model": "acme/big"}), "user") == \
        {None: (0.04, 1, 12)}
    assert by(await w.report(start, end, "key", {"status": "502"}, served_only=False), "key") == {"key-b": (0.0, 1, 0)}
    assert await w.report(start, end, "key", {"credential_type": "byok"}) == []
    with pytest.raises(GatewayError):
        await w.report(start, end, "nope")
    with pytest.raises(GatewayError):
        await w.report(start, end, "key", {"password": "x"})


@pytest.mark.parametrize("query", [
    {"group_by": "day"}, {"group_by": "day", "date_part": "hour"}, {"group_by": "model"}, {"group_by": "user"},
    {"group_by": "tag"}, {"group_by": "provider"}, {"group_by": "credential_type"},
    {"group_by": "model", "tags": "web"}, {"group_by": "tag", "user_id": "alice"},
    {"group_by": "day", "model": "acme/big"},
])
async def test_aisdk_report_matches_the_in_memory_report(filled, query):
    w, recs = filled
    memory = RecentRecords()
    for rec in recs:
        memory.submit(rec)
    q = {"start_date": "2026-03-01", "end_date": "2026-03-02", **query}
    assert json.loads(await report_json(w, q)) == json.loads(memory_report_json(memory, q))


async def test_credential_type_grouping(make_writer):
    from switchyard.telemetry.record import Attempt

    w = make_writer()
    await w.start()
    byok = record(7, created_at=DAY1)
    byok.attempts = [Attempt("openai", "acme/chat", "pm", 0.0, 1.0, success=True, status=200, credential="byok")]
    for rec in (byok, record(8, created_at=DAY1)):
        w.submit(rec)
    await w.flush()
    rows = await w.report("2026-03-01", "2026-03-01", "credential_type")
    assert {r["credential_type"]: r["request_count"] for r in rows} == {"byok": 1, "system": 1}
    rows = await w.report("2026-03-01", "2026-03-01", "model", {"credential_type": "byok"})
    assert [r["request_count"] for r in rows] == [1]
    assert (await w.get(byok.id))["attempts"][0]["credential"] == "byok"


async def test_report_is_scoped_to_the_caller(filled):
    w, _ = filled
    q = {"start_date": "2026-03-01", "end_date": "2026-03-02", "group_by": "model"}
    mine = json.loads(await report_json(w, q, Principal(key_id="key-b")))["results"]
    assert [r["model"] for r in mine] == ["acme/big"]
    project = json.loads(await report_json(w, q, Principal(key_id=None, project="proj")))["results"]
    assert [r["model"] for r in project] == ["acme/chat"]
    admin = json.loads(await report_json(w, q, Principal(key_id="key-b", is_admin=True)))["results"]
    assert len(admin) == 2
    with pytest.raises(GatewayError):
        await report_json(w, {"group_by": "model"})


def get(path: str, query: str = "", headers: dict[str, str] | None = None) -> Request:
    return Request("GET", path, query, dict(headers or {}), b"", ("127.0.0.1", 1))


async def test_admin_usage_endpoint(filled):
    w, _ = filled

    def require_admin(request: Request):
        if request.headers.get("authorization") != "Bearer admin":
            raise GatewayError(ErrorCategory.PERMISSION, "Admin only.")

    class App:
        usage = w

    table = routes(App(), require_admin)
    handler = table[("GET", "/admin/usage")]
    denied = await handler(get("/admin/usage", "group_by=key"))
    assert denied.status == 403
    ok = await handler(get("/admin/usage", "group_by=key&start=2026-03-01&end=2026-03-02",
                           {"authorization": "Bearer admin"}))
    assert ok.status == 200
    body = json.loads(ok.body)
    assert body["start"] == "2026-03-01T00:00:00Z" and body["end"] == "2026-03-03T00:00:00Z"
    # admins see every generation, the failed one of key-b too
    assert {r["key"]: r["request_count"] for r in body["results"]} == {"key-a": 2, "key-b": 2}
    bad = await handler(get("/admin/usage", "group_by=secret", {"authorization": "Bearer admin"}))
    assert bad.status == 400

    async def refuse(request: Request) -> Response:
        return Response(401, b"{}")

    assert (await routes(App(), refuse)[("GET", "/admin/usage")](get("/admin/usage"))).status == 401
    # no admin check wired: refused, never open
    assert (await routes(App())[("GET", "/admin/usage")](get("/admin/usage"))).status == 403
