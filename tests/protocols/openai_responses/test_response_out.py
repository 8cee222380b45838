"""Rendering a ChatResult as a Responses ``Response`` object, checked against the SDK's model."""

from __future__ import annotations

import json

import msgspec
import pytest
from openai.types.responses import Response

from switchyard.canonical import (
    ChatResult,
    ReasoningPart,
    TextPart,
    ToolCallPart,
    Usage,
)
from switchyard.catalog import load_catalog
from switchyard.catalog.names import ModelNames
from switchyard.config.model import Config
from switchyard.errors import RequestError
from switchyard.protocols.openai_responses import response_out
from switchyard.protocols.openai_responses.frontdoor import OpenAIResponsesFrontDoor
from tests.gateway_harness import NO_DATA, model
from tests.protocols.openai_responses.helpers import inbound, record

FN = {"type": "function", "name": "get_weather", "parameters": {"type": "object", "properties": {}}}


def render(result: ChatResult, **body) -> dict:
    rec = record(result.usage, 0.000123, stream=False)
    out = json.loads(response_out.render_result(result, rec, inbound(**body)))
    Response.model_validate(out)  # every required field, every type
    assert out["id"] == "resp_" + rec.id[4:]
    assert out["provider_metadata"]["gateway"]["generationId"] == rec.id
    return out


def test_text_result() -> None:
    out = render(ChatResult([TextPart("Hel"), TextPart("lo")], "stop", Usage(10, 5, cache_read_tokens=4,
                                                                             reasoning_tokens=2)),
                 instructions="sys", temperature=0.5, metadata={"a": "b"}, store=False)
    assert out["object"] == "response" and out["status"] == "completed" and out["model"] == "acme/chat"
    assert out["error"] is None and out["incomplete_details"] is None and isinstance(out["completed_at"], int)
    [msg] = out["output"]
    assert msg["type"] == "message" and msg["role"] == "assistant" and msg["status"] == "completed"
    assert msg["id"].startswith("msg_") and msg["content"] == [
        {"type": "output_text", "text": "Hello", "annotations": [], "logprobs": []}]
    assert out["usage"] == {"input_tokens": 10, "input_tokens_details": {"cached_tokens": 4, "cache_write_tokens": 0},
                            "output_tokens": 5, "output_tokens_details": {"reasoning_tokens": 2},
                            "total_tokens": 15, "cost": 0.000123}
    assert (out["instructions"], out["temperature"], out["metadata"], out["store"]) == ("sys", 0.5, {"a": "b"}, False)
    assert out["tool_choice"] == "auto" and out["tools"] == [] and out["text"] == {"format": {"type": "text"}}
    assert out["provider_metadata"]["gateway"]["routing"]["resolvedProvider"] == "anthropic"
    assert Response.model_validate(out).output_text == "Hello"


def test_reasoning_text_and_calls_in_order() -> None:
    result = ChatResult([ReasoningPart("think", signature="SIG"), ReasoningPart(redacted="RED"), TextPart("Calling."),
                         ToolCallPart("call_1", "get_weather", '{"city":"Paris"}'),
                         ToolCallPart("call_2", "get_weather", "{}")], "tool_calls", Usage(3, 4))
    out = render(result, tools=[FN])
    items = out["output"]
    assert [i["type"] for i in items] == ["reasoning", "reasoning", "message", "function_call", "function_call"]
    assert items[0]["summary"] == [{"type": "summary_text", "text": "think"}]
    assert items[0]["encrypted_content"] == "swy1:sig:SIG" and items[1]["encrypted_content"] == "swy1:red:RED"
    assert items[1]["summary"] == []
    assert items[3] == {"id": items[3]["id"], "type": "function_call", "status": "completed", "call_id": "call_1",
                        "name": "get_weather", "arguments": '{"city":"Paris"}'}
    assert items[3]["id"].startswith("fc_") and items[0]["id"].startswith("rs_")
    assert len({i["id"] for i in items}) == 5
    assert out["status"] == "completed" and out["tools"] == [FN]


