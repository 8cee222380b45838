"""Canonical ChatRequest -> Gemini GenerateContentRequest body."""

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
from switchyard.protocols.gemini.request import SIGNATURE_BYPASS, build_body

PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
WEATHER = Tool(name="get_weather", description="Weather for a city",
               parameters={"$schema": "https://json-schema.org/draft/2020-12/schema", "type": "object",
                           "properties": {"city": {"type": "string"}}, "required": ["city"],
                           "additionalProperties": False})


def body(*messages: Message, model: str = "gemini-2.5-flash", slug: str = "google", **kw: Any) -> dict[str, Any]:
    return msgspec.json.decode(build_body(ChatRequest(model="google/x", messages=list(messages), **kw), model, slug))


def user(text: str) -> Message:
    return Message("user", [TextPart(text)])


def test_minimal() -> None:
    assert body(user("Hello")) == {"contents": [{"role": "user", "parts": [{"text": "Hello"}]}]}


def test_system_messages_anywhere_become_one_instruction() -> None:
    b = body(Message("system", [TextPart("Be brief.")]), user("Hi"), Message("system", [TextPart("Use French.")]))
    assert b["systemInstruction"] == {"parts": [{"text": "Be brief."}, {"text": "Use French."}]}
    assert b["contents"] == [{"role": "user", "parts": [{"text": "Hi"}]}]


def test_system_message_with_an_image_is_refused() -> None:
    with pytest.raises(RequestError) as exc:
        body(Message("system", [ImagePart(data=PNG)]), user("x"))
    assert exc.value.param == "messages[0].content"


def test_roles_and_merging_of_consecutive_turns() -> None:
    b = body(user("a"), user("b"), Message("assistant", [TextPart("c")]), Message("assistant", [TextPart("")]),
             user("d"))
    assert b["contents"] == [{"role": "user", "parts": [{"text": "a"}, {"text": "b"}]},
                             {"role": "model", "parts": [{"text": "c"}]},
                             {"role": "user", "parts": [{"text": "d"}]}]


def test_images_inline_data_url_and_file_uri() -> None:
    b = body(Message("user", [
        TextPart("What is in these?"),
        ImagePart(data=PNG),
        ImagePart(url=f"data:image/webp;base64,{PNG}"),
        ImagePart(url="https://example.com/cat.jpg?size=large"),
        ImagePart(url="gs://bucket/scan.pdf"),
        ImagePart(url="https://example.com/photo"),
        ImagePart(url="https://example.com/x", media_type="image/gif"),
    ]))
    assert b["contents"][0]["parts"] == [
        {"text": "What is in these?"},
        {"inlineData": {"mimeType": "image/png", "data": PNG}},
        {"inlineData": {"mimeType": "image/webp", "data": PNG}},
        {"fileData": {"fileUri": "https://example.com/cat.jpg?size=large", "mimeType": "image/jpeg"}},
        {"fileData": {"fileUri": "gs://bucket/scan.pdf", "mimeType": "application/pdf"}},
        {"fileData": {"fileUri": "https://example.com/photo"}},
        {"fileData": {"fileUri": "https://example.com/x", "mimeType": "image/gif"}},
    ]


def test_non_base64_data_url_is_refused() -> None:
    with pytest.raises(RequestError):
        body(Message("user", [ImagePart(url="data:image/svg+xml,<svg/>")]))


def tool_loop(*first: Any) -> list[Message]:
    return [
        user("Weather in Paris and Tokyo?"),
        Message("assistant", [*first, TextPart("Checking."),
                              ToolCallPart("call_a", "get_weather", '{"city":"Paris"}'),
                              ToolCallPart("call_b", "get_time", '{"tz":"Asia/Tokyo"}')]),
        Message("tool", [ToolResultPart("call_a", [TextPart("18C, sunny")])]),
        Message("tool", [ToolResultPart("call_b", [TextPart("no such zone")], is_error=True)]),
    ]


