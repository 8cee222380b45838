"""The Gemini API and Vertex AI adapters: URLs, headers, auth and wiring of the translators."""

from __future__ import annotations

import json
from pathlib import Path

import msgspec
import pytest

from switchyard.canonical import (
    ChatRequest,
    EmbedRequest,
    Message,
    TextDelta,
    TextPart,
    ToolCallPart,
    Usage,
)
from switchyard.config.load import ConfigError
from switchyard.errors import ErrorCategory, UpstreamError
from switchyard.protocols.gemini import ADAPTERS, GeminiAdapter, VertexAdapter
from switchyard.protocols.gemini.vertex import origin, publisher
from switchyard.providers.base import ProviderAdapter
from switchyard.providers.registry import adapter_classes, build_adapters
from tests.fakes.vertex_fake import VertexFake, service_account
from tests.protocols.gemini.helpers import gemini_provider, vertex_provider

REQ = ChatRequest(model="google/gemini-2.5-flash", messages=[Message("user", [TextPart("Hi")])])
STREAM = ChatRequest(model="google/gemini-2.5-flash", messages=REQ.messages, stream=True)


def test_registered_protocols() -> None:
    assert [a.protocol for a in ADAPTERS] == ["gemini", "vertex"]
    classes = adapter_classes()
    assert classes["gemini"] is GeminiAdapter and classes["vertex"] is VertexAdapter
    adapters = build_adapters({"google": gemini_provider(), "vertex": vertex_provider()})
    assert isinstance(adapters["google"], ProviderAdapter) and isinstance(adapters["vertex"], VertexAdapter)


# ---- Gemini API ----

@pytest.mark.parametrize(("base_url", "options", "prefix"), [
    ("https://generativelanguage.googleapis.com", {}, "https://generativelanguage.googleapis.com/v1beta"),
    ("https://generativelanguage.googleapis.com/", {}, "https://generativelanguage.googleapis.com/v1beta"),
    ("https://generativelanguage.googleapis.com/v1beta", {}, "https://generativelanguage.googleapis.com/v1beta"),
    ("https://generativelanguage.googleapis.com", {"api_version": "v1"}, "https://generativelanguage.googleapis.com/v1"),
    ("https://gw.example/acct/google-ai-studio", {}, "https://gw.example/acct/google-ai-studio/v1beta"),
])
def test_gemini_urls(base_url: str, options: dict[str, str], prefix: str) -> None:
    a = GeminiAdapter(gemini_provider(base_url=base_url, options=options))
    assert a.build_chat(REQ, "gemini-2.5-flash").url == f"{prefix}/models/gemini-2.5-flash:generateContent"
    assert a.build_chat(STREAM, "gemini-2.5-flash").url == \
        f"{prefix}/models/gemini-2.5-flash:streamGenerateContent?alt=sse"
    assert a.build_embed(EmbedRequest("m", ["x"]), "gemini-embedding-001").url == \
        f"{prefix}/models/gemini-embedding-001:batchEmbedContents"
    assert a.build_chat(REQ, "tunedModels/my-tune").url == f"{prefix}/tunedModels/my-tune:generateContent"


def test_gemini_key_only_in_its_header() -> None:
    a = GeminiAdapter(gemini_provider(headers={"x-extra": "1"}))
    for call in (a.build_chat(REQ, "gemini-2.5-flash"), a.build_chat(STREAM, "gemini-2.5-flash"),
                 a.build_embed(EmbedRequest("m", ["x"]), "gemini-embedding-001")):
        assert call.headers == {"content-type": "application/json", "x-goog-api-key": "gk-secret", "x-extra": "1"}
        assert "gk-secret" not in call.url and "key=" not in call.url
        assert b"gk-secret" not in call.body
    assert "gk-secret" not in repr(a.provider)


def test_gemini_body_and_wiring() -> None:
    a = GeminiAdapter(gemini_provider())
    assert msgspec.json.decode(a.build_chat(REQ, "gemini-2.5-flash", max_output=65536).body) == {
        "contents": [{"role": "user", "parts": [{"text": "Hi"}]}]}  # no default maxOutputTokens
    r = a.parse_chat(b'{"candidates":[{"content":{"parts":[{"text":"ok"}]},"finishReason":"STOP"}]}')
    assert r.text() == "ok"
    dec = a.stream_decoder()
    assert dec is not a.stream_decoder()
    assert dec.feed(b'data: {"candidates":[{"content":{"parts":[{"text":"x"}]}}]}\r\n\r\n')[1:] == [TextDelta("x")]
    err = a.parse_error(503, {}, b'{"error":{"code":503,"message":"busy","status":"UNAVAILABLE"}}')
    assert err.category is ErrorCategory.OVERLOADED and err.message == "google: busy"
    assert a.prepare is None  # nothing to refresh: the executor skips it


