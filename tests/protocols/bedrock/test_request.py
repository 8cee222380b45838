"""Canonical ChatRequest -> Converse request body."""

from __future__ import annotations

import json

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
from switchyard.errors import ErrorCategory, RequestError
from switchyard.protocols.bedrock.request import build_body

PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="
WEATHER = Tool("get_weather", {"type": "object", "properties": {"city": {"type": "string"}}}, "Weather for a city")


def body(req: ChatRequest, model: str = "anthropic.claude-sonnet-5-5") -> dict:
    return json.loads(build_body(req, model, "bedrock"))


def user(*parts) -> Message:
    return Message("user", list(parts))


def test_minimal_text_and_system():
    b = body(ChatRequest("m", [Message("system", [TextPart("be brief")]), user(TextPart("hi")),
                               Message("system", [TextPart("and kind")])]))
    assert b == {"system": [{"text": "be brief"}, {"text": "and kind"}],
                 "messages": [{"role": "user", "content": [{"text": "hi"}]}]}


def test_inference_config():
    b = body(ChatRequest("m", [user(TextPart("x"))], max_tokens=100, temperature=1.7, top_p=0.9, stop=["END"],
                         seed=3, presence_penalty=0.5))
    assert b["inferenceConfig"] == {"maxTokens": 100, "temperature": 1.0, "topP": 0.9, "stopSequences": ["END"]}
    assert "seed" not in json.dumps(b)


def test_alternation_merging_blank_text_and_prefill():
    b = body(ChatRequest("m", [user(TextPart("a")), user(TextPart("   ")), user(TextPart("b")),
                               Message("assistant", [TextPart("c")]), Message("assistant", [TextPart("d  \n")])]))
    assert b["messages"] == [{"role": "user", "content": [{"text": "a"}, {"text": "b"}]},
                             {"role": "assistant", "content": [{"text": "c"}, {"text": "d"}]}]


def test_images():
    b = body(ChatRequest("m", [user(TextPart("look"), ImagePart(url=f"data:image/png;base64,{PNG}"),
                                    ImagePart(data="/9j/AAAA", media_type="image/jpg"),
                                    ImagePart(data="R0lGODlh"),
                                    ImagePart(url="s3://bucket/cat.webp"))]))
    content = b["messages"][0]["content"]
    assert content[1] == {"image": {"format": "png", "source": {"bytes": PNG}}}
    assert content[2] == {"image": {"format": "jpeg", "source": {"bytes": "/9j/AAAA"}}}
    assert content[3]["image"]["format"] == "gif"
    assert content[4] == {"image": {"format": "webp", "source": {"s3Location": {"uri": "s3://bucket/cat.webp"}}}}


@pytest.mark.parametrize("part", [ImagePart(url="https://example.com/cat.png"),
                                  ImagePart(data="AAAA", media_type="image/heic")])
def test_unsupported_images_raise_unsupported(part):
    with pytest.raises(RequestError) as exc:
        build_body(ChatRequest("m", [user(part)]), "m")
    assert exc.value.category is ErrorCategory.UNSUPPORTED


def test_non_base64_data_url_is_invalid():
    with pytest.raises(RequestError) as exc:
        build_body(ChatRequest("m", [user(ImagePart(url="data:image/png,rawbytes"))]), "m")
    assert exc.value.category is ErrorCategory.INVALID_REQUEST


def tool_history(choice: ToolChoice | None = None, tools: list | None = None) -> ChatRequest:
    return ChatRequest("m", [
        user(TextPart("weather?")),
        Message("assistant", [ReasoningPart("hmm", signature="sig"), ReasoningPart("unsigned"),
                              ToolCallPart("call_1", "get_weather", '{"city":"Paris"}'),
                              ToolCallPart("call_2", "get_weather", "not json")]),
        Message("tool", [ToolResultPart("call_1", [TextPart("sunny")])]),
        Message("tool", [ToolResultPart("call_2", [], is_error=True)]),
        user(TextPart("thanks")),
    ], tools=tools if tools is not None else [WEATHER], tool_choice=choice)


def test_tool_history_and_tool_config():
    b = body(tool_history())
    assert b["toolConfig"] == {"tools": [{"toolSpec": {
        "name": "get_weather", "description": "Weather for a city",
        "inputSchema": {"json": {"type": "object", "properties": {"city": {"type": "string"}}}}}}]}
    assert b["messages"][1]["content"] == [
        {"reasoningContent": {"reasoningText": {"text": "hmm", "signature": "sig"}}},
        {"toolUse": {"toolUseId": "call_1", "name": "get_weather", "input": {"city": "Paris"}}},
        {"toolUse": {"toolUseId": "call_2", "name": "get_weather", "input": {}}},
    ]
    # Both tool messages and the next user text merge into one user turn, results first.
    assert b["messages"][2] == {"role": "user", "content": [
        {"toolResult": {"toolUseId": "call_1", "content": [{"text": "sunny"}]}},
        {"toolResult": {"toolUseId": "call_2", "content": [{"text": "(empty)"}], "status": "error"}},
        {"text": "thanks"}]}
    assert len(b["messages"]) == 3


