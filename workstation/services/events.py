"""The live event stream (``GET /api/v1/staff/events``, Server-Sent Events) on a daemon thread.

Why a thread and not polling: a check-in must reach the doctor's queue at once, and the server pushes it.
The stream resumes where it left off: every delivered event id is remembered (and written to the local store,
so a restarted workstation resumes too) and sent back as ``Last-Event-ID`` on reconnect; the server then sends
exactly the events after it, so a drop loses nothing and repeats nothing. Ids the stream already delivered are
skipped anyway, as a second guard.

Control frames: ``cursor`` moves the position without an event (nothing visible happened), ``resync`` says the
position is older than the server keeps events for (the queue must be reloaded: ``hub.sig_resync_needed``),
``session_expired`` ends the stream until :meth:`EventStream.set_token` gives it a new login. ``: keep-alive``
comments arrive every 15 s of silence; a read that sees nothing for ``read_timeout_s`` counts as a drop.
"""
from __future__ import annotations

import contextlib
import json
import logging
import socket
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import requests

from workstation.services.api import USER_AGENT, V1
from workstation.services.changes import CONNECTING, LIVE, OFFLINE, ChangeHub
from workstation.services.ops import executor
from workstation.services.store import Store

log = logging.getLogger(__name__)

CONTROL_KINDS = frozenset({"cursor", "resync", "session_expired"})


@dataclass(slots=True)
class SseFrame:
    event: str
    id: str | None
    data: str


def parse_sse(chunks: Iterator[bytes]) -> Iterator[SseFrame | None]:
    """Frames of a ``text/event-stream`` byte stream; ``None`` for a comment (a keep-alive)."""
    buf = b""
    event, ident, data = "message", None, []
    for chunk in chunks:
        buf += chunk
        while True:
            nl = buf.find(b"\n")
            if nl < 0:
                break
            raw, buf = buf[:nl], buf[nl + 1:]
            line = raw.rstrip(b"\r").decode("utf-8", errors="replace")
            if line == "":
                if data or event != "message":
                    yield SseFrame(event, ident, "\n".join(data))
                event, ident, data = "message", None, []
                continue
            if line.startswith(":"):
                yield None
                continue
            name, _, value = line.partition(":")
            value = value.removeprefix(" ")
            if name == "event":
                event = value
            elif name == "id":
                ident = value
            elif name == "data":
                data.append(value)
            # "retry:" and unknown fields: our back-off is our own


