"""Parsing and validating Responses requests, and their translation to the canonical request."""

from __future__ import annotations

import json
from typing import Any

import pytest

from switchyard.canonical import (
    ImagePart,
    Message,
    ReasoningPart,
    ResponseFormat,
    TextPart,
    ToolCallPart,
    ToolChoice,
    ToolResultPart,
)
from switchyard.errors import ErrorCategory, RequestError
from switchyard.protocols.openai_responses.request_in import (
    ResponsesInbound,
    parse_request,
)

FN = {"type": "function", "name": "get_weather", "description": "Weather for a city",
      "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}, "strict": True}


def parse(body: dict[str, Any], resolve: Any = None) -> ResponsesInbound:
    raw = json.dumps({"model": "acme/chat", **body}).encode()
    return parse_request(raw, resolve) if resolve else parse_request(raw)


def bad(body: dict[str, Any]) -> RequestError:
    with pytest.raises(RequestError) as exc:
        parse(body)
    assert exc.value.status == 400
    return exc.value


def test_string_input_and_instructions() -> None:
    inbound = parse({"input": "hello", "instructions": "be brief", "max_output_tokens": 50, "temperature": 0.2,
                     "top_p": 0.9, "user": "u1", "parallel_tool_calls": False})
    req = inbound.canonical()
    assert req.messages == [Message("system", [TextPart("be brief")]), Message("user", [TextPart("hello")])]
    assert (req.max_tokens, req.temperature, req.top_p, req.user, req.parallel_tool_calls) == (50, 0.2, 0.9, "u1", False)
    assert not req.stream and inbound.route.max_tokens == 50 and inbound.route.model == "acme/chat"
    assert inbound.user == "u1"
    assert inbound.echo["instructions"] == "be brief" and inbound.echo["parallel_tool_calls"] is False


def test_message_items_roles_and_parts() -> None:
    png = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="
    inbound = parse({"input": [
        {"type": "message", "role": "developer", "content": [{"type": "input_text", "text": "rules"}]},
        {"role": "user", "content": [{"type": "input_text", "text": "look"},
                                     {"type": "input_image", "image_url": f"data:image/png;base64,{png}"},
                                     {"type": "input_image", "image_url": "https://x.test/a.png", "detail": "low"}]},
        {"role": "assistant", "content": [{"type": "output_text", "text": "a cat", "annotations": []}]},
        {"role": "system", "content": "late system"},
    ], "stream": True})
    req = inbound.canonical()
    assert req.messages == [
        Message("system", [TextPart("rules")]),
        Message("user", [TextPart("look"), ImagePart(data=png, media_type="image/png"),
                         ImagePart(url="https://x.test/a.png", detail="low")]),
        Message("assistant", [TextPart("a cat")]),
        Message("system", [TextPart("late system")]),
    ]
    assert req.stream and req.include_usage and inbound.stream
    assert inbound.route.needs == frozenset({"vision"})


def test_function_calls_group_into_one_assistant_turn_and_outputs_into_one_tool_turn() -> None:
    req = parse({"tools": [FN], "input": [
        {"role": "user", "content": "weather in Paris and Rome?"},
        {"type": "reasoning", "id": "rs_1", "summary": [{"type": "summary_text", "text": "two calls"}]},
        {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "Checking."}]},
        {"type": "function_call", "call_id": "c1", "name": "get_weather", "arguments": '{"city":"Paris"}'},
        {"type": "function_call", "call_id": "c2", "name": "get_weather", "arguments": '{"city":"Rome"}'},
        {"type": "function_call_output", "call_id": "c1", "output": "sunny"},
        {"type": "function_call_output", "call_id": "c2", "output": [{"type": "input_text", "text": "rain"}]},
    ]}).canonical()
    assert req.messages == [
        Message("user", [TextPart("weather in Paris and Rome?")]),
        Message("assistant", [ReasoningPart("two calls"), TextPart("Checking."),
                              ToolCallPart("c1", "get_weather", '{"city":"Paris"}'),
                              ToolCallPart("c2", "get_weather", '{"city":"Rome"}')]),
        Message("tool", [ToolResultPart("c1", [TextPart("sunny")]), ToolResultPart("c2", [TextPart("rain")])]),
    ]
    assert req.tools is not None and req.tools[0].name == "get_weather" and req.tools[0].strict is True


