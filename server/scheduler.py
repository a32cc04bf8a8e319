"""Background jobs of the booking day: expire unpaid holds, send reminders, mark missed visits, end video calls
nobody answered, settle the call presence of streams whose process died, expire prescriptions whose
validity passed, refund visits that can no longer take place and payments nobody could take
(server/refunds/unservable.py), and settle refunds with the gateway.

Every worker process runs its own loop (several uvicorn workers, or several hosts on one PostgreSQL), so each
job claims its rows with a conditional UPDATE (``WHERE status = ...`` / ``WHERE reminder_sent_at IS NULL``):
whoever's UPDATE changes the row does the work, the others see zero rows and move on. Each item is its own short
transaction, so one bad row cannot block the rest and a crash loses at most the item in hand.
"""
from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
from typing import Any

from sqlalchemy import select, update

from server import lifecycle
from server.accounts.models import Account
from server.actor import SYSTEM
from server.appointments import service as appointments
from server.appointments.models import Appointment
from server.catalogue.models import Department, Doctor
from server.db import Database, get_db
from server.errors import InvalidState
from server.events.service import record_change
from server.patients.models import Patient
from server.sms.service import send_sms
from server.timeutil import now
from server.video import presence, segments
from server.video import service as video
from server.video.models import CallSegment

log = logging.getLogger(__name__)

BATCH = 200


def _candidates(db: Database, query: Any) -> list[int]:
    with db.session(write=False) as s:
        return list(s.execute(query.limit(BATCH)).scalars())


def expire_holds(db: Database, *, at: dt.datetime | None = None) -> int:
    """Unpaid appointments past their hold give their place back (pending_payment -> expired)."""
    t = at or now()
    done = 0
    ids = _candidates(db, select(Appointment.id).where(Appointment.status == "pending_payment",
                                                       Appointment.hold_expires_at < t)
                      .order_by(Appointment.hold_expires_at))
    for appt_id in ids:
        with db.transaction() as s:
            appt = s.get(Appointment, appt_id)
            if appt is None or appt.status != "pending_payment" or appt.hold_expires_at is None \
                    or appt.hold_expires_at >= t:
                continue
            try:
                appointments.transition(s, appt, "expired", actor=SYSTEM, reason="超时未支付，号源已释放")
            except InvalidState:  # another worker or a payment got there first
                continue
            done += 1
    return done


def reminder_text(*, hospital: str, patient: str, doctor: Doctor, department: Department,
                  starts_at: dt.datetime) -> str:
    return (f"【{hospital}】{patient}您好，您预约的{department.name}{doctor.name}{doctor.title}在线复诊将于"
            f"{starts_at.month}月{starts_at.day}日 {starts_at:%H:%M}开始，"
            f"请在复诊时间前后进入小程序点击【复诊签到】。")


def send_reminders(db: Database, *, at: dt.datetime | None = None) -> int:
    """复诊提醒: one SMS per booked appointment shortly before its time, never two."""
    t = at or now()
    settings = db.settings
    horizon = t + dt.timedelta(minutes=settings.reminder_minutes_before)
    # still useful while the check-in window is open
    latest_end = t - dt.timedelta(minutes=settings.checkin_closes_minutes_after)
    ids = _candidates(db, select(Appointment.id).where(Appointment.status == "booked",
                                                       Appointment.reminder_sent_at.is_(None),
                                                       Appointment.starts_at <= horizon,
                                                       Appointment.ends_at >= latest_end)
                      .order_by(Appointment.starts_at))
    done = 0
    for appt_id in ids:
        with db.transaction() as s:
            claimed = s.execute(update(Appointment)
                                .where(Appointment.id == appt_id, Appointment.reminder_sent_at.is_(None),
                                       Appointment.status == "booked")
                                .values(reminder_sent_at=t)
                                .execution_options(synchronize_session=False)).rowcount
            if claimed != 1:
                continue
            appt = s.get(Appointment, appt_id)
            account = s.get(Account, appt.account_id)
            patient = s.get(Patient, appt.patient_id)
            doctor = s.get(Doctor, appt.doctor_id)
            department = s.get(Department, appt.department_id)
            if account is None or patient is None or doctor is None or department is None:
                continue
            body = reminder_text(hospital=settings.hospital_name, patient=patient.name, doctor=doctor,
                                 department=department, starts_at=appt.starts_at)
            msg = send_sms(s, mobile=account.mobile, kind="reminder", body=body)
            payload = appointments.event_payload(s, appt)
            record_change(s, actor=SYSTEM, kind="appointment.reminder_sent", object_type="appointment",
                          object_id=appt.id, topic="clinical", doctor_id=appt.doctor_id,
                          account_id=appt.account_id, payload=payload,
                          details={**payload, "sms_id": msg.id})
            done += 1
    return done