def test_gemini_embeddings_wiring() -> None:
    a = GeminiAdapter(gemini_provider())
    req = EmbedRequest("google/gemini-embedding-001", ["hello world", "abc"], dimensions=8)
    body = msgspec.json.decode(a.build_embed(req, "gemini-embedding-001").body)
    assert body["requests"][0] == {"model": "models/gemini-embedding-001", "outputDimensionality": 8,
                                   "content": {"parts": [{"text": "hello world"}]}}
    raw = b'{"embeddings":[{"values":[0.1,0.2]},{"values":[0.3,0.4]}]}'
    assert a.parse_embed(raw).usage is None
    assert a.parse_embed(raw, req).usage == Usage(input_tokens=4)  # ceil(14 chars / 4)


# ---- Vertex AI ----

@pytest.mark.parametrize(("location", "expected"), [
    ("us-central1", "https://us-central1-aiplatform.googleapis.com"),
    ("europe-west4", "https://europe-west4-aiplatform.googleapis.com"),
    ("global", "https://aiplatform.googleapis.com"),
    ("us", "https://aiplatform.us.rep.googleapis.com"),
    ("eu", "https://aiplatform.eu.rep.googleapis.com"),
])
def test_vertex_origins(location: str, expected: str) -> None:
    assert origin(location) == expected
    a = VertexAdapter(vertex_provider({"location": location}))
    assert a.build_chat(REQ, "gemini-2.5-flash").url == (
        f"{expected}/v1/projects/proj/locations/{location}/publishers/google/models/gemini-2.5-flash:generateContent")


@pytest.mark.parametrize(("model", "pub"), [
    ("gemini-2.5-flash", "google"), ("claude-sonnet-4-5@20250929", "anthropic"), ("claude-opus-5", "anthropic"),
    ("meta/llama-3.3-70b-instruct-maas", "openapi"), ("text-embedding-005", "google"),
])
def test_vertex_publishers(model: str, pub: str) -> None:
    assert publisher(model) == pub


def test_vertex_gemini_calls() -> None:
    a = VertexAdapter(vertex_provider(base_url="http://127.0.0.1:1234/"))
    base = "http://127.0.0.1:1234/v1/projects/proj/locations/us-central1/publishers/google/models/gemini-2.5-flash"
    call = a.build_chat(STREAM, "gemini-2.5-flash")
    assert call.url == f"{base}:streamGenerateContent?alt=sse"
    assert call.headers == {"content-type": "application/json", "authorization": "Bearer ya29.static"}
    assert msgspec.json.decode(call.body) == {"contents": [{"role": "user", "parts": [{"text": "Hi"}]}]}
    assert VertexAdapter(vertex_provider(base_url="http://h/v1")).build_chat(REQ, "m").url.startswith(
        "http://h/v1/projects/")
    embed = a.build_embed(EmbedRequest("m", ["a"]), "text-embedding-005")
    assert embed.url == base.replace("gemini-2.5-flash", "text-embedding-005") + ":predict"


def test_vertex_claude_calls() -> None:
    a = VertexAdapter(vertex_provider({"anthropic_beta": "context-1m-2025-08-07"}))
    call = a.build_chat(ChatRequest(model="anthropic/claude", messages=REQ.messages, stream=True,
                                    provider_options={"vertex": {"top_k": 5}}),
                        "claude-sonnet-4-5@20250929", max_output=64000)
    assert call.url == ("https://us-central1-aiplatform.googleapis.com/v1/projects/proj/locations/us-central1/"
                        "publishers/anthropic/models/claude-sonnet-4-5@20250929:streamRawPredict")
    body = msgspec.json.decode(call.body)
    assert body == {"anthropic_version": "vertex-2023-10-16", "max_tokens": 64000, "stream": True, "top_k": 5,
                    "messages": [{"role": "user", "content": [{"type": "text", "text": "Hi"}]}],
                    "anthropic_beta": ["context-1m-2025-08-07"]}
    assert "model" not in body
    assert call.headers["authorization"] == "Bearer ya29.static" and "x-api-key" not in call.headers
    plain = a.build_chat(ChatRequest(model="x", messages=REQ.messages), "claude-haiku-4-5@20251001")
    assert plain.url.endswith("/publishers/anthropic/models/claude-haiku-4-5@20251001:rawPredict")
    assert VertexAdapter(vertex_provider({"anthropic_version": "vertex-2099-01-01"})).build_chat(
        REQ, "claude-x").body.count(b"vertex-2099-01-01") == 1


def test_vertex_model_as_a_service_calls() -> None:
    a = VertexAdapter(vertex_provider())
    call = a.build_chat(STREAM, "meta/llama-3.3-70b-instruct-maas")
    assert call.url == ("https://us-central1-aiplatform.googleapis.com/v1/projects/proj/locations/us-central1/"
                        "endpoints/openapi/chat/completions")
    body = msgspec.json.decode(call.body)
    assert body["model"] == "meta/llama-3.3-70b-instruct-maas" and body["stream_options"] == {"include_usage": True}