def test_reasoning_round_trips_signatures_and_ignores_foreign_encrypted_content() -> None:
    req = parse({"input": [
        {"type": "reasoning", "summary": [{"type": "summary_text", "text": "hmm"}], "encrypted_content": "swy1:sig:SIG"},
        {"type": "reasoning", "summary": [], "encrypted_content": "swy1:red:DATA"},
        {"type": "reasoning", "summary": [], "encrypted_content": "gAAAAB-openai-opaque"},
        {"role": "assistant", "content": "ok"},
        {"role": "user", "content": "next"},
    ]}).canonical()
    assert req.messages[0] == Message("assistant", [ReasoningPart("hmm", signature="SIG"),
                                                    ReasoningPart("", redacted="DATA"), TextPart("ok")])


def test_custom_and_namespace_tools_are_offered_as_functions() -> None:
    inbound = parse({"input": [
        {"role": "user", "content": "go"},
        {"type": "custom_tool_call", "call_id": "p1", "name": "apply_patch", "input": "*** Begin Patch"},
        {"type": "custom_tool_call_output", "call_id": "p1", "output": "done"},
        {"type": "function_call", "call_id": "s1", "name": "spawn", "namespace": "agents", "arguments": "{}"},
        {"type": "function_call_output", "call_id": "s1", "output": "spawned"},
    ], "tools": [
        {"type": "custom", "name": "apply_patch", "description": "Edit files.",
         "format": {"type": "grammar", "syntax": "lark", "definition": "start: /.+/"}},
        {"type": "namespace", "name": "agents", "description": "sub-agents",
         "tools": [{"type": "function", "name": "spawn", "parameters": {"type": "object", "properties": {}}}]},
    ]})
    req = inbound.canonical()
    tools = {t.name: t for t in req.tools or ()}
    assert set(tools) == {"apply_patch", "agents__spawn"}
    assert tools["apply_patch"].parameters["required"] == ["input"]
    assert "Edit files." in (tools["apply_patch"].description or "") and "start: /.+/" in (tools["apply_patch"].description or "")
    assert req.messages[1] == Message("assistant", [ToolCallPart("p1", "apply_patch", '{"input":"*** Begin Patch"}')])
    assert req.messages[3] == Message("assistant", [ToolCallPart("s1", "agents__spawn", "{}")])
    assert inbound.tools.spec("apply_patch").kind == "custom"
    spec = inbound.tools.spec("agents__spawn")
    assert (spec.kind, spec.name, spec.namespace) == ("function", "spawn", "agents")
    assert inbound.route.needs == frozenset({"tools"})


def test_hosted_tools_are_dropped_with_a_warning() -> None:
    inbound = parse({"input": "hi", "tools": [FN, {"type": "web_search", "external_web_access": False},
                                              {"type": "file_search", "vector_store_ids": ["vs_1"]}]})
    req = inbound.canonical()
    assert [t.name for t in req.tools or ()] == ["get_weather"]
    assert [(w["tool"], w["param"]) for w in inbound.warnings] == [("web_search", "tools[1]"), ("file_search", "tools[2]")]
    assert inbound.echo["tools"] == [FN]  # echoed as offered
    only_hosted = parse({"input": "hi", "tools": [{"type": "web_search"}]})
    assert only_hosted.canonical().tools is None and "tools" not in only_hosted.route.needs


def test_hosted_items_in_history_are_dropped() -> None:
    req = parse({"input": [{"role": "user", "content": "hi"},
                           {"type": "web_search_call", "id": "ws_1", "status": "completed"},
                           {"role": "assistant", "content": "hello"}]}).canonical()
    assert [m.role for m in req.messages] == ["user", "assistant"]


