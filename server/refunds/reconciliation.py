"""The day's reconciliation (对账, ``GET /staff/reconciliation?day=``): what came in and what went back on one
day in Asia/Shanghai, for the clerk to compare with the merchant platform's statement (the console exports it
as CSV).

- ``payments``: paid that day (``paid_at`` within the day);
- ``refunds``: created that day or refunded that day;
- ``exceptions``: those of ``refunds`` that need a clerk (failed, or closed and not yet sent again);
- ``totals``: ``refunded_*`` the refunds that turned refunded that day, ``refunding_*`` those of the list
  still requested/approved/processing, ``net_fen = paid_fen − refunded_fen``.
"""
from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from server.appointments.models import Appointment
from server.errors import AppError
from server.patients.models import Patient
from server.payments.models import Payment
from server.prescriptions.models import Prescription
from server.refunds import views
from server.refunds.models import Refund
from server.refunds.staff_schemas import Reconciliation, ReconciliationPayment, ReconciliationTotals
from server.timeutil import combine

EARLIEST, LATEST = dt.date(2000, 1, 1), dt.date(2100, 12, 31)
REFUNDING = ("requested", "approved", "processing")


def day_bounds(day: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """Midnight to midnight in Asia/Shanghai."""
    start = combine(day, dt.time(0))
    return start, combine(day + dt.timedelta(days=1), dt.time(0))


def _by_id(session: Session, model: Any, ids: Any) -> dict[int, Any]:
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return {}
    return {row.id: row for row in session.execute(select(model).where(model.id.in_(wanted))).scalars()}


def reconcile(session: Session, *, day: dt.date) -> Reconciliation:
    if not EARLIEST <= day <= LATEST:
        raise AppError("day_out_of_range", "请选择2000年至2100年之间的日期", status=422)
    lo, hi = day_bounds(day)

    payments = list(session.execute(select(Payment).where(Payment.status == "paid", Payment.paid_at >= lo,
                                                          Payment.paid_at < hi)
                                    .order_by(Payment.paid_at, Payment.id)).scalars())
    rxs = _by_id(session, Prescription, (p.prescription_id for p in payments))
    appts = _by_id(session, Appointment, [*(p.appointment_id for p in payments),
                                          *(rx.appointment_id for rx in rxs.values())])
    patients = _by_id(session, Patient, [*(a.patient_id for a in appts.values()),
                                         *(rx.patient_id for rx in rxs.values())])
    paid_rows = []
    for p in payments:
        rx = rxs.get(p.prescription_id or 0)
        appt = appts.get(p.appointment_id or (rx.appointment_id if rx else 0) or 0)
        patient = patients.get(rx.patient_id if rx else appt.patient_id if appt else 0)
        paid_rows.append(ReconciliationPayment(
            payment_id=p.id, out_trade_no=p.out_trade_no, purpose=p.purpose, amount_fen=p.amount_fen,
            refunded_fen=p.refunded_fen, paid_at=p.paid_at, patient_name=patient.name if patient else "",
            appointment_number=appt.number if appt else "", prescription_id=p.prescription_id, status=p.status))

    refunds = list(session.execute(select(Refund).where(or_(
        and_(Refund.created_at >= lo, Refund.created_at < hi),
        and_(Refund.refunded_at >= lo, Refund.refunded_at < hi))).order_by(Refund.created_at, Refund.id)).scalars())
    closed = [r.id for r in refunds if r.status == "closed"]
    retried = set(session.execute(select(Refund.retry_of_id).where(Refund.retry_of_id.in_(closed))).scalars()) \
        if closed else set()
    public = views.to_public(session, refunds)
    exceptions = [p for p in public if p.status == "failed" or (p.status == "closed" and p.id not in retried)]
    refunded = [r for r in refunds if r.status == "refunded" and r.refunded_at is not None
                and lo <= r.refunded_at < hi]
    refunding = [r for r in refunds if r.status in REFUNDING]
    paid_fen = sum(p.amount_fen for p in payments)
    refunded_fen = sum(r.amount_fen for r in refunded)
    totals = ReconciliationTotals(
        paid_count=len(payments), paid_fen=paid_fen, refunded_count=len(refunded), refunded_fen=refunded_fen,
        refunding_count=len(refunding), refunding_fen=sum(r.amount_fen for r in refunding),
        exception_count=len(exceptions), net_fen=paid_fen - refunded_fen)
    return Reconciliation(day=day, payments=paid_rows, refunds=public, exceptions=exceptions, totals=totals)
