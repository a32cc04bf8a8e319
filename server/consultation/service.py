"""The doctor's side of a visit: accept (call), the visit record, finish, missed; the chart; clinic stops.

Every status change goes through the appointments slice's :func:`transition` (DOMAIN.md's machine, a
conditional UPDATE, the event for the doctor's live queue). A doctor acts only on appointments booked with
them: any other id answers exactly like a missing one.

Clinic stops and bookings racing on PostgreSQL (SQLite serialises writers, so there is nothing to race):
booking takes a place with ``UPDATE slots ... WHERE status = 'open' AND booked < capacity`` and holds that
row lock until it commits. The stop locks the period's slot rows before it stops them, so either the
booking's UPDATE ran first (the stop waits for its commit, then sees the new appointment when it selects
the appointments again and cancels it) or the stop's lock came first (the booking's UPDATE waits, re-reads
the row, finds ``stopped`` and takes nothing: the booking is refused). Never a live appointment on a
stopped slot.

Lock order, the same as every other writer's so that no two wait on each other: the doctor row, then payment
rows (the payment notification locks its payment before anything else), then appointment rows, then slot rows,
and only then the audit chain lock (taken by the first ``record_change``).
"""
from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from sqlalchemy import Select, func, or_, select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from server.accounts.models import Account
from server.actor import Actor
from server.appointments import service as appointments
from server.appointments.models import Appointment, ConditionDescription, DescriptionFile
from server.appointments.schemas import StaffPatient
from server.catalogue import service as catalogue
from server.catalogue.models import Department, Doctor, HisVisit, Slot
from server.catalogue.schemas import VisitPublic
from server.config import get_settings
from server.consultation import schemas
from server.consultation.models import ClinicStop
from server.errors import AppError, Forbidden, InvalidState, NotFound
from server.events.service import deferred_changes, record_change
from server.files.models import StoredFile
from server.patients.models import Patient
from server.payments.models import Payment
from server.sms.service import send_sms
from server.timeutil import now
from server.video import segments

MAX_STOP_DAYS = 31
# what a clinic stop cancels; in_consultation is left to finish (the doctor is with that patient right now)
STOP_CANCELS = ("pending_payment", "booked", "checked_in", "waiting")
PREVIOUS_VISITS_LIMIT = 50

log = logging.getLogger(__name__)


def _when(t: dt.datetime) -> str:
    return f"{t.month}月{t.day}日 {t:%H:%M}"


def _refuse(appt: Appointment, to_status: str, message: str) -> InvalidState:
    return InvalidState(message, details={"status": appt.status, "to": to_status})


def own_appointment(session: Session, *, doctor_id: int | None, appointment_id: int,
                    lock: bool = True) -> Appointment:
    """The doctor's own appointment, locked unless ``lock`` is false (reads); another doctor's answers like a
    missing one."""
    if doctor_id is None:
        raise NotFound("预约")
    q = select(Appointment).where(Appointment.id == appointment_id, Appointment.doctor_id == doctor_id)
    if lock:
        q = q.with_for_update(key_share=True).execution_options(populate_existing=True)
    appt = session.execute(q).scalar_one_or_none()
    if appt is None:
        raise NotFound("预约")
    return appt


# --- the visit ----------------------------------------------------------------------------------------------


def accept(session: Session, *, actor: Actor, doctor_id: int | None, appointment_id: int) -> Appointment:
    """接诊: the doctor calls a waiting patient (or one who checked in but has not described yet)."""
    appt = own_appointment(session, doctor_id=doctor_id, appointment_id=appointment_id)
    specific = {
        "pending_payment": "该预约尚未支付，不能接诊",
        "booked": "患者尚未签到，不能接诊；请等待患者签到后再呼叫",
        "in_consultation": "已接诊该患者，正在就诊中",
        "completed": "本次就诊已结束，不能再次接诊",
    }
    if appt.status in specific:
        raise _refuse(appt, "in_consultation", specific[appt.status])
    return appointments.transition(session, appt, "in_consultation", actor=actor)


