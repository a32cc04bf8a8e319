"""Keeps the pharmacist's lists current: the snapshots, the stream, the details of rows born from events.

Like the doctor's queue feed (services/queue_feed.py): each list is loaded from ``GET /staff/prescriptions?status=``
(one call per status it holds), stream events that arrive while a snapshot is on its way are applied again after
it (an older snapshot never undoes a newer event), a ``resync`` reloads everything, and a row born from an event
has its prescription fetched once.
"""
from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import Signal

from workstation.models.review import ReviewListModel
from workstation.services.list_feed import ListFeed
from workstation.services.ops import Op

log = logging.getLogger(__name__)

PAGE = 200
MAX_ROWS = 2000  # per status: the lists are a day's work, not an archive


class ReviewFeed(ListFeed):
    what = "prescription"

    sig_prescription_changed = Signal(int)  # an event or a fetch touched this prescription (redraw it if shown)

    def _fetcher(self, model: ReviewListModel) -> Callable[[], list[dict[str, Any]]]:
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

        return fetch

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
