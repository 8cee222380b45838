"""Responses ``tools`` and ``tool_choice`` -> canonical tools, and the map back for rendering calls.

What every provider can be offered:

* ``function`` tools (flat in Responses: ``{type, name, description, parameters, strict}``);
* ``custom`` tools (free-form text input, e.g. Codex's ``apply_patch``): offered as a function with
  one string argument ``input`` (the grammar, if any, goes into the description), and the model's
  call is rendered back as a ``custom_tool_call`` with that string;
* ``namespace`` tools (a named group of function/custom tools, sent by Codex): each member is
  offered as ``<namespace>__<name>`` and its calls come back with ``name`` and ``namespace``.

OpenAI's hosted tools (``web_search``, ``file_search``, ``code_interpreter``, ``computer_use``,
``image_generation``, ``mcp``, ``local_shell``, ``shell``, ``apply_patch``, ``tool_search``, ...) run
inside OpenAI and no other provider has them. A tool in ``tools`` is only an *offer* to the model, so
they are dropped and reported in the response's ``warnings`` (clients such as the Codex CLI always
offer ``web_search``). A ``tool_choice`` that *requires* one is refused: 400, naming the tool.
"""

from __future__ import annotations

import logging
from typing import Any

from switchyard.canonical import Tool, ToolChoice
from switchyard.errors import ErrorCategory, RequestError

log = logging.getLogger("switchyard.responses")

NAMESPACE_SEP = "__"
_logged: set[str] = set()  # hosted tool types already logged by this process (once each)


class ToolSpec:
    """How a canonical tool name maps back to the caller's tool."""

    __slots__ = ("kind", "name", "namespace")

    def __init__(self, kind: str, name: str, namespace: str | None = None) -> None:
        self.kind = kind  # "function" | "custom"
        self.name = name
        self.namespace = namespace


class ToolMap:
    """Canonical name <-> (kind, name, namespace). Names not in the map are plain functions."""

    __slots__ = ("by_canonical",)

    def __init__(self) -> None:
        self.by_canonical: dict[str, ToolSpec] = {}

    def spec(self, canonical: str) -> ToolSpec:
        return self.by_canonical.get(canonical) or ToolSpec("function", canonical)

    @staticmethod
    def canonical(name: str, namespace: str | None) -> str:
        return f"{namespace}{NAMESPACE_SEP}{name}" if namespace else name


def _bad(message: str, param: str, category: ErrorCategory = ErrorCategory.INVALID_REQUEST) -> RequestError:
    return RequestError(message, param=param, category=category)


def _custom_parameters() -> dict[str, Any]:
    return {"type": "object", "properties": {"input": {"type": "string", "description": "The tool's raw input."}},
            "required": ["input"], "additionalProperties": False}


def _custom_description(tool: dict[str, Any]) -> str:
    desc = tool.get("description") if isinstance(tool.get("description"), str) else ""
    fmt = tool.get("format")
    note = "Pass the tool's raw text input, unescaped, as the string argument `input`."
    if isinstance(fmt, dict) and fmt.get("type") == "grammar" and isinstance(fmt.get("definition"), str):
        note += f" The input must match this {fmt.get('syntax') or 'lark'} grammar:\n{fmt['definition']}"
    return f"{desc}\n\n{note}" if desc else note


