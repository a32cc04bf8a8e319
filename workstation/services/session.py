"""The signed-in staff member and the services that live as long as the sign-in: store, outbox, stream.

An expired session (idle timeout, logout elsewhere) must not cost the doctor any work: drafts and the outbox
stay in the store, the outbox pauses, the stream waits, and :meth:`UserSession.resume` after a new sign-in of
the same user carries on where everything stood. Signing in as someone else is a new session (another store).

Blocking methods (``sign_in``, ``resume``, ``sign_out``) run on the ``net`` pool; the signals fire on the GUI
thread through the hub.
"""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Signal

from workstation.services.api import ApiClient, ApiError
from workstation.services.changes import ChangeHub
from workstation.services.events import EventStream
from workstation.services.outbox import Outbox
from workstation.services.store import Store

log = logging.getLogger(__name__)


class UserSession(QObject):
    sig_expired = Signal()  # sign in again; open work is kept

    def __init__(self, *, base_url: str, hub: ChangeHub, data_dir: Path | None = None,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.base_url = base_url.rstrip("/")
        self.hub = hub
        self.data_dir = data_dir
        self.api = ApiClient(self.base_url, on_session_expired=hub.session_expired)
        self.staff: dict[str, Any] | None = None
        self.idle_timeout_s: int | None = None
        self.hospital = ""  # the hospital's name (printed documents), from the sign-in
        self.store: Store | None = None
        self.outbox: Outbox | None = None
        self.stream: EventStream | None = None
        self.expired = False
        hub.sig_session_expired.connect(self._on_expired)

    @property
    def signed_in(self) -> bool:
        return self.staff is not None and not self.expired

    @property
    def username(self) -> str | None:
        return None if self.staff is None else str(self.staff["username"])

    @property
    def role(self) -> str | None:
        return None if self.staff is None else str(self.staff["role"])

    # --- blocking (worker thread) ---------------------------------------------------------------------------------

    def sign_in(self, username: str, password: str) -> dict[str, Any]:
        """Log in, open this user's store and start the outbox and, for roles with a stream, the events.

        Raises ``ApiError`` (401 bad_credentials, 423 account_locked) or ``NetworkError``.
        """
        body = self.api.login(username, password)
        self.staff = body["staff"]
        self.idle_timeout_s = body.get("idle_timeout_s")
        self.hospital = str(body.get("hospital") or "")
        self.expired = False
        self.store = Store.for_user(server_url=self.base_url, username=username, base_dir=self.data_dir)
        self.outbox = Outbox(store=self.store, api=self.api, hub=self.hub)
        self.outbox.start()
        self.stream = EventStream(base_url=self.base_url, token=self.api.token, hub=self.hub, store=self.store)
        return self.staff  # type: ignore[return-value]

    def start_stream(self, *, after: int | None = None) -> None:
        """Start the event stream (after the first queue snapshot, from the cursor read before it)."""
        if self.stream is None:
            return
        if after is not None:
            self.stream = EventStream(base_url=self.base_url, token=self.api.token, hub=self.hub,
                                      store=self.store, after=after)
        self.stream.start()

    def resume(self, password: str) -> dict[str, Any]:
        """Sign the same user in again after expiry; the outbox and stream carry on with the new token."""
        if self.staff is None:
            raise RuntimeError("nobody was signed in")
        username = str(self.staff["username"])
        fresh = ApiClient(self.base_url, timeout=self.api.timeout)
        body = fresh.login(username, password)
        if body["staff"]["id"] != self.staff["id"]:
            raise ApiError(409, "different_user", "请以原用户重新登录，以免丢失未保存的工作")
        self.api.token = fresh.token
        self.staff = body["staff"]
        self.expired = False
        if self.outbox is not None:
            self.outbox.resume()
        if self.stream is not None:
            self.stream.set_token(self.api.token)
        return self.staff  # type: ignore[return-value]

    def sign_out(self) -> None:
        """Log out on the server (when reachable) and stop the services. The store keeps drafts and pending
        actions for the next sign-in of this user."""
        try:
            if self.api.token:
                self.api.logout()
        except Exception as exc:  # noqa: BLE001 - signing out locally must always work
            log.info("logout on the server failed: %s", exc)
        self.close()

    def close(self) -> None:
        """Stop the threads (blocking, a few seconds at most)."""
        if self.stream is not None:
            self.stream.stop()
        if self.outbox is not None:
            self.outbox.stop()
        if self.store is not None:
            self.store.close()
        self.staff = None
        self.api.token = None

    # --- GUI thread -------------------------------------------------------------------------------------------

    def _on_expired(self) -> None:
        if self.staff is None or self.expired:
            return
        self.expired = True
        if self.outbox is not None:
            self.outbox.pause()
        self.sig_expired.emit()
