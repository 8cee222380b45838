"""Whatever a caller sends, the OpenAI front door answers with a RequestError or a valid request:
never another exception (which would be a 500, or worse)."""

from __future__ import annotations

import msgspec
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from switchyard.errors import RequestError
from switchyard.protocols.openai_chat.request_in import parse_request

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-10**12, 10**12) | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=20)

part = st.one_of(json_values, st.fixed_dictionaries({"type": st.sampled_from(["text", "image_url", "input_audio", "x"]),
                                                       "text": json_values, "image_url": json_values}))
message = st.one_of(json_values, st.fixed_dictionaries({
    "role": st.sampled_from(["system", "developer", "user", "assistant", "tool", "function", "wizard"]),
    "content": st.one_of(json_values, st.lists(part, max_size=3)),
    "tool_calls": json_values, "tool_call_id": json_values, "name": json_values}))
body = st.fixed_dictionaries({
    "model": st.one_of(st.just("acme/chat"), json_values),
    "messages": st.one_of(st.lists(message, min_size=0, max_size=4), json_values),
}, optional={k: json_values for k in (
    "stream", "stream_options", "max_tokens", "max_completion_tokens", "temperature", "top_p", "stop", "seed",
    "user", "n", "tools", "tool_choice", "parallel_tool_calls", "response_format", "models", "providerOptions",
    "provider", "reasoning_effort")})


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(body)
def test_parse_and_translate_never_crash(data):
    raw = msgspec.json.encode(data)
    try:
        inbound = parse_request(raw)
        inbound.canonical()
    except RequestError as err:
        assert 400 <= err.status < 500 and err.message


@settings(max_examples=100, deadline=None)
@given(st.binary(max_size=200))
def test_arbitrary_bytes_never_crash(raw):
    try:
        parse_request(raw)
    except RequestError:
        pass
