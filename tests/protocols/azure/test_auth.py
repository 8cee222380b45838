"""Entra ID client-credentials tokens: fetched once, shared, renewed before expiry."""

from __future__ import annotations

import asyncio

import pytest

from switchyard.canonical import ChatRequest, Message, TextPart
from switchyard.config.model import ProviderConfig
from switchyard.errors import ErrorCategory, UpstreamError
from switchyard.protocols.azure import AzureOpenAIAdapter
from switchyard.protocols.azure.auth import EntraTokenSource
from tests.fakes.azure_fake import ENTRA_SCOPE, EntraTokenFake


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
async def entra():
    async with EntraTokenFake(tenant_id="contoso-tenant", client_id="app-1", client_secret="s3cret",
                              expires_in=3600) as fake:
        yield fake


def source(entra: EntraTokenFake, clock: Clock | None = None, secret: str = "s3cret") -> EntraTokenSource:
    return EntraTokenSource("azure", "contoso-tenant", "app-1", secret, token_url=entra.token_url,
                            **({"clock": clock} if clock else {}))


async def test_client_credentials_request_and_cache(entra: EntraTokenFake) -> None:
    s = source(entra)
    token = await s.token()
    assert entra.valid(token)
    sent = entra.last_request
    assert sent.path == "/contoso-tenant/oauth2/v2.0/token"
    assert sent.headers["content-type"] == "application/x-www-form-urlencoded"
    assert sent.json == {"grant_type": "client_credentials", "client_id": "app-1", "client_secret": "s3cret",
                         "scope": ENTRA_SCOPE}
    assert await s.token() == token and await s.token() == token
    assert s.fetches == 1 and len(entra.requests) == 1


async def test_concurrent_callers_share_one_request(entra: EntraTokenFake) -> None:
    entra.delay_s = 0.1
    s = source(entra)
    tokens = await asyncio.gather(*(s.token() for _ in range(20)))
    assert len(set(tokens)) == 1 and s.fetches == 1 and len(entra.requests) == 1


async def test_renewed_before_expiry(entra: EntraTokenFake) -> None:
    clock = Clock()
    s = source(entra, clock)
    first = await s.token()
    clock.now += 3600 - 301  # more than five minutes left: still the cached token
    assert await s.token() == first and s.fetches == 1
    clock.now += 2  # within five minutes of expiry: renewed
    second = await s.token()
    assert second != first and s.fetches == 2


async def test_short_lived_tokens_are_renewed_at_half_life(entra: EntraTokenFake) -> None:
    entra.expires_in = 60
    clock = Clock()
    s = source(entra, clock)
    first = await s.token()
    clock.now += 29
    assert await s.token() == first
    clock.now += 2
    assert await s.token() != first


async def test_failed_renewal_keeps_a_still_valid_token(entra: EntraTokenFake) -> None:
    clock = Clock()
    s = source(entra, clock)
    first = await s.token()
    clock.now += 3500  # due for renewal, not expired
    entra.fail(503, times=1)
    assert await s.token() == first
    assert await s.token() != first  # the next call renews
    clock.now += 7200  # now expired, and the endpoint fails
    entra.fail(500, times=1)
    with pytest.raises(UpstreamError) as info:
        await s.token()
    assert info.value.category is ErrorCategory.SERVER_ERROR


async def test_wrong_secret_is_an_authentication_error_without_the_secret(entra: EntraTokenFake) -> None:
    with pytest.raises(UpstreamError) as info:
        await source(entra, secret="wrong-secret-value").token()
    assert info.value.category is ErrorCategory.AUTHENTICATION
    assert "AADSTS7000215" in info.value.message and "invalid_client" in info.value.message
    assert "wrong-secret-value" not in info.value.message


async def test_unreachable_token_endpoint() -> None:
    s = EntraTokenSource("azure", "t", "c", "s", token_url="http://127.0.0.1:9/{tenant}/oauth2/v2.0/token")
    with pytest.raises(UpstreamError) as info:
        await s.token()
    assert info.value.category is ErrorCategory.CONNECT


async def test_adapter_prepare_puts_the_token_in_the_headers(entra: EntraTokenFake) -> None:
    a = AzureOpenAIAdapter(ProviderConfig(
        slug="azure", protocol="azure-openai", base_url="https://contoso.openai.azure.com", api_key="ignored",
        options={"tenant_id": "contoso-tenant", "client_id": "app-1", "client_secret": "s3cret",
                 "token_url": entra.token_url}))
    request = ChatRequest(model="m", messages=[Message("user", [TextPart("hi")])])
    assert "authorization" not in a.build_chat(request, "m").headers  # nothing before prepare()
    await asyncio.gather(a.prepare(), a.prepare(), a.prepare())
    call = a.build_chat(request, "m")
    token = call.headers["authorization"].removeprefix("Bearer ")
    assert entra.valid(token) and "api-key" not in call.headers
    assert len(entra.requests) == 1
    await a.prepare()
    assert a.build_chat(request, "m").headers["authorization"] == f"Bearer {token}"
    assert len(entra.requests) == 1


async def test_api_key_adapter_prepare_is_a_no_op() -> None:
    a = AzureOpenAIAdapter(ProviderConfig(slug="azure", protocol="azure-openai",
                                          base_url="https://contoso.openai.azure.com", api_key="k"))
    await a.prepare()
    assert a.build_chat(ChatRequest(model="m", messages=[]), "m").headers["api-key"] == "k"
