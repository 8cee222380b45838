"""A caller's ``POST /v1/responses`` body: validate it, read the routing facts, build the canonical
request (in one pass: no provider speaks this protocol, so the request is always translated).

Honoured: ``model``, ``input``, ``instructions``, ``tools``, ``tool_choice``, ``parallel_tool_calls``,
``max_output_tokens``, ``temperature``, ``top_p``, ``text.format``, ``reasoning.effort`` (for models with
the ``reasoning`` capability; dropped for others, which would refuse it), ``user``,
``stream``, and the gateway's own options as on ``/v1/chat/completions`` (``models``,
``providerOptions.gateway.{order,only,sort,models,user,tags}``, ``providerOptions.<provider>``).

Accepted and echoed, with no effect: ``metadata``, ``store`` (nothing is stored: responses cannot be
retrieved later), ``include``, ``truncation``, ``reasoning.summary``, ``text.verbosity``,
``prompt_cache_key``, ``safety_identifier``, ``service_tier``, ``top_logprobs``, ``max_tool_calls``,
``stream_options``, ``client_metadata``.

Refused with 400, because they need state the gateway does not keep: ``previous_response_id``,
``conversation``, ``background: true``, ``prompt`` (stored prompt templates).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from switchyard.canonical import ChatRequest, ResponseFormat
from switchyard.errors import ErrorCategory, RequestError
from switchyard.gateway.inbound import Inbound
from switchyard.protocols.openai_chat.request_in import decode_body
from switchyard.protocols.openai_responses.items_in import InputReader
from switchyard.protocols.openai_responses.tools_in import (
    ToolMap,
    tool_choice_in,
    tools_in,
)
from switchyard.routing.plan import RouteRequest

_STATEFUL = {
    "previous_response_id": "'previous_response_id' is not supported: the gateway does not store responses. "
                            "Send the whole conversation in 'input' (and 'store': false).",
    "conversation": "'conversation' is not supported: the gateway does not store conversations. Send the whole "
                    "conversation in 'input'.",
    "prompt": "'prompt' (stored prompt templates) is not supported by the gateway; send 'instructions' and "
              "'input' instead.",
}


class ResponsesInbound(Inbound):
    """An Inbound that also carries what rendering needs: the tool name map, the request fields the
    Response object echoes, and warnings about what was dropped."""

    __slots__ = ("tools", "echo", "warnings")

    def __init__(self, route: RouteRequest, stream: bool, raw: dict[str, Any], request: ChatRequest,
                 tools: ToolMap, echo: dict[str, Any], warnings: list[dict[str, Any]], **kw: Any) -> None:
        super().__init__(route, stream, raw, lambda _raw: request, **kw)
        self.tools = tools
        self.echo = echo
        self.warnings = warnings


def _bad(message: str, param: str) -> RequestError:
    return RequestError(message, param=param)


def _type_name(value: Any) -> str:
    return {dict: "object", list: "array", str: "string", bool: "boolean", int: "integer",
            float: "number", type(None): "null"}.get(type(value), type(value).__name__)


def _get(body: dict[str, Any], key: str, types: type | tuple[type, ...], what: str, param: str | None = None) -> Any:
    value = body.get(key)
    if value is None:
        return None
    kinds = types if isinstance(types, tuple) else (types,)
    if not isinstance(value, kinds) or (isinstance(value, bool) and bool not in kinds):
        name = param or key
        raise _bad(f"Invalid type for '{name}': expected {what}, but got {_type_name(value)}.", name)
    return value


def _str_list(value: Any, param: str) -> list[str] | None:
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise _bad(f"Invalid type for '{param}': expected an array of strings.", param)
    return value


def _gateway_options(body: dict[str, Any]) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    opts = body.get("providerOptions")
    if opts is None:
        opts = body.get("provider_options")
    if opts is None:
        return {}, {}
    if not isinstance(opts, dict):
        raise _bad("Invalid type for 'providerOptions': expected an object.", "providerOptions")
    gateway = opts.get("gateway") or {}
    if not isinstance(gateway, dict):
        raise _bad("Invalid type for 'providerOptions.gateway': expected an object.", "providerOptions.gateway")
    return gateway, {k: v for k, v in opts.items() if k != "gateway" and isinstance(v, dict)}


def _text_format(text: Any) -> ResponseFormat | None:
    if text is None:
        return None
    if not isinstance(text, dict):
        raise _bad("Invalid type for 'text': expected an object.", "text")
    fmt = text.get("format")
    if fmt is None:
        return None
    if not isinstance(fmt, dict) or fmt.get("type") not in ("text", "json_object", "json_schema"):
        raise _bad("Invalid value for 'text.format.type': expected 'text', 'json_object' or 'json_schema'.",
                   "text.format.type")
    if fmt["type"] == "text":
        return None
    if fmt["type"] == "json_object":
        return ResponseFormat("json_object")
    schema = fmt.get("schema")
    if not isinstance(schema, dict):
        raise _bad("'text.format.schema' (a JSON Schema object) is required with type 'json_schema'.",
                   "text.format.schema")
    name = fmt.get("name")
    if name is not None and not isinstance(name, str):
        raise _bad("Invalid type for 'text.format.name': expected a string.", "text.format.name")
    desc, strict = fmt.get("description"), fmt.get("strict")
    return ResponseFormat("json_schema", schema=schema, name=name or "response",
                          description=desc if isinstance(desc, str) else None,
                          strict=strict if isinstance(strict, bool) else None)


def parse_request(body: bytes, resolve: Callable[[str], str] = lambda name: name,
                  reasoning_models: frozenset[str] | None = None) -> ResponsesInbound:
    """``reasoning_models``: the catalog ids that take ``reasoning.effort`` (None: all). Clients such as
    Codex send an effort whatever the model, and non-reasoning models refuse it."""
    data = decode_body(body)
    for key, message in _STATEFUL.items():
        if data.get(key) is not None:
            raise RequestError(message, param=key, category=ErrorCategory.UNSUPPORTED, code="unsupported_parameter")
    if data.get("background"):
        raise RequestError("'background' responses are not supported: the gateway does not store responses.",
                           param="background", category=ErrorCategory.UNSUPPORTED, code="unsupported_parameter")
    model = data.get("model")
    if not isinstance(model, str) or not model:
        raise _bad("You must provide a model parameter ('model': a string such as 'openai/gpt-4o').", "model")
    model = resolve(model)
    if "input" not in data:
        raise _bad("Missing required parameter: 'input'.", "input")

    stream = bool(_get(data, "stream", bool, "a boolean"))
    max_tokens = _get(data, "max_output_tokens", int, "an integer")
    if max_tokens is not None and max_tokens < 1:
        raise _bad("'max_output_tokens' must be at least 1.", "max_output_tokens")
    temperature = _get(data, "temperature", (int, float), "a number")
    top_p = _get(data, "top_p", (int, float), "a number")
    parallel = _get(data, "parallel_tool_calls", bool, "a boolean")
    _get(data, "store", bool, "a boolean")
    metadata = _get(data, "metadata", dict, "an object")
    user = _get(data, "user", str, "a string")
    reasoning = _get(data, "reasoning", dict, "an object") or {}
    effort = _get(reasoning, "effort", str, "a string", "reasoning.effort")
    response_format = _text_format(data.get("text"))

    tools, tmap, warnings = tools_in(data.get("tools"))
    choice, tools = tool_choice_in(data.get("tool_choice"), tools)
    reader = InputReader(tmap)
    reader.instructions(data.get("instructions"))
    messages = reader.read(data["input"])

    gateway, provider_options = _gateway_options(data)
    fallbacks = _str_list(data.get("models"), "models")
    if fallbacks is None:
        fallbacks = _str_list(gateway.get("models"), "providerOptions.gateway.models")
    needs: set[str] = set()
    if tools and (choice is None or choice.mode != "none"):
        needs.add("tools")
    if reader.images:
        needs.add("vision")
    if response_format is not None:
        needs.add("json")
    chars = reader.chars + sum(len(t.name) + len(t.description or "") + 40 for t in tools)
    route = RouteRequest(
        model=model,
        fallbacks=tuple(resolve(m) for m in fallbacks or () if resolve(m) != model),
        order=_str_list(gateway.get("order"), "providerOptions.gateway.order"),
        only=_str_list(gateway.get("only"), "providerOptions.gateway.only"),
        needs=frozenset(needs),
        est_input_tokens=chars // 4,
        max_tokens=max_tokens,
        sort=gateway.get("sort") if isinstance(gateway.get("sort"), str) else None,
    )
    request = ChatRequest(
        model=model, messages=messages, stream=stream, include_usage=stream, max_tokens=max_tokens,
        temperature=temperature, top_p=top_p, user=user, tools=tools or None, tool_choice=choice,
        parallel_tool_calls=parallel, response_format=response_format,
        reasoning_effort=effort if reasoning_models is None or model in reasoning_models else None,
        provider_options=provider_options,
    )
    attribution = gateway.get("user") if isinstance(gateway.get("user"), str) else \
        user or (data.get("safety_identifier") if isinstance(data.get("safety_identifier"), str) else None)
    echo = {
        "instructions": data.get("instructions"),
        "max_output_tokens": max_tokens,
        "metadata": metadata or {},
        "parallel_tool_calls": True if parallel is None else parallel,
        "reasoning": {"effort": effort, "summary": reasoning.get("summary")},
        "store": data.get("store", True),
        "temperature": temperature,
        "text": data.get("text") if isinstance(data.get("text"), dict) and "format" in data["text"]
        else {**(data.get("text") or {}), "format": {"type": "text"}},
        "tool_choice": data.get("tool_choice", "auto"),
        "tools": _echo_tools(data.get("tools"), warnings),
        "top_p": top_p,
        "truncation": data.get("truncation") or "disabled",
        "user": user,
    }
    return ResponsesInbound(route, stream, data, request, tmap, echo, warnings, wants_usage=True,
                            user=attribution, tags=_str_list(gateway.get("tags"), "providerOptions.gateway.tags"))


def _echo_tools(tools: Any, warnings: list[dict[str, Any]]) -> list[Any]:
    """The caller's tools as offered to the model: dropped hosted tools are left out."""
    if not tools:
        return []
    dropped = {w["param"] for w in warnings}
    return [t for i, t in enumerate(tools) if f"tools[{i}]" not in dropped]
