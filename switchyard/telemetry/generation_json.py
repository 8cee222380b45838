"""A generation record as ``GET /v1/generation?id=`` returns it: the Vercel AI Gateway's shape,
which the AI SDK's ``getGenerationInfo`` validates field by field (every field present, typed)."""

from __future__ import annotations

import datetime

import msgspec

from switchyard.catalog import format_usd
from switchyard.telemetry.record import GenerationRecord


def _iso(wall: float) -> str:
    dt = datetime.datetime.fromtimestamp(wall, datetime.timezone.utc)
    return dt.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def generation_json(rec: GenerationRecord) -> bytes:
    u = rec.usage
    cost = float(format_usd(rec.cost or 0.0))
    ttft = rec.ttft_ms
    finish = rec.finish_reason or ("error" if rec.status >= 400 else "")
    return msgspec.json.encode({"data": {
        "id": rec.id, "total_cost": cost, "market_cost": cost, "upstream_inference_cost": cost, "usage": cost,
        "created_at": _iso(rec.created_at), "model": rec.model or rec.requested_model, "is_byok": False,
        "provider_name": rec.provider or "", "streamed": rec.stream, "finish_reason": finish,
        # "latency" is the time to the first token; "generation_time" the whole generation.
        "latency": round(ttft if ttft is not None else rec.latency_ms), "generation_time": round(rec.latency_ms),
        "native_tokens_prompt": u.input_tokens if u else 0,
        "native_tokens_completion": u.output_tokens if u else 0,
        "native_tokens_reasoning": u.reasoning_tokens if u else 0,
        "native_tokens_cached": u.cache_read_tokens if u else 0,
        "native_tokens_cache_creation": u.cache_write_tokens if u else 0,
        "billable_web_search_calls": 0,
        "status": rec.status, "error": rec.error, "gateway": rec.gateway_metadata(),
    }})
