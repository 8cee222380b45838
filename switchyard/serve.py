"""Run the gateway: one event loop per worker process; several workers share the port through
SO_REUSEPORT, so the kernel spreads connections across them."""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
import signal
import sys
import tempfile

from switchyard.app import App
from switchyard.config.model import Config
from switchyard.http import HTTPServer

log = logging.getLogger("switchyard")


def _install_uvloop() -> None:
    try:
        import uvloop
    except ImportError:  # not on this platform: the stdlib loop works, only slower
        return
    asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())


async def _run(config: Config, host: str, port: int, reuse_port: bool, metrics_dir: str | None) -> None:
    app = App(config, metrics_dir=metrics_dir)
    await app.start()
    server = HTTPServer(app.handle, error_responder=app.error_response,
                        max_body_bytes=config.server.max_body_bytes,
                        keepalive_timeout=config.server.keepalive_timeout)
    await server.start(host, port, reuse_port=reuse_port)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    # A worker blocks these signals until its handlers exist (see serve); a stop asked for during
    # startup is delivered now, to the handlers.
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT, signal.SIGTERM})
    log.info("switchyard %s listening on http://%s:%d (pid %d, %d provider(s): %s; %d model(s))",
             _version(), host, server.port, os.getpid(), len(config.providers),
             ", ".join(sorted(config.providers)) or "none", len(app.catalog))
    if not config.providers:
        log.warning("no providers are configured: set OPENAI_API_KEY, ANTHROPIC_API_KEY, ... or pass --config")
    await stop.wait()
    log.info("shutting down: finishing in-flight requests")
    await server.close(grace=30.0)
    await app.close()


def _version() -> str:
    from switchyard import __version__
    return __version__


def run_worker(config: Config, host: str, port: int, reuse_port: bool = False,
               metrics_dir: str | None = None) -> None:
    _install_uvloop()
    asyncio.run(_run(config, host, port, reuse_port, metrics_dir))


def serve(config: Config, host: str, port: int, workers: int) -> int:
    if workers <= 1:
        run_worker(config, host, port)
        return 0
    if not config.redis.url:
        log.warning("%d workers without redis.url: each worker enforces rate limits and budgets on its own "
                    "(up to %dx the configured limits); set redis.url to share them", workers, workers)
    children: list[int] = []
    # The workers' metric snapshots, so that any of them answers a scrape for all (telemetry.metrics).
    metrics_dir = tempfile.mkdtemp(prefix="switchyard-metrics-")

    def forward(signum: int, _frame: object) -> None:
        for child in children:
            try:
                os.kill(child, signal.SIGTERM)
            except ProcessLookupError:
                pass

    signal.signal(signal.SIGINT, forward)
    signal.signal(signal.SIGTERM, forward)
    for _ in range(workers):
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM})
        pid = os.fork()
        if pid == 0:  # child: signals stay blocked until its event loop handles them
            code = 0
            try:
                run_worker(config, host, port, reuse_port=True, metrics_dir=metrics_dir)
            except BaseException:
                log.exception("worker failed")
                code = 1
            os._exit(code)
        children.append(pid)
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT, signal.SIGTERM})
    status = 0
    for child in children:
        _, code = os.waitpid(child, 0)
        status = status or (os.waitstatus_to_exitcode(code) if code else 0)
    shutil.rmtree(metrics_dir, ignore_errors=True)
    return 1 if status else 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(serve(Config(), "127.0.0.1", 8787, 1))
