"""Appointments: booking a slot, the appointment state machine, check-in and the condition description.

Every status change goes through :func:`transition`, which checks DOMAIN.md's machine, writes the change with a
conditional UPDATE (``WHERE status = <the status we saw>``, so two workers can never both apply a change) and
records the event the doctor's queue and the audit log are built from.
"""
from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import RowMapping, bindparam, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from server.actor import Actor
from server.appointments import schemas
from server.appointments.models import Appointment, ConditionDescription, DescriptionFile
from server.audit.service import GENESIS, entry_hash
from server.catalogue import service as catalogue
from server.catalogue.his import HisVisitLike
from server.catalogue.models import Department, Doctor, HisVisit, Slot
from server.config import get_settings
from server.db import begin_read
from server.errors import AppError, Conflict, InvalidState, NotFound
from server.events.service import record_change
from server.files.service import owned_files
from server.ids import order_number
from server.patients.models import Patient
from server.timeutil import TZ, combine, now
from server.video import segments

STATUS_LABELS: dict[str, str] = {
    "pending_payment": "待支付",
    "booked": "已预约",
    "checked_in": "已签到",
    "waiting": "候诊中",
    "in_consultation": "就诊中",
    "completed": "已完成",
    "expired": "已失效",
    "cancelled": "已取消",
    "missed": "已过号",
    "cancelled_by_hospital": "医院已停诊",
}

# the machine of DOMAIN.md; expired -> booked is a payment that arrived after the hold lapsed and could retake
# the slot (confirm_payment); pending_payment -> cancelled_by_hospital is a clinic stop over an unpaid hold;
# checked_in -> in_consultation is a doctor calling a patient who checked in but has not described yet, and
# checked_in|waiting -> missed a patient who did not answer the doctor's call (server/consultation);
# in_consultation|completed -> cancelled is the window refund only (server/refunds: window_refund), missed ->
# cancelled an approved refund application or the window; the patient's own cancel refuses all three
ALLOWED: dict[str, frozenset[str]] = {
    "pending_payment": frozenset({"booked", "expired", "cancelled_by_hospital"}),
    "booked": frozenset({"checked_in", "cancelled", "missed", "cancelled_by_hospital"}),
    "checked_in": frozenset({"waiting", "in_consultation", "cancelled", "missed", "cancelled_by_hospital"}),
    "waiting": frozenset({"in_consultation", "cancelled", "missed", "cancelled_by_hospital"}),
    "in_consultation": frozenset({"completed", "cancelled"}),
    "completed": frozenset({"cancelled"}),
    "missed": frozenset({"cancelled"}),
    "expired": frozenset({"booked"}),
    "cancelled": frozenset(),
    "cancelled_by_hospital": frozenset(),
}
# statuses that count in slots.booked; entering a released one gives the place back
RELEASED = frozenset({"expired", "cancelled", "cancelled_by_hospital"})
# one of these per patient, doctor and day
ACTIVE = ("pending_payment", "booked", "checked_in", "waiting", "in_consultation")
# paid and not (yet) refunded
HOLDING_PAID = ("booked", "checked_in", "waiting", "in_consultation", "completed", "missed")
QUEUE_STATUSES = ("checked_in", "waiting", "in_consultation", "completed", "missed")

_ACTION: dict[str, str] = {
    "booked": "确认支付", "checked_in": "签到", "waiting": "提交病情描述", "in_consultation": "接诊",
    "completed": "结束就诊", "expired": "作废", "cancelled": "取消", "missed": "标记为过号",
    "cancelled_by_hospital": "停诊取消",
}
_TIMESTAMP: dict[str, str] = {
    "checked_in": "checked_in_at", "waiting": "waiting_since", "in_consultation": "called_at",
    "completed": "completed_at",
}

_SPECIFIC_REFUSALS: dict[tuple[str, str], str] = {
    ("pending_payment", "checked_in"): "预约尚未支付，请先支付诊费后再签到",
    ("checked_in", "checked_in"): "您已签到，请填写病情描述",
    ("waiting", "checked_in"): "您已签到并提交病情描述，请在候诊页面等待医生视频接通",
    ("booked", "waiting"): "请先点击【复诊签到】，签到后再填写病情描述",
    ("waiting", "waiting"): "病情描述已提交，不能修改；请在候诊页面等待医生视频接通",
    ("in_consultation", "waiting"): "医生已接诊，病情描述不能再修改",
    ("completed", "waiting"): "本次复诊已结束，病情描述不能再修改",
}


def label(status: str) -> str:
    return STATUS_LABELS.get(status, status)


def refusal(current: str, to_status: str) -> str:
    specific = _SPECIFIC_REFUSALS.get((current, to_status))
    if specific:
        return specific
    return f"预约当前状态为「{label(current)}」，不能{_ACTION.get(to_status, '变更为' + label(to_status))}"


