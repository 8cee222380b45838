"""AI SDK call options -> routing facts and the canonical ChatRequest, for spec v2, v3 and v4."""

from __future__ import annotations

import json

import pytest

from switchyard.canonical import (
    ImagePart,
    ReasoningPart,
    ResponseFormat,
    TextPart,
    Tool,
    ToolCallPart,
    ToolChoice,
    ToolResultPart,
)
from switchyard.errors import ErrorCategory, RequestError
from switchyard.protocols.aisdk.request_in import parse
from tests.protocols.aisdk.helpers import call, captured, lm_headers


@pytest.mark.parametrize("spec", [2, 3, 4])
def test_captured_non_streaming_request(spec: int) -> None:
    body, headers, _ = captured(f"POST /v1/ai/language-model spec={spec} stream=false")
    inbound = parse(body, headers, default_spec=2)  # the header wins over the /v1/ai prefix
    assert inbound.spec == spec and inbound.stream is False and inbound.kind == "language"
    route = inbound.route
    assert route.model == "acme/echo-1"
    assert list(route.fallbacks) == ["acme/echo-2"]
    assert list(route.order) == ["acme", "bedrock"] and list(route.only) == ["acme"]
    assert route.max_tokens == 50 and route.needs == frozenset()
    assert inbound.user == "u-1" and inbound.tags == ["t1"]
    req = inbound.canonical()
    assert req.model == "acme/echo-1" and req.stream is False
    assert req.max_tokens == 50 and req.temperature == 0.2
    assert req.messages[0].role == "user" and req.messages[0].content == [TextPart("hello world")]
    assert req.provider_options == {"acme": {"foo": "bar"}}  # gateway options are never forwarded
    assert req.tools is None and req.tool_choice is None  # v4 sends toolChoice auto without tools


@pytest.mark.parametrize("spec", [2, 3, 4])
def test_captured_streaming_request(spec: int) -> None:
    body, headers, _ = captured(f"POST /v1/ai/language-model spec={spec} stream=true")
    inbound = parse(body, headers, default_spec=4)
    assert inbound.stream is True and inbound.spec == spec
    req = inbound.canonical()
    assert req.stream is True and req.include_usage is True
    assert req.messages[0].content == [TextPart("stream me please")]


def test_version_falls_back_to_the_prefix_and_model_header_is_required() -> None:
    headers = lm_headers()
    del headers["ai-language-model-specification-version"]
    assert parse(call(), headers, default_spec=3).spec == 3
    headers["ai-language-model-specification-version"] = "9"  # not one we speak
    assert parse(call(), headers, default_spec=2).spec == 2
    with pytest.raises(RequestError) as exc:
        parse(call(), {"ai-language-model-streaming": "false"}, 4)
    assert exc.value.param == "ai-language-model-id"


@pytest.mark.parametrize("body, param", [
    (b"{not json", None),
    (b"[1]", None),
    (call(prompt="hi"), "prompt"),
    (call(prompt=[{"role": "robot", "content": []}]), "prompt[0].role"),
    (call(maxOutputTokens="50"), "maxOutputTokens"),
    (call(maxOutputTokens=0), "maxOutputTokens"),
    (call(temperature=True), "temperature"),
    (call(stopSequences="END"), "stopSequences"),
    (call(toolChoice={"type": "sometimes"}), "toolChoice"),
    (call(responseFormat={"type": "xml"}), "responseFormat"),
    (call(providerOptions={"gateway": {"order": "acme"}}), "providerOptions.gateway.order"),
    (call(providerOptions={"gateway": {"models": [1]}}), "providerOptions.gateway.models"),
    (call(providerOptions="x"), "providerOptions"),
])
def test_invalid_requests_are_400s_naming_the_field(body: bytes, param: str | None) -> None:
    with pytest.raises(RequestError) as exc:
        parse(body, lm_headers(), 4)
    assert exc.value.status == 400 and exc.value.param == param


