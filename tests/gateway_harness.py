"""Start a real Switchyard (App + HTTPServer) in the test's event loop against fake providers."""

from __future__ import annotations

import contextlib
import shutil
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import msgspec

from switchyard.app import App
from switchyard.catalog import load_catalog
from switchyard.config.model import Config
from switchyard.http import HTTPServer

NO_DATA = Path("/nonexistent/catalog.yaml")  # tests declare their own models only


class RunningGateway:
    def __init__(self, app: App, server: HTTPServer) -> None:
        self.app = app
        self.server = server
        self.url = f"http://127.0.0.1:{server.port}"
        self.base_url = self.url + "/v1"
        self._closers: list[Any] = []

    def on_close(self, closer: Any) -> None:
        """Register an async callable (e.g. an SDK client's close) to run before the gateway stops."""
        self._closers.append(closer)


@contextlib.asynccontextmanager
async def gateway(providers: dict[str, dict[str, Any]], models: dict[str, dict[str, Any]],
                  routing: dict[str, Any] | None = None, server: dict[str, Any] | None = None,
                  health: dict[str, Any] | None = None, accounts: dict[str, Any] | None = None,
                  shipped_catalog: bool = False) -> AsyncIterator[RunningGateway]:
    # Each gateway gets its own key store, so tests never share (or leave) accounts.
    store = tempfile.mkdtemp(prefix="switchyard-test-")
    accounts = {"database": f"sqlite:///{store}/accounts.sqlite3", **(accounts or {})}
    usage = {"database": f"sqlite:///{store}/usage.sqlite3", "spill_path": f"{store}/spill.jsonl"}
    config = msgspec.convert({
        "accounts": accounts, "usage": usage,
        "providers": {slug: {"slug": slug, **p} for slug, p in providers.items()},
        "models": models, "routing": routing or {}, "server": server or {}, "health": health or {},
    }, Config)
    catalog = load_catalog(config.models, enabled=config.providers.keys(),
                           **({} if shipped_catalog else {"data_file": NO_DATA}))
    app = App(config, catalog)
    await app.start()
    http = HTTPServer(app.handle, error_responder=app.error_response,
                      max_body_bytes=config.server.max_body_bytes)
    await http.start("127.0.0.1", 0)
    running = RunningGateway(app, http)
    try:
        yield running
    finally:
        for closer in running._closers:
            await closer()
        await http.close(grace=2.0)
        await app.close()
        shutil.rmtree(store, ignore_errors=True)


def model(providers: dict[str, str], *, context_window: int = 100_000, max_output: int = 4096,
          capabilities: tuple[str, ...] = ("tools", "vision", "json"),
          pricing: dict[str, float] | None = None, **extra: Any) -> dict[str, Any]:
    """A catalog entry served by ``providers`` ({slug: provider model id})."""
    return {"name": "Test model", "context_window": context_window, "max_output": max_output,
            "capabilities": list(capabilities), "pricing": pricing or {"input": 1.0, "output": 2.0},
            "providers": {slug: {"id": mid} for slug, mid in providers.items()}, **extra}
