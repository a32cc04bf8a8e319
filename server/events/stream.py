"""The per-process hub behind ``GET /staff/events``: one database read per wake, fanned out to every stream.

Wakes come from three places: :mod:`server.events.bus` after a commit in this process (called from worker
threads, hence ``call_soon_threadsafe``), PostgreSQL ``LISTEN clinic_events`` for commits in other processes, and
a poll: on PostgreSQL a slow safety net in case a notification is lost (``events_poll_s``), on SQLite, which has
no NOTIFY, the way commits of other processes are found, hence frequent (``events_poll_sqlite_s``). Bursts merge: a wake
only sets a flag, the pump reads everything new in one query, and at most once per ``MIN_READ_GAP_S``. With no
stream open a wake costs nothing: the hub's position is brought up to date when the next stream subscribes.

Each stream owns a bounded queue of pre-encoded frames the reader may see. A reader that stops reading fills its
queue; the hub then drops it from the fan-out (never waiting on it), and the stream catches up from the database
from its own cursor when it resumes, so a slow reader loses nothing and delays nobody.

Readers are staff (``GET /staff/events``) or account holders following one appointment's video call
(``GET /appointments/{id}/call/events``, server/video/presence.py); :class:`~server.events.service.Reader` says
which events each may see. Once per heartbeat the hub checks every open stream's session (staff or account) in
one query per kind; a revoked or expired session ends its stream with ``event: session_expired``.
"""
from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass, field
from typing import Any

import orjson
from sqlalchemy import select
from sqlalchemy.engine import make_url

from server import lifecycle
from server.accounts.models import Account, AccountSession
from server.config import Settings, get_settings
from server.db import get_db
from server.events import bus
from server.events.models import Event
from server.events.service import (
    NOTIFY_CHANNEL,
    Reader,
    bounds,
    can_see,
    cursor_too_old,
    prune_events,
    public,
    visible_after,
)
from server.staff.models import Staff, StaffSession
from server.timeutil import now

log = logging.getLogger(__name__)

QUEUE_SIZE = 1000
FETCH_BATCH = 1000
BACKFILL_PAGE = 500
RETRY_MS = 3000
# Under a stream of commits (hundreds a second) the pump would read once per commit; reading at most every 20 ms
# batches them, for a delay nobody at a workstation can see.
MIN_READ_GAP_S = 0.02


# --- SSE frames --------------------------------------------------------------------------------------------------


def _json(value: Any) -> str:
    return orjson.dumps(value).decode()


def event_frame(event: Event) -> bytes:
    return f"id: {event.id}\nevent: {event.kind}\ndata: {_json(public(event))}\n\n".encode()


def control_frame(kind: str, *, last_id: int) -> bytes:
    """``cursor`` and ``resync`` carry an ``id:`` so a browser's EventSource resumes from there."""
    return f"id: {last_id}\nevent: {kind}\ndata: {_json({'last_id': last_id})}\n\n".encode()


SESSION_EXPIRED_FRAME = (
    f"event: session_expired\ndata: {_json({'code': 'session_expired', 'message': '登录已超时，请重新登录'})}\n\n"
).encode()
KEEP_ALIVE_FRAME = b": keep-alive\n\n"


@dataclass(slots=True)
class _Frame:
    id: int
    data: bytes


@dataclass(eq=False)
class Subscriber:
    reader: Reader
    session_id: int  # a staff session for a staff reader, an account session for a patient
    # the hub's position when this subscriber joined: every event after it comes through the queue
    live_from: int = 0
    # events up to here have been offered (visible ones queued), so a reader with an empty queue is at least here
    position: int = 0
    queue: asyncio.Queue[_Frame] = field(default_factory=lambda: asyncio.Queue(QUEUE_SIZE))
    overflowed: bool = False
    expired: bool = False  # its staff session ended
    closed: bool = False  # the process is stopping
    wake: asyncio.Event = field(default_factory=asyncio.Event)

    def sees(self, event: Event) -> bool:
        return can_see(self.reader, event)