def _check_editable(appt: Appointment, to: str) -> None:
    if appt.status == "in_consultation":
        return
    if appt.status == "completed":
        raise _refuse(appt, to, "本次就诊已结束，病历不能再修改")
    if appt.status in ("checked_in", "waiting"):
        raise _refuse(appt, to, "请先接诊患者，再书写病历或结束就诊")
    raise _refuse(appt, to, f"预约当前状态为「{appointments.label(appt.status)}」，不能书写病历或结束就诊")


def save_record(session: Session, *, actor: Actor, doctor_id: int | None, appointment_id: int,
                record: schemas.VisitRecord) -> Appointment:
    """Keep the doctor's draft (diagnosis and notes) while the visit runs; unchanged drafts write nothing."""
    appt = own_appointment(session, doctor_id=doctor_id, appointment_id=appointment_id)
    _check_editable(appt, "in_consultation")
    values = {"diagnosis_code": record.diagnosis_code, "diagnosis_name": record.diagnosis_name.strip(),
              "notes": record.notes}
    if all(getattr(appt, k) == v for k, v in values.items()):
        return appt
    res = session.execute(update(Appointment)
                          .where(Appointment.id == appt.id, Appointment.status == "in_consultation")
                          .values(**values).execution_options(synchronize_session=False))
    if res.rowcount != 1:
        raise InvalidState("预约状态已发生变化，请刷新后重试", details={"status": appt.status})
    for key, value in values.items():
        set_committed_value(appt, key, value)
    payload = {**appointments.event_payload(session, appt), "diagnosis_code": appt.diagnosis_code,
               "diagnosis_name": appt.diagnosis_name}
    record_change(session, actor=actor, kind="appointment.record_saved", object_type="appointment",
                  object_id=appt.id, topic="clinical", doctor_id=appt.doctor_id, account_id=appt.account_id,
                  payload=payload, details={**payload, "notes_chars": len(appt.notes)})
    return appt


def finish(session: Session, *, actor: Actor, doctor_id: int | None, appointment_id: int,
           record: schemas.VisitRecord) -> Appointment:
    """结束就诊: the visit ends with a diagnosis (ICD-10 code and name)."""
    name = record.diagnosis_name.strip()
    if not record.diagnosis_code or not name:
        raise AppError("diagnosis_required", "请填写诊断（ICD-10编码和诊断名称）后再结束就诊", status=422,
                       details={"missing": [k for k, v in (("diagnosis_code", record.diagnosis_code),
                                                           ("diagnosis_name", name)) if not v]})
    appt = own_appointment(session, doctor_id=doctor_id, appointment_id=appointment_id)
    if appt.status == "completed":
        raise _refuse(appt, "completed", "本次就诊已结束，请勿重复操作")
    _check_editable(appt, "completed")
    appointments.transition(session, appt, "completed", actor=actor,
                            values={"diagnosis_code": record.diagnosis_code, "diagnosis_name": name,
                                    "notes": record.notes})
    segments.end_open(session, appt, reason="visit_finished", actor=actor)
    return appt


def mark_missed(session: Session, *, actor: Actor, doctor_id: int | None, appointment_id: int,
                reason: str) -> Appointment:
    """过号: the patient did not answer the call, or never came; a booked one only once its time began."""
    appt = own_appointment(session, doctor_id=doctor_id, appointment_id=appointment_id)
    if appt.status == "booked" and appt.starts_at > now():
        raise _refuse(appt, "missed", f"预约时间（{_when(appt.starts_at)}）还未到，不能标记为过号")
    if appt.status == "in_consultation":
        raise _refuse(appt, "missed", "患者正在就诊中，不能标记为过号")
    reason = reason.strip() or ("医生呼叫未应答" if appt.status in ("checked_in", "waiting") else "患者未按时就诊")
    appointments.transition(session, appt, "missed", actor=actor, reason=reason)
    segments.end_open(session, appt, reason="visit_finished", actor=actor)
    return appt


# --- the chart ----------------------------------------------------------------------------------------------


