"""Install a pinned CLI from npm into tests/.node/<name> (once) for the end-to-end tests of real clients;
skip the test with the reason when node/npm, the registry or the binary are not available here."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

NODE_ROOT = Path(__file__).resolve().parent / ".node"
INSTALL_TIMEOUT_S = 600


def install_cli(package: str, version: str, binary: str, title: str) -> Path:
    """The path of ``binary`` from ``package@version``, installed if needed and checked to run."""
    npm = shutil.which("npm")
    if npm is None or shutil.which("node") is None:
        pytest.skip(f"node/npm is not installed: cannot install {title}")
    where = NODE_ROOT / package.rsplit("/", 1)[-1]
    exe = where / "node_modules" / ".bin" / binary
    try:
        installed = json.loads((where / "node_modules" / package / "package.json").read_text())["version"]
    except (OSError, ValueError, KeyError):
        installed = None
    if installed != version or not exe.exists():
        where.mkdir(parents=True, exist_ok=True)
        try:
            done = subprocess.run(
                [npm, "install", "--prefix", str(where), "--no-audit", "--no-fund", "--loglevel=error",
                 f"{package}@{version}"], capture_output=True, text=True, timeout=INSTALL_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            pytest.skip(f"installing {title} from npm took over {INSTALL_TIMEOUT_S}s (no network to the registry?)")
        if done.returncode != 0 or not exe.exists():
            pytest.skip(f"could not install {package}@{version} from npm (no network to the registry?): "
                        f"{(done.stderr or done.stdout).strip()[-500:]}")
    try:
        ran = subprocess.run([str(exe), "--version"], capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired) as exc:
        pytest.skip(f"the installed {title} does not run here: {exc}")
    if ran.returncode != 0 or version not in ran.stdout:
        pytest.skip(f"the installed {title} does not run here: {(ran.stderr or ran.stdout).strip()[-300:]}")
    return exe
