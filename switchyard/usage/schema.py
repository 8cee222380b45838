"""The usage tables, one row per generation, and the conversions record -> row -> record.

    <prefix>generations      id (gen_…), created_at (epoch s), day, hour (UTC, for grouping), key_id,
                             project, user_id, tags (JSON), requested_model, model, provider,
                             provider_model_id, credential_type (system | byok), kind, attempts
                             (JSON), routing (JSON: skipped, fallbacks), tokens (input incl. cached,
                             output incl. reasoning, cached, cache write, reasoning), cost (USD),
                             latency_ms, ttft_ms, status, error, stream, finish_reason
    <prefix>generation_tags  (generation_id, tag): grouping and filtering by tag in SQL

Rows are plain tuples in ``COLUMNS`` order (they are what the writer queues and spills to disk).
Inserts ignore an id already present, so replaying a batch is harmless.
"""

from __future__ import annotations

import datetime
import functools
import re
from typing import Any

import msgspec

from switchyard.accounts.principal import Principal
from switchyard.canonical import Usage
from switchyard.telemetry.record import Attempt, GenerationRecord

COLUMNS = ("id", "created_at", "day", "hour", "key_id", "project", "user_id", "tags", "requested_model", "model",
           "provider", "provider_model_id", "credential_type", "kind", "attempts", "routing", "input_tokens",
           "output_tokens", "cached_tokens", "cache_write_tokens", "reasoning_tokens", "cost", "latency_ms", "ttft_ms",
           "status", "error", "stream", "finish_reason")
_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")


def check_ident(name: str | None, what: str) -> None:
    if name is not None and not _IDENT.match(name):
        raise ValueError(f"usage {what} must be a plain SQL identifier, not {name!r}")


class Tables:
    def __init__(self, schema: str | None = None, prefix: str = "sy_", postgres: bool = False) -> None:
        check_ident(schema, "schema")
        check_ident(prefix + "x", "table_prefix")
        q = f'"{schema}".' if schema else ""
        self.gen = f"{q}{prefix}generations"
        self.tags = f"{q}{prefix}generation_tags"
        real = "DOUBLE PRECISION" if postgres else "REAL"
        integer = "BIGINT" if postgres else "INTEGER"
        cols = ", ".join(COLUMNS)
        marks = ", ".join("?" for _ in COLUMNS)
        self.create = [
            f"""CREATE TABLE IF NOT EXISTS {self.gen} (
                id TEXT PRIMARY KEY, created_at {real} NOT NULL, day TEXT NOT NULL, hour TEXT NOT NULL,
                key_id TEXT, project TEXT, user_id TEXT, tags TEXT, requested_model TEXT NOT NULL, model TEXT,
                provider TEXT, provider_model_id TEXT, credential_type TEXT, kind TEXT, attempts TEXT, routing TEXT,
                input_tokens {integer} NOT NULL DEFAULT 0, output_tokens {integer} NOT NULL DEFAULT 0,
                cached_tokens {integer} NOT NULL DEFAULT 0, cache_write_tokens {integer} NOT NULL DEFAULT 0,
                reasoning_tokens {integer} NOT NULL DEFAULT 0, cost {real}, latency_ms {real}, ttft_ms {real},
                status INTEGER, error TEXT, stream SMALLINT, finish_reason TEXT)""",
            f"""CREATE TABLE IF NOT EXISTS {self.tags} (
                generation_id TEXT NOT NULL, tag TEXT NOT NULL, PRIMARY KEY (generation_id, tag))""",
            f"CREATE INDEX IF NOT EXISTS {prefix}gen_created ON {self.gen} (created_at)",
            f"CREATE INDEX IF NOT EXISTS {prefix}gen_key ON {self.gen} (key_id, created_at)",
            f"CREATE INDEX IF NOT EXISTS {prefix}gen_project ON {self.gen} (project, created_at)",
            f"CREATE INDEX IF NOT EXISTS {prefix}gen_tag ON {self.tags} (tag, generation_id)",
        ]
        self.insert = f"INSERT INTO {self.gen} ({cols}) VALUES ({marks}) ON CONFLICT (id) DO NOTHING"
        self.insert_tag = f"INSERT INTO {self.tags} (generation_id, tag) VALUES (?, ?) ON CONFLICT DO NOTHING"
        self.get = f"SELECT {cols} FROM {self.gen} WHERE id = ?"


