"""The Messages front door's request side: validation naming the field, routing facts, model-name
resolution and translation to the canonical request."""

from __future__ import annotations

import json
from typing import Any

import pytest

from switchyard.canonical import (
    ImagePart,
    ReasoningPart,
    TextPart,
    ToolCallPart,
    ToolChoice,
    ToolResultPart,
)
from switchyard.catalog import load_catalog
from switchyard.catalog.names import ModelNames
from switchyard.errors import ErrorCategory, RequestError
from switchyard.protocols.anthropic.frontdoor import AnthropicFrontDoor
from switchyard.protocols.anthropic.request_in import BETA_KEY, VERSION_KEY
from tests.gateway_harness import NO_DATA, model
from tests.protocols.anthropic.sse_helpers import body

PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="
TOOL = {"name": "get_weather", "description": "Weather for a city",
        "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}}}


def catalog() -> Any:
    models = {
        "acme/chat": model({"openai": "gpt-x"}),
        "acme/think": model({"openai": "o-x"}, capabilities=("tools", "reasoning")),
        "anthropic/claude-sonnet-4-5": model({"anthropic": "claude-sonnet-4-5-20250929", "bedrock": "anthropic.cs45"}),
        "anthropic/claude-sonnet-4": model({"anthropic": "claude-sonnet-4-20250514"}),
        "anthropic/claude-haiku-4-5": model({"anthropic": "claude-haiku-4-5-20251001"}),
        "other/renamed": model({"anthropic": "claude-custom-7"}),
        "vendor/shared": model({"openai": "claude-shared"}),
    }
    return load_catalog(models, data_file=NO_DATA)


DOOR = AnthropicFrontDoor(catalog(), ["anthropic"])


def parse(headers: dict[str, str] | None = None, **fields: Any) -> Any:
    return DOOR.parse(body(**fields), headers or {})


def error(**fields: Any) -> RequestError:
    with pytest.raises(RequestError) as exc:
        parse(**fields)
    assert exc.value.status == 400 and exc.value.category is ErrorCategory.INVALID_REQUEST
    return exc.value


# ---- validation ----

@pytest.mark.parametrize("fields, param", [
    ({"model": ...}, "model"),
    ({"max_tokens": ...}, "max_tokens"),
    ({"max_tokens": 0}, "max_tokens"),
    ({"max_tokens": "10"}, "max_tokens"),
    ({"max_tokens": True}, "max_tokens"),
    ({"messages": ...}, "messages"),
    ({"messages": []}, "messages"),
    ({"messages": [{"role": "system", "content": "x"}]}, "messages.0.role"),
    ({"messages": [{"role": "user"}]}, "messages.0.content"),
    ({"messages": [{"role": "user", "content": 5}]}, "messages.0.content"),
    ({"messages": [{"role": "user", "content": [{"text": "x"}]}]}, "messages.0.content.0"),
    ({"messages": [{"role": "user", "content": [{"type": "text"}]}]}, "messages.0.content.0.text"),
    ({"messages": [{"role": "user", "content": "a"}, {"role": "user", "content": [
        {"type": "image", "source": {"type": "base64", "media_type": "image/png"}}]}]},
     "messages.1.content.0.source.data"),
    ({"messages": [{"role": "user", "content": [{"type": "image", "source": {"type": "ftp"}}]}]},
     "messages.0.content.0.source.type"),
    ({"messages": [{"role": "assistant", "content": [{"type": "tool_use", "id": "t", "name": "f", "input": "x"}]}]},
     "messages.0.content.0.input"),
    ({"messages": [{"role": "user", "content": [{"type": "tool_result", "content": "x"}]}]},
     "messages.0.content.0.tool_use_id"),
    ({"messages": [{"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t", "is_error": "no"}]}]},
     "messages.0.content.0.is_error"),
    ({"messages": [{"role": "assistant", "content": [{"type": "thinking", "signature": "s"}]}]},
     "messages.0.content.0.thinking"),
    ({"system": 5}, "system"),
    ({"system": [{"type": "image"}]}, "system.0"),
    ({"temperature": "hot"}, "temperature"),
    ({"top_k": 1.5}, "top_k"),
    ({"stream": "yes"}, "stream"),
    ({"stop_sequences": "END"}, "stop_sequences"),
    ({"metadata": {"user_id": 7}}, "metadata.user_id"),
    ({"tools": [{"description": "no name"}]}, "tools.0.name"),
    ({"tools": [{"name": "f"}]}, "tools.0.input_schema"),
    ({"tool_choice": {"type": "sometimes"}}, "tool_choice.type"),
    ({"tool_choice": {"type": "tool"}}, "tool_choice.name"),
    ({"thinking": {"budget_tokens": 10}}, "thinking.type"),
    ({"thinking": {"type": "enabled", "budget_tokens": "lots"}}, "thinking.budget_tokens"),
    ({"models": "acme/x"}, "models"),
    ({"providerOptions": {"gateway": {"order": "openai"}}}, "providerOptions.gateway.order"),
])
def test_validation_names_the_field(fields: dict[str, Any], param: str) -> None:
    err = error(**fields)
    assert err.param == param
    assert err.message.startswith(param + ": ")


