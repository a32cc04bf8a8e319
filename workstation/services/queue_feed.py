"""Keeps a :class:`~workstation.models.queue.QueueModel` current: the snapshot, the stream, the details.

Start-up shows the cached queue at once (a workstation started without network still shows what the doctor
had), then loads ``GET /staff/queue``. Stream events are applied in batches (Electrum's idea: a burst marks the queue dirty once and is drained on
the next turn of the event loop, in slices of at most ``SLICE_S``, so a burst of hundreds of events never
freezes the window and listeners hear one ``queue_changed`` per slice); events that arrive
while a snapshot is on its way are applied again after it, so an older snapshot never undoes a newer event.
A row born from an event lacks sex, age and department: they are fetched once. A ``resync`` reloads.
"""
from __future__ import annotations

import datetime as dt
import logging
import time
from collections import deque
from typing import Any

from PySide6.QtCore import QObject, QTimer, Signal

from workstation.models.queue import TZ, QueueEntry, QueueModel
from workstation.services.api import ApiClient
from workstation.services.changes import ChangeHub
from workstation.services.ops import Op
from workstation.services.store import Store

log = logging.getLogger(__name__)

CACHE_KEY = "queue"
SLICE_S = 0.008  # the longest the GUI thread spends applying events before it lets paint and input run


class QueueFeed(QObject):
    sig_loaded = Signal()  # a snapshot from the server is in the model
    sig_load_failed = Signal(object)  # the exception (the cached queue stays shown)

    def __init__(self, *, model: QueueModel, api: ApiClient, hub: ChangeHub, store: Store | None = None,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.model = model
        self.api = api
        self.hub = hub
        self.store = store
        self._loading = False
        self._reload_again = False
        self._buffer: list[dict[str, Any]] = []
        self._details_in_flight: set[int] = set()
        self._started = False
        self._fresh = False  # a snapshot from the server is in the model (the cache must not replace it)
        self._pending: deque[dict[str, Any]] = deque()
        self._drain_scheduled = False

    def start(self) -> None:
        if self._started:
            return
        self._started = True
        self.hub.sig_events.connect(self._on_events)
        self.hub.sig_resync_needed.connect(self.reload)
        self.model.sig_details_needed.connect(self._fetch_details)
        if self.store is not None and self.model.rowCount() == 0:
            store = self.store
            Op(lambda: store.cache_get(CACHE_KEY), parent=self, pool="db").success(self._show_cached).run()
        self.reload()

    def stop(self) -> None:
        if not self._started:
            return
        self._started = False
        self.hub.sig_events.disconnect(self._on_events)
        self.hub.sig_resync_needed.disconnect(self.reload)
        self.model.sig_details_needed.disconnect(self._fetch_details)

    # --- snapshot -----------------------------------------------------------------------------------------------

    def _show_cached(self, rows: Any) -> None:
        if rows and not self._fresh and self.model.rowCount() == 0:
            self.model.day = None
            self.model.load_api_rows(rows)

    def reload(self) -> None:
        """Load the whole queue again (sign-in, resync, the day changed)."""
        if self._loading:
            self._reload_again = True
            return
        self._loading = True
        self._buffer = []
        api = self.api
        Op(api.queue, parent=self).success(self._loaded).failure(self._failed).run()

    def _loaded(self, rows: list[dict[str, Any]]) -> None:
        self._loading = False
        self._fresh = True
        self.model.day = dt.datetime.now(TZ).date()
        self.model.load_api_rows(rows)
        buffered, self._buffer = self._buffer, []
        for event in buffered:
            self.model.apply_event(event)
        if self.store is not None:
            store = self.store
            Op(lambda: store.cache_put(CACHE_KEY, rows), parent=self, pool="db").run()
        self.hub.queue_changed()
        self.sig_loaded.emit()
        if self._reload_again:
            self._reload_again = False
            self.reload()

    def _failed(self, exc: BaseException) -> None:
        self._loading = False
        self._buffer = []
        log.info("queue load failed: %s", exc)
        self.sig_load_failed.emit(exc)
        if self._reload_again:
            self._reload_again = False
            self.reload()

    # --- live -----------------------------------------------------------------------------------------------------

    def _on_events(self, events: list[dict[str, Any]]) -> None:
        if self._loading:
            self._buffer.extend(events)
        self._pending.extend(events)
        self._schedule_drain()

    def _schedule_drain(self) -> None:
        if not self._drain_scheduled:
            self._drain_scheduled = True
            QTimer.singleShot(0, self._drain)

    def _drain(self) -> None:
        self._drain_scheduled = False
        if not self._started:
            self._pending.clear()
            return
        deadline = time.monotonic() + SLICE_S
        changed = False
        while self._pending:
            changed |= self.model.apply_event(self._pending.popleft())
            if self._pending and time.monotonic() > deadline:
                self._schedule_drain()  # the rest on the next turn, after paint and input
                break
        if changed:
            self.hub.queue_changed()

    def _fetch_details(self, appointment_id: int) -> None:
        if appointment_id in self._details_in_flight:
            return
        self._details_in_flight.add(appointment_id)
        api = self.api

        def done(row: dict[str, Any]) -> None:
            self._details_in_flight.discard(appointment_id)
            self.model.fill_details(QueueEntry.from_api(row))

        def failed(exc: BaseException) -> None:
            self._details_in_flight.discard(appointment_id)
            log.info("queue: details of appointment %s not loaded: %s", appointment_id, exc)

        Op(lambda: api.appointment(appointment_id), parent=self).success(done).failure(failed).run()
