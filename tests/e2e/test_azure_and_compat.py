"""End to end with the real `openai` SDK: Azure OpenAI (deployments, api-key and Entra ID, content
filter) and OpenAI-compatible providers configured by slug only, whose quirks are applied on the way
out (what the fake receives) and read on the way back (usage where each one puts it)."""

from __future__ import annotations

import asyncio
import dataclasses
import json
from typing import Any

import openai
import pytest
from aiohttp import web

from switchyard.config.model import ProviderConfig
from switchyard.providers.registry import build_adapters
from tests.e2e.test_openai_sdk import WEATHER_TOOL, client, gateway_meta
from tests.fakes import OpenAIFake, ToolCall, embedding_vector
from tests.fakes.azure_fake import AzureOpenAIFake, EntraTokenFake
from tests.fakes.base import Exchange
from tests.gateway_harness import gateway, model

DEPLOYMENTS = {"prod-4o": "gpt-4o-2024-08-06", "emb-small": "text-embedding-3-small"}
GPT4O = {"openai/gpt-4o": model({"azure": "gpt-4o"}, pricing={"input": 2.5, "output": 10.0})}


@pytest.fixture
async def entra():
    async with EntraTokenFake(tenant_id="contoso", client_id="switchyard-app", client_secret="entra-secret") as fake:
        yield fake


@pytest.fixture
async def azure(entra):
    async with AzureOpenAIFake(api_key="az-secret", token_check=entra.valid, deployments=DEPLOYMENTS) as fake:
        yield fake


@pytest.fixture
async def backup():
    async with OpenAIFake(api_key="sk-backup") as fake:
        yield fake


def azure_provider(azure: AzureOpenAIFake, entra: EntraTokenFake | None = None, **options: Any) -> dict[str, Any]:
    opts: dict[str, Any] = {"deployments": {"gpt-4o": "prod-4o", "text-embedding-3-small": "emb-small"}, **options}
    if entra is None:
        return {"protocol": "azure-openai", "base_url": azure.root_url, "api_key": "az-secret", "options": opts}
    opts.update(tenant_id="contoso", client_id="switchyard-app", client_secret="entra-secret",
                token_url=entra.token_url)
    return {"protocol": "azure-openai", "base_url": azure.root_url, "options": opts}


def use_path(gw: Any, slug: str, passthrough: bool) -> None:
    """Pin the executor's path for this adapter. Azure relays OpenAI callers' bodies when the executor
    compares the door with ``adapter.passthrough_protocol`` (pending in the executor, which now compares
    ``adapter.protocol``); setting both instance attributes pins the path under either rule."""
    adapter = gw.app.executor.adapters[slug]
    adapter.protocol = adapter.passthrough_protocol = "openai-chat" if passthrough else "azure-openai"


PATHS = pytest.mark.parametrize("passthrough", [False, True], ids=["translated", "passthrough"])


# ---- Azure OpenAI ----

@PATHS
async def test_azure_completion_with_api_key(passthrough: bool, azure: AzureOpenAIFake) -> None:
    async with gateway({"azure": azure_provider(azure)}, GPT4O) as gw:
        use_path(gw, "azure", passthrough)
        raw = await client(gw).chat.completions.with_raw_response.create(
            model="openai/gpt-4o", messages=[{"role": "user", "content": "hello azure"}], seed=4, user="u-1")
        r = raw.parse()
    assert r.choices[0].message.content == "echo: hello azure"
    assert r.choices[0].finish_reason == "stop"
    assert r.id.startswith("chatcmpl-" if passthrough else "gen_")  # the provider's body, or ours
    sent = azure.last_request
    assert sent.path == "/openai/deployments/prod-4o/chat/completions"
    assert sent.query == {"api-version": "2024-10-21"}
    assert sent.headers["api-key"] == "az-secret" and "authorization" not in sent.headers
    assert sent.json["model"] == "prod-4o" and sent.json["seed"] == 4 and sent.json["user"] == "u-1"
    assert r.usage.prompt_tokens == 3 and r.usage.completion_tokens == 3
    assert r.usage.model_extra["cost"] == pytest.approx((3 * 2.5 + 3 * 10) / 1e6)
    assert gateway_meta(r)["routing"]["resolvedProvider"] == "azure"
    assert raw.headers["x-switchyard-provider"] == "azure"


