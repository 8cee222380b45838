"""Run a fake on its own event loop in a background thread, for tests that
drive the gateway (or the SDKs) synchronously."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from typing import Any, Callable, Iterator, TypeVar

from .base import FakeProvider

F = TypeVar("F", bound=FakeProvider)


def fake_in_thread(cls: type[F], *args: Any, **kwargs: Any) -> tuple[F, Callable[[], None]]:
    """Start ``cls(*args, **kwargs)`` in a daemon thread; return ``(fake, stop)``.

    The fake's plain attributes and methods (fail, push, for_next, requests,
    counters, wait_until) are safe to use from the calling thread.
    ``stop()`` closes the server and joins the thread (idempotent).
    """
    fake = cls(*args, **kwargs)
    loop = asyncio.new_event_loop()
    ready = threading.Event()
    errors: list[BaseException] = []

    def run() -> None:
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(fake.start())
        except BaseException as e:  # surfaced to the caller below
            errors.append(e)
            ready.set()
            return
        ready.set()
        loop.run_forever()

    thread = threading.Thread(target=run, name=f"{cls.__name__}-loop", daemon=True)
    thread.start()
    ready.wait(10)
    if errors or not ready.is_set():
        thread.join(5)
        loop.close()
        raise errors[0] if errors else RuntimeError(f"{cls.__name__} did not start")
    stopped = False

    def stop() -> None:
        nonlocal stopped
        if stopped:
            return
        stopped = True
        asyncio.run_coroutine_threadsafe(fake.close(), loop).result(15)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(15)
        loop.close()

    return fake, stop


@contextlib.contextmanager
def running_in_thread(cls: type[F], *args: Any, **kwargs: Any) -> Iterator[F]:
    """``with running_in_thread(OpenAIFake, api_key="sk-test") as fake: ...``"""
    fake, stop = fake_in_thread(cls, *args, **kwargs)
    try:
        yield fake
    finally:
        stop()