def test_unknown_keys_are_ignored_and_gateway_options_too() -> None:
    body = call(includeRawChunks=True, headers={"x": "y"}, somethingNew={"a": 1},
                providerOptions={"gateway": {"byok": {"openai": [{"apiKey": "sk"}]}, "zeroDataRetention": True,
                                             "models": [{"model": "acme/cond", "when": {}}, "acme/b"],
                                             "sort": "cost"}})
    inbound = parse(body, lm_headers(), 4)
    assert list(inbound.route.fallbacks) == ["acme/cond", "acme/b"]
    if "sort" in type(inbound.route).__struct_fields__:
        assert inbound.route.sort == "cost"
    assert inbound.canonical().provider_options == {}


def test_call_settings_translate() -> None:
    body = call(maxOutputTokens=99, temperature=0.5, topP=0.9, topK=40, stopSequences=["END"], seed=7,
                presencePenalty=0.1, frequencyPenalty=0.2, reasoning="high",
                responseFormat={"type": "json", "schema": {"type": "object"}, "name": "out", "description": "d"})
    inbound = parse(body, lm_headers(), 4)
    assert "json" in inbound.route.needs
    req = inbound.canonical()
    assert (req.max_tokens, req.temperature, req.top_p, req.top_k, req.stop, req.seed) == (99, 0.5, 0.9, 40, ["END"], 7)
    assert (req.presence_penalty, req.frequency_penalty, req.reasoning_effort) == (0.1, 0.2, "high")
    assert req.response_format == ResponseFormat("json_schema", schema={"type": "object"}, name="out",
                                                 description="d")
    assert parse(call(responseFormat={"type": "json"}), lm_headers(), 4).canonical().response_format \
        == ResponseFormat("json_object")
    assert parse(call(responseFormat={"type": "text"}), lm_headers(), 4).canonical().response_format is None
    assert parse(call(reasoning="provider-default"), lm_headers(), 4).canonical().reasoning_effort is None
    assert parse(call(reasoning="max"), lm_headers(), 4).canonical().reasoning_effort == "xhigh"


WEATHER = {"type": "function", "name": "get_weather", "description": "Weather",
           "inputSchema": {"type": "object", "properties": {"city": {"type": "string"}}}, "strict": True}


@pytest.mark.parametrize("choice, expected", [
    ({"type": "auto"}, ToolChoice("auto")), ({"type": "required"}, ToolChoice("required")),
    ({"type": "none"}, ToolChoice("none")),
    ({"type": "tool", "toolName": "get_weather"}, ToolChoice("tool", "get_weather")),
])
def test_tools_and_tool_choice(choice, expected) -> None:
    inbound = parse(call(tools=[WEATHER], toolChoice=choice), lm_headers(), 4)
    assert ("tools" in inbound.route.needs) == (expected.mode != "none")
    req = inbound.canonical()
    assert req.tools == [Tool("get_weather", WEATHER["inputSchema"], "Weather", True)]
    assert req.tool_choice == expected


@pytest.mark.parametrize("tool", [
    {"type": "provider-defined", "id": "openai.web_search", "name": "web_search", "args": {}},  # v2
    {"type": "provider", "id": "anthropic.web_search_20250305", "name": "web_search", "args": {}},  # v3/v4
])
def test_provider_tools_are_unsupported(tool) -> None:
    with pytest.raises(RequestError) as exc:
        parse(call(tools=[WEATHER, tool]), lm_headers(), 4)
    assert exc.value.category is ErrorCategory.UNSUPPORTED and exc.value.param == "tools[1]"


def test_provider_options_are_forwarded_in_wire_spelling() -> None:
    options = {
        "gateway": {"order": ["openai"]},
        "openai": {"reasoningEffort": "low", "parallelToolCalls": False, "serviceTier": "flex",
                   "structuredOutputs": True, "textVerbosity": "low", "metadata": {"traceId": "x"}},
        "anthropic": {"thinking": {"type": "enabled", "budgetTokens": 1024}, "sendReasoning": True,
                      "disableParallelToolUse": True},
        "notAnObject": 3,
    }
    req = parse(call(providerOptions=options), lm_headers(), 4).canonical()
    assert req.provider_options == {
        "openai": {"service_tier": "flex", "verbosity": "low", "metadata": {"traceId": "x"}},
        "anthropic": {"thinking": {"type": "enabled", "budget_tokens": 1024}},
    }
    assert req.reasoning_effort == "low" and req.parallel_tool_calls is False