@PATHS
@pytest.mark.parametrize("include_usage", [False, True])
@pytest.mark.parametrize("async_filter", [False, True])
async def test_azure_stream_hides_filter_frames(passthrough: bool, include_usage: bool, async_filter: bool,
                                                azure: AzureOpenAIFake) -> None:
    azure.async_filter = async_filter
    extra = {"stream_options": {"include_usage": True}} if include_usage else {}
    async with gateway({"azure": azure_provider(azure)}, GPT4O) as gw:
        use_path(gw, "azure", passthrough)
        chunks = [c async for c in await client(gw).chat.completions.create(
            model="openai/gpt-4o", messages=[{"role": "user", "content": "stream from azure please"}],
            stream=True, **extra)]
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == "echo: stream from azure please"
    assert chunks[0].id.startswith("chatcmpl-" if passthrough else "gen_")
    # Every chunk an OpenAI caller indexes has choices[0].delta; only the usage chunk it asked for has none.
    for c in chunks[:-1] if include_usage else chunks:
        assert c.choices and c.choices[0].delta is not None
    assert all(c.id for c in chunks)
    last = chunks[-1]
    if include_usage:
        assert last.choices == [] and last.usage.prompt_tokens == 5 and last.usage.completion_tokens == 5
    else:
        assert last.choices[0].finish_reason == "stop"
    assert last.model_extra["provider_metadata"]["gateway"]["usage"]["output"] == 5
    assert azure.last_request.json["stream_options"] == {"include_usage": True}


@PATHS
@pytest.mark.parametrize("stream", [False, True])
async def test_azure_tool_calls(passthrough: bool, stream: bool, azure: AzureOpenAIFake) -> None:
    azure.push(tool_calls=[ToolCall("get_weather", {"city": "Oslo"}, id="call_az1")])
    async with gateway({"azure": azure_provider(azure)}, GPT4O) as gw:
        use_path(gw, "azure", passthrough)
        kwargs: dict[str, Any] = dict(model="openai/gpt-4o", tools=[WEATHER_TOOL],
                                      messages=[{"role": "user", "content": "weather in Oslo?"}])
        if stream:
            args, finish = "", None
            async for chunk in await client(gw).chat.completions.create(stream=True, **kwargs):
                for ch in chunk.choices:
                    finish = ch.finish_reason or finish
                    for tc in ch.delta.tool_calls or ():
                        args += tc.function.arguments or ""
        else:
            r = await client(gw).chat.completions.create(**kwargs)
            finish, args = r.choices[0].finish_reason, r.choices[0].message.tool_calls[0].function.arguments
    assert finish == "tool_calls" and json.loads(args) == {"city": "Oslo"}
    assert azure.last_request.json["tools"][0]["function"]["name"] == "get_weather"


@PATHS
async def test_azure_embeddings(passthrough: bool, azure: AzureOpenAIFake) -> None:
    entry = {"name": "Embed", "type": "embedding", "context_window": 8192, "dimensions": 8,
             "pricing": {"input": 0.02}, "providers": {"azure": {"id": "text-embedding-3-small"}}}
    async with gateway({"azure": azure_provider(azure)}, {"openai/text-embedding-3-small": entry}) as gw:
        use_path(gw, "azure", passthrough)
        r = await client(gw).embeddings.create(model="openai/text-embedding-3-small", input=["sunny day"],
                                               dimensions=8)
    assert r.data[0].embedding == pytest.approx(embedding_vector("sunny day", 8), rel=1e-6)
    sent = azure.last_request
    assert sent.path == "/openai/deployments/emb-small/embeddings" and sent.query == {"api-version": "2024-10-21"}
    assert sent.json["model"] == "emb-small"
    assert r.usage.prompt_tokens > 0


async def test_azure_v1_api(azure: AzureOpenAIFake) -> None:
    async with gateway({"azure": azure_provider(azure, api_version="v1")}, GPT4O) as gw:
        r = await client(gw).chat.completions.create(model="openai/gpt-4o",
                                                     messages=[{"role": "user", "content": "v1 hello"}])
    assert r.choices[0].message.content == "echo: v1 hello"
    assert azure.last_request.path == "/openai/v1/chat/completions" and azure.last_request.query == {}
    assert azure.last_request.json["model"] == "prod-4o"


