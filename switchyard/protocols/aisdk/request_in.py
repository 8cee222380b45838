"""``POST {baseURL}/language-model``: AI SDK call options (``LanguageModelV{2,3,4}CallOptions`` minus
``abortSignal``) -> routing facts and the canonical ChatRequest.

The model comes from the ``ai-language-model-id`` header, JSON-or-SSE from ``ai-language-model-streaming``
and the spec version from ``ai-language-model-specification-version`` (else the path's). Unknown body
keys are ignored (``headers``, ``includeRawChunks``, anything a newer client adds).

``providerOptions.gateway`` is read for ``order``, ``only``, ``models`` (fallbacks; a leading
conditional ``{model, when}`` entry counts as its model), ``user``, ``tags`` and ``sort`` (passed to
routing where it supports it). ``byok`` (request-scoped provider keys), ``zeroDataRetention``,
``disallowPromptTraining``, ``headquarters``, ``has``, ``providerTimeouts``, ``serviceTier``,
``caching``, ``quotaEntityId`` are accepted and ignored for now: Switchyard uses its own configured
credentials and routing filters.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import msgspec

from switchyard.canonical import ChatRequest, ResponseFormat, Tool, ToolChoice
from switchyard.errors import RequestError
from switchyard.gateway.inbound import Inbound
from switchyard.protocols.aisdk import prompt_in, provider_options, versions
from switchyard.routing.plan import RouteRequest

MODEL_HEADER = "ai-language-model-id"
STREAM_HEADER = "ai-language-model-streaming"
# v4 `reasoning` -> canonical reasoning_effort. "max" has no OpenAI spelling; xhigh is the closest.
_REASONING = {"none": "none", "minimal": "minimal", "low": "low", "medium": "medium", "high": "high",
              "xhigh": "xhigh", "max": "xhigh"}
_ROUTE_FIELDS = frozenset(getattr(RouteRequest, "__struct_fields__", ()))


class AISDKInbound(Inbound):
    """An Inbound that remembers the spec version its answer must be rendered in."""

    __slots__ = ("spec",)

    def __init__(self, *args: Any, spec: int = 4, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.spec = spec


def decode_body(body: bytes) -> dict[str, Any]:
    try:
        data = msgspec.json.decode(body) if body else {}
    except msgspec.DecodeError as e:
        raise RequestError(f"The request body is not valid JSON: {e}") from None
    if not isinstance(data, dict):
        raise RequestError("The request body must be a JSON object.")
    return data


def str_list(value: Any, param: str) -> list[str] | None:
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise RequestError(f"Invalid type for '{param}': expected an array of strings.", param=param)
    return value


def gateway_options(data: dict[str, Any]) -> dict[str, Any]:
    opts = data.get("providerOptions")
    if opts is None:
        return {}
    if not isinstance(opts, dict):
        raise RequestError("Invalid type for 'providerOptions': expected an object.", param="providerOptions")
    g = opts.get("gateway")
    if g is not None and not isinstance(g, dict):
        raise RequestError("Invalid type for 'providerOptions.gateway': expected an object.",
                           param="providerOptions.gateway")
    return g or {}


def _fallbacks(value: Any) -> list[str] | None:
    if isinstance(value, list):  # decision requests may lead with a conditional {model, when}
        value = [v["model"] if isinstance(v, dict) and isinstance(v.get("model"), str) else v for v in value]
    return str_list(value, "providerOptions.gateway.models")


def route_request(model: str, kind: str, gateway: dict[str, Any], **extra: Any) -> RouteRequest:
    fields: dict[str, Any] = {
        "model": model, "kind": kind,
        "fallbacks": tuple(m for m in _fallbacks(gateway.get("models")) or () if m != model),
        "order": str_list(gateway.get("order"), "providerOptions.gateway.order"),
        "only": str_list(gateway.get("only"), "providerOptions.gateway.only"), **extra,
    }
    sort = gateway.get("sort")
    if isinstance(sort, str) and sort in ("cost", "ttft", "tps"):
        fields["sort"] = sort
    return RouteRequest(**{k: v for k, v in fields.items() if k in _ROUTE_FIELDS})


def _number(data: dict[str, Any], key: str, integer: bool = False) -> Any:
    value = data.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int if integer else (int, float)):
        raise RequestError(f"Invalid type for '{key}': expected {'an integer' if integer else 'a number'}.",
                           param=key)
    return value


def _tools(value: Any) -> list[Tool] | None:
    if value is None:
        return None
    if not isinstance(value, list):
        raise RequestError("Invalid type for 'tools': expected an array.", param="tools")
    tools: list[Tool] = []
    for i, t in enumerate(value):
        kind = t.get("type") if isinstance(t, dict) else None
        if kind in ("provider", "provider-defined"):
            raise prompt_in.unsupported(f"Provider-executed tools ('{t.get('id')}' at 'tools[{i}]') are not "
                                        f"supported by this gateway; use function tools.", f"tools[{i}]")
        if kind != "function" or not isinstance(t.get("name"), str):
            raise RequestError(f"Invalid tool at 'tools[{i}]': expected {{type: 'function', name, inputSchema}}.",
                               param=f"tools[{i}]")
        schema = t.get("inputSchema")
        strict = t.get("strict")
        tools.append(Tool(t["name"], schema if isinstance(schema, dict) else {"type": "object", "properties": {}},
                          t.get("description") if isinstance(t.get("description"), str) else None,
                          strict if isinstance(strict, bool) else None))
    return tools or None


def _tool_choice(value: Any) -> ToolChoice | None:
    if value is None:
        return None
    kind = value.get("type") if isinstance(value, dict) else None
    if kind in ("auto", "none", "required"):
        return ToolChoice(kind)
    if kind == "tool" and isinstance(value.get("toolName"), str):
        return ToolChoice("tool", value["toolName"])
    raise RequestError("Invalid value for 'toolChoice': expected {type: 'auto'|'none'|'required'} or "
                       "{type: 'tool', toolName}.", param="toolChoice")


def _response_format(value: Any) -> ResponseFormat | None:
    if value is None:
        return None
    kind = value.get("type") if isinstance(value, dict) else None
    if kind == "text":
        return None
    if kind != "json":
        raise RequestError("Invalid value for 'responseFormat.type': expected 'text' or 'json'.",
                           param="responseFormat")
    schema = value.get("schema")
    name, description = value.get("name"), value.get("description")
    return ResponseFormat("json_schema" if isinstance(schema, dict) else "json_object",
                          schema=schema if isinstance(schema, dict) else None,
                          name=name if isinstance(name, str) else None,
                          description=description if isinstance(description, str) else None)


def parse(body: bytes, headers: Mapping[str, str], default_spec: int) -> AISDKInbound:
    spec = versions.from_header(headers, versions.LANGUAGE_HEADER, default_spec)
    model = headers.get(MODEL_HEADER, "").strip()
    if not model:
        raise RequestError(f"The '{MODEL_HEADER}' header (the model, e.g. 'openai/gpt-4o') is required.",
                           param=MODEL_HEADER)
    stream = headers.get(STREAM_HEADER, "").strip().lower() == "true"
    data = decode_body(body)
    chars, images = prompt_in.scan(data.get("prompt", []))
    max_tokens = _number(data, "maxOutputTokens", integer=True)
    if max_tokens is not None and max_tokens < 1:
        raise RequestError("'maxOutputTokens' must be at least 1.", param="maxOutputTokens")
    for key in ("temperature", "topP", "presencePenalty", "frequencyPenalty"):
        _number(data, key)
    _number(data, "topK", integer=True)
    _number(data, "seed", integer=True)
    str_list(data.get("stopSequences"), "stopSequences")
    tools = _tools(data.get("tools"))
    choice = _tool_choice(data.get("toolChoice"))
    fmt = _response_format(data.get("responseFormat"))
    needs: set[str] = set()
    if tools:
        chars += sum(len(t.name) + len(t.description or "") + 40 for t in tools)
        if choice is None or choice.mode != "none":
            needs.add("tools")
    if images:
        needs.add("vision")
    if fmt is not None:
        needs.add("json")
    gateway = gateway_options(data)
    route = route_request(model, "language", gateway, needs=frozenset(needs), est_input_tokens=chars // 4,
                          max_tokens=max_tokens)
    user = gateway.get("user")
    return AISDKInbound(route, stream, data, lambda d: to_canonical(d, model, stream), spec=spec,
                        user=user if isinstance(user, str) else None,
                        tags=str_list(gateway.get("tags"), "providerOptions.gateway.tags"))


def to_canonical(data: dict[str, Any], model: str, stream: bool) -> ChatRequest:
    tools = _tools(data.get("tools"))
    forwarded, canonical = provider_options.split(data.get("providerOptions"))
    reasoning = data.get("reasoning")
    effort = _REASONING.get(reasoning) if isinstance(reasoning, str) else None
    return ChatRequest(
        model=model,
        messages=prompt_in.to_messages(data.get("prompt") or []),
        stream=stream,
        include_usage=stream,
        max_tokens=data.get("maxOutputTokens"),
        temperature=data.get("temperature"),
        top_p=data.get("topP"),
        top_k=data.get("topK"),
        stop=data.get("stopSequences") or None,
        seed=data.get("seed"),
        presence_penalty=data.get("presencePenalty"),
        frequency_penalty=data.get("frequencyPenalty"),
        tools=tools,
        tool_choice=_tool_choice(data.get("toolChoice")) if tools else None,
        parallel_tool_calls=canonical.get("parallel_tool_calls"),
        response_format=_response_format(data.get("responseFormat")),
        reasoning_effort=effort or canonical.get("reasoning_effort"),
        provider_options=forwarded,
    )
