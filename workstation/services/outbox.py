"""The outbox: every outgoing action is written to the local store first, then sent, until the server answers.

Why: a doctor's "accept", "finish" or clinic stop must not vanish because the network dropped, the server was
restarting or the workstation crashed between the click and the answer. The action is committed to the store
with a fresh idempotency key before anything goes on the wire; one sender thread sends pending actions in the
order they were made. The server keeps the answer of each key, so an action sent twice (its answer was lost,
or the workstation died after sending but before noting it) takes effect once.

Verdicts: a 2xx marks it ``sent``; a refusal (4xx) marks it ``failed`` with the server's message, for the doctor
to read, and the queue moves on; a network error, a 5xx or ``request_in_progress`` keeps it ``pending`` and the
sender backs off (stopping there, so later actions never overtake it); an expired session pauses the outbox
until the doctor signs in again.
"""
from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any, TypeVar

from workstation.services import api as api_mod
from workstation.services.api import ActionRequest, ApiClient, ApiError, NetworkError, SessionExpired
from workstation.services.changes import ChangeHub
from workstation.services.ops import executor
from workstation.services.store import OutboxItem, Store

log = logging.getLogger(__name__)

T = TypeVar("T")

SENT_OK, RETRY_LATER, REFUSED = "sent", "retry", "refused"