@PATHS
async def test_azure_entra_id_tokens_are_fetched_once_and_renewed(passthrough: bool, entra: EntraTokenFake,
                                                                  azure: AzureOpenAIFake) -> None:
    entra.expires_in = 2  # renewed after half its life
    async with gateway({"azure": azure_provider(azure, entra)}, GPT4O) as gw:
        use_path(gw, "azure", passthrough)
        c = client(gw)
        results = await asyncio.gather(*(c.chat.completions.create(
            model="openai/gpt-4o", messages=[{"role": "user", "content": f"hi {i}"}]) for i in range(5)))
        assert [r.choices[0].message.content for r in results] == [f"echo: hi {i}" for i in range(5)]
        assert len(entra.requests) == 1  # one token request for five concurrent calls
        first = azure.last_request.headers["authorization"]
        assert first.startswith("Bearer entra-") and "api-key" not in azure.last_request.headers
        await asyncio.sleep(1.2)
        r = await c.chat.completions.create(model="openai/gpt-4o", messages=[{"role": "user", "content": "later"}])
    assert r.choices[0].message.content == "echo: later"
    assert len(entra.requests) == 2 and azure.last_request.headers["authorization"] != first


async def test_azure_entra_failure_moves_to_the_next_provider(entra: EntraTokenFake, azure: AzureOpenAIFake,
                                                              backup: OpenAIFake) -> None:
    entra.client_secret = "rotated"
    providers = {"azure": azure_provider(azure, entra),
                 "openai": {"protocol": "openai-chat", "base_url": backup.base_url, "api_key": "sk-backup"}}
    async with gateway(providers, {"openai/gpt-4o": model({"azure": "gpt-4o", "openai": "gpt-4o"})}) as gw:
        r = await client(gw).chat.completions.create(model="openai/gpt-4o",
                                                     messages=[{"role": "user", "content": "x"}])
    attempts = gateway_meta(r)["routing"]["attempts"]
    assert [(a["provider"], a["success"]) for a in attempts] == [("azure", False), ("openai", True)]
    assert attempts[0]["errorCategory"] == "authentication" and "AADSTS7000215" in attempts[0]["error"]
    assert "entra-secret" not in json.dumps(attempts) and "rotated" not in json.dumps(attempts)
    assert azure.api_requests("/chat/completions") == []


@PATHS
async def test_azure_content_filter_400_falls_back_to_another_model(passthrough: bool, azure: AzureOpenAIFake,
                                                                    backup: OpenAIFake) -> None:
    providers = {"azure": azure_provider(azure),
                 "openai": {"protocol": "openai-chat", "base_url": backup.base_url, "api_key": "sk-backup"}}
    models = {**GPT4O, "acme/backup": model({"openai": "backup-model"})}
    async with gateway(providers, models) as gw:
        use_path(gw, "azure", passthrough)
        c = client(gw)
        r = await c.chat.completions.create(
            model="openai/gpt-4o", messages=[{"role": "user", "content": "tell me about forbidden-topic"}],
            extra_body={"models": ["acme/backup"]})
        assert r.choices[0].message.content == "echo: tell me about forbidden-topic"
        routing = gateway_meta(r)["routing"]
        assert [(a["provider"], a["model"], a["success"]) for a in routing["attempts"]] == \
            [("azure", "openai/gpt-4o", False), ("openai", "acme/backup", True)]
        assert routing["attempts"][0]["errorCategory"] == "content_filtered"
        assert "filtered: violence" in routing["attempts"][0]["error"]
        # With nothing to fall back to, the caller gets the content-filter 400.
        with pytest.raises(openai.BadRequestError) as info:
            await c.chat.completions.create(model="openai/gpt-4o",
                                            messages=[{"role": "user", "content": "forbidden-topic again"}])
    assert info.value.body["code"] == "content_filter"


async def test_azure_output_filter_finish_reason(azure: AzureOpenAIFake) -> None:
    azure.push("Once upon", finish_reason="content_filter")
    async with gateway({"azure": azure_provider(azure)}, GPT4O) as gw:
        r = await client(gw).chat.completions.create(model="openai/gpt-4o",
                                                     messages=[{"role": "user", "content": "a story"}])
    assert r.choices[0].finish_reason == "content_filter"