def test_tool_loop_matches_results_to_function_names() -> None:
    b = body(*tool_loop(), model="gemini-2.5-flash")
    assert b["contents"] == [
        {"role": "user", "parts": [{"text": "Weather in Paris and Tokyo?"}]},
        {"role": "model", "parts": [
            {"text": "Checking."},
            {"functionCall": {"name": "get_weather", "args": {"city": "Paris"}}},
            {"functionCall": {"name": "get_time", "args": {"tz": "Asia/Tokyo"}}}]},
        # Both results in one user turn, by function name; an error result says so.
        {"role": "user", "parts": [
            {"functionResponse": {"name": "get_weather", "response": {"content": "18C, sunny"}}},
            {"functionResponse": {"name": "get_time", "response": {"error": "no such zone"}}}]},
    ]


def test_gemini_3_gets_the_signature_bypass_on_the_first_call_only() -> None:
    b = body(*tool_loop(), model="gemini-3-pro-preview")
    parts = b["contents"][1]["parts"]
    assert "thoughtSignature" not in parts[0]
    assert parts[1]["thoughtSignature"] == SIGNATURE_BYPASS
    assert "thoughtSignature" not in parts[2]


def test_a_signature_issued_here_goes_back_on_its_part() -> None:
    sig = ReasoningPart(text="thinking...", signature="google/gemini-3-pro-preview|CiQBcsja")
    parts = body(*tool_loop(sig), model="gemini-3-pro-preview")["contents"][1]["parts"]
    # The thought summary is not sent back; the signature rides on the part that followed it.
    assert parts[0] == {"text": "Checking.", "thoughtSignature": "CiQBcsja"}
    assert parts[1]["thoughtSignature"] == SIGNATURE_BYPASS  # the first call still needs one


def test_signature_right_before_the_call() -> None:
    msgs = [user("x"), Message("assistant", [
        ReasoningPart(signature="vertex/gemini-3-pro-preview|SIG"), ToolCallPart("c1", "f", "{}")]),
        Message("tool", [ToolResultPart("c1", [TextPart("ok")])])]
    parts = body(*msgs, model="gemini-3-pro-preview", slug="vertex")["contents"][1]["parts"]
    assert parts == [{"functionCall": {"name": "f", "args": {}}, "thoughtSignature": "SIG"}]


@pytest.mark.parametrize("signature", [
    "google/gemini-2.5-pro|SIG",         # another model
    "vertex/gemini-3-pro-preview|SIG",    # another provider
    "EqMDCqADARFNMg9Zanthropic==",        # not ours at all (an Anthropic thinking signature)
])
def test_foreign_signatures_are_never_sent(signature: str) -> None:
    msgs = [user("x"), Message("assistant", [ReasoningPart(text="t", signature=signature),
                                             ToolCallPart("c1", "f", "{}")])]
    parts = body(*msgs, model="gemini-3-pro-preview")["contents"][1]["parts"]
    assert parts == [{"functionCall": {"name": "f", "args": {}}, "thoughtSignature": SIGNATURE_BYPASS}]


def test_tool_result_for_an_unknown_call_is_refused() -> None:
    with pytest.raises(RequestError) as exc:
        body(user("x"), Message("tool", [ToolResultPart("call_zzz", [TextPart("?")])]))
    assert exc.value.param == "messages[1]"


def test_tool_result_images_follow_the_responses() -> None:
    msgs = [user("look"), Message("assistant", [ToolCallPart("c", "snap", "not json")]),
            Message("tool", [ToolResultPart("c", [TextPart("here"), ImagePart(data=PNG)])])]
    b = body(*msgs)
    assert b["contents"][1]["parts"] == [{"functionCall": {"name": "snap", "args": {}}}]  # bad JSON -> {}
    assert b["contents"][2]["parts"] == [
        {"functionResponse": {"name": "snap", "response": {"content": "here"}}},
        {"inlineData": {"mimeType": "image/png", "data": PNG}}]