@pytest.mark.parametrize("choice,expected", [
    (ToolChoice("auto"), {"auto": {}}), (ToolChoice("required"), {"any": {}}),
    (ToolChoice("tool", "get_weather"), {"tool": {"name": "get_weather"}}), (None, None)])
def test_tool_choice(choice, expected):
    b = body(ChatRequest("m", [user(TextPart("x"))], tools=[WEATHER], tool_choice=choice))
    assert b["toolConfig"].get("toolChoice") == expected


@pytest.mark.parametrize("req", [tool_history(ToolChoice("none")), tool_history(tools=[])])
def test_no_tools_rewrites_tool_history_as_text(req):
    b = body(req)
    assert "toolConfig" not in b
    dumped = json.dumps(b)
    assert "toolUse" not in dumped and "toolResult" not in dumped
    assert b["messages"][1]["content"][1] == {"text": '[called tool get_weather with arguments {"city":"Paris"}]'}
    assert b["messages"][2]["content"][0] == {"text": "[tool result: sunny]"}


def test_tool_result_with_image():
    req = ChatRequest("m", [user(TextPart("x")), Message("assistant", [ToolCallPart("c1", "shot", "{}")]),
                            Message("tool", [ToolResultPart("c1", [TextPart("here"), ImagePart(data=PNG)])])],
                      tools=[Tool("shot", {})])
    result = body(req)["messages"][2]["content"][0]["toolResult"]
    assert result["content"] == [{"text": "here"}, {"image": {"format": "png", "source": {"bytes": PNG}}}]
    schema = body(req)["toolConfig"]["tools"][0]["toolSpec"]["inputSchema"]
    assert schema == {"json": {"type": "object", "properties": {}}}


def test_redacted_reasoning_round_trips():
    b = body(ChatRequest("m", [user(TextPart("x")), Message("assistant", [ReasoningPart(redacted="cmVk"),
                                                                          TextPart("y")])]))
    assert b["messages"][1]["content"][0] == {"reasoningContent": {"redactedContent": "cmVk"}}


def test_cache_control_becomes_cache_point():
    b = body(ChatRequest("m", [Message("system", [TextPart("long system", cache_control={"type": "ephemeral"})]),
                               user(TextPart("doc", cache_control={"type": "ephemeral"}), TextPart("q"))]))
    assert b["system"] == [{"text": "long system"}, {"cachePoint": {"type": "default"}}]
    assert b["messages"][0]["content"] == [{"text": "doc"}, {"cachePoint": {"type": "default"}}, {"text": "q"}]


def test_json_modes_are_a_system_instruction():
    b = body(ChatRequest("m", [user(TextPart("x"))], response_format=ResponseFormat(
        "json_schema", schema={"type": "object"}, name="thing")))
    assert "single JSON value" in b["system"][-1]["text"] and '{"type":"object"}' in b["system"][-1]["text"]
    b = body(ChatRequest("m", [user(TextPart("x"))], response_format=ResponseFormat("json_object")))
    assert "JSON" in b["system"][0]["text"]


def test_provider_options_split_between_top_level_and_additional_fields():
    req = ChatRequest("m", [user(TextPart("x"))], top_k=40, provider_options={
        "bedrock": {"thinking": {"type": "enabled", "budget_tokens": 2048},
                    "guardrailConfig": {"guardrailIdentifier": "g1", "guardrailVersion": "1"}},
        "my-bedrock": {"performanceConfig": {"latency": "optimized"},
                       "additionalModelRequestFields": {"anthropic_beta": ["x"]}},
        "anthropic": {"ignored": True}})
    b = json.loads(build_body(req, "us.anthropic.claude-sonnet-5-5", "my-bedrock"))
    assert b["guardrailConfig"] == {"guardrailIdentifier": "g1", "guardrailVersion": "1"}
    assert b["performanceConfig"] == {"latency": "optimized"}
    assert b["additionalModelRequestFields"] == {"top_k": 40, "thinking": {"type": "enabled", "budget_tokens": 2048},
                                                 "anthropic_beta": ["x"]}


def test_inference_config_options_merge():
    req = ChatRequest("m", [user(TextPart("x"))], max_tokens=9,
                      provider_options={"bedrock": {"inferenceConfig": {"topP": 0.5}}})
    assert body(req)["inferenceConfig"] == {"maxTokens": 9, "topP": 0.5}


def test_top_k_only_for_claude():
    assert "additionalModelRequestFields" not in body(ChatRequest("m", [user(TextPart("x"))], top_k=5),
                                                      "meta.llama3-3-70b-instruct-v1:0")


def test_system_must_be_text():
    with pytest.raises(RequestError):
        build_body(ChatRequest("m", [Message("system", [ImagePart(data=PNG)])]), "m")
