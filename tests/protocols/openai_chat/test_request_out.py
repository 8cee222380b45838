"""Provider request bodies: built from the canonical model, or re-addressed pass-through bodies."""

from __future__ import annotations

import json
from typing import Any

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
from switchyard.protocols.openai_chat.request_in import parse_request
from switchyard.protocols.openai_chat.request_out import (
    build_body,
    encode_canonical,
    encode_passthrough,
)

PNG_B64 = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="
WEATHER_SCHEMA = {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}


def via_canonical(body: dict[str, Any], model_id: str = "gpt-4o-2024-08-06", slug: str = "openai") -> dict[str, Any]:
    req = parse_request(json.dumps(body).encode()).canonical()
    return json.loads(encode_canonical(req, model_id, slug))


def test_round_trip_full_conversation() -> None:
    caller = {
        "model": "openai/gpt-4o",
        "messages": [
            {"role": "system", "content": "You are a weather bot."},
            {"role": "user", "name": "alice", "content": [
                {"type": "text", "text": "Weather where this photo was taken?"},
                {"type": "image_url", "image_url": {"url": "https://example.com/paris.jpg", "detail": "low"}},
                {"type": "image_url", "image_url": {"url": f"data:image/jpeg;base64,{PNG_B64}"}},
            ]},
            {"role": "assistant", "content": None, "tool_calls": [
                {"id": "call_1", "type": "function",
                 "function": {"name": "get_weather", "arguments": '{"city":"Paris"}'}}]},
            {"role": "tool", "tool_call_id": "call_1", "content": "18C and sunny"},
            {"role": "assistant", "content": "It is 18C and sunny in Paris."},
            {"role": "user", "content": "Thanks"},
        ],
        "tools": [{"type": "function", "function": {"name": "get_weather", "description": "Weather by city",
                                                    "parameters": WEATHER_SCHEMA, "strict": True}}],
        "tool_choice": {"type": "function", "function": {"name": "get_weather"}},
        "parallel_tool_calls": False,
        "temperature": 0.3,
        "top_p": 0.9,
        "max_completion_tokens": 300,
        "stop": "END",
        "seed": 42,
        "presence_penalty": 0.5,
        "frequency_penalty": 0.25,
        "user": "user-7",
        "reasoning_effort": "low",
        "response_format": {"type": "json_schema", "json_schema": {
            "name": "weather", "description": "A forecast", "schema": WEATHER_SCHEMA, "strict": True}},
        "providerOptions": {"gateway": {"order": ["openai"]}, "openai": {"service_tier": "flex"},
                            "groq": {"reasoning_format": "hidden"}},
    }
    assert via_canonical(caller) == {
        "model": "gpt-4o-2024-08-06",
        "messages": [
            {"role": "system", "content": "You are a weather bot."},
            {"role": "user", "name": "alice", "content": [
                {"type": "text", "text": "Weather where this photo was taken?"},
                {"type": "image_url", "image_url": {"url": "https://example.com/paris.jpg", "detail": "low"}},
                {"type": "image_url", "image_url": {"url": f"data:image/jpeg;base64,{PNG_B64}"}},
            ]},
            {"role": "assistant", "content": None, "tool_calls": [
                {"id": "call_1", "type": "function",
                 "function": {"name": "get_weather", "arguments": '{"city":"Paris"}'}}]},
            {"role": "tool", "tool_call_id": "call_1", "content": "18C and sunny"},
            {"role": "assistant", "content": "It is 18C and sunny in Paris."},
            {"role": "user", "content": "Thanks"},
        ],
        "tools": [{"type": "function", "function": {"name": "get_weather", "parameters": WEATHER_SCHEMA,
                                                    "description": "Weather by city", "strict": True}}],
        "tool_choice": {"type": "function", "function": {"name": "get_weather"}},
        "parallel_tool_calls": False,
        "temperature": 0.3,
        "top_p": 0.9,
        "max_tokens": 300,
        "stop": ["END"],
        "seed": 42,
        "presence_penalty": 0.5,
        "frequency_penalty": 0.25,
        "user": "user-7",
        "reasoning_effort": "low",
        "response_format": {"type": "json_schema", "json_schema": {
            "name": "weather", "schema": WEATHER_SCHEMA, "strict": True, "description": "A forecast"}},
        "service_tier": "flex",  # providerOptions.openai merged; groq's and gateway's are not
    }


def test_provider_options_only_for_that_slug() -> None:
    caller = {"model": "m/x", "messages": [{"role": "user", "content": "hi"}],
              "providerOptions": {"openai": {"service_tier": "flex"}, "groq": {"reasoning_format": "hidden"}}}
    body = via_canonical(caller, "llama-3.3-70b-versatile", "groq")
    assert body["reasoning_format"] == "hidden"
    assert "service_tier" not in body
    assert body["model"] == "llama-3.3-70b-versatile"


def test_developer_becomes_system_and_simple_fields_absent() -> None:
    body = via_canonical({"model": "m/x", "messages": [{"role": "developer", "content": "Be terse."},
                                                       {"role": "user", "content": "hi"}]})
    assert body == {"model": "gpt-4o-2024-08-06", "messages": [
        {"role": "system", "content": "Be terse."}, {"role": "user", "content": "hi"}]}


def test_stream_adds_include_usage() -> None:
    body = via_canonical({"model": "m/x", "messages": [{"role": "user", "content": "hi"}], "stream": True})
    assert body["stream"] is True
    assert body["stream_options"] == {"include_usage": True}
    body = via_canonical({"model": "m/x", "messages": [{"role": "user", "content": "hi"}]})
    assert "stream" not in body and "stream_options" not in body