def _one(tool: Any, param: str, namespace: str | None, out: list[Tool], tmap: ToolMap,
         warnings: list[dict[str, Any]]) -> None:
    if not isinstance(tool, dict) or not isinstance(tool.get("type"), str):
        raise _bad(f"Invalid tool at '{param}': expected an object with a 'type'.", param)
    ttype = tool["type"]
    if ttype in ("function", "custom"):
        name = tool.get("name")
        if not isinstance(name, str) or not name:
            raise _bad(f"Missing '{param}.name': {ttype} tools need a name (tools are flat in the Responses "
                       f"API: {{'type': 'function', 'name': ..., 'parameters': ...}}).", f"{param}.name")
        canonical = ToolMap.canonical(name, namespace)
        if ttype == "function":
            params = tool.get("parameters")
            if params is not None and not isinstance(params, dict):
                raise _bad(f"Invalid type for '{param}.parameters': expected a JSON Schema object.",
                           f"{param}.parameters")
            desc = tool.get("description")
            strict = tool.get("strict")
            out.append(Tool(canonical, params or {"type": "object", "properties": {}},
                            desc if isinstance(desc, str) else None, strict if isinstance(strict, bool) else None))
        else:
            out.append(Tool(canonical, _custom_parameters(), _custom_description(tool)))
        if ttype == "custom" or namespace:
            tmap.by_canonical[canonical] = ToolSpec(ttype, name, namespace)
        return
    if ttype == "namespace" and namespace is None:
        ns = tool.get("name")
        members = tool.get("tools")
        if not isinstance(ns, str) or not ns or not isinstance(members, list):
            raise _bad(f"Invalid namespace tool at '{param}': expected 'name' and 'tools'.", param)
        for j, member in enumerate(members):
            _one(member, f"{param}.tools[{j}]", ns, out, tmap, warnings)
        return
    warnings.append({"type": "unsupported_tool", "tool": ttype, "param": param,
                     "message": f"Tool type '{ttype}' runs only on OpenAI's servers and was not offered to "
                                f"the model."})
    if ttype not in _logged:
        _logged.add(ttype)
        log.warning("responses: dropping hosted tool type %r (not available through the gateway); "
                    "further drops of this type are not logged", ttype)


def tools_in(tools: Any) -> tuple[list[Tool], ToolMap, list[dict[str, Any]]]:
    """Canonical tools, the name map, and warnings for the tools that were dropped."""
    out: list[Tool] = []
    tmap = ToolMap()
    warnings: list[dict[str, Any]] = []
    if tools is None:
        return out, tmap, warnings
    if not isinstance(tools, list):
        raise _bad("Invalid type for 'tools': expected an array.", "tools")
    for i, tool in enumerate(tools):
        _one(tool, f"tools[{i}]", None, out, tmap, warnings)
    return out, tmap, warnings


def tool_choice_in(choice: Any, tools: list[Tool]) -> tuple[ToolChoice | None, list[Tool]]:
    """The canonical choice, and the tools left after an ``allowed_tools`` restriction."""
    if choice is None:
        return None, tools
    if isinstance(choice, str):
        if choice not in ("auto", "none", "required"):
            raise _bad(f"Invalid value for 'tool_choice': {choice!r} is not one of auto, none, required.",
                       "tool_choice")
        return ToolChoice(choice), tools  # type: ignore[arg-type]
    if not isinstance(choice, dict) or not isinstance(choice.get("type"), str):
        raise _bad("Invalid type for 'tool_choice': expected 'auto', 'none', 'required' or an object.",
                   "tool_choice")
    ctype = choice["type"]
    names = {t.name for t in tools}
    if ctype in ("function", "custom"):
        name = choice.get("name")
        if not isinstance(name, str):
            raise _bad("Missing 'tool_choice.name'.", "tool_choice.name")
        ns = choice.get("namespace")
        canonical = ToolMap.canonical(name, ns if isinstance(ns, str) else None)
        if canonical not in names:
            raise _bad(f"'tool_choice' names the tool '{name}', which is not in 'tools'.", "tool_choice.name")
        return ToolChoice("tool", canonical), tools
    if ctype == "allowed_tools":
        mode = choice.get("mode", "auto")
        allowed = choice.get("tools")
        if mode not in ("auto", "required") or not isinstance(allowed, list):
            raise _bad("Invalid 'tool_choice': allowed_tools needs 'mode' (auto or required) and 'tools'.",
                       "tool_choice")
        keep: set[str] = set()
        for j, t in enumerate(allowed):
            if not isinstance(t, dict) or t.get("type") not in ("function", "custom"):
                kind = t.get("type") if isinstance(t, dict) else None
                raise _bad(f"'tool_choice.tools[{j}]': tool type {kind!r} cannot be required through the "
                           f"gateway.", f"tool_choice.tools[{j}]", ErrorCategory.UNSUPPORTED)
            ns = t.get("namespace")
            keep.add(ToolMap.canonical(str(t.get("name")), ns if isinstance(ns, str) else None))
        return ToolChoice(mode), [t for t in tools if t.name in keep]
    raise _bad(f"'tool_choice' requires the hosted tool '{ctype}', which runs only on OpenAI's servers and is "
               f"not supported by this gateway.", "tool_choice", ErrorCategory.UNSUPPORTED)
