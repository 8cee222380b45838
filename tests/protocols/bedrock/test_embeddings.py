"""Embeddings over InvokeModel: Titan and Cohere bodies."""

from __future__ import annotations

import json

import pytest

from switchyard.canonical import EmbedRequest, Usage
from switchyard.errors import ErrorCategory, RequestError, UpstreamError
from switchyard.protocols.bedrock.embeddings import (
    encode_request,
    header_tokens,
    parse_result,
)


def test_titan_v2_body():
    body = json.loads(encode_request(EmbedRequest("amazon/titan-embed-text-v2", ["hello"], dimensions=256),
                                     "amazon.titan-embed-text-v2:0"))
    assert body == {"inputText": "hello", "normalize": True, "dimensions": 256}


def test_titan_v1_takes_only_input_text_and_options_merge():
    req = EmbedRequest("m", ["hello"], provider_options={"bedrock": {"embeddingTypes": ["float"]}})
    assert json.loads(encode_request(req, "amazon.titan-embed-text-v1")) == {"inputText": "hello",
                                                                              "embeddingTypes": ["float"]}


def test_titan_batch_is_unsupported():
    with pytest.raises(RequestError) as exc:
        encode_request(EmbedRequest("m", ["a", "b"]), "amazon.titan-embed-text-v2:0")
    assert exc.value.category is ErrorCategory.UNSUPPORTED and "one input" in exc.value.message


def test_cohere_body_and_options():
    req = EmbedRequest("m", ["a", "b"], provider_options={"bedrock": {"input_type": "search_query"},
                                                          "aws": {"truncate": "END"}})
    assert json.loads(encode_request(req, "cohere.embed-english-v3", "aws")) == {
        "texts": ["a", "b"], "input_type": "search_query", "embedding_types": ["float"], "truncate": "END"}
    assert json.loads(encode_request(EmbedRequest("m", ["a"], dimensions=512), "us.cohere.embed-v4:0"))[
        "output_dimension"] == 512


def test_cohere_limit_and_unknown_models():
    with pytest.raises(RequestError):
        encode_request(EmbedRequest("m", ["x"] * 97), "cohere.embed-multilingual-v3")
    with pytest.raises(RequestError) as exc:
        encode_request(EmbedRequest("m", ["x"]), "twelvelabs.marengo-embed-2-7-v1:0")
    assert exc.value.category is ErrorCategory.UNSUPPORTED


def test_parse_titan():
    r = parse_result(b'{"embedding":[0.1,0.2],"inputTextTokenCount":3,"embeddingsByType":{"float":[0.1,0.2]}}')
    assert r.embeddings == [[0.1, 0.2]] and r.usage == Usage(input_tokens=3)


def test_parse_cohere_both_shapes_and_estimate_usage():
    floats = {"id": "x", "embeddings": [[1.0], [2.0]], "response_type": "embeddings_floats", "texts": ["abcd", "efghi"]}
    by_type = {**floats, "embeddings": {"float": [[1.0], [2.0]]}, "response_type": "embeddings_by_type"}
    for body in (floats, by_type):
        r = parse_result(json.dumps(body).encode())
        assert r.embeddings == [[1.0], [2.0]] and r.usage == Usage(input_tokens=3)  # ceil(9 / 4)


def test_the_token_count_header_wins_over_the_estimate_and_the_body():
    cohere = json.dumps({"embeddings": [[1.0]], "texts": ["a fairly long text to estimate"]}).encode()
    assert parse_result(cohere, input_tokens=6).usage == Usage(input_tokens=6)
    titan = b'{"embedding":[0.1],"inputTextTokenCount":3}'
    assert parse_result(titan, input_tokens=4).usage == Usage(input_tokens=4)
    assert header_tokens({"x-amzn-bedrock-input-token-count": "12"}) == 12
    for missing in (None, {}, {"x-amzn-bedrock-input-token-count": "n/a"}):
        assert header_tokens(missing) is None


@pytest.mark.parametrize("raw", [b"nope", b'{"embeddings": {"int8": [[1]]}}', b'{"other": 1}'])
def test_unreadable(raw):
    with pytest.raises(UpstreamError) as exc:
        parse_result(raw)
    assert exc.value.category is ErrorCategory.BAD_RESPONSE
