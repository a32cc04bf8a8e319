"""The change bus: what happened, told as Qt signals that always fire on the GUI thread.

Services run on worker threads (the event stream, the outbox sender, the pools); windows subscribe when they
open and unsubscribe when they close. Electrum's ``qt_event_listener`` idea: the hub re-emits on the GUI
thread, so a handler may touch widgets no matter which thread noticed the change. Services call the methods
(``hub.appointment_changed(...)``), never ``emit`` on the signals from a worker.

Stream events come in bursts (a clinic's morning, a reconnect's catch-up): the stream thread adds them to a batch
and only the first of a batch posts a call to the GUI thread, so a burst of hundreds costs the GUI thread one
hand-over and one ``sig_events`` (the list, in stream order), not hundreds. Subscribers that redraw a lot should
still only mark themselves dirty and work in slices (the queue feed does).
"""
from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QObject, Qt, QThread, Signal, Slot

CONNECTING = "connecting"
LIVE = "live"
OFFLINE = "offline"
CONNECTION_STATES = (CONNECTING, LIVE, OFFLINE)


@dataclass(frozen=True, slots=True)
class Change:
    """One change, with who caused it: the widget that acted passes itself as ``initiator`` and skips the
    redraw when it sees itself here."""

    kind: str  # queue | appointment | outbox | draft
    object_id: int | None = None
    initiator: object | None = None


class ChangeHub(QObject):
    sig_queue_changed = Signal()
    sig_appointment_changed = Signal(int)
    sig_connection_changed = Signal(str)
    sig_outbox_changed = Signal(int, int)  # pending, failed
    sig_session_expired = Signal()
    sig_event = Signal(object)  # one stream event (a dict); prefer sig_events for anything that redraws
    sig_events = Signal(object)  # list[dict]: the stream events of one batch, in stream order
    # additions to the architecture doc
    sig_change = Signal(object)  # Change, with the initiator, for every queue/appointment/outbox change
    sig_resync_needed = Signal()  # the stream's cursor is too old: reload the queue, then continue
    sig_outbox_item = Signal(object)  # an OutboxItem whose state changed (sent / failed / retrying)

    _sig_post = Signal(object)

    def __init__(self, *, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._sig_post.connect(self._run, Qt.ConnectionType.QueuedConnection)
        self._lock = threading.Lock()
        self._connection = OFFLINE
        self._outbox_counts = (0, 0)
        self._events: list[dict[str, Any]] = []  # stream events not yet handed to the GUI thread

    # --- marshalling ------------------------------------------------------------------------------------------

    def _post(self, fn: Any) -> None:
        if QThread.currentThread() == self.thread():
            fn()
        else:
            self._sig_post.emit(fn)

    @Slot(object)
    def _run(self, fn: Any) -> None:
        fn()

    # --- what services call -----------------------------------------------------------------------------------

    @property
    def connection(self) -> str:
        """The last state reported (a window that opens late reads it instead of waiting for a change)."""
        return self._connection

    @property
    def outbox_counts(self) -> tuple[int, int]:
        return self._outbox_counts

    def queue_changed(self, *, initiator: object | None = None) -> None:
        def fire() -> None:
            self.sig_queue_changed.emit()
            self.sig_change.emit(Change("queue", None, initiator))
        self._post(fire)

    def appointment_changed(self, appointment_id: int, *, initiator: object | None = None) -> None:
        def fire() -> None:
            self.sig_appointment_changed.emit(appointment_id)
            self.sig_change.emit(Change("appointment", appointment_id, initiator))
        self._post(fire)

    def connection_changed(self, state: str) -> None:
        if state not in CONNECTION_STATES:
            raise ValueError(f"unknown connection state {state!r}")
        with self._lock:
            if state == self._connection:
                return
            self._connection = state
        self._post(lambda: self.sig_connection_changed.emit(state))

    def outbox_changed(self, pending: int, failed: int, *, initiator: object | None = None) -> None:
        self._outbox_counts = (pending, failed)

        def fire() -> None:
            self.sig_outbox_changed.emit(pending, failed)
            self.sig_change.emit(Change("outbox", None, initiator))
        self._post(fire)

    def outbox_item(self, item: object) -> None:
        self._post(lambda: self.sig_outbox_item.emit(item))

    def session_expired(self) -> None:
        self._post(self.sig_session_expired.emit)

    def stream_event(self, event: dict[str, Any]) -> None:
        """One stream event (``{id, kind, topic, object_type, object_id, at, payload}``)."""
        with self._lock:
            self._events.append(event)
            first = len(self._events) == 1
        if first:  # the call already posted for this batch takes the later ones along
            self._post(self._deliver_events)

    def _deliver_events(self) -> None:
        with self._lock:
            batch, self._events = self._events, []
        if not batch:
            return
        for event in batch:
            self.sig_event.emit(event)
        self.sig_events.emit(batch)

    def resync_needed(self) -> None:
        self._post(self.sig_resync_needed.emit)