def ensure_allowed(appt: Appointment, to_status: str) -> None:
    if to_status not in ALLOWED.get(appt.status, frozenset()):
        raise InvalidState(refusal(appt.status, to_status), details={"status": appt.status, "to": to_status})


def event_payload(session: Session, appt: Appointment) -> dict[str, Any]:
    """What a workstation needs to redraw its queue row without asking again (no clinical text)."""
    patient = session.get(Patient, appt.patient_id)
    return {
        "appointment_id": appt.id,
        "number": appt.number,
        "status": appt.status,
        "status_label": label(appt.status),
        "doctor_id": appt.doctor_id,
        "patient_id": appt.patient_id,
        "patient_name": patient.name if patient else "",
        "starts_at": appt.starts_at.isoformat(),
        "ends_at": appt.ends_at.isoformat(),
        "waiting_since": appt.waiting_since.isoformat() if appt.waiting_since else None,
        "called_at": appt.called_at.isoformat() if appt.called_at else None,
        "completed_at": appt.completed_at.isoformat() if appt.completed_at else None,
    }


def transition(session: Session, appt: Appointment, to_status: str, *, actor: Actor, reason: str = "",
               values: dict[str, Any] | None = None, release: bool = True) -> Appointment:
    """The only way an appointment changes status. An illegal or lost-race change raises InvalidState.

    Entering a released status gives the place back to the slot unless ``release`` is false (a refund after
    the slot's time: nobody can book that place any more, and its count stays what happened)."""
    ensure_allowed(appt, to_status)
    current = appt.status
    t = now()
    vals: dict[str, Any] = {"status": to_status}
    if to_status in _TIMESTAMP:
        vals[_TIMESTAMP[to_status]] = t
    if to_status in RELEASED or to_status == "missed":
        vals["ended_at"] = t
        vals["end_reason"] = reason[:200]
    vals.update(values or {})
    res = session.execute(update(Appointment).where(Appointment.id == appt.id, Appointment.status == current)
                          .values(**vals).execution_options(synchronize_session=False))
    if res.rowcount != 1:
        raise InvalidState("预约状态已发生变化，请刷新后重试", details={"status": current, "to": to_status})
    for key, value in vals.items():
        set_committed_value(appt, key, value)
    if release and to_status in RELEASED and current not in RELEASED:
        catalogue.release_slot(session, slot_id=appt.slot_id)
    payload = event_payload(session, appt)
    record_change(session, actor=actor, kind=f"appointment.{to_status}", object_type="appointment",
                  object_id=appt.id, topic="clinical", doctor_id=appt.doctor_id, account_id=appt.account_id,
                  payload=payload, details={**payload, "from": current, "reason": reason})
    return appt


# --- reading --------------------------------------------------------------------------------------------------


def get_owned(session: Session, *, account_id: int, appointment_id: int, lock: bool = False) -> Appointment:
    """The holder's own appointment; another holder's answers exactly like a missing one."""
    q = select(Appointment).where(Appointment.id == appointment_id, Appointment.account_id == account_id)
    if lock:
        q = q.with_for_update().execution_options(populate_existing=True)
    appt = session.execute(q).scalar_one_or_none()
    if appt is None:
        raise NotFound("预约")
    return appt


def checkin_window(appt: Appointment) -> tuple[dt.datetime, dt.datetime]:
    s = get_settings()
    return (appt.starts_at - dt.timedelta(minutes=s.checkin_opens_minutes_before),
            appt.ends_at + dt.timedelta(minutes=s.checkin_closes_minutes_after))


def can_check_in(appt: Appointment, *, at: dt.datetime | None = None) -> bool:
    opens, closes = checkin_window(appt)
    return appt.status == "booked" and opens <= (at or now()) <= closes


def _description(session: Session, appointment_id: int) -> schemas.DescriptionPublic | None:
    desc = session.execute(select(ConditionDescription).where(ConditionDescription.appointment_id == appointment_id)
                           ).scalar_one_or_none()
    if desc is None:
        return None
    files = session.execute(select(DescriptionFile.file_id).where(DescriptionFile.description_id == desc.id)
                            .order_by(DescriptionFile.position, DescriptionFile.id)).scalars().all()
    return schemas.DescriptionPublic(text=desc.text, file_ids=list(files), submitted_at=desc.submitted_at)


def _visit(session: Session, visit_id: int | None) -> schemas.VisitPublic | None:
    if visit_id is None:
        return None
    visit = session.get(HisVisit, visit_id)
    if visit is None:
        return None
    dep = session.execute(select(Department.name).where(Department.code == visit.department_code)).scalar()
    return schemas.VisitPublic(visit_date=visit.visit_date, department=dep or visit.department_code,
                               doctor_name=visit.doctor_name, diagnosis=visit.diagnosis)