def test_vertex_parses_each_publishers_answer() -> None:
    a = VertexAdapter(vertex_provider())
    gemini = a.parse_chat(b'{"candidates":[{"content":{"parts":[{"text":"g"}]},"finishReason":"STOP"}]}')
    claude = a.parse_chat(b'{"id":"msg_1","type":"message","role":"assistant","model":"claude-x","content":'
                          b'[{"type":"tool_use","id":"toolu_1","name":"f","input":{"a":1}}],"stop_reason":"tool_use",'
                          b'"usage":{"input_tokens":5,"output_tokens":2,"cache_read_input_tokens":10}}')
    maas = a.parse_chat(b'{"id":"c1","object":"chat.completion","model":"meta/llama","choices":[{"index":0,'
                        b'"message":{"role":"assistant","content":"m"},"finish_reason":"stop"}],'
                        b'"usage":{"prompt_tokens":3,"completion_tokens":1,"total_tokens":4}}')
    assert gemini.text() == "g" and maas.text() == "m"
    assert claude.content == [ToolCallPart("toolu_1", "f", '{"a":1}')] and claude.finish_reason == "tool_calls"
    assert claude.usage == Usage(input_tokens=15, output_tokens=2, cache_read_tokens=10)


def test_vertex_errors_in_both_shapes_and_401_drops_the_token(tmp_path: Path) -> None:
    a = VertexAdapter(vertex_provider())
    claude = a.parse_error(529, {}, b'{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}')
    assert claude.category is ErrorCategory.OVERLOADED
    quota = a.parse_error(429, {}, b'{"error":{"code":429,"message":"Quota exceeded for aiplatform.googleapis.com/'
                                   b'online_prediction_requests_per_base_model","status":"RESOURCE_EXHAUSTED"}}')
    assert quota.category is ErrorCategory.RATE_LIMITED and quota.message.startswith("vertex: Quota exceeded")
    assert a.parse_error(502, {}, b"<html>").category is ErrorCategory.SERVER_ERROR
    assert a.parse_error(401, {}, b'{"error":{"code":401,"message":"x","status":"UNAUTHENTICATED"}}').category \
        is ErrorCategory.AUTHENTICATION


def test_vertex_embeddings_wiring() -> None:
    a = VertexAdapter(vertex_provider())
    req = EmbedRequest("google/text-embedding-005", ["a b", "c"], dimensions=256,
                       provider_options={"google": {"task_type": "RETRIEVAL_QUERY"}, "vertex": {"autoTruncate": False}})
    assert msgspec.json.decode(a.build_embed(req, "text-embedding-005").body) == {
        "instances": [{"content": "a b", "task_type": "RETRIEVAL_QUERY"}, {"content": "c", "task_type": "RETRIEVAL_QUERY"}],
        "parameters": {"outputDimensionality": 256, "autoTruncate": False}}
    r = a.parse_embed(b'{"predictions":[{"embeddings":{"values":[1.0],"statistics":{"truncated":false,"token_count":2}}},'
                      b'{"embeddings":{"values":[2.0],"statistics":{"truncated":false,"token_count":1.0}}}],'
                      b'"metadata":{"billableCharacterCount":4}}')
    assert r.embeddings == [[1.0], [2.0]] and r.usage == Usage(input_tokens=3)


def test_vertex_configuration_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="providers.vertex: no credentials"):
        VertexAdapter(vertex_provider({"access_token": None}))
    with pytest.raises(ConfigError, match="options.project is required"):
        VertexAdapter(vertex_provider({"project": None}))
    with pytest.raises(ConfigError, match="cannot read credentials file"):
        VertexAdapter(vertex_provider({"access_token": None, "credentials_file": str(tmp_path / "missing.json")}))
    # The project may come from the service account's key file; the location defaults to global.
    path = tmp_path / "sa.json"
    path.write_text(json.dumps(service_account("http://127.0.0.1:9/token", project_id="from-key")))
    a = VertexAdapter(vertex_provider({"project": None, "location": None, "access_token": None,
                                       "credentials_file": str(path)}))
    assert a._prefix == "https://aiplatform.googleapis.com/v1/projects/from-key/locations/global"


async def test_vertex_needs_prepare_for_a_token_and_refreshes_it(tmp_path: Path) -> None:
    async with VertexFake() as fake:
        fake.credentials = service_account(fake.token_url)
        path = tmp_path / "sa.json"
        path.write_text(json.dumps(fake.credentials))
        a = VertexAdapter(vertex_provider({"access_token": None, "credentials_file": str(path)}, base_url=fake.url))
        with pytest.raises(UpstreamError) as exc:
            a.build_chat(REQ, "gemini-2.5-flash")  # prepare() not awaited yet
        assert exc.value.category is ErrorCategory.AUTHENTICATION
        await a.prepare()
        token = a.build_chat(REQ, "gemini-2.5-flash").headers["authorization"]
        assert token.startswith("Bearer ya29.fake-1-")
        await a.prepare()
        assert fake.tokens_issued == 1  # cached
        a.parse_error(401, {}, b"{}")  # the provider refused it: the next attempt fetches a new one
        await a.prepare()
        assert a.build_chat(REQ, "gemini-2.5-flash").headers["authorization"] != token
        assert fake.tokens_issued == 2