def _utc(ts: float) -> datetime.datetime:
    return datetime.datetime.fromtimestamp(ts, datetime.timezone.utc)


def credential_type(rec: Any) -> str:
    """``byok`` when the attempt that answered (else the last one) used the caller's own key."""
    attempts = getattr(rec, "attempts", None) or []
    served = next((a for a in reversed(attempts) if a.success), attempts[-1] if attempts else None)
    return getattr(served, "credential", "system") or "system"


@functools.lru_cache(maxsize=32)
def _day_hour(hour: int) -> tuple[str, str]:
    at = _utc(hour * 3600.0)
    return at.strftime("%Y-%m-%d"), at.strftime("%Y-%m-%dT%H:00:00Z")


def row_from_record(rec: GenerationRecord) -> tuple[Any, ...]:
    p = rec.principal
    u = rec.usage or Usage()
    day, hour = _day_hour(int(rec.created_at // 3600))
    tags = [t for t in (rec.tags or []) if isinstance(t, str)]
    routing = {"skipped": rec.skipped, "fallbacks": rec.fallbacks_available}
    ttft = rec.ttft_ms
    return (rec.id, rec.created_at, day, hour,
            getattr(p, "key_id", None), getattr(p, "project", None), rec.user, msgspec.json.encode(tags).decode(),
            rec.requested_model, rec.model, rec.provider, rec.provider_model_id, credential_type(rec), rec.kind,
            msgspec.json.encode(rec.attempts).decode(), msgspec.json.encode(routing).decode(),
            u.input_tokens, u.output_tokens, u.cache_read_tokens, u.cache_write_tokens, u.reasoning_tokens,
            rec.cost, round(rec.latency_ms, 3), None if ttft is None else round(ttft, 3), rec.status, rec.error,
            1 if rec.stream else 0, rec.finish_reason)


def row_dict(row: Any) -> dict[str, Any]:
    d = dict(zip(COLUMNS, tuple(row)))
    d["tags"] = msgspec.json.decode(d["tags"] or "[]")
    d["attempts"] = msgspec.json.decode(d["attempts"] or "[]")
    d["routing"] = msgspec.json.decode(d["routing"] or "{}")
    d["stream"] = bool(d["stream"])
    return d


def record_from_row(row: Any) -> GenerationRecord:
    """A GenerationRecord rebuilt from its row, for ``generation_json`` (``GET /v1/generation``)."""
    d = row if isinstance(row, dict) else row_dict(row)
    rec = GenerationRecord(d["requested_model"], bool(d["stream"]))
    rec.id, rec.created_at, rec.kind = d["id"], d["created_at"], d["kind"] or "language"
    rec.model, rec.provider, rec.provider_model_id = d["model"], d["provider"], d["provider_model_id"]
    rec.attempts = [msgspec.convert(a, Attempt) for a in d["attempts"]]
    rec.skipped = d["routing"].get("skipped", [])
    rec.fallbacks_available = d["routing"].get("fallbacks", [])
    rec.started, rec.ended = 0.0, (d["latency_ms"] or 0.0) / 1000
    rec.first_token_at = None if d["ttft_ms"] is None else d["ttft_ms"] / 1000
    if d["status"] is not None and 200 <= d["status"] < 300 or d["input_tokens"] or d["output_tokens"]:
        rec.usage = Usage(d["input_tokens"], d["output_tokens"], d["cached_tokens"], d["cache_write_tokens"],
                          d["reasoning_tokens"])
    rec.cost, rec.status, rec.error = d["cost"], d["status"] or 0, d["error"]
    if d.get("key_id") or d.get("project"):  # who it belongs to, so lookups can be scoped to the caller
        rec.principal = Principal(key_id=d.get("key_id"), project=d.get("project"))
    rec.finish_reason, rec.user, rec.tags = d["finish_reason"], d["user_id"], d["tags"]
    return rec
