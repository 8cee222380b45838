"""Encoding canonical stream events as a Responses event stream: exact sequences, sequence numbers, and
acceptance by the SDK's schema and stream accumulator."""

from __future__ import annotations

from switchyard.canonical import (
    Finish,
    ReasoningDelta,
    ResponseInfo,
    StreamEvent,
    TextDelta,
    ToolCallDelta,
    ToolCallStart,
    Usage,
    UsageReport,
)
from switchyard.errors import ErrorCategory, UpstreamError
from switchyard.protocols.openai_responses.frontdoor import OpenAIResponsesFrontDoor
from switchyard.protocols.openai_responses.stream_out import ResponsesStreamEncoder
from tests.protocols.openai_responses.helpers import (
    check_with_sdk,
    inbound,
    record,
    sse_events,
    types,
)

FN = {"type": "function", "name": "get_weather", "parameters": {"type": "object", "properties": {}}}


def run(batches: list[list[StreamEvent]], usage: Usage | None = Usage(7, 3), **body) -> list[dict]:
    rec = record(usage, 0.0001)
    enc = ResponsesStreamEncoder(rec, inbound(stream=True, **body))
    raw = b"".join(enc.encode(b) for b in batches) + enc.finish()
    assert b"[DONE]" not in raw
    return sse_events(raw)


def test_text_stream_sequence() -> None:
    events = run([[ResponseInfo("up", "claude-x"), TextDelta("Hel")], [TextDelta("lo")],
                  [Finish("stop"), UsageReport(Usage(7, 3))]])
    assert types(events) == ["created", "in_progress", "output_item.added", "content_part.added",
                             "output_text.delta", "output_text.delta", "output_text.done", "content_part.done",
                             "output_item.done", "completed"]
    created = events[0]["response"]
    assert created["status"] == "in_progress" and created["output"] == [] and created["id"].startswith("resp_")
    assert events[1]["response"]["status"] == "in_progress"
    added = events[2]
    assert added["output_index"] == 0 and added["item"]["status"] == "in_progress" and added["item"]["content"] == []
    iid = added["item"]["id"]
    assert [(e["item_id"], e["output_index"], e["content_index"], e["delta"]) for e in events[4:6]] == \
        [(iid, 0, 0, "Hel"), (iid, 0, 0, "lo")]
    assert events[6]["text"] == "Hello" and events[7]["part"]["text"] == "Hello"
    assert events[8]["item"]["status"] == "completed"
    done = events[-1]["response"]
    assert done["status"] == "completed" and done["id"] == created["id"]
    assert done["output"] == [events[8]["item"]]
    assert done["usage"]["input_tokens"] == 7 and done["usage"]["cost"] == 0.0001
    assert done["provider_metadata"]["gateway"]["routing"]["resolvedProvider"] == "anthropic"
    final = check_with_sdk(events)
    assert final.output_text == "Hello" and final.usage.total_tokens == 10


def test_tool_calls_stream() -> None:
    events = run([[TextDelta("Checking.")],
                   [ToolCallStart(0, "call_a", "get_weather"), ToolCallDelta(0, '{"ci'), ToolCallDelta(0, 'ty":"P"}')],
                   [ToolCallStart(1, "call_b", "get_weather"), ToolCallDelta(1, "{}")],
                   [Finish("tool_calls")]], tools=[FN])
    assert types(events) == [
        "created", "in_progress",
        "output_item.added", "content_part.added", "output_text.delta", "output_text.done", "content_part.done",
        "output_item.done",
        "output_item.added", "function_call_arguments.delta", "function_call_arguments.delta",
        "function_call_arguments.done", "output_item.done",
        "output_item.added", "function_call_arguments.delta", "function_call_arguments.done", "output_item.done",
        "completed"]
    call_added = events[8]
    assert call_added["output_index"] == 1
    assert {k: call_added["item"][k] for k in ("type", "call_id", "name", "arguments", "status")} == \
        {"type": "function_call", "call_id": "call_a", "name": "get_weather", "arguments": "", "status": "in_progress"}
    assert events[11]["arguments"] == '{"city":"P"}' and events[11]["item_id"] == call_added["item"]["id"]
    final = check_with_sdk(events)
    calls = [o for o in final.output if o.type == "function_call"]
    assert [(c.call_id, c.arguments) for c in calls] == [("call_a", '{"city":"P"}'), ("call_b", "{}")]
    assert final.status == "completed"


