"""Generation records: ids (``gen_`` + a ULID: 48-bit milliseconds, 80 random bits, Crockford base32) and the gateway metadata."""

from __future__ import annotations

import time

from switchyard.telemetry import record
from switchyard.telemetry.record import Attempt, GenerationRecord, new_generation_id

CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def ulid_ms(gen_id: str) -> int:
    v = 0
    for ch in gen_id[4:14]:
        v = v * 32 + CROCKFORD.index(ch)
    return v


def test_ids_are_ulids_carrying_the_current_millisecond():
    before = int(time.time() * 1000)
    ids = [new_generation_id() for _ in range(2000)]
    after = int(time.time() * 1000)
    assert len(set(ids)) == len(ids)
    for gen_id in ids:
        assert gen_id.startswith("gen_") and len(gen_id) == 30
        assert set(gen_id[4:]) <= set(CROCKFORD)
        assert before <= ulid_ms(gen_id) <= after


def test_ids_sort_by_time_and_the_random_part_uses_all_80_bits(monkeypatch):
    clock = iter([1_700_000_000.000, 1_700_000_000.001, 1_700_000_000.001, 1_800_000_000.5])
    monkeypatch.setattr(record.time, "time", lambda: next(clock))
    monkeypatch.setattr(record, "_bits", lambda n: (1 << n) - 1)  # all ones: every random char is Z
    a, b, c, d = (new_generation_id() for _ in range(4))
    assert a < b and b[:14] == c[:14] and c < d
    assert [ulid_ms(x) for x in (a, b, d)] == [1_700_000_000_000, 1_700_000_000_001, 1_800_000_000_500]
    assert a[14:] == "Z" * 16


def test_gateway_metadata_groups_attempts_by_model():
    rec = GenerationRecord("acme/chat", stream=False)
    rec.model, rec.provider, rec.provider_model_id = "acme/chat", "openai", "gpt"
    rec.attempts = [Attempt("openai", "acme/chat", "gpt", 1000.0, 1100.0, True, 200)]
    routing = rec.gateway_metadata()["routing"]
    assert routing["modelAttemptCount"] == 1 and routing["totalProviderAttemptCount"] == 1
    assert routing["modelAttempts"] == [{"modelId": "acme/chat", "success": True, "providerAttemptCount": 1,
                                         "providerAttempts": routing["attempts"]}]
    # two providers fail for the first model, a fallback model answers
    rec.model, rec.provider, rec.provider_model_id = "acme/backup", "anthropic", "claude"
    rec.attempts = [Attempt("openai", "acme/chat", "gpt", 1000.0, 1100.0, False, 500, category="server_error"),
                    Attempt("groq", "acme/chat", "llama", 1100.0, 1200.0, False, 429, category="rate_limited"),
                    Attempt("anthropic", "acme/backup", "claude", 1200.0, 1300.0, True, 200)]
    routing = rec.gateway_metadata()["routing"]
    assert routing["modelAttemptCount"] == 2 and routing["totalProviderAttemptCount"] == 3
    first, second = routing["modelAttempts"]
    assert (first["modelId"], first["success"], first["providerAttemptCount"]) == ("acme/chat", False, 2)
    assert [a["provider"] for a in first["providerAttempts"]] == ["openai", "groq"]
    assert (second["modelId"], second["success"], second["providerAttemptCount"]) == ("acme/backup", True, 1)
    assert routing["finalProvider"] == "anthropic" and routing["canonicalSlug"] == "acme/backup"
