"""End to end: the real Claude Code CLI (``claude -p``) -> Switchyard's /v1/messages -> a fake
provider, once passed through to the Anthropic fake and once translated to the OpenAI fake.

Claude Code is installed from npm at a pinned version into ``tests/.node/claude-code/`` (ignored by
git through the ``.gitignore`` this test writes in ``tests/.node/``) on first use. The test is skipped, saying why, when
npm is missing, the npm registry cannot be reached or the install fails.

Claude Code asks for Anthropic's bare model ids (``claude-sonnet-4-5-20250929``): the catalog here
names its models ``anthropic/claude-sonnet-4-5`` and friends, and the front door resolves the bare
ids (see ``switchyard.protocols.anthropic.frontdoor``).
"""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path
from typing import Any

import pytest

from tests.gateway_harness import gateway, model
from tests.npm_cli import install_cli

CLAUDE_CODE_VERSION = "2.1.331"
RUN_TIMEOUT_S = 240
MAIN_MODEL = "claude-sonnet-4-5-20250929"
SMALL_MODEL = "claude-haiku-4-5-20251001"


@pytest.fixture(scope="module")
def claude_bin() -> Path:
    return install_cli("@anthropic-ai/claude-code", CLAUDE_CODE_VERSION, "claude", "Claude Code")


def _env(base_url: str, home: Path) -> dict[str, str]:
    """Only what Claude Code needs: nothing of the caller's own environment (no real keys)."""
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(home),
        "TERM": "dumb",
        "ANTHROPIC_BASE_URL": base_url,
        "ANTHROPIC_API_KEY": "test",
        "ANTHROPIC_DEFAULT_HAIKU_MODEL": SMALL_MODEL,
        "ANTHROPIC_SMALL_FAST_MODEL": SMALL_MODEL,
        "DISABLE_TELEMETRY": "1",
        "DISABLE_ERROR_REPORTING": "1",
        "DISABLE_AUTOUPDATER": "1",
        "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
        "CLAUDE_CODE_DISABLE_FEEDBACK_SURVEY": "1",
    }


async def _run_claude(claude: Path, base_url: str, home: Path) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        str(claude), "-p", "say hello", "--output-format", "json", "--model", MAIN_MODEL,
        env=_env(base_url, home), cwd=str(home), stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    try:
        out, err = await asyncio.wait_for(proc.communicate(), RUN_TIMEOUT_S)
    except asyncio.TimeoutError:
        proc.kill()
        await proc.wait()
        raise AssertionError(f"claude -p did not finish within {RUN_TIMEOUT_S}s") from None
    return proc.returncode or 0, out.decode("utf-8", "replace"), err.decode("utf-8", "replace")


@pytest.mark.parametrize("which", ["anthropic", "openai"])
async def test_claude_code_print_mode(which: str, claude_bin: Path, tmp_path: Path, openai_fake: Any,
                                      anthropic_fake: Any) -> None:
    fake = anthropic_fake if which == "anthropic" else openai_fake
    provider_ids = {"anthropic": (MAIN_MODEL, SMALL_MODEL), "openai": ("gpt-main", "gpt-small")}[which]
    providers = {
        "anthropic": {"protocol": "anthropic-messages", "base_url": anthropic_fake.base_url, "api_key": "sk-ant-secret"},
        "openai": {"protocol": "openai-chat", "base_url": openai_fake.base_url, "api_key": "sk-openai-secret"},
    }
    big = dict(context_window=1_000_000, max_output=128_000, capabilities=("tools", "vision", "json", "reasoning"))
    models = {"anthropic/claude-sonnet-4-5": model({which: provider_ids[0]}, **big),
              "anthropic/claude-haiku-4-5": model({which: provider_ids[1]}, **big)}
    async with gateway(providers, models) as gw:
        code, out, err = await _run_claude(claude_bin, gw.url, tmp_path)
        records = list(gw.app.records._records.values())
    asked = sorted({r.requested_model for r in records})
    failed = [(r.requested_model, r.status, r.error) for r in records if r.status != 200]
    assert code == 0 and not failed, f"claude exited {code}; gateway saw {asked}; failures {failed}\n{out[-2000:]}\n{err[-2000:]}"
    answer = json.loads(out)
    assert answer["is_error"] is False and answer["subtype"] == "success"
    assert answer["result"].startswith("echo: ") and "say hello" in answer["result"]  # the fake's answer
    path = "/v1/messages" if which == "anthropic" else "/chat/completions"
    sent = fake.api_requests(path)
    assert sent and all(r.json["model"] in provider_ids for r in sent)
    assert all("test" not in (r.headers.get("x-api-key", ""), r.headers.get("authorization", "")) for r in fake.requests)
    if which == "anthropic":
        main = [r for r in sent if r.json["model"] == MAIN_MODEL][-1]
        assert main.headers["x-api-key"] == "sk-ant-secret"
        assert "claude-code-20250219" in main.headers.get("anthropic-beta", "")  # the caller's betas, forwarded
        assert main.json["stream"] is True and main.json["tools"]
    else:
        assert sent[-1].headers["authorization"] == "Bearer sk-openai-secret"
        assert sent[-1].json["stream"] is True and sent[-1].json["tools"]
    assert all(r.status == 200 and r.model in models for r in records)
