"""A caller's Chat Completions body: validation, routing facts and translation to canonical."""

from __future__ import annotations

import json
from typing import Any

import pytest

from switchyard.canonical import (
    ChatRequest,
    ImagePart,
    Message,
    ResponseFormat,
    TextPart,
    Tool,
    ToolCallPart,
    ToolChoice,
    ToolResultPart,
)
from switchyard.errors import ErrorCategory, RequestError
from switchyard.protocols.openai_chat.request_in import parse_request, to_canonical

USER = [{"role": "user", "content": "Hello!"}]
# A 1x1 transparent PNG.
PNG_B64 = ("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==")


def raw(body: Any) -> bytes:
    return json.dumps(body).encode()


def parse(**fields: Any):
    body = {"model": "openai/gpt-4o", "messages": USER, **fields}
    return parse_request(raw(body))


def error_of(body: bytes) -> RequestError:
    with pytest.raises(RequestError) as info:
        parse_request(body)
    return info.value


def field_error(**fields: Any) -> RequestError:
    return error_of(raw({"model": "openai/gpt-4o", "messages": USER, **fields}))


# ---- validation ----

def test_malformed_json() -> None:
    err = error_of(b'{"model": "openai/gpt-4o", "messages": [')
    assert err.category is ErrorCategory.INVALID_REQUEST
    assert err.status == 400
    assert "not valid JSON" in err.message


@pytest.mark.parametrize("body", [b"[]", b'"hello"', b"42", b"null"])
def test_body_must_be_an_object(body: bytes) -> None:
    err = error_of(body)
    assert err.status == 400
    assert "JSON object" in err.message


@pytest.mark.parametrize("model", [None, "", 42, ["openai/gpt-4o"]])
def test_model_missing_or_not_a_string(model: Any) -> None:
    body: dict[str, Any] = {"messages": USER}
    if model is not None:
        body["model"] = model
    err = error_of(raw(body))
    assert err.param == "model"
    assert "model" in err.message


@pytest.mark.parametrize("messages", [None, [], "hi", {"role": "user", "content": "hi"}])
def test_messages_missing_empty_or_not_an_array(messages: Any) -> None:
    body: dict[str, Any] = {"model": "openai/gpt-4o"}
    if messages is not None:
        body["messages"] = messages
    err = error_of(raw(body))
    assert err.param == "messages"
    assert "non-empty array" in err.message


def test_message_must_be_an_object() -> None:
    err = field_error(messages=[{"role": "user", "content": "a"}, "b"])
    assert err.param == "messages[1]"


@pytest.mark.parametrize("role", ["robot", None, "USER", 3])
def test_bad_role_names_the_message(role: Any) -> None:
    msgs: list[dict[str, Any]] = [{"role": "system", "content": "Be brief."}, {"content": "hi"}]
    if role is not None:
        msgs[1]["role"] = role
    err = field_error(messages=msgs)
    assert err.param == "messages[1].role"
    assert "messages[1].role" in err.message
    assert repr(role) in err.message


@pytest.mark.parametrize("content,got", [(42, "integer"), ({"text": "hi"}, "object"), (True, "boolean")])
def test_bad_content_type(content: Any, got: str) -> None:
    err = field_error(messages=[{"role": "user", "content": content}])
    assert err.param == "messages[0].content"
    assert got in err.message


def test_content_required_except_for_assistant() -> None:
    err = field_error(messages=[{"role": "user"}])
    assert err.param == "messages[0].content"
    assert "Missing" in err.message
    # An assistant turn with only tool calls has content null.
    inbound = parse(messages=[*USER, {"role": "assistant", "content": None, "tool_calls": [
        {"id": "call_1", "type": "function", "function": {"name": "f", "arguments": "{}"}}]}])
    assert inbound.route.model == "openai/gpt-4o"


@pytest.mark.parametrize("part", ["text", {"text": "no type"}, {"type": 7}])
def test_content_part_without_type(part: Any) -> None:
    err = field_error(messages=[{"role": "user", "content": [{"type": "text", "text": "ok"}, part]}])
    assert err.param == "messages[0].content[1]"


