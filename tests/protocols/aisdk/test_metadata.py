"""/config, /v1/credits, /v1/report and the proposed /v1/generation body, and version detection."""

from __future__ import annotations

import datetime
import json

import pytest

from switchyard.canonical import Usage
from switchyard.catalog import load_catalog
from switchyard.errors import RequestError
from switchyard.protocols.aisdk import versions
from switchyard.protocols.aisdk.metadata import config_json, report_json
from switchyard.telemetry.generation_json import generation_json
from switchyard.telemetry.store import RecentRecords
from tests.gateway_harness import NO_DATA, model
from tests.protocols.aisdk.helpers import captured, record

CATALOG = load_catalog({
    "acme/echo-1": model({"acme": "echo-1"}, pricing={"input": 2.5, "output": 10.0, "cache_read": 1.25}),
    "acme/embed-1": {"name": "Embed", "type": "embedding", "context_window": 8192, "pricing": {"input": 0.02},
                     "providers": {"acme": {"id": "embed-1"}}},
}, enabled=["acme"], data_file=NO_DATA)


@pytest.mark.parametrize("spec", [2, 3, 4])
def test_config(spec: int) -> None:
    models = {m["id"]: m for m in json.loads(config_json(CATALOG, spec))["models"]}
    assert models["acme/echo-1"] == {
        "id": "acme/echo-1", "name": "Test model",
        "pricing": {"input": "0.0000025", "output": "0.00001", "input_cache_read": "0.00000125"},
        "specification": {"specificationVersion": f"v{spec}", "provider": "acme", "modelId": "acme/echo-1"},
        "modelType": "language",
    }
    assert models["acme/embed-1"]["modelType"] == "embedding"
    assert models["acme/embed-1"]["pricing"] == {"input": "0.00000002", "output": "0"}


@pytest.mark.parametrize("ua, default, spec", [
    ("ai-sdk-gateway/4.0.146 ai-sdk-provider-utils/5.0.81 node.js/v20.20.2", 2, 4),
    ("ai/6.0.325 ai-sdk/gateway/3.0.232 runtime/node.js/v20", 2, 3),
    ("ai-sdk/gateway/2.0.168 ai-sdk/provider-utils/3.0.41", 4, 2),
    ("ai-sdk/gateway/1.0.3", 4, 2),
    ("ai-sdk-gateway/5.0.0", 2, 4),
    ("curl/8", 3, 3),
    ("", 2, 2),
])
def test_version_from_user_agent(ua, default, spec) -> None:
    assert versions.from_user_agent({"user-agent": ua}, default) == spec


def test_captured_config_request_is_v4_by_its_user_agent() -> None:
    _, headers, _ = captured("GET /v1/ai/config spec=- stream=-")
    assert versions.from_user_agent(headers, versions.PREFIXES["/v1/ai"]) == 4


def _records() -> RecentRecords:
    store = RecentRecords()
    a = record(Usage(input_tokens=10, output_tokens=5, cache_read_tokens=2, reasoning_tokens=1), cost=0.001)
    b = record(Usage(input_tokens=3, output_tokens=3), cost=0.0005)
    b.model, b.provider = "acme/other", "beta"
    failed = record(None, None)
    failed.provider = None  # nothing served it: not in reports
    for rec in (a, b, failed):
        store.submit(rec)
    return store


def test_report_groups() -> None:
    today = datetime.datetime.now(datetime.timezone.utc).date().isoformat()
    q = {"start_date": today, "end_date": today}
    by_model = json.loads(report_json(_records(), {**q, "group_by": "model"}))["results"]
    assert by_model == [
        {"model": "acme/echo-1", "total_cost": 0.001, "market_cost": 0.001, "input_tokens": 10, "output_tokens": 5,
         "cached_input_tokens": 2, "cache_creation_input_tokens": 0, "reasoning_tokens": 1, "request_count": 1},
        {"model": "acme/other", "total_cost": 0.0005, "market_cost": 0.0005, "input_tokens": 3, "output_tokens": 3,
         "cached_input_tokens": 0, "cache_creation_input_tokens": 0, "reasoning_tokens": 0, "request_count": 1},
    ]
    by_day = json.loads(report_json(_records(), q))["results"]
    assert len(by_day) == 1 and by_day[0]["day"] == today and by_day[0]["request_count"] == 2
    hourly = json.loads(report_json(_records(), {**q, "date_part": "hour"}))["results"]
    assert hourly[0]["hour"].startswith(today + "T") and hourly[0]["hour"].endswith(":00:00Z")
    assert [r["provider"] for r in json.loads(report_json(_records(), {**q, "group_by": "provider"}))["results"]] \
        == ["acme", "beta"]
    assert json.loads(report_json(_records(), {**q, "group_by": "credential_type"}))["results"][0][
        "credential_type"] == "system"
    filtered = json.loads(report_json(_records(), {**q, "group_by": "model", "provider": "beta"}))["results"]
    assert [r["model"] for r in filtered] == ["acme/other"]
    assert json.loads(report_json(_records(), {**q, "credential_type": "byok"}))["results"] == []
    yesterday = (datetime.date.fromisoformat(today) - datetime.timedelta(days=2)).isoformat()
    assert json.loads(report_json(_records(), {"start_date": yesterday, "end_date": yesterday}))["results"] == []


@pytest.mark.parametrize("query, param", [
    ({"end_date": "2026-01-01"}, "start_date"),
    ({"start_date": "2026-01-01", "end_date": "01/02/2026"}, "end_date"),
    ({"start_date": "2026-01-01", "end_date": "2026-01-02", "group_by": "week"}, "group_by"),
])
def test_report_rejects_bad_queries(query, param) -> None:
    with pytest.raises(RequestError) as exc:
        report_json(RecentRecords(), query)
    assert exc.value.param == param


def test_generation_body_has_every_field_the_client_requires() -> None:
    rec = record(Usage(input_tokens=10, output_tokens=5, cache_read_tokens=2, cache_write_tokens=1,
                       reasoning_tokens=1), cost=0.001)
    rec.finish_reason = "stop"
    rec.first_token_at, rec.ended = rec.started + 0.05, rec.started + 0.25
    data = json.loads(generation_json(rec))["data"]
    # gateway-generation-info.ts: required fields and their types
    required = {"id": str, "total_cost": float, "upstream_inference_cost": float, "usage": float, "created_at": str,
                "model": str, "is_byok": bool, "provider_name": str, "streamed": bool, "finish_reason": str,
                "latency": int, "generation_time": int, "native_tokens_prompt": int, "native_tokens_completion": int,
                "native_tokens_reasoning": int, "native_tokens_cached": int, "native_tokens_cache_creation": int,
                "billable_web_search_calls": int}
    for key, kind in required.items():
        assert isinstance(data[key], kind), key
    assert data["latency"] == 50 and data["generation_time"] == 250  # latency is time to first token
    assert data["native_tokens_cache_creation"] == 1 and data["provider_name"] == "acme"
    datetime.datetime.fromisoformat(data["created_at"].replace("Z", "+00:00"))
    unserved = record(None, None)
    unserved.provider, unserved.status = None, 502
    data = json.loads(generation_json(unserved))["data"]
    assert data["provider_name"] == "" and data["finish_reason"] == "error" and data["total_cost"] == 0.0