def test_body_must_be_a_json_object() -> None:
    for raw in (b"{not json", b"[1, 2]"):
        with pytest.raises(RequestError) as exc:
            DOOR.parse(raw, {})
        assert exc.value.status == 400 and "request body" in exc.value.message


def test_unknown_fields_and_block_types_are_left_for_the_provider() -> None:
    inbound = parse(service_tier="auto", context_management={"edits": []}, messages=[{"role": "user", "content": [
        {"type": "document", "source": {"type": "text", "data": "x"}},
        {"type": "text", "text": "summarise", "cache_control": {"type": "ephemeral"}}]}])
    assert inbound.raw["service_tier"] == "auto"


def test_server_tools_need_only_a_name() -> None:
    inbound = parse(tools=[{"type": "web_search_20250305", "name": "web_search", "max_uses": 3}])
    assert "tools" in inbound.route.needs


# ---- routing facts ----

def test_route_facts() -> None:
    long = "word " * 400
    inbound = parse(max_tokens=321, stream=True, system=long, tools=[TOOL],
                    messages=[{"role": "user", "content": [{"type": "text", "text": long},
                                                           {"type": "image", "source": {"type": "url", "url": "https://x/y.png"}}]}],
                    output_config={"format": {"type": "json_schema", "schema": {"type": "object"}}},
                    metadata={"user_id": "u-1"},
                    providerOptions={"gateway": {"order": ["bedrock"], "only": ["bedrock", "openai"], "tags": ["t1"]}})
    route = inbound.route
    assert route.model == "acme/chat" and route.max_tokens == 321
    assert route.needs == frozenset({"tools", "vision", "json"})
    assert route.est_input_tokens >= 2 * len(long) // 4
    assert list(route.order) == ["bedrock"] and list(route.only) == ["bedrock", "openai"]
    assert inbound.stream and inbound.user == "u-1" and inbound.tags == ["t1"]


def test_openrouter_provider_spelling() -> None:
    route = parse(provider={"order": ["openai"], "only": ["openai"]}).route
    assert list(route.order) == ["openai"] and list(route.only) == ["openai"]
    assert list(parse(provider={"order": ["a"]}, providerOptions={"gateway": {"order": ["b"]}}).route.order) == ["b"]


def test_tool_choice_none_does_not_need_tools() -> None:
    assert "tools" not in parse(tools=[TOOL], tool_choice={"type": "none"}).route.needs


@pytest.mark.parametrize("fields", [
    {"models": ["claude-sonnet-4-20250514", "acme/think", "acme/chat"]},
    {"providerOptions": {"gateway": {"models": ["claude-sonnet-4-20250514", "acme/think"]}}},
])
def test_fallbacks_from_models_or_gateway_options_are_resolved(fields: dict[str, Any]) -> None:
    assert list(parse(**fields).route.fallbacks) == ["anthropic/claude-sonnet-4", "acme/think"]


