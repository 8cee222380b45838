"""``switchyard keys`` as a user runs it: a subprocess against a SQLite file named in the config."""

from __future__ import annotations

import asyncio
import json
import os
import re
import subprocess
import sys
from pathlib import Path

from switchyard.accounts.config import load_accounts_config
from switchyard.accounts.service import Accounts
from tests.accounts.conftest import bearer

ROOT = Path(__file__).resolve().parents[2]
KEY = re.compile(r"sy-[A-Za-z0-9_-]{43}")


def sy(*args: str, config: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "switchyard", "keys", *args, "--config", str(config)],
                          capture_output=True, text=True, cwd=ROOT, timeout=60,
                          env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})})


def write_config(tmp_path: Path) -> Path:
    cfg = tmp_path / "switchyard.yaml"
    cfg.write_text("accounts:\n  database: sqlite:///${DB_PATH}\n  secret_key: ${SECRET:-0123456789abcdef0123}\n")
    return cfg


def test_create_prints_the_key_once_and_list_never(tmp_path: Path) -> None:
    cfg = write_config(tmp_path)
    env = {"DB_PATH": str(tmp_path / "keys.sqlite3")}
    out = sy("create", "--name", "alice", "--project", "acme", "--budget", "12.5", "--period", "monthly",
             "--rpm", "60", "--tpm", "10000", "--models", "openai/gpt-4o,anthropic/*", "--tags", "t1,t2",
             "--expires", "2099-01-01", config=cfg, env=env)
    assert out.returncode == 0, out.stderr
    keys = KEY.findall(out.stdout)
    assert len(keys) == 1 and out.stdout.count(keys[0]) == 1 and keys[0] not in out.stderr
    key = keys[0]
    key_id = re.search(r"key_[0-9A-Z]{26}", out.stdout).group(0)  # type: ignore[union-attr]

    listed = sy("list", config=cfg, env=env)
    assert listed.returncode == 0 and key_id in listed.stdout and "alice" in listed.stdout
    assert key not in listed.stdout and not KEY.search(listed.stdout)
    as_json = json.loads(sy("list", "--json", config=cfg, env=env).stdout)
    assert as_json[0]["limits"] == {"rpm": 60, "tpm": 10000, "budget_usd": 12.5, "budget_period": "monthly"}
    assert as_json[0]["allowed_models"] == ["openai/gpt-4o", "anthropic/*"] and as_json[0]["tags"] == ["t1", "t2"]
    assert "key_hash" not in json.dumps(as_json) and key not in json.dumps(as_json)
    assert key.encode() not in (tmp_path / "keys.sqlite3").read_bytes()  # only the hash is stored

    # the key authenticates against the same store the CLI wrote
    async def check(expect_ok: bool) -> None:
        accounts = Accounts(load_accounts_config(str(cfg), env={**os.environ, **env}), env={})
        try:
            p = await accounts.authenticator.authenticate(bearer(key))
            assert expect_ok and p.key_id == key_id and p.project == "acme"
        except Exception as e:  # noqa: BLE001
            assert not expect_ok and getattr(e, "status", None) == 401
        finally:
            await accounts.close()
    asyncio.run(check(True))

    updated = sy("update", key_id, "--rpm", "5", "--models", "all", "--expires", "never", "--name", "al",
                 config=cfg, env=env)
    assert updated.returncode == 0, updated.stderr
    shown = json.loads(sy("show", key_id, config=cfg, env=env).stdout)
    assert shown["limits"]["rpm"] == 5 and shown["limits"]["tpm"] == 10000 and shown["allowed_models"] is None
    assert shown["expires_at"] is None and shown["name"] == "al"

    revoked = sy("revoke", key_id, config=cfg, env=env)
    assert revoked.returncode == 0 and key_id in revoked.stdout
    assert "revoked" in sy("list", config=cfg, env=env).stdout
    asyncio.run(check(False))


def test_cli_errors_and_projects(tmp_path: Path) -> None:
    cfg = write_config(tmp_path)
    env = {"DB_PATH": str(tmp_path / "keys.sqlite3")}
    missing = sy("revoke", "key_nope", config=cfg, env=env)
    assert missing.returncode == 1 and "No API key" in missing.stderr
    bad = sy("create", "--name", "x", "--expires", "not-a-date", config=cfg, env=env)
    assert bad.returncode == 1 and "expires" in bad.stderr.lower() or "ISO" in bad.stderr
    project = sy("project", "acme", "--rpm", "100", "--budget", "50", config=cfg, env=env)
    assert project.returncode == 0 and json.loads(project.stdout)["limits"]["rpm"] == 100
    assert json.loads(sy("projects", config=cfg, env=env).stdout)[0]["name"] == "acme"
    broken = tmp_path / "broken.yaml"
    broken.write_text("accounts:\n  database: sqlite:///x\n  typo_field: 1\n")
    out = sy("list", config=broken)
    assert out.returncode == 2 and "accounts" in out.stderr