def _age(birth: dt.date | None, on: dt.date) -> int | None:
    if birth is None:
        return None
    return on.year - birth.year - ((on.month, on.day) < (birth.month, birth.day))


def _visit(session: Session, visit_id: int | None) -> VisitPublic | None:
    visit = session.get(HisVisit, visit_id) if visit_id is not None else None
    if visit is None:
        return None
    dep = session.execute(select(Department.name).where(Department.code == visit.department_code)).scalar()
    return VisitPublic(visit_date=visit.visit_date, department=dep or visit.department_code,
                       doctor_name=visit.doctor_name, diagnosis=visit.diagnosis)


def _description(session: Session, appointment_id: int) -> schemas.ChartDescription | None:
    desc = session.execute(select(ConditionDescription)
                           .where(ConditionDescription.appointment_id == appointment_id)).scalar_one_or_none()
    if desc is None:
        return None
    files = session.execute(select(StoredFile).join(DescriptionFile, DescriptionFile.file_id == StoredFile.id)
                            .where(DescriptionFile.description_id == desc.id)
                            .order_by(DescriptionFile.position, DescriptionFile.id)).scalars().all()
    return schemas.ChartDescription(
        text=desc.text, submitted_at=desc.submitted_at,
        files=[schemas.ChartFile(id=f.id, content_type=f.content_type, size=f.size, purpose=f.purpose)
               for f in files])


def _previous_visits(session: Session, *, appt: Appointment, patient: Patient) -> list[schemas.PreviousVisit]:
    """The same person's earlier paid appointments: by patient row, or by ID number under another account."""
    same_person = Appointment.patient_id == patient.id
    if patient.id_number_digest:
        same_person = or_(same_person, Appointment.patient_id.in_(
            select(Patient.id).where(Patient.id_number_digest == patient.id_number_digest)))
    q = (select(Appointment, Doctor, Department)
         .join(Doctor, Doctor.id == Appointment.doctor_id)
         .join(Department, Department.id == Appointment.department_id)
         .where(same_person, Appointment.id != appt.id, Appointment.paid_at.is_not(None),
                Appointment.starts_at < appt.starts_at)
         .order_by(Appointment.starts_at.desc(), Appointment.id.desc()).limit(PREVIOUS_VISITS_LIMIT))
    out = []
    for a, doctor, dep in session.execute(q).all():
        done = a.status == "completed"
        out.append(schemas.PreviousVisit(
            appointment_id=a.id, number=a.number, status=a.status, status_label=appointments.label(a.status),
            starts_at=a.starts_at, doctor_id=a.doctor_id, doctor_name=doctor.name, department_name=dep.name,
            diagnosis_code=a.diagnosis_code if done else None,
            diagnosis_name=a.diagnosis_name if done else None,
            completed_at=a.completed_at))
    return out


def _previous_prescriptions(session: Session, *, patient_id: int, appointment_id: int) -> list[dict[str, Any]]:
    from server.prescriptions import service as prescriptions

    return prescriptions.previous_for_chart(session, patient_id=patient_id, appointment_id=appointment_id)


def chart(session: Session, *, role: str, doctor_id: int | None, appointment_id: int) -> schemas.Chart:
    """The chart: a doctor of their own appointments, an admin of all; nobody else (no clinical data)."""
    row = session.execute(select(Appointment, Patient, Doctor, Department)
                          .join(Patient, Patient.id == Appointment.patient_id)
                          .join(Doctor, Doctor.id == Appointment.doctor_id)
                          .join(Department, Department.id == Appointment.department_id)
                          .where(Appointment.id == appointment_id)).one_or_none()
    if row is None:
        raise NotFound("预约")
    a, p, doctor, dep = row
    allowed = role == "admin" or (role == "doctor" and doctor_id is not None and a.doctor_id == doctor_id)
    if not allowed:
        raise NotFound("预约")
    return schemas.Chart(
        appointment_id=a.id, number=a.number, status=a.status, status_label=appointments.label(a.status),
        doctor_id=a.doctor_id, doctor_name=doctor.name, department_name=dep.name, starts_at=a.starts_at,
        ends_at=a.ends_at, checked_in_at=a.checked_in_at, waiting_since=a.waiting_since,
        called_at=a.called_at, completed_at=a.completed_at, diagnosis_code=a.diagnosis_code,
        diagnosis_name=a.diagnosis_name, notes=a.notes,
        patient=StaffPatient(id=p.id, name=p.name, sex=p.sex, age=_age(p.birth_date, now().date()),
                             id_number_masked=p.id_number_masked, card_type=p.card_type, card_no=p.card_no),
        eligibility_visit=_visit(session, a.eligibility_visit_id),
        description=_description(session, a.id),
        previous_visits=_previous_visits(session, appt=a, patient=p),
        previous_prescriptions=_previous_prescriptions(session, patient_id=p.id, appointment_id=a.id))


