from __future__ import annotations

from typing import Any

import msgspec
import pytest

from switchyard.canonical import (
    ChatRequest,
    ImagePart,
    Message,
    ReasoningPart,
    ResponseFormat,
    TextPart,
    Tool,
    ToolCallPart,
    ToolChoice,
    ToolResultPart,
)
from switchyard.errors import RequestError
from switchyard.protocols.anthropic.request import build_body

MODEL = "claude-sonnet-4-5-20250929"


def build(request: ChatRequest, max_output: int | None = None) -> dict[str, Any]:
    body: dict[str, Any] = msgspec.json.decode(build_body(request, MODEL, max_output))
    return body


def req(*messages: Message, **kw: Any) -> ChatRequest:
    return ChatRequest(model="anthropic/claude-sonnet-4.5", messages=list(messages), **kw)


def user(text: str) -> Message:
    return Message("user", [TextPart(text)])


def test_minimal_body_and_max_tokens_defaults() -> None:
    assert build(req(user("Hi"))) == {
        "model": MODEL, "max_tokens": 4096, "messages": [{"role": "user", "content": [{"type": "text", "text": "Hi"}]}],
    }
    assert build(req(user("Hi")), max_output=64000)["max_tokens"] == 64000
    assert build(req(user("Hi"), max_tokens=100), max_output=64000)["max_tokens"] == 100


def test_system_messages_anywhere_are_hoisted_with_cache_control() -> None:
    body = build(req(
        Message("system", [TextPart("You are terse.", cache_control={"type": "ephemeral"})]),
        user("Hi"),
        Message("system", [TextPart("Answer in French.")]),
        Message("assistant", [TextPart("Bonjour")]),
    ))
    assert body["system"] == [
        {"type": "text", "text": "You are terse.", "cache_control": {"type": "ephemeral"}},
        {"type": "text", "text": "Answer in French."},
    ]
    assert [m["role"] for m in body["messages"]] == ["user", "assistant"]


def test_system_with_image_is_rejected() -> None:
    with pytest.raises(RequestError):
        build(req(Message("system", [ImagePart(url="https://x/y.png")]), user("Hi")))


def test_sampling_options_stop_user_stream() -> None:
    body = build(req(user("Hi"), temperature=0.2, top_p=0.9, top_k=40, stop=["\n\nHuman:"], user="u-123",
                     stream=True, seed=7, presence_penalty=0.5, frequency_penalty=0.5))
    assert body["temperature"] == 0.2 and body["top_p"] == 0.9 and body["top_k"] == 40
    assert body["stop_sequences"] == ["\n\nHuman:"]
    assert body["metadata"] == {"user_id": "u-123"}
    assert body["stream"] is True
    assert not {"seed", "presence_penalty", "frequency_penalty", "stop", "user"} & body.keys()


def test_images_base64_url_and_data_url() -> None:
    body = build(req(Message("user", [
        TextPart("What is in these?"),
        ImagePart(data="iVBORw0KGgoAAAANSUhEUg==", media_type="image/png"),
        ImagePart(url="https://upload.wikimedia.org/cat.jpg", detail="high"),
        ImagePart(url="data:image/webp;base64,UklGRiQAAABXRUJQ"),
        ImagePart(data="/9j/4AAQSkZJRg=="),  # media type sniffed from the bytes
    ])))
    blocks = body["messages"][0]["content"]
    assert blocks[1:] == [
        {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "iVBORw0KGgoAAAANSUhEUg=="}},
        {"type": "image", "source": {"type": "url", "url": "https://upload.wikimedia.org/cat.jpg"}},
        {"type": "image", "source": {"type": "base64", "media_type": "image/webp", "data": "UklGRiQAAABXRUJQ"}},
        {"type": "image", "source": {"type": "base64", "media_type": "image/jpeg", "data": "/9j/4AAQSkZJRg=="}},
    ]


def test_non_base64_data_url_is_rejected() -> None:
    with pytest.raises(RequestError):
        build(req(Message("user", [ImagePart(url="data:image/svg+xml,%3Csvg%3E")])))


