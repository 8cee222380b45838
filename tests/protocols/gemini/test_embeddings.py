"""Embeddings on Google: Gemini API batchEmbedContents and Vertex AI predict."""

from __future__ import annotations

import msgspec
import pytest

from switchyard.canonical import EmbedRequest, Usage
from switchyard.errors import ErrorCategory, UpstreamError
from switchyard.protocols.gemini.embeddings import (
    estimate_usage,
    gemini_body,
    parse_gemini,
    parse_vertex,
    vertex_body,
)


def test_gemini_body_with_task_type_and_title() -> None:
    req = EmbedRequest("google/gemini-embedding-001", ["first", "second"],
                       provider_options={"google": {"task_type": "RETRIEVAL_DOCUMENT", "title": "Doc"},
                                         "google-eu": {"outputDimensionality": 256}})
    body = msgspec.json.decode(gemini_body(req, "gemini-embedding-001", "google-eu"))
    assert body == {"requests": [
        {"model": "models/gemini-embedding-001", "taskType": "RETRIEVAL_DOCUMENT", "title": "Doc",
         "outputDimensionality": 256, "content": {"parts": [{"text": "first"}]}},
        {"model": "models/gemini-embedding-001", "taskType": "RETRIEVAL_DOCUMENT", "title": "Doc",
         "outputDimensionality": 256, "content": {"parts": [{"text": "second"}]}}]}


def test_gemini_usage_reported_or_estimated() -> None:
    raw = b'{"embeddings": [{"values": [0.5, -0.5]}]}'
    assert parse_gemini(raw, "google").embeddings == [[0.5, -0.5]]
    assert parse_gemini(raw, "google").usage is None
    assert parse_gemini(raw, "google", EmbedRequest("m", ["abcde"])).usage == Usage(input_tokens=2)
    reported = b'{"embeddings": [{"values": [1]}], "usageMetadata": {"promptTokenCount": 9}}'
    assert parse_gemini(reported, "google", EmbedRequest("m", ["abcde"])).usage == Usage(input_tokens=9)


@pytest.mark.parametrize(("inputs", "tokens"), [(["a"], 1), (["abcd"], 1), (["abcd", "e"], 2), ([""], 0)])
def test_estimate_rounds_up(inputs: list[str], tokens: int) -> None:
    assert estimate_usage(inputs) == Usage(input_tokens=tokens)


def test_vertex_body_minimal() -> None:
    assert msgspec.json.decode(vertex_body(EmbedRequest("m", ["x"]), "vertex")) == {"instances": [{"content": "x"}]}


@pytest.mark.parametrize("raw", [b"", b"{}", b'{"embeddings": [{}]}', b'{"predictions": [{"values": []}]}', b"[1]"])
def test_unreadable(raw: bytes) -> None:
    for parse in (parse_gemini, parse_vertex):
        with pytest.raises(UpstreamError) as exc:
            parse(raw, "google")
        assert exc.value.category is ErrorCategory.BAD_RESPONSE
