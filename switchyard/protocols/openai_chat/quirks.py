"""How OpenAI-compatible servers depart from OpenAI's Chat Completions API, as data.

A provider's entry is chosen by ``options.quirks`` and defaults to its slug, so the known slugs below
need no configuration; an unknown name in ``options.quirks`` is a configuration error. OpenAI itself,
and any server not listed, get ``NO_QUIRKS``: the encoders test ``quirks.active`` once and do nothing
else, so the pass-through fast path costs the same as before.

Request rules are applied to the body we are about to send (built from the canonical request, or the
caller's own body on the pass-through path), never to the caller's dict:

- ``drop``: keys the server rejects or ignores and whose loss changes nothing the caller relies on.
- ``reject``: keys the server cannot honour. Sent with a value (not null, false, 0 or empty) they make
  the attempt fail with ``RequestError(UNSUPPORTED, param=key)`` before anything is sent, so the router
  moves on to a provider that can; sent empty they are dropped.
- ``rename``: OpenAI's key -> the server's key (the server's own key wins if both are present).
- ``models``: extra ``drop``/``reject`` rules for provider model ids matching a glob.

Stream rules say where chunks carry usage and errors besides OpenAI's ``usage`` and ``error``, and
which provider annotation chunks (Azure's content-filter frames) are not passed on to OpenAI callers.

Every entry cites where the behaviour was confirmed. Checked and needing nothing: Cerebras (its SDK's
``completion_create_params`` accepts every OpenAI field, 2026-01), Together, Fireworks, xAI, vLLM and
Ollama (no confirmed departures on the fields we send). OpenRouter's ``: OPENROUTER PROCESSING`` and
DeepSeek's ``: keep-alive`` are SSE comments, which ``providers.sse`` and the relay handle for everyone.
Rate-limit headers need no entry: Groq sends ``retry-after`` on every 429
(https://console.groq.com/docs/rate-limits) and Azure ``retry-after-ms``/``retry-after``, both read by
``providers.base.parse_retry_after``.
"""

from __future__ import annotations

from fnmatch import fnmatchcase
from typing import Any

import msgspec

from switchyard.config.model import ProviderConfig
from switchyard.errors import ErrorCategory, RequestError


class ModelRules(msgspec.Struct, frozen=True):
    """Rules for the provider model ids matching ``pattern`` (a glob), on top of the provider's."""

    pattern: str
    drop: tuple[str, ...] = ()
    reject: tuple[str, ...] = ()


class Quirks(msgspec.Struct, frozen=True):
    name: str
    drop: tuple[str, ...] = ()
    reject: tuple[str, ...] = ()
    rename: tuple[tuple[str, str], ...] = ()
    max_n: int | None = None  # larger ``n`` is rejected
    stream_options: bool = True  # False: never sent; usage is read wherever the server puts it
    drop_message_fields: tuple[str, ...] = ()  # removed from every message
    reject_roles: tuple[str, ...] = ()  # conversations with such messages cannot be sent here
    models: tuple[ModelRules, ...] = ()
    usage_paths: tuple[tuple[str, ...], ...] = ()  # where stream chunks carry usage besides "usage"
    error_paths: tuple[tuple[str, ...], ...] = ()  # where stream chunks carry an error besides "error"
    stream_markers: tuple[bytes, ...] = ()  # substrings of annotation chunks the relay must look at

    @property
    def active(self) -> bool:
        return self is not NO_QUIRKS


NO_QUIRKS = Quirks("none")

# Message fields of OpenAI's assistant messages that callers echo back and Mistral's message schemas
# lack (client-python docs/models/{user,system,assistant,tool}message.md, 2026-06: user and system
# messages are role+content, assistant adds tool_calls and prefix).
_OPENAI_ONLY_MESSAGE_FIELDS = ("name", "reasoning_content", "refusal", "annotations", "audio")