@pytest.mark.parametrize(("choice", "config"), [
    (None, None),
    (ToolChoice("auto"), {"functionCallingConfig": {"mode": "AUTO"}}),
    (ToolChoice("none"), {"functionCallingConfig": {"mode": "NONE"}}),
    (ToolChoice("required"), {"functionCallingConfig": {"mode": "ANY"}}),
    (ToolChoice("tool", "get_weather"), {"functionCallingConfig": {"mode": "ANY",
                                                                   "allowedFunctionNames": ["get_weather"]}}),
])
def test_tools_and_tool_choice(choice: ToolChoice | None, config: dict[str, Any] | None) -> None:
    b = body(user("x"), tools=[WEATHER, Tool(name="now", parameters={})], tool_choice=choice)
    assert b["tools"] == [{"functionDeclarations": [
        # JSON Schema goes as is (additionalProperties included) minus the meta keys.
        {"name": "get_weather", "description": "Weather for a city", "parametersJsonSchema": {
            "type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"],
            "additionalProperties": False}},
        {"name": "now"}]}]
    assert b.get("toolConfig") == config


def test_generation_config() -> None:
    b = body(user("x"), temperature=0.2, top_p=0.9, top_k=40, max_tokens=256, stop=["END"], seed=7,
             presence_penalty=0.1, frequency_penalty=0.3, user="u-1", parallel_tool_calls=False)
    assert b["generationConfig"] == {"temperature": 0.2, "topP": 0.9, "topK": 40, "maxOutputTokens": 256,
                                     "seed": 7, "presencePenalty": 0.1, "frequencyPenalty": 0.3,
                                     "stopSequences": ["END"]}
    assert set(b) == {"contents", "generationConfig"}  # user and parallel_tool_calls have no Gemini field


def test_json_modes() -> None:
    b = body(user("x"), response_format=ResponseFormat("json_object"))
    assert b["generationConfig"] == {"responseMimeType": "application/json"}
    schema = {"$schema": "x", "type": "object", "properties": {"a": {"type": "integer"}}, "additionalProperties": False}
    b = body(user("x"), response_format=ResponseFormat("json_schema", schema=schema, name="out"))
    assert b["generationConfig"] == {"responseMimeType": "application/json", "responseJsonSchema": {
        "type": "object", "properties": {"a": {"type": "integer"}}, "additionalProperties": False}}


@pytest.mark.parametrize(("model", "effort", "config"), [
    ("gemini-2.5-flash", "low", {"thinkingBudget": 1024}),
    ("gemini-2.5-pro", "high", {"thinkingBudget": 24576}),
    ("gemini-3-pro-preview", "minimal", {"thinkingLevel": "LOW"}),
    ("gemini-3-pro-preview", "medium", {"thinkingLevel": "HIGH"}),
])
def test_reasoning_effort(model: str, effort: str, config: dict[str, Any]) -> None:
    assert body(user("x"), model=model, reasoning_effort=effort)["generationConfig"] == {"thinkingConfig": config}


def test_provider_options_merge_deeply_google_then_slug() -> None:
    safety = [{"category": "HARM_CATEGORY_HATE_SPEECH", "threshold": "BLOCK_ONLY_HIGH"}]
    b = body(user("x"), slug="vertex", temperature=0.5, reasoning_effort="high", model="gemini-3-pro-preview",
             provider_options={
                 "google": {"safetySettings": safety, "thinkingConfig": {"includeThoughts": True}},
                 "vertex": {"generationConfig": {"topK": 3}, "labels": {"team": "a"}},
                 "openai": {"ignored": True}})
    assert b["safetySettings"] == safety and b["labels"] == {"team": "a"}
    assert b["generationConfig"] == {"temperature": 0.5, "topK": 3,
                                     "thinkingConfig": {"thinkingLevel": "HIGH", "includeThoughts": True}}
    assert "ignored" not in b
