"""Writing state changes, and the rules for reading them back.

:func:`record_change` writes an event (what the staff streams see) and an audit entry (who did it) in the caller's
transaction. Event ids commit in id order: the audit chain lock (``pg_advisory_xact_lock`` on PostgreSQL, the
single writer on SQLite) is taken before the event row gets its id and is held until commit, so a reader that has
seen id N will never later see a smaller id appear. That is what lets a stream resume from a bare cursor.
"""
from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import ColumnElement, and_, delete, false, func, insert, select, text, true
from sqlalchemy.orm import Session

from server.actor import Actor
from server.audit.service import audit, take_chain_lock
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


def record_change(session: Session, *, actor: Actor, kind: str, object_type: str, object_id: int,
                  topic: str = "clinical", doctor_id: int | None = None, account_id: int | None = None,
                  payload: dict[str, Any] | None = None, details: dict[str, Any] | None = None) -> Event:
    """Every state change goes through here: an event (what streams see) and an audit entry (who did it).

    Returns the event row written (not attached to the session)."""
    if topic not in TOPICS:
        raise ValueError(f"unknown event topic {topic!r}")
    if topic == "money" and payload and MONEY_FORBIDDEN_KEYS.intersection(payload):
        # a programming error: the clerk's stream would carry clinical text
        raise ValueError(f"clinical keys in a money event: {sorted(MONEY_FORBIDDEN_KEYS.intersection(payload))}")
    # What can run before the chain lock does (pending rows of the change, the NOTIFY that PostgreSQL delivers at
    # commit to every worker's listener): every writer of the service waits for that lock until our commit.
    session.flush()
    if session.get_bind().dialect.name == "postgresql" and not session.info.get("notified"):
        session.execute(_NOTIFY, {"c": NOTIFY_CHANNEL})
        session.info["notified"] = True
    take_chain_lock(session)
    # one prebuilt INSERT: the ORM's unit of work (or a new statement each time) costs several times as much, on
    # every state change
    values = {"at": now(), "kind": kind, "topic": topic, "object_type": object_type, "object_id": object_id,
              "doctor_id": doctor_id, "account_id": account_id, "payload": payload or {}}
    event = Event(id=session.execute(_INSERT, values).inserted_primary_key[0], **values)
    audit(session, actor=actor, action=kind, object_type=object_type, object_id=object_id,
          details=details if details is not None else (payload or {}))
    session.info["events_written"] = True
    return event


# --- who may read what ----------------------------------------------------------------------------------------


def can_see(*, role: str, doctor_id: int | None, topic: str, event_doctor_id: int | None) -> bool:
    """The visibility rule, for events already in memory (the stream hub's fan-out)."""
    if role == "admin":
        return True
    if role == "doctor":
        return doctor_id is not None and topic in ("clinical", "prescription") and event_doctor_id == doctor_id
    if role == "pharmacist":
        return topic == "prescription"
    if role == "clerk":
        return topic == "money"
    return False


def visible_clause(*, role: str, doctor_id: int | None) -> ColumnElement[bool]:
    """The same rule as :func:`can_see`, as SQL (catch-up reads)."""
    if role == "admin":
        return true()
    if role == "doctor":
        if doctor_id is None:
            return false()
        return and_(Event.doctor_id == doctor_id, Event.topic.in_(("clinical", "prescription")))
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


def visible_after(session: Session, *, role: str, doctor_id: int | None, after: int, upto: int | None,
                  limit: int) -> list[Event]:
    q = select(Event).where(Event.id > after, visible_clause(role=role, doctor_id=doctor_id))
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
