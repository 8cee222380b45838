"""Encode canonical stream events as a Responses API event stream.

Every event is ``event: <type>`` + ``data: {"type": <type>, ..., "sequence_number": n}``, n counting
from 0; there is no ``[DONE]``. The sequence is OpenAI's:

    response.created (status in_progress), response.in_progress, then per output item
      message:   output_item.added, content_part.added, output_text.delta*, output_text.done,
                 content_part.done, output_item.done
      reasoning: output_item.added, reasoning_summary_part.added, reasoning_summary_text.delta*,
                 reasoning_summary_text.done, reasoning_summary_part.done, output_item.done
      function:  output_item.added, function_call_arguments.delta*, function_call_arguments.done,
                 output_item.done
      custom:    output_item.added, custom_tool_call_input.delta, custom_tool_call_input.done,
                 output_item.done (the input is unwrapped from the JSON arguments, so it comes whole)
    and last response.completed | response.incomplete | response.failed with the whole Response,
    usage, ``usage.cost`` and ``provider_metadata.gateway``.

One item is open at a time; a new one opens when the kind of delta changes or a call starts.

An upstream failure after the stream started ends it with an ``error`` event (on which the OpenAI
SDKs raise ``APIError``) and ``response.failed`` with the output so far (on which the Codex CLI acts).
"""

from __future__ import annotations

from typing import Any

import msgspec

from switchyard.canonical import (
    Finish,
    ReasoningDelta,
    StreamEvent,
    TextDelta,
    ToolCallDelta,
    ToolCallStart,
)
from switchyard.errors import GatewayError
from switchyard.protocols.openai_responses import response_out as ro
from switchyard.protocols.openai_responses.errors_out import (
    error_event,
    response_error_code,
)
from switchyard.protocols.openai_responses.request_in import ResponsesInbound
from switchyard.telemetry.record import GenerationRecord

_encode = msgspec.json.Encoder().encode


def _ev(kind: str, fields: dict[str, Any], seq: int) -> bytes:
    return (b"event: " + kind.encode() + b"\ndata: " + _encode({"type": kind, **fields, "sequence_number": seq})
            + b"\n\n")


