from __future__ import annotations

import pytest

from tests.fakes import AnthropicFake, OpenAIFake


@pytest.fixture
async def openai_fake():
    async with OpenAIFake(api_key="sk-openai-secret") as fake:
        yield fake


@pytest.fixture
async def openai_fake2():
    async with OpenAIFake(api_key="sk-openai2-secret") as fake:
        yield fake


@pytest.fixture
async def anthropic_fake():
    async with AnthropicFake(api_key="sk-ant-secret") as fake:
        yield fake