# ---- the prompt ----

def prompt_of(prompt, spec: int = 4):
    inbound = parse(call(prompt=prompt), lm_headers(spec), spec)
    return inbound, inbound.canonical().messages


def test_conversation_with_tools_and_reasoning() -> None:
    prompt = [
        {"role": "system", "content": "be brief"},
        {"role": "user", "content": [{"type": "text", "text": "weather?"}]},
        {"role": "assistant", "content": [
            {"type": "reasoning", "text": "thinking", "providerOptions": {"anthropic": {"signature": "sig"}}},
            {"type": "reasoning", "text": "", "providerOptions": {"anthropic": {"redactedData": "opaque"}}},
            {"type": "text", "text": "let me look"},
            {"type": "tool-call", "toolCallId": "c1", "toolName": "get_weather", "input": {"city": "Paris"}},
            {"type": "tool-call", "toolCallId": "srv", "toolName": "web_search", "input": {}, "providerExecuted": True},
            {"type": "tool-result", "toolCallId": "srv", "toolName": "web_search",
             "output": {"type": "json", "value": []}},
        ]},
        {"role": "tool", "content": [
            {"type": "tool-result", "toolCallId": "c1", "toolName": "get_weather",
             "output": {"type": "text", "value": "sunny"}},
            {"type": "tool-approval-response", "approvalId": "a1", "approved": True},
        ]},
    ]
    _, messages = prompt_of(prompt)
    assert [m.role for m in messages] == ["system", "user", "assistant", "tool"]
    assert messages[0].content == [TextPart("be brief")]
    assert messages[2].content == [ReasoningPart("thinking", signature="sig"), ReasoningPart(redacted="opaque"),
                                   TextPart("let me look"), ToolCallPart("c1", "get_weather", '{"city":"Paris"}')]
    assert messages[3].content == [ToolResultPart("c1", [TextPart("sunny")])]


@pytest.mark.parametrize("output, text, is_error", [
    ({"type": "text", "value": "ok"}, "ok", False),
    ({"type": "json", "value": {"temp": 21}}, '{"temp":21}', False),
    ({"type": "json", "value": "a string"}, '"a string"', False),
    ({"type": "error-text", "value": "boom"}, "boom", True),
    ({"type": "error-json", "value": {"code": 1}}, '{"code":1}', True),
    ({"type": "execution-denied", "reason": "user said no"}, "user said no", True),
    ({"type": "execution-denied"}, "Tool execution denied.", True),
])
def test_tool_result_outputs(output, text, is_error) -> None:
    _, messages = prompt_of([{"role": "tool", "content": [
        {"type": "tool-result", "toolCallId": "c", "toolName": "t", "output": output}]}])
    assert messages[0].content == [ToolResultPart("c", [TextPart(text)], is_error=is_error)]


@pytest.mark.parametrize("spec, items", [
    (2, [{"type": "text", "text": "see"}, {"type": "media", "data": "iVBORw==", "mediaType": "image/png"}]),
    (3, [{"type": "text", "text": "see"}, {"type": "image-data", "data": "iVBORw==", "mediaType": "image/png"}]),
    (4, [{"type": "text", "text": "see"}, {"type": "file", "data": {"type": "data", "data": "iVBORw=="},
                                           "mediaType": "image/png"}]),
])
def test_tool_result_content_with_an_image(spec, items) -> None:
    _, messages = prompt_of([{"role": "tool", "content": [{"type": "tool-result", "toolCallId": "c", "toolName": "t",
                                                          "output": {"type": "content", "value": items}}]}], spec)
    assert messages[0].content == [ToolResultPart("c", [TextPart("see"), ImagePart(data="iVBORw==",
                                                                                       media_type="image/png")])]


