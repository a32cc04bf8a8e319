"""In-process wake-up for event streams, and the signal that this process committed a change.

After a transaction that wrote events commits, :func:`wake` runs every subscriber: the stream hub of this worker
process, and the short-lived caches of server/cache.py. Across worker processes on PostgreSQL, LISTEN/NOTIFY wakes
the hubs. Subscribers must be cheap and thread-safe: commits happen on the thread pool.
"""
from __future__ import annotations

from collections.abc import Callable

_subscribers: list[Callable[[], None]] = []


def subscribe(fn: Callable[[], None]) -> None:
    _subscribers.append(fn)


def unsubscribe(fn: Callable[[], None]) -> None:
    if fn in _subscribers:
        _subscribers.remove(fn)


def wake() -> None:
    for fn in list(_subscribers):  # noqa: PERF101 - a copy: subscribers may change meanwhile
        fn()
