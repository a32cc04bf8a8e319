"""Path 5 (scheduler job ``refund_unservable``): paid visits that can no longer take place, and payments that
arrived for something no longer there, get their money back without anyone asking.

Appointments ``booked|checked_in|waiting`` that were paid and

- whose doctor is inactive (停用: the admin switched the doctor off), or
- whose slot was removed (the admin deleted the schedule: ``delete_schedule`` expires unpaid holds and leaves the
  paid ones to this job), or
- (``checked_in|waiting`` only) whose day in Asia/Shanghai is over without the doctor calling them,

become ``cancelled_by_hospital`` (reason ``号源无法就诊：…``), get a refund ``path slot_unavailable`` of what is
left to refund and an SMS (kind ``slot_unavailable``). A refund application still waiting for a clerk is
approved instead (path 2's approval, with its own SMS ``refund_approved``): the visit cannot happen. Orphaned payments (paid, ``orphan_reason`` set: paid for
a voided or expired prescription, a hold that lapsed and lost its place, or paid twice) with nothing refunded or
refunding are refunded in full (``path drug`` for a drug fee, ``slot_unavailable`` otherwise).

Several workers run the job at once. Each item is its own short transaction that locks, in the order every money
path keeps, the payment, then the appointment (then the slot, which the cancellation gives back), and checks
again under the locks before changing anything, so an item is handled once; a second run finds nothing to do.
The gateway call for each refund is made right after its transaction commits; one that fails stays
``processing`` and the reconciler (``refunds_settled``) sends it again.
"""
from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from typing import Any

from sqlalchemy import exists, or_, select
from sqlalchemy.orm import Session

from server.accounts.models import Account
from server.actor import SYSTEM
from server.appointments import service as appointments
from server.appointments.models import Appointment
from server.catalogue.models import Department, Doctor, Slot
from server.config import get_settings
from server.db import Database
from server.errors import AppError, InvalidState
from server.events.service import record_change
from server.patients.models import Patient
from server.payments.models import Payment
from server.refunds import service
from server.refunds.models import Refund
from server.sms.service import send_sms
from server.timeutil import TZ, combine, now

log = logging.getLogger(__name__)

BATCH = 200
SERVABLE_UNTIL_CALLED = ("booked", "checked_in", "waiting")
DAY_BOUND = ("checked_in", "waiting")

# why a visit cannot take place: (the appointment's end reason, the SMS's "因…已取消")
CAUSES = {
    "doctor_inactive": ("号源无法就诊：医生已停诊", "医生已停诊"),
    "slot_removed": ("号源无法就诊：医生排班已取消", "医生排班已取消"),
    "day_over": ("号源无法就诊：当日未能接诊", "当日医生未能接诊"),
}
ORPHAN_REASONS = {
    "slot_lost_after_payment": "支付到账时号源已释放", "hold_expired": "支付到账时预约已超时",
    "duplicate_payment": "重复支付", "already_paid": "重复支付",
    "prescription_not_payable": "支付到账时处方已作废或过期", "prescription_missing": "处方不存在",
}


def _when(t: dt.datetime) -> str:
    t = t.astimezone(TZ)
    return f"{t.month}月{t.day}日 {t:%H:%M}"


def sms_text(*, hospital: str, patient: str, department: Department, doctor: Doctor, starts_at: dt.datetime,
             cause: str) -> str:
    return (f"【{hospital}】{patient}您好，您预约的{department.name}{doctor.name}{doctor.title}"
            f"{_when(starts_at)}的在线复诊，因{cause}已取消，诊费将按原路退回，预计1-15个工作日到账。"
            f"如需复诊，请重新预约其他时间。")


def _day_start(t: dt.datetime) -> dt.datetime:
    return combine(t.astimezone(TZ).date(), dt.time(0))


def _unservable(day_start: dt.datetime) -> Any:
    """The condition, as SQL: paid, not yet seen, and the visit cannot happen."""
    inactive = exists().where(Doctor.id == Appointment.doctor_id, Doctor.active.is_(False))
    removed = exists().where(Slot.id == Appointment.slot_id, Slot.status == "removed")
    over = Appointment.status.in_(DAY_BOUND) & (Appointment.starts_at < day_start)
    return (Appointment.status.in_(SERVABLE_UNTIL_CALLED) & Appointment.paid_at.is_not(None)
            & or_(inactive, removed, over))


def cause_of(session: Session, appt: Appointment, *, day_start: dt.datetime) -> str | None:
    """Why this (locked, current) appointment can no longer be served, or None."""
    if appt.status not in SERVABLE_UNTIL_CALLED or appt.paid_at is None:
        return None
    doctor = session.get(Doctor, appt.doctor_id, populate_existing=True)
    if doctor is None or not doctor.active:
        return "doctor_inactive"
    slot = session.get(Slot, appt.slot_id, populate_existing=True)
    if slot is None or slot.status == "removed":
        return "slot_removed"
    if appt.status in DAY_BOUND and appt.starts_at < day_start:
        return "day_over"
    return None


def _lock_appointment(session: Session, appointment_id: int) -> Appointment | None:
    return session.execute(select(Appointment).where(Appointment.id == appointment_id)
                           .with_for_update(key_share=True).execution_options(populate_existing=True)
                           ).scalar_one_or_none()