async def test_azure_429_retry_after_ms(azure: AzureOpenAIFake) -> None:
    azure.fail(429, times=1, retry_after=0.3)
    async with gateway({"azure": azure_provider(azure)}, GPT4O, routing={"max_retry_wait": 1.0}) as gw:
        r = await client(gw).chat.completions.create(model="openai/gpt-4o",
                                                     messages=[{"role": "user", "content": "x"}])
    attempts = gateway_meta(r)["routing"]["attempts"]
    assert [(a.get("statusCode"), a["success"]) for a in attempts] == [(429, False), (200, True)]
    assert attempts[1]["startTime"] - attempts[0]["endTime"] >= 250


@PATHS
async def test_azure_old_api_version_streams_without_stream_options(passthrough: bool,
                                                                    azure: AzureOpenAIFake) -> None:
    async with gateway({"azure": azure_provider(azure, api_version="2024-06-01")}, GPT4O) as gw:
        use_path(gw, "azure", passthrough)
        chunks = [c async for c in await client(gw).chat.completions.create(
            model="openai/gpt-4o", messages=[{"role": "user", "content": "old api"}], stream=True,
            stream_options={"include_usage": True})]
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == "echo: old api"
    assert azure.last_request.query == {"api-version": "2024-06-01"}
    assert "stream_options" not in azure.last_request.json  # the fake answers 400 to it, like Azure


# ---- OpenAI-compatible providers, configured by slug only ----

MISTRAL_KEYS = {"model", "temperature", "top_p", "max_tokens", "stream", "stop", "random_seed", "metadata",
                "messages", "response_format", "tools", "tool_choice", "presence_penalty", "frequency_penalty",
                "n", "prediction", "parallel_tool_calls", "reasoning_effort", "prompt_mode", "safe_prompt"}
MISTRAL_MESSAGE_KEYS = {"role", "content", "tool_calls", "tool_call_id", "prefix"}


class CompatFake(OpenAIFake):
    """OpenAIFake with one compatible provider's departures, as documented (see quirks.py):

    - mistral: 422 ``extra_forbidden`` for anything outside its schema; streams carry usage on the
      finish chunk, unasked.
    - groq: 400 for logprobs, top_logprobs, logit_bias, messages[].name and n > 1; streams carry usage
      in ``x_groq.usage`` on the finish chunk.
    - deepseek: ``: keep-alive`` comments before the first chunk; usage with ``prompt_cache_hit_tokens``
      and ``prompt_cache_miss_tokens`` (2 prompt tokens always hit), on the finish chunk in streams.
    """

    def __init__(self, flavor: str, **kw: Any) -> None:
        super().__init__(**kw)
        self.flavor = flavor

    async def _reject(self, ex: Exchange, body: dict[str, Any]) -> web.StreamResponse | None:
        if self.flavor == "mistral":
            detail = [{"type": "extra_forbidden", "loc": ["body", k], "msg": "Extra inputs are not permitted",
                       "input": v} for k, v in body.items() if k not in MISTRAL_KEYS]
            detail += [{"type": "extra_forbidden", "loc": ["body", "messages", i, k],
                        "msg": "Extra inputs are not permitted", "input": v}
                       for i, m in enumerate(body.get("messages") or []) for k, v in m.items()
                       if k not in MISTRAL_MESSAGE_KEYS and not (k == "name" and m.get("role") == "tool")]
            if detail:
                return await ex.send_json(422, {"object": "error", "message": {"detail": detail},
                                                "type": "invalid_request_error", "param": None, "code": None})
        if self.flavor == "groq":
            for key in ("logprobs", "top_logprobs", "logit_bias"):
                if key in body:
                    return await ex.send_json(400, {"error": {"message": f"'{key}' : property '{key}' is "
                                                              f"unsupported", "type": "invalid_request_error"}})
            if (body.get("n") or 1) > 1:
                return await ex.send_json(400, {"error": {"message": "'n' : number must be at most 1",
                                                          "type": "invalid_request_error"}})
            if any("name" in m for m in body.get("messages") or []):
                return await ex.send_json(400, {"error": {"message": "'messages.0' : for 'role:user' the following "
                                                          "must be satisfied[('messages.0.name' : property 'name' "
                                                          "is unsupported)]", "type": "invalid_request_error"}})
        return None

    def _usage(self, usage: dict[str, Any]) -> dict[str, Any]:
        if self.flavor != "deepseek":
            return usage
        hit = min(2, usage["prompt_tokens"])
        return {"prompt_tokens": usage["prompt_tokens"], "completion_tokens": usage["completion_tokens"],
                "total_tokens": usage["total_tokens"], "prompt_cache_hit_tokens": hit,
                "prompt_cache_miss_tokens": usage["prompt_tokens"] - hit}

    async def chat_completions(self, ex: Exchange) -> web.StreamResponse:
        body = ex.body
        if not isinstance(body, dict):
            return await super().chat_completions(ex)
        if (bad := await self._reject(ex, body)) is not None:
            return bad
        send_json, start_stream, send_event = ex.send_json, ex.start_stream, ex.send_event

        async def json_shaped(status: int, obj: Any, headers: dict[str, str] | None = None) -> web.StreamResponse:
            if status == 200 and isinstance(obj, dict) and isinstance(obj.get("usage"), dict):
                obj["usage"] = self._usage(obj["usage"])
            return await send_json(status, obj, headers)

        async def start_shaped(headers: dict[str, str] | None = None) -> None:
            await start_stream(headers)
            if self.flavor == "deepseek":
                await send_event(": keep-alive\n\n")

        held: list[dict[str, Any]] = []

        async def event_shaped(data: str) -> None:
            if not data.startswith("data: {"):
                return await send_event(data)
            obj = json.loads(data[6:])
            obj.pop("usage", None)
            if obj["choices"] and obj["choices"][0]["finish_reason"]:
                held.append(obj)  # sent with the usage, which the base fake sends next
                return None
            if not obj["choices"]:  # the usage chunk: its usage goes on the finish chunk instead
                finish, usage = held.pop(), self._usage(json.loads(data[6:])["usage"])
                if self.flavor == "groq":
                    finish["x_groq"] = {"id": "req_01fake", "usage": {**usage, "queue_time": 0.01}}
                else:
                    finish["usage"] = usage
                return await send_event(f"data: {json.dumps(finish)}\n\n")
            return await send_event(f"data: {json.dumps(obj)}\n\n")

        ex.send_json = json_shaped  # type: ignore[method-assign]
        if body.get("stream"):
            ex.start_stream = start_shaped  # type: ignore[method-assign]
            ex.send_event = event_shaped  # type: ignore[method-assign]
            # The server sends its usage whether or not it was asked for (and Mistral is never asked).
            ex.record = dataclasses.replace(ex.record, json={**body, "stream_options": {"include_usage": True}})
        return await super().chat_completions(ex)


