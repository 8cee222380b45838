"""The Gemini and Vertex fakes, checked with Google's and Anthropic's own SDKs: if the real clients
read them, the fakes speak the wire formats the adapters are tested against.

Skipped when google-genai (and with it google-auth) is not installed.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from typing import Any

import pytest

genai = pytest.importorskip("google.genai")
from google.genai import errors, types

from tests.fakes import ToolCall, fake_in_thread
from tests.fakes.gemini_fake import SIGNATURE_BYPASS, GeminiFake, signature_bytes
from tests.fakes.vertex_fake import VertexFake, service_account

KEY = "gk-sdk-test"
WEATHER = types.Tool(function_declarations=[types.FunctionDeclaration(
    name="get_weather", description="Weather for a city",
    parameters_json_schema={"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"],
                            "additionalProperties": False})])
NO_AUTO = types.AutomaticFunctionCallingConfig(disable=True)


@pytest.fixture
def gfake() -> Iterator[GeminiFake]:
    fake, stop = fake_in_thread(GeminiFake, api_key=KEY)
    yield fake
    stop()


@pytest.fixture
def client(gfake: GeminiFake) -> Any:
    return genai.Client(api_key=KEY, http_options=types.HttpOptions(base_url=gfake.base_url))


def test_generate_and_usage(gfake: GeminiFake, client: Any) -> None:
    r = client.models.generate_content(model="gemini-2.5-flash", contents="hello there",
                                       config=types.GenerateContentConfig(system_instruction="be nice", temperature=0.1))
    assert r.text == "echo: hello there"
    assert r.candidates[0].finish_reason == types.FinishReason.STOP
    # The fake's count: words + 1 per content, the system instruction included.
    assert (r.usage_metadata.prompt_token_count, r.usage_metadata.candidates_token_count) == (6, 3)
    sent = gfake.last_request
    assert sent.headers["x-goog-api-key"] == KEY and sent.query == {}
    assert sent.json["systemInstruction"]["parts"] == [{"text": "be nice"}]


def test_stream(gfake: GeminiFake, client: Any) -> None:
    chunks = list(client.models.generate_content_stream(model="gemini-2.5-flash", contents="one two three"))
    assert "".join(c.text for c in chunks) == "echo: one two three"
    assert chunks[-1].candidates[0].finish_reason == types.FinishReason.STOP
    assert chunks[-1].usage_metadata.candidates_token_count == 4
    assert gfake.last_request.query == {"alt": "sse"}


def test_function_calling_round_trip_with_thought_signatures(gfake: GeminiFake, client: Any) -> None:
    gfake.push(tool_calls=[ToolCall("get_weather", {"city": "Paris"})])
    cfg = types.GenerateContentConfig(tools=[WEATHER], automatic_function_calling=NO_AUTO)
    chat = client.chats.create(model="gemini-3-pro-preview", config=cfg)
    r = chat.send_message("weather in Paris?")
    call = r.function_calls[0]
    assert (call.name, call.args) == ("get_weather", {"city": "Paris"})
    assert r.candidates[0].content.parts[0].thought_signature  # Gemini 3 signs its calls
    # The SDK sends the signature back with the history; the fake checks it is one it issued.
    r2 = chat.send_message(types.Part.from_function_response(name="get_weather", response={"content": "sunny"}))
    assert r2.text == "tool said: sunny"
    history = gfake.last_request.json["contents"]
    assert signature_bytes(history[1]["parts"][0]["thoughtSignature"]) in gfake.signatures


def test_missing_or_foreign_signature_is_refused_and_the_bypass_accepted(gfake: GeminiFake, client: Any) -> None:
    call = types.Part(function_call=types.FunctionCall(name="get_weather", args={"city": "Oslo"}))
    answer = types.Part.from_function_response(name="get_weather", response={"content": "cold"})

    def history(part: Any) -> list[Any]:
        return [types.Content(role="user", parts=[types.Part(text="weather?")]),
                types.Content(role="model", parts=[part]), types.Content(role="user", parts=[answer])]

    cfg = types.GenerateContentConfig(tools=[WEATHER], automatic_function_calling=NO_AUTO)
    with pytest.raises(errors.ClientError, match="missing a thought_signature"):
        client.models.generate_content(model="gemini-3-pro-preview", contents=history(call), config=cfg)
    forged = call.model_copy(update={"thought_signature": b"forged"})
    with pytest.raises(errors.ClientError, match="Corrupted thought signature"):
        client.models.generate_content(model="gemini-3-pro-preview", contents=history(forged), config=cfg)
    # The bypass value is itself URL-safe base64: the SDK's bytes field sends it verbatim.
    bypass = call.model_copy(update={"thought_signature": base64.urlsafe_b64decode(SIGNATURE_BYPASS)})
    r = client.models.generate_content(model="gemini-3-pro-preview", contents=history(bypass), config=cfg)
    assert r.text == "tool said: cold"
    # Older models do not check signatures.
    assert client.models.generate_content(model="gemini-2.5-flash", contents=history(call), config=cfg).text


def test_embeddings(gfake: GeminiFake, client: Any) -> None:
    r = client.models.embed_content(model="gemini-embedding-001", contents=["a b", "c"],
                                    config=types.EmbedContentConfig(output_dimensionality=4, task_type="RETRIEVAL_QUERY"))
    assert [len(e.values) for e in r.embeddings] == [4, 4]
    assert gfake.last_request.json["requests"][0]["taskType"] == "RETRIEVAL_QUERY"


def test_errors(gfake: GeminiFake, client: Any) -> None:
    gfake.fail(429, times=1, retry_after=17)
    with pytest.raises(errors.ClientError) as exc:
        client.models.generate_content(model="gemini-2.5-flash", contents="x")
    assert (exc.value.code, exc.value.status) == (429, "RESOURCE_EXHAUSTED")
    assert exc.value.details["error"]["details"][0]["retryDelay"] == "17s"
    gfake.for_next(1, context_window=2)
    with pytest.raises(errors.ClientError, match="The input token count"):
        client.models.generate_content(model="gemini-2.5-flash", contents="a longer prompt than that")
    bad = genai.Client(api_key="wrong", http_options=types.HttpOptions(base_url=gfake.base_url))
    with pytest.raises(errors.ClientError) as exc:
        bad.models.generate_content(model="gemini-2.5-flash", contents="x")
    assert (exc.value.code, exc.value.status) == (400, "INVALID_ARGUMENT")
    assert exc.value.details["error"]["details"][0]["reason"] == "API_KEY_INVALID"


def test_safety_finishes(gfake: GeminiFake, client: Any) -> None:
    gfake.push(finish_reason="SAFETY")
    r = client.models.generate_content(model="gemini-2.5-flash", contents="x")
    assert r.candidates[0].finish_reason == types.FinishReason.SAFETY and r.text is None
    gfake.push(finish_reason="prompt:PROHIBITED_CONTENT")
    r = client.models.generate_content(model="gemini-2.5-flash", contents="x")
    assert not r.candidates and r.prompt_feedback.block_reason == types.BlockedReason.PROHIBITED_CONTENT


# ---- Vertex --------------------------------------------------------------------

@pytest.fixture
def vfake() -> Iterator[VertexFake]:
    fake, stop = fake_in_thread(VertexFake)
    fake.credentials = service_account(fake.token_url)
    yield fake
    stop()


def test_vertex_with_google_auth_and_google_genai(vfake: VertexFake) -> None:
    """google-auth's own service-account flow gets a token from the fake endpoint, which verifies the
    JWT google-auth signed: the fake checks what Google's library sends."""
    from google.oauth2 import service_account as gsa

    creds = gsa.Credentials.from_service_account_info(vfake.credentials,
                                                      scopes=["https://www.googleapis.com/auth/cloud-platform"])
    c = genai.Client(vertexai=True, project="test-project", location="us-central1", credentials=creds,
                     http_options=types.HttpOptions(base_url=vfake.url))
    assert c.models.generate_content(model="gemini-2.5-flash", contents="hi vertex").text == "echo: hi vertex"
    assert vfake.tokens_issued == 1 and vfake.assertions[0][0]["kid"] == "0123456789abcdef"
    assert vfake.last_request.headers["authorization"].startswith("Bearer ya29.fake-1-")
    chunks = list(c.models.generate_content_stream(model="gemini-2.5-flash", contents="a b"))
    assert "".join(ch.text for ch in chunks) == "echo: a b"
    emb = c.models.embed_content(model="text-embedding-005", contents=["a b", "c"])
    assert [e.statistics.token_count for e in emb.embeddings] == [2, 1]
    assert vfake.last_request.path.endswith("/publishers/google/models/text-embedding-005:predict")