@pytest.mark.parametrize("choice,expected", [
    ("auto", ToolChoice("auto")), ("none", ToolChoice("none")), ("required", ToolChoice("required")),
    ({"type": "function", "name": "get_weather"}, ToolChoice("tool", "get_weather")),
])
def test_tool_choice(choice: Any, expected: ToolChoice) -> None:
    inbound = parse({"input": "hi", "tools": [FN], "tool_choice": choice})
    assert inbound.canonical().tool_choice == expected
    assert ("tools" in inbound.route.needs) == (choice != "none")


def test_allowed_tools_restricts_the_offer() -> None:
    other = {**FN, "name": "get_time"}
    req = parse({"input": "hi", "tools": [FN, other], "tool_choice": {
        "type": "allowed_tools", "mode": "required", "tools": [{"type": "function", "name": "get_time"}]}}).canonical()
    assert [t.name for t in req.tools or ()] == ["get_time"] and req.tool_choice == ToolChoice("required")


def test_tool_choice_requiring_a_hosted_tool_is_refused() -> None:
    err = bad({"input": "hi", "tools": [{"type": "web_search"}], "tool_choice": {"type": "web_search"}})
    assert err.category is ErrorCategory.UNSUPPORTED and err.param == "tool_choice" and "web_search" in err.message


@pytest.mark.parametrize("fmt,expected", [
    ({"type": "text"}, None),
    ({"type": "json_object"}, ResponseFormat("json_object")),
    ({"type": "json_schema", "name": "pt", "schema": {"type": "object"}, "strict": True},
     ResponseFormat("json_schema", schema={"type": "object"}, name="pt", strict=True)),
])
def test_text_format(fmt: dict[str, Any], expected: ResponseFormat | None) -> None:
    inbound = parse({"input": "hi", "text": {"format": fmt, "verbosity": "low"}})
    assert inbound.canonical().response_format == expected
    assert ("json" in inbound.route.needs) == (expected is not None)
    assert inbound.echo["text"] == {"format": fmt, "verbosity": "low"}


def test_reasoning_effort_and_gateway_options() -> None:
    inbound = parse({"input": "hi", "reasoning": {"effort": "high", "summary": "auto"}, "models": ["acme/b"],
                     "store": False, "include": ["reasoning.encrypted_content"], "metadata": {"k": "v"},
                     "providerOptions": {"gateway": {"order": ["anthropic"], "only": ["anthropic", "openai"],
                                                     "sort": "cost", "user": "team-a", "tags": ["t1"]},
                                         "anthropic": {"top_k": 5}}})
    req = inbound.canonical()
    assert req.reasoning_effort == "high" and req.provider_options == {"anthropic": {"top_k": 5}}
    r = inbound.route
    assert (tuple(r.fallbacks), list(r.order or ()), list(r.only or ()), r.sort) == \
        (("acme/b",), ["anthropic"], ["anthropic", "openai"], "cost")
    assert inbound.user == "team-a" and inbound.tags == ["t1"]
    assert inbound.echo["store"] is False and inbound.echo["metadata"] == {"k": "v"}
    assert inbound.echo["reasoning"] == {"effort": "high", "summary": "auto"}


def test_reasoning_effort_only_for_reasoning_models() -> None:
    body = json.dumps({"model": "acme/chat", "input": "hi", "reasoning": {"effort": "low"}}).encode()
    assert parse_request(body, reasoning_models=frozenset({"acme/chat"})).canonical().reasoning_effort == "low"
    plain = parse_request(body, reasoning_models=frozenset({"acme/other"}))
    assert plain.canonical().reasoning_effort is None and plain.echo["reasoning"]["effort"] == "low"


