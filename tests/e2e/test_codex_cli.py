"""End to end: the real Codex CLI (``codex exec``) -> Switchyard's /v1/responses -> fake providers that
speak Chat Completions (OpenAI) and Messages (Anthropic): no provider here speaks Responses, so every
request is translated.

Codex is installed from npm at a pinned version into ``tests/.node/codex/`` (ignored by git through the
``.gitignore`` this test writes in ``tests/.node/``) on first use; the package ships its native binary.
The tests are skipped, saying why, when npm is missing, the registry cannot be reached, the install
fails or the binary does not run here.

Codex is configured with a custom model provider in a temporary ``CODEX_HOME``:
``base_url = <gateway>/v1``, ``wire_api = "responses"``, ``env_key``. What it really sends (captured at
the gateway below): ``store: false``, ``include: ["reasoning.encrypted_content"]``, ``reasoning``,
``prompt_cache_key``, ``client_metadata``, developer messages, function tools, a ``namespace`` tool of
sub-agent functions, the hosted ``web_search`` tool and, for models it knows (``gpt-5.5``), the free-form
``custom`` tool ``apply_patch`` and the hosted ``tool_search``. The hosted tools are dropped; the rest
is served, tool loops included (the fakes call a tool when the prompt says ``call <tool> {json}``).
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

CODEX_VERSION = "0.169.0"
RUN_TIMEOUT_S = 180


@pytest.fixture(scope="module")
def codex_bin() -> Path:
    return install_cli("@openai/codex", CODEX_VERSION, "codex", "the Codex CLI")


def _providers(openai_fake: Any, anthropic_fake: Any) -> dict[str, Any]:
    return {"openai": {"protocol": "openai-chat", "base_url": openai_fake.base_url, "api_key": "sk-openai-secret"},
            "anthropic": {"protocol": "anthropic-messages", "base_url": anthropic_fake.base_url,
                          "api_key": "sk-ant-secret"}}


BIG = dict(context_window=400_000, max_output=32_000, capabilities=("tools", "vision", "json", "reasoning"))


def _capture(gw: Any) -> list[dict[str, Any]]:
    """Record every body Codex posts to /v1/responses (wrapping the route, not changing it)."""
    seen: list[dict[str, Any]] = []
    route = ("POST", "/v1/responses")
    handler = gw.app._routes[route]

    async def capture(request: Any) -> Any:
        seen.append(json.loads(request.body))
        return await handler(request)

    gw.app._routes[route] = capture
    return seen


async def _codex(codex: Path, base_url: str, tmp: Path, prompt: str, model_name: str,
                 *flags: str) -> tuple[int, str, str, str]:
    """Run ``codex exec`` once; return (exit code, last agent message, stdout, stderr)."""
    home, work = tmp / "codex-home", tmp / "work"
    home.mkdir(exist_ok=True)
    work.mkdir(exist_ok=True)
    (home / "config.toml").write_text(
        'model_provider = "switchyard"\n\n'
        "[model_providers.switchyard]\n"
        'name = "Switchyard"\n'
        f'base_url = "{base_url}"\n'
        'env_key = "SWITCHYARD_API_KEY"\n'
        'wire_api = "responses"\n'
        "request_max_retries = 0\n"
        "stream_max_retries = 0\n")
    last = tmp / "last-message.txt"
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(tmp), "CODEX_HOME": str(home),
           "SWITCHYARD_API_KEY": "caller-key", "NO_COLOR": "1", "TERM": "dumb"}
    proc = await asyncio.create_subprocess_exec(
        str(codex), "exec", "--skip-git-repo-check", "--ephemeral", "--color", "never", "-m", model_name,
        "--output-last-message", str(last), *flags, prompt,
        env=env, cwd=str(work), stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    try:
        out, err = await asyncio.wait_for(proc.communicate(), RUN_TIMEOUT_S)
    except asyncio.TimeoutError:
        proc.kill()
        await proc.wait()
        raise AssertionError(f"codex exec did not finish within {RUN_TIMEOUT_S}s") from None
    message = last.read_text() if last.exists() else ""
    return proc.returncode or 0, message, out.decode("utf-8", "replace"), err.decode("utf-8", "replace")


@pytest.mark.parametrize("which", ["openai", "anthropic"])
async def test_codex_exec_answers_from_the_provider(which: str, codex_bin: Path, tmp_path: Path,
                                                    openai_fake: Any, anthropic_fake: Any) -> None:
    fake = openai_fake if which == "openai" else anthropic_fake
    models = {"acme/coder": model({which: f"{which}-coder"}, **BIG)}
    async with gateway(_providers(openai_fake, anthropic_fake), models) as gw:
        seen = _capture(gw)
        code, message, out, err = await _codex(codex_bin, gw.base_url, tmp_path, "say hi", "acme/coder",
                                               "--sandbox", "read-only")
        records = list(gw.app.records._records.values())
    assert code == 0, f"codex failed:\n{out}\n{err}"
    assert message.startswith("echo: ") and message.rstrip().endswith("say hi"), message  # the fake's echo
    # Codex's real request was accepted as it is.
    [body] = seen
    assert body["model"] == "acme/coder" and body["stream"] is True and body["store"] is False
    types = {t["type"] for t in body["tools"]}
    assert {"function", "web_search"} <= types
    assert [r.status for r in records] == [200] and records[0].provider == which
    sent = fake.last_request.json
    names = [t["function"]["name"] if which == "openai" else t["name"] for t in sent["tools"]]
    assert "exec_command" in names and "web_search" not in names
    if "namespace" in types:  # its sub-agent tools, flattened
        assert any("__" in n for n in names)


@pytest.mark.parametrize("which", ["openai", "anthropic"])
async def test_codex_runs_a_tool_and_sends_back_its_output(which: str, codex_bin: Path, tmp_path: Path,
                                                           openai_fake: Any, anthropic_fake: Any) -> None:
    models = {"acme/coder": model({which: f"{which}-coder"}, **BIG)}
    async with gateway(_providers(openai_fake, anthropic_fake), models) as gw:
        seen = _capture(gw)
        code, message, out, err = await _codex(
            codex_bin, gw.base_url, tmp_path, 'call exec_command {"cmd":"echo swy-tool-ok"}', "acme/coder",
            "--dangerously-bypass-approvals-and-sandbox")
    assert code == 0, f"codex failed:\n{out}\n{err}"
    assert message.startswith("tool said: ") and "swy-tool-ok" in message, message
    assert len(seen) == 2
    second = {item.get("type") for item in seen[1]["input"]}
    assert {"function_call", "function_call_output"} <= second


async def test_codex_applies_a_patch_through_its_custom_tool(codex_bin: Path, tmp_path: Path,
                                                             openai_fake: Any, anthropic_fake: Any) -> None:
    # ``gpt-5.5`` is a model Codex knows: it offers apply_patch as a free-form ``custom`` tool. The bare
    # name resolves to the catalog's openai/gpt-5.5, served here by the Anthropic fake.
    models = {"openai/gpt-5.5": model({"anthropic": "claude-coder"}, **BIG)}
    patch = "*** Begin Patch\\n*** Add File: hello.txt\\n+hi from the patch\\n*** End Patch\\n"
    async with gateway(_providers(openai_fake, anthropic_fake), models) as gw:
        seen = _capture(gw)
        code, message, out, err = await _codex(
            codex_bin, gw.base_url, tmp_path, 'call apply_patch {"input":"' + patch + '"}', "gpt-5.5",
            "--dangerously-bypass-approvals-and-sandbox")
    assert code == 0, f"codex failed:\n{out}\n{err}"
    assert (tmp_path / "work" / "hello.txt").read_text() == "hi from the patch\n"
    assert {"type": "custom", "name": "apply_patch"}.items() <= next(
        t for t in seen[0]["tools"] if t.get("name") == "apply_patch").items()
    assert any(item.get("type") == "custom_tool_call_output" for item in seen[1]["input"])
    assert message.startswith("tool said: "), message


async def test_codex_reports_a_stream_that_fails_midway(codex_bin: Path, tmp_path: Path, openai_fake: Any,
                                                        anthropic_fake: Any) -> None:
    openai_fake.cut_after_chunks = 4
    models = {"acme/coder": model({"openai": "gpt-coder"}, **BIG)}
    async with gateway(_providers(openai_fake, anthropic_fake), models) as gw:
        code, message, out, err = await _codex(codex_bin, gw.base_url, tmp_path,
                                               "one two three four five six seven eight", "acme/coder",
                                               "--sandbox", "read-only")
    assert code != 0, f"codex did not fail:\n{out}\n{err}"
    # Codex shows the message of our response.failed (the gateway's own error text).
    assert "openai: the provider closed the connection" in err, err