def test_caller_beta_and_version_headers_ride_in_raw() -> None:
    inbound = parse({"anthropic-beta": "a-1,b-2", "anthropic-version": "2026-10-21"})
    assert inbound.raw[BETA_KEY] == "a-1,b-2" and inbound.raw[VERSION_KEY] == "2026-10-21"
    assert BETA_KEY not in parse().raw
    assert BETA_KEY not in parse(**{BETA_KEY: "smuggled"}).raw  # only the header counts


# ---- model names ----

@pytest.mark.parametrize("name, resolved", [
    ("acme/chat", "acme/chat"),
    ("claude-sonnet-4-5", "anthropic/claude-sonnet-4-5"),  # anthropic/<name>
    ("claude-sonnet-4-5-20250929", "anthropic/claude-sonnet-4-5"),  # the Anthropic offering's id
    ("anthropic.cs45", "anthropic/claude-sonnet-4-5"),  # another provider's id
    ("claude-custom-7", "other/renamed"),
    ("claude-sonnet-4-20250514", "anthropic/claude-sonnet-4"),
    ("claude-sonnet-4-20991231", "anthropic/claude-sonnet-4"),  # an unknown date: strip it
    ("claude-haiku-4-5-latest", "anthropic/claude-haiku-4-5"),
    ("anthropic/claude-sonnet-4-5-20250929", "anthropic/claude-sonnet-4-5"),
    ("claude-shared", "vendor/shared"),
    ("claude-nope-1", "claude-nope-1"),  # left for routing to answer 404
    ("acme/nope", "acme/nope"),
])
def test_model_resolution(name: str, resolved: str) -> None:
    assert DOOR.resolve(name) == resolved
    assert parse(model=name).route.model == resolved


def test_anthropic_offering_wins_over_other_providers_with_the_same_id() -> None:
    cat = load_catalog({"x/one": model({"openai": "claude-dup"}), "y/two": model({"anthropic": "claude-dup"})},
                       data_file=NO_DATA)
    assert ModelNames(cat, "anthropic", ["anthropic"])("claude-dup") == "y/two"


# ---- translation to canonical ----

def canonical(**fields: Any) -> Any:
    return parse(**fields).canonical()


