"""``providerOptions.<provider>`` from an AI SDK call, for the upstream provider.

The AI SDK's provider options are the options of its provider *packages* (``@ai-sdk/openai``,
``@ai-sdk/anthropic``, ...), spelled in camelCase, not the providers' wire fields. This gateway has no
such package in the middle, so it does the cheap part of their job:

- a few options with a canonical field become that field (``openai.reasoningEffort`` ->
  ``reasoning_effort``, ``parallelToolCalls``, ``anthropic.disableParallelToolUse``);
- options the packages consume client-side and never send (``structuredOutputs``, ``cacheControl``,
  ``sendReasoning``, ...) are dropped;
- every other key is renamed camelCase -> snake_case at every depth except inside ``metadata``
  (``thinking.budgetTokens`` -> ``thinking.budget_tokens``, ``serviceTier`` -> ``service_tier``), a
  handful renamed outright, and the result is merged into that provider's body by its adapter.

The ``gateway`` entry steers routing and is never forwarded. The options are keyed by the AI SDK
provider name, which is the Switchyard provider slug for ``openai`` and ``anthropic``.
"""

from __future__ import annotations

import re
from typing import Any

_CAMEL = re.compile(r"(?<=[a-z0-9])([A-Z])")

# Consumed by the AI SDK provider packages themselves; they never reach the provider's wire.
_CLIENT_ONLY: dict[str, frozenset[str]] = {
    "openai": frozenset({"structuredOutputs", "strictJsonSchema", "systemMessageMode", "forceReasoning",
                         "reasoningSummary", "logprobs"}),
    "anthropic": frozenset({"sendReasoning", "cacheControl", "structuredOutputMode", "toolStreaming"}),
}
_RENAMED: dict[str, dict[str, str]] = {"openai": {"textVerbosity": "verbosity"}}


def snake(key: str) -> str:
    return _CAMEL.sub(lambda m: "_" + m.group(1).lower(), key)


_VERBATIM = frozenset({"metadata", "headers", "extra_body"})  # user-defined keys inside: left alone


def _snake_keys(value: Any) -> Any:
    if isinstance(value, dict):
        return {snake(k) if isinstance(k, str) else k: v if snake(str(k)) in _VERBATIM else _snake_keys(v)
                for k, v in value.items()}
    if isinstance(value, list):
        return [_snake_keys(v) for v in value]
    return value


def split(options: Any) -> tuple[dict[str, dict[str, Any]], dict[str, Any]]:
    """(provider_options by slug, canonical fields) from the call's ``providerOptions``."""
    forwarded: dict[str, dict[str, Any]] = {}
    canonical: dict[str, Any] = {}
    if not isinstance(options, dict):
        return forwarded, canonical
    for slug, opts in options.items():
        if slug == "gateway" or not isinstance(opts, dict):
            continue
        opts = dict(opts)
        effort = opts.pop("reasoningEffort", None)
        if isinstance(effort, str):
            canonical.setdefault("reasoning_effort", effort)
        parallel = opts.pop("parallelToolCalls", None)
        if isinstance(parallel, bool):
            canonical.setdefault("parallel_tool_calls", parallel)
        if slug == "anthropic" and isinstance(opts.get("disableParallelToolUse"), bool):
            canonical.setdefault("parallel_tool_calls", not opts.pop("disableParallelToolUse"))
        drop = _CLIENT_ONLY.get(slug, frozenset())
        renamed = _RENAMED.get(slug, {})
        out = {}
        for k, v in opts.items():
            if k not in drop:
                key = renamed.get(k) or snake(k)
                out[key] = v if key in _VERBATIM else _snake_keys(v)
        if out:
            forwarded[slug] = out
    return forwarded, canonical
