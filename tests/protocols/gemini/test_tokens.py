"""Vertex access tokens: exchange at the (fake) token endpoint, caching, early refresh, single flight."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import pytest

from switchyard.errors import ErrorCategory, UpstreamError
from switchyard.protocols.gemini.credentials import AuthorizedUser, ServiceAccount
from switchyard.protocols.gemini.tokens import OAuthTokenSource, TokenSource
from tests.fakes.vertex_fake import VertexFake, service_account


class Clock:
    """Starts at the real time (the token endpoint checks the JWT's times) and moves when told."""

    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


@pytest.fixture
async def fake() -> AsyncIterator[VertexFake]:
    async with VertexFake() as f:
        f.credentials = service_account(f.token_url)
        yield f


def source(fake: VertexFake, clock: Clock | None = None) -> OAuthTokenSource:
    fake.clock = clock = clock or Clock()
    return OAuthTokenSource("vertex", ServiceAccount(fake.credentials or {}), clock=clock)


async def test_fetches_once_and_caches(fake: VertexFake) -> None:
    tokens = source(fake)
    assert tokens.current is None
    first = await tokens.fresh()
    assert first.startswith("ya29.fake-1-") and tokens.current == first
    assert await tokens.fresh() == first
    assert (fake.tokens_issued, tokens.fetches) == (1, 1)
    header, claims = fake.assertions[0]  # the fake verified the signature with the public key
    assert header["kid"] == "0123456789abcdef" and claims["aud"] == "https://oauth2.googleapis.com/token"
    sent = fake.requests[0]
    assert sent.path == "/token" and sent.headers["content-type"] == "application/x-www-form-urlencoded"


async def test_concurrent_requests_share_one_refresh(fake: VertexFake) -> None:
    tokens = source(fake)
    fake.delay_s = 0.05  # the token endpoint is slow; everyone waits for the same answer
    got = await asyncio.gather(*(tokens.fresh() for _ in range(25)))
    assert len(set(got)) == 1 and fake.tokens_issued == 1


async def test_refreshes_early_in_the_background_then_waits_when_expired(fake: VertexFake) -> None:
    clock = Clock()
    tokens = source(fake, clock)
    old = await tokens.fresh()
    clock.now += 3600 - 301  # not yet due
    assert await tokens.fresh() == old and fake.tokens_issued == 1
    clock.now += 2  # 299 s before expiry: due, the old token is still served meanwhile
    assert await tokens.fresh() == old
    await fake.wait_for(lambda: tokens.current not in (None, old))  # the background refresh landed
    new = tokens.current
    assert fake.tokens_issued == 2
    clock.now += 3600  # long past expiry: callers wait for a new one
    assert tokens.current is None
    newest = await tokens.fresh()
    assert newest not in (old, new) and fake.tokens_issued == 3


async def test_short_lived_tokens_refresh_at_half_life(fake: VertexFake) -> None:
    fake.token_ttl = 60
    clock = Clock()
    tokens = source(fake, clock)
    first = await tokens.fresh()
    clock.now += 29
    assert await tokens.fresh() == first and fake.tokens_issued == 1
    clock.now += 2  # past half of 60 s: refresh in the background
    assert await tokens.fresh() == first
    await fake.wait_for(lambda: tokens.current not in (None, first))
    second = tokens.current
    clock.now += 15  # 46 s after the first, 15 s into the second: the second is still good
    assert tokens.current == second and fake.tokens_issued == 2
    clock.now += 31  # 46 s into the second: in its last quarter it is no longer handed out
    assert tokens.current is None


async def test_invalidate_forces_a_new_token(fake: VertexFake) -> None:
    tokens = source(fake)
    first = await tokens.fresh()
    tokens.invalidate()
    assert tokens.current is None
    assert await tokens.fresh() != first and fake.tokens_issued == 2


async def test_refused_grant_is_an_authentication_error_without_secrets(fake: VertexFake) -> None:
    intruder = {**service_account(fake.token_url), "client_email": "intruder@x.iam.gserviceaccount.com"}
    tokens = OAuthTokenSource("vertex", ServiceAccount(intruder))
    with pytest.raises(UpstreamError) as exc:
        await tokens.fresh()
    assert exc.value.category is ErrorCategory.AUTHENTICATION
    assert exc.value.message == "vertex: could not get an access token (invalid_grant: Invalid issuer.)"
    assert "eyJ" not in exc.value.message  # never the assertion
    assert fake.tokens_issued == 0


async def test_token_endpoint_failures(fake: VertexFake) -> None:
    tokens = source(fake)
    fake.token_fail_status = 503
    with pytest.raises(UpstreamError) as exc:
        await tokens.fresh()
    assert exc.value.category is ErrorCategory.SERVER_ERROR
    fake.token_fail_status = None
    assert await tokens.fresh()  # the next request tries again


async def test_unreachable_token_endpoint_is_a_connect_error() -> None:
    sa = ServiceAccount(service_account("http://127.0.0.1:9/token"))
    with pytest.raises(UpstreamError) as exc:
        await OAuthTokenSource("vertex", sa).fresh()
    assert exc.value.category is ErrorCategory.CONNECT
    assert exc.value.message.startswith("vertex (token endpoint): ")


async def test_token_url_override(fake: VertexFake) -> None:
    sa = ServiceAccount(service_account("https://oauth2.googleapis.com/token"))
    tokens = OAuthTokenSource("vertex", sa, token_url=fake.token_url)  # posted here, whatever the key says
    assert await tokens.fresh()
    assert fake.requests[0].path == "/token"


async def test_authorized_user_refresh_grant(fake: VertexFake) -> None:
    fake.refresh_token = "1//refresh"
    creds = AuthorizedUser({"client_id": "c", "client_secret": "s", "refresh_token": "1//refresh",
                            "token_uri": fake.token_url})
    assert (await OAuthTokenSource("vertex", creds).fresh()).startswith("ya29.")


async def test_a_failed_background_refresh_keeps_the_old_token_and_retries_later(fake: VertexFake) -> None:
    clock = Clock()
    tokens = source(fake, clock)
    old = await tokens.fresh()
    fake.token_fail_status = 500
    clock.now += 3400  # due
    assert await tokens.fresh() == old
    await fake.wait_for(lambda: len(fake.requests) == 2)
    await asyncio.sleep(0.01)
    assert await tokens.fresh() == old and len(fake.requests) == 2  # not retried at once
    clock.now += 6
    fake.token_fail_status = None
    assert await tokens.fresh() == old
    await fake.wait_for(lambda: tokens.current not in (None, old))


async def test_static_token() -> None:
    tokens = TokenSource("ya29.static")
    assert tokens.current == "ya29.static" and await tokens.fresh() == "ya29.static"
    tokens.invalidate()  # cannot be renewed: kept
    assert tokens.current == "ya29.static"
    with pytest.raises(UpstreamError):
        await TokenSource().fresh()
    assert "ya29" not in repr(tokens)


async def test_a_key_the_endpoint_does_not_know_is_refused(fake: VertexFake) -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    other = rsa.generate_private_key(public_exponent=65537, key_size=2048).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()).decode()
    tokens = OAuthTokenSource("vertex", ServiceAccount({**(fake.credentials or {}), "private_key": other}))
    with pytest.raises(UpstreamError) as exc:
        await tokens.fresh()
    assert exc.value.message == "vertex: could not get an access token (invalid_grant: Invalid JWT Signature.)"