def test_translation_of_a_full_conversation() -> None:
    req = canonical(
        model="claude-sonnet-4-5-20250929", max_tokens=77, stream=True, temperature=0.5, top_p=0.9, top_k=20,
        stop_sequences=["END"], metadata={"user_id": "u-9"},
        system=[{"type": "text", "text": "be brief", "cache_control": {"type": "ephemeral"}}],
        tools=[TOOL], tool_choice={"type": "any", "disable_parallel_tool_use": True},
        messages=[
            {"role": "user", "content": [{"type": "text", "text": "weather?"},
                                         {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": PNG}}]},
            {"role": "assistant", "content": [
                {"type": "thinking", "thinking": "hmm", "signature": "sig"},
                {"type": "redacted_thinking", "data": "opaque"},
                {"type": "text", "text": "checking"},
                {"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {"city": "Paris"}}]},
            {"role": "user", "content": [
                {"type": "tool_result", "tool_use_id": "toolu_1", "is_error": True,
                 "content": [{"type": "text", "text": "timeout"},
                             {"type": "image", "source": {"type": "url", "url": "https://x/y.png"}}]},
                {"type": "text", "text": "try again"}]},
        ])
    assert req.model == "anthropic/claude-sonnet-4-5" and req.max_tokens == 77 and req.stream
    assert (req.temperature, req.top_p, req.top_k, req.stop, req.user) == (0.5, 0.9, 20, ["END"], "u-9")
    assert req.tool_choice == ToolChoice("required") and req.parallel_tool_calls is False
    assert req.tools[0].name == "get_weather" and req.tools[0].parameters == TOOL["input_schema"]
    assert [m.role for m in req.messages] == ["system", "user", "assistant", "tool", "user"]
    assert req.messages[0].content == [TextPart("be brief", cache_control={"type": "ephemeral"})]
    assert req.messages[1].content[1] == ImagePart(data=PNG, media_type="image/png")
    assert req.messages[2].content == [ReasoningPart("hmm", signature="sig"), ReasoningPart(redacted="opaque"),
                                       TextPart("checking"), ToolCallPart("toolu_1", "get_weather", '{"city":"Paris"}')]
    assert req.messages[3].content == [ToolResultPart("toolu_1", [TextPart("timeout"), ImagePart(url="https://x/y.png")],
                                                      is_error=True)]
    assert req.messages[4].content == [TextPart("try again")]


def test_tool_result_with_string_content_and_no_other_blocks() -> None:
    req = canonical(messages=[{"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t", "content": "42"}]}])
    assert [m.role for m in req.messages] == ["tool"]
    assert req.messages[0].content == [ToolResultPart("t", [TextPart("42")])]


@pytest.mark.parametrize("choice, expected, parallel", [
    ({"type": "auto"}, ToolChoice("auto"), None), ({"type": "none"}, ToolChoice("none"), None),
    ({"type": "tool", "name": "get_weather"}, ToolChoice("tool", "get_weather"), None),
    ({"type": "auto", "disable_parallel_tool_use": True}, ToolChoice("auto"), False),
])
def test_tool_choice(choice: dict[str, Any], expected: ToolChoice, parallel: bool | None) -> None:
    req = canonical(tools=[TOOL], tool_choice=choice)
    assert req.tool_choice == expected and req.parallel_tool_calls is parallel


def test_thinking_goes_to_anthropic_options_and_hints_reasoning_models_only() -> None:
    thinking = {"type": "enabled", "budget_tokens": 10000}
    plain = canonical(thinking=thinking)
    assert plain.provider_options["anthropic"]["thinking"] == thinking and plain.reasoning_effort is None
    assert canonical(model="acme/think", thinking=thinking).reasoning_effort == "medium"
    assert canonical(model="acme/think", thinking={"type": "enabled", "budget_tokens": 1024}).reasoning_effort == "low"
    assert canonical(model="acme/think", thinking={"type": "adaptive"},
                     output_config={"effort": "high"}).reasoning_effort == "high"
    assert canonical(model="acme/think", thinking={"type": "disabled"}).reasoning_effort is None


def test_provider_options_pass_and_gateway_options_do_not() -> None:
    req = canonical(providerOptions={"gateway": {"order": ["openai"]}, "openai": {"service_tier": "flex"}})
    assert req.provider_options == {"openai": {"service_tier": "flex"}}


def test_structured_output_becomes_a_json_schema_response_format() -> None:
    schema = {"type": "object", "properties": {"a": {"type": "string"}}}
    req = canonical(output_config={"format": {"type": "json_schema", "schema": schema}})
    assert req.response_format.type == "json_schema" and req.response_format.schema == schema


@pytest.mark.parametrize("fields, where", [
    ({"tools": [{"type": "web_search_20250305", "name": "web_search"}]}, "tools.0"),
    ({"messages": [{"role": "user", "content": [{"type": "document", "source": {"type": "text", "data": "x"}}]}]},
     "messages.0.content.0"),
    ({"messages": [{"role": "user", "content": [{"type": "image", "source": {"type": "file", "file_id": "f"}}]}]},
     "messages.0.content.0.source"),
    ({"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": [
        {"type": "server_tool_use", "id": "s", "name": "web_search", "input": {}}]}]}, "messages.1.content.0"),
])
def test_what_only_anthropic_accepts_is_unsupported_on_translation(fields: dict[str, Any], where: str) -> None:
    inbound = parse(**fields)  # parsing accepts it: Anthropic itself may serve the request
    with pytest.raises(RequestError) as exc:
        inbound.canonical()
    assert exc.value.category is ErrorCategory.UNSUPPORTED and exc.value.param == where


def test_raw_is_the_callers_body() -> None:
    inbound = parse(temperature=0.2)
    assert json.loads(body(temperature=0.2)).items() <= inbound.raw.items()
