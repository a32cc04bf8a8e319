"""Keeps the refund clerk's lists current: the snapshots, the money events, the details of rows born from events.

Like the pharmacist's feed (services/review_feed.py): the window reads the stream's cursor first, then this feed
loads each list — the applications queue from ``GET /staff/refunds?status=requested&path=application`` (paged),
the exception list from ``GET /staff/refunds/exceptions`` — and the stream starts from that cursor. Events that
arrive while a snapshot is on its way are applied again after it (an older snapshot never undoes a newer event),
a ``resync`` reloads everything, and a refund an event brought is fetched once (``GET /staff/refunds/{id}``).

Other parts of the window (an open order's refunds, the day's reconciliation) listen to ``sig_money_events``
(refund events and ``payment.*``: a payment made or closed) and refresh what they show when an event is about it.
"""
from __future__ import annotations

import logging
from typing import Any

from PySide6.QtCore import QObject, Signal

from workstation.models.refunds import APPLICATIONS, RefundListModel, is_refund_event
from workstation.services.api import ApiClient
from workstation.services.changes import ChangeHub
from workstation.services.ops import Op

log = logging.getLogger(__name__)

PAGE = 200
MAX_ROWS = 2000  # applications waiting for review: a window's work, not an archive


class RefundFeed(QObject):
    sig_loaded = Signal(object)  # the model whose snapshot is in
    sig_load_failed = Signal(object)  # the exception
    sig_refund_changed = Signal(int)  # an event or a fetch touched this refund (redraw it if shown)
    sig_refund_loaded = Signal(object)  # a whole RefundPublic fetched or answered (the detail pane takes it)
    sig_money_events = Signal(object)  # list[dict]: the refund and payment events of one batch, in stream order

    def __init__(self, *, models: list[RefundListModel], api: ApiClient, hub: ChangeHub,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.models = models
        self.api = api
        self.hub = hub
        self._started = False
        self._loading: dict[int, list[dict[str, Any]]] = {}  # id(model) → events buffered during its load
        self._reload_again: set[int] = set()
        self._details_in_flight: set[int] = set()

    @property
    def started(self) -> bool:
        return self._started

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

    def reload_model(self, model: RefundListModel) -> None:
        key = id(model)
        if key in self._loading:
            self._reload_again.add(key)
            return
        self._loading[key] = []
        api = self.api

        def fetch() -> list[dict[str, Any]]:
            if model.kind != APPLICATIONS:
                return api.refund_exceptions(limit=PAGE)
            rows: list[dict[str, Any]] = []
            offset = 0
            while True:
                page = api.refunds(status="requested", path="application", limit=PAGE, offset=offset)
                rows.extend(page)
                offset += len(page)
                if len(page) < PAGE or offset >= MAX_ROWS:
                    return rows

        Op(fetch, parent=self).success(lambda rows: self._loaded(model, rows)) \
            .failure(lambda exc: self._failed(model, exc)).run()

    def _loaded(self, model: RefundListModel, rows: list[dict[str, Any]]) -> None:
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

    def _failed(self, model: RefundListModel, exc: BaseException) -> None:
        key = id(model)
        self._loading.pop(key, None)
        log.info("refund list not loaded: %s", exc)
        self.sig_load_failed.emit(exc)
        if key in self._reload_again:
            self._reload_again.discard(key)
            self.reload_model(model)

    # --- live ---------------------------------------------------------------------------------------------------

    def _on_events(self, events: list[dict[str, Any]]) -> None:
        if not self._started:
            return
        money = [e for e in events if is_refund_event(e) or e.get("object_type") == "payment"]
        if not money:
            return
        touched: list[int] = []
        for event in (e for e in money if is_refund_event(e)):
            for m in self.models:
                buffer = self._loading.get(id(m))
                if buffer is not None:
                    buffer.append(event)
                m.apply_event(event)
            refund_id = (event.get("payload") or {}).get("refund_id") or event.get("object_id")
            if refund_id is not None and int(refund_id) not in touched:
                touched.append(int(refund_id))
        for refund_id in touched:
            self.sig_refund_changed.emit(refund_id)
        self.sig_money_events.emit(money)

    def apply_refund(self, refund: dict[str, Any]) -> None:
        """A whole refund from an action's answer: every list takes it in or lets it go."""
        for m in self.models:
            m.apply_refund(refund)
        self.sig_refund_loaded.emit(refund)
        self.sig_refund_changed.emit(int(refund["id"]))

    def fetch_details(self, refund_id: int) -> None:
        if refund_id in self._details_in_flight:
            return
        self._details_in_flight.add(refund_id)
        api = self.api

        def done(refund: dict[str, Any]) -> None:
            self._details_in_flight.discard(refund_id)
            if not self._started:
                return
            for m in self.models:
                m.fill(refund)
            self.sig_refund_loaded.emit(refund)

        def failed(exc: BaseException) -> None:
            self._details_in_flight.discard(refund_id)
            log.info("refund %s not loaded: %s", refund_id, exc)

        Op(lambda: api.refund(refund_id), parent=self).success(done).failure(failed).run()