def test_tool_choice_modes() -> None:
    for mode in ("auto", "none", "required"):
        req = ChatRequest(model="m/x", messages=[], tool_choice=ToolChoice(mode))  # type: ignore[arg-type]
        assert build_body(req, "x", "openai")["tool_choice"] == mode


def test_json_object_and_text_formats() -> None:
    req = ChatRequest(model="m/x", messages=[], response_format=ResponseFormat("json_object"))
    assert build_body(req, "x", "openai")["response_format"] == {"type": "json_object"}
    req = ChatRequest(model="m/x", messages=[], response_format=ResponseFormat("text"))
    assert "response_format" not in build_body(req, "x", "openai")
    req = ChatRequest(model="m/x", messages=[], response_format=ResponseFormat("json_schema"))
    assert build_body(req, "x", "openai")["response_format"] == {
        "type": "json_schema", "json_schema": {"name": "response", "schema": {}}}


def test_canonical_parts_from_other_protocols() -> None:
    req = ChatRequest(model="m/x", messages=[
        Message("system", [TextPart("A"), TextPart("B")]),
        Message("user", [TextPart("cached", cache_control={"type": "ephemeral"})]),
        Message("assistant", [ReasoningPart("thinking...", signature="sig"), TextPart("Let me look."),
                              ToolCallPart("toolu_1", "search", '{"q":"x"}')]),
        Message("tool", [ToolResultPart("toolu_1", [TextPart("found "), TextPart("it")]),
                         ToolResultPart("toolu_2", [ImagePart(data="AAAA", media_type="image/gif")])]),
    ], max_tokens=10, stop=["x", "y"], tools=[Tool("search", {"type": "object"})])
    body = build_body(req, "x", "openai")
    assert body["messages"] == [
        {"role": "system", "content": "AB"},
        {"role": "user", "content": [{"type": "text", "text": "cached"}]},
        {"role": "assistant", "content": "Let me look.", "reasoning_content": "thinking...",
         "tool_calls": [{"id": "toolu_1", "type": "function",
                         "function": {"name": "search", "arguments": '{"q":"x"}'}}]},
        {"role": "tool", "tool_call_id": "toolu_1", "content": "found it"},
        {"role": "tool", "tool_call_id": "toolu_2",
         "content": [{"type": "image_url", "image_url": {"url": "data:image/gif;base64,AAAA"}}]},
    ]
    assert body["tools"] == [{"type": "function", "function": {"name": "search", "parameters": {"type": "object"}}}]
    assert body["max_tokens"] == 10 and body["stop"] == ["x", "y"]


# ---- pass-through ----

def passthrough(raw: dict[str, Any], model_id: str = "gpt-4o-2024-08-06", slug: str = "openai") -> dict[str, Any]:
    return json.loads(encode_passthrough(raw, model_id, slug))


def test_passthrough_keeps_unknown_keys_and_rewrites_model() -> None:
    raw = {"model": "openai/gpt-4o", "messages": [{"role": "user", "content": "hi"}],
           "logit_bias": {"50256": -100}, "service_tier": "flex", "store": True, "metadata": {"k": "v"},
           "messages_extra": [1], "n": 1}
    before = json.loads(json.dumps(raw))
    body = passthrough(raw)
    assert body == {**before, "model": "gpt-4o-2024-08-06"}
    assert raw == before  # the caller's dict is not mutated (it may be reused for another attempt)


def test_passthrough_strips_gateway_keys() -> None:
    raw = {"model": "openai/gpt-4o", "messages": [{"role": "user", "content": "hi"}],
           "models": ["a/b"], "providerOptions": {"gateway": {"order": ["openai"]}},
           "provider_options": {"x": {}}, "provider": {"order": ["openai"]}, "temperature": 0}
    body = passthrough(raw)
    assert set(body) == {"model", "messages", "temperature"}


def test_passthrough_merges_provider_options_for_slug() -> None:
    raw = {"model": "openai/gpt-4o", "messages": [], "temperature": 1,
           "providerOptions": {"openai": {"service_tier": "flex", "temperature": 0.1},
                               "groq": {"reasoning_format": "raw"}}}
    body = passthrough(raw)
    assert body["service_tier"] == "flex"
    assert body["temperature"] == 0.1
    assert "reasoning_format" not in body
    body = passthrough({"model": "m", "messages": [], "provider_options": {"groq": {"reasoning_format": "raw"}}},
                       "llama", "groq")
    assert body == {"model": "llama", "messages": [], "reasoning_format": "raw"}


def test_passthrough_stream_forces_include_usage() -> None:
    body = passthrough({"model": "m", "messages": [], "stream": True})
    assert body["stream_options"] == {"include_usage": True}
    body = passthrough({"model": "m", "messages": [], "stream": True,
                        "stream_options": {"include_usage": False, "include_obfuscation": False}})
    assert body["stream_options"] == {"include_usage": True, "include_obfuscation": False}
    body = passthrough({"model": "m", "messages": [], "stream": False, "stream_options": {"include_usage": False}})
    assert body["stream_options"] == {"include_usage": False}


def test_passthrough_does_not_mutate_stream_options() -> None:
    opts = {"include_usage": False}
    passthrough({"model": "m", "messages": [], "stream": True, "stream_options": opts})
    assert opts == {"include_usage": False}