# --- clinic stops (停诊) --------------------------------------------------------------------------------------


def _period_slots(doctor_id: int, starts_at: dt.datetime, ends_at: dt.datetime) -> Any:
    return (Slot.doctor_id == doctor_id, Slot.starts_at < ends_at, Slot.ends_at > starts_at,
            Slot.status != "removed")


def _stoppable_slots(doctor_id: int, starts_at: dt.datetime, ends_at: dt.datetime) -> Any:
    """The slots a stop of the period turns ``stopped`` (and the preview counts)."""
    return (*_period_slots(doctor_id, starts_at, ends_at), Slot.status == "open")


def _affected(doctor_id: int, starts_at: dt.datetime, ends_at: dt.datetime) -> Select[tuple[Appointment]]:
    """The appointments a stop of the period cancels (and the preview counts)."""
    slot_ids = select(Slot.id).where(*_period_slots(doctor_id, starts_at, ends_at))
    return (select(Appointment).where(Appointment.slot_id.in_(slot_ids), Appointment.status.in_(STOP_CANCELS))
            .order_by(Appointment.id))


def _was_paid(appt: Appointment) -> bool:
    """Whether cancelling it requests a refund (read before the cancellation changes its status)."""
    return appt.status != "pending_payment" and appt.paid_at is not None


def _stop_target(*, role: str, own_doctor_id: int | None, doctor_id: int | None, starts_at: dt.datetime,
                 ends_at: dt.datetime, t: dt.datetime) -> int:
    """Who may stop whose clinic, and which periods can be stopped: the same answer for the stop and its
    preview. Returns the doctor's id (not yet looked up: a missing doctor is the caller's 404)."""
    if role == "doctor":
        if own_doctor_id is None:
            raise Forbidden("clinic_stop_forbidden", "您的账号未关联医生，不能申报停诊")
        if doctor_id is not None and doctor_id != own_doctor_id:
            raise Forbidden("clinic_stop_forbidden", "医生只能为自己申报停诊，请联系管理员为其他医生办理")
        doctor_id = own_doctor_id
    elif doctor_id is None:
        raise AppError("doctor_required", "请选择停诊的医生", status=422)
    if starts_at >= ends_at:
        raise AppError("period_invalid", "停诊结束时间须晚于开始时间", status=422)
    if ends_at <= t:
        raise AppError("period_in_past", "停诊时段已经过去，请选择将来的时间", status=422)
    if ends_at - starts_at > dt.timedelta(days=MAX_STOP_DAYS):
        raise AppError("period_too_long", f"一次停诊最长{MAX_STOP_DAYS}天，请分段申报", status=422)
    return doctor_id


def stop_sms(*, hospital: str, patient: str, department: Department, doctor: Doctor, starts_at: dt.datetime,
             reason: str, paid: bool) -> str:
    money = ("诊费将按原路退回，预计1-15个工作日到账。" if paid
             else "该预约尚未完成支付；如已付款，诊费将按原路退回。")
    return (f"【{hospital}】{patient}您好，您预约的{department.name}{doctor.name}{doctor.title}"
            f"{_when(starts_at)}的在线复诊，因医生停诊（{reason}）已取消，{money}如需复诊，请重新预约其他时间。")