@pytest.fixture
async def compat():
    fakes: dict[str, CompatFake] = {}

    async def start(flavor: str) -> CompatFake:
        fakes[flavor] = await CompatFake(flavor, api_key=f"sk-{flavor}").start()
        return fakes[flavor]

    yield start
    for fake in fakes.values():
        await fake.close()


def compat_provider(fake: CompatFake) -> dict[str, Any]:
    return {"protocol": "openai-chat", "base_url": fake.base_url, "api_key": f"sk-{fake.flavor}"}


@pytest.mark.parametrize("stream", [False, True])
async def test_mistral_quirks(stream: bool, compat: Any) -> None:
    mistral = await compat("mistral")
    models = {"mistral/small": model({"mistral": "mistral-small-latest"}, pricing={"input": 1.0, "output": 3.0})}
    async with gateway({"mistral": compat_provider(mistral)}, models) as gw:
        kwargs: dict[str, Any] = dict(
            model="mistral/small", seed=7, user="end-user-1", max_completion_tokens=50,
            messages=[{"role": "system", "content": "be brief", "name": "policy"},
                      {"role": "user", "content": "bonjour mistral", "name": "alice"}])
        if stream:
            chunks = [c async for c in await client(gw).chat.completions.create(
                stream=True, stream_options={"include_usage": True}, **kwargs)]
            text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
            usage = chunks[-1].usage
        else:
            r = await client(gw).chat.completions.create(**kwargs)
            text, usage = r.choices[0].message.content, r.usage
    assert text == "echo: bonjour mistral"
    sent = mistral.last_request.json
    assert sent["random_seed"] == 7 and sent["max_tokens"] == 50
    assert not {"seed", "user", "max_completion_tokens", "stream_options"} & set(sent)
    assert sent["messages"] == [{"role": "system", "content": "be brief"},
                                {"role": "user", "content": "bonjour mistral"}]
    # usage read from the finish chunk (streams) where Mistral puts it unasked
    assert usage.prompt_tokens == 6 and usage.completion_tokens == 3
    assert usage.model_extra["cost"] == pytest.approx((6 * 1.0 + 3 * 3.0) / 1e6)


