from __future__ import annotations

import msgspec
import pytest

from switchyard.canonical import ChatRequest, Message, TextDelta, TextPart
from switchyard.config.model import ProviderConfig
from switchyard.errors import ErrorCategory
from switchyard.protocols.anthropic import AnthropicAdapter
from switchyard.providers.base import ProviderAdapter


def provider(**kw: object) -> ProviderConfig:
    base: dict[str, object] = {"slug": "anthropic", "protocol": "anthropic-messages", "base_url": "https://api.anthropic.com",
            "api_key": "sk-ant-test"}
    base.update(kw)
    return ProviderConfig(**base)  # type: ignore[arg-type]


REQ = ChatRequest(model="anthropic/claude-haiku-4.5", messages=[Message("user", [TextPart("Hi")])])


def test_contract() -> None:
    a = AnthropicAdapter(provider())
    assert isinstance(a, ProviderAdapter)
    assert AnthropicAdapter.protocol == "anthropic-messages"


@pytest.mark.parametrize("base_url", [
    "https://api.anthropic.com", "https://api.anthropic.com/", "https://api.anthropic.com/v1",
    "https://api.anthropic.com/v1/",
])
def test_url_never_doubles_v1(base_url: str) -> None:
    call = AnthropicAdapter(provider(base_url=base_url)).build_chat(REQ, "claude-haiku-4-5")
    assert call.url == "https://api.anthropic.com/v1/messages"
    assert call.method == "POST"


def test_headers() -> None:
    a = AnthropicAdapter(provider(headers={"x-extra": "1"}, options={"anthropic_beta": ["a-1", "b-2"]}))
    call = a.build_chat(REQ, "claude-haiku-4-5")
    assert call.headers == {"x-api-key": "sk-ant-test", "anthropic-version": "2023-06-01",
                            "content-type": "application/json", "anthropic-beta": "a-1,b-2", "x-extra": "1"}
    stream_call = a.build_chat(ChatRequest(model="m", messages=REQ.messages, stream=True), "claude-haiku-4-5")
    assert stream_call.headers["accept"] == "text/event-stream"
    assert "accept" not in a.build_chat(REQ, "claude-haiku-4-5").headers  # per-call copy


def test_version_option_and_bearer_auth() -> None:
    a = AnthropicAdapter(provider(options={"anthropic_version": "2024-01-01", "auth": "bearer"}))
    headers = a.build_chat(REQ, "m").headers
    assert headers["anthropic-version"] == "2024-01-01"
    assert headers["authorization"] == "Bearer sk-ant-test" and "x-api-key" not in headers


def test_body_uses_model_id_and_max_output() -> None:
    a = AnthropicAdapter(provider())
    body = msgspec.json.decode(a.build_chat(REQ, "claude-haiku-4-5", max_output=8192).body)
    assert body["model"] == "claude-haiku-4-5" and body["max_tokens"] == 8192
    assert msgspec.json.decode(a.build_chat(REQ, "m").body)["max_tokens"] == 4096


def test_parse_and_stream_and_errors_are_wired() -> None:
    a = AnthropicAdapter(provider())
    result = a.parse_chat(b'{"id":"msg_1","model":"m","content":[{"type":"text","text":"ok"}],'
                          b'"stop_reason":"end_turn","usage":{"input_tokens":1,"output_tokens":1}}')
    assert result.text() == "ok"
    dec = a.stream_decoder()
    assert dec is not a.stream_decoder()  # one per attempt
    events = dec.feed(b'event: content_block_delta\ndata: {"type":"content_block_delta","index":0,'
                      b'"delta":{"type":"text_delta","text":"x"}}\n\n')
    assert events == [TextDelta("x")]
    err = a.parse_error(529, {"retry-after": "3"}, b'{"type":"error","error":{"type":"overloaded_error",'
                                                   b'"message":"Overloaded"}}')
    assert err.category is ErrorCategory.OVERLOADED and err.retry_after == 3.0


def test_repr_hides_key() -> None:
    assert "sk-ant-test" not in repr(AnthropicAdapter(provider()).provider)