class Outbox:
    def __init__(self, *, store: Store, api: ApiClient, hub: ChangeHub | None = None,
                 backoff_initial_s: float = 0.5, backoff_max_s: float = 15.0) -> None:
        self.store = store
        self.api = api
        self.hub = hub
        self.backoff_initial_s = backoff_initial_s
        self.backoff_max_s = backoff_max_s
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._paused = False
        self._thread: threading.Thread | None = None
        self._initiators: dict[int, object] = {}
        self._lock = threading.Lock()

    # --- life -------------------------------------------------------------------------------------------------

    def start(self) -> None:
        """Start the sender; pending actions from an earlier run (a crash, a restart) are sent first, in order."""
        if self._thread is not None and self._thread.is_alive():
            return
        self._stopping.clear()
        self._thread = threading.Thread(target=self._run, name="ws-outbox", daemon=True)
        self._thread.start()
        self.wake()

    def stop(self, *, timeout: float = 5.0) -> None:
        """Stop sending (at exit). Pending actions stay in the store for the next start."""
        self._stopping.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    @property
    def paused(self) -> bool:
        return self._paused

    def pause(self) -> None:
        """Signed out or session expired: keep everything, send nothing."""
        self._paused = True

    def resume(self) -> None:
        """Signed in again (``api`` carries the new token): send what waited, at once."""
        self._paused = False
        self.wake()

    def wake(self) -> None:
        """Try now instead of at the end of the back-off (e.g. the event stream is live again)."""
        self._wake.set()

    # --- adding actions (safe on the GUI thread: they return futures) ------------------------------------------

    def add(self, action: ActionRequest) -> OutboxItem:
        """Blocking: write the action (call it on the ``db`` pool). The sender is woken."""
        item = self.store.outbox_add(action)
        self._publish_counts()
        self.wake()
        return item

    def submit(self, action: ActionRequest, *, initiator: object | None = None) -> Future[OutboxItem]:
        """Queue an action from anywhere (the GUI thread too); the future holds the stored item."""
        def write() -> OutboxItem:
            item = self.store.outbox_add(action)
            if initiator is not None:
                with self._lock:
                    self._initiators[item.id] = initiator
            self._publish_counts()
            self.wake()
            return item
        return executor("db").submit(write)

    def accept(self, appointment_id: int, *, initiator: object | None = None) -> Future[OutboxItem]:
        return self.submit(api_mod.accept_request(appointment_id), initiator=initiator)

    def save_record(self, appointment_id: int, payload: dict[str, Any], *, initiator: object | None = None
                    ) -> Future[OutboxItem]:
        return self.submit(api_mod.save_record_request(appointment_id, payload), initiator=initiator)

    def finish(self, appointment_id: int, payload: dict[str, Any], *, initiator: object | None = None
               ) -> Future[OutboxItem]:
        return self.submit(api_mod.finish_request(appointment_id, payload), initiator=initiator)

    def mark_missed(self, appointment_id: int, reason: str, *, initiator: object | None = None
                    ) -> Future[OutboxItem]:
        return self.submit(api_mod.missed_request(appointment_id, reason), initiator=initiator)

    def clinic_stop(self, payload: dict[str, Any], *, initiator: object | None = None) -> Future[OutboxItem]:
        return self.submit(api_mod.clinic_stop_request(payload), initiator=initiator)

    # --- the doctor's handling of failed actions ----------------------------------------------------------------

    def items(self, *, states: tuple[str, ...] = ("pending", "failed")) -> Future[list[OutboxItem]]:
        return executor("db").submit(self.store.outbox_items, states=states)

    def retry(self, item_id: int) -> Future[None]:
        def run() -> None:
            self.store.outbox_retry(item_id)
            self._publish_counts()
            self.wake()
        return executor("db").submit(run)

    def dismiss(self, item_id: int) -> Future[None]:
        def run() -> None:
            self.store.outbox_dismiss(item_id)
            self._publish_counts()
        return executor("db").submit(run)

    def counts(self) -> Future[tuple[int, int]]:
        return executor("db").submit(self.store.outbox_counts)

    # --- the sender thread ----------------------------------------------------------------------------------------

    def _db(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        return executor("db").submit(fn, *args, **kwargs).result()

    def _publish_counts(self) -> None:
        """Called on the db thread or the sender thread: counts straight from the store, so they are never stale."""
        if self.hub is None:
            return
        try:
            pending, failed = self.store.outbox_counts()
        except Exception:
            log.exception("outbox: counting failed")
            return
        self.hub.outbox_changed(pending, failed)

    def _run(self) -> None:
        delay = self.backoff_initial_s
        self._db(self._publish_counts)
        while not self._stopping.is_set():
            self._wake.clear()  # before reading: an action added from now on wakes the wait below
            if self._paused:
                self._wake.wait()
                continue
            try:
                items = self._db(self.store.outbox_pending)
            except Exception:
                log.exception("outbox: reading pending actions failed")
                self._wake.wait(delay)
                continue
            if not items:
                self._wake.wait()
                continue
            blocked = False
            for item in items:
                if self._stopping.is_set() or self._paused:
                    blocked = True
                    break
                verdict = self._send(item)
                if verdict == RETRY_LATER:
                    blocked = True
                    break
            if blocked and not self._stopping.is_set() and not self._paused:
                self._wake.wait(delay)
                delay = min(delay * 2, self.backoff_max_s)
            elif not blocked:
                delay = self.backoff_initial_s

    def _send(self, item: OutboxItem) -> str:
        try:
            response = self.api.send(item.request, key=item.idempotency_key)
        except SessionExpired as exc:
            self._paused = True
            self._db(self.store.outbox_note_attempt, item.id, error=exc.message, status=exc.status)
            if self.hub is not None and self.api.on_session_expired is None:  # else the client told it already
                self.hub.session_expired()
            return RETRY_LATER
        except NetworkError as exc:
            self._db(self.store.outbox_note_attempt, item.id, error=str(exc), status=None)
            return RETRY_LATER
        except ApiError as exc:
            if exc.transient:
                self._db(self.store.outbox_note_attempt, item.id, error=exc.message, status=exc.status)
                return RETRY_LATER
            self._db(self.store.outbox_mark_failed, item.id, error=exc.message, status=exc.status,
                     details={"code": exc.code, "details": exc.details})
            self._done(item)
            return REFUSED
        except Exception as exc:
            log.exception("outbox: sending %s failed unexpectedly", item.kind)
            self._db(self.store.outbox_note_attempt, item.id, error=repr(exc), status=None)
            return RETRY_LATER
        self._db(self.store.outbox_mark_sent, item.id, response=response)
        self._done(item)
        return SENT_OK

    def _done(self, item: OutboxItem) -> None:
        with self._lock:
            initiator = self._initiators.pop(item.id, None)
        self._db(self._publish_counts)
        if self.hub is None:
            return
        final = self._db(self.store.outbox_get, item.id)
        if final is not None:
            self.hub.outbox_item(final)
        if item.appointment_id is not None:
            self.hub.appointment_changed(item.appointment_id, initiator=initiator)
