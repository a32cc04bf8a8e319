"""What the pharmacist's and the refund clerk's feeds share: loading each list's snapshot while the stream runs.

:class:`ListFeed` owns the models' snapshots: it loads each model (:meth:`ListFeed._fetcher` says how), keeps the
stream events that arrive while a snapshot is on its way and applies them again after it (an older snapshot never
undoes a newer event), reloads everything on a ``resync``, and reloads a model once more when asked again during
its load. A subclass handles the events (``_on_events``) and the details of rows born from events
(``fetch_details``).
"""
from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, Signal

from workstation.services.api import ApiClient
from workstation.services.changes import ChangeHub
from workstation.services.ops import Op


class ListFeed(QObject):
    sig_loaded = Signal(object)  # the model whose snapshot is in
    sig_load_failed = Signal(object)  # the exception

    what = "list"  # what a failed load's log line names

    def __init__(self, *, models: list[Any], api: ApiClient, hub: ChangeHub, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.models = models
        self.api = api
        self.hub = hub
        self._started = False
        self._loading: dict[int, list[dict[str, Any]]] = {}  # id(model) → events buffered during its load
        self._reload_again: set[int] = set()
        self._details_in_flight: set[int] = set()

    # --- what a subclass says ---------------------------------------------------------------------------------

    def _fetcher(self, model: Any) -> Callable[[], list[dict[str, Any]]]:
        """The call (run off the GUI thread) that returns ``model``'s snapshot rows."""
        raise NotImplementedError

    def _on_events(self, events: list[dict[str, Any]]) -> None:
        raise NotImplementedError

    def fetch_details(self, entry_id: int) -> None:
        raise NotImplementedError

    # --- running ------------------------------------------------------------------------------------------------

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

    def reload_model(self, model: Any) -> None:
        key = id(model)
        if key in self._loading:
            self._reload_again.add(key)
            return
        self._loading[key] = []
        Op(self._fetcher(model), parent=self).success(lambda rows: self._loaded(model, rows)) \
            .failure(lambda exc: self._failed(model, exc)).run()

    def _loaded(self, model: Any, rows: list[dict[str, Any]]) -> None:
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

    def _failed(self, model: Any, exc: BaseException) -> None:
        key = id(model)
        self._loading.pop(key, None)
        logging.getLogger(type(self).__module__).info("%s list not loaded: %s", self.what, exc)
        self.sig_load_failed.emit(exc)
        if key in self._reload_again:
            self._reload_again.discard(key)
            self.reload_model(model)