@pytest.mark.parametrize("stream", [False, True])
async def test_groq_quirks_and_x_groq_usage(stream: bool, compat: Any) -> None:
    groq = await compat("groq")
    models = {"meta/llama": model({"groq": "llama-3.3-70b-versatile"})}
    async with gateway({"groq": compat_provider(groq)}, models) as gw:
        kwargs: dict[str, Any] = dict(model="meta/llama", user="u",
                                      messages=[{"role": "user", "content": "fast please", "name": "bob"}])
        if stream:
            chunks = [c async for c in await client(gw).chat.completions.create(stream=True, **kwargs)]
            assert all(c.usage is None for c in chunks)  # not asked for: not shown, but still counted
            meta = chunks[-1].model_extra["provider_metadata"]["gateway"]
            text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
        else:
            r = await client(gw).chat.completions.create(**kwargs)
            meta, text = gateway_meta(r), r.choices[0].message.content
    assert text == "echo: fast please"
    assert groq.last_request.json["messages"] == [{"role": "user", "content": "fast please"}]
    assert groq.last_request.json["user"] == "u"
    assert meta["usage"]["input"] == 3 and meta["usage"]["output"] == 3


async def test_groq_cannot_do_logprobs_so_another_provider_does(compat: Any) -> None:
    groq = await compat("groq")
    other = await compat("openai-like")
    providers = {"groq": compat_provider(groq), "together": compat_provider(other)}
    models = {"meta/llama": model({"groq": "llama-3.3-70b-versatile", "together": "meta-llama/Llama-3.3-70B"})}
    async with gateway(providers, models) as gw:
        c = client(gw)
        r = await c.chat.completions.create(model="meta/llama", logprobs=True, top_logprobs=2,
                                            messages=[{"role": "user", "content": "x"}])
        attempts = gateway_meta(r)["routing"]["attempts"]
        assert [(a["provider"], a["success"]) for a in attempts] == [("groq", False), ("together", True)]
        assert attempts[0]["errorCategory"] == "unsupported" and "logprobs" in attempts[0]["error"]
        assert groq.api_requests("/chat/completions") == []  # refused before anything was sent
        assert other.last_request.json["logprobs"] is True
        with pytest.raises(openai.BadRequestError) as info:
            await c.chat.completions.create(model="meta/llama", n=3, messages=[{"role": "user", "content": "x"}],
                                            extra_body={"providerOptions": {"gateway": {"only": ["groq"]}}})
    assert info.value.body["param"] == "n"


@pytest.mark.parametrize("stream", [False, True])
async def test_deepseek_reasoner_quirks_and_cache_usage(stream: bool, compat: Any) -> None:
    deepseek = await compat("deepseek")
    models = {"deepseek/r1": model({"deepseek": "deepseek-reasoner"},
                                   pricing={"input": 0.55, "output": 2.19, "cache_read": 0.14})}
    async with gateway({"deepseek": compat_provider(deepseek)}, models) as gw:
        kwargs: dict[str, Any] = dict(model="deepseek/r1", temperature=0.3, top_p=0.9,
                                      messages=[{"role": "user", "content": "think about this"}])
        if stream:
            chunks = [c async for c in await client(gw).chat.completions.create(
                stream=True, stream_options={"include_usage": True}, **kwargs)]
            text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
            meta = chunks[-1].model_extra["provider_metadata"]["gateway"]
            cost = chunks[-1].usage.model_extra["cost"]
        else:
            r = await client(gw).chat.completions.create(**kwargs)
            text, meta, cost = r.choices[0].message.content, gateway_meta(r), r.usage.model_extra["cost"]
            assert r.usage.model_extra["prompt_cache_hit_tokens"] == 2  # DeepSeek's body, passed through
    assert text == "echo: think about this"
    assert not {"temperature", "top_p"} & set(deepseek.last_request.json)
    assert meta["usage"]["input"] == 4 and meta["usage"]["cached"] == 2 and meta["usage"]["output"] == 4
    assert cost == pytest.approx((2 * 0.55 + 2 * 0.14 + 4 * 2.19) / 1e6)


async def test_unknown_quirks_name_is_a_configuration_error() -> None:
    with pytest.raises(ValueError, match="options.quirks"):
        build_adapters({"x": ProviderConfig(slug="x", protocol="openai-chat", base_url="http://x",
                                            options={"quirks": "nope"})})
