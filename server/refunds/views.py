"""How clerks see refunds: the refund row plus what the window needs to talk to the patient about it — who,
which appointment or prescription, which doctor, what was paid — loaded for a whole page at once.

Clerks see orders and refunds, never clinical notes: nothing here reads a visit record or a prescription's lines.
"""
from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from server.accounts.models import Account
from server.appointments import service as appointments
from server.appointments.models import Appointment
from server.catalogue.models import Department, Doctor
from server.patients.models import Patient
from server.payments.models import Payment
from server.refunds.models import Refund
from server.refunds.schemas import RefundPublic
from server.staff.models import Staff
from server.validation import mask_mobile

STATUS_LABELS = {"requested": "待审核", "approved": "已同意", "rejected": "已拒绝", "processing": "退费中",
                 "refunded": "已退费", "failed": "退款异常", "closed": "退款关闭"}
PATH_LABELS = {"cancel": "就诊前取消", "application": "退号申请", "window": "窗口退费", "clinic_stop": "医生停诊",
               "slot_unavailable": "号源无法就诊", "drug": "药费退费"}


def _by_id(session: Session, model: Any, ids: Iterable[int | None]) -> dict[int, Any]:
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return {}
    return {row.id: row for row in session.execute(select(model).where(model.id.in_(wanted))).scalars()}


def to_public(session: Session, refunds: Iterable[Refund]) -> list[RefundPublic]:
    """RefundPublic rows with their context, in the order given (a handful of queries for any number)."""
    rows = list(refunds)
    payments = _by_id(session, Payment, (r.payment_id for r in rows))
    appts = _by_id(session, Appointment, (r.appointment_id for r in rows))
    if any(r.prescription_id and not r.appointment_id for r in rows):
        from server.prescriptions.models import Prescription

        rxs = _by_id(session, Prescription, (r.prescription_id for r in rows if not r.appointment_id))
        extra = _by_id(session, Appointment, (rx.appointment_id for rx in rxs.values()))
        appts.update(extra)
        rx_appt = {rx.id: rx.appointment_id for rx in rxs.values()}
    else:
        rx_appt = {}
    patients = _by_id(session, Patient, (a.patient_id for a in appts.values()))
    doctors = _by_id(session, Doctor, (a.doctor_id for a in appts.values()))
    departments = _by_id(session, Department, (d.department_id for d in doctors.values()))
    accounts = _by_id(session, Account, (r.account_id for r in rows))
    reviewers = _by_id(session, Staff, (r.reviewer_id for r in rows))
    out: list[RefundPublic] = []
    for r in rows:
        pay = payments.get(r.payment_id)
        appt = appts.get(r.appointment_id or rx_appt.get(r.prescription_id or 0, 0) or 0)
        patient = patients.get(appt.patient_id) if appt else None
        doctor = doctors.get(appt.doctor_id) if appt else None
        dept = departments.get(doctor.department_id) if doctor else None
        account = accounts.get(r.account_id)
        reviewer = reviewers.get(r.reviewer_id or 0)
        out.append(RefundPublic.model_validate(r).model_copy(update={
            "out_trade_no": pay.out_trade_no if pay else "",
            "status_label": STATUS_LABELS.get(r.status, r.status),
            "path_label": PATH_LABELS.get(r.path, r.path),
            "purpose": pay.purpose if pay else "",
            "paid_fen": pay.amount_fen if pay else 0,
            "paid_at": pay.paid_at if pay else None,
            "patient_name": patient.name if patient else "",
            "id_number_masked": patient.id_number_masked if patient else "",
            "mobile_masked": mask_mobile(account.mobile) if account else "",
            "appointment_number": appt.number if appt else "",
            "appointment_status": appt.status if appt else "",
            "appointment_status_label": appointments.label(appt.status) if appt else "",
            "starts_at": appt.starts_at if appt else None,
            "doctor_name": doctor.name if doctor else "",
            "department_name": dept.name if dept else "",
            "reviewer_name": reviewer.name if reviewer else "",
        }))
    return out


def one(session: Session, refund: Refund) -> RefundPublic:
    return to_public(session, [refund])[0]