def test_vertex_refuses_unknown_tokens_and_other_projects(vfake: VertexFake) -> None:
    from google.oauth2.credentials import Credentials

    c = genai.Client(vertexai=True, project="test-project", location="us-central1",
                     credentials=Credentials(token="ya29.made-up"), http_options=types.HttpOptions(base_url=vfake.url))
    with pytest.raises(errors.ClientError) as exc:
        c.models.generate_content(model="gemini-2.5-flash", contents="x")
    assert (exc.value.code, exc.value.status) == (401, "UNAUTHENTICATED")


def test_vertex_claude_with_anthropic_sdk(vfake: VertexFake) -> None:
    anthropic = pytest.importorskip("anthropic")
    from google.auth.transport.requests import Request
    from google.oauth2 import service_account as gsa

    creds = gsa.Credentials.from_service_account_info(vfake.credentials,
                                                      scopes=["https://www.googleapis.com/auth/cloud-platform"])
    creds.refresh(Request())
    client = anthropic.AnthropicVertex(region="us-central1", project_id="test-project", access_token=creds.token,
                                       base_url=vfake.url + "/v1", max_retries=0)
    msg = client.messages.create(model="claude-sonnet-4-5@20250929", max_tokens=100,
                                 messages=[{"role": "user", "content": "hi claude"}])
    assert msg.content[0].text == "echo: hi claude" and msg.usage.input_tokens == 3
    assert vfake.last_request.path.endswith("/publishers/anthropic/models/claude-sonnet-4-5@20250929:rawPredict")
    assert b"\"model\"" not in vfake.last_request.body  # the raw bytes: the fake may annotate its parsed copy
    with client.messages.stream(model="claude-haiku-4-5@20251001", max_tokens=100,
                                messages=[{"role": "user", "content": "streaming now"}]) as stream:
        assert stream.get_final_text() == "echo: streaming now"
    vfake.fail(529, times=1)
    with pytest.raises(anthropic.APIStatusError) as exc:
        client.messages.create(model="claude-sonnet-4-5@20250929", max_tokens=10,
                               messages=[{"role": "user", "content": "x"}])
    assert exc.value.status_code == 529 and exc.value.body["error"]["type"] == "overloaded_error"