def refund_status(session: Session, *, appointment_id: int) -> str | None:
    """reviewing (退号申请审核中) | refunding (退费中) | refunded (已退费) | rejected, or null when the appointment
    has no refund."""
    from server.refunds.service import appointment_refund_status

    return appointment_refund_status(session, appointment_id)


def _refund_fields(session: Session, appointment_id: int) -> dict[str, str | None]:
    from server.refunds.service import PATIENT_STATUS

    status = refund_status(session, appointment_id=appointment_id)
    return {"refund_status": status, "refund_status_label": PATIENT_STATUS.get(status) if status else None}


@dataclass(frozen=True, slots=True)
class Row:
    appt: Appointment
    patient: Patient
    doctor: Doctor
    department: Department


def _rows(session: Session, q: Any) -> list[Row]:
    return [Row(a, p, d, dep) for a, p, d, dep in session.execute(q).all()]


def _base_query() -> Any:
    return (select(Appointment, Patient, Doctor, Department)
            .join(Patient, Patient.id == Appointment.patient_id)
            .join(Doctor, Doctor.id == Appointment.doctor_id)
            .join(Department, Department.id == Appointment.department_id))


def summary(session: Session, row: Row) -> dict[str, Any]:
    a = row.appt
    return {
        "id": a.id, "number": a.number, "status": a.status, "status_label": label(a.status),
        "patient_id": a.patient_id, "patient_name": row.patient.name, "doctor_id": a.doctor_id,
        "doctor_name": row.doctor.name, "doctor_title": row.doctor.title, "department_id": a.department_id,
        "department_name": row.department.name, "slot_id": a.slot_id, "starts_at": a.starts_at,
        "ends_at": a.ends_at, "fee_fen": a.fee_fen, "hold_expires_at": a.hold_expires_at, "paid_at": a.paid_at,
        "created_at": a.created_at, **_refund_fields(session, a.id),
    }


def load_row(session: Session, appt: Appointment) -> Row:
    return _rows(session, _base_query().where(Appointment.id == appt.id))[0]


def _detail_fields(session: Session, row: Row) -> dict[str, Any]:
    """AppointmentDetail's fields but the description and the eligibility visit."""
    appt = row.appt
    opens, closes = checkin_window(appt)
    fields = summary(session, row)
    note = None
    if fields["refund_status"] == "rejected":
        from server.refunds.service import rejection_note

        note = rejection_note(session, appt.id)
    return {**fields, "checked_in_at": appt.checked_in_at, "waiting_since": appt.waiting_since,
            "completed_at": appt.completed_at, "ended_at": appt.ended_at, "end_reason": appt.end_reason,
            "checkin_opens_at": opens, "checkin_closes_at": closes, "can_check_in": can_check_in(appt),
            "refund_note": note}


def detail(session: Session, appt: Appointment) -> schemas.AppointmentDetail:
    return schemas.AppointmentDetail(**_detail_fields(session, load_row(session, appt)),
                                     description=_description(session, appt.id),
                                     eligibility_visit=_visit(session, appt.eligibility_visit_id))


# An appointment summary as columns of one joined query: the holder's list is read on every visit to the app, and
# four ORM entities per row cost several times the query. The labels are AppointmentSummary's fields.
_A, _P, _D, _DEP = Appointment.__table__, Patient.__table__, Doctor.__table__, Department.__table__
_SUMMARY_LISTING = (
    select(_A.c.id, _A.c.number, _A.c.status, _A.c.patient_id, _P.c.name.label("patient_name"), _A.c.doctor_id,
           _D.c.name.label("doctor_name"), _D.c.title.label("doctor_title"), _A.c.department_id,
           _DEP.c.name.label("department_name"), _A.c.slot_id, _A.c.starts_at, _A.c.ends_at, _A.c.fee_fen,
           _A.c.hold_expires_at, _A.c.paid_at, _A.c.created_at)
    .join(_P, _P.c.id == _A.c.patient_id)
    .join(_D, _D.c.id == _A.c.doctor_id)
    .join(_DEP, _DEP.c.id == _A.c.department_id))
_ACCOUNT_LISTING = (_SUMMARY_LISTING.where(_A.c.account_id == bindparam("account_id"))
                    .order_by(_A.c.created_at.desc(), _A.c.id.desc())
                    .limit(bindparam("limit")).offset(bindparam("offset")))
_ACCOUNT_PATIENT_LISTING = _ACCOUNT_LISTING.where(_A.c.patient_id == bindparam("patient_id"))


def list_for_account(session: Session, *, account_id: int, patient_id: int | None = None, limit: int = 50,
                     offset: int = 0) -> list[dict[str, Any]]:
    """AppointmentSummary objects as plain data (the route encodes them once)."""
    q = _ACCOUNT_LISTING if patient_id is None else _ACCOUNT_PATIENT_LISTING
    params = {"account_id": account_id, "patient_id": patient_id, "limit": limit, "offset": offset}
    out = []
    for r in session.execute(q, params).mappings():
        item = dict(r)
        item["status_label"] = label(r["status"])
        item.update(_refund_fields(session, r["id"]))
        out.append(item)
    return out