def _paid_payment(session: Session, appt: Appointment) -> Payment | None:
    if appt.payment_id is not None:
        payment = session.get(Payment, appt.payment_id)
        if payment is not None:
            return payment
    return session.execute(select(Payment).where(Payment.appointment_id == appt.id, Payment.status == "paid")
                           .order_by(Payment.id).limit(1)).scalar_one_or_none()


def _load(session: Session, model: Any, ids: set[int]) -> list[Any]:
    rows: list[Any] = []
    ordered = sorted(ids)
    for i in range(0, len(ordered), 500):
        rows += session.execute(select(model).where(model.id.in_(ordered[i:i + 500]))).scalars()
    return rows


def declare_stop(session: Session, *, actor: Actor, role: str, own_doctor_id: int | None,
                 body: schemas.ClinicStopCreate) -> tuple[ClinicStop, Doctor]:
    """停诊 (seed 2.5.3): stop the doctor's slots in the period and cancel (and refund) what was booked on them.

    One transaction: the stop, the stopped slots, every cancellation with its refund request and SMS commit
    together or not at all.
    """
    reason = body.reason.strip()
    if len(reason) < 2:
        raise AppError("reason_too_short", "请填写停诊原因（至少2个字），患者会在短信中看到", status=422)
    starts_at, ends_at = body.starts_at, body.ends_at
    t = now()
    doctor_id = _stop_target(role=role, own_doctor_id=own_doctor_id, doctor_id=body.doctor_id,
                             starts_at=starts_at, ends_at=ends_at, t=t)

    # the lock order of the module docstring: doctor, payments, appointments, slots, then the audit chain.
    # FOR NO KEY UPDATE (key_share): a booking's INSERT takes FOR KEY SHARE on the doctor, slot and
    # appointment rows its foreign keys point at, and must not queue behind us while it holds the slot we
    # wait for.
    doctor = session.execute(select(Doctor).where(Doctor.id == doctor_id).with_for_update(key_share=True)
                             ).scalar_one_or_none()
    if doctor is None:
        raise NotFound("医生")
    department = session.get(Department, doctor.department_id)
    affected = _affected(doctor.id, starts_at, ends_at)
    affected_ids = affected.with_only_columns(Appointment.id)
    # the payments locked as whole rows: the loop below finds each in the session instead of selecting it again
    payments = list(session.execute(select(Payment).where(Payment.appointment_id.in_(affected_ids))
                                    .order_by(Payment.id).with_for_update(key_share=True)).scalars())
    locked = affected.with_for_update(key_share=True).execution_options(populate_existing=True)
    appts = list(session.execute(locked).scalars())
    session.execute(select(Slot.id).where(*_period_slots(doctor.id, starts_at, ends_at)).order_by(Slot.id)
                    .with_for_update(key_share=True))
    stopped = session.execute(update(Slot).where(*_stoppable_slots(doctor.id, starts_at, ends_at))
                              .values(status="stopped").execution_options(synchronize_session=False)).rowcount
    # a booking that took a place just before the slots were locked has committed by now: cancel it too
    seen = {a.id for a in appts}
    appts += [a for a in session.execute(locked).scalars() if a.id not in seen]

    # likewise every holder and patient the cancellations read (one query each, not one per appointment); the
    # lists keep them in the session's identity map, which holds rows only while something references them
    people = [*_load(session, Account, {a.account_id for a in appts}),
              *_load(session, Patient, {a.patient_id for a in appts})]
    settings = get_settings()
    end_reason = f"医生停诊：{reason}"
    cancelled: list[int] = []
    with deferred_changes(session) as changes:  # three changes an appointment, written at once at the end
        _cancel_all(session, appts, held=_held(session, [p.id for p in payments]), changes=changes, actor=actor,
                    doctor=doctor, department=department, reason=reason, end_reason=end_reason,
                    hospital=settings.hospital_name, cancelled=cancelled)
        del payments, people
        stop = _stop_row(session, doctor=doctor, starts_at=starts_at, ends_at=ends_at, reason=reason, actor=actor,
                         stopped=stopped, cancelled=cancelled, t=t)
    return stop, doctor


