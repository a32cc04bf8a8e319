"""Short-lived, per-process copies of what the busiest requests read: the public catalogue (departments, doctors,
a doctor's slots), the current notice's version, the token look-ups of account sessions.

An entry lives at most ``ttl_s`` (one second) and is dropped at once when this process commits any change: every
state change records an event, and :mod:`server.events.bus` runs the subscribers after such a commit. A change
committed by another process (a second worker, the CLI) shows here within ``ttl_s``; a booking re-checks
everything it relies on in its own transaction, so a stale read can only show a place that is already gone.

A value computed from a snapshot older than the newest change must not be stored: callers take
:attr:`ChangeCache.generation` before their first query and hand it back to :meth:`ChangeCache.put`, which drops
the value if a change was committed meanwhile.
"""
from __future__ import annotations

import threading
import time
from collections.abc import Hashable
from typing import Any

from server.events import bus

MAX_ENTRIES = 4096


class ChangeCache:
    def __init__(self, *, ttl_s: float = 1.0, clear_on_change: bool = True) -> None:
        self.ttl_s = ttl_s
        self._generation = 0
        self._entries: dict[Hashable, tuple[float, Any]] = {}
        self._lock = threading.Lock()
        if clear_on_change:
            bus.subscribe(self.clear)

    @property
    def generation(self) -> int:
        return self._generation

    def get(self, key: Hashable) -> Any | None:
        entry = self._entries.get(key)
        if entry is None or entry[0] < time.monotonic():
            return None
        return entry[1]

    def put(self, key: Hashable, value: Any, *, generation: int) -> None:
        with self._lock:
            if generation != self._generation:
                return
            if len(self._entries) >= MAX_ENTRIES:
                self._entries = {}  # bounded: keys are ids and dates from requests
            self._entries[key] = (time.monotonic() + self.ttl_s, value)

    def clear(self) -> None:
        """Called after every commit of a change in this process, from worker threads."""
        with self._lock:
            self._generation += 1
            self._entries = {}


catalogue_cache = ChangeCache()
# The current notice's version, which every booking checks. Bookings commit changes all the time, and clearing
# this with them would make it useless; no request of this service changes it (a new version is published by
# ``demo-data`` or an operator), so it only expires.
notice_version_cache = ChangeCache(clear_on_change=False)