def test_model_names_are_resolved() -> None:
    inbound = parse({"model": "gpt-x", "input": "hi", "models": ["gpt-y"]},
                    resolve=lambda n: {"gpt-x": "openai/gpt-x", "gpt-y": "openai/gpt-y"}.get(n, n))
    assert inbound.route.model == "openai/gpt-x" and tuple(inbound.route.fallbacks) == ("openai/gpt-y",)


@pytest.mark.parametrize("body,param", [
    ({"input": "hi", "previous_response_id": "resp_1"}, "previous_response_id"),
    ({"input": "hi", "conversation": "conv_1"}, "conversation"),
    ({"input": "hi", "background": True}, "background"),
    ({"input": "hi", "prompt": {"id": "pmpt_1"}}, "prompt"),
    ({"input": [{"type": "item_reference", "id": "msg_1"}]}, "input[0]"),
    ({"input": [{"role": "user", "content": [{"type": "input_image", "file_id": "file_1"}]}]},
     "input[0].content[0].file_id"),
    ({"input": [{"role": "user", "content": [{"type": "input_file", "file_data": "x"}]}]},
     "input[0].content[0].type"),
])
def test_unsupported_features_are_refused_naming_the_field(body: dict[str, Any], param: str) -> None:
    err = bad(body)
    assert err.param == param and err.category is ErrorCategory.UNSUPPORTED


@pytest.mark.parametrize("body,param", [
    ({"model": None, "input": "hi"}, "model"),
    ({}, "input"),
    ({"input": []}, "input"),
    ({"input": 5}, "input"),
    ({"input": ["hi"]}, "input[0]"),
    ({"input": [{"role": "wizard", "content": "x"}]}, "input[0].role"),
    ({"input": [{"role": "user"}]}, "input[0].content"),
    ({"input": [{"role": "user", "content": [{"type": "input_text"}]}]}, "input[0].content[0].text"),
    ({"input": [{"role": "user", "content": [{"type": "weird"}]}]}, "input[0].content[0].type"),
    ({"input": [{"type": "mystery"}]}, "input[0].type"),
    ({"input": [{"type": "function_call", "call_id": "c", "name": "f"}]}, "input[0].arguments"),
    ({"input": [{"type": "function_call_output", "call_id": "c"}]}, "input[0].output"),
    ({"input": "hi", "temperature": "hot"}, "temperature"),
    ({"input": "hi", "max_output_tokens": 0}, "max_output_tokens"),
    ({"input": "hi", "stream": "yes"}, "stream"),
    ({"input": "hi", "instructions": ["x"]}, "instructions"),
    ({"input": "hi", "tools": {"type": "function"}}, "tools"),
    ({"input": "hi", "tools": [{"type": "function", "function": {"name": "f"}}]}, "tools[0].name"),
    ({"input": "hi", "tools": [FN], "tool_choice": "sometimes"}, "tool_choice"),
    ({"input": "hi", "tools": [FN], "tool_choice": {"type": "function", "name": "nope"}}, "tool_choice.name"),
    ({"input": "hi", "text": {"format": {"type": "xml"}}}, "text.format.type"),
    ({"input": "hi", "text": {"format": {"type": "json_schema", "name": "x"}}}, "text.format.schema"),
    ({"input": "hi", "reasoning": {"effort": 3}}, "reasoning.effort"),
    ({"input": "hi", "models": "acme/b"}, "models"),
    ({"input": "hi", "providerOptions": {"gateway": {"order": "openai"}}}, "providerOptions.gateway.order"),
])
def test_validation_errors_name_the_field(body: dict[str, Any], param: str) -> None:
    err = bad(body)
    assert err.param == param and err.category is ErrorCategory.INVALID_REQUEST


def test_body_must_be_a_json_object() -> None:
    for raw in (b"{nope", b"[1]"):
        with pytest.raises(RequestError):
            parse_request(raw)


def test_routing_estimate_counts_input_and_tools() -> None:
    inbound = parse({"input": "x" * 400, "tools": [FN]})
    assert inbound.route.est_input_tokens >= 100
