"""Canonical tools and tool choice -> Converse ``toolConfig``.

``toolChoice`` is a union of ``auto``, ``any`` and ``tool``; there is no "none" (the request module
withholds the tools instead). ``parallel_tool_calls`` has no Converse field.
"""

from __future__ import annotations

from typing import Any

from switchyard.canonical import Tool, ToolChoice

Block = dict[str, Any]


def tool_config(tools: list[Tool], choice: ToolChoice | None) -> Block:
    specs = []
    for t in tools:
        schema = t.parameters or {"type": "object", "properties": {}}
        if "type" not in schema:
            schema = {"type": "object", **schema}
        spec: Block = {"name": t.name, "inputSchema": {"json": schema}}
        if t.description:
            spec["description"] = t.description
        specs.append({"toolSpec": spec})
    config: Block = {"tools": specs}
    mode = choice.mode if choice is not None else "auto"
    if mode == "required":
        config["toolChoice"] = {"any": {}}
    elif mode == "tool" and choice is not None and choice.name:
        config["toolChoice"] = {"tool": {"name": choice.name}}
    elif choice is not None:
        config["toolChoice"] = {"auto": {}}
    return config
