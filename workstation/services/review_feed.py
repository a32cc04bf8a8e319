"""Keeps the pharmacist's lists current: the snapshots, the stream, the details of rows born from events.

Like the doctor's queue feed (services/queue_feed.py): each list is loaded from ``GET /staff/prescriptions?status=``
(one call per status it holds), stream events that arrive while a snapshot is on its way are applied again after
it (an older snapshot never undoes a newer event), a ``resync`` reloads everything, and a row born from an event
has its prescription fetched once.
"""
from __future__ import annotations

import logging
from typing import Any

from PySide6.QtCore import QObject, Signal

from workstation.models.review import ReviewListModel
from workstation.services.api import ApiClient
from workstation.services.changes import ChangeHub
from workstation.services.ops import Op

log = logging.getLogger(__name__)

PAGE = 200
MAX_ROWS = 2000  # per status: the lists are a day's work, not an archive


class ReviewFeed(QObject):
    sig_loaded = Signal(object)  # the model whose snapshot is in
    sig_load_failed = Signal(object)  # the exception
    sig_prescription_changed = Signal(int)  # an event or a fetch touched this prescription (redraw it if shown)

    def __init__(self, *, models: list[ReviewListModel], api: ApiClient, hub: ChangeHub,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.models = models
        self.api = api
        self.hub = hub
        self._started = False
        self._loading: dict[int, list[dict[str, Any]]] = {}  # id(model) → events buffered during its load
        self._reload_again: set[int] = set()
        self._details_in_flight: set[int] = set()

    def start(self) -> None:
        if self._started:
            return
        self._started = True
        self.hub.sig_events.connect(self._on_events)
        self.hub.sig_resync_needed.connect(self.reload)
        for m in self.models:
            m.sig_details_needed.connect(self.fetch_details)
        self.reload()

    def stop(self) -> None:
        if not self._started:
            return
        self._started = False
        for sig, slot in ((self.hub.sig_events, self._on_events), (self.hub.sig_resync_needed, self.reload)):
            try:
                sig.disconnect(slot)
            except (RuntimeError, TypeError):
                pass
        for m in self.models:
            try:
                m.sig_details_needed.disconnect(self.fetch_details)
            except (RuntimeError, TypeError):
                pass
            m.stop()

    # --- snapshots ----------------------------------------------------------------------------------------------

    def reload(self) -> None:
        for m in self.models:
            self.reload_model(m)

    def reload_model(self, model: ReviewListModel) -> None:
        key = id(model)
        if key in self._loading:
            self._reload_again.add(key)
            return
        self._loading[key] = []
        api = self.api
        statuses = sorted(model.statuses)
        # "done today" asks only for today's changes: the archive behind it is never paged through
        since = model.day_start().isoformat() if model.today_only else None

        def fetch() -> list[dict[str, Any]]:
            rows: list[dict[str, Any]] = []
            for status in statuses:
                offset = 0
                while True:
                    page = api.prescriptions(status=status, limit=PAGE, offset=offset, changed_since=since)
                    rows.extend(page)
                    offset += len(page)
                    if len(page) < PAGE or offset >= MAX_ROWS:
                        break
            return rows

        Op(fetch, parent=self).success(lambda rows: self._loaded(model, rows)) \
            .failure(lambda exc: self._failed(model, exc)).run()

    def _loaded(self, model: ReviewListModel, rows: list[dict[str, Any]]) -> None:
        key = id(model)
        buffered = self._loading.pop(key, [])
        if not self._started:
            return
        model.load_api_rows(rows)
        for event in buffered:
            model.apply_event(event)
        self.sig_loaded.emit(model)
        if key in self._reload_again:
            self._reload_again.discard(key)
            self.reload_model(model)

    def _failed(self, model: ReviewListModel, exc: BaseException) -> None:
        key = id(model)
        self._loading.pop(key, None)
        log.info("prescription list not loaded: %s", exc)
        self.sig_load_failed.emit(exc)
        if key in self._reload_again:
            self._reload_again.discard(key)
            self.reload_model(model)

    # --- live ---------------------------------------------------------------------------------------------------

    def _on_events(self, events: list[dict[str, Any]]) -> None:
        if not self._started:
            return
        touched: set[int] = set()
        for event in events:
            if event.get("object_type") != "prescription":
                continue
            for m in self.models:
                buffer = self._loading.get(id(m))
                if buffer is not None:
                    buffer.append(event)
                m.apply_event(event)
            if event.get("object_id") is not None:
                touched.add(int(event["object_id"]))
        for rx_id in touched:
            self.sig_prescription_changed.emit(rx_id)

    def apply_rx(self, rx: dict[str, Any]) -> None:
        """A whole prescription from an action's answer: every list takes it in or lets it go."""
        for m in self.models:
            m.apply_rx(rx)
        self.sig_prescription_changed.emit(int(rx["id"]))

    def fetch_details(self, rx_id: int) -> None:
        if rx_id in self._details_in_flight:
            return
        self._details_in_flight.add(rx_id)
        api = self.api

        def done(rx: dict[str, Any]) -> None:
            self._details_in_flight.discard(rx_id)
            if not self._started:
                return
            for m in self.models:
                m.fill(rx)

        def failed(exc: BaseException) -> None:
            self._details_in_flight.discard(rx_id)
            log.info("prescription %s not loaded: %s", rx_id, exc)

        Op(lambda: api.prescription(rx_id), parent=self).success(done).failure(failed).run()