def _held(session: Session, payment_ids: list[int]) -> dict[int, int]:
    """Fen of each payment already spoken for by its refunds (requested, approved, processing, failed)."""
    from server.refunds.models import HOLDING, Refund

    held = dict.fromkeys(payment_ids, 0)
    for i in range(0, len(payment_ids), 500):
        held.update(session.execute(select(Refund.payment_id, func.sum(Refund.amount_fen))
                                    .where(Refund.payment_id.in_(payment_ids[i:i + 500]),
                                           Refund.status.in_(HOLDING))
                                    .group_by(Refund.payment_id)).tuples().all())
    return held


def _cancel_all(session: Session, appts: list[Appointment], *, held: dict[int, int], changes: list[Any],
                actor: Actor, doctor: Doctor, department: Department | None, reason: str, end_reason: str,
                hospital: str, cancelled: list[int]) -> None:
    freed: list[int] = []  # the places given back, one per appointment, in one statement after the loop
    for appt in appts:
        paid = _was_paid(appt)
        if appt.status not in appointments.RELEASED:
            freed.append(appt.slot_id)
        appointments.transition(session, appt, "cancelled_by_hospital", actor=actor, reason=end_reason,
                                release=False)
        cancelled.append(appt.id)
        if paid:
            payment = _paid_payment(session, appt)
            if payment is not None and payment.status == "paid":
                from server.refunds import service as refunds

                if payment.id in held:
                    # locked above with what its refunds hold: what is left to refund now is what request_refund
                    # will find, so it is called only when it will not refuse (no savepoint needed)
                    left = payment.amount_fen - payment.refunded_fen - held[payment.id]
                    if left > 0:
                        refund = refunds.request_refund(session, payment_id=payment.id, path="clinic_stop",
                                                        actor=actor, reason=end_reason, locked=(payment, left))
                        held[payment.id] += refund.amount_fen
                        session.info.setdefault("refunds_to_submit", []).append(refund.id)
                    elif (application := refunds.pending_application(session, appt.id)) is not None:
                        # the patient applied for the fee back (the time passed while waiting) and no clerk has
                        # answered: the hospital stops the clinic, so the application is approved (its SMS says so)
                        refund = refunds.approve(session, refund_id=application.id, actor=actor, reviewer_id=None)
                        session.info.setdefault("refunds_to_submit", []).append(refund.id)
                    else:  # already refunded or refunding: nothing more to give back
                        log.info("clinic stop: appointment %s not refunded again (%s fen left)", appt.id, left)
                else:
                    mark = len(changes)
                    try:
                        with session.begin_nested():
                            refund = refunds.request_refund(session, payment_id=payment.id, path="clinic_stop",
                                                            actor=actor, reason=end_reason)
                        session.info.setdefault("refunds_to_submit", []).append(refund.id)
                    except AppError as exc:  # already refunded or refunding: nothing more to give back
                        del changes[mark:]  # what the rolled-back savepoint recorded
                        log.info("clinic stop: appointment %s not refunded again: %s", appt.id, exc.code)
            record_change(session, actor=actor, kind="refund.requested", object_type="appointment",
                          object_id=appt.id, topic="money", doctor_id=appt.doctor_id,
                          account_id=appt.account_id,
                          payload={"appointment_id": appt.id, "appointment_number": appt.number,
                                   "payment_id": payment.id if payment else None,
                                   "out_trade_no": payment.out_trade_no if payment else None,
                                   "amount_fen": payment.amount_fen if payment else appt.fee_fen,
                                   "reason": "clinic_stop"})
        account = session.get(Account, appt.account_id)
        patient = session.get(Patient, appt.patient_id)
        if account is not None and department is not None:
            send_sms(session, mobile=account.mobile, kind="clinic_stop",
                     body=stop_sms(hospital=hospital, patient=patient.name if patient else "",
                                   department=department, doctor=doctor, starts_at=appt.starts_at,
                                   reason=reason, paid=paid))
    if freed:
        catalogue.release_slots(session, freed)