def mark_missed(db: Database, *, at: dt.datetime | None = None) -> int:
    """Booked appointments whose check-in window closed without a check-in become missed (过号)."""
    t = at or now()
    grace = dt.timedelta(minutes=db.settings.checkin_closes_minutes_after)
    ids = _candidates(db, select(Appointment.id).where(Appointment.status == "booked",
                                                       Appointment.ends_at < t - grace)
                      .order_by(Appointment.ends_at))
    done = 0
    for appt_id in ids:
        with db.transaction() as s:
            appt = s.get(Appointment, appt_id)
            if appt is None or appt.status != "booked" or appt.ends_at + grace >= t:
                continue
            try:
                appointments.transition(s, appt, "missed", actor=SYSTEM, reason="未在签到时间内签到")
            except InvalidState:
                continue
            done += 1
    return done


def end_unanswered_calls(db: Database, *, at: dt.datetime | None = None) -> int:
    """``no_answer``: a call segment still ringing ``call_answer_timeout_s`` after the invitation ends. The job
    runs every ``scheduler_interval_s`` (5 s), so a call rings at most that much longer than the timeout."""
    cutoff = (at or now()) - dt.timedelta(seconds=db.settings.call_answer_timeout_s)
    ids = _candidates(db, select(CallSegment.id).where(CallSegment.state == "invited",
                                                       CallSegment.invited_at < cutoff)
                      .order_by(CallSegment.invited_at))
    done = 0
    for segment_id in ids:
        with db.transaction() as s:
            done += video.end_unanswered(s, segment_id=segment_id, cutoff=cutoff)
    return done


def settle_lapsed_presence(db: Database, *, at: dt.datetime | None = None) -> int:
    """Call streams whose lease lapsed (their worker process died): drop the leases, and interrupt the call
    (``patient_left``) where no stream of the patient is left (server/video/presence.py)."""
    done = 0
    for appointment_id in presence.lapsed(db, at=at or now(), limit=BATCH):
        with db.transaction() as s:
            appt = segments.lock_appointment(s, appointment_id)
            if appt is not None:
                done += presence.settle(s, appt, actor=SYSTEM)
    return done


def expire_prescriptions(db: Database, *, at: dt.datetime | None = None) -> int:
    """Issued prescriptions not paid before ``valid_until`` expire (issued|fulfilment_chosen -> expired)."""
    from server.prescriptions import service as prescriptions
    from server.prescriptions.models import Prescription

    t = at or now()
    ids = _candidates(db, select(Prescription.id).where(Prescription.status.in_(("issued", "fulfilment_chosen")),
                                                        Prescription.valid_until < t)
                      .order_by(Prescription.valid_until))
    done = 0
    for rx_id in ids:
        with db.transaction() as s:
            try:
                done += prescriptions.expire(s, rx_id=rx_id, at=t)
            except InvalidState:  # another worker or a payment got there first
                continue
    return done


def run_once(db: Database | None = None, *, at: dt.datetime | None = None) -> dict[str, int]:
    """One pass of every job; safe to run in several processes at once."""
    db = db or get_db()
    from server.payments.service import reconcile_payments
    from server.refunds.service import reconcile_refunds
    from server.refunds.unservable import refund_unservable

    return {"expired": expire_holds(db, at=at), "reminded": send_reminders(db, at=at),
            "missed": mark_missed(db, at=at), "reconciled": reconcile_payments(db).applied,
            "unanswered": end_unanswered_calls(db, at=at), "left": settle_lapsed_presence(db, at=at),
            "prescriptions_expired": expire_prescriptions(db, at=at),
            "refund_unservable": refund_unservable(db, at=at),
            "refunds_settled": reconcile_refunds(db).settled}


# --- the loop in the service process ----------------------------------------------------------------------------

_task: asyncio.Task[None] | None = None


async def _loop(interval: float) -> None:
    while True:
        try:
            result = await asyncio.to_thread(run_once)
            if any(result.values()):
                log.info("scheduler: %s", result)
        except asyncio.CancelledError:
            raise
        except Exception:  # keep running: the next pass retries
            log.exception("scheduler pass failed")
        await asyncio.sleep(interval)


async def start(_app: Any) -> None:
    global _task
    settings = get_db().settings
    if not settings.scheduler_enabled or _task is not None:
        return
    _task = asyncio.create_task(_loop(max(0.1, settings.scheduler_interval_s)), name="clinic-scheduler")


async def stop(_app: Any) -> None:
    global _task
    task, _task = _task, None
    if task is not None:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


lifecycle.register(start=start, stop=stop)
