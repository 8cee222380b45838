"""Azure OpenAI addressing, auth headers and request bodies."""

from __future__ import annotations

import json
from typing import Any

import pytest

from switchyard.canonical import ChatRequest, EmbedRequest, Message, TextPart
from switchyard.config.model import ProviderConfig
from switchyard.protocols.azure import AzureOpenAIAdapter
from switchyard.protocols.azure.adapter import DEFAULT_API_VERSION
from switchyard.protocols.openai_chat.quirks import QUIRKS
from switchyard.providers.registry import build_adapters

ENDPOINT = "https://contoso.openai.azure.com"


def adapter(api_key: str | None = "az-key", base_url: str = ENDPOINT, slug: str = "azure",
            **options: Any) -> AzureOpenAIAdapter:
    return AzureOpenAIAdapter(ProviderConfig(slug=slug, protocol="azure-openai", base_url=base_url,
                                             api_key=api_key, options=options))


def chat(stream: bool = False, **kw: Any) -> ChatRequest:
    return ChatRequest(model="openai/gpt-4o", messages=[Message("user", [TextPart("hi")])], stream=stream, **kw)


def test_registry_maps_the_protocol() -> None:
    adapters = build_adapters({"azure": ProviderConfig(slug="azure", protocol="azure-openai", base_url=ENDPOINT,
                                                       api_key="k")})
    assert type(adapters["azure"]) is AzureOpenAIAdapter
    assert adapters["azure"].protocol == "azure-openai"
    assert adapters["azure"].passthrough_protocol == "openai-chat"


def test_deployment_url_with_default_api_version_and_api_key_header() -> None:
    call = adapter().build_chat(chat(), "gpt-4o")
    assert DEFAULT_API_VERSION == "2024-10-21"
    assert call.url == f"{ENDPOINT}/openai/deployments/gpt-4o/chat/completions?api-version=2024-10-21"
    assert call.headers["api-key"] == "az-key"
    assert "authorization" not in call.headers
    assert json.loads(call.body)["model"] == "gpt-4o"


def test_deployments_map_and_api_version_option() -> None:
    a = adapter(api_version="2025-04-01-preview", deployments={"gpt-4o": "prod-4o", "text-embedding-3-small": "emb"})
    call = a.build_chat(chat(stream=True), "gpt-4o")
    assert call.url == f"{ENDPOINT}/openai/deployments/prod-4o/chat/completions?api-version=2025-04-01-preview"
    body = json.loads(call.body)
    assert body["model"] == "prod-4o" and body["stream_options"] == {"include_usage": True}
    assert call.headers["accept"] == "text/event-stream"
    embed = a.build_embed(EmbedRequest(model="openai/text-embedding-3-small", inputs=["a"]), "text-embedding-3-small")
    assert embed.url == f"{ENDPOINT}/openai/deployments/emb/embeddings?api-version=2025-04-01-preview"
    assert json.loads(embed.body)["model"] == "emb"
    # models without an entry are deployed under their own id
    assert "/deployments/gpt-4o-mini/" in a.build_chat(chat(), "gpt-4o-mini").url


@pytest.mark.parametrize("base_url", [ENDPOINT, ENDPOINT + "/", ENDPOINT + "/openai", ENDPOINT + "/openai/"])
def test_endpoint_may_include_azure_path(base_url: str) -> None:
    assert adapter(base_url=base_url).build_chat(chat(), "m").url.startswith(f"{ENDPOINT}/openai/deployments/m/")


def test_deployment_names_are_escaped_in_the_path() -> None:
    url = adapter(deployments={"m": "my dep/1"}).build_chat(chat(), "m").url
    assert "/deployments/my%20dep%2F1/chat/completions?" in url


@pytest.mark.parametrize("options,base_url", [({"api_version": "v1"}, ENDPOINT), ({}, ENDPOINT + "/openai/v1")])
def test_v1_api_puts_the_deployment_in_the_body(options: dict[str, Any], base_url: str) -> None:
    a = adapter(base_url=base_url, deployments={"gpt-4o": "prod-4o"}, **options)
    call = a.build_chat(chat(), "gpt-4o")
    assert call.url == f"{ENDPOINT}/openai/v1/chat/completions"
    assert json.loads(call.body)["model"] == "prod-4o"
    assert a.build_embed(EmbedRequest(model="x", inputs=["a"]), "e").url == f"{ENDPOINT}/openai/v1/embeddings"
    raw = {"model": "openai/gpt-4o", "messages": [{"role": "user", "content": "hi"}]}
    assert json.loads(a.passthrough_call(raw, "gpt-4o", False).body)["model"] == "prod-4o"


def test_static_bearer_token_wins_over_api_key() -> None:
    call = adapter(bearer_token="eyJ-static").build_chat(chat(), "m")
    assert call.headers["authorization"] == "Bearer eyJ-static"
    assert "api-key" not in call.headers


def test_configuration_errors() -> None:
    with pytest.raises(ValueError, match="base_url"):
        adapter(base_url="")
    with pytest.raises(ValueError, match="api_key"):
        adapter(api_key=None)
    with pytest.raises(ValueError, match="tenant_id, client_id and client_secret"):
        adapter(api_key=None, tenant_id="t", client_id="c")
    with pytest.raises(ValueError, match="deployments"):
        adapter(deployments=["gpt-4o"])


def test_passthrough_body_is_readdressed_to_the_deployment() -> None:
    raw = {"model": "openai/gpt-4o", "messages": [{"role": "user", "content": "hi"}], "stream": True,
           "models": ["x/y"], "providerOptions": {"azure": {"data_sources": []}, "gateway": {"order": ["azure"]}}}
    before = json.loads(json.dumps(raw))
    call = adapter(deployments={"gpt-4o": "prod-4o"}).passthrough_call(raw, "gpt-4o", True)
    body = json.loads(call.body)
    assert call.url.startswith(f"{ENDPOINT}/openai/deployments/prod-4o/chat/completions?")
    assert body == {"model": "prod-4o", "messages": [{"role": "user", "content": "hi"}], "stream": True,
                    "stream_options": {"include_usage": True}, "data_sources": []}
    assert raw == before


@pytest.mark.parametrize("version,sent", [("2024-06-01", False), ("2024-08-01-preview", False),
                                          ("2024-09-01-preview", True), ("2024-10-21", True),
                                          ("2025-04-01-preview", True), ("v1", True)])
def test_stream_options_only_for_api_versions_that_have_it(version: str, sent: bool) -> None:
    a = adapter(api_version=version)
    assert ("stream_options" in json.loads(a.build_chat(chat(stream=True), "m").body)) is sent
    raw = {"model": "x", "messages": [], "stream": True, "stream_options": {"include_usage": True}}
    assert ("stream_options" in json.loads(a.passthrough_call(raw, "m", True).body)) is sent


def test_azure_quirks_whatever_the_slug_and_none_on_request() -> None:
    assert adapter(slug="azure-eu").quirks is QUIRKS["azure"]
    # Azure takes OpenAI's parameters as they are.
    body = json.loads(adapter().build_chat(chat(seed=3, user="u", temperature=0.2), "m").body)
    assert body["seed"] == 3 and body["user"] == "u" and body["temperature"] == 0.2
