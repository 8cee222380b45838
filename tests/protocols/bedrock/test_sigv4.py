"""SigV4: our signer against botocore's SigV4Auth on the same inputs and the same clock."""

from __future__ import annotations

from datetime import datetime, timezone
from unittest import mock

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials as BotoCredentials

from switchyard.protocols.bedrock.sigv4 import (
    Credentials,
    SigV4Signer,
    canonical_uri,
    host_header,
)

NOW = datetime(2026, 11, 25, 13, 45, 7, tzinfo=timezone.utc)
BODY = b'{"messages":[{"role":"user","content":[{"text":"hi"}]}]}'


def botocore_headers(url: str, headers: dict[str, str], body: bytes, creds: Credentials, region: str,
                     when: datetime = NOW) -> dict[str, str]:
    request = AWSRequest(method="POST", url=url, headers=dict(headers), data=body)
    boto_creds = BotoCredentials(creds.access_key_id, creds.secret_access_key, creds.session_token)
    with mock.patch("botocore.auth.get_current_datetime", return_value=when.replace(tzinfo=None)):
        SigV4Auth(boto_creds, "bedrock", region).add_auth(request)
    return {k.lower(): v for k, v in request.headers.items()}


CASES = [
    ("https://bedrock-runtime.us-east-1.amazonaws.com/model/anthropic.claude-sonnet-5-5/converse", None, "us-east-1"),
    ("https://bedrock-runtime.eu-west-3.amazonaws.com/model/amazon.titan-embed-text-v2:0/invoke",
     "FwoGZXIvYXdzEXAMPLE//session+token=", "eu-west-3"),
    ("https://bedrock-runtime.us-west-2.amazonaws.com/model/amazon.titan-embed-text-v2%3A0/invoke", "tok", "us-west-2"),
    ("http://127.0.0.1:8123/model/arn:aws:bedrock:us-east-1:123456789012:inference-profile%2Fus.meta.llama4/"
     "converse-stream", "tok", "us-east-1"),
    ("https://bedrock-runtime.us-east-1.amazonaws.com:443/model/x.y%20z~a/converse?b=2&a=1", None, "us-east-1"),
]


@pytest.mark.parametrize("url,token,region", CASES)
@pytest.mark.parametrize("payload_header", [True, False])
def test_authorization_matches_botocore(url, token, region, payload_header):
    creds = Credentials("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", token)
    headers = {"Content-Type": "application/json", "accept": "application/vnd.amazon.eventstream",
               "X-Custom": "  spaced   value  ", "User-Agent": "not-signed"}
    ours = SigV4Signer(creds, region, sign_payload_header=payload_header).sign("POST", url, headers, BODY, NOW)
    expected_input = {**headers, "host": ours["host"]}
    if payload_header:
        expected_input["X-Amz-Content-SHA256"] = ours["x-amz-content-sha256"]
    theirs = botocore_headers(url, expected_input, BODY, creds, region)
    assert ours["authorization"] == theirs["authorization"]
    assert ours["x-amz-date"] == theirs["x-amz-date"] == "20261125T134507Z"
    assert ours.get("x-amz-security-token") == theirs.get("x-amz-security-token") == token
    assert "user-agent" not in ours["authorization"]


def test_botocore_host_derivation_matches_ours():
    # Without an explicit host header botocore derives it from the URL: ours must derive the same.
    creds = Credentials("AKIDEXAMPLE", "secret")
    for url, _, region in CASES:
        ours = SigV4Signer(creds, region, sign_payload_header=False).sign(
            "POST", url, {"content-type": "application/json"}, BODY, NOW)
        theirs = botocore_headers(url, {"content-type": "application/json"}, BODY, creds, region)
        assert ours["authorization"] == theirs["authorization"], url


def test_canonical_uri_double_encodes_like_aws():
    assert canonical_uri("/model/amazon.titan-embed-text-v2%3A0/invoke") == \
        "/model/amazon.titan-embed-text-v2%253A0/invoke"
    assert canonical_uri("/model/amazon.titan-embed-text-v2:0/invoke") == "/model/amazon.titan-embed-text-v2%3A0/invoke"
    assert canonical_uri("/a/./b/../c//d/") == "/a/c/d/"
    assert canonical_uri("") == "/"
    assert host_header("https://Bedrock-Runtime.us-east-1.amazonaws.com:443/x") == \
        "bedrock-runtime.us-east-1.amazonaws.com"
    assert host_header("http://127.0.0.1:8080/x") == "127.0.0.1:8080"
    assert host_header("http://[::1]:9000/x") == "[::1]:9000"


def test_signing_key_is_cached_per_date():
    signer = SigV4Signer(Credentials("AKID", "secret"), "us-east-1")
    k1 = signer.signing_key("20261125")
    assert signer.signing_key("20261125") is k1
    k2 = signer.signing_key("20261126")
    assert k2 != k1 and signer._key_date == "20261126"
    # A signature made the next day uses the new key and still matches botocore.
    later = datetime(2026, 11, 26, 0, 0, 1, tzinfo=timezone.utc)
    url = "https://bedrock-runtime.us-east-1.amazonaws.com/model/m/converse"
    ours = signer.sign("POST", url, {}, BODY, later)
    theirs = botocore_headers(url, {"host": ours["host"]}, BODY, signer.credentials, "us-east-1", later)
    assert ours["authorization"] == theirs["authorization"]


def test_credentials_repr_hides_the_secret():
    creds = Credentials("AKIDEXAMPLE", "topsecret", "tok")
    assert "topsecret" not in repr(creds) and "tok" not in str(creds)
