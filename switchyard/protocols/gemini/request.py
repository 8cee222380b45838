"""Canonical ChatRequest -> Gemini ``GenerateContentRequest`` body (Gemini API and Vertex AI).

What this absorbs: one ``systemInstruction``; roles ``user`` / ``model`` with consecutive turns of a
role merged; tool results are ``functionResponse`` parts in a *user* turn and carry the function's
*name* (taken from the assistant tool call they answer), not its id; arguments are JSON objects.

Images: inline data (and base64 ``data:`` URLs) become ``inlineData``; any other URL becomes
``fileData{fileUri, mimeType}``. The Gemini API fetches ``gs://`` URIs, Files API URIs and public
HTTP(S) URLs there; Vertex AI takes ``gs://`` and HTTP(S) URLs. The gateway never downloads a
caller's URL itself.

Thought signatures (Gemini 3 refuses a function-call turn without one): a ``ReasoningPart`` whose
``signature`` this provider issued for this model (see ``signature_tag``) is sent back on the part
that follows it; a model turn whose first function call has none gets Google's documented bypass
value, since OpenAI-shaped callers cannot carry signatures back.
"""

from __future__ import annotations

import mimetypes
from typing import Any

import msgspec

from switchyard.canonical import (
    ChatRequest,
    ImagePart,
    Message,
    ReasoningPart,
    TextPart,
    ToolCallPart,
    ToolResultPart,
)
from switchyard.errors import RequestError
from switchyard.protocols._shared import arguments_object, sniff_media_type
from switchyard.protocols.gemini.tools import (
    function_declarations,
    response_schema,
    tool_config,
)

Part = dict[str, Any]

SIGNATURE_BYPASS = "skip_thought_signature_validator"
# Models that never validate thought signatures: no bypass value is sent to them.
_NO_SIGNATURE_MODELS = ("gemini-1", "gemini-2", "gemma", "learnlm")
# Keys of provider options that belong inside ``generationConfig`` rather than at the top level.
GENERATION_CONFIG_KEYS = frozenset({
    "thinkingConfig", "responseModalities", "mediaResolution", "speechConfig", "imageConfig",
    "candidateCount", "responseLogprobs", "logprobs", "enableEnhancedCivicAnswers", "audioTimestamp",
})
_BUDGETS = {"none": 0, "minimal": 0, "low": 1024, "medium": 8192, "high": 24576, "xhigh": 32768}



def signature_tag(slug: str, model_id: str) -> str:
    """Signatures are only valid where they were issued: they travel as ``<slug>/<model>|<sig>``."""
    return f"{slug}/{model_id}|"


def build_body(request: ChatRequest, model_id: str, slug: str = "google") -> bytes:
    """Options come from ``provider_options["google"]`` and then the provider's own slug; keys of
    ``generationConfig`` (``thinkingConfig``, ...) may be given at the top level. Dicts merge deeply."""
    system, contents = _contents(request.messages, signature_tag(slug, model_id),
                                 not model_id.startswith(_NO_SIGNATURE_MODELS))
    body: dict[str, Any] = {"contents": contents}
    if system:
        body["systemInstruction"] = {"parts": system}
    if request.tools:
        body["tools"] = [{"functionDeclarations": function_declarations(request.tools)}]
        cfg = tool_config(request.tool_choice)
        if cfg is not None:
            body["toolConfig"] = cfg
    gen = _generation_config(request, model_id)
    if gen:
        body["generationConfig"] = gen
    for key in dict.fromkeys(("google", slug)):
        extra = request.provider_options.get(key)
        if extra:
            for k, v in extra.items():
                _merge(body.setdefault("generationConfig", {}) if k in GENERATION_CONFIG_KEYS else body, k, v)
    return msgspec.json.encode(body)


def _merge(target: dict[str, Any], key: str, value: Any) -> None:
    current = target.get(key)
    if isinstance(current, dict) and isinstance(value, dict):
        for k, v in value.items():
            _merge(current, k, v)
    else:
        target[key] = value