class EventStream:
    """``start()`` once signed in; events go to ``hub.sig_event`` (and ``on_event``, on the stream thread)."""

    def __init__(self, *, base_url: str, token: str | None, hub: ChangeHub | None = None,
                 store: Store | None = None, after: int | None = None,
                 on_event: Callable[[dict[str, Any]], None] | None = None,
                 backoff_initial_s: float = 0.5, backoff_max_s: float = 10.0, read_timeout_s: float = 45.0,
                 connect_timeout_s: float = 5.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.hub = hub
        self.store = store
        self.on_event = on_event
        self.backoff_initial_s = backoff_initial_s
        self.backoff_max_s = backoff_max_s
        self.read_timeout_s = read_timeout_s
        self.connect_timeout_s = connect_timeout_s
        self._token = token
        self._last_id: int | None = after
        self._explicit_start = after is not None
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._wake = threading.Event()
        self._expired = False
        self._thread: threading.Thread | None = None
        self._response: requests.Response | None = None
        self._persist_scheduled = False
        self.state = OFFLINE
        self.connects = 0  # successful connections (tests and diagnostics)

    # --- control ----------------------------------------------------------------------------------------------

    @property
    def last_id(self) -> int | None:
        """The newest event id delivered or skipped over (what a reconnect resumes after)."""
        return self._last_id

    @property
    def expired(self) -> bool:
        return self._expired

    def start(self) -> None:
        if self._thread is not None and self._thread.is_alive():
            return
        self._stopping.clear()
        self._thread = threading.Thread(target=self._run, name="ws-events", daemon=True)
        self._thread.start()

    def stop(self, *, timeout: float = 5.0) -> None:
        self._stopping.set()
        self._wake.set()
        self._abort()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
        self._persist_now()
        self._set_state(OFFLINE)

    def set_token(self, token: str | None) -> None:
        """A new login (after expiry): reconnect with it, from where the stream stood."""
        self._token = token
        self._expired = False
        self._abort()
        self._wake.set()

    def reconnect_now(self) -> None:
        """Skip the rest of the back-off (e.g. the network came back)."""
        self._wake.set()

    # --- the thread ---------------------------------------------------------------------------------------------

    def _set_state(self, state: str) -> None:
        self.state = state
        if self.hub is not None:
            self.hub.connection_changed(state)

    def _run(self) -> None:
        if self._last_id is None and not self._explicit_start and self.store is not None:
            with contextlib.suppress(Exception):
                self._last_id = executor("db").submit(lambda: self.store.last_event_id).result()  # type: ignore[union-attr]
        delay = self.backoff_initial_s
        self._set_state(CONNECTING)
        while not self._stopping.is_set():
            self._wake.clear()
            if self._expired or not self._token:
                self._set_state(OFFLINE)
                self._wake.wait()
                continue
            went_live = False
            try:
                went_live = self._read_once()
            except Exception as exc:  # noqa: BLE001 - any drop: back off and resume from the last id
                if not self._stopping.is_set():
                    log.info("event stream dropped: %s", exc)
            finally:
                self._response = None
            if self._stopping.is_set():
                break
            self._persist_now()
            if self._expired:
                continue
            self._set_state(OFFLINE)
            if went_live:
                delay = self.backoff_initial_s
            self._wake.wait(delay)
            delay = min(delay * 2, self.backoff_max_s)

    def _read_once(self) -> bool:
        """One connection, until it ends. True when it got as far as the live stream."""
        headers = {"Authorization": f"Bearer {self._token}", "Accept": "text/event-stream",
                   "User-Agent": USER_AGENT, "Cache-Control": "no-cache"}
        if self._last_id is not None:
            headers["Last-Event-ID"] = str(self._last_id)
        with requests.Session() as session:
            session.trust_env = False
            resp = session.get(f"{self.base_url}{V1}/staff/events", headers=headers, stream=True,
                               timeout=(self.connect_timeout_s, self.read_timeout_s))
            with resp:
                self._response = resp
                if self._stopping.is_set():
                    return False
                if resp.status_code == 401:
                    self._session_ended()
                    return False
                if resp.status_code != 200:
                    log.warning("event stream refused: HTTP %s %s", resp.status_code, resp.text[:200])
                    return False
                self.connects += 1
                self._set_state(LIVE)
                for frame in parse_sse(resp.iter_content(chunk_size=None)):
                    if self._stopping.is_set():
                        break
                    if frame is not None:
                        self._handle(frame)
                    if self._expired:
                        break
                return True

    def _handle(self, frame: SseFrame) -> None:
        kind = frame.event
        if kind == "session_expired":
            self._session_ended()
            return
        try:
            data = json.loads(frame.data) if frame.data else {}
        except ValueError:
            log.warning("event stream: undecodable frame %r", frame.data[:200])
            return
        if kind in ("cursor", "resync"):
            last = data.get("last_id", frame.id)
            if last is not None:
                self._advance(int(last))
            if kind == "resync" and self.hub is not None:
                self.hub.resync_needed()
            if kind == "resync" and self.on_event is not None:
                self.on_event({"kind": "resync", "last_id": last})
            return
        ident = int(frame.id) if frame.id is not None else data.get("id")
        if ident is None:
            return
        ident = int(ident)
        if self._last_id is not None and ident <= self._last_id:
            return  # delivered before (a server that repeated itself): never twice
        if self.hub is not None:
            self.hub.stream_event(data)
        if self.on_event is not None:
            try:
                self.on_event(data)
            except Exception:
                log.exception("event stream: on_event failed")
        self._advance(ident)

    def _advance(self, last_id: int) -> None:
        with self._lock:
            self._last_id = last_id
        self._persist_soon()

    def _session_ended(self) -> None:
        self._expired = True
        self._set_state(OFFLINE)
        if self.hub is not None:
            self.hub.session_expired()

    # --- remembering where we are -------------------------------------------------------------------------------

    def _persist_soon(self) -> None:
        """One store write in flight at most: a burst of events costs one write, not one each."""
        if self.store is None:
            return
        with self._lock:
            if self._persist_scheduled:
                return
            self._persist_scheduled = True
        executor("db").submit(self._persist_job)

    def _persist_job(self) -> None:
        with self._lock:
            self._persist_scheduled = False
            value = self._last_id
        if value is not None and self.store is not None:
            try:
                self.store.set_last_event_id(value)
            except Exception:
                log.exception("event stream: saving the position failed")

    def _persist_now(self) -> None:
        if self.store is None or self._last_id is None:
            return
        with contextlib.suppress(Exception):
            executor("db").submit(self._persist_job).result(timeout=5)

    def _abort(self) -> None:
        """Unblock a read in progress (closing alone does not wake a thread blocked in recv)."""
        resp = self._response
        if resp is None:
            return
        with contextlib.suppress(Exception):
            conn = getattr(resp.raw, "connection", None) or getattr(resp.raw, "_connection", None)
            sock = getattr(conn, "sock", None)
            if sock is not None:
                sock.shutdown(socket.SHUT_RDWR)
        with contextlib.suppress(Exception):
            resp.close()