def records_for_account(session: Session, *, account_id: int, patient_id: int | None = None, limit: int = 50,
                        offset: int = 0) -> list[schemas.RecordPublic]:
    """我的问诊: every visit that was paid for, newest first, with what was written during it."""
    q = _base_query().where(Appointment.account_id == account_id,
                            Appointment.paid_at.is_not(None))
    if patient_id is not None:
        q = q.where(Appointment.patient_id == patient_id)
    q = q.order_by(Appointment.starts_at.desc(), Appointment.id.desc()).limit(limit).offset(offset)
    out = []
    for r in _rows(session, q):
        a = r.appt
        diagnosis = (a.diagnosis_name or None) if a.status == "completed" else None
        out.append(schemas.RecordPublic(**summary(session, r), completed_at=a.completed_at, ended_at=a.ended_at,
                                        end_reason=a.end_reason, description=_description(session, a.id),
                                        diagnosis=diagnosis))
    return out


# --- booking --------------------------------------------------------------------------------------------------


def _day_bounds(at: dt.datetime) -> tuple[dt.datetime, dt.datetime]:
    day = at.astimezone(TZ).date()
    return combine(day, dt.time.min), combine(day + dt.timedelta(days=1), dt.time.min)


# The statements a booking runs are built once, with bound parameters: building and keying a new statement
# object costs SQLAlchemy more than running it (measured: 25 µs against 70 µs for a one-row select, 40 µs
# against 175 µs for an ORM insert).
_DUPLICATE = (select(_A.c.starts_at, _A.c.status)
              .where(_A.c.patient_id == bindparam("patient_id"), _A.c.doctor_id == bindparam("doctor_id"),
                     _A.c.starts_at >= bindparam("lo"), _A.c.starts_at < bindparam("hi"), _A.c.status.in_(ACTIVE))
              .limit(1))
_DUPLICATE_OTHER = _DUPLICATE.where(_A.c.id != bindparam("exclude_id"))
_SLOT_DOCTOR_DEPARTMENT = (select(Slot, Doctor, Department)
                           .outerjoin(Doctor, Doctor.id == Slot.doctor_id)
                           .outerjoin(Department, Department.id == Doctor.department_id)
                           .where(Slot.id == bindparam("slot_id")))
_PATIENT_LOCK = (select(_P.c.id)
                 .where(_P.c.id == bindparam("patient_id"), _P.c.account_id == bindparam("account_id"),
                        _P.c.removed_at.is_(None))
                 .with_for_update())
# An appointment's number has 24 random bits a second (server/ids.py): at hundreds of bookings a second two of them
# meet now and then (about 0.5 % of seconds at 400/s; the unique index then failed the booking with a 500). The
# insert skips a taken number and the booking draws another.
_INSERT_APPOINTMENT = {
    "postgresql": postgresql.insert(_A).on_conflict_do_nothing(index_elements=[_A.c.number]).returning(_A.c.id),
    "sqlite": sqlite.insert(_A).on_conflict_do_nothing(index_elements=[_A.c.number]).returning(_A.c.id),
}


def _duplicate(session: Session, *, patient_id: int, doctor_id: int, starts_at: dt.datetime,
               exclude_id: int | None = None) -> RowMapping | None:
    """The patient's active appointment with the doctor on that day (its starts_at and status), if any."""
    lo, hi = _day_bounds(starts_at)
    params = {"patient_id": patient_id, "doctor_id": doctor_id, "lo": lo, "hi": hi}
    if exclude_id is None:
        return session.execute(_DUPLICATE, params).mappings().first()
    return session.execute(_DUPLICATE_OTHER, {**params, "exclude_id": exclude_id}).mappings().first()


@dataclass(frozen=True, slots=True)
class Booking:
    """A new appointment and the rows it was made from, so that the answer needs no second read."""

    appt: Appointment
    patient: Patient
    doctor: Doctor
    department: Department
    visit: HisVisitLike | None


