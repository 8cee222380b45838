"""OIDC bearer tokens against a local issuer whose keys are generated at test time."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from switchyard.accounts.config import AccountsConfig, OIDCIssuerConfig, ProjectConfig
from switchyard.accounts.jwk import load_jwk
from switchyard.accounts.oidc import OIDCVerifier, _check_url
from switchyard.accounts.principal import Limits
from switchyard.errors import GatewayError
from tests.accounts.jwt_helpers import Issuer, SigningKey, hs256, unsigned


@pytest.fixture
async def issuer() -> AsyncIterator[Issuer]:
    async with Issuer() as iss:
        iss.keys = [SigningKey("RS256", "rsa-1"), SigningKey("ES256", "ec-1")]
        yield iss


def verifier(iss: Issuer, **over: Any) -> OIDCVerifier:
    settings: dict[str, Any] = {"issuer": iss.url, "audience": "switchyard", "jwks_uri": f"{iss.url}/jwks",
                                "jwks_refresh_min_interval": 0.0}
    settings.update(over)
    return OIDCVerifier([OIDCIssuerConfig(**settings)])


async def rejected(v: OIDCVerifier, token: str, status: int = 401) -> str:
    with pytest.raises(GatewayError) as e:
        await v.verify(token)
    assert e.value.status == status, e.value.message
    return e.value.message


async def test_valid_rs256_and_es256(issuer: Issuer) -> None:
    v = verifier(issuer)
    for key in issuer.keys:
        p = await v.verify(key.sign(issuer.claims()))
        assert p.key_id is None and p.name == "user-1" and not p.is_admin
    assert issuer.jwks_fetches == 1  # cached
    p = await v.verify(issuer.keys[0].sign(issuer.claims(aud=["other", "switchyard"])))
    assert p.name == "user-1"
    await v.close()


async def test_signature_and_algorithm_attacks(issuer: Issuer) -> None:
    v = verifier(issuer)
    rsa_key, ec_key = issuer.keys
    claims = issuer.claims()
    good = rsa_key.sign(claims)
    impostor = SigningKey("RS256", "rsa-1")  # same kid, different key
    assert "signature" in await rejected(v, impostor.sign(claims))
    h, p, s = good.split(".")
    tampered = rsa_key.sign(issuer.claims(sub="admin")).split(".")[1]
    assert "signature" in await rejected(v, f"{h}.{tampered}.{s}")
    for alg in ("none", "None", "NONE"):
        assert "algorithm" in await rejected(v, unsigned(claims, {"alg": alg, "kid": "rsa-1"}))
    # alg confusion: HS256 "signed" with the RSA public key (PEM and JWK n) as the HMAC secret
    for secret in (rsa_key.public_pem(), rsa_key.jwk()["n"].encode()):
        assert "algorithm" in await rejected(v, hs256(claims, secret, "rsa-1"))
    # ES256 header over an RSA key, RS256 header over the EC key: the key type must fit the alg
    ec_sig = ec_key.sign(claims).split(".")
    confused = SigningKey("ES256", "rsa-1").sign(claims)
    await rejected(v, confused)
    await rejected(v, f"{rsa_key.sign(claims, {'kid': 'ec-1'}).rsplit('.', 1)[0]}.{ec_sig[2]}")
    assert "signature" in await rejected(v, f"{ec_sig[0]}.{ec_sig[1]}.{ec_sig[2][:-4]}")  # not 64 bytes
    assert "critical" in await rejected(v, rsa_key.sign(claims, {"crit": ["exp"]}))
    for junk in ("a.b", "a.b.c", "eyJ.eyJ.", "." * 2, "x" * 20000):
        await rejected(v, junk)
    only_rs = verifier(issuer, algorithms=["RS256"])
    assert "algorithm" in await rejected(only_rs, ec_key.sign(claims))
    await v.close()
    await only_rs.close()


async def test_time_audience_and_issuer_claims(issuer: Issuer) -> None:
    v = verifier(issuer, leeway=5)
    key = issuer.keys[0]
    c = issuer.claims()
    assert "expired" in await rejected(v, key.sign({**c, "exp": c["iat"] - 10}))
    await v.verify(key.sign({**c, "exp": c["iat"] - 2}))  # within the leeway
    assert "not valid yet" in await rejected(v, key.sign({**c, "nbf": c["iat"] + 60}))
    assert "future" in await rejected(v, key.sign({**c, "iat": c["iat"] + 60}))
    assert "exp" in await rejected(v, key.sign({k: x for k, x in c.items() if k != "exp"}))
    assert "number" in await rejected(v, key.sign({**c, "exp": "tomorrow"}))
    assert "audience" in await rejected(v, key.sign({**c, "aud": "someone-else"}))
    assert "audience" in await rejected(v, key.sign({k: x for k, x in c.items() if k != "aud"}))
    assert "issuer" in await rejected(v, key.sign({**c, "iss": "https://evil.example.com"}))
    assert "issuer" in await rejected(v, key.sign({**c, "iss": issuer.url + "/"}))
    await v.close()


async def test_unknown_kid_refreshes_then_succeeds_and_rotation(issuer: Issuer) -> None:
    v = verifier(issuer)
    old = issuer.keys[0]
    await v.verify(old.sign(issuer.claims()))
    assert issuer.jwks_fetches == 1
    new = SigningKey("RS256", "rsa-2")
    issuer.keys = [new]  # rotation: the old key is withdrawn, a new one published
    await v.verify(new.sign(issuer.claims()))  # unknown kid -> one refresh -> success
    assert issuer.jwks_fetches == 2
    assert "unknown" in await rejected(v, old.sign(issuer.claims()))  # withdrawn key: refused
    await v.close()


async def test_refresh_on_unknown_kid_is_rate_limited(issuer: Issuer) -> None:
    v = verifier(issuer, jwks_refresh_min_interval=60)
    await v.verify(issuer.keys[0].sign(issuer.claims()))
    for i in range(10):
        await rejected(v, SigningKey("ES256", f"made-up-{i}").sign(issuer.claims()))
    assert issuer.jwks_fetches == 1  # a flood of made-up kids does not hammer the IdP
    await v.close()


async def test_discovery(issuer: Issuer) -> None:
    v = verifier(issuer, jwks_uri=None)
    assert (await v.verify(issuer.keys[1].sign(issuer.claims()))).name == "user-1"
    await v.close()
    issuer.discovery_issuer = "https://impostor.example.com"
    v = verifier(issuer, jwks_uri=None)
    await rejected(v, issuer.keys[1].sign(issuer.claims()), status=503)
    await v.close()


async def test_claims_to_project_and_admin(issuer: Issuer) -> None:
    projects = {"org-1": (Limits(rpm=7), frozenset({"openai/gpt-4o"}))}
    v = OIDCVerifier([OIDCIssuerConfig(issuer=issuer.url, audience=["switchyard"], jwks_uri=f"{issuer.url}/jwks",
                                       project_claim="org_id", admin_claim="roles", admin_value="sy-admin")],
                     projects=projects.get)
    key = issuer.keys[0]
    p = await v.verify(key.sign(issuer.claims(org_id="org-1", roles=["user"])))
    assert p.project == "org-1" and p.project_limits == Limits(rpm=7) and not p.is_admin
    assert p.allowed_models == frozenset({"openai/gpt-4o"})
    p = await v.verify(key.sign(issuer.claims(org_id="org-2", roles=["sy-admin"])))
    assert p.project == "org-2" and p.is_admin and p.project_limits == Limits()
    await rejected(v, key.sign(issuer.claims()), status=403)  # no project claim, no default
    await v.close()


async def test_through_the_authenticator(issuer: Issuer, sqlite_accounts: Any) -> None:
    acc = sqlite_accounts(oidc=[OIDCIssuerConfig(issuer=issuer.url, audience="switchyard",
                                                 project_claim="org", admin_claim="admin")],
                          projects={"acme": ProjectConfig(limits=Limits(tpm=11))})
    assert acc.authenticator.required
    token = issuer.keys[0].sign(issuer.claims(org="acme", admin=True))
    for headers in ({"authorization": f"Bearer {token}"}, {"x-api-key": token}):
        p = await acc.authenticator.authenticate(headers)
        assert p.project == "acme" and p.project_limits == Limits(tpm=11) and p.is_admin
    actor = await acc.actor_for(p)
    assert actor.is_admin and actor.id == "oidc:user-1"
    with pytest.raises(GatewayError) as e:
        await acc.authenticator.authenticate({"authorization": f"Bearer {token[:-3]}xyz"})
    assert e.value.status == 401


def test_config_pins_algorithms_and_urls() -> None:
    for algs in (["none"], ["HS256"], ["RS256", "HS256"], []):
        with pytest.raises(ValueError):
            AccountsConfig(oidc=[OIDCIssuerConfig(issuer="https://x", audience="a", algorithms=algs)])
    assert _check_url("https://idp.example.com/jwks")
    assert _check_url("http://127.0.0.1:8080/jwks") and _check_url("http://localhost/jwks")
    for bad in ("http://idp.example.com/jwks", "http://169.254.169.254/", "file:///etc/passwd"):
        with pytest.raises(ValueError):
            _check_url(bad)


def test_weak_or_symmetric_keys_are_never_loaded() -> None:
    assert load_jwk({"kty": "oct", "k": "c2VjcmV0", "kid": "h"}) is None
    assert load_jwk({"kty": "RSA", "n": "AQAB", "e": "AQAB"}) is None  # far below 2048 bits
    assert load_jwk({**SigningKey("ES256", "e").jwk(), "use": "enc"}) is None
    assert load_jwk({"kty": "EC", "crv": "P-384", "x": "AA", "y": "AA"}) is None
    assert load_jwk("not a dict") is None