@pytest.mark.parametrize("part", [{"type": "text"}, {"type": "text", "text": None}, {"type": "text", "text": 5}])
def test_text_part_without_text(part: Any) -> None:
    err = field_error(messages=[{"role": "user", "content": [part]}])
    assert err.param == "messages[0].content[0].text"
    assert "expected a string" in err.message


def test_tool_calls_must_be_an_array() -> None:
    err = field_error(messages=[*USER, {"role": "assistant", "content": None, "tool_calls": {"id": "x"}}])
    assert err.param == "messages[1].tool_calls"


@pytest.mark.parametrize("key,value,got", [
    ("temperature", "0.7", "string"),
    ("top_p", [1], "array"),
    ("presence_penalty", {}, "object"),
    ("frequency_penalty", "high", "string"),
    ("max_tokens", 1.5, "number"),
    ("max_tokens", "100", "string"),
    ("max_completion_tokens", 10.0, "number"),
    ("seed", 1.5, "number"),
    ("stream", "true", "string"),
    ("stream", 1, "integer"),
    ("stream_options", True, "boolean"),
    ("tools", {"type": "function"}, "object"),
    ("response_format", "json_object", "string"),
    ("user", 42, "integer"),
    ("parallel_tool_calls", "yes", "string"),
    ("n", "1", "string"),
])
def test_wrong_types_name_the_field(key: str, value: Any, got: str) -> None:
    err = field_error(**{key: value})
    assert err.param == key
    assert f"'{key}'" in err.message
    assert f"but got {got}" in err.message
    assert err.category is ErrorCategory.INVALID_REQUEST


@pytest.mark.parametrize("key", ["temperature", "top_p", "max_tokens", "max_completion_tokens", "seed", "n"])
def test_bool_is_not_a_number(key: str) -> None:
    err = field_error(**{key: True})
    assert err.param == key
    assert "but got boolean" in err.message


def test_numbers_accept_int_and_float() -> None:
    inbound = parse(temperature=1, top_p=0.5, presence_penalty=-1.5, frequency_penalty=0)
    assert inbound.raw["temperature"] == 1


@pytest.mark.parametrize("n", [0, 2, 5])
def test_n_other_than_one(n: int) -> None:
    err = field_error(n=n)
    assert err.param == "n"
    assert "n=1" in err.message


def test_n_one_is_fine() -> None:
    assert parse(n=1).route.model == "openai/gpt-4o"


@pytest.mark.parametrize("key", ["max_tokens", "max_completion_tokens"])
def test_max_tokens_at_least_one(key: str) -> None:
    err = field_error(**{key: 0})
    assert err.param == key


@pytest.mark.parametrize("stop", [5, [1, 2], ["a", None]])
def test_stop_must_be_string_or_strings(stop: Any) -> None:
    assert field_error(stop=stop).param == "stop"


def test_stop_string_or_list_accepted() -> None:
    parse(stop="END")
    parse(stop=["a", "b"])


@pytest.mark.parametrize("tool", [
    {"type": "function"},
    {"type": "function", "function": "get_weather"},
    {"type": "function", "function": {"description": "no name"}},
    "get_weather",
])
def test_bad_tool(tool: Any) -> None:
    good = {"type": "function", "function": {"name": "ok", "parameters": {"type": "object"}}}
    err = field_error(tools=[good, tool])
    assert err.param == "tools[1]"


@pytest.mark.parametrize("rf,param", [
    ({"type": "xml"}, "response_format.type"),
    ({}, "response_format.type"),
    ({"type": "json_schema"}, "response_format.json_schema"),
    ({"type": "json_schema", "json_schema": "x"}, "response_format.json_schema"),
])
def test_bad_response_format(rf: dict[str, Any], param: str) -> None:
    assert field_error(response_format=rf).param == param