def _stop_row(session: Session, *, doctor: Doctor, starts_at: dt.datetime, ends_at: dt.datetime, reason: str,
              actor: Actor, stopped: int, cancelled: list[int], t: dt.datetime) -> ClinicStop:
    stop = ClinicStop(doctor_id=doctor.id, starts_at=starts_at, ends_at=ends_at, reason=reason,
                      declared_by=actor.id or 0, stopped_slots=stopped, cancelled_appointments=len(cancelled),
                      created_at=t)
    session.add(stop)
    session.flush()
    payload = {"clinic_stop_id": stop.id, "doctor_id": doctor.id, "doctor_name": doctor.name,
               "starts_at": starts_at.isoformat(), "ends_at": ends_at.isoformat(), "reason": reason,
               "stopped_slots": stopped, "cancelled_appointments": len(cancelled),
               "cancelled_appointment_ids": cancelled}
    for kind, topic in (("clinic_stop.declared", "clinical"), ("clinic_stop.summary", "admin")):
        record_change(session, actor=actor, kind=kind, object_type="clinic_stop", object_id=stop.id,
                      topic=topic, doctor_id=doctor.id, payload=payload)
    return stop


def preview_stop(session: Session, *, role: str, own_doctor_id: int | None, doctor_id: int | None,
                 starts_at: dt.datetime, ends_at: dt.datetime) -> schemas.ClinicStopPreview:
    """What a stop of the period would do if declared now: the same checks and the same selection of slots
    and appointments as :func:`declare_stop`, read without locking or changing anything."""
    doctor_id = _stop_target(role=role, own_doctor_id=own_doctor_id, doctor_id=doctor_id, starts_at=starts_at,
                             ends_at=ends_at, t=now())
    doctor = session.get(Doctor, doctor_id)
    if doctor is None:
        raise NotFound("医生")
    slots = session.execute(select(func.count()).select_from(Slot)
                            .where(*_stoppable_slots(doctor.id, starts_at, ends_at))).scalar_one()
    appts = list(session.execute(_affected(doctor.id, starts_at, ends_at)).scalars())
    times = [a.starts_at for a in appts]
    return schemas.ClinicStopPreview(doctor_id=doctor.id, doctor_name=doctor.name, starts_at=starts_at,
                                     ends_at=ends_at, slots=slots, appointments=len(appts),
                                     paid_appointments=sum(1 for a in appts if _was_paid(a)),
                                     first_starts_at=min(times, default=None),
                                     last_starts_at=max(times, default=None))


def stop_public(stop: ClinicStop, doctor_name: str) -> schemas.ClinicStopPublic:
    return schemas.ClinicStopPublic(id=stop.id, doctor_id=stop.doctor_id, doctor_name=doctor_name,
                                    starts_at=stop.starts_at, ends_at=stop.ends_at, reason=stop.reason,
                                    declared_by=stop.declared_by, stopped_slots=stop.stopped_slots,
                                    cancelled_appointments=stop.cancelled_appointments,
                                    created_at=stop.created_at)


def list_stops(session: Session, *, role: str, own_doctor_id: int | None, doctor_id: int | None, limit: int,
               offset: int) -> list[schemas.ClinicStopPublic]:
    """Newest period first. A doctor sees their own stops only; an admin everyone's (or one doctor's)."""
    q = select(ClinicStop, Doctor.name).join(Doctor, Doctor.id == ClinicStop.doctor_id)
    if role != "admin":
        if own_doctor_id is None or (doctor_id is not None and doctor_id != own_doctor_id):
            return []
        doctor_id = own_doctor_id
    if doctor_id is not None:
        q = q.where(ClinicStop.doctor_id == doctor_id)
    q = q.order_by(ClinicStop.starts_at.desc(), ClinicStop.id.desc()).limit(limit).offset(offset)
    return [stop_public(stop, name) for stop, name in session.execute(q).all()]
