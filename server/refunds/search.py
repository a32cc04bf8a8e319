"""The clerk's order search (``GET /staff/orders?q=``): find a patient's orders from what they bring to the
window — the account's mobile, an ID number, an order or refund number, an appointment number — or else part of
a name, and show each with its money and what the window may do with it.

One row per appointment (with its consultation payment) and one per paid prescription (with its drug payment).
A page is loaded with a fixed number of queries whatever its length: the matching ids first, then every table
the rows need, each in one ``IN`` query (and the refunds' context through :func:`views.to_public`, which does the
same). Clerks see orders and money, never clinical notes: no diagnosis, description, notes or drug lines here.
"""
from __future__ import annotations

import datetime as dt
import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Select, exists, select
from sqlalchemy.orm import Session

from server.accounts.models import Account
from server.appointments import service as appointments
from server.appointments.models import Appointment
from server.catalogue.models import Department, Doctor
from server.crypto import digest
from server.errors import AppError
from server.patients.models import Patient
from server.payments.models import Payment
from server.prescriptions.models import Prescription
from server.refunds import service, views
from server.refunds.drug import live_statuses
from server.refunds.models import HOLDING, Refund
from server.refunds.staff_schemas import OrderRow
from server.validation import mask_mobile

MAX_QUERY = 64
MOBILE = re.compile(r"1[0-9]{10}")
ID_NUMBER = re.compile(r"[0-9]{15}|[0-9]{17}[0-9Xx]")
ORDER_NUMBER = re.compile(r"[A-Za-z0-9]{4,64}")


def _by_id(session: Session, model: Any, ids: Iterable[int | None]) -> dict[int, Any]:
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return {}
    return {row.id: row for row in session.execute(select(model).where(model.id.in_(wanted))).scalars()}


def _paid_rx() -> Any:
    """Prescriptions with a paid drug payment (the ones a drug row is shown for)."""
    return exists().where(Payment.prescription_id == Prescription.id, Payment.purpose == "drug",
                          Payment.status == "paid")


@dataclass
class _Match:
    appointments: Select[Any] | None = None
    prescriptions: Select[Any] | None = None
    appointment_ids: list[int] = field(default_factory=list)
    prescription_ids: list[int] = field(default_factory=list)


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _by_owner(column_appt: Any, column_rx: Any, owners: Select[Any]) -> _Match:
    return _Match(appointments=select(Appointment.id).where(column_appt.in_(owners)),
                  prescriptions=select(Prescription.id).where(column_rx.in_(owners), _paid_rx()))


def _numbers(session: Session, text: str) -> _Match | None:
    """An order number, a refund number or an appointment number (exact); None when it is none of them."""
    payment = session.execute(select(Payment).where(Payment.out_trade_no == text)).scalar_one_or_none()
    if payment is None:
        payment = session.execute(select(Payment).join(Refund, Refund.payment_id == Payment.id)
                                  .where(Refund.out_refund_no == text)).scalar_one_or_none()
    if payment is not None:
        if payment.purpose == "drug" and payment.prescription_id is not None:
            return _Match(prescription_ids=[payment.prescription_id])
        return _Match(appointment_ids=[payment.appointment_id] if payment.appointment_id else [])
    appt_id = session.execute(select(Appointment.id).where(Appointment.number == text)).scalar()
    if appt_id is not None:
        # the visit, and the drug fees of its prescriptions
        return _Match(appointment_ids=[appt_id],
                      prescriptions=select(Prescription.id).where(Prescription.appointment_id == appt_id,
                                                                  _paid_rx()))
    return None


def _match(session: Session, text: str) -> _Match:
    if MOBILE.fullmatch(text):
        return _by_owner(Appointment.account_id, Prescription.account_id,
                         select(Account.id).where(Account.mobile == text))
    if ID_NUMBER.fullmatch(text):
        return _by_owner(Appointment.patient_id, Prescription.patient_id,
                         select(Patient.id).where(Patient.id_number_digest == digest(text)))
    if ORDER_NUMBER.fullmatch(text):
        found = _numbers(session, text)
        if found is not None:
            return found
    return _by_owner(Appointment.patient_id, Prescription.patient_id,
                     select(Patient.id).where(Patient.name.like(f"%{_escape_like(text)}%", escape="\\")))


def _ids(session: Session, match: _Match, limit: int) -> tuple[list[int], list[int]]:
    appt_ids, rx_ids = list(match.appointment_ids), list(match.prescription_ids)
    if match.appointments is not None:
        q = match.appointments.order_by(Appointment.created_at.desc(), Appointment.id.desc()).limit(limit)
        appt_ids += list(session.execute(q).scalars())
    if match.prescriptions is not None:
        q = match.prescriptions.order_by(Prescription.created_at.desc(), Prescription.id.desc()).limit(limit)
        rx_ids += list(session.execute(q).scalars())
    return list(dict.fromkeys(appt_ids)), list(dict.fromkeys(rx_ids))


def _pick(payments: list[Payment], preferred: int | None) -> Payment | None:
    """The order of a row: the one that paid it, else a paid one, else the newest asked for."""
    if not payments:
        return None
    for p in payments:
        if p.id == preferred and p.status == "paid":
            return p
    paid = [p for p in payments if p.status == "paid"]
    if paid:
        return min(paid, key=lambda p: p.id)
    return max(payments, key=lambda p: p.id)


def search(session: Session, *, q: str, limit: int = 20) -> list[OrderRow]:
    text = q.strip()
    if not text:
        raise AppError("query_too_short", "请输入手机号、身份证号、订单号、退费单号、预约号或患者姓名", status=422)
    appt_ids, rx_ids = _ids(session, _match(session, text[:MAX_QUERY]), limit)
    return rows(session, appointment_ids=appt_ids, prescription_ids=rx_ids, limit=limit)


