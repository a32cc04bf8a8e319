"""The video visit: the doctor calls, both sides exchange WebRTC signalling, the doctor asks for consent.

The doctor is always the caller. Calling a waiting (or checked-in) patient is the queue's "call" and accepts
the visit (server/consultation :func:`accept`) in the same transaction. Each invitation is a call segment
(server/video/segments.py); signalling is only for the open segment and goes to the other side through the
event streams (``call.signal``, written with :func:`~server.events.service.record_signal`: no audit entry, it is
not a state change). The patient's own stream and presence are in server/video/presence.py.

Every change locks the appointment row first (through the owner checks), so two changes of one call never
interleave.
"""
from __future__ import annotations

import datetime as dt
from typing import Literal

from sqlalchemy import select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from server.actor import SYSTEM, Actor
from server.appointments import service as appointments
from server.appointments.models import Appointment
from server.config import get_settings
from server.consultation import service as consultation
from server.errors import AppError, Conflict, InvalidState, NotFound
from server.events.service import SIGNAL_KIND, record_change, record_signal
from server.timeutil import now
from server.video import consent, schemas, segments
from server.video.models import CallSegment, ConsentRequest

Side = Literal["doctor", "patient"]
_HANGUP_REASON: dict[Side, str] = {"doctor": "doctor_ended", "patient": "patient_hung_up"}
_DESCRIBED = {"offer": "description", "answer": "description", "candidate": "candidate"}


# --- the call --------------------------------------------------------------------------------------------------


def _segment_public(seg: CallSegment) -> schemas.SegmentPublic:
    return schemas.SegmentPublic(id=seg.id, seq=seg.seq, state=seg.state, invited_at=seg.invited_at,
                                 connected_at=seg.connected_at, interrupted_at=seg.interrupted_at,
                                 ended_at=seg.ended_at, end_reason=seg.end_reason, offer=seg.offer)


def call_public(session: Session, appointment_id: int) -> schemas.CallPublic:
    segs = segments.all_of(session, appointment_id)
    if not segs:
        raise AppError("no_call", "尚未发起视频通话", status=404)
    public = [_segment_public(s) for s in segs]
    return schemas.CallPublic(appointment_id=appointment_id, state=public[-1].state, segment=public[-1],
                              segments=public, ice_servers=get_settings().ice_servers)


def start_call(session: Session, *, actor: Actor, doctor_id: int | None, staff_id: int,
               appointment_id: int) -> schemas.CallPublic:
    """呼叫 / 重新邀请: a new segment; a waiting or checked-in patient's visit is accepted first."""
    appt = consultation.own_appointment(session, doctor_id=doctor_id, appointment_id=appointment_id)
    if appt.status != "in_consultation":
        # refuses what cannot be accepted (unpaid, not checked in, finished, missed …) with its own message
        consultation.accept(session, actor=actor, doctor_id=doctor_id, appointment_id=appointment_id)
    segments.invite(session, appt, actor=actor, staff_id=staff_id)
    return call_public(session, appt.id)


def doctor_call(session: Session, *, doctor_id: int | None, appointment_id: int) -> schemas.CallPublic:
    appt = consultation.own_appointment(session, doctor_id=doctor_id, appointment_id=appointment_id, lock=False)
    return call_public(session, appt.id)


def patient_call(session: Session, *, account_id: int, appointment_id: int) -> schemas.CallPublic:
    appt = appointments.get_owned(session, account_id=account_id, appointment_id=appointment_id)
    return call_public(session, appt.id)


def _segment(session: Session, appt: Appointment, segment_id: int) -> CallSegment:
    seg = session.get(CallSegment, segment_id, populate_existing=True)
    if seg is None or seg.appointment_id != appt.id:
        raise NotFound("通话")
    return seg


def _closed(seg: CallSegment) -> Conflict:
    return Conflict("call_segment_closed", "该次通话已中断或结束，请等待或发起新的视频邀请",
                    details={"segment_id": seg.id, "state": seg.state})


