"""Writing state changes: one event for the live streams and one audit entry, in the caller's transaction."""
from __future__ import annotations

from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from server.actor import Actor
from server.audit.service import audit, take_chain_lock
from server.events.models import Event

NOTIFY_CHANNEL = "clinic_events"


def record_change(session: Session, *, actor: Actor, kind: str, object_type: str, object_id: int,
                  topic: str = "clinical", doctor_id: int | None = None, account_id: int | None = None,
                  payload: dict[str, Any] | None = None, details: dict[str, Any] | None = None) -> Event:
    """Every state change goes through here: an event (what streams see) and an audit entry (who did it)."""
    take_chain_lock(session)
    event = Event(kind=kind, topic=topic, object_type=object_type, object_id=object_id, doctor_id=doctor_id,
                  account_id=account_id, payload=payload or {})
    session.add(event)
    session.flush()
    audit(session, actor=actor, action=kind, object_type=object_type, object_id=object_id,
          details=details if details is not None else (payload or {}))
    if session.get_bind().dialect.name == "postgresql" and not session.info.get("notified"):
        # delivered by PostgreSQL at commit, to every worker's listener
        session.execute(text("SELECT pg_notify(:c, '')"), {"c": NOTIFY_CHANNEL})
        session.info["notified"] = True
    session.info["events_written"] = True
    return event
