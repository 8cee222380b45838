"""The Bedrock adapter: URLs, signing of the exact wire URL, credentials."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import aiohttp
import pytest
from yarl import URL

from switchyard.canonical import ChatRequest, EmbedRequest, Message, TextPart
from switchyard.config.model import ProviderConfig
from switchyard.errors import ErrorCategory, UpstreamError
from switchyard.protocols.bedrock import ADAPTERS, BedrockAdapter
from switchyard.protocols.bedrock.sigv4 import Credentials
from switchyard.providers.registry import adapter_classes
from tests.fakes.bedrock_fake import BedrockFake
from tests.protocols.bedrock.test_sigv4 import botocore_headers

NOW = datetime(2026, 11, 25, 8, 0, 0, tzinfo=timezone.utc)
OPTS = {"access_key_id": "AKIDEXAMPLE", "secret_access_key": "secret/key", "session_token": "tok",
        "region": "eu-west-1"}
REQ = ChatRequest("anthropic/claude", [Message("user", [TextPart("hi")])])


def adapter(base_url: str = "", **options) -> BedrockAdapter:
    a = BedrockAdapter(ProviderConfig("bedrock", "bedrock", base_url, options={**OPTS, **options}))
    a.clock = lambda: NOW
    return a


def test_registered():
    assert ADAPTERS == (BedrockAdapter,) and adapter_classes()["bedrock"] is BedrockAdapter


def test_converse_call_is_signed_for_the_regional_endpoint():
    call = adapter().build_chat(REQ, "amazon.nova-pro-v1:0")
    assert call.url == "https://bedrock-runtime.eu-west-1.amazonaws.com/model/amazon.nova-pro-v1:0/converse"
    assert call.method == "POST"
    h = call.headers
    assert h["host"] == "bedrock-runtime.eu-west-1.amazonaws.com" and h["x-amz-date"] == "20261125T080000Z"
    assert h["x-amz-security-token"] == "tok" and h["accept"] == "application/json"
    assert h["authorization"].startswith("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261125/eu-west-1/bedrock/")
    assert json.loads(call.body)["messages"][0]["content"] == [{"text": "hi"}]
    # botocore signs the same request to the same Authorization.
    signed = {k: v for k, v in h.items() if k not in ("authorization", "x-amz-date", "x-amz-security-token")}
    theirs = botocore_headers(call.url, signed, call.body, Credentials("AKIDEXAMPLE", "secret/key", "tok"),
                              "eu-west-1", NOW)
    assert theirs["authorization"] == h["authorization"]


def test_stream_and_embed_urls_and_wire_form():
    a = adapter("http://127.0.0.1:9999/", region="us-east-1")
    call = a.build_chat(ChatRequest("x", REQ.messages, stream=True),
                        "arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.anthropic.claude")
    assert call.url.endswith("inference-profile%2Fus.anthropic.claude/converse-stream")
    assert call.headers["accept"] == "application/vnd.amazon.eventstream"
    assert call.headers["host"] == "127.0.0.1:9999"
    # The URL is already in the form aiohttp sends: re-parsing does not change it.
    assert str(URL(call.url)) == call.url
    embed = a.build_embed(EmbedRequest("t", ["x"]), "amazon.titan-embed-text-v2:0")
    assert embed.url == "http://127.0.0.1:9999/model/amazon.titan-embed-text-v2:0/invoke"


def test_default_region_and_no_session_token():
    options = {"access_key_id": "A", "secret_access_key": "s"}
    a = BedrockAdapter(ProviderConfig("bedrock", "bedrock", "", options=options))
    call = a.build_chat(REQ, "m")
    assert call.url.startswith("https://bedrock-runtime.us-east-1.amazonaws.com/")
    assert "x-amz-security-token" not in call.headers and "/us-east-1/bedrock/" in call.headers["authorization"]


def test_bedrock_api_key_is_a_bearer_token():
    a = BedrockAdapter(ProviderConfig("bedrock", "bedrock", "", api_key="ABSK-key", options={}))
    assert a.build_chat(REQ, "m").headers["authorization"] == "Bearer ABSK-key"


def test_no_credentials_fails_the_attempt():
    a = BedrockAdapter(ProviderConfig("bedrock", "bedrock", "", options={}))
    with pytest.raises(UpstreamError) as exc:
        a.build_chat(REQ, "m")
    assert exc.value.category is ErrorCategory.AUTHENTICATION


def test_provider_headers_are_sent_and_signed():
    a = BedrockAdapter(ProviderConfig("bedrock", "bedrock", "", headers={"X-Amzn-Bedrock-Trace": "ENABLED"},
                                      options=OPTS))
    h = a.build_chat(REQ, "m").headers
    assert h["x-amzn-bedrock-trace"] == "ENABLED" and "x-amzn-bedrock-trace" in h["authorization"]


async def send(call, body: bytes | None = None):
    async with aiohttp.ClientSession() as session:
        async with session.post(call.url, data=body if body is not None else call.body, headers=call.headers) as r:
            return r.status, dict(r.headers), await r.read()


async def test_calls_pass_the_fakes_signature_check_and_tampering_does_not():
    async with BedrockFake("AKIDEXAMPLE", "secret/key", "tok", region="eu-west-1") as fake:
        a = adapter(fake.url)
        a.clock = None
        call = a.build_chat(REQ, "amazon.nova-pro-v1:0")
        status, _, body = await send(call)
        assert status == 200 and json.loads(body)["output"]["message"]["content"] == [{"text": "echo: hi"}]
        status, headers, body = await send(call, call.body.replace(b"hi", b"ho"))
        assert status == 403 and headers["x-amzn-ErrorType"].startswith("InvalidSignatureException:")
        err = a.parse_error(status, headers, body)
        assert err.category is ErrorCategory.AUTHENTICATION and "tok" not in err.message
        assert b"x-amz-security-token:tok" in body  # what AWS sends back, and what we keep out of messages
        a.clock = lambda: datetime.now(timezone.utc) - timedelta(minutes=10)
        status, headers, body = await send(a.build_chat(REQ, "m"))
        err = a.parse_error(status, headers, body)
        assert status == 403 and err.category is ErrorCategory.AUTHENTICATION and "Signature expired" in err.message
    assert fake.signature_failures == 2