@pytest.mark.parametrize("fields,param", [
    ({"models": "openai/gpt-4o-mini"}, "models"),
    ({"models": ["a/b", 3]}, "models"),
    ({"providerOptions": []}, "providerOptions"),
    ({"providerOptions": {"gateway": "x"}}, "providerOptions.gateway"),
    ({"providerOptions": {"gateway": {"order": "openai"}}}, "providerOptions.gateway.order"),
    ({"providerOptions": {"gateway": {"only": [1]}}}, "providerOptions.gateway.only"),
    ({"providerOptions": {"gateway": {"models": "a/b"}}}, "providerOptions.gateway.models"),
    ({"providerOptions": {"gateway": {"tags": [None]}}}, "providerOptions.gateway.tags"),
])
def test_bad_gateway_options(fields: dict[str, Any], param: str) -> None:
    assert field_error(**fields).param == param


# ---- routing facts ----

def test_plain_request_route() -> None:
    inbound = parse()
    r = inbound.route
    assert r.model == "openai/gpt-4o"
    assert r.fallbacks == ()
    assert r.order is None and r.only is None
    assert r.needs == frozenset()
    assert r.max_tokens is None
    assert inbound.stream is False and inbound.wants_usage is False
    assert inbound.raw["messages"] == USER


def test_needs_tools() -> None:
    tools = [{"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object"}}}]
    assert parse(tools=tools).route.needs == {"tools"}
    # tool_choice none: the tools are never called, any provider will do.
    assert parse(tools=tools, tool_choice="none").route.needs == frozenset()
    assert parse(tools=[]).route.needs == frozenset()


def test_needs_vision() -> None:
    msgs = [{"role": "user", "content": [
        {"type": "text", "text": "What is this?"},
        {"type": "image_url", "image_url": {"url": "https://example.com/cat.png"}},
    ]}]
    assert parse(messages=msgs).route.needs == {"vision"}


@pytest.mark.parametrize("rf,needs", [
    ({"type": "text"}, frozenset()),
    ({"type": "json_object"}, {"json"}),
    ({"type": "json_schema", "json_schema": {"name": "x", "schema": {"type": "object"}}}, {"json"}),
])
def test_needs_json(rf: dict[str, Any], needs: Any) -> None:
    assert parse(response_format=rf).route.needs == needs


def test_needs_combined() -> None:
    msgs = [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "https://x.test/a.png"}}]}]
    tools = [{"type": "function", "function": {"name": "f"}}]
    r = parse(messages=msgs, tools=tools, response_format={"type": "json_object"}).route
    assert r.needs == {"tools", "vision", "json"}


def test_est_input_tokens_counts_text_chars() -> None:
    text = "x" * 4000
    r = parse(messages=[{"role": "system", "content": "y" * 400},
                        {"role": "user", "content": [{"type": "text", "text": text}]}]).route
    assert r.est_input_tokens == (4000 + 400) // 4
    # tool call arguments in the history count too
    r2 = parse(messages=[*USER, {"role": "assistant", "content": None, "tool_calls": [
        {"id": "c", "type": "function", "function": {"name": "f", "arguments": "z" * 800}}]}]).route
    assert r2.est_input_tokens == (len("Hello!") + 800) // 4


def test_est_input_tokens_grows_with_tools() -> None:
    base = parse().route.est_input_tokens
    tools = [{"type": "function", "function": {"name": "n" * 100, "description": "d" * 300}}]
    assert parse(tools=tools).route.est_input_tokens > base


def test_max_tokens() -> None:
    assert parse(max_tokens=256).route.max_tokens == 256
    assert parse(max_completion_tokens=512).route.max_tokens == 512
    # max_completion_tokens (the current name) wins over the deprecated one
    assert parse(max_tokens=256, max_completion_tokens=512).route.max_tokens == 512


def test_stream_and_usage() -> None:
    inbound = parse(stream=True)
    assert inbound.stream is True and inbound.wants_usage is False
    inbound = parse(stream=True, stream_options={"include_usage": True})
    assert inbound.stream is True and inbound.wants_usage is True
    # include_usage is meaningless without stream
    assert parse(stream_options={"include_usage": True}).wants_usage is False


