"""The prescription being written: kept on this computer at every change, sent to the server shortly after.

Two copies, two jobs. The local one (the store's cache table, ``rx-draft:<appointment>``) is written on the
``db`` pool at every change, so a crash or a closed window loses nothing, and it survives a restart: the editor
reads it back when the appointment is opened again and sends what the server had not yet seen. The server's copy
is what the checks run on: a debounced ``PUT`` with the draft's ``revision`` (a ``POST`` creates it on the first
change); its answer carries the findings and the next revision. A stale revision (``409 draft_conflict``: the
same prescription was edited elsewhere) reloads the server's copy and says so; a network error keeps the local
copy dirty and tries again a little later.
"""
from __future__ import annotations

import copy
import logging
import time
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QTimer, Signal

from workstation.services.api import ApiError, NetworkError, new_idempotency_key
from workstation.services.ops import Op

log = logging.getLogger(__name__)

LOCAL_KEY = "rx-draft:{}"
RETRY_MS = 5000


def local_key(appointment_id: int) -> str:
    return LOCAL_KEY.format(appointment_id)


class PrescriptionSync(QObject):
    """The autosave of one appointment's current draft (the editor makes a new one per appointment)."""

    sig_saved = Signal(object)  # the server's Prescription after a POST/PUT
    sig_conflict = Signal(object)  # the server's Prescription, reloaded after 409 (edited elsewhere / not editable)
    sig_failed = Signal(object)  # ApiError | NetworkError of an autosave
    sig_local_saved = Signal(float)  # time.time() of the local write
    sig_idle = Signal()  # nothing unsent any more

    def __init__(self, *, api: Any, store: Any | None, appointment_id: int, debounce_ms: int = 500,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.api = api
        self.store = store
        self.appointment_id = appointment_id
        self.rx_id: int | None = None
        self.revision: int | None = None
        self.draft: dict[str, Any] | None = None
        self.dirty = False
        self.blocked = False  # the server refused for good (not editable, no consent): no more automatic sends
        self._seq = 0  # bumped per change: an answer for an older draft leaves ``dirty`` set
        self._in_flight = False
        self._idle_callbacks: list[Callable[[], None]] = []
        self._debounce = QTimer(self)
        self._debounce.setSingleShot(True)
        self._debounce.setInterval(debounce_ms)
        self._debounce.timeout.connect(self.push)
        self._retry = QTimer(self)
        self._retry.setSingleShot(True)
        self._retry.setInterval(RETRY_MS)
        self._retry.timeout.connect(self.push)

    # --- state ------------------------------------------------------------------------------------------------

    @property
    def busy(self) -> bool:
        return self.dirty or self._in_flight

    def adopt(self, prescription: dict[str, Any] | None, draft: dict[str, Any] | None) -> None:
        """Start from the server's prescription (``None`` for a new one) with ``draft`` as its editable part."""
        self.rx_id = int(prescription["id"]) if prescription else None
        self.revision = int(prescription["revision"]) if prescription else None
        self.draft = copy.deepcopy(draft)
        self.dirty = False
        self.blocked = False
        self._seq += 1

    def resume(self, local: dict[str, Any]) -> None:
        """Carry on from the local copy of a previous run: its changes are sent now."""
        self.rx_id = local.get("rx_id")
        self.revision = local.get("revision")
        self.draft = copy.deepcopy(local.get("draft"))
        self.blocked = False
        self._seq += 1
        self.dirty = True
        self.push()

    # --- changes ----------------------------------------------------------------------------------------------

    def changed(self, draft: dict[str, Any]) -> None:
        """The doctor changed something (GUI thread): the local copy now, the server's after the debounce."""
        self.draft = copy.deepcopy(draft)
        self.dirty = True
        self.blocked = False
        self._seq += 1
        self._write_local()
        self._debounce.start()

    def _record(self) -> dict[str, Any]:
        return {"appointment_id": self.appointment_id, "rx_id": self.rx_id, "revision": self.revision,
                "draft": copy.deepcopy(self.draft), "dirty": self.dirty, "saved_at": time.time()}

    def _write_local(self) -> None:
        store = self.store
        if store is None:
            return
        record, key = self._record(), local_key(self.appointment_id)
        Op(lambda: store.cache_put(key, record), parent=self, pool="db") \
            .success(lambda _r: self.sig_local_saved.emit(record["saved_at"])) \
            .failure(lambda exc: log.error("prescription draft not saved locally: %s", exc)).run()

    def forget_local(self) -> None:
        """The draft was signed (or voided): nothing is left to recover."""
        if self.store is not None:
            store, key = self.store, local_key(self.appointment_id)
            Op(lambda: store.cache_put(key, None), parent=self, pool="db").run()

    # --- the server ---------------------------------------------------------------------------------------------

    def push(self) -> None:
        """Send the current draft now (the debounce, the retry and the editor before signing call this)."""
        self._debounce.stop()
        if self._in_flight or not self.dirty or self.draft is None or self.blocked:
            if not self.busy:
                self._went_idle()
            return
        self._in_flight = True
        seq, draft, rx_id, revision = self._seq, copy.deepcopy(self.draft), self.rx_id, self.revision
        api, appointment_id = self.api, self.appointment_id
        key = new_idempotency_key()

        def send() -> dict[str, Any]:
            if rx_id is None:
                return api.create_prescription(appointment_id, draft, key=key)  # type: ignore[no-any-return]
            return api.update_prescription(rx_id, draft, revision=int(revision or 0), key=key)  # type: ignore

        Op(send, parent=self).success(lambda rx: self._sent(seq, rx)).failure(lambda exc: self._failed(exc)).run()

    def _sent(self, seq: int, prescription: dict[str, Any]) -> None:
        self._in_flight = False
        self.rx_id = int(prescription["id"])
        self.revision = int(prescription["revision"])
        if seq == self._seq:
            self.dirty = False
        self._write_local()
        self.sig_saved.emit(prescription)
        if self.dirty:
            self.push()
        else:
            self._went_idle()

    def _failed(self, exc: BaseException) -> None:
        self._in_flight = False
        if isinstance(exc, NetworkError) or (isinstance(exc, ApiError) and exc.transient):
            self.sig_failed.emit(exc)
            self._retry.start()  # the local copy is safe; try again
            callbacks, self._idle_callbacks = self._idle_callbacks, []
            for cb in callbacks:  # a sign waiting for this save learns it did not reach the server
                cb()
            return
        if isinstance(exc, ApiError) and exc.code in ("draft_conflict", "prescription_immutable", "invalid_state") \
                and self.rx_id is not None:
            self._reload(exc)
            return
        self.blocked = True  # e.g. consent_required, validation: wait for the doctor (or the consent)
        self.sig_failed.emit(exc)
        self._went_idle()

    def _reload(self, exc: ApiError) -> None:
        rx_id, api = self.rx_id, self.api
        assert rx_id is not None

        def done(prescription: dict[str, Any]) -> None:
            self.dirty = False
            self.revision = int(prescription["revision"])
            self._write_local()
            self.sig_conflict.emit({"prescription": prescription, "code": exc.code, "message": exc.message})
            self._went_idle()

        def gone(e: BaseException) -> None:
            self.blocked = True
            self.sig_failed.emit(e)
            self._went_idle()

        Op(lambda: api.prescription(rx_id), parent=self).success(done).failure(gone).run()

    # --- waiting for the autosave -----------------------------------------------------------------------------

    def when_idle(self, cb: Callable[[], None]) -> None:
        """Run ``cb`` once everything typed has reached the server (or failed): signing waits for it."""
        if not self.busy or self.blocked:
            cb()
            return
        self._idle_callbacks.append(cb)
        if not self._in_flight:
            self.push()

    def _went_idle(self) -> None:
        callbacks, self._idle_callbacks = self._idle_callbacks, []
        self.sig_idle.emit()
        for cb in callbacks:
            cb()

    def stop(self) -> None:
        self._debounce.stop()
        self._retry.stop()
        self._idle_callbacks.clear()
