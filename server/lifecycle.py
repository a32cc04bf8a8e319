"""Start and stop the service's background parts (event-stream hub, scheduler) with the application.

Each slice that runs something in the background registers a pair of coroutines here at import time.
"""
from __future__ import annotations

import importlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any

log = logging.getLogger(__name__)

Hook = Callable[[Any], Awaitable[None]]
_start: list[Hook] = []
_stop: list[Hook] = []

# modules that register hooks when imported
BACKGROUND_MODULES = ("server.events.stream", "server.scheduler")


def register(*, start: Hook, stop: Hook) -> None:
    _start.append(start)
    _stop.append(stop)


async def startup(app: Any) -> None:
    for name in BACKGROUND_MODULES:
        try:
            importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise
    for hook in _start:
        await hook(app)


async def shutdown(app: Any) -> None:
    for hook in reversed(_stop):
        try:
            await hook(app)
        except Exception:  # keep stopping the others
            log.exception("background stop failed")
