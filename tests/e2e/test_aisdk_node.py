"""End to end: the real Vercel AI SDK (ai 5, 6 and 7 with their ``@ai-sdk/gateway``) -> Switchyard's AI SDK
gateway protocol -> fake OpenAI and Anthropic servers.

Runs ``node --test`` in tests/node (see suite.mjs) against a gateway served from this test's event loop,
so node runs as an asyncio subprocess: a blocking wait would stop the gateway from answering.
``npm ci`` runs only when tests/node/node_modules does not match package-lock.json. Skipped, with the
reason, when node or npm is missing or the packages cannot be installed.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import re
import shutil
from pathlib import Path

import pytest

from switchyard.canonical import Usage
from switchyard.telemetry.generation_json import generation_json
from switchyard.telemetry.record import Attempt, GenerationRecord
from tests.fakes import AnthropicFake, OpenAIFake
from tests.fakes.anthropic_fake import thinking_signature
from tests.gateway_harness import gateway, model

NODE_DIR = Path(__file__).resolve().parents[1] / "node"
STAMP = NODE_DIR / "node_modules" / ".switchyard-lock-sha256"
EMBED = {"name": "Embed", "type": "embedding", "context_window": 8192, "pricing": {"input": 0.02},
         "providers": {"openai": {"id": "text-embedding-3-small"}}}


async def _run(*cmd: str, env: dict[str, str] | None = None, timeout: float = 600) -> tuple[int, str]:
    proc = await asyncio.create_subprocess_exec(*cmd, cwd=NODE_DIR, env=env, stdout=asyncio.subprocess.PIPE,
                                                stderr=asyncio.subprocess.STDOUT)
    try:
        out, _ = await asyncio.wait_for(proc.communicate(), timeout)
    except asyncio.TimeoutError:
        proc.kill()
        await proc.wait()
        return -1, f"{' '.join(cmd)} timed out after {timeout}s"
    return proc.returncode or 0, out.decode(errors="replace")


async def _ensure_packages() -> None:
    """``npm ci`` unless node_modules was installed from this very package-lock.json."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        pytest.skip("node and npm are needed for the AI SDK end-to-end suite")
    code, version = await _run(node, "--version")
    m = re.match(r"v(\d+)", version.strip())
    if code or m is None or int(m.group(1)) < 20:
        pytest.skip(f"node >= 20 is needed for the AI SDK end-to-end suite (found {version.strip()!r})")
    lock = hashlib.sha256((NODE_DIR / "package-lock.json").read_bytes()).hexdigest()
    if STAMP.exists() and STAMP.read_text().strip() == lock:
        return
    code, out = await _run(npm, "ci", "--no-audit", "--no-fund", "--loglevel=error")
    if code:
        pytest.skip(f"npm ci failed in {NODE_DIR} (exit {code}): {out[-2000:]}")
    STAMP.write_text(lock)


def _fixture_record() -> GenerationRecord:
    rec = GenerationRecord("acme/gpt", stream=True)
    rec.model, rec.provider, rec.provider_model_id = "acme/gpt", "openai", "gpt-x"
    rec.attempts.append(Attempt("openai", "acme/gpt", "gpt-x", 1.0, 2.0, success=True, status=200))
    rec.usage = Usage(input_tokens=12, output_tokens=5, cache_read_tokens=2, reasoning_tokens=1)
    rec.cost, rec.finish_reason, rec.status = 0.0000345, "stop", 200
    rec.first_token_at = rec.started + 0.05
    rec.ended = rec.started + 0.2
    return rec


def _summary(out: str) -> dict[str, int]:
    return {k: int(v) for k, v in re.findall(r"^# (tests|pass|fail|todo|skipped|cancelled) (\d+)$", out, re.M)}


async def test_ai_sdk_majors_against_the_gateway(tmp_path):
    await _ensure_packages()
    async with OpenAIFake(api_key="sk-openai-secret") as openai_fake, \
            AnthropicFake(api_key="sk-ant-secret") as anthropic_fake, \
            OpenAIFake(api_key="sk-broken") as broken, \
            OpenAIFake(api_key="sk-flaky", cut_after_chunks=3) as flaky:
        broken.fail(503)  # every request
        providers = {
            "openai": {"protocol": "openai-chat", "base_url": openai_fake.base_url, "api_key": "sk-openai-secret"},
            "anthropic": {"protocol": "anthropic-messages", "base_url": anthropic_fake.base_url,
                          "api_key": "sk-ant-secret"},
            "broken": {"protocol": "openai-chat", "base_url": broken.base_url, "api_key": "sk-broken"},
            "flaky": {"protocol": "openai-chat", "base_url": flaky.base_url, "api_key": "sk-flaky"},
        }
        models = {"acme/gpt": model({"openai": "gpt-x"}), "acme/claude": model({"anthropic": "claude-x"}),
                  "acme/broken": model({"broken": "broken-x"}), "acme/flaky": model({"flaky": "flaky-x"}),
                  "acme/embed": EMBED}
        fixture = tmp_path / "generation.json"
        fixture.write_bytes(generation_json(_fixture_record()))
        async with gateway(providers, models) as gw:
            env = {**os.environ, "GATEWAY_URL": gw.url, "AISDK_OPENAI_MODEL": "acme/gpt",
                   "AISDK_ANTHROPIC_MODEL": "acme/claude", "AISDK_EMBED_MODEL": "acme/embed",
                   "AISDK_FAILING_MODEL": "acme/broken", "AISDK_FLAKY_MODEL": "acme/flaky",
                   "AISDK_GENERATION_FIXTURE": str(fixture), "NODE_NO_WARNINGS": "1"}
            env.pop("NODE_OPTIONS", None)
            code, out = await _run(shutil.which("node") or "node", "--test", "--test-reporter=tap", env=env,
                                   timeout=300)
    counts = _summary(out)
    assert code == 0 and counts.get("fail") == 0, out[-6000:]
    assert counts.get("pass", 0) >= 45, counts  # 3 majors x 16 tests (getGenerationInfo may be a todo)
    # The Anthropic thinking block went back to Anthropic with its signature on the tool loop's 2nd step.
    echoed = [b for r in anthropic_fake.api_requests("/messages") for m in r.json["messages"]
              if m["role"] == "assistant" and isinstance(m["content"], list)
              for b in m["content"] if b.get("type") == "thinking"]
    assert echoed and all(b["signature"] == thinking_signature(b["thinking"]) for b in echoed)
    # providerOptions.anthropic.thinking arrived in Anthropic's own spelling.
    assert any((r.json.get("thinking") or {}).get("budget_tokens") == 1024
               for r in anthropic_fake.api_requests("/messages"))
    # providerOptions.openai.dimensions reached the embeddings provider.
    assert any(r.json.get("dimensions") == 8 for r in openai_fake.api_requests("/embeddings"))
