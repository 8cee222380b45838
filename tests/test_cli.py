"""`switchyard serve` as a user runs it: a subprocess, configured by environment or by file."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from tests.fakes import OpenAIFake, running_in_thread


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_ready(port: int, proc: subprocess.Popen, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"gateway exited early: {proc.stderr.read().decode() if proc.stderr else ''}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.1)
    raise AssertionError("gateway did not become ready")


def _chat(port: int, model: str) -> tuple[dict, dict]:
    req = urllib.request.Request(
        f"http://127.0.0.1:{port}/v1/chat/completions", method="POST",
        data=json.dumps({"model": model, "messages": [{"role": "user", "content": "hi cli"}]}).encode(),
        headers={"content-type": "application/json"})
    with urllib.request.urlopen(req, timeout=10) as r:
        return json.loads(r.read()), dict(r.headers)


def _requests_counted(port: int) -> float:
    """switchyard_requests_total summed over its samples, from one scrape of /metrics."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:
        text = r.read().decode()
    return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
               if line.startswith("switchyard_requests_total{"))


def _serve(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.Popen:
    """The gateway as a user starts it, in ``cwd`` (where its embedded databases go: ./data)."""
    full_env = {k: v for k, v in os.environ.items() if not k.endswith(("_API_KEY", "_BASE_URL"))}
    full_env.update(env)
    full_env["PYTHONPATH"] = str(Path(__file__).resolve().parents[1])
    return subprocess.Popen([sys.executable, "-m", "switchyard", "serve", *args], env=full_env, cwd=cwd,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def _stop(proc: subprocess.Popen) -> str:
    proc.send_signal(signal.SIGTERM)
    try:
        _, err = proc.communicate(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        _, err = proc.communicate()
    assert proc.returncode == 0, err.decode()
    return err.decode()


def test_serve_with_environment_only(tmp_path: Path):
    with running_in_thread(OpenAIFake, api_key="sk-env-secret") as fake:
        port = _free_port()
        proc = _serve(["--port", str(port)], {"OPENAI_API_KEY": "sk-env-secret", "OPENAI_BASE_URL": fake.base_url},
                      tmp_path)
        try:
            _wait_ready(port, proc)
            body, headers = _chat(port, "openai/gpt-4o-mini")  # from the shipped catalog
            assert body["choices"][0]["message"]["content"] == "echo: hi cli"
            assert headers["x-switchyard-provider"] == "openai"
            assert fake.last_request.headers["authorization"] == "Bearer sk-env-secret"
        finally:
            logs = _stop(proc)
    assert "sk-env-secret" not in logs  # keys never reach the logs
    assert (tmp_path / "data" / "usage.sqlite3").exists()  # the embedded default keeps usage records


def test_serve_with_config_file_and_workers(tmp_path: Path):
    with running_in_thread(OpenAIFake, api_key="sk-file-secret") as fake:
        config = tmp_path / "switchyard.yaml"
        config.write_text(f"""
providers:
  local:
    protocol: openai-chat
    base_url: {fake.base_url}
    api_key: ${{LOCAL_KEY}}
models:
  acme/local-model:
    name: Local
    context_window: 8000
    max_output: 1000
    providers:
      local: {{id: served-model}}
""")
        port = _free_port()
        proc = _serve(["--config", str(config), "--port", str(port), "--workers", "2"], {"LOCAL_KEY": "sk-file-secret"},
                      tmp_path)
        try:
            _wait_ready(port, proc)
            for _ in range(6):  # several connections: the kernel spreads them over both workers
                body, _ = _chat(port, "acme/local-model")
                assert body["choices"][0]["message"]["content"] == "echo: hi cli"
            assert {r.json["model"] for r in fake.api_requests("/chat/completions")} == {"served-model"}
            # whichever worker answers a scrape counts both workers' requests (snapshots: once a second)
            deadline = time.monotonic() + 15
            while _requests_counted(port) != 6:
                assert time.monotonic() < deadline, _requests_counted(port)
                time.sleep(0.2)
        finally:
            _stop(proc)


def test_bad_config_is_a_clear_error(tmp_path: Path):
    config = tmp_path / "bad.yaml"
    config.write_text("providers:\n  mine: {api_key: x}\n")
    proc = subprocess.run([sys.executable, "-m", "switchyard", "check", "--config", str(config)],
                          capture_output=True, text=True, timeout=30)
    assert proc.returncode == 2
    assert "providers.mine" in proc.stderr and "base_url" in proc.stderr