QUIRKS: dict[str, Quirks] = {q.name: q for q in (
    # Mistral validates bodies strictly: a key outside its schema is a 422 ``extra_forbidden``
    # (mistralai/platform-docs-public#7, avante.nvim#2347 for stream_options, eca#231 for
    # max_completion_tokens). Its ChatCompletionRequest (mistralai/client-python
    # docs/models/chatcompletionrequest.md, 2026-06) has random_seed instead of seed, max_tokens only,
    # no user, stream_options, logprobs, top_logprobs, logit_bias, service_tier or store. Streams
    # carry usage on the last chunk without being asked (mistralai/client-python#40,
    # Portkey-AI/gateway#1260), which the decoder and relay read there.
    Quirks(
        "mistral",
        drop=("user", "service_tier", "store"),
        reject=("logprobs", "top_logprobs", "logit_bias"),
        rename=(("seed", "random_seed"), ("max_completion_tokens", "max_tokens")),
        stream_options=False,
        drop_message_fields=_OPENAI_ONLY_MESSAGE_FIELDS,
    ),
    # Groq: logprobs, logit_bias, top_logprobs and messages[].name are a 400, and n must be 1
    # (https://console.groq.com/docs/openai; groq-python completion_create_params.py, 2026-08:
    # "n: only n=1 is supported. Other values will result in a 400"). Streams put usage and errors
    # under ``x_groq`` in the final chunk (groq-python chat_completion_chunk.py XGroq.usage/.error;
    # vercel/ai#1651); include_usage is honoured too, so stream_options stays.
    Quirks(
        "groq",
        reject=("logprobs", "top_logprobs", "logit_bias"),
        max_n=1,
        drop_message_fields=("name",),
        usage_paths=(("x_groq", "usage"),),
        error_paths=(("x_groq", "error"),),
    ),
    # DeepSeek: deepseek-reasoner ignores temperature, top_p, presence_penalty and frequency_penalty
    # and answers logprobs/top_logprobs with an error
    # (https://api-docs.deepseek.com/guides/reasoning_model, "Not Supported Parameters"). Its
    # prompt_cache_hit_tokens usage field is read by response.usage_in for every provider.
    Quirks(
        "deepseek",
        models=(ModelRules("deepseek-reasoner*",
                           drop=("temperature", "top_p", "presence_penalty", "frequency_penalty"),
                           reject=("logprobs", "top_logprobs")),),
    ),
    # Perplexity's Sonar chat completions reject tools ("Tool calling is not supported for this
    # model", pipecat-ai/pipecat#4862) and accept only system, user and assistant roles
    # (BerriAI/litellm#11665: "role: Input should be 'system', 'user' or 'assistant'").
    Quirks("perplexity", reject=("tools",), reject_roles=("tool",)),
    # Azure OpenAI streams open with a chunk that has no choices and carries prompt_filter_results,
    # and in asynchronous-filter mode send annotation chunks whose choices have content_filter_offsets
    # and no delta (https://learn.microsoft.com/azure/foundry/openai/concepts/content-streaming; "Azure
    # emits frames with an empty choices array", dev.to/multigrid/streaming-responses-from-azure-openai).
    # OpenAI callers index choices[0]; the relay drops these frames. The azure adapter picks this
    # entry whatever the provider's slug.
    Quirks("azure", stream_markers=(b'"prompt_filter_results"', b'"content_filter_offsets"')),
)}


def quirks_for(provider: ProviderConfig, default: str | None = None) -> Quirks:
    """The entry named by ``options.quirks``, else by ``default`` or the slug (none if unknown)."""
    name = provider.options.get("quirks")
    if name is None:
        return QUIRKS.get(default or provider.slug, NO_QUIRKS)
    if name in ("none", "openai"):
        return NO_QUIRKS
    if name not in QUIRKS:
        raise ValueError(f"providers.{provider.slug}: unknown options.quirks '{name}' "
                         f"(known: {', '.join(sorted(QUIRKS))}, none)")
    return QUIRKS[name]


def named(slug: str) -> Quirks:
    return QUIRKS.get(slug, NO_QUIRKS)


def _is_set(value: Any) -> bool:
    return value is not None and value is not False and value != 0 and value != "" \
        and value != [] and value != {}


def _unsupported(slug: str, what: str, param: str) -> RequestError:
    return RequestError(f"{slug} does not support {what}.", param=param, category=ErrorCategory.UNSUPPORTED)


def apply(body: dict[str, Any], model_id: str, q: Quirks, slug: str) -> dict[str, Any]:
    """Rewrite ``body`` (a fresh top-level dict we own; nested values may be the caller's and are
    copied before they change) for the server ``q`` describes."""
    drop, reject = q.drop, q.reject
    for rules in q.models:
        if fnmatchcase(model_id, rules.pattern):
            drop, reject = drop + rules.drop, reject + rules.reject
    for key in reject:
        if key in body:
            if _is_set(body[key]):
                raise _unsupported(slug, f"'{key}' with {model_id}", key)
            del body[key]
    for key in drop:
        body.pop(key, None)
    if q.max_n is not None:
        n = body.get("n")
        if isinstance(n, int) and n > q.max_n:
            raise _unsupported(slug, f"n > {q.max_n}", "n")
    for src, dst in q.rename:
        if src in body:
            value = body.pop(src)
            if value is not None and dst not in body:
                body[dst] = value
    if not q.stream_options:
        body.pop("stream_options", None)
    if q.drop_message_fields or q.reject_roles:
        body["messages"] = _messages(body.get("messages"), q, slug)
    return body


def _messages(messages: Any, q: Quirks, slug: str) -> Any:
    if not isinstance(messages, list):
        return messages
    out = []
    fields = q.drop_message_fields
    for i, m in enumerate(messages):
        if isinstance(m, dict):
            if m.get("role") in q.reject_roles:
                raise _unsupported(slug, f"'{m['role']}' messages", f"messages[{i}].role")
            if any(f in m for f in fields):
                m = {k: v for k, v in m.items() if k not in fields}
        out.append(m)
    return out


def dig(chunk: dict[str, Any], paths: tuple[tuple[str, ...], ...]) -> Any:
    """The first non-empty value found at one of ``paths`` in ``chunk``."""
    for path in paths:
        node: Any = chunk
        for key in path:
            node = node.get(key) if isinstance(node, dict) else None
        if node:
            return node
    return None


def annotation_only(chunk: dict[str, Any]) -> bool:
    """An Azure content-filter frame: nothing an OpenAI caller would read (no delta, finish reason,
    usage or error)."""
    if chunk.get("usage") or chunk.get("error"):
        return False
    choices = chunk.get("choices")
    if not choices:
        return "prompt_filter_results" in chunk
    return all(isinstance(c, dict) and not c.get("delta") and not c.get("finish_reason") for c in choices)
