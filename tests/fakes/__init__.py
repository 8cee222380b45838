"""In-process fake LLM provider servers speaking the providers' wire formats.

    async with OpenAIFake(api_key="sk-test") as fake:      # fake.base_url -> http://127.0.0.1:PORT/v1
        ...
    fake, stop = fake_in_thread(AnthropicFake, api_key="sk-ant-test")  # for sync code

See base.SWITCH_DEFAULTS for the per-request switches and FakeProvider for
the controls (push, fail, for_next, reset, wait_for/wait_until) and the
recorded state (requests, active_connections, active_requests, cancelled).
"""

from .anthropic_fake import AnthropicFake
from .base import SWITCH_DEFAULTS, FailRule, FakeProvider, RecordedRequest
from .openai_fake import OpenAIFake, embedding_vector
from .replies import Reply, ToolCall, count_prompt, count_words, split_words
from .threaded import fake_in_thread, running_in_thread

__all__ = [
    "AnthropicFake", "OpenAIFake", "FakeProvider", "RecordedRequest", "FailRule", "Reply", "ToolCall",
    "SWITCH_DEFAULTS", "count_words", "count_prompt", "split_words", "embedding_vector",
    "fake_in_thread", "running_in_thread",
]