def test_tool_round_trip_with_alternation_merging() -> None:
    body = build(req(
        user("Weather in Paris and London?"),
        Message("assistant", [
            TextPart(""),  # OpenAI clients send empty content beside tool calls
            ToolCallPart("toolu_1", "get_weather", '{"city": "Paris"}'),
            ToolCallPart("toolu_2", "get_weather", '{"city": "London"'),  # truncated JSON
        ]),
        Message("tool", [ToolResultPart("toolu_1", [TextPart("18C")])]),
        Message("tool", [ToolResultPart("toolu_2", [TextPart("unavailable")], is_error=True)]),
        user("And tomorrow?"),
        tools=[Tool("get_weather", {"type": "object", "properties": {"city": {"type": "string"}}},
                    description="Current weather")],
    ))
    assert body["tools"] == [{"name": "get_weather", "description": "Current weather",
                              "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}}}]
    assert "tool_choice" not in body
    assert body["messages"] == [
        {"role": "user", "content": [{"type": "text", "text": "Weather in Paris and London?"}]},
        {"role": "assistant", "content": [
            {"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {"city": "Paris"}},
            {"type": "tool_use", "id": "toolu_2", "name": "get_weather", "input": {}},
        ]},
        {"role": "user", "content": [
            {"type": "tool_result", "tool_use_id": "toolu_1", "content": [{"type": "text", "text": "18C"}]},
            {"type": "tool_result", "tool_use_id": "toolu_2", "is_error": True,
             "content": [{"type": "text", "text": "unavailable"}]},
            {"type": "text", "text": "And tomorrow?"},
        ]},
    ]


def test_tool_result_with_image_and_empty_content() -> None:
    body = build(req(Message("tool", [
        ToolResultPart("toolu_1", [TextPart("chart:"), ImagePart(url="data:image/png;base64,iVBORw0KGgo")]),
        ToolResultPart("toolu_2", []),
    ])))
    assert body["messages"][0]["content"] == [
        {"type": "tool_result", "tool_use_id": "toolu_1", "content": [
            {"type": "text", "text": "chart:"},
            {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "iVBORw0KGgo"}},
        ]},
        {"type": "tool_result", "tool_use_id": "toolu_2"},
    ]


def test_tool_results_are_moved_before_text_in_a_merged_user_turn() -> None:
    body = build(req(user("note first"), Message("tool", [ToolResultPart("t", [TextPart("ok")])])))
    assert [b["type"] for b in body["messages"][0]["content"]] == ["tool_result", "text"]


def test_consecutive_same_role_messages_merge_and_empty_ones_vanish() -> None:
    body = build(req(user("a"), user("b"), Message("assistant", [TextPart("")]), user("c"),
                     Message("assistant", [TextPart("x")]), Message("assistant", [TextPart("y")])))
    assert body["messages"] == [
        {"role": "user", "content": [{"type": "text", "text": t} for t in "abc"]},
        {"role": "assistant", "content": [{"type": "text", "text": "x"}, {"type": "text", "text": "y"}]},
    ]


def test_trailing_whitespace_of_a_prefill_is_trimmed() -> None:
    body = build(req(user("Say hi"), Message("assistant", [TextPart("{\n  ")])))
    assert body["messages"][-1]["content"] == [{"type": "text", "text": "{"}]


def test_reasoning_parts() -> None:
    body = build(req(user("q"), Message("assistant", [
        ReasoningPart(text="thinking...", signature="sig=="),
        ReasoningPart(redacted="ENCRYPTED"),
        ReasoningPart(text="unsigned, from another provider"),
        ToolCallPart("toolu_1", "f", "{}"),
    ])))
    assert body["messages"][1]["content"] == [
        {"type": "thinking", "thinking": "thinking...", "signature": "sig=="},
        {"type": "redacted_thinking", "data": "ENCRYPTED"},
        {"type": "tool_use", "id": "toolu_1", "name": "f", "input": {}},
    ]


TOOLS = [Tool("f", {"type": "object", "properties": {}})]


@pytest.mark.parametrize("choice,parallel,expected", [
    (None, None, None),
    (None, False, {"type": "auto", "disable_parallel_tool_use": True}),
    (ToolChoice("auto"), None, {"type": "auto"}),
    (ToolChoice("none"), None, {"type": "none"}),
    (ToolChoice("required"), None, {"type": "any"}),
    (ToolChoice("required"), False, {"type": "any", "disable_parallel_tool_use": True}),
    (ToolChoice("tool", name="f"), None, {"type": "tool", "name": "f"}),
    (ToolChoice("tool", name="f"), False, {"type": "tool", "name": "f", "disable_parallel_tool_use": True}),
    (ToolChoice("auto"), True, {"type": "auto"}),
])
def test_tool_choice(choice: ToolChoice | None, parallel: bool | None, expected: dict[str, Any] | None) -> None:
    body = build(req(user("q"), tools=TOOLS, tool_choice=choice, parallel_tool_calls=parallel))
    assert body.get("tool_choice") == expected


def test_tool_choice_without_tools_is_not_sent() -> None:
    assert "tool_choice" not in build(req(user("q"), tool_choice=ToolChoice("required")))


def test_tool_schema_gets_object_type() -> None:
    body = build(req(user("q"), tools=[Tool("a", {}), Tool("b", {"properties": {"x": {"type": "integer"}}})]))
    assert body["tools"] == [
        {"name": "a", "input_schema": {"type": "object", "properties": {}}},
        {"name": "b", "input_schema": {"type": "object", "properties": {"x": {"type": "integer"}}}},
    ]


def test_json_response_formats_become_a_trailing_system_instruction() -> None:
    schema = {"type": "object", "properties": {"n": {"type": "integer"}}, "required": ["n"]}
    body = build(req(Message("system", [TextPart("Be exact.", cache_control={"type": "ephemeral"})]), user("q"),
                     response_format=ResponseFormat("json_schema", schema=schema, name="answer")))
    first, last = body["system"]
    assert first["text"] == "Be exact."  # the cached prefix is left untouched
    assert "JSON" in last["text"] and '{"type":"object","properties":{"n":{"type":"integer"}}' in last["text"]
    body = build(req(user("q"), response_format=ResponseFormat("json_object")))
    assert "JSON" in body["system"][0]["text"]
    assert "system" not in build(req(user("q"), response_format=ResponseFormat("text")))


def test_provider_options_are_merged_last() -> None:
    body = build(req(user("q"), top_k=5, user="u1", provider_options={
        "anthropic": {"thinking": {"type": "enabled", "budget_tokens": 2048}, "top_k": 10,
                      "metadata": {"user_id": "override"}},
        "openai": {"store": True},
    }))
    assert body["thinking"] == {"type": "enabled", "budget_tokens": 2048}
    assert body["top_k"] == 10
    assert body["metadata"] == {"user_id": "override"}
    assert "store" not in body


def test_request_is_not_mutated() -> None:
    params: dict[str, Any] = {"properties": {}}
    r = req(user("q"), tools=[Tool("a", params)], provider_options={"anthropic": {"top_k": 1}})
    before = msgspec.json.encode(r)
    build(r)
    build(r)
    assert msgspec.json.encode(r) == before


def test_options_under_the_provider_slug_apply_after_the_protocol_ones() -> None:
    r = req(user("q"), provider_options={"anthropic": {"top_k": 1, "service_tier": "auto"},
                                         "anthropic-eu": {"top_k": 2}})
    body = msgspec.json.decode(build_body(r, MODEL, None, "anthropic-eu"))
    assert (body["top_k"], body["service_tier"]) == (2, "auto")


def test_temperature_is_clamped_to_anthropic_range() -> None:
    assert build(req(user("q"), temperature=1.7))["temperature"] == 1.0
    assert build(req(user("q"), temperature=0.0))["temperature"] == 0.0


def test_reasoning_effort_becomes_a_thinking_budget() -> None:
    import msgspec as _m

    from switchyard.canonical import ChatRequest as _CR
    from switchyard.canonical import Message as _M
    from switchyard.canonical import TextPart as _T
    from switchyard.protocols.anthropic.request import build_body as _build

    req = _CR(model="m", messages=[_M("user", [_T("think")])], reasoning_effort="medium", temperature=0.5,
              max_tokens=1000)
    body = _m.json.decode(_build(req, "claude-x", 64000))
    assert body["thinking"] == {"type": "enabled", "budget_tokens": 8192}
    assert body["max_tokens"] == 8192 + 1024 and "temperature" not in body
    explicit = _CR(model="m", messages=[_M("user", [_T("x")])], reasoning_effort="high",
                   provider_options={"anthropic": {"thinking": {"type": "disabled"}}})
    assert _m.json.decode(_build(explicit, "claude-x", 64000))["thinking"] == {"type": "disabled"}
