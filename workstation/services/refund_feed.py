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
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import Signal

from workstation.models.refunds import APPLICATIONS, RefundListModel, is_refund_event
from workstation.services.list_feed import ListFeed
from workstation.services.ops import Op

log = logging.getLogger(__name__)

PAGE = 200
MAX_ROWS = 2000  # applications waiting for review: a window's work, not an archive


class RefundFeed(ListFeed):
    what = "refund"

    sig_refund_changed = Signal(int)  # an event or a fetch touched this refund (redraw it if shown)
    sig_refund_loaded = Signal(object)  # a whole RefundPublic fetched or answered (the detail pane takes it)
    sig_money_events = Signal(object)  # list[dict]: the refund and payment events of one batch, in stream order

    def _fetcher(self, model: RefundListModel) -> Callable[[], list[dict[str, Any]]]:
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

        return fetch

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
