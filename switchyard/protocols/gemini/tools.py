"""Canonical tools, tool choice and JSON schemas -> Gemini ``tools`` / ``toolConfig`` / schema fields.

Schemas go out as JSON Schema in ``parametersJsonSchema`` and ``responseJsonSchema`` (both the Gemini
API and Vertex AI take them natively; Google's SDK recommends them over the OpenAPI-subset
``parameters`` / ``responseSchema``, which reject ``additionalProperties``, ``$ref`` and unions).
Only the meta keys JSON Schema allows but the API refuses at the top level are removed.
"""

from __future__ import annotations

from typing import Any

from switchyard.canonical import Tool, ToolChoice

_DROP_KEYS = ("$schema", "$id")


def clean_schema(schema: dict[str, Any] | None) -> dict[str, Any]:
    """An object schema for a function's parameters: meta keys dropped, ``type`` defaulted."""
    out = {k: v for k, v in (schema or {}).items() if k not in _DROP_KEYS}
    if "type" not in out and not any(k in out for k in ("anyOf", "oneOf", "allOf", "$ref")):
        out = {"type": "object", **out}
    return out


def function_declarations(tools: list[Tool]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for t in tools:
        decl: dict[str, Any] = {"name": t.name}
        if t.description:
            decl["description"] = t.description
        params = clean_schema(t.parameters)
        if params.get("properties") or set(params) - {"type", "properties"}:
            decl["parametersJsonSchema"] = params
        # A function without parameters is declared without a schema (the field is optional).
        out.append(decl)
    return out


def tool_config(choice: ToolChoice | None) -> dict[str, Any] | None:
    """``toolConfig.functionCallingConfig``: AUTO, NONE, or ANY (optionally limited to one name)."""
    if choice is None:
        return None
    if choice.mode == "none":
        cfg: dict[str, Any] = {"mode": "NONE"}
    elif choice.mode == "required":
        cfg = {"mode": "ANY"}
    elif choice.mode == "tool" and choice.name:
        cfg = {"mode": "ANY", "allowedFunctionNames": [choice.name]}
    else:
        cfg = {"mode": "AUTO"}
    return {"functionCallingConfig": cfg}


def response_schema(schema: dict[str, Any] | None) -> dict[str, Any] | None:
    if not schema:
        return None
    return {k: v for k, v in schema.items() if k not in _DROP_KEYS}
