"""A caller's Messages request: validate it (``validate.py``) and read the routing facts without
translating it. Fields we do not know are left alone: on the pass-through path they reach Anthropic
untouched. The canonical request is built only if a provider of another protocol is
tried (``canonical_in``).

Gateway steering travels in the body as for the OpenAI door: fallback models in a top-level
``models`` list or in ``providerOptions.gateway.models``, and ``order``, ``only``, ``user``, ``tags``
in ``providerOptions.gateway``. These keys are removed before the body goes to a provider. The
caller's ``anthropic-beta`` and ``anthropic-version`` headers ride in ``Inbound.raw`` under the
private keys ``__anthropic_beta`` / ``__anthropic_version`` so that the pass-through call can
forward them (see ``passthrough.py``); nothing else reads them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import partial
from typing import Any

from switchyard.gateway.inbound import Inbound
from switchyard.protocols.anthropic.canonical_in import to_canonical
from switchyard.protocols.anthropic.validate import (
    Scan,
    bad,
    check,
    decode_body,
    gateway_options,
    scan_messages,
    scan_system,
    scan_tools,
    str_list,
)
from switchyard.routing.plan import RouteRequest

# Body keys that steer the gateway and are never forwarded to a provider.
GATEWAY_KEYS = frozenset({"models", "providerOptions", "provider_options", "provider"})
BETA_KEY = "__anthropic_beta"
VERSION_KEY = "__anthropic_version"
PRIVATE_KEYS = frozenset({BETA_KEY, VERSION_KEY})
_NUMBER = (int, float)


def remember_headers(data: dict[str, Any], headers: Mapping[str, str]) -> None:
    """Keep the caller's ``anthropic-beta`` / ``anthropic-version`` for the pass-through call (and
    only those: a body that brings the private keys itself loses them)."""
    for key, header in ((BETA_KEY, "anthropic-beta"), (VERSION_KEY, "anthropic-version")):
        data.pop(key, None)
        value = headers.get(header)
        if value:
            data[key] = value


def _wants_json(data: Mapping[str, Any]) -> bool:
    fmt = data.get("output_format")
    config = data.get("output_config")
    if isinstance(config, dict) and isinstance(config.get("format"), dict):
        fmt = config["format"]
    return isinstance(fmt, dict) and fmt.get("type") == "json_schema"


def parse_request(body: bytes, headers: Mapping[str, str], resolve: Callable[[str], str],
                  reasoning_models: frozenset[str] = frozenset()) -> Inbound:
    """``resolve`` maps the caller's model name to a catalog id (see ``catalog.names.ModelNames``);
    ``reasoning_models`` are the catalog ids whose thinking settings are hinted to other providers."""
    data = decode_body(body)
    model = data.get("model")
    if not isinstance(model, str) or not model:
        raise bad("model", "Field required")
    max_tokens = data.get("max_tokens")
    if max_tokens is None:
        raise bad("max_tokens", "Field required")
    if not isinstance(max_tokens, int) or isinstance(max_tokens, bool) or max_tokens < 1:
        raise bad("max_tokens", "Input should be an integer greater than or equal to 1")
    scan = Scan()
    scan_messages(data.get("messages"), scan)
    scan_system(data.get("system"), scan)
    stream = bool(check(data, "stream", bool, "a valid boolean"))
    for key in ("temperature", "top_p"):
        check(data, key, _NUMBER, "a valid number")
    check(data, "top_k", int, "a valid integer")
    str_list(data.get("stop_sequences"), "stop_sequences")
    metadata = check(data, "metadata", dict, "an object") or {}
    check(metadata, "user_id", str, "a valid string", "metadata.user_id")
    thinking = check(data, "thinking", dict, "an object")
    if thinking is not None:
        if not isinstance(thinking.get("type"), str):
            raise bad("thinking.type", "Field required")
        if thinking["type"] == "enabled":
            check(thinking, "budget_tokens", int, "a valid integer", "thinking.budget_tokens")
    needs: set[str] = set()
    if scan_tools(data, scan):
        needs.add("tools")
    if scan.images:
        needs.add("vision")
    if _wants_json(data):
        needs.add("json")

    gateway = gateway_options(data)
    fallbacks = str_list(data.get("models"), "models")
    if fallbacks is None:
        fallbacks = str_list(gateway.get("models"), "providerOptions.gateway.models")
    resolved = resolve(model)
    route = RouteRequest(
        model=resolved,
        fallbacks=tuple(f for f in (resolve(m) for m in fallbacks or ()) if f != resolved),
        order=str_list(gateway.get("order"), "providerOptions.gateway.order"),
        only=str_list(gateway.get("only"), "providerOptions.gateway.only"),
        needs=frozenset(needs),
        est_input_tokens=scan.tokens,
        max_tokens=max_tokens,
    )
    remember_headers(data, headers)
    user = gateway.get("user") if isinstance(gateway.get("user"), str) else metadata.get("user_id")
    tags = str_list(gateway.get("tags"), "providerOptions.gateway.tags")
    convert = partial(to_canonical, model=resolved, reasoning=resolved in reasoning_models)
    return Inbound(route, stream, data, convert, wants_usage=stream, user=user, tags=tags)
