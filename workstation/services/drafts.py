"""Autosave of the consultation form: nothing a doctor typed is lost to a crash or a closed window.

The form reports every change (:meth:`DraftKeeper.changed`); a short debounce writes it shortly after the
typing stops, and a slower timer writes whatever is still unsaved every few seconds while the typing goes on.
Writes run on the ``db`` pool. :meth:`load` gives the draft back when the appointment is opened again, also in
a new process after a crash. :meth:`discard` after the visit is finished (and its action is in the outbox).
"""
from __future__ import annotations

import copy
import logging
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any

from PySide6.QtCore import QObject, QTimer, Signal

from workstation.services.ops import Op, executor
from workstation.services.store import Store

log = logging.getLogger(__name__)


class DraftKeeper(QObject):
    sig_draft_saved = Signal(int)  # appointment id

    def __init__(self, store: Store, *, interval_ms: int = 3000, debounce_ms: int = 400,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.store = store
        self._dirty: dict[int, Any] = {}
        self._debounce = QTimer(self)
        self._debounce.setSingleShot(True)
        self._debounce.setInterval(debounce_ms)
        self._debounce.timeout.connect(self.flush)
        self._periodic = QTimer(self)
        self._periodic.setInterval(interval_ms)
        self._periodic.timeout.connect(self.flush)
        self._periodic.start()

    @property
    def unsaved(self) -> set[int]:
        return set(self._dirty)

    def changed(self, appointment_id: int, payload: dict[str, Any]) -> None:
        """The form changed (GUI thread). Cheap: only remembers it and restarts the debounce."""
        self._dirty[appointment_id] = copy.deepcopy(payload)
        self._debounce.start()

    def flush(self) -> Future[list[int]] | None:
        """Write everything unsaved now (also before the window closes); the future holds the ids written."""
        if not self._dirty:
            return None
        batch, self._dirty = self._dirty, {}

        def write() -> list[int]:
            for appointment_id, payload in batch.items():
                self.store.draft_save(appointment_id, payload)
            return list(batch)

        op = Op(write, parent=self, pool="db").success(self._saved).failure(self._failed(batch)).run()
        return op.future

    def _saved(self, ids: list[int]) -> None:
        for appointment_id in ids:
            self.sig_draft_saved.emit(appointment_id)

    def _failed(self, batch: dict[int, Any]) -> Callable[[BaseException], None]:
        def put_back(exc: BaseException) -> None:
            log.error("draft autosave failed: %s", exc)
            for appointment_id, payload in batch.items():
                self._dirty.setdefault(appointment_id, payload)  # newer edits win
        return put_back

    def load(self, appointment_id: int) -> Future[Any | None]:
        """The saved draft (or the unsaved edit still in memory), None when there is none."""
        if appointment_id in self._dirty:
            done: Future[Any | None] = Future()
            done.set_result(copy.deepcopy(self._dirty[appointment_id]))
            return done
        return executor("db").submit(self.store.draft_get, appointment_id)

    def restore(self, appointment_id: int, cb: Callable[[Any | None], None]) -> None:
        """:meth:`load` with the answer delivered on the GUI thread."""
        if appointment_id in self._dirty:
            cb(copy.deepcopy(self._dirty[appointment_id]))
            return
        Op(lambda: self.store.draft_get(appointment_id), parent=self, pool="db").success(cb).run()

    def discard(self, appointment_id: int) -> Future[None]:
        """The visit is over: forget the draft (in memory and on disk)."""
        self._dirty.pop(appointment_id, None)
        return executor("db").submit(self.store.draft_delete, appointment_id)

    def stop(self) -> None:
        self._periodic.stop()
        self._debounce.stop()
        self.flush()