def _check_signal(body: schemas.DoctorSignal | schemas.PatientSignal) -> None:
    """A signal carries exactly what its type needs: a description of its own type, or a candidate (null ends
    the candidates); a hangup carries nothing."""
    needs = _DESCRIBED.get(body.type)
    for field in ("description", "candidate"):
        if field != needs and getattr(body, field) is not None:
            raise AppError("signal_invalid", f"{body.type} 信令不应附带 {field}", status=422,
                           details={"type": body.type, "field": field})
    if needs == "description" and (body.description is None or body.description.type != body.type):
        raise AppError("signal_invalid", f"{body.type} 信令须附带类型为 {body.type} 的 description", status=422,
                       details={"type": body.type, "field": "description"})
    if needs == "candidate" and "candidate" not in body.model_fields_set:
        raise AppError("signal_invalid", "candidate 信令须附带 candidate（候选地址已全部发送时为 null）",
                       status=422, details={"type": body.type, "field": "candidate"})


def _signal(session: Session, appt: Appointment, body: schemas.DoctorSignal | schemas.PatientSignal, *,
            side: Side, actor: Actor) -> int:
    _check_signal(body)
    seg = _segment(session, appt, body.segment_id)
    if body.type == "hangup":
        if seg.state not in segments.OPEN:
            raise _closed(seg)
        return segments.move(session, appt, seg, "ended", actor=actor, reason=_HANGUP_REASON[side]).id
    if seg.state not in segments.LIVE:
        raise _closed(seg)
    description = body.description.model_dump(mode="json") if body.description else None
    if body.type == "offer":
        res = session.execute(update(CallSegment)
                              .where(CallSegment.id == seg.id, CallSegment.state.in_(segments.LIVE))
                              .values(offer=description).execution_options(synchronize_session=False))
        if res.rowcount != 1:
            raise _closed(seg)
        set_committed_value(seg, "offer", description)
    # the candidate as the browser sent it (no nulls added for fields it left out)
    candidate = body.candidate.model_dump(mode="json", exclude_unset=True) if body.candidate else None
    payload = {"appointment_id": appt.id, "segment_id": seg.id, "from": side, "type": body.type,
               "description": description, "candidate": candidate}
    # addressed to the other side only (server/events/service.py: Reader)
    event = record_signal(session, kind=SIGNAL_KIND, object_type="appointment", object_id=appt.id,
                          topic="clinical", doctor_id=appt.doctor_id if side == "patient" else None,
                          account_id=appt.account_id if side == "doctor" else None, payload=payload)
    return event.id


def doctor_signal(session: Session, *, actor: Actor, doctor_id: int | None, appointment_id: int,
                  body: schemas.DoctorSignal) -> int:
    appt = consultation.own_appointment(session, doctor_id=doctor_id, appointment_id=appointment_id)
    return _signal(session, appt, body, side="doctor", actor=actor)


def patient_signal(session: Session, *, actor: Actor, account_id: int, appointment_id: int,
                   body: schemas.PatientSignal) -> int:
    appt = appointments.get_owned(session, account_id=account_id, appointment_id=appointment_id, lock=True)
    return _signal(session, appt, body, side="patient", actor=actor)


def report_state(session: Session, *, actor: Actor, doctor_id: int | None, appointment_id: int,
                 body: schemas.CallStateReport) -> schemas.CallPublic:
    """What the doctor's client saw: media flows (connected), or the line dropped / ICE failed (interrupted).
    The same state again changes nothing."""
    appt = consultation.own_appointment(session, doctor_id=doctor_id, appointment_id=appointment_id)
    seg = _segment(session, appt, body.segment_id)
    if seg.state != body.state:
        if body.state == "connected" and seg.state != "invited":
            raise InvalidState(f"该次通话{segments.LABELS[seg.state]}，不能再标记为已接通；如需继续请重新邀请患者",
                               details={"state": seg.state, "to": body.state})
        reason = (body.reason or "line_dropped") if body.state == "interrupted" else None
        segments.move(session, appt, seg, body.state, actor=actor, reason=reason)
    return call_public(session, appt.id)


def end_unanswered(session: Session, *, segment_id: int, cutoff: dt.datetime) -> bool:
    """``no_answer``: the segment, if still invited since before ``cutoff``, ends (the scheduler's job)."""
    seg = session.get(CallSegment, segment_id)
    if seg is None:
        return False
    appt = segments.lock_appointment(session, seg.appointment_id)
    session.refresh(seg)
    if appt is None or seg.state != "invited" or seg.invited_at >= cutoff:
        return False
    segments.move(session, appt, seg, "ended", actor=SYSTEM, reason="no_answer")
    return True


# --- prescription consent ----------------------------------------------------------------------------------------