def test_fallbacks_from_models() -> None:
    r = parse(models=["openai/gpt-4o", "anthropic/claude-sonnet-4", "openai/gpt-4o-mini"]).route
    assert r.fallbacks == ("anthropic/claude-sonnet-4", "openai/gpt-4o-mini")


def test_fallbacks_from_gateway_options() -> None:
    r = parse(providerOptions={"gateway": {"models": ["openai/gpt-4o-mini"]}}).route
    assert r.fallbacks == ("openai/gpt-4o-mini",)
    # top-level models wins
    r = parse(models=["a/b"], providerOptions={"gateway": {"models": ["c/d"]}}).route
    assert r.fallbacks == ("a/b",)
    # snake_case spelling is read too
    r = parse(provider_options={"gateway": {"models": ["c/d"]}}).route
    assert r.fallbacks == ("c/d",)


def test_order_and_only() -> None:
    r = parse(providerOptions={"gateway": {"order": ["azure", "openai"], "only": ["openai", "azure"]}}).route
    assert list(r.order) == ["azure", "openai"]
    assert list(r.only) == ["openai", "azure"]


def test_openrouter_provider_order() -> None:
    r = parse(provider={"order": ["groq", "together"], "only": ["groq"], "allow_fallbacks": False}).route
    assert list(r.order) == ["groq", "together"]
    assert list(r.only) == ["groq"]
    # providerOptions.gateway wins over the OpenRouter spelling
    r = parse(provider={"order": ["groq"]}, providerOptions={"gateway": {"order": ["together"]}}).route
    assert list(r.order) == ["together"]


def test_user_and_tags() -> None:
    inbound = parse(user="u-1", providerOptions={"gateway": {"tags": ["a", "b"]}})
    assert inbound.user == "u-1"
    assert inbound.tags == ["a", "b"]
    assert parse(user="u-1", providerOptions={"gateway": {"user": "u-2"}}).user == "u-2"


def test_unknown_fields_are_kept_in_raw() -> None:
    inbound = parse(logit_bias={"50256": -100}, service_tier="flex")
    assert inbound.raw["logit_bias"] == {"50256": -100}
    assert inbound.raw["service_tier"] == "flex"


# ---- translation to canonical ----

def canonical(**fields: Any) -> ChatRequest:
    inbound = parse(**fields)
    return inbound.canonical()


def test_canonical_minimal() -> None:
    req = canonical()
    assert req == ChatRequest(model="openai/gpt-4o", messages=[Message("user", [TextPart("Hello!")])])


def test_system_and_developer_become_system() -> None:
    req = canonical(messages=[
        {"role": "system", "content": "You are terse."},
        {"role": "developer", "content": [{"type": "text", "text": "Answer in French."}]},
        *USER,
    ])
    assert req.messages[0] == Message("system", [TextPart("You are terse.")])
    assert req.messages[1] == Message("system", [TextPart("Answer in French.")])
    assert req.messages[2].role == "user"