class ResponsesStreamEncoder:
    __slots__ = ("_rec", "_inbound", "_seq", "_created", "_started", "_items", "_open", "_buf", "_sig", "_red",
                 "_summary", "_calls", "_args", "_names", "_finish", "_head", "__weakref__")

    def __init__(self, rec: GenerationRecord, inbound: ResponsesInbound) -> None:
        self._rec = rec
        self._inbound = inbound
        self._seq = 0
        self._created = int(rec.created_at)
        self._started = False
        self._items: list[dict[str, Any]] = []  # output so far; final forms once closed
        self._open: tuple[str, int] | None = None  # (kind, output index) of the open item
        self._buf: list[str] = []  # text of the open message or reasoning item
        self._sig: str | None = None
        self._red: str | None = None
        self._summary = False  # the open reasoning item has its summary part
        self._calls: dict[int, int] = {}  # canonical tool-call index -> output index
        self._args: dict[int, list[str]] = {}  # output index -> argument fragments
        self._names: dict[int, str] = {}  # output index -> canonical tool name
        self._finish: str | None = None
        self._head = b""  # the bytes before the delta text of the open item's delta events

    def _emit(self, out: list[bytes], kind: str, fields: dict[str, Any]) -> None:
        out.append(_ev(kind, fields, self._seq))
        self._seq += 1

    def _delta(self, out: list[bytes], text: str) -> None:
        out.append(self._head + _encode(text) + b',"sequence_number":' + str(self._seq).encode() + b"}\n\n")
        self._seq += 1

    def _delta_head(self, kind: str, iid: str, index: int, extra: bytes) -> bytes:
        return (b"event: " + kind.encode() + b'\ndata: {"type":"' + kind.encode() + b'","item_id":' + _encode(iid)
                + b',"output_index":' + str(index).encode() + extra + b',"delta":')

    def _body(self, status: str) -> dict[str, Any]:
        return ro.envelope(self._inbound, self._rec, self._created, status)

    # ---- items ----

    def _add(self, out: list[bytes], item: dict[str, Any], kind: str) -> int:
        self._close(out)
        index = len(self._items)
        self._items.append(item)
        self._open = (kind, index)
        self._emit(out, "response.output_item.added", {"output_index": index, "item": item})
        return index

    def _open_message(self, out: list[bytes]) -> None:
        iid = ro.item_id(self._rec, "msg", len(self._items))
        index = self._add(out, {"id": iid, "type": "message", "status": "in_progress", "role": "assistant",
                                "content": []}, "message")
        self._emit(out, "response.content_part.added", {"item_id": iid, "output_index": index, "content_index": 0,
                                                         "part": {"type": "output_text", "text": "",
                                                                  "annotations": [], "logprobs": []}})
        self._head = self._delta_head("response.output_text.delta", iid, index, b',"content_index":0,"logprobs":[]')

    def _open_reasoning(self, out: list[bytes]) -> None:
        iid = ro.item_id(self._rec, "rs", len(self._items))
        self._add(out, {"id": iid, "type": "reasoning", "summary": []}, "reasoning")
        self._summary = False

    def _open_call(self, out: list[bytes], tool_index: int, call_id: str, name: str) -> None:
        index = len(self._items)
        item = ro.call_item(self._inbound.tools, self._rec, index, call_id, name, "", "in_progress")
        self._calls[tool_index] = index
        self._args[index] = []
        self._names[index] = name
        self._add(out, item, "call")
        self._head = self._delta_head("response.function_call_arguments.delta", item["id"], index, b"")

    def _close(self, out: list[bytes], status: str = "completed") -> None:
        if self._open is None:
            return
        kind, index = self._open
        self._open = None
        iid = self._items[index]["id"]
        if kind == "message":
            text = "".join(self._buf)
            part = {"type": "output_text", "text": text, "annotations": [], "logprobs": []}
            self._emit(out, "response.output_text.done", {"item_id": iid, "output_index": index, "content_index": 0,
                                                          "text": text, "logprobs": []})
            self._emit(out, "response.content_part.done", {"item_id": iid, "output_index": index,
                                                           "content_index": 0, "part": part})
            final = ro.message_item(iid, text, status)
        elif kind == "reasoning":
            text = "".join(self._buf)
            if self._summary:
                where = {"item_id": iid, "output_index": index, "summary_index": 0}
                self._emit(out, "response.reasoning_summary_text.done", {**where, "text": text})
                self._emit(out, "response.reasoning_summary_part.done",
                           {**where, "part": {"type": "summary_text", "text": text}})
            final = ro.reasoning_item(iid, text, self._sig, self._red)
            self._sig = self._red = None
        else:
            final = self._final_call(index, status)
            if final["type"] == "custom_tool_call":
                if final["input"]:
                    self._emit(out, "response.custom_tool_call_input.delta",
                               {"item_id": iid, "output_index": index, "delta": final["input"]})
                self._emit(out, "response.custom_tool_call_input.done",
                           {"item_id": iid, "output_index": index, "input": final["input"]})
            else:
                self._emit(out, "response.function_call_arguments.done",
                           {"item_id": iid, "output_index": index, "arguments": final["arguments"]})
        self._buf = []
        self._items[index] = final
        self._emit(out, "response.output_item.done", {"output_index": index, "item": final})

    def _final_call(self, index: int, status: str = "completed") -> dict[str, Any]:
        return ro.call_item(self._inbound.tools, self._rec, index, self._items[index]["call_id"],
                            self._names[index], "".join(self._args[index]), status)

    # ---- the encoder contract ----

    def encode(self, events: list[StreamEvent]) -> bytes:
        out: list[bytes] = []
        if not self._started:
            self._start(out)
        for ev in events:
            t = type(ev)
            if t is TextDelta:
                if self._open is None or self._open[0] != "message":
                    self._open_message(out)
                self._buf.append(ev.text)  # type: ignore[union-attr]
                self._delta(out, ev.text)  # type: ignore[union-attr]
            elif t is ToolCallDelta:
                self._tool_delta(out, ev)  # type: ignore[arg-type]
            elif t is ReasoningDelta:
                self._reasoning(out, ev)  # type: ignore[arg-type]
            elif t is ToolCallStart:
                self._open_call(out, ev.index, ev.id, ev.name)  # type: ignore[union-attr]
            elif t is Finish:
                self._finish = ev.reason  # type: ignore[union-attr]
        return b"".join(out)

    def _start(self, out: list[bytes]) -> None:
        self._started = True
        body = self._body("in_progress")
        self._emit(out, "response.created", {"response": body})
        self._emit(out, "response.in_progress", {"response": body})

    def _tool_delta(self, out: list[bytes], ev: ToolCallDelta) -> None:
        index = self._calls.get(ev.index)
        if index is None:  # arguments before their start: open the call without a name
            self._open_call(out, ev.index, f"call_{ev.index}", "")
            index = self._calls[ev.index]
        if not ev.arguments:
            return
        self._args[index].append(ev.arguments)
        if self._open != ("call", index):
            # A late fragment of a call already closed (providers stream calls one after another, so
            # this is rare): the final response carries the whole arguments.
            self._items[index] = self._final_call(index)
        elif self._items[index]["type"] == "function_call":
            self._delta(out, ev.arguments)

    def _reasoning(self, out: list[bytes], ev: ReasoningDelta) -> None:
        if ev.redacted is not None:
            self._open_reasoning(out)
            self._red = ev.redacted
            self._close(out)
            return
        if not ev.text and not ev.signature:
            return
        if self._open is None or self._open[0] != "reasoning":
            self._open_reasoning(out)
        if ev.text:
            assert self._open is not None
            index = self._open[1]
            iid = self._items[index]["id"]
            if not self._summary:
                self._summary = True
                self._emit(out, "response.reasoning_summary_part.added",
                           {"item_id": iid, "output_index": index, "summary_index": 0,
                            "part": {"type": "summary_text", "text": ""}})
                self._head = self._delta_head("response.reasoning_summary_text.delta", iid, index,
                                              b',"summary_index":0')
            self._buf.append(ev.text)
            self._delta(out, ev.text)
        if ev.signature:
            self._sig = ev.signature

    def finish(self) -> bytes:
        out: list[bytes] = []
        if not self._started:
            self._start(out)
        status, _ = ro.status_for(self._finish)
        self._close(out, "incomplete" if status == "incomplete" else "completed")
        body = ro.finished(self._body(status), self._inbound, self._rec, self._finish, self._items, self._rec.usage)
        self._emit(out, f"response.{status}", {"response": body})
        return b"".join(out)

    def fail(self, err: GatewayError) -> bytes:
        """The end of a stream whose provider failed after it started."""
        out: list[bytes] = []
        if not self._started:
            self._start(out)
        if self._open is not None:  # what arrived of the open item, marked incomplete
            kind, index = self._open
            item = self._items[index]
            if kind == "message":
                self._items[index] = ro.message_item(item["id"], "".join(self._buf), "incomplete")
            elif kind == "reasoning":
                self._items[index] = ro.reasoning_item(item["id"], "".join(self._buf), self._sig, self._red)
            else:
                self._items[index] = self._final_call(index, "incomplete")
            self._open = None
        out.append(error_event(err, self._seq))
        self._seq += 1
        body = ro.finished(self._body("failed"), self._inbound, self._rec, "error", self._items, self._rec.usage)
        body["error"] = {"code": response_error_code(err), "message": err.message}
        self._emit(out, "response.failed", {"response": body})
        return b"".join(out)