def consent_public(req: ConsentRequest) -> schemas.ConsentPublic:
    return schemas.ConsentPublic(id=req.id, appointment_id=req.appointment_id, state=req.state,
                                 version=req.version, text=consent.text_of(req.version),
                                 requested_at=req.requested_at, answered_at=req.answered_at)


def _latest_consent(session: Session, appointment_id: int) -> ConsentRequest | None:
    return session.execute(select(ConsentRequest).where(ConsentRequest.appointment_id == appointment_id)
                           .order_by(ConsentRequest.id.desc()).limit(1)).scalar_one_or_none()


def _no_consent() -> AppError:
    return AppError("no_consent", "尚未请求处方知情同意", status=404)


def request_consent(session: Session, *, actor: Actor, doctor_id: int | None, staff_id: int,
                    appointment_id: int) -> tuple[schemas.ConsentPublic, bool]:
    """Ask the patient, on a connected call, to consent to a prescription. Returns (consent, created): a
    request still unanswered is answered again instead of asking twice."""
    appt = consultation.own_appointment(session, doctor_id=doctor_id, appointment_id=appointment_id)
    seg = segments.newest(session, appt.id)
    if seg is None or seg.state != "connected":
        raise Conflict("call_not_connected", "请在与患者视频接通后再请求处方知情同意",
                       details={"call_state": seg.state if seg else None})
    latest = _latest_consent(session, appt.id)
    if latest is not None and latest.state == "requested":
        return consent_public(latest), False
    req = ConsentRequest(appointment_id=appt.id, version=consent.CURRENT_VERSION, state="requested",
                         requested_at=now(), requested_by=staff_id)
    session.add(req)
    session.flush()
    record_change(session, actor=actor, kind="consent.requested", object_type="appointment", object_id=appt.id,
                  topic="clinical", doctor_id=appt.doctor_id, account_id=appt.account_id,
                  payload={"appointment_id": appt.id, "request_id": req.id, "version": req.version})
    return consent_public(req), True


def doctor_consent(session: Session, *, doctor_id: int | None, appointment_id: int) -> schemas.ConsentPublic:
    appt = consultation.own_appointment(session, doctor_id=doctor_id, appointment_id=appointment_id, lock=False)
    latest = _latest_consent(session, appt.id)
    if latest is None:
        raise _no_consent()
    return consent_public(latest)


def patient_consent(session: Session, *, account_id: int, appointment_id: int) -> schemas.ConsentPublic:
    appt = appointments.get_owned(session, account_id=account_id, appointment_id=appointment_id)
    latest = _latest_consent(session, appt.id)
    if latest is None:
        raise _no_consent()
    return consent_public(latest)


def answer_consent(session: Session, *, actor: Actor, account_id: int, appointment_id: int,
                   body: schemas.ConsentAnswer) -> schemas.ConsentPublic:
    """同意 / 不同意, once, to the version of the text that was shown."""
    appt = appointments.get_owned(session, account_id=account_id, appointment_id=appointment_id, lock=True)
    req = session.execute(select(ConsentRequest).where(ConsentRequest.id == body.request_id,
                                                       ConsentRequest.appointment_id == appt.id)
                          .execution_options(populate_existing=True)).scalar_one_or_none()
    if req is None:
        raise NotFound("知情同意请求")
    if req.state != "requested":
        raise Conflict("consent_already_answered", "您已答复过该处方知情同意，无需重复提交",
                       details={"state": req.state})
    if body.version != req.version:
        raise Conflict("consent_version_mismatch", "知情同意书内容已更新，请重新阅读后再确认",
                       details={"version": req.version})
    t = now()
    vals = {"state": "consented" if body.agree else "declined", "answered_at": t, "answered_by": account_id}
    res = session.execute(update(ConsentRequest)
                          .where(ConsentRequest.id == req.id, ConsentRequest.state == "requested")
                          .values(**vals).execution_options(synchronize_session=False))
    if res.rowcount != 1:
        raise Conflict("consent_already_answered", "您已答复过该处方知情同意，无需重复提交")
    for key, value in vals.items():
        set_committed_value(req, key, value)
    record_change(session, actor=actor, kind="consent.answered", object_type="appointment", object_id=appt.id,
                  topic="clinical", doctor_id=appt.doctor_id, account_id=appt.account_id,
                  payload={"appointment_id": appt.id, "request_id": req.id, "version": req.version,
                           "agree": body.agree, "answered_at": t.isoformat()})
    return consent_public(req)