def _contents(messages: list[Message], tag: str, bypass: bool) -> tuple[list[Part], list[dict[str, Any]]]:
    system: list[Part] = []
    contents: list[dict[str, Any]] = []
    names: dict[str, str] = {}  # tool call id -> function name, from the assistant turns so far
    for i, msg in enumerate(messages):
        if msg.role == "system":
            for p in msg.content:
                if type(p) is not TextPart:
                    raise RequestError("gemini: system messages may only contain text", param=f"messages[{i}].content")
                if p.text:
                    system.append({"text": p.text})
            continue
        if msg.role == "assistant":
            role, parts = "model", _model_parts(msg, names, tag, bypass)
        else:
            role, parts = "user", _user_parts(msg, names, i)
        if not parts:
            continue
        if contents and contents[-1]["role"] == role:
            contents[-1]["parts"].extend(parts)
        else:
            contents.append({"role": role, "parts": parts})
    return system, contents


def _model_parts(msg: Message, names: dict[str, str], tag: str, bypass: bool) -> list[Part]:
    parts: list[Part] = []
    signature: str | None = None
    first_call = True
    for p in msg.content:
        if isinstance(p, ReasoningPart):
            # Thought summaries are not sent back; only a signature issued here is.
            if p.signature and p.signature.startswith(tag):
                signature = p.signature[len(tag):]
            continue
        if isinstance(p, TextPart):
            if not p.text:
                continue
            part: Part = {"text": p.text}
        elif isinstance(p, ToolCallPart):
            names[p.id] = p.name
            part = {"functionCall": {"name": p.name, "args": arguments_object(p.arguments)}}
            if first_call:
                first_call = False
                if signature is None and bypass:
                    signature = SIGNATURE_BYPASS
        elif isinstance(p, ImagePart):
            part = _image(p)
        else:
            continue
        if signature is not None:
            part["thoughtSignature"] = signature
            signature = None
        parts.append(part)
    return parts


def _user_parts(msg: Message, names: dict[str, str], i: int) -> list[Part]:
    parts: list[Part] = []
    extra: list[Part] = []  # images returned by tools follow the function responses
    for p in msg.content:
        if isinstance(p, TextPart):
            if p.text:
                parts.append({"text": p.text})
        elif isinstance(p, ImagePart):
            parts.append(_image(p))
        elif isinstance(p, ToolResultPart):
            name = names.get(p.tool_call_id)
            if name is None:
                raise RequestError(f"gemini: tool result for {p.tool_call_id!r} answers no earlier "
                                   "assistant tool call", param=f"messages[{i}]")
            text = "".join(c.text for c in p.content if isinstance(c, TextPart))
            response = {"error": text} if p.is_error else {"content": text}
            parts.append({"functionResponse": {"name": name, "response": response}})
            extra.extend(_image(c) for c in p.content if isinstance(c, ImagePart))
    return parts + extra


def _image(p: ImagePart) -> Part:
    if p.data is not None:
        return {"inlineData": {"mimeType": p.media_type or sniff_media_type(p.data), "data": p.data}}
    url = p.url or ""
    if url.startswith("data:"):
        head, sep, data = url[5:].partition(",")
        params = head.split(";")
        if not sep or "base64" not in params[1:]:
            raise RequestError("gemini: image data URLs must be base64", param="image_url")
        return {"inlineData": {"mimeType": params[0] or sniff_media_type(data), "data": data}}
    file_data: dict[str, str] = {"fileUri": url}
    mime = p.media_type or mimetypes.guess_type(url.split("?", 1)[0])[0]
    if mime:
        file_data["mimeType"] = mime
    return {"fileData": file_data}






def _generation_config(request: ChatRequest, model_id: str) -> dict[str, Any]:
    gen: dict[str, Any] = {}
    for key, value in (("temperature", request.temperature), ("topP", request.top_p), ("topK", request.top_k),
                       ("maxOutputTokens", request.max_tokens), ("seed", request.seed),
                       ("presencePenalty", request.presence_penalty),
                       ("frequencyPenalty", request.frequency_penalty)):
        if value is not None:
            gen[key] = value
    if request.stop:
        gen["stopSequences"] = request.stop
    fmt = request.response_format
    if fmt is not None and fmt.type != "text":
        gen["responseMimeType"] = "application/json"
        schema = response_schema(fmt.schema) if fmt.type == "json_schema" else None
        if schema is not None:
            gen["responseJsonSchema"] = schema
    effort = request.reasoning_effort
    if effort:
        if model_id.startswith("gemini-2"):
            gen["thinkingConfig"] = {"thinkingBudget": _BUDGETS.get(effort, 8192)}
        else:  # Gemini 3 and later: every model takes LOW and HIGH
            gen["thinkingConfig"] = {"thinkingLevel": "LOW" if effort in ("none", "minimal", "low") else "HIGH"}
    return gen