def test_reasoning_stream_with_signature() -> None:
    events = run([[ReasoningDelta("let me "), ReasoningDelta("think")], [ReasoningDelta(signature="SIG")],
                  [TextDelta("Answer")], [Finish("stop")]])
    assert types(events)[:9] == ["created", "in_progress", "output_item.added", "reasoning_summary_part.added",
                                 "reasoning_summary_text.delta", "reasoning_summary_text.delta",
                                 "reasoning_summary_text.done", "reasoning_summary_part.done", "output_item.done"]
    assert events[2]["item"] == {"id": events[2]["item"]["id"], "type": "reasoning", "summary": []}
    assert [e["summary_index"] for e in events[3:8]] == [0, 0, 0, 0, 0]
    item = events[8]["item"]
    assert item["summary"] == [{"type": "summary_text", "text": "let me think"}]
    assert item["encrypted_content"] == "swy1:sig:SIG"
    final = check_with_sdk(events)
    assert [o.type for o in final.output] == ["reasoning", "message"] and final.output_text == "Answer"


def test_redacted_reasoning_is_one_closed_item() -> None:
    events = run([[ReasoningDelta(redacted="RED"), TextDelta("x")], [Finish("stop")]])
    assert types(events)[2:4] == ["output_item.added", "output_item.done"]
    assert events[3]["item"]["encrypted_content"] == "swy1:red:RED" and events[3]["item"]["summary"] == []
    check_with_sdk(events)


def test_custom_tool_call_is_unwrapped() -> None:
    events = run([[ToolCallStart(0, "p1", "apply_patch"), ToolCallDelta(0, '{"input":"*** Be'),
                   ToolCallDelta(0, 'gin Patch\\n"}')], [Finish("tool_calls")]],
                 tools=[{"type": "custom", "name": "apply_patch"}])
    assert types(events) == ["created", "in_progress", "output_item.added", "custom_tool_call_input.delta",
                             "custom_tool_call_input.done", "output_item.done", "completed"]
    assert events[2]["item"]["type"] == "custom_tool_call" and events[2]["item"]["input"] == ""
    assert events[3]["delta"] == "*** Begin Patch\n" and events[4]["input"] == "*** Begin Patch\n"
    assert events[5]["item"]["input"] == "*** Begin Patch\n" and events[5]["item"]["call_id"] == "p1"
    check_with_sdk(events)


def test_length_finish_is_incomplete() -> None:
    events = run([[TextDelta("cut")], [Finish("length")]], max_output_tokens=1)
    assert events[-1]["type"] == "response.incomplete"
    resp = events[-1]["response"]
    assert resp["status"] == "incomplete" and resp["incomplete_details"] == {"reason": "max_output_tokens"}
    assert resp["output"][0]["status"] == "incomplete" and resp["max_output_tokens"] == 1
    check_with_sdk(events)


def test_call_cut_by_length_is_incomplete() -> None:
    events = run([[ToolCallStart(0, "a", "get_weather"), ToolCallDelta(0, '{"ci')], [Finish("length")]], tools=[FN])
    assert events[-2]["item"]["status"] == "incomplete" and events[-1]["type"] == "response.incomplete"
    check_with_sdk(events)


def test_empty_stream_still_completes() -> None:
    events = run([[]], usage=None)
    assert types(events) == ["created", "in_progress", "completed"]
    assert events[-1]["response"]["output"] == [] and events[-1]["response"]["usage"]["total_tokens"] == 0
    check_with_sdk(events)


def test_late_fragment_of_a_closed_call_reaches_the_final_response() -> None:
    events = run([[ToolCallStart(0, "a", "get_weather"), ToolCallDelta(0, '{"x":')],
                  [ToolCallStart(1, "b", "get_weather"), ToolCallDelta(0, "1}"), ToolCallDelta(1, "{}")],
                  [Finish("tool_calls")]], tools=[FN])
    final = events[-1]["response"]["output"]
    assert [c["arguments"] for c in final] == ['{"x":1}', "{}"]


def test_stream_error_after_start_ends_with_error_and_failed() -> None:
    door = OpenAIResponsesFrontDoor()
    rec = record(Usage(5, 1))
    enc = door.stream_encoder(inbound(stream=True), rec)
    first = enc.encode([TextDelta("partial ")])
    err = UpstreamError(ErrorCategory.CONNECT, "anthropic: the provider closed the connection mid-stream")
    tail = enc.fail(err)  # what the executor calls when a started stream fails
    events = sse_events(first + tail)
    assert types(events)[-2:] == ["error", "failed"]
    error = events[-2]
    assert error["message"] == err.message and error["code"] and "param" in error
    assert error["error"]["message"] == err.message  # the nested form the OpenAI SDKs raise on
    failed = events[-1]["response"]
    assert failed["status"] == "failed" and failed["error"] == {"code": "server_error", "message": err.message}
    assert failed["output"][0]["status"] == "incomplete" and failed["output"][0]["content"][0]["text"] == "partial "
    assert failed["provider_metadata"]["gateway"]["generationId"] == rec.id
    check_with_sdk(events)
    rate = door.stream_error(UpstreamError(ErrorCategory.RATE_LIMITED, "slow down"), record())
    assert sse_events(rate)[0]["type"] == "error"  # no encoder (pass-through): the error event alone


