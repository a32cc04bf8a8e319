"""The call segments' machine (DOMAIN.md "Video visit"), written once for every path that moves a segment.

``invited --patient answers--> connected --line drops--> interrupted``; ``invited|connected|interrupted -->
ended``. Every move is a conditional UPDATE (``WHERE state = <the state we saw>``) and a ``call.<state>`` event
for the doctor's stream and the patient's call stream (server/events). Callers lock the appointment row first
(the lock order of server/consultation/service.py: appointment rows before the audit chain lock), which is
what serialises two moves of one call on PostgreSQL; SQLite has a single writer anyway.

This module knows nothing of the consultation slice, so that slice can close a call when its visit ends.
"""
from __future__ import annotations

from typing import Any

from sqlalchemy import and_, func, select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from server.actor import Actor
from server.appointments.models import Appointment
from server.errors import InvalidState
from server.events.models import Event
from server.events.service import record_change
from server.timeutil import now
from server.video.models import CallSegment

LIVE = ("invited", "connected")  # a peer connection is being set up or carries media
OPEN = ("invited", "connected", "interrupted")  # not ended: a re-invite or the visit's end still closes it
ALLOWED: dict[str, frozenset[str]] = {
    "invited": frozenset({"connected", "interrupted", "ended"}),
    "connected": frozenset({"interrupted", "ended"}),
    "interrupted": frozenset({"ended"}),
    "ended": frozenset(),
}
LABELS = {"invited": "呼叫中", "connected": "通话中", "interrupted": "已中断", "ended": "已结束"}
END_REASONS = ("doctor_ended", "patient_hung_up", "patient_left", "line_dropped", "no_answer", "reinvited",
               "visit_finished", "window_refund", "failed")
_TIMESTAMP = {"connected": "connected_at", "interrupted": "interrupted_at", "ended": "ended_at"}


def newest(session: Session, appointment_id: int) -> CallSegment | None:
    return session.execute(select(CallSegment).where(CallSegment.appointment_id == appointment_id)
                           .order_by(CallSegment.seq.desc()).limit(1)
                           .execution_options(populate_existing=True)).scalar_one_or_none()


def all_of(session: Session, appointment_id: int) -> list[CallSegment]:
    """Oldest first."""
    return list(session.execute(select(CallSegment).where(CallSegment.appointment_id == appointment_id)
                                .order_by(CallSegment.seq)).scalars())


def event_payload(seg: CallSegment) -> dict[str, Any]:
    return {"appointment_id": seg.appointment_id, "segment_id": seg.id, "seq": seg.seq, "state": seg.state,
            "reason": seg.end_reason}


def _record(session: Session, appt: Appointment, seg: CallSegment, *, actor: Actor) -> Event:
    payload = event_payload(seg)
    return record_change(session, actor=actor, kind=f"call.{seg.state}", object_type="appointment", object_id=appt.id,
                  topic="clinical", doctor_id=appt.doctor_id, account_id=appt.account_id, payload=payload)


def move(session: Session, appt: Appointment, seg: CallSegment, to_state: str, *, actor: Actor,
         reason: str | None = None) -> Event:
    """The only way a segment changes state (``seg`` is updated in place; returns its event). An interrupted
    segment keeps its interruption's reason when it ends; an illegal or lost-race move raises InvalidState."""
    current = seg.state
    if to_state not in ALLOWED[current]:
        raise InvalidState(f"通话当前状态为「{LABELS[current]}」，不能变更为「{LABELS[to_state]}」",
                           details={"state": current, "to": to_state})
    vals: dict[str, Any] = {"state": to_state, _TIMESTAMP[to_state]: now()}
    if reason is not None and current != "interrupted":
        vals["end_reason"] = reason
    res = session.execute(update(CallSegment).where(CallSegment.id == seg.id, CallSegment.state == current)
                          .values(**vals).execution_options(synchronize_session=False))
    if res.rowcount != 1:
        raise InvalidState("通话状态已发生变化，请刷新后重试", details={"state": current, "to": to_state})
    for key, value in vals.items():
        set_committed_value(seg, key, value)
    return _record(session, appt, seg, actor=actor)


def end_open(session: Session, appt: Appointment, *, reason: str, actor: Actor) -> CallSegment | None:
    """End the appointment's open segment, if any (a re-invite, the end of the visit). Returns the newest
    segment, ended or not, or None when the patient was never called."""
    seg = newest(session, appt.id)
    if seg is not None and seg.state in OPEN:
        move(session, appt, seg, "ended", actor=actor, reason=reason)
    return seg


def invite(session: Session, appt: Appointment, *, actor: Actor, staff_id: int) -> CallSegment:
    """A new segment in ``invited``; the open one, if any, ends first (``reinvited``)."""
    previous = end_open(session, appt, reason="reinvited", actor=actor)
    seg = CallSegment(appointment_id=appt.id, seq=(previous.seq if previous else 0) + 1, state="invited",
                      invited_at=now(), invited_by=staff_id)
    session.add(seg)
    session.flush()
    _record(session, appt, seg, actor=actor)
    return seg


def interrupt_live(session: Session, appt: Appointment, *, reason: str, actor: Actor) -> CallSegment | None:
    """The newest segment, if invited or connected, becomes interrupted (the patient left, the line dropped)."""
    seg = newest(session, appt.id)
    if seg is None or seg.state not in LIVE:
        return None
    move(session, appt, seg, "interrupted", actor=actor, reason=reason)
    return seg


def lock_appointment(session: Session, appointment_id: int) -> Appointment | None:
    """The appointment row locked for a change of its call (for jobs and streams that act for nobody in
    particular; routes lock through their owner checks)."""
    return session.execute(select(Appointment).where(Appointment.id == appointment_id)
                           .with_for_update(key_share=True).execution_options(populate_existing=True)
                           ).scalar_one_or_none()


def states_of(session: Session, appointment_ids: list[int]) -> dict[int, str]:
    """The newest segment's state of each appointment that was ever called, in one query (queue rows)."""
    if not appointment_ids:
        return {}
    top = (select(CallSegment.appointment_id, func.max(CallSegment.seq).label("seq"))
           .where(CallSegment.appointment_id.in_(appointment_ids)).group_by(CallSegment.appointment_id)
           .subquery())
    rows = session.execute(select(CallSegment.appointment_id, CallSegment.state)
                           .join(top, and_(CallSegment.appointment_id == top.c.appointment_id,
                                           CallSegment.seq == top.c.seq)))
    return {appointment_id: state for appointment_id, state in rows}
