"""Every upstream-client test runs on both event loops the gateway can use: asyncio's and uvloop's
(their transports differ in writelines, pause_reading, abort and SSL)."""

from __future__ import annotations

import asyncio

import uvloop


def pytest_asyncio_loop_factories(config, item):
    return {"asyncio": asyncio.new_event_loop, "uvloop": uvloop.new_event_loop}