def book(session: Session, *, actor: Actor, account_id: int, patient_id: int, slot_id: int,
         notice_version: int) -> Booking:
    """Hold a place for an unpaid appointment (seed 2.3 (3)): the holder pays within ``hold_minutes``.

    The checks read first, as a reader (server/db.py: begin_read), so on SQLite they neither wait for nor hold the
    single write lock; the write transaction that follows holds only what must be atomic, and re-checks what
    another request could have changed meanwhile: the patient (locked on PostgreSQL, which serialises one
    patient's bookings), one active appointment per patient, doctor and day, and the place itself (take_slot's
    conditional UPDATE). A new notice or a doctor withdrawn in between is not re-checked, as neither was locked
    before either.
    """
    settings = get_settings()
    begin_read(session)
    version = catalogue.current_notice_version(session)
    if notice_version != version:
        raise Conflict("notice_outdated", "复诊须知已更新，请重新阅读最新的复诊须知并点击【我同意】后再预约")
    if not catalogue.has_accepted(session, account_id=account_id, version=version):
        raise Conflict("notice_not_accepted", "请先阅读复诊须知并点击【我同意】后再预约")
    patient = catalogue.owned_patient(session, account_id=account_id, patient_id=patient_id)
    found = session.execute(_SLOT_DOCTOR_DEPARTMENT, {"slot_id": slot_id}).first()
    if found is None or found[0].status == "removed":
        raise NotFound("号源")
    slot, doctor, department = found
    if doctor is None or department is None or not doctor.active or not department.active:
        raise Conflict("slot_unavailable", "该医生暂停在线复诊，请选择其他医生")
    eligibility = catalogue.check_eligibility(session, patient=patient, department=department)
    if not eligibility.eligible:
        raise Conflict("not_eligible", eligibility.reason)
    if slot.status != "open":
        raise Conflict("slot_unavailable", "该时段医生停诊，请选择其他时间")
    t = now()
    if slot.starts_at <= t:
        raise Conflict("slot_started", "该时段已开始或已结束，请选择其他时间")
    if slot.booked >= slot.capacity:
        raise Conflict("slot_full", "该时段号源已约满，请选择其他时间")
    session.commit()  # the end of the reads: the statements below run in a write transaction

    visit = eligibility.visit
    values = {"account_id": account_id, "patient_id": patient.id,
              "doctor_id": doctor.id, "department_id": department.id, "slot_id": slot.id,
              "starts_at": slot.starts_at, "ends_at": slot.ends_at, "fee_fen": doctor.fee_fen,
              "status": "pending_payment", "notice_version": version,
              "eligibility_visit_id": visit.id if isinstance(visit, HisVisit) else None,
              "hold_expires_at": t + dt.timedelta(minutes=settings.hold_minutes), "created_at": t,
              "end_reason": ""}
    if session.get_bind().dialect.name == "sqlite":
        appointment_id = _write_booking_sqlite(session, actor=actor, patient=patient, doctor=doctor, values=values)
        if appointment_id is not None:
            return Booking(Appointment(id=appointment_id, **values), patient, doctor, department, visit)
        # refused: the checks below, one at a time in the same write transaction, say why

    if session.execute(_PATIENT_LOCK, {"patient_id": patient.id, "account_id": account_id}).first() is None:
        raise NotFound("就诊人")
    other = _duplicate(session, patient_id=patient.id, doctor_id=doctor.id, starts_at=slot.starts_at)
    if other is not None:
        raise Conflict("duplicate_booking",
                       f"{patient.name}当天已预约{doctor.name}医生（{other['starts_at']:%H:%M}，"
                       f"{label(other['status'])}），请勿重复预约")
    if not catalogue.take_slot(session, slot_id=slot.id):
        raise Conflict("slot_full", "该时段号源已约满，请选择其他时间")
    # a plain INSERT (see _DUPLICATE); the object only carries the values to the event and the answer
    insert_appointment = _INSERT_APPOINTMENT[session.get_bind().dialect.name]
    for _attempt in range(5):
        values["number"] = order_number("A")
        appointment_id = session.execute(insert_appointment, values).scalar()
        if appointment_id is not None:
            break
    else:
        raise RuntimeError("five appointment numbers in a row were taken")
    appt = Appointment(id=appointment_id, **values)
    payload = event_payload(session, appt)
    record_change(session, actor=actor, kind="appointment.pending_payment", object_type="appointment",
                  object_id=appt.id, topic="clinical", doctor_id=appt.doctor_id, account_id=account_id,
                  payload=payload, details=_booked_details(payload, values))
    return Booking(appt, patient, doctor, department, visit)


def _booked_details(payload: dict[str, Any], values: dict[str, Any]) -> dict[str, Any]:
    """The audit entry's details of a new booking."""
    return {**payload, "from": None, "fee_fen": values["fee_fen"],
            "hold_expires_at": values["hold_expires_at"].isoformat()}


# --- the booking's write section on SQLite ----------------------------------------------------------------------
#
# On SQLite the write section holds the single write lock of the database, and every statement releases the GIL
# (inside sqlite3) and must take it back from whichever of the process's threads got it meanwhile: under load the
# lock was held ~3 ms for well under 1 ms of work (docs/benchmarks.md). So the section is as few DBAPI calls as can
# be, on the raw sqlite3 connection with the SQL written out (no SQLAlchemy execution, no ORM): one conditional
# UPDATE that takes the place only if the patient is still the holder's and has no other active appointment with
# the doctor that day (the re-checks of the generic path, fused), the appointment's INSERT, the event's, the chain's
# last hash, the audit entry's INSERT. Everything that can be computed before the lock is. Values are stored exactly
# as SQLAlchemy stores them (TZDateTime: UTC, "YYYY-MM-DD HH:MM:SS.ffffff"; JSON: json.dumps), which
# tests/test_booking.py checks against the ORM. When the UPDATE matches nothing, book() runs the generic checks
# in the same transaction to name the refusal.