def psycopg_url(url: str) -> str:
    """``postgresql+psycopg://…`` (SQLAlchemy) → ``postgresql://…`` (libpq conninfo)."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


# --- the hub -----------------------------------------------------------------------------------------------------


class Hub:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.subscribers: set[Subscriber] = set()
        self.last_id: int | None = None
        self._ready = asyncio.Event()
        self._wake = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self.reads = 0  # database reads of new events, for tests and metrics
        # last_id may be older than the newest event: nobody was subscribed when events were committed
        self._behind = False
        self._subscribing = asyncio.Lock()

    # waking

    def wake(self) -> None:
        self._wake.set()

    def wake_threadsafe(self) -> None:
        """Called on a worker thread after every commit of this process that wrote events."""
        if not self.subscribers:
            # nothing to deliver; subscribe() catches the position up (a plain flag: atomic enough across threads)
            self._behind = True
            return
        if self._wake.is_set():
            return  # a wake is pending: the pump has not started the read that will include this commit
        loop = self._loop
        if loop is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):  # loop shutting down
                loop.call_soon_threadsafe(self._wake.set)

    # lifecycle

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        bus.subscribe(self.wake_threadsafe)
        self._tasks.append(asyncio.create_task(self._pump(), name="events-pump"))
        self._tasks.append(asyncio.create_task(self._heartbeat(), name="events-heartbeat"))
        self._tasks.append(asyncio.create_task(self._prune(), name="events-prune"))
        if self.settings.effective_database_url.startswith("postgresql"):
            self._tasks.append(asyncio.create_task(self._listen(), name="events-listen"))

    async def stop(self) -> None:
        bus.unsubscribe(self.wake_threadsafe)
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._tasks.clear()
        for sub in list(self.subscribers):
            sub.closed = True
            sub.wake.set()

    # subscribers

    async def subscribe(self, *, reader: Reader, session_id: int) -> Subscriber:
        await self._ready.wait()
        assert self.last_id is not None
        async with self._subscribing:  # only subscribe() adds subscribers: none is added while we wait below
            if self._behind and not self.subscribers:
                # Nobody was listening while events were committed: skip the position ahead to the newest. Only
                # with nobody subscribed: a subscriber has not received the events after the position yet, and
                # moving it would lose them for that subscriber.
                self._behind = False
                self.last_id = max(self.last_id, await asyncio.to_thread(_newest, get_db()))
            sub = Subscriber(reader=reader, session_id=session_id, live_from=self.last_id,
                             position=self.last_id)
            self.subscribers.add(sub)
            if self._behind:
                # a commit while we read the newest id found nobody and only set the flag: read it now
                self._behind = False
                self.wake()
        return sub

    def unsubscribe(self, sub: Subscriber) -> None:
        self.subscribers.discard(sub)

    def _dispatch(self, events: list[Event]) -> None:
        frames: dict[int, _Frame] = {}
        last = events[-1].id
        for sub in list(self.subscribers):
            queued = False
            for event in events:
                if event.id <= sub.position or not sub.sees(event):
                    continue
                frame = frames.get(event.id)
                if frame is None:
                    frame = frames[event.id] = _Frame(event.id, event_frame(event))
                try:
                    sub.queue.put_nowait(frame)
                    queued = True
                except asyncio.QueueFull:
                    # never wait for a slow reader; it catches up from the database on its own
                    sub.overflowed = queued = True
                    self.subscribers.discard(sub)
                    break
            else:
                sub.position = last
            if queued:
                sub.wake.set()

    # background tasks

    async def _pump(self) -> None:
        db = get_db()
        poll = max(0.05, self.settings.events_poll_sqlite_s if db.dialect == "sqlite" else self.settings.events_poll_s)
        loop = asyncio.get_running_loop()
        last_read = 0.0
        while True:
            try:
                if self.last_id is None:
                    self.last_id = (await asyncio.to_thread(_newest, db))
                    self._ready.set()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), timeout=poll)
                if not self.subscribers:
                    # nobody listening: the next subscribe() brings the position up to date
                    self._wake.clear()
                    self._behind = True
                    continue
                gap = last_read + MIN_READ_GAP_S - loop.time()
                if gap > 0:
                    await asyncio.sleep(gap)  # wakes meanwhile merge into this read
                self._wake.clear()
                last_read = loop.time()
                while True:
                    events = await asyncio.to_thread(_read_new, db, self.last_id, FETCH_BATCH)
                    self.reads += 1
                    if not events:
                        break
                    self._dispatch(events)
                    self.last_id = events[-1].id
                    if len(events) < FETCH_BATCH:
                        break
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("event stream hub: reading new events failed")
                await asyncio.sleep(poll)

    async def _heartbeat(self) -> None:
        db = get_db()
        every = max(0.05, self.settings.events_heartbeat_s)
        while True:
            await asyncio.sleep(every)
            try:
                subs = list(self.subscribers)
                dead: set[tuple[bool, int]] = set()
                for staff in (True, False):
                    ids = {s.session_id for s in subs if s.reader.is_staff is staff}
                    if ids:
                        idle = self.settings.staff_session_idle_s if staff else self.settings.session_idle_s
                        found = await asyncio.to_thread(_dead_sessions, db, ids, idle, staff=staff)
                        dead |= {(staff, i) for i in found}
                for sub in subs:
                    if (sub.reader.is_staff, sub.session_id) in dead:
                        sub.expired = True
                        self.subscribers.discard(sub)
                        sub.wake.set()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("event stream hub: session check failed")

    async def _listen(self) -> None:
        import psycopg

        url = psycopg_url(self.settings.effective_database_url)
        delay = 0.5
        while True:
            try:
                conn = await psycopg.AsyncConnection.connect(url, autocommit=True)
                async with conn:
                    await conn.execute(f"LISTEN {NOTIFY_CHANNEL}")
                    delay = 0.5
                    self.wake()  # anything committed while we were not listening
                    async for _ in conn.notifies():
                        self.wake()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - any failure of the connection: reconnect, the poll covers
                log.warning("event stream hub: LISTEN connection lost (%s); reconnecting", exc)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 10.0)

    async def _prune(self) -> None:
        db = get_db()
        every = max(1.0, self.settings.events_prune_interval_s)
        while True:
            try:
                cutoff = now() - dt.timedelta(days=self.settings.events_retention_days)
                removed = await asyncio.to_thread(prune_events, db, older_than=cutoff)
                if removed:
                    log.info("event retention: removed %d events older than %s", removed, cutoff)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("event retention: pruning failed")
            await asyncio.sleep(every)


def _newest(db: Any) -> int:
    with db.session(write=False) as session:
        return bounds(session)[1]


def _read_new(db: Any, after: int, limit: int) -> list[Event]:
    with db.session(write=False) as session:
        return list(session.execute(select(Event).where(Event.id > after).order_by(Event.id).limit(limit))
                    .scalars())


def _dead_sessions(db: Any, session_ids: Iterable[int], idle_s: int, *, staff: bool = True) -> set[int]:
    ids = set(session_ids)
    model, owner, owner_id = ((StaffSession, Staff, StaffSession.staff_id) if staff
                              else (AccountSession, Account, AccountSession.account_id))
    with db.session(write=False) as session:
        rows = session.execute(select(model.id, model.revoked_at, model.expires_at, model.last_seen_at, owner.active)
                               .join(owner, owner.id == owner_id)
                               .where(model.id.in_(ids))).all()
    t = now()
    alive = {r.id for r in rows if r.revoked_at is None and r.active and t < r.expires_at
             and t - r.last_seen_at < dt.timedelta(seconds=idle_s)}
    return ids - alive


def _read_visible(db: Any, reader: Reader, after: int, upto: int) -> list[Event]:
    with db.session(write=False) as session:
        return visible_after(session, reader=reader, after=after, upto=upto, limit=BACKFILL_PAGE)


def _bounds(db: Any) -> tuple[int | None, int]:
    with db.session(write=False) as session:
        return bounds(session)


_hub: Hub | None = None


def hub() -> Hub:
    if _hub is None:
        raise RuntimeError("event stream hub not started")
    return _hub


async def _start(_app: Any) -> None:
    global _hub
    _hub = Hub(get_settings())
    await _hub.start()


async def _stop(_app: Any) -> None:
    global _hub
    if _hub is not None:
        await _hub.stop()
        _hub = None


lifecycle.register(start=_start, stop=_stop)


# --- one stream --------------------------------------------------------------------------------------------------


async def stream(*, reader: Reader, session_id: int, cursor: int | None,
                 keep_alive_s: float | None = None) -> AsyncIterator[bytes]:
    """The frames of one reader's stream, from ``cursor`` (None: from now on) until its session ends.

    After the catch-up an ``event: cursor`` frame says where the reader now stands (the live edge); later ones,
    sent in place of a keep-alive, move a reader past events it may not see, so a reconnect never scans them
    again. Silence longer than ``keep_alive_s`` (default ``events_heartbeat_s``) gets a keep-alive or a cursor.
    The stream ends by itself (no frame) when the process stops.
    """
    h = hub()
    db = get_db()
    heartbeat = max(0.05, keep_alive_s if keep_alive_s is not None else h.settings.events_heartbeat_s)
    sub = await h.subscribe(reader=reader, session_id=session_id)
    try:
        yield f"retry: {RETRY_MS}\n\n".encode()
        sent = -1  # the newest id the reader has been told about, by an event or a cursor/resync frame
        # The hub may not have read the newest commits yet (another process wrote them): catch up to the
        # database's newest id, not only to where the live queue starts; queued duplicates are skipped below.
        oldest, newest = await asyncio.to_thread(_bounds, db)
        upto = max(newest, sub.live_from)
        if cursor is None:
            cursor = upto
        elif cursor_too_old(cursor=cursor, oldest=oldest, newest=newest):
            cursor = sent = upto
            yield control_frame("resync", last_id=cursor)
        first = True
        while True:
            # catch up from the database, up to where this subscription's live queue starts (or beyond)
            while cursor < upto:
                page = await asyncio.to_thread(_read_visible, db, reader, cursor, upto)
                for event in page:
                    yield event_frame(event)
                    sent = event.id
                cursor = page[-1].id if len(page) == BACKFILL_PAGE else upto
            if first or sent < cursor:
                first = False
                sent = cursor
                yield control_frame("cursor", last_id=cursor)
            # live
            while True:
                while True:
                    try:
                        frame = sub.queue.get_nowait()
                    except asyncio.QueueEmpty:
                        break
                    if frame.id > cursor:
                        yield frame.data
                        cursor = sent = frame.id
                if sub.closed:
                    return
                if sub.expired:
                    yield SESSION_EXPIRED_FRAME
                    return
                if sub.overflowed:
                    break
                sub.wake.clear()
                try:
                    await asyncio.wait_for(sub.wake.wait(), timeout=heartbeat)
                except TimeoutError:
                    if not sub.queue.empty():
                        continue
                    # the queue is empty, so every visible event up to the hub's position has been sent
                    cursor = max(cursor, sub.position)
                    if sent < cursor:
                        sent = cursor
                        yield control_frame("cursor", last_id=cursor)
                    else:
                        yield KEEP_ALIVE_FRAME
            # dropped for reading too slowly: rejoin, and read what was missed from the database
            h.unsubscribe(sub)
            sub = await h.subscribe(reader=reader, session_id=session_id)
            upto = sub.live_from
    finally:
        h.unsubscribe(sub)
