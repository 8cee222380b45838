"""Canonical results -> the Responses API ``Response`` object.

Ids: the response is ``resp_<ULID>`` where the generation is ``gen_<ULID>`` (the same ULID, so
``provider_metadata.gateway.generationId`` and ``x-switchyard-generation-id`` name it too); output
items are ``msg_`` / ``rs_`` / ``fc_`` / ``ctc_`` + that ULID + ``_<output index>``. Function calls
keep the provider's call id as ``call_id``.

``status`` follows the finish reason: ``length`` -> ``incomplete`` (``max_output_tokens``),
``content_filter`` -> ``incomplete`` (``content_filter``), ``error`` -> ``failed``, else
``completed``. Nothing is stored, so ``store`` is echoed but the response cannot be retrieved.
"""

from __future__ import annotations

import time
from typing import Any

import msgspec

from switchyard.canonical import (
    ChatResult,
    ReasoningPart,
    TextPart,
    ToolCallPart,
    Usage,
)
from switchyard.protocols.openai_responses.items_in import encrypted_reasoning
from switchyard.protocols.openai_responses.request_in import ResponsesInbound
from switchyard.protocols.openai_responses.tools_in import ToolMap
from switchyard.telemetry.record import GenerationRecord

_decode = msgspec.json.Decoder().decode

FAILED_MESSAGE = "The provider ended the generation with an error."


def response_id(rec: GenerationRecord) -> str:
    gid = rec.id
    return "resp_" + (gid[4:] if gid.startswith("gen_") else gid)


def item_id(rec: GenerationRecord, prefix: str, index: int) -> str:
    gid = rec.id
    return f"{prefix}_{gid[4:] if gid.startswith('gen_') else gid}_{index}"


def status_for(finish: str | None) -> tuple[str, dict[str, Any] | None]:
    """(status, incomplete_details) for a canonical finish reason."""
    if finish == "length":
        return "incomplete", {"reason": "max_output_tokens"}
    if finish == "content_filter":
        return "incomplete", {"reason": "content_filter"}
    if finish == "error":
        return "failed", None
    return "completed", None


def usage_out(usage: Usage | None, cost: float | None) -> dict[str, Any]:
    u = usage or Usage()
    out: dict[str, Any] = {
        "input_tokens": u.input_tokens,
        "input_tokens_details": {"cached_tokens": u.cache_read_tokens, "cache_write_tokens": u.cache_write_tokens},
        "output_tokens": u.output_tokens,
        "output_tokens_details": {"reasoning_tokens": u.reasoning_tokens},
        "total_tokens": u.input_tokens + u.output_tokens,
    }
    if cost is not None:
        out["cost"] = round(cost, 12)
    return out


def envelope(inbound: ResponsesInbound, rec: GenerationRecord, created_at: int, status: str) -> dict[str, Any]:
    """The Response object without output, usage and the terminal fields."""
    out: dict[str, Any] = {
        "id": response_id(rec), "object": "response", "created_at": created_at, "status": status,
        "background": False, "error": None, "incomplete_details": None, "model": inbound.route.model,
        "output": [], "previous_response_id": None, "usage": None,
    }
    out.update(inbound.echo)
    return out


def finished(body: dict[str, Any], inbound: ResponsesInbound, rec: GenerationRecord, finish: str | None,
             output: list[dict[str, Any]], usage: Usage | None) -> dict[str, Any]:
    """Fill in the terminal fields of ``body``: status, output, usage, our metadata and warnings."""
    status, details = status_for(finish)
    body["status"] = status
    body["incomplete_details"] = details
    if status == "failed":
        body["error"] = {"code": "server_error", "message": FAILED_MESSAGE}
    elif status == "completed":
        body["completed_at"] = int(time.time())
    body["output"] = output
    body["usage"] = usage_out(usage, rec.cost)
    body["provider_metadata"] = {"gateway": rec.gateway_metadata()}
    if inbound.warnings:
        body["warnings"] = inbound.warnings
    return body


# ---- output items ----

def message_item(iid: str, text: str, status: str = "completed") -> dict[str, Any]:
    return {"id": iid, "type": "message", "status": status, "role": "assistant",
            "content": [{"type": "output_text", "text": text, "annotations": [], "logprobs": []}]}


def reasoning_item(iid: str, text: str, signature: str | None = None, redacted: str | None = None) -> dict[str, Any]:
    item: dict[str, Any] = {"id": iid, "type": "reasoning",
                            "summary": [{"type": "summary_text", "text": text}] if text else []}
    enc = encrypted_reasoning(signature, redacted)
    if enc is not None:
        item["encrypted_content"] = enc
    return item


def custom_input(arguments: str) -> str:
    """The free-form input of a custom tool call, from the ``{"input": ...}`` arguments we asked for."""
    try:
        value = _decode(arguments) if arguments else {}
    except msgspec.DecodeError:
        return arguments
    if isinstance(value, dict) and isinstance(value.get("input"), str):
        return value["input"]
    return arguments


def call_item(tools: ToolMap, rec: GenerationRecord, index: int, call_id: str, canonical: str, arguments: str,
              status: str = "completed") -> dict[str, Any]:
    spec = tools.spec(canonical)
    if spec.kind == "custom":
        item: dict[str, Any] = {"id": item_id(rec, "ctc", index), "type": "custom_tool_call", "status": status,
                                "call_id": call_id, "name": spec.name, "input": custom_input(arguments)}
    else:
        item = {"id": item_id(rec, "fc", index), "type": "function_call", "status": status, "call_id": call_id,
                "name": spec.name, "arguments": arguments}
    if spec.namespace:
        item["namespace"] = spec.namespace
    return item


def output_items(result: ChatResult, inbound: ResponsesInbound, rec: GenerationRecord) -> list[dict[str, Any]]:
    """Consecutive text parts make one message; each reasoning part and each call is one item."""
    out: list[dict[str, Any]] = []
    text: list[str] = []

    def flush() -> None:
        if text:
            out.append(message_item(item_id(rec, "msg", len(out)), "".join(text)))
            text.clear()

    for p in result.content:
        t = type(p)
        if t is TextPart:
            text.append(p.text)  # type: ignore[union-attr]
            continue
        flush()
        if t is ReasoningPart:
            out.append(reasoning_item(item_id(rec, "rs", len(out)), p.text, p.signature, p.redacted))  # type: ignore[union-attr]
        elif t is ToolCallPart:
            out.append(call_item(inbound.tools, rec, len(out), p.id, p.name, p.arguments))  # type: ignore[union-attr]
    flush()
    if out and result.finish_reason in ("length", "content_filter") and out[-1]["type"] == "message":
        out[-1]["status"] = "incomplete"
    return out


def render_result(result: ChatResult, rec: GenerationRecord, inbound: ResponsesInbound) -> bytes:
    body = envelope(inbound, rec, int(rec.created_at), "completed")
    finished(body, inbound, rec, result.finish_reason, output_items(result, inbound, rec), result.usage)
    return msgspec.json.encode(body)


def render_passthrough(data: Any, rec: GenerationRecord) -> bytes:
    """A Responses provider's own body (no adapter speaks this protocol yet) with our metadata."""
    if isinstance(data, dict):
        usage = data.get("usage")
        if isinstance(usage, dict) and rec.cost is not None:
            usage["cost"] = round(rec.cost, 12)
        data["provider_metadata"] = {"gateway": rec.gateway_metadata()}
    return msgspec.json.encode(data)