_SQLITE_TAKE_SLOT = (
    "UPDATE slots SET booked = booked + 1"
    " WHERE id = ? AND status = 'open' AND booked < capacity AND starts_at > ?"
    " AND EXISTS (SELECT 1 FROM patients WHERE id = ? AND account_id = ? AND removed_at IS NULL)"
    " AND NOT EXISTS (SELECT 1 FROM appointments WHERE patient_id = ? AND doctor_id = ? AND starts_at >= ?"
    " AND starts_at < ? AND status IN (" + ", ".join(f"'{s}'" for s in ACTIVE) + "))")
_SQLITE_INSERT_APPOINTMENT = (
    "INSERT INTO appointments (number, account_id, patient_id, doctor_id, department_id, slot_id, starts_at, ends_at,"
    " fee_fen, status, notice_version, eligibility_visit_id, hold_expires_at, created_at, end_reason,"
    " diagnosis_code, diagnosis_name, notes) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, '', '', '')"
    " ON CONFLICT (number) DO NOTHING")
_SQLITE_INSERT_EVENT = ("INSERT INTO events (at, kind, topic, object_type, object_id, doctor_id, account_id, payload)"
                        " VALUES (?, ?, ?, ?, ?, ?, ?, ?)")
_SQLITE_LAST_HASH = "SELECT hash FROM audit_log ORDER BY id DESC LIMIT 1"
_SQLITE_INSERT_AUDIT = ("INSERT INTO audit_log (at, actor_type, actor_id, action, object_type, object_id, result,"
                        " details, client, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
_BOOKED_KIND = "appointment.pending_payment"


def _sqlite_time(value: dt.datetime | None) -> str | None:
    """An aware time as TZDateTime stores it on SQLite."""
    if value is None:
        return None
    return value.astimezone(dt.UTC).replace(tzinfo=None).isoformat(" ", "microseconds")


@dataclass(slots=True)
class _AuditRow:
    """The attributes audit.entry_hash reads."""

    at: dt.datetime
    actor_type: str
    actor_id: int | None
    action: str
    object_type: str
    object_id: int | None
    result: str
    details: dict[str, Any]
    client: str


def _write_booking_sqlite(session: Session, *, actor: Actor, patient: Patient, doctor: Doctor,
                          values: dict[str, Any]) -> int | None:
    """The booking's write transaction on SQLite (see above): the new appointment's id, or None when the place,
    the patient or the one-a-day rule refused (nothing written; the transaction stays open)."""
    lo, hi = _day_bounds(values["starts_at"])
    starts_at = _sqlite_time(values["starts_at"])
    take = [values["slot_id"], None, patient.id, values["account_id"], patient.id, doctor.id, _sqlite_time(lo),
            _sqlite_time(hi)]
    row = [None, values["account_id"], patient.id, doctor.id, values["department_id"], values["slot_id"], starts_at,
           _sqlite_time(values["ends_at"]), values["fee_fen"], values["status"], values["notice_version"],
           values["eligibility_visit_id"], _sqlite_time(values["hold_expires_at"]),
           _sqlite_time(values["created_at"]), values["end_reason"]]
    payload = {"appointment_id": None, "number": None, "status": values["status"],
               "status_label": label(values["status"]), "doctor_id": doctor.id, "patient_id": patient.id,
               "patient_name": patient.name, "starts_at": values["starts_at"].isoformat(),
               "ends_at": values["ends_at"].isoformat(), "waiting_since": None, "called_at": None,
               "completed_at": None}
    client = actor.client[:64]

    cur = session.connection().connection.driver_connection.cursor()  # BEGIN IMMEDIATE: the write lock
    try:
        take[1] = _sqlite_time(now())
        if cur.execute(_SQLITE_TAKE_SLOT, take).rowcount != 1:
            return None
        for _attempt in range(5):
            values["number"] = row[0] = order_number("A")
            if cur.execute(_SQLITE_INSERT_APPOINTMENT, row).rowcount == 1:
                break
        else:
            raise RuntimeError("five appointment numbers in a row were taken")
        appointment_id = cur.lastrowid
        payload["appointment_id"] = appointment_id
        payload["number"] = values["number"]
        cur.execute(_SQLITE_INSERT_EVENT, (_sqlite_time(now()), _BOOKED_KIND, "clinical", "appointment",
                                           appointment_id, doctor.id, values["account_id"], json.dumps(payload)))
        session.info["events_written"] = True
        last = cur.execute(_SQLITE_LAST_HASH).fetchone()
        entry = _AuditRow(now(), actor.type, actor.id, _BOOKED_KIND, "appointment", appointment_id, "ok",
                          _booked_details(payload, values), client)
        prev_hash = last[0] if last else GENESIS
        cur.execute(_SQLITE_INSERT_AUDIT, (_sqlite_time(entry.at), entry.actor_type, entry.actor_id, entry.action,
                                           entry.object_type, entry.object_id, entry.result,
                                           json.dumps(entry.details), entry.client, prev_hash,
                                           entry_hash(prev_hash, entry)))
        return appointment_id
    finally:
        cur.close()


def booking_detail(session: Session, booking: Booking) -> dict[str, Any]:
    """The answer to a booking (AppointmentDetail) from the rows in hand: a new appointment has no description,
    and its eligibility visit is the one just checked, in the booked department."""
    appt, visit = booking.appt, booking.visit
    visit_out = None
    if appt.eligibility_visit_id is not None and visit is not None:
        visit_out = {"visit_date": visit.visit_date, "department": booking.department.name,
                     "doctor_name": visit.doctor_name, "diagnosis": visit.diagnosis}
    row = Row(appt, booking.patient, booking.doctor, booking.department)
    return {**_detail_fields(session, row), "description": None, "eligibility_visit": visit_out}


def confirm_payment(session: Session, *, appointment_id: int, payment_id: int, actor: Actor) -> Appointment:
    """The gateway confirmed the consultation fee: pending_payment -> booked.

    Idempotent for the same payment. A payment that arrives after the hold expired retakes the slot when a place
    is still free; otherwise raises ``slot_lost_after_payment`` (409) and changes nothing, so the caller refunds
    the money. A second, different payment for an already paid appointment raises ``already_paid`` (refund it).
    """
    appt = session.execute(select(Appointment).where(Appointment.id == appointment_id).with_for_update()
                           .execution_options(populate_existing=True)).scalar_one_or_none()
    if appt is None:
        raise NotFound("预约")
    paid = {"paid_at": now(), "payment_id": payment_id}
    if appt.status == "pending_payment":
        return transition(session, appt, "booked", actor=actor, values=paid)
    if appt.payment_id == payment_id and appt.status not in RELEASED:
        return appt
    if appt.status == "expired" and appt.payment_id is None:
        lost = AppError("slot_lost_after_payment", "支付完成前预约已超时，且该时段号源已被约满，诊费将按原支付路径退回",
                        status=409, details={"appointment_id": appt.id, "status": appt.status})
        if _duplicate(session, patient_id=appt.patient_id, doctor_id=appt.doctor_id, starts_at=appt.starts_at,
                      exclude_id=appt.id) is not None:
            raise lost
        if not catalogue.take_slot(session, slot_id=appt.slot_id):
            raise lost
        return transition(session, appt, "booked", actor=actor,
                          values={**paid, "ended_at": None, "end_reason": ""})
    if appt.status in HOLDING_PAID:
        raise AppError("already_paid", "该预约已支付，本笔重复支付将按原支付路径退回", status=409,
                       details={"appointment_id": appt.id, "status": appt.status})
    raise AppError("slot_lost_after_payment", f"该预约{label(appt.status)}，诊费将按原支付路径退回", status=409,
                   details={"appointment_id": appt.id, "status": appt.status})


# --- the day of the visit -------------------------------------------------------------------------------------


def _window_text(opens: dt.datetime, closes: dt.datetime, *, at: dt.datetime) -> str:
    day = "" if opens.date() == at.date() else f"{opens.month}月{opens.day}日 "
    return f"{day}{opens:%H:%M}–{closes:%H:%M}"


def check_in(session: Session, *, actor: Actor, account_id: int, appointment_id: int) -> Appointment:
    """复诊签到: only while the day's window is open (around the slot's time)."""
    appt = get_owned(session, account_id=account_id, appointment_id=appointment_id, lock=True)
    ensure_allowed(appt, "checked_in")
    opens, closes = checkin_window(appt)
    t = now()
    window = _window_text(opens, closes, at=t)
    details = {"checkin_opens_at": opens.isoformat(), "checkin_closes_at": closes.isoformat()}
    if t < opens:
        raise Conflict("checkin_not_open", f"还未到签到时间，请在 {window} 之间签到", details=details)
    if t > closes:
        raise Conflict("checkin_not_open", f"签到时间已过（请在 {window} 之间签到），"
                                           "如未能就诊，可在预约详情中申请退号", details=details)
    return transition(session, appt, "checked_in", actor=actor)


def _description_files(session: Session, *, account_id: int, file_ids: list[int]) -> list[int]:
    """The holder's own uploads for a description; someone else's file answers like a missing one."""
    return [f.id for f in owned_files(session, account_id=account_id, file_ids=file_ids, purpose="description")]


def submit_description(session: Session, *, actor: Actor, account_id: int, appointment_id: int, text: str,
                       file_ids: list[int]) -> Appointment:
    """病情描述 after check-in; submitting it puts the patient in the doctor's waiting queue, and fixes it."""
    settings = get_settings()
    file_ids = list(dict.fromkeys(file_ids))
    if len(file_ids) > settings.description_max_files:
        raise AppError("too_many_files", f"最多上传{settings.description_max_files}个文件，请删减后再提交",
                       status=422)
    text = text.strip()
    if not text:
        raise AppError("description_empty", "请填写病情描述", status=422)
    appt = get_owned(session, account_id=account_id, appointment_id=appointment_id, lock=True)
    ensure_allowed(appt, "waiting")
    file_ids = _description_files(session, account_id=account_id, file_ids=file_ids)
    desc = ConditionDescription(appointment_id=appt.id, text=text, submitted_at=now())
    session.add(desc)
    session.flush()
    for pos, fid in enumerate(file_ids):
        session.add(DescriptionFile(description_id=desc.id, file_id=fid, position=pos))
    session.flush()
    return transition(session, appt, "waiting", actor=actor)


# --- the workstation ------------------------------------------------------------------------------------------


def _age(birth: dt.date | None, on: dt.date) -> int | None:
    if birth is None:
        return None
    return on.year - birth.year - ((on.month, on.day) < (birth.month, birth.day))


def staff_view(session: Session, row: Row, *, clinical: bool, at: dt.datetime | None = None,
               call_state: str | None = None) -> schemas.StaffAppointment:
    a, p = row.appt, row.patient
    t = at or now()
    waiting_s = int((t - a.waiting_since).total_seconds()) if a.status == "waiting" and a.waiting_since else None
    return schemas.StaffAppointment(
        id=a.id, number=a.number, status=a.status, status_label=label(a.status), doctor_id=a.doctor_id,
        doctor_name=row.doctor.name, department_id=a.department_id, department_name=row.department.name,
        starts_at=a.starts_at, ends_at=a.ends_at, fee_fen=a.fee_fen, paid_at=a.paid_at,
        checked_in_at=a.checked_in_at, waiting_since=a.waiting_since, waiting_s=waiting_s,
        patient=schemas.StaffPatient(id=p.id, name=p.name, sex=p.sex, age=_age(p.birth_date, t.date()),
                                     id_number_masked=p.id_number_masked, card_type=p.card_type,
                                     card_no=p.card_no),
        clinical=clinical,
        eligibility_visit=_visit(session, a.eligibility_visit_id) if clinical else None,
        description=_description(session, a.id) if clinical else None,
        diagnosis_code=a.diagnosis_code if clinical else None,
        diagnosis_name=a.diagnosis_name if clinical else None,
        notes=a.notes if clinical else None, call_state=call_state,
        rating=schemas.Rating(stars=a.rating_stars, text=a.rating_text or "", rated_at=a.rated_at)
        if a.rated_at is not None and a.rating_stars is not None else None)


def doctor_queue(session: Session, *, doctor_id: int | None, day: dt.date | None = None
                 ) -> list[schemas.StaffAppointment]:
    """Today's patients of one doctor who checked in (and how their visits went), in order of appointment."""
    if doctor_id is None:
        return []
    t = now()
    lo, hi = _day_bounds(combine(day, dt.time(12)) if day else t)
    q = (_base_query().where(Appointment.doctor_id == doctor_id, Appointment.starts_at >= lo,
                             Appointment.starts_at < hi, Appointment.status.in_(QUEUE_STATUSES))
         .order_by(Appointment.starts_at, Appointment.waiting_since.is_(None), Appointment.waiting_since,
                   Appointment.id))
    rows = _rows(session, q)
    calls = segments.states_of(session, [r.appt.id for r in rows])
    return [staff_view(session, r, clinical=True, at=t, call_state=calls.get(r.appt.id)) for r in rows]


def staff_appointment(session: Session, *, role: str, doctor_id: int | None,
                      appointment_id: int) -> schemas.StaffAppointment:
    """A doctor sees only their own patients, a clerk sees no clinical fields, others see nothing."""
    rows = _rows(session, _base_query().where(Appointment.id == appointment_id))
    if not rows:
        raise NotFound("预约")
    row = rows[0]
    own = role == "doctor" and doctor_id is not None and row.appt.doctor_id == doctor_id
    if role not in ("admin", "clerk") and not own:
        raise NotFound("预约")
    call_state = segments.states_of(session, [row.appt.id]).get(row.appt.id)
    return staff_view(session, row, clinical=role != "clerk", call_state=call_state)
