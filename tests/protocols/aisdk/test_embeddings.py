"""POST {baseURL}/embedding-model: v2 {input} and v3/v4 {values} bodies, and the answer."""

from __future__ import annotations

import json

import pytest

from switchyard.canonical import EmbedResult, Usage
from switchyard.errors import RequestError
from switchyard.protocols.aisdk.embeddings import parse, render_result
from tests.protocols.aisdk.helpers import captured, record


@pytest.mark.parametrize("spec", [2, 3, 4])
def test_captured_embedding_requests(spec: int) -> None:
    body, headers, _ = captured(f"POST /v1/ai/embedding-model spec={spec} stream=-")
    inbound = parse(body, headers, default_spec=2)
    assert inbound.kind == "embedding" and inbound.spec == spec and inbound.stream is False
    assert inbound.route.model == "acme/embed-1" and inbound.route.kind == "embedding"
    req = inbound.canonical()
    assert req.model == "acme/embed-1" and req.inputs == ["sunny day"]


def test_v2_body_without_a_version_header_and_options() -> None:
    body = json.dumps({"input": ["a", "b"], "providerOptions": {
        "gateway": {"order": ["acme"], "models": ["acme/embed-2"], "user": "u"},
        "openai": {"dimensions": 8}}}).encode()
    inbound = parse(body, {"ai-model-id": "acme/embed-1"}, default_spec=4)
    assert inbound.spec == 2  # the body shape says so
    assert list(inbound.route.order) == ["acme"] and list(inbound.route.fallbacks) == ["acme/embed-2"]
    assert inbound.user == "u"
    req = inbound.canonical()
    assert req.inputs == ["a", "b"] and req.provider_options == {"openai": {"dimensions": 8}}


def test_v4_dimensions() -> None:
    body = json.dumps({"values": ["a"], "dimensions": 256}).encode()
    inbound = parse(body, {"ai-model-id": "acme/embed-1", "ai-embedding-model-specification-version": "4"}, 4)
    assert inbound.canonical().dimensions == 256


@pytest.mark.parametrize("body, headers, param", [
    ({"values": ["a"]}, {}, "ai-model-id"),
    ({"values": []}, {"ai-model-id": "m"}, "values"),
    ({"values": [1, 2]}, {"ai-model-id": "m"}, "values"),
    ({"input": None}, {"ai-model-id": "m"}, "input"),
    ({"values": ["a"], "dimensions": 0}, {"ai-model-id": "m"}, "dimensions"),
])
def test_invalid_embedding_requests(body, headers, param) -> None:
    with pytest.raises(RequestError) as exc:
        parse(json.dumps(body).encode(), headers, 4)
    assert exc.value.param == param and exc.value.status == 400


def test_render() -> None:
    rec = record(usage=Usage(input_tokens=2), cost=0.00000004)
    body = json.loads(render_result(EmbedResult([[0.5, -0.25]], Usage(input_tokens=2)), rec))
    assert body["embeddings"] == [[0.5, -0.25]] and body["usage"] == {"tokens": 2} and body["warnings"] == []
    assert body["providerMetadata"]["gateway"]["cost"] == "0.00000004"
    rec.usage = None
    assert "usage" not in json.loads(render_result(EmbedResult([[1.0]]), rec))