def rows(session: Session, *, appointment_ids: list[int], prescription_ids: list[int],
         limit: int) -> list[OrderRow]:
    """OrderRows of these appointments (consultation) and prescriptions (drug), newest first."""
    rxs = _by_id(session, Prescription, prescription_ids)
    appts = _by_id(session, Appointment, [*appointment_ids, *(rx.appointment_id for rx in rxs.values())])
    patients = _by_id(session, Patient, [*(a.patient_id for a in appts.values()),
                                         *(rx.patient_id for rx in rxs.values())])
    accounts = _by_id(session, Account, [*(a.account_id for a in appts.values()),
                                         *(rx.account_id for rx in rxs.values())])
    doctors = _by_id(session, Doctor, (a.doctor_id for a in appts.values()))
    departments = _by_id(session, Department, (d.department_id for d in doctors.values()))

    consultation: dict[int, list[Payment]] = defaultdict(list)
    drug: dict[int, list[Payment]] = defaultdict(list)
    wanted_appts = [i for i in appointment_ids if i in appts]
    wanted_rxs = [i for i in prescription_ids if i in rxs]
    if wanted_appts or wanted_rxs:
        q = select(Payment).where(
            ((Payment.purpose == "consultation") & Payment.appointment_id.in_(wanted_appts or [-1]))
            | ((Payment.purpose == "drug") & Payment.prescription_id.in_(wanted_rxs or [-1])))
        for p in session.execute(q).scalars():
            if p.purpose == "drug" and p.prescription_id is not None:
                drug[p.prescription_id].append(p)
            elif p.appointment_id is not None:
                consultation[p.appointment_id].append(p)

    chosen: list[tuple[str, int, Payment | None]] = []
    for appt_id in wanted_appts:
        chosen.append(("consultation", appt_id, _pick(consultation[appt_id], appts[appt_id].payment_id)))
    for rx_id in wanted_rxs:
        payment = _pick(drug[rx_id], rxs[rx_id].payment_id)
        if payment is not None and payment.status == "paid":
            chosen.append(("drug", rx_id, payment))

    def newest(item: tuple[str, int, Payment | None]) -> tuple[dt.datetime, int, int]:
        kind, key, _p = item
        made = appts[key].created_at if kind == "consultation" else rxs[key].created_at
        return made, 0 if kind == "consultation" else 1, key

    chosen.sort(key=newest, reverse=True)
    chosen = chosen[:limit]

    payment_ids = [p.id for _k, _i, p in chosen if p is not None]
    refunds: list[Refund] = list(session.execute(select(Refund).where(Refund.payment_id.in_(payment_ids))
                                                 .order_by(Refund.id.desc())).scalars()) if payment_ids else []
    public = dict(zip([r.id for r in refunds], views.to_public(session, refunds), strict=True))
    by_payment: dict[int, list[Refund]] = defaultdict(list)
    for r in refunds:
        by_payment[r.payment_id].append(r)

    out: list[OrderRow] = []
    for kind, key, payment in chosen:
        rx = rxs.get(key) if kind == "drug" else None
        appt = appts[rx.appointment_id] if rx is not None else appts[key]
        patient = patients.get(rx.patient_id if rx is not None else appt.patient_id)
        account = accounts.get(rx.account_id if rx is not None else appt.account_id)
        doctor = doctors.get(appt.doctor_id)
        department = departments.get(doctor.department_id) if doctor else None
        mine = by_payment.get(payment.id, []) if payment is not None else []
        paid = payment is not None and payment.status == "paid"
        paid_fen = payment.amount_fen if paid else 0
        refunded = payment.refunded_fen if payment is not None else 0
        refunding = sum(r.amount_fen for r in mine if r.status in HOLDING)
        refundable = max(paid_fen - refunded - refunding, 0) if paid else 0
        status = service.patient_status(live_statuses([(r.id, r.status, r.retry_of_id) for r in mine]))
        actions: list[str] = []
        if kind == "consultation" and paid and appt.status in service.WINDOW_REFUNDABLE and (
                refundable > 0 or any(r.status == "requested" and r.path == "application" for r in mine)):
            actions.append("window_refund")
        if rx is not None and paid and rx.status == "paid" and refundable > 0:
            actions.append("drug_refund")
        out.append(OrderRow(
            kind=kind, appointment_id=appt.id, appointment_number=appt.number, appointment_status=appt.status,
            appointment_status_label=appointments.label(appt.status), starts_at=appt.starts_at,
            doctor_name=doctor.name if doctor else "", department_name=department.name if department else "",
            prescription_id=rx.id if rx is not None else None,
            prescription_status=rx.status if rx is not None else "",
            prescription_status_label=_rx_label(rx.status) if rx is not None else "",
            patient_name=patient.name if patient else "",
            id_number_masked=patient.id_number_masked if patient else "",
            mobile_masked=mask_mobile(account.mobile) if account else "",
            payment_id=payment.id if payment is not None else None,
            out_trade_no=payment.out_trade_no if payment is not None else "",
            payment_status=payment.status if payment is not None else "",
            paid_fen=paid_fen, paid_at=payment.paid_at if paid and payment is not None else None,
            refunded_fen=refunded, refunding_fen=refunding, refundable_fen=refundable,
            refund_status=status, refund_status_label=service.PATIENT_STATUS.get(status) if status else None,
            refunds=[public[r.id] for r in mine], actions=actions))
    return out


def _rx_label(status: str) -> str:
    from server.prescriptions.service import label

    return label(status)