def test_custom_and_namespaced_calls_map_back() -> None:
    tools = [{"type": "custom", "name": "apply_patch"},
             {"type": "namespace", "name": "agents", "description": "sub-agents", "tools": [{"type": "function", "name": "spawn"}]}]
    result = ChatResult([ToolCallPart("p1", "apply_patch", '{"input":"*** Begin Patch\\n"}'),
                         ToolCallPart("s1", "agents__spawn", '{"n":1}'),
                         ToolCallPart("x1", "apply_patch", "not json")], "tool_calls")
    items = render(result, tools=tools)["output"]
    assert items[0]["type"] == "custom_tool_call" and items[0]["input"] == "*** Begin Patch\n"
    assert items[0]["name"] == "apply_patch" and items[0]["id"].startswith("ctc_")
    assert (items[1]["name"], items[1]["namespace"], items[1]["arguments"]) == ("spawn", "agents", '{"n":1}')
    assert items[2]["input"] == "not json"  # arguments that are not our wrapper are passed as they are


@pytest.mark.parametrize("finish,status,reason", [
    ("length", "incomplete", "max_output_tokens"), ("content_filter", "incomplete", "content_filter"),
    ("other", "completed", None), ("tool_calls", "completed", None)])
def test_status_from_finish_reason(finish: str, status: str, reason: str | None) -> None:
    out = render(ChatResult([TextPart("cut")], finish), max_output_tokens=5)  # type: ignore[arg-type]
    assert out["status"] == status and out["max_output_tokens"] == 5
    assert out["incomplete_details"] == ({"reason": reason} if reason else None)
    assert out["output"][0]["status"] == ("incomplete" if reason else "completed")


def test_error_finish_is_failed() -> None:
    out = render(ChatResult([], "error"))
    assert out["status"] == "failed" and out["error"]["code"] == "server_error" and out["output"] == []


def test_warnings_for_dropped_tools() -> None:
    out = render(ChatResult([TextPart("x")], "stop"), tools=[FN, {"type": "web_search"}])
    assert out["warnings"][0]["tool"] == "web_search" and out["tools"] == [FN]


def test_no_usage_renders_zeros() -> None:
    out = render(ChatResult([TextPart("x")], "stop"))
    assert out["usage"]["input_tokens"] == 0 and out["usage"]["total_tokens"] == 0


def test_model_names() -> None:
    config = msgspec.convert({"providers": {"openai": {"slug": "openai", "protocol": "openai-chat", "base_url": "http://x/v1"},
                                            "anthropic": {"slug": "anthropic", "protocol": "anthropic-messages",
                                                          "base_url": "http://y"}},
                              "models": {"openai/gpt-5": model({"openai": "gpt-5", "anthropic": "x"}),
                                         "acme/claude": model({"anthropic": "claude-9"}),
                                         "acme/gpt-y": model({"openai": "gpt-y-1"})}}, Config)
    names = ModelNames(load_catalog(config.models, enabled=config.providers.keys(), data_file=NO_DATA),
                       "openai", ("openai",))
    assert names("gpt-5") == "openai/gpt-5"
    assert names("gpt-5-2025-08-07") == "openai/gpt-5"
    assert names("gpt-5-latest") == "openai/gpt-5"
    assert names("claude-9") == "acme/claude" and names("gpt-y-1") == "acme/gpt-y"
    assert names("acme/claude") == "acme/claude" and names("nope") == "nope" and names("x/nope") == "x/nope"


def test_frontdoor_errors_are_openai_shaped() -> None:
    door = OpenAIResponsesFrontDoor()
    err = RequestError("bad thing", param="input[0].role")
    body = json.loads(door.render_error(err, None))
    assert body == {"error": {"message": "bad thing", "type": "invalid_request_error", "param": "input[0].role",
                              "code": None}}
    assert door.render_upstream_error_body({"error": {"message": "x"}}) is not None
    assert door.render_upstream_error_body({"type": "error"}) is None
