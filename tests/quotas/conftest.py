"""Fixtures for the quota tests: the real Redis on 127.0.0.1:6379 (a unique key prefix per test,
its keys deleted afterwards), this process's memory (embedded mode), a private redis-server on a
free high port for the restart tests, and small builders."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
import redis.asyncio as aioredis

from switchyard.accounts.principal import Limits, Principal
from switchyard.canonical import Usage
from switchyard.catalog.pricing import Pricing
from switchyard.quotas import QuotaConfig, QuotaService
from switchyard.quotas.backend import MemoryBackend
from switchyard.routing.plan import RouteRequest

REDIS_URL = "redis://127.0.0.1:6379/0"
PRICE = [Pricing(input=1000.0, output=1000.0)]  # $0.001 per token: round numbers


class Clock:
    def __init__(self, start: float = 1_800_000_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class Rec:
    """The fields of a GenerationRecord that settlement reads."""

    def __init__(self, reservation: Any, cost: float | None, tokens: int | None = None, status: int = 200) -> None:
        self.reservation = reservation
        self.cost = cost
        self.usage = None if tokens is None else Usage(input_tokens=tokens, output_tokens=0)
        self.status = status


def principal(key: str | None = "k", project: str | None = None, **limits: Any) -> Principal:
    project_limits = limits.pop("project_limits", None) or Limits()
    return Principal(key_id=key, project=project, limits=Limits(**limits), project_limits=project_limits)


def route(tokens_in: int = 100, max_tokens: int | None = 100) -> RouteRequest:
    return RouteRequest(model="acme/chat", est_input_tokens=tokens_in, max_tokens=max_tokens)


def unique(name: str = "key") -> str:
    return f"{name}-{os.urandom(4).hex()}"


@pytest.fixture
async def redis_prefix() -> AsyncIterator[str]:
    prefix = f"sytest:{os.urandom(4).hex()}"
    client = aioredis.from_url(REDIS_URL)
    try:
        await client.ping()
    except Exception as exc:  # noqa: BLE001 - say plainly that Redis is needed
        pytest.fail(f"Redis at 127.0.0.1:6379 is required: {exc}")
    yield prefix
    keys = [k async for k in client.scan_iter(match=f"{prefix}:*", count=1000)]
    if keys:
        await client.delete(*keys)
    await client.aclose()


Factory = Callable[..., QuotaService]


@pytest.fixture(params=["memory", "redis"])
async def make_quotas(request: pytest.FixtureRequest, redis_prefix: str) -> AsyncIterator[Factory]:
    """Build QuotaServices (instances) sharing one store: this process's memory or the real Redis."""
    made: list[QuotaService] = []
    shared_memory: dict[int, MemoryBackend] = {}

    def make(clock: Any = None, start: bool = True, **cfg: Any) -> QuotaService:
        config = QuotaConfig(key_prefix=redis_prefix, **cfg)
        if request.param == "memory":
            backend = shared_memory.setdefault(0, MemoryBackend(clock))
            q = QuotaService(config, backend=backend, clock=clock)
        else:
            q = QuotaService(config, redis_url=REDIS_URL, clock=clock)
        made.append(q)
        return q

    make.kind = request.param  # type: ignore[attr-defined]
    yield make
    for q in made:
        try:
            await q.close()
        except Exception:  # noqa: BLE001, S110 - a test may have closed it already
            pass


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class OwnRedis:
    """A private redis-server (AOF, fsync always) that tests may kill and restart."""

    def __init__(self, workdir: str) -> None:
        self.dir = workdir
        self.port = free_port()
        while self.port in (5432, 3306, 6379, 5672, 1883, 4222):
            self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        exe = shutil.which("redis-server")
        assert exe, "redis-server is required"
        self.proc = subprocess.Popen([exe, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
                                      "--appendonly", "yes", "--appendfsync", "always", "--dir", self.dir,
                                      "--daemonize", "no", "--protected-mode", "no"],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2) as c:
                    c.sendall(b"PING\r\n")
                    if c.recv(64).startswith(b"+PONG"):
                        return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("own redis-server did not start")

    def kill(self) -> None:
        """SIGKILL: no goodbye, only what AOF fsynced survives (everything acknowledged)."""
        if self.proc is not None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=20)
            self.proc = None


@pytest.fixture
def own_redis(tmp_path: Any) -> Any:
    server = OwnRedis(str(tmp_path))
    server.start()
    yield server
    server.kill()