def cancel_unservable(session: Session, *, appointment_id: int, day_start: dt.datetime) -> tuple[bool, int | None]:
    """One appointment: cancelled by the hospital with its refund and SMS, if it still qualifies under the locks.
    Returns (whether it was cancelled, the refund to send)."""
    appt = session.get(Appointment, appointment_id)
    if appt is None:
        return False, None
    payment = service.paid_payment_of(session, appt.id, appt.payment_id)
    if payment is not None:
        service.lock_payment(session, payment.id)
    appt = _lock_appointment(session, appointment_id)
    if appt is None:
        return False, None
    cause = cause_of(session, appt, day_start=day_start)
    if cause is None:
        return False, None
    end_reason, sms_cause = CAUSES[cause]
    application = service.pending_application(session, appt.id)
    if application is not None:  # its row too, before the audit chain (the order path 2's approval keeps)
        session.execute(select(Refund.id).where(Refund.id == application.id).with_for_update())
    # the place goes back only while its time is ahead (the window refund's rule)
    appointments.transition(session, appt, "cancelled_by_hospital", actor=SYSTEM, reason=end_reason,
                            release=appt.starts_at > now())
    refund_id: int | None = None
    if application is not None:
        # the patient applied for the fee back (after the time, not seen) and a clerk has not answered yet: the
        # hospital cannot serve the visit, so the application is approved (its SMS tells the patient)
        refund_id = service.approve(session, refund_id=application.id, actor=SYSTEM,
                                    reviewer_id=None).id  # the system, not a clerk
    elif payment is not None:
        try:
            with session.begin_nested():
                refund = service.request_refund(session, payment_id=payment.id, path="slot_unavailable",
                                                actor=SYSTEM, reason=end_reason)
            refund_id = refund.id
        except AppError as exc:  # already refunded or refunding: nothing more to give back
            log.info("refund_unservable: appointment %s not refunded again: %s", appt.id, exc.code)
    record_change(session, actor=SYSTEM, kind="refund.requested", object_type="appointment", object_id=appt.id,
                  topic="money", doctor_id=appt.doctor_id, account_id=appt.account_id,
                  payload={"appointment_id": appt.id, "appointment_number": appt.number,
                           "payment_id": payment.id if payment else None,
                           "out_trade_no": payment.out_trade_no if payment else None,
                           "amount_fen": payment.amount_fen if payment else appt.fee_fen,
                           "refund_id": refund_id, "reason": "slot_unavailable", "cause": cause})
    account = session.get(Account, appt.account_id)
    patient = session.get(Patient, appt.patient_id)
    doctor = session.get(Doctor, appt.doctor_id)
    department = session.get(Department, appt.department_id)
    if application is None and account is not None and doctor is not None and department is not None:
        send_sms(session, mobile=account.mobile, kind="slot_unavailable",
                 body=sms_text(hospital=get_settings().hospital_name, patient=patient.name if patient else "",
                               department=department, doctor=doctor, starts_at=appt.starts_at, cause=sms_cause))
    return True, refund_id


def _orphans() -> Any:
    """Paid payments nobody could take, with nothing refunded or refunding (a rejected refund is nothing)."""
    touched = exists().where(Refund.payment_id == Payment.id, Refund.status != "rejected")
    return (Payment.status == "paid") & (Payment.orphan_reason != "") & (Payment.refunded_fen == 0) & ~touched


def refund_orphan(session: Session, *, payment_id: int) -> tuple[bool, int | None]:
    """One orphaned payment refunded in full, if it still qualifies with its row locked.
    Returns (whether it was refunded, the refund to send)."""
    payment = service.lock_payment(session, payment_id)
    still = session.execute(select(Payment.id).where(Payment.id == payment_id, _orphans())).scalar()
    if still is None:
        return False, None
    why = ORPHAN_REASONS.get(payment.orphan_reason, "订单无法入账")
    if payment.purpose == "drug":
        path, reason = "drug", f"药费退回：{why}"
    else:
        path, reason = "slot_unavailable", f"号源无法就诊：{why}"
    try:
        with session.begin_nested():
            refund = service.request_refund(session, payment_id=payment.id, path=path, actor=SYSTEM, reason=reason)
    except AppError as exc:
        log.info("refund_unservable: orphaned payment %s not refunded: %s", payment.out_trade_no, exc.code)
        return False, None
    return True, refund.id


def _each(db: Database, query: Any, column: Any,
          handle: Callable[[Session, int], tuple[bool, int | None]]) -> int:
    """Run ``handle`` on every id the query selects, BATCH ids at a time (keyset: each id once per run), one
    transaction per id, and the gateway call right after each commit."""
    done, after = 0, 0
    while True:
        with db.session(write=False) as s:
            ids = list(s.execute(query.where(column > after).order_by(column).limit(BATCH)).scalars())
        for item in ids:
            try:
                with db.transaction() as s:
                    outcome = handle(s, item)
            except InvalidState:  # another worker or the patient got there first
                continue
            except Exception:  # one bad row must not stop the rest; the next run tries it again
                log.exception("refund_unservable: item %s failed", item)
                continue
            handled, refund_id = outcome
            if handled:
                done += 1
            if refund_id is not None:
                service.submit_all(db, [refund_id])
        if len(ids) < BATCH:
            return done
        after = ids[-1]


def refund_unservable(db: Database, *, at: dt.datetime | None = None) -> int:
    """One pass: what it cancelled and refunded (appointments cancelled + orphaned payments refunded)."""
    day_start = _day_start(at or now())
    cancelled = _each(db, select(Appointment.id).where(_unservable(day_start)), Appointment.id,
                      lambda s, i: cancel_unservable(s, appointment_id=i, day_start=day_start))
    orphans = _each(db, select(Payment.id).where(_orphans()), Payment.id,
                    lambda s, i: refund_orphan(s, payment_id=i))
    return cancelled + orphans