def test_user_text_and_images() -> None:
    req = canonical(messages=[{"role": "user", "name": "alice", "content": [
        {"type": "text", "text": "Compare these."},
        {"type": "image_url", "image_url": {"url": "https://example.com/a.jpg", "detail": "high"}},
        {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{PNG_B64}"}},
        {"type": "image_url", "image_url": {"url": f"data:image/webp;base64,{PNG_B64}", "detail": "low"}},
    ]}])
    m = req.messages[0]
    assert m.role == "user" and m.name == "alice"
    assert m.content == [
        TextPart("Compare these."),
        ImagePart(url="https://example.com/a.jpg", detail="high"),
        ImagePart(data=PNG_B64, media_type="image/png"),
        ImagePart(data=PNG_B64, media_type="image/webp", detail="low"),
    ]
    assert req.has_images()


def test_text_part_cache_control_is_kept() -> None:
    req = canonical(messages=[{"role": "user", "content": [
        {"type": "text", "text": "long doc", "cache_control": {"type": "ephemeral"}}]}])
    assert req.messages[0].content == [TextPart("long doc", cache_control={"type": "ephemeral"})]


@pytest.mark.parametrize("url", [
    "ftp://example.com/a.png",
    "data:image/png,notbase64",
    "data:image/png;base64,@@@@not*base64",
    "",
])
def test_bad_image_url(url: str) -> None:
    inbound = parse(messages=[{"role": "user", "content": [{"type": "image_url", "image_url": {"url": url}}]}])
    with pytest.raises(RequestError) as info:
        inbound.canonical()
    assert info.value.param == "messages[0].content[0].image_url.url"


def test_assistant_with_tool_calls_and_tool_results() -> None:
    req = canonical(messages=[
        {"role": "user", "content": "Weather in Paris and Rome?"},
        {"role": "assistant", "content": "Checking.", "tool_calls": [
            {"id": "call_abc", "type": "function",
             "function": {"name": "get_weather", "arguments": '{"city":"Paris"}'}},
            {"id": "call_def", "type": "function",
             "function": {"name": "get_weather", "arguments": '{"city":"Rome"}'}},
        ]},
        {"role": "tool", "tool_call_id": "call_abc", "content": "18C"},
        {"role": "tool", "tool_call_id": "call_def", "content": [{"type": "text", "text": "21C"}]},
    ])
    assert req.messages[1] == Message("assistant", [
        TextPart("Checking."),
        ToolCallPart("call_abc", "get_weather", '{"city":"Paris"}'),
        ToolCallPart("call_def", "get_weather", '{"city":"Rome"}'),
    ])
    assert req.messages[2] == Message("tool", [ToolResultPart("call_abc", [TextPart("18C")])])
    assert req.messages[3] == Message("tool", [ToolResultPart("call_def", [TextPart("21C")])])


def test_assistant_null_content_with_tool_calls() -> None:
    req = canonical(messages=[*USER, {"role": "assistant", "content": None, "tool_calls": [
        {"id": "call_1", "type": "function", "function": {"name": "f", "arguments": "{}"}}]}])
    assert req.messages[1] == Message("assistant", [ToolCallPart("call_1", "f", "{}")])


def test_bad_history_tool_call() -> None:
    inbound = parse(messages=[*USER, {"role": "assistant", "content": None, "tool_calls": [
        {"type": "function", "function": {"name": "f", "arguments": "{}"}}]}])
    with pytest.raises(RequestError) as info:
        inbound.canonical()
    assert info.value.param == "messages[1].tool_calls[0]"


def test_tool_message_needs_call_id() -> None:
    inbound = parse(messages=[*USER, {"role": "tool", "content": "x"}])
    with pytest.raises(RequestError) as info:
        inbound.canonical()
    assert info.value.param == "messages[1].tool_call_id"


def test_deprecated_function_role() -> None:
    req = canonical(messages=[*USER, {"role": "function", "name": "get_time", "content": "noon"}])
    assert req.messages[1] == Message("tool", [ToolResultPart("get_time", [TextPart("noon")])])


@pytest.mark.parametrize("choice,expected", [
    ("auto", ToolChoice("auto")),
    ("none", ToolChoice("none")),
    ("required", ToolChoice("required")),
    ({"type": "function", "function": {"name": "get_weather"}}, ToolChoice("tool", "get_weather")),
    (None, None),
])
def test_tool_choice(choice: Any, expected: ToolChoice | None) -> None:
    tools = [{"type": "function", "function": {"name": "get_weather", "description": "Weather",
                                               "parameters": {"type": "object", "properties": {}}}}]
    fields: dict[str, Any] = {"tools": tools}
    if choice is not None:
        fields["tool_choice"] = choice
    assert canonical(**fields).tool_choice == expected


@pytest.mark.parametrize("choice", ["sometimes", {"type": "function"}, {"function": {"name": 3}}])
def test_bad_tool_choice(choice: Any) -> None:
    inbound = parse(tool_choice=choice)
    with pytest.raises(RequestError) as info:
        inbound.canonical()
    assert info.value.param == "tool_choice"


def test_tools() -> None:
    req = canonical(tools=[
        {"type": "function", "function": {"name": "get_weather", "description": "Weather by city",
                                          "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
                                          "strict": True}},
        {"type": "function", "function": {"name": "now"}},
    ])
    assert req.tools == [
        Tool("get_weather", {"type": "object", "properties": {"city": {"type": "string"}}}, "Weather by city", True),
        Tool("now", {"type": "object", "properties": {}}),
    ]


def test_response_format_json_schema() -> None:
    schema = {"type": "object", "properties": {"answer": {"type": "string"}}, "required": ["answer"]}
    req = canonical(response_format={"type": "json_schema", "json_schema": {
        "name": "answer", "description": "One answer", "schema": schema, "strict": True}})
    assert req.response_format == ResponseFormat("json_schema", schema=schema, name="answer",
                                                 description="One answer", strict=True)
    assert canonical(response_format={"type": "json_object"}).response_format == ResponseFormat("json_object")


def test_sampling_fields() -> None:
    req = canonical(stream=True, stream_options={"include_usage": True}, max_tokens=100,
                    max_completion_tokens=200, temperature=0.2, top_p=0.9, stop="END", seed=7,
                    presence_penalty=0.1, frequency_penalty=0.3, user="u", parallel_tool_calls=False,
                    reasoning_effort="low")
    assert req.stream is True and req.include_usage is True
    assert req.max_tokens == 200
    assert (req.temperature, req.top_p, req.seed) == (0.2, 0.9, 7)
    assert req.stop == ["END"]
    assert (req.presence_penalty, req.frequency_penalty) == (0.1, 0.3)
    assert req.user == "u" and req.parallel_tool_calls is False and req.reasoning_effort == "low"
    assert canonical(stop=["a", "b"]).stop == ["a", "b"]


def test_provider_options_exclude_gateway() -> None:
    req = canonical(providerOptions={
        "gateway": {"order": ["openai"]},
        "openai": {"service_tier": "flex"},
        "groq": {"reasoning_format": "parsed"},
        "junk": "not an object",
    })
    assert req.provider_options == {"openai": {"service_tier": "flex"}, "groq": {"reasoning_format": "parsed"}}
    assert canonical(provider_options={"openai": {"store": True}}).provider_options == {"openai": {"store": True}}


@pytest.mark.parametrize("part", [
    {"type": "input_audio", "input_audio": {"data": "UklGRg==", "format": "wav"}},
    {"type": "file", "file": {"file_id": "file-abc"}},
])
def test_untranslatable_parts_are_unsupported(part: dict[str, Any]) -> None:
    inbound = parse(messages=[{"role": "user", "content": [{"type": "text", "text": "listen"}, part]}])
    # validation lets them through: an OpenAI-compatible provider takes them as they are
    assert inbound.route.model == "openai/gpt-4o"
    with pytest.raises(RequestError) as info:
        inbound.canonical()
    err = info.value
    assert err.category is ErrorCategory.UNSUPPORTED
    assert err.param == "messages[0].content[1]"
    assert part["type"] in err.message


def test_image_in_system_message_is_unsupported() -> None:
    inbound = parse(messages=[{"role": "system", "content": [
        {"type": "image_url", "image_url": {"url": "https://example.com/a.png"}}]}, *USER])
    with pytest.raises(RequestError) as info:
        inbound.canonical()
    assert info.value.category is ErrorCategory.UNSUPPORTED


def test_canonical_is_built_once() -> None:
    inbound = parse()
    assert inbound.canonical() is inbound.canonical()


def test_to_canonical_directly() -> None:
    req = to_canonical({"model": "m/x", "messages": [{"role": "user", "content": ""}]})
    assert req.messages == [Message("user", [])]
