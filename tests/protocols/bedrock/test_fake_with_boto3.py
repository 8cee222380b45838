"""The Bedrock fake checked with the real AWS SDK: boto3 signs, sends, and parses what the fake
answers (JSON, event streams with CRCs, AWS error shapes). If boto3 is happy, the fake speaks
Bedrock's wire format and verifies SigV4 as AWS does."""

from __future__ import annotations

import json

import pytest

boto3 = pytest.importorskip("boto3")
from botocore.config import Config  # noqa: E402
from botocore.exceptions import ClientError, EventStreamError  # noqa: E402

from tests.fakes.bedrock_fake import BedrockFake  # noqa: E402
from tests.fakes.replies import ToolCall  # noqa: E402
from tests.fakes.threaded import running_in_thread  # noqa: E402

KEY, SECRET, TOKEN = "AKIDBOTOTEST", "boto/secret+key", "session-token-123"


@pytest.fixture(scope="module")
def fake():
    with running_in_thread(BedrockFake, KEY, SECRET, TOKEN, region="eu-central-1") as f:
        yield f


@pytest.fixture
def client(fake):
    fake.reset()
    return make_client(fake)


def make_client(fake, secret=SECRET, token=TOKEN, region="eu-central-1"):
    return boto3.client("bedrock-runtime", endpoint_url=fake.url, region_name=region, aws_access_key_id=KEY,
                        aws_secret_access_key=secret, aws_session_token=token,
                        config=Config(retries={"total_max_attempts": 1, "mode": "standard"}))


def test_converse(client, fake):
    r = client.converse(modelId="amazon.nova-pro-v1:0", system=[{"text": "be brief"}],
                        messages=[{"role": "user", "content": [{"text": "hello boto"}]}],
                        inferenceConfig={"maxTokens": 50})
    assert r["output"]["message"]["content"] == [{"text": "echo: hello boto"}]
    assert r["stopReason"] == "end_turn"
    assert r["usage"] == {"inputTokens": 6, "outputTokens": 3, "totalTokens": 9}
    # boto3 percent-encodes the ':' of the model id; the fake decodes it.
    assert fake.last_request.path.endswith("/model/amazon.nova-pro-v1:0/converse")
    assert fake.signature_failures == 0


def test_converse_stream_with_tool_call(client, fake):
    fake.push(tool_calls=[ToolCall("get_weather", {"city": "Paris"}, id="tooluse_abc")])
    r = client.converse_stream(
        modelId="anthropic.claude-sonnet-5-5", messages=[{"role": "user", "content": [{"text": "weather?"}]}],
        toolConfig={"tools": [{"toolSpec": {"name": "get_weather", "inputSchema": {"json": {"type": "object"}}}}]})
    events = list(r["stream"])
    kinds = [next(iter(e)) for e in events]
    assert kinds[0] == "messageStart" and kinds[-2:] == ["messageStop", "metadata"]
    start = next(e["contentBlockStart"] for e in events if "contentBlockStart" in e)
    assert start["start"]["toolUse"] == {"toolUseId": "tooluse_abc", "name": "get_weather"}
    args = "".join(e["contentBlockDelta"]["delta"]["toolUse"]["input"] for e in events
                   if "contentBlockDelta" in e and "toolUse" in e["contentBlockDelta"]["delta"])
    assert json.loads(args) == {"city": "Paris"}
    assert events[-2]["messageStop"]["stopReason"] == "tool_use"
    assert events[-1]["metadata"]["usage"]["inputTokens"] == 2


def test_stream_exception_is_raised_by_boto3(client, fake):
    fake.for_next(1, stream_error_after=2, stream_exception="throttlingException")
    r = client.converse_stream(modelId="m.x", messages=[{"role": "user", "content": [{"text": "a b c"}]}])
    with pytest.raises(EventStreamError) as exc:
        list(r["stream"])
    assert exc.value.response["Error"]["Code"] == "throttlingException"


def test_invoke_model_embeddings(client):
    titan = client.invoke_model(modelId="amazon.titan-embed-text-v2:0",
                                body=json.dumps({"inputText": "hi there", "dimensions": 256}))
    out = json.loads(titan["body"].read())
    assert len(out["embedding"]) == 256 and out["inputTextTokenCount"] == 2
    assert titan["ResponseMetadata"]["HTTPHeaders"]["x-amzn-bedrock-input-token-count"] == "2"
    cohere = client.invoke_model(modelId="cohere.embed-english-v3", body=json.dumps(
        {"texts": ["a", "b c"], "input_type": "search_document", "embedding_types": ["float"]}))
    out = json.loads(cohere["body"].read())
    assert [len(v) for v in out["embeddings"]["float"]] == [1024, 1024]


@pytest.mark.parametrize("status,code", [(429, "ThrottlingException"), (503, "ServiceUnavailableException"),
                                         (424, "ModelErrorException"), (400, "ValidationException")])
def test_failures_parse_as_aws_errors(client, fake, status, code):
    fake.fail(status, times=1)
    with pytest.raises(ClientError) as exc:
        client.converse(modelId="m.x", messages=[{"role": "user", "content": [{"text": "x"}]}])
    assert exc.value.response["Error"]["Code"] == code
    assert exc.value.response["ResponseMetadata"]["HTTPStatusCode"] == status


def test_validation_like_aws(client, fake):
    fake.for_next(1, context_window=2)
    with pytest.raises(ClientError) as exc:
        client.converse(modelId="m.x", messages=[{"role": "user", "content": [{"text": "far too many words"}]}])
    assert exc.value.response["Error"] == {"Code": "ValidationException",
                                           "Message": "Input is too long for requested model."}
    with pytest.raises(ClientError) as exc:
        client.converse(modelId="m.x", messages=[{"role": "user", "content": [{"text": "a"}]},
                                                 {"role": "user", "content": [{"text": "b"}]}])
    assert "alternate" in exc.value.response["Error"]["Message"]


@pytest.mark.parametrize("kwargs,code", [
    ({"secret": "wrong"}, "InvalidSignatureException"),
    ({"token": "stale"}, "UnrecognizedClientException"),
    ({"region": "us-west-2"}, "InvalidSignatureException"),
])
def test_bad_signatures_are_refused(fake, kwargs, code):
    fake.reset()
    with pytest.raises(ClientError) as exc:
        make_client(fake, **kwargs).converse(modelId="m.x", messages=[{"role": "user", "content": [{"text": "x"}]}])
    assert exc.value.response["Error"]["Code"] == code
    assert exc.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    if kwargs.get("secret"):
        assert "The Canonical String for this request should have been" in exc.value.response["Error"]["Message"]
