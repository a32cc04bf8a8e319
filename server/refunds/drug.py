"""Drug-fee refunds (药费退费): a clerk gives back what was paid for a prescription that was not dispensed.

``POST /staff/prescriptions/{id}/refund``: only a ``paid`` prescription (not yet dispensed or shipped) can be
refunded; it becomes ``refunded`` (已退费), leaves the pharmacist's 待发药 list and can no longer be dispensed,
and the whole drug fee goes back (refund ``path drug``, straight to ``processing``, ``reviewer_id`` = the clerk).
The refund and the status change commit together or not at all; the gateway call is made after the commit.

Lock order, the one every money path keeps: the payment row, then the prescription row (the payment
notification does the same), then the audit chain.
"""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from server.actor import Actor
from server.errors import AppError, Conflict, NotFound
from server.payments.models import Payment
from server.prescriptions.models import Prescription
from server.refunds import service
from server.refunds.models import Refund

REASON_MIN, REASON_MAX = 2, 200


def clean_reason(reason: str) -> str:
    text = reason.strip()
    if len(text) < REASON_MIN:
        raise AppError("reason_required", "请填写退费原因（至少2个字）", status=422)
    return text[:REASON_MAX]


def live_statuses(rows: list[tuple[int, str, int | None]]) -> list[str]:
    """The statuses that count for the patient: a CLOSED refund that was sent again counts as its retry only.
    ``rows`` are ``(id, status, retry_of_id)``."""
    replaced = {retry_of for _id, _status, retry_of in rows if retry_of is not None}
    return [status for rid, status, _retry_of in rows if rid not in replaced]


def prescription_refund_status(session: Session, rx_id: int) -> str | None:
    """refunding | refunded | rejected (or null) for the patient's view of a prescription's drug fee."""
    rows = [(r.id, r.status, r.retry_of_id) for r in session.execute(
        select(Refund.id, Refund.status, Refund.retry_of_id).where(Refund.prescription_id == rx_id)).all()]
    return service.patient_status(live_statuses(rows))


def paid_drug_payment(session: Session, rx: Prescription) -> Payment | None:
    """The payment that paid the prescription (its ``payment_id``), else its first paid drug payment."""
    if rx.payment_id is not None:
        payment = session.get(Payment, rx.payment_id)
        if payment is not None and payment.status == "paid" and payment.prescription_id == rx.id:
            return payment
    return session.execute(select(Payment).where(Payment.prescription_id == rx.id, Payment.purpose == "drug",
                                                 Payment.status == "paid")
                           .order_by(Payment.id).limit(1)).scalar_one_or_none()


def refund_prescription(session: Session, *, rx_id: int, reason: str, actor: Actor, staff_id: int) -> Refund:
    """The clerk refunds a paid, undispensed prescription's drug fee in full. Raises before writing anything:
    ``reason_required`` (422), 404, ``prescription_not_refundable`` (409, details ``{status}``),
    ``refund_exceeds_paid`` / ``payment_not_paid`` (409)."""
    from server.prescriptions import service as prescriptions

    text = clean_reason(reason)
    rx = session.get(Prescription, rx_id)
    if rx is None or rx.status == "draft":
        raise NotFound("处方")
    payment = paid_drug_payment(session, rx)
    if payment is not None:
        service.lock_payment(session, payment.id)
    rx = prescriptions.lock_for_refund(session, rx_id)
    if rx is None:
        raise NotFound("处方")
    if rx.status != "paid":
        why = {"dispensed": "处方已发药，不能退药费", "shipped": "处方药品已发货，不能退药费",
               "refunded": "该处方药费已退费"}.get(rx.status, "处方尚未支付药费，无需退费")
        raise Conflict("prescription_not_refundable", f"处方当前状态为「{prescriptions.label(rx.status)}」：{why}",
                       details={"status": rx.status})
    if payment is None:
        raise Conflict("payment_not_paid", "该处方没有已支付的药费订单，无需退费")
    refund = service.request_refund(session, payment_id=payment.id, path="drug", actor=actor,
                                    reason=f"药费退费：{text}", reviewer_id=staff_id)
    prescriptions.mark_refunded(session, rx, actor=actor, reason=text)
    _tell_patient(session, rx, refund)
    return refund


def _tell_patient(session: Session, rx: Prescription, refund: Refund) -> None:
    """SMS kind ``drug_refund``: the patient learns the drugs will not come and the fee is on its way back."""
    from server.accounts.models import Account
    from server.config import get_settings
    from server.patients.models import Patient
    from server.sms.service import send_sms

    account = session.get(Account, rx.account_id)
    if account is None:
        return
    patient = session.get(Patient, rx.patient_id)
    who = f"{patient.name}您好，" if patient is not None else "您好，"
    yuan = f"{refund.amount_fen // 100}.{refund.amount_fen % 100:02d}"
    send_sms(session, mobile=account.mobile, kind="drug_refund",
             body=f"【{get_settings().hospital_name}】{who}您的处方{rx.no}药费{yuan}元已办理退费，将按原支付路径退回，"
                  f"1-15个工作日到账；该处方不再发药。")
