"""The patient's call stream, and presence: an open stream is the patient "being on the waiting page".

``GET /appointments/{id}/call/events`` streams that appointment's call and consent events (the staff stream's
hub and catch-up, server/events/stream.py, with a patient :class:`~server.events.service.Reader`), with a
keep-alive every ``KEEP_ALIVE_S``. While it is open it holds a presence row, a lease: each open stream inserts
one, renews it every ``KEEP_ALIVE_S`` and deletes it when it closes. When the last live lease of an appointment
goes, its newest segment, if ``invited`` or ``connected``, becomes ``interrupted`` (``patient_left``).

- Several streams of one appointment (a reloaded page opens its stream before the old one closes, or two
  phones): only the last to close counts. Opening and closing lock the appointment row, so on PostgreSQL two
  closes in two worker processes cannot both miss each other, nor a close miss an open that committed first.
- The client goes away: Starlette notices the closed connection (``http.disconnect``) and cancels the stream at
  once; :class:`CallStreamResponse` makes sure the stream's own cleanup then runs, which hands the close to a
  thread (a cancelled request can await nothing more).
- A worker process dies with streams open: its leases are no longer renewed and stop counting after
  ``LEASE_S``; the scheduler (server/scheduler.py) removes lapsed leases and interrupts the segment if nobody is
  left, so a crashed process can never keep a patient "present".
- The process stops with streams open: their leases are left to lapse rather than closed, so a page that
  reconnects to another worker within ``LEASE_S`` does not interrupt its call.
"""
from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from fastapi.responses import StreamingResponse
from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from server.actor import Actor
from server.appointments.models import Appointment
from server.db import Database, get_db
from server.events import stream as events_stream
from server.events.service import Reader
from server.timeutil import now
from server.video import segments
from server.video.models import CallPresence

log = logging.getLogger(__name__)

KEEP_ALIVE_S = 5.0
LEASE_S = 20.0  # four keep-alives: a renewal may be late (a busy database) without the patient "leaving"

# closes run here: the request that closed was cancelled and may not await anything
_closes = ThreadPoolExecutor(max_workers=2, thread_name_prefix="call-presence")


def _lease_end() -> dt.datetime:
    return now() + dt.timedelta(seconds=LEASE_S)


def enter(db: Database, *, appointment_id: int) -> int:
    with db.transaction() as s:
        segments.lock_appointment(s, appointment_id)
        row = CallPresence(appointment_id=appointment_id, opened_at=now(), expires_at=_lease_end())
        s.add(row)
        s.flush()
        return row.id


def renew(db: Database, *, presence_id: int, appointment_id: int) -> int:
    """Extend the lease; a lease that lapsed and was removed meanwhile is taken anew (returns its id)."""
    with db.transaction() as s:
        res = s.execute(update(CallPresence).where(CallPresence.id == presence_id)
                        .values(expires_at=_lease_end()).execution_options(synchronize_session=False))
    if res.rowcount == 1:
        return presence_id
    return enter(db, appointment_id=appointment_id)


def settle(session: Session, appt: Appointment, *, actor: Actor) -> bool:
    """With the appointment locked: drop its lapsed leases; if no live one is left, the patient has left the
    page, and a segment that was ringing or connected is interrupted. Returns whether one was."""
    t = now()
    session.execute(delete(CallPresence).where(CallPresence.appointment_id == appt.id,
                                               CallPresence.expires_at <= t))
    live = session.execute(select(func.count()).select_from(CallPresence)
                           .where(CallPresence.appointment_id == appt.id, CallPresence.expires_at > t)).scalar_one()
    if live:
        return False
    return segments.interrupt_live(session, appt, reason="patient_left", actor=actor) is not None


def leave(db: Database, *, presence_id: int, appointment_id: int, actor: Actor) -> None:
    try:
        with db.transaction() as s:
            appt = segments.lock_appointment(s, appointment_id)
            s.execute(delete(CallPresence).where(CallPresence.id == presence_id))
            if appt is not None:
                settle(s, appt, actor=actor)
    except Exception:  # the lease lapses instead, and the scheduler settles the appointment
        log.exception("closing the call presence of appointment %s failed", appointment_id)


def lapsed(db: Database, *, at: dt.datetime, limit: int) -> list[int]:
    """Appointments with a lapsed lease (their stream's process died, or its close failed)."""
    with db.session(write=False) as s:
        return list(s.execute(select(CallPresence.appointment_id).where(CallPresence.expires_at <= at)
                              .group_by(CallPresence.appointment_id).limit(limit)).scalars())


async def call_stream(*, account_id: int, session_id: int, appointment_id: int, cursor: int | None,
                      actor: Actor) -> AsyncIterator[bytes]:
    """The patient's call stream (frames as in server/events/stream.py) with its presence lease."""
    db = get_db()
    loop = asyncio.get_running_loop()
    presence_id = await asyncio.to_thread(enter, db, appointment_id=appointment_id)
    left = True
    try:
        renewed = loop.time()
        reader = Reader.patient(account_id=account_id, appointment_id=appointment_id)
        frame = b""
        async with contextlib.aclosing(events_stream.stream(reader=reader, session_id=session_id, cursor=cursor,
                                                            keep_alive_s=KEEP_ALIVE_S)) as frames:
            async for frame in frames:
                yield frame
                if loop.time() - renewed >= KEEP_ALIVE_S:
                    presence_id = await asyncio.to_thread(renew, db, presence_id=presence_id,
                                                          appointment_id=appointment_id)
                    renewed = loop.time()
        # the stream ended by itself: the login ended (the patient is gone), or the process is stopping (the
        # lease lapses unless the page reconnects elsewhere)
        left = frame == events_stream.SESSION_EXPIRED_FRAME
    finally:
        if left:
            _closes.submit(leave, db, presence_id=presence_id, appointment_id=appointment_id, actor=actor)


class CallStreamResponse(StreamingResponse):
    """Closes its stream as soon as the response ends: when the client disconnects, Starlette cancels the
    response, and a stream suspended in its ``yield`` at that moment would otherwise run its cleanup (the
    presence close) only whenever it is garbage-collected."""

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            body = self.body_iterator
            if hasattr(body, "aclose"):
                await body.aclose()