@pytest.mark.parametrize("spec, data, expected", [
    (2, "data:image/png;base64,iVBORw==", ImagePart(data="iVBORw==", media_type="image/png")),
    (3, "data:image/png;base64,iVBORw==", ImagePart(data="iVBORw==", media_type="image/png")),
    (3, "https://x.test/cat.png", ImagePart(url="https://x.test/cat.png")),
    (3, "iVBORw==", ImagePart(data="iVBORw==", media_type="image/png")),
    (4, {"type": "data", "data": "iVBORw=="}, ImagePart(data="iVBORw==", media_type="image/png")),
    (4, {"type": "url", "url": "https://x.test/cat.png"}, ImagePart(url="https://x.test/cat.png")),
])
def test_image_file_parts_per_version(spec, data, expected) -> None:
    inbound, messages = prompt_of([{"role": "user", "content": [
        {"type": "text", "text": "what is this?"}, {"type": "file", "mediaType": "image/png", "data": data}]}], spec)
    assert messages[0].content == [TextPart("what is this?"), expected]
    assert "vision" in inbound.route.needs


def test_text_files_become_text_and_other_files_are_unsupported() -> None:
    _, messages = prompt_of([{"role": "user", "content": [
        {"type": "file", "mediaType": "text/plain", "data": {"type": "data", "data": "aGVsbG8="}},
        {"type": "file", "mediaType": "text/markdown", "data": {"type": "text", "text": "# title"}},
        {"type": "file", "mediaType": "application/json", "data": "data:application/json;base64,e30="},
    ]}])
    assert messages[0].content == [TextPart("hello"), TextPart("# title"), TextPart("{}")]
    for data in ({"type": "data", "data": "JVBERi0="}, {"type": "reference", "reference": {"openai": "file-1"}}):
        inbound = parse(call(prompt=[{"role": "user", "content": [
            {"type": "file", "mediaType": "application/pdf", "data": data}]}]), lm_headers(), 4)
        with pytest.raises(RequestError) as exc:
            inbound.canonical()
        assert exc.value.category is ErrorCategory.UNSUPPORTED and exc.value.param == "prompt[0].content[0]"


def test_invalid_base64_image_is_a_400() -> None:
    inbound = parse(call(prompt=[{"role": "user", "content": [
        {"type": "file", "mediaType": "image/png", "data": {"type": "data", "data": "%%%not base64"}}]}]),
        lm_headers(), 4)
    with pytest.raises(RequestError) as exc:
        inbound.canonical()
    assert exc.value.status == 400 and exc.value.category is ErrorCategory.INVALID_REQUEST


def test_anthropic_cache_control_on_parts_and_messages() -> None:
    cc = {"type": "ephemeral"}
    _, messages = prompt_of([
        {"role": "system", "content": "long system", "providerOptions": {"anthropic": {"cacheControl": cc}}},
        {"role": "user", "content": [
            {"type": "text", "text": "a", "providerOptions": {"anthropic": {"cacheControl": cc}}},
            {"type": "text", "text": "b"}]},
        {"role": "user", "content": [{"type": "text", "text": "c"}, {"type": "text", "text": "d"}],
         "providerOptions": {"anthropic": {"cacheControl": cc}}},
    ])
    assert messages[0].content == [TextPart("long system", cache_control=cc)]
    assert messages[1].content == [TextPart("a", cache_control=cc), TextPart("b")]
    assert messages[2].content == [TextPart("c"), TextPart("d", cache_control=cc)]


def test_prompt_size_estimate_counts_text_and_tool_traffic() -> None:
    prompt = [{"role": "system", "content": "x" * 400},
              {"role": "assistant", "content": [{"type": "tool-call", "toolCallId": "c", "toolName": "t",
                                                 "input": {"q": "y" * 400}}]}]
    inbound = parse(call(prompt=prompt), lm_headers(), 4)
    assert inbound.route.est_input_tokens >= 200
    json.dumps(inbound.raw)  # the raw body is kept as decoded JSON


def test_lenient_shapes_from_hand_written_clients() -> None:
    _, messages = prompt_of([
        {"role": "user", "content": "plain string"},
        {"role": "assistant", "content": [
            {"type": "tool-call", "toolCallId": "c", "toolName": "t", "input": '{"a":1}'}]},
        {"role": "tool", "content": [{"type": "tool-result", "toolCallId": "c", "toolName": "t", "result": {"ok": 1}}]},
    ])
    assert messages[0].content == [TextPart("plain string")]
    assert messages[1].content == [ToolCallPart("c", "t", '{"a":1}')]
    assert messages[2].content == [ToolResultPart("c", [TextPart('{"ok":1}')])]
