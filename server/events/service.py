"""Writing state changes, and the rules for reading them back.

:func:`record_change` writes an event (what the streams see) and an audit entry (who did it) in the caller's
transaction; :func:`record_signal` writes only the event, for what is not a state change (a video call's
signalling). Event ids commit in id order: the audit chain lock (``pg_advisory_xact_lock`` on PostgreSQL, the
single writer on SQLite) is taken before the event row gets its id and is held until commit, so a reader that has
seen id N will never later see a smaller id appear. That is what lets a stream resume from a bare cursor.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, and_, delete, false, func, insert, or_, select, text
from sqlalchemy.orm import Session

from server.actor import Actor
from server.audit.service import audit, audit_many, take_chain_lock
from server.db import Database
from server.events.models import Event
from server.timeutil import now

NOTIFY_CHANNEL = "clinic_events"
_INSERT = insert(Event.__table__)
_NOTIFY = text("SELECT pg_notify(:c, '')")

TOPICS = ("clinical", "prescription", "money", "admin")

# Clerks read the money topic and must not learn anything clinical from it: these payload keys are refused there.
MONEY_FORBIDDEN_KEYS = frozenset({
    "description", "condition_description", "text", "diagnosis", "notes", "note", "advice", "drugs", "items",
    "medicines", "files", "file_ids", "complaint", "symptoms", "prescription_text",
})


def _check_event(topic: str, payload: dict[str, Any] | None) -> None:
    if topic not in TOPICS:
        raise ValueError(f"unknown event topic {topic!r}")
    if topic == "money" and payload and MONEY_FORBIDDEN_KEYS.intersection(payload):
        # a programming error: the clerk's stream would carry clinical text
        raise ValueError(f"clinical keys in a money event: {sorted(MONEY_FORBIDDEN_KEYS.intersection(payload))}")


def _notify_and_lock(session: Session) -> None:
    # What can run before the chain lock does (pending rows of the change, the NOTIFY that PostgreSQL delivers at
    # commit to every worker's listener): every writer of the service waits for that lock until our commit.
    session.flush()
    if session.get_bind().dialect.name == "postgresql" and not session.info.get("notified"):
        session.execute(_NOTIFY, {"c": NOTIFY_CHANNEL})
        session.info["notified"] = True
    take_chain_lock(session)


def _insert_event(session: Session, *, kind: str, object_type: str, object_id: int, topic: str,
                  doctor_id: int | None, account_id: int | None, payload: dict[str, Any] | None) -> Event:
    """The event row, its id taken under the chain lock (the module docstring: ids commit in order)."""
    _check_event(topic, payload)
    _notify_and_lock(session)
    # one prebuilt INSERT: the ORM's unit of work (or a new statement each time) costs several times as much, on
    # every state change
    values = {"at": now(), "kind": kind, "topic": topic, "object_type": object_type, "object_id": object_id,
              "doctor_id": doctor_id, "account_id": account_id, "payload": payload or {}}
    event = Event(id=session.execute(_INSERT, values).inserted_primary_key[0], **values)
    session.info["events_written"] = True
    return event


def record_change(session: Session, *, actor: Actor, kind: str, object_type: str, object_id: int,
                  topic: str = "clinical", doctor_id: int | None = None, account_id: int | None = None,
                  payload: dict[str, Any] | None = None, details: dict[str, Any] | None = None) -> Event:
    """Every state change goes through here: an event (what streams see) and an audit entry (who did it).

    Returns the event row written (not attached to the session); inside :func:`deferred_changes`, the event
    to be written (no id yet)."""
    deferred = session.info.get(_DEFERRED)
    if deferred is not None:
        _check_event(topic, payload)
        values = {"at": now(), "kind": kind, "topic": topic, "object_type": object_type, "object_id": object_id,
                  "doctor_id": doctor_id, "account_id": account_id, "payload": payload or {}}
        deferred.append((values, {"at": values["at"], "actor": actor, "action": kind, "object_type": object_type,
                                  "object_id": object_id,
                                  "details": details if details is not None else (payload or {})}))
        return Event(**values)
    event = _insert_event(session, kind=kind, object_type=object_type, object_id=object_id, topic=topic,
                          doctor_id=doctor_id, account_id=account_id, payload=payload)
    audit(session, actor=actor, action=kind, object_type=object_type, object_id=object_id,
          details=details if details is not None else (payload or {}))
    return event


_DEFERRED = "deferred_changes"


@contextmanager
def deferred_changes(session: Session) -> Iterator[list[Any]]:
    """Within the block, :func:`record_change` collects its events and audit entries instead of writing each; at
    the block's end they are written, in the order recorded, with one INSERT for the events and one for the
    audit entries (a clinic stop records three changes for each of hundreds of appointments). The chain lock is
    taken then, so it is held from there to the commit only.

    Yields the list of changes: a caller that rolls back a savepoint inside the block removes what was recorded
    in it (``del changes[mark:]``). On an exception nothing is written (the transaction is being rolled back)."""
    if session.info.get(_DEFERRED) is not None:  # already collecting: the outer block writes
        yield session.info[_DEFERRED]
        return
    changes: list[Any] = []
    session.info[_DEFERRED] = changes
    try:
        yield changes
    finally:
        session.info.pop(_DEFERRED, None)
    if changes:
        _notify_and_lock(session)
        session.execute(_INSERT, [values for values, _ in changes])
        session.info["events_written"] = True
        audit_many(session, [entry for _, entry in changes])


def record_signal(session: Session, *, kind: str, object_type: str, object_id: int, topic: str = "clinical",
                  doctor_id: int | None = None, account_id: int | None = None,
                  payload: dict[str, Any] | None = None) -> Event:
    """An event for the streams that is not a state change (a video call's WebRTC signalling): in id order
    under the chain lock like every event, but without an audit entry."""
    return _insert_event(session, kind=kind, object_type=object_type, object_id=object_id, topic=topic,
                         doctor_id=doctor_id, account_id=account_id, payload=payload)


# --- who may read what ----------------------------------------------------------------------------------------


SIGNAL_KIND = "call.signal"
# what an account holder's call stream carries: the call and the consent events of that one appointment
PATIENT_KIND_PREFIXES = ("call.", "consent.")


@dataclass(frozen=True, slots=True)
class Reader:
    """Who reads events: a staff member (``role``, and ``doctor_id`` for a doctor), or an account holder following
    one appointment's video call (role ``patient`` with ``account_id`` and ``appointment_id``).

    Signalling events (``call.signal``) are addressed to one side only: a patient's signal carries just the
    doctor's ``doctor_id``, a doctor's just the holder's ``account_id``, so each side reads the other's and never
    its own. Admins do not get them (peer-to-peer plumbing with network addresses, no state change).
    """

    role: str
    doctor_id: int | None = None
    account_id: int | None = None
    appointment_id: int | None = None

    @classmethod
    def patient(cls, *, account_id: int, appointment_id: int) -> Reader:
        return cls("patient", account_id=account_id, appointment_id=appointment_id)

    @property
    def is_staff(self) -> bool:
        return self.role != "patient"


def can_see(reader: Reader, event: Event) -> bool:
    """The visibility rule, for events already in memory (the stream hub's fan-out)."""
    role = reader.role
    if role == "patient":
        return (event.account_id == reader.account_id and event.topic == "clinical"
                and event.object_type == "appointment" and event.object_id == reader.appointment_id
                and event.kind.startswith(PATIENT_KIND_PREFIXES))
    if role == "admin":
        return event.kind != SIGNAL_KIND
    if role == "doctor":
        return (reader.doctor_id is not None and event.topic in ("clinical", "prescription")
                and event.doctor_id == reader.doctor_id)
    if role == "pharmacist":
        return event.topic == "prescription"
    if role == "clerk":
        return event.topic == "money"
    return False


def visible_clause(reader: Reader) -> ColumnElement[bool]:
    """The same rule as :func:`can_see`, as SQL (catch-up reads)."""
    role = reader.role
    if role == "patient":
        if reader.account_id is None or reader.appointment_id is None:
            return false()
        return and_(Event.account_id == reader.account_id, Event.topic == "clinical",
                    Event.object_type == "appointment", Event.object_id == reader.appointment_id,
                    or_(*(Event.kind.startswith(p) for p in PATIENT_KIND_PREFIXES)))
    if role == "admin":
        return Event.kind != SIGNAL_KIND
    if role == "doctor":
        if reader.doctor_id is None:
            return false()
        return and_(Event.doctor_id == reader.doctor_id, Event.topic.in_(("clinical", "prescription")))
    if role == "pharmacist":
        return Event.topic == "prescription"
    if role == "clerk":
        return Event.topic == "money"
    return false()


def bounds(session: Session) -> tuple[int | None, int]:
    """(oldest retained id or None, newest id or 0)."""
    low, high = session.execute(select(func.min(Event.id), func.max(Event.id))).one()
    return low, high or 0


def cursor_too_old(*, cursor: int, oldest: int | None, newest: int) -> bool:
    """Whether events after ``cursor`` may have been pruned (or the cursor comes from another database).

    Pruning always keeps the newest row, so ``oldest`` is None only for a database that never had an event.
    """
    if cursor > newest:
        return True
    if oldest is None:
        return False
    return cursor < oldest - 1


def visible_after(session: Session, *, reader: Reader, after: int, upto: int | None, limit: int) -> list[Event]:
    q = select(Event).where(Event.id > after, visible_clause(reader))
    if upto is not None:
        q = q.where(Event.id <= upto)
    return list(session.execute(q.order_by(Event.id).limit(limit)).scalars())


def public(event: Event) -> dict[str, Any]:
    return {"id": event.id, "kind": event.kind, "topic": event.topic, "object_type": event.object_type,
            "object_id": event.object_id, "at": event.at, "payload": event.payload or {}}


# --- retention -------------------------------------------------------------------------------------------------


def prune_events(db: Database, *, older_than: dt.datetime, batch: int = 5000) -> int:
    """Delete events older than ``older_than``, a batch per transaction so writers are not held up.

    The newest event is always kept: on SQLite a table emptied of rows would hand out its ids again, and a
    reader's cursor would then skip the new rows.
    """
    removed = 0
    while True:
        with db.transaction() as session:
            newest = session.execute(select(func.max(Event.id))).scalar()
            if newest is None:
                return removed
            ids = list(session.execute(select(Event.id).where(Event.at < older_than, Event.id < newest)
                                       .order_by(Event.id).limit(batch)).scalars())
            if not ids:
                return removed
            session.execute(delete(Event).where(Event.id.in_(ids)))
            removed += len(ids)
        if len(ids) < batch:
            return removed
