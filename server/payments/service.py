"""Payment rules: opening a payment for an appointment, applying the gateway's word once, reconciling.

Money changes state only on the gateway's signed word (a verified notification) or on its answer to our own
query (the reconciler); both go through :func:`apply_success`, whose conditional UPDATE
(``status IN ('created', 'closed')``) is what makes any number of deliveries, in any order and at the same
time, change the payment once.
"""
from __future__ import annotations

import datetime as dt
import json
import logging
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from server.actor import SYSTEM, Actor
from server.appointments.models import Appointment
from server.audit.service import audit
from server.config import Settings
from server.db import Database
from server.errors import AppError, Conflict, NotFound
from server.events.service import record_change
from server.ids import order_number
from server.payments import wechatpay
from server.payments.gateway import (
    NOTIFY_PATH,
    GatewayError,
    GatewayTransaction,
    PaymentGateway,
    PrepayOrder,
    get_gateway,
    payer_openid,
)
from server.payments.models import GatewayNotification, Payment
from server.timeutil import now

log = logging.getLogger(__name__)

GATEWAY = Actor("gateway")
BODY_KEEP_CHARS = 16_000

_STATUS_LABELS = {
    "booked": "已支付", "checked_in": "已签到", "waiting": "正在候诊", "in_consultation": "正在就诊",
    "completed": "已完成就诊", "expired": "已超时失效", "cancelled": "已取消", "missed": "已过号",
    "cancelled_by_hospital": "已被医院取消",
}


def _appointments_service() -> Any:
    """The appointments slice's service, imported late: it imports nothing of ours, but loads after us."""
    from server.appointments import service

    return service


def money_payload(payment: Payment, appointment: Appointment | None, **extra: Any) -> dict[str, Any]:
    """What the money stream may carry: numbers and amounts, never clinical text."""
    payload: dict[str, Any] = {"out_trade_no": payment.out_trade_no, "amount_fen": payment.amount_fen,
                               "purpose": payment.purpose,
                               "appointment_number": appointment.number if appointment else None}
    payload.update(extra)
    return payload


def _record(session: Session, *, actor: Actor, kind: str, payment: Payment, appointment: Appointment | None,
            **extra: Any) -> None:
    record_change(session, actor=actor, kind=kind, object_type="payment", object_id=payment.id, topic="money",
                  doctor_id=appointment.doctor_id if appointment else None, account_id=payment.account_id,
                  payload=money_payload(payment, appointment, **extra))


def _appointment_of(session: Session, payment: Payment) -> Appointment | None:
    return session.get(Appointment, payment.appointment_id) if payment.appointment_id else None


# ---- opening a payment ---------------------------------------------------------------------------------------

def open_payment(session: Session, *, account_id: int, appointment_id: int, actor: Actor,
                 settings: Settings) -> tuple[Payment, bool]:
    """The appointment's open payment, or a new one; ``True`` when it was created now.

    One open payment per appointment at a time, so a patient who taps 支付 twice pays one order. The
    appointment row is locked (PostgreSQL; SQLite's writer lock already serialises) so two taps at once agree.
    """
    appt = _appointments_service().get_owned(session, account_id=account_id, appointment_id=appointment_id,
                                             lock=True)
    t = now()
    paid = session.execute(select(Payment.id).where(Payment.appointment_id == appt.id,
                                                    Payment.status == "paid").limit(1)).scalar()
    if appt.status != "pending_payment" or paid is not None:
        if appt.status == "booked" or paid is not None:
            raise Conflict("already_paid", "该预约已支付，无需重复支付")
        if appt.status == "expired":
            raise Conflict("hold_expired", "该预约已超过支付时限，号源已释放，请重新预约")
        label = _STATUS_LABELS.get(appt.status, "当前状态")
        raise Conflict("appointment_not_payable", f"该预约{label}，无需支付")
    if appt.hold_expires_at is None or appt.hold_expires_at <= t:
        raise Conflict("hold_expired", "该预约已超过支付时限，号源已释放，请重新预约")
    if appt.fee_fen <= 0:
        raise Conflict("no_payment_needed", "该预约无需支付诊费")
    existing = session.execute(
        select(Payment).where(Payment.appointment_id == appt.id, Payment.purpose == "consultation",
                              Payment.status == "created", Payment.expires_at > t)
        .order_by(Payment.id.desc()).limit(1)).scalar_one_or_none()
    if existing is not None:
        return existing, False
    payment = Payment(out_trade_no=order_number("P"), account_id=appt.account_id, purpose="consultation",
                      appointment_id=appt.id, amount_fen=appt.fee_fen,
                      description=f"{settings.hospital_name}-在线复诊诊费"[:128], status="created",
                      expires_at=appt.hold_expires_at)
    session.add(payment)
    session.flush()
    _record(session, actor=actor, kind="payment.created", payment=payment, appointment=appt)
    return payment, True


def open_drug_payment(session: Session, *, account_id: int, prescription_id: int, actor: Actor,
                      settings: Settings) -> tuple[Payment, bool]:
    """The drug fee of an issued prescription (purpose ``drug``): its open payment, or a new one; ``True``
    when created now. The prescription's own rules (fulfilment chosen, not expired, not paid) are checked by
    the prescriptions slice with the row locked, so two taps agree."""
    from server.prescriptions import service as prescriptions

    rx = prescriptions.payable(session, account_id=account_id, rx_id=prescription_id)
    t = now()
    paid = session.execute(select(Payment.id).where(Payment.prescription_id == rx.id, Payment.status == "paid")
                           .limit(1)).scalar()
    if paid is not None:
        raise Conflict("already_paid", "该处方药费已支付，无需重复支付")
    existing = session.execute(
        select(Payment).where(Payment.prescription_id == rx.id, Payment.purpose == "drug",
                              Payment.status == "created", Payment.expires_at > t,
                              Payment.amount_fen == rx.amount_fen)
        .order_by(Payment.id.desc()).limit(1)).scalar_one_or_none()
    if existing is not None:
        return existing, False
    expires = t + dt.timedelta(minutes=settings.hold_minutes)
    if rx.valid_until is not None:
        expires = min(expires, rx.valid_until)
    payment = Payment(out_trade_no=order_number("P"), account_id=rx.account_id, purpose="drug",
                      appointment_id=None, prescription_id=rx.id, amount_fen=rx.amount_fen,
                      description=f"{settings.hospital_name}-处方药费{rx.no}"[:128], status="created",
                      expires_at=expires)
    session.add(payment)
    session.flush()
    _record(session, actor=actor, kind="payment.created", payment=payment, appointment=None, prescription_no=rx.no)
    return payment, True


def prepay_order(payment: Payment, *, settings: Settings) -> PrepayOrder:
    return PrepayOrder(out_trade_no=payment.out_trade_no, description=payment.description,
                       amount_fen=payment.amount_fen, time_expire=payment.expires_at,
                       payer_openid=payer_openid(settings, payment.account_id),
                       notify_url=f"{settings.public_base_url.rstrip('/')}{NOTIFY_PATH}")


def request_prepay(gateway: PaymentGateway, payment: Payment, *, settings: Settings) -> str:
    """Ask the gateway for the prepay id. Call with no write transaction open: the gateway is outside."""
    try:
        return gateway.create_prepay(prepay_order(payment, settings=settings))
    except GatewayError as exc:
        log.warning("prepay for %s refused: %s", payment.out_trade_no, exc)
        if exc.code == "ORDERPAID":
            raise Conflict("payment_processing", "该订单已支付，正在确认，请稍后刷新") from exc
        raise AppError("gateway_unavailable", "支付通道暂时不可用，请稍后重试", status=409) from exc


def save_prepay(session: Session, *, payment_id: int, prepay_id: str) -> Payment:
    session.execute(update(Payment).where(Payment.id == payment_id, Payment.prepay_id == "")
                    .values(prepay_id=prepay_id).execution_options(synchronize_session=False))
    payment = session.get(Payment, payment_id)
    assert payment is not None
    session.refresh(payment)
    return payment


def get_owned(session: Session, *, account_id: int, out_trade_no: str) -> Payment:
    payment = session.execute(select(Payment).where(Payment.out_trade_no == out_trade_no)).scalar_one_or_none()
    if payment is None or payment.account_id != account_id:
        raise NotFound("支付订单")
    return payment


def sandbox_url(settings: Settings, prepay_id: str) -> str | None:
    if settings.production or settings.payment_gateway != "sandbox" or not prepay_id:
        return None
    return f"{settings.public_base_url.rstrip('/')}/api/v1/sandbox/pay/{prepay_id}"


# ---- applying the gateway's word -----------------------------------------------------------------------------

@dataclass(frozen=True)
class Success:
    """A successful transaction as the gateway reported it, already checked against the payment."""

    out_trade_no: str
    transaction_id: str
    success_time: dt.datetime
    amount_total: int


def apply_success(session: Session, *, success: Success, actor: Actor, source: str) -> str:
    """Mark the payment paid and book the appointment, once; returns the outcome to record.

    ``closed`` → ``paid`` is allowed: a SUCCESS after we gave up on the order means the money was taken, and
    hiding it would lose it. If the appointment can no longer take the payment (hold expired and slot gone,
    already paid by another order), the payment stays paid and is marked orphaned for the refund work.
    """
    payment = session.execute(select(Payment).where(Payment.out_trade_no == success.out_trade_no)
                              .with_for_update()).scalar_one()
    was = payment.status
    result = session.execute(
        update(Payment).where(Payment.id == payment.id, Payment.status.in_(("created", "closed")))
        .values(status="paid", paid_at=success.success_time, transaction_id=success.transaction_id)
        .execution_options(synchronize_session=False))
    session.refresh(payment)
    appt = _appointment_of(session, payment)
    if result.rowcount != 1:
        if payment.transaction_id == success.transaction_id:
            return "ignored:already_applied"
        # a second, different success for a paid order: the gateway should never do this; keep a trace
        audit(session, actor=actor, action="payment.conflicting_success", object_type="payment",
              object_id=payment.id, result="ignored",
              details={"out_trade_no": payment.out_trade_no, "transaction_id": success.transaction_id,
                       "source": source})
        return "ignored:already_paid"
    late = was == "closed"
    # the appointment (and perhaps its slot) first: recording takes the audit chain's lock, held to the commit,
    # and a row lock wanted after it deadlocks with a booking that holds the slot and waits for the chain
    if payment.purpose == "drug":
        orphan = _pay_prescription(session, payment=payment, actor=actor)
    else:
        orphan = _book_appointment(session, payment=payment, appointment=appt, actor=actor)
    _record(session, actor=actor, kind="payment.paid", payment=payment, appointment=appt,
            transaction_id=success.transaction_id, source=source, late=late)
    if orphan:
        session.execute(update(Payment).where(Payment.id == payment.id).values(orphan_reason=orphan[:48])
                        .execution_options(synchronize_session=False))
        session.refresh(payment)
        _record(session, actor=actor, kind="payment.orphaned", payment=payment, appointment=appt, reason=orphan)
        return "applied:orphaned"
    return "applied:late" if late else "applied"


def _book_appointment(session: Session, *, payment: Payment, appointment: Appointment | None,
                      actor: Actor) -> str | None:
    """Hand the payment to the appointment; the reason it could not take it, or ``None``."""
    if payment.purpose != "consultation" or appointment is None:
        return None
    other = session.execute(select(Payment.id).where(Payment.appointment_id == appointment.id,
                                                     Payment.status == "paid", Payment.id != payment.id)
                            .limit(1)).scalar()
    if other is not None:
        return "duplicate_payment"
    try:
        with session.begin_nested():
            _appointments_service().confirm_payment(session, appointment_id=appointment.id,
                                                    payment_id=payment.id, actor=actor)
    except AppError as exc:
        log.warning("payment %s could not book appointment %s: %s", payment.out_trade_no, appointment.id, exc)
        return exc.code
    return None


def _pay_prescription(session: Session, *, payment: Payment, actor: Actor) -> str | None:
    """Hand a drug-fee payment to its prescription (once: fulfilment_chosen → paid); why it could not, or
    ``None``."""
    from server.prescriptions import service as prescriptions

    if payment.prescription_id is None:
        return "prescription_missing"
    other = session.execute(select(Payment.id).where(Payment.prescription_id == payment.prescription_id,
                                                     Payment.status == "paid", Payment.id != payment.id)
                            .limit(1)).scalar()
    if other is not None:
        return "duplicate_payment"
    return prescriptions.mark_paid(session, prescription_id=payment.prescription_id, payment_id=payment.id,
                                   paid_at=payment.paid_at or now(), actor=actor)


def as_text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def check_transaction(session: Session, *, resource: dict[str, Any], settings: Settings) -> Success:
    """Hold a decrypted transaction against our own order; any mismatch refuses the whole notification."""
    refuse = wechatpay.NotificationRefused
    if as_text(resource.get("mchid")) != settings.wechatpay_mchid or \
            as_text(resource.get("appid")) != settings.wechatpay_appid:
        raise refuse("wrong_merchant", "商户号或应用ID不匹配", status=400)
    out_trade_no = as_text(resource.get("out_trade_no"))
    payment = session.execute(select(Payment).where(Payment.out_trade_no == out_trade_no[:32])
                              ).scalar_one_or_none() if out_trade_no else None
    if payment is None or len(out_trade_no) > 32:
        raise refuse("unknown_order", "商户订单号不存在", status=400)
    amount = resource.get("amount")
    total = amount.get("total") if isinstance(amount, dict) else None
    if not isinstance(total, int) or isinstance(total, bool) or total != payment.amount_fen:
        raise refuse("amount_mismatch", "订单金额不一致", status=400)
    if amount.get("currency") != "CNY":
        raise refuse("currency_mismatch", "币种不正确", status=400)
    transaction_id = as_text(resource.get("transaction_id"))
    if not transaction_id or len(transaction_id) > 64:
        raise refuse("malformed_resource", "缺少微信支付订单号", status=400)
    try:
        success_time = dt.datetime.fromisoformat(as_text(resource.get("success_time")))
    except ValueError as exc:
        raise refuse("malformed_resource", "支付完成时间格式不正确", status=400) from exc
    if success_time.tzinfo is None:
        raise refuse("malformed_resource", "支付完成时间缺少时区", status=400)
    return Success(out_trade_no=payment.out_trade_no, transaction_id=transaction_id, success_time=success_time,
                   amount_total=total)


def handle_notification(session: Session, *, verified: wechatpay.VerifiedNotification, body: bytes,
                        settings: Settings, actor: Actor = GATEWAY) -> str:
    """Apply one verified notification at most once; returns its outcome.

    A repeated id changes nothing but the delivery count. Two deliveries racing past the look-up both apply it,
    which changes the money once (each step is a conditional UPDATE under the payment's lock: the second finds
    it done), and then meet at the unique ``dedupe_key`` of the notification's row, written last with its
    outcome: the loser's transaction fails with an IntegrityError and is rolled back, and the route answers it
    as the duplicate it is.
    """
    seen = session.execute(select(GatewayNotification.id).where(
        GatewayNotification.dedupe_key == verified.notification_id)).scalar()
    if seen is not None:
        session.execute(update(GatewayNotification).where(GatewayNotification.id == seen)
                        .values(deliveries=GatewayNotification.deliveries + 1))
        return "duplicate"
    resource = verified.resource
    if verified.event_type == "TRANSACTION.SUCCESS":
        success = check_transaction(session, resource=resource, settings=settings)
        if resource.get("trade_state") == "SUCCESS":
            outcome = apply_success(session, success=success, actor=actor, source="notification")
        else:
            outcome = "ignored:trade_state"
    elif verified.event_type in ("REFUND.SUCCESS", "REFUND.ABNORMAL", "REFUND.CLOSED"):
        from server.refunds import service as refunds

        outcome = refunds.apply_notification(session, resource=resource, event_type=verified.event_type,
                                             settings=settings, actor=actor)
    else:  # anything else is acknowledged so the gateway stops resending, and changes nothing
        outcome = "ignored:event_type"
    session.add(_notification_row(verified, body=body, out_trade_no=as_text(resource.get("out_trade_no"))[:32],
                                  outcome=outcome[:48]))
    session.flush()  # a simultaneous twin that committed first: IntegrityError here
    return outcome[:48]


def _notification_row(verified: wechatpay.VerifiedNotification, *, body: bytes, out_trade_no: str,
                      outcome: str) -> GatewayNotification:
    return GatewayNotification(notification_id=verified.notification_id, dedupe_key=verified.notification_id,
                               event_type=verified.event_type, out_trade_no=out_trade_no, outcome=outcome,
                               body=body.decode("utf-8", "replace")[:BODY_KEEP_CHARS])


def count_duplicate(db: Database, *, notification_id: str) -> None:
    with db.transaction() as session:
        session.execute(update(GatewayNotification).where(GatewayNotification.dedupe_key == notification_id)
                        .values(deliveries=GatewayNotification.deliveries + 1))


def claimed_fields(body: bytes) -> tuple[str, str]:
    """The notification id and event type a refused body claims, for the record (never trusted)."""
    try:
        doc = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return "", ""
    if not isinstance(doc, dict):
        return "", ""
    return as_text(doc.get("id"))[:64], as_text(doc.get("event_type"))[:48]


def _storable(text: str) -> str:
    return text.replace("\x00", "\ufffd")


def record_refusal(db: Database, *, reason: str, body: bytes, actor: Actor, notification_id: str = "",
                   out_trade_no: str = "") -> None:
    """Keep the refused delivery and audit it, in a transaction of its own (the request's is rolled back)."""
    claimed_id, event_type = claimed_fields(body)
    # a refused body is anybody's bytes: PostgreSQL text cannot hold NUL, so it is kept as U+FFFD
    notification_id = _storable(notification_id or claimed_id)
    event_type, out_trade_no = _storable(event_type), _storable(out_trade_no)
    with db.transaction() as session:
        session.add(GatewayNotification(notification_id=notification_id, dedupe_key=None,
                                        event_type=event_type, out_trade_no=out_trade_no[:32],
                                        outcome=f"refused:{reason}"[:48],
                                        body=_storable(body.decode("utf-8", "replace")[:BODY_KEEP_CHARS])))
        audit(session, actor=actor, action="payment.notification_refused", object_type="payment_notification",
              result="refused", details={"reason": reason, "notification_id": notification_id,
                                         "out_trade_no": out_trade_no[:32]})


# ---- reconciling with the gateway ----------------------------------------------------------------------------

@dataclass
class ReconcileResult:
    checked: int = 0
    applied: int = 0
    closed: int = 0
    refused: int = 0


def reconcile_payments(db: Database, *, settings: Settings | None = None, gateway: PaymentGateway | None = None,
                       min_age_s: float = 30.0, limit: int = 200) -> ReconcileResult:
    """Ask the gateway about payments still ``created``: apply the ones it says were paid (their notification
    was lost), close the expired ones it says were not.

    ``min_age_s`` leaves young payments to their notification. Gateway calls are made between our
    transactions, never inside one.
    """
    settings = settings or db.settings
    gateway = gateway or get_gateway(db=db, settings=settings)
    result = ReconcileResult()
    if gateway is None:
        return result
    t = now()
    with db.session(write=False) as s:
        rows = s.execute(select(Payment.out_trade_no, Payment.expires_at)
                         .where(Payment.status == "created", Payment.created_at <= t - dt.timedelta(seconds=min_age_s))
                         .order_by(Payment.id).limit(limit)).all()
    for out_trade_no, expires_at in rows:
        result.checked += 1
        try:
            txn = gateway.query(out_trade_no)
            if txn is not None and txn.trade_state != "SUCCESS" and expires_at <= now():
                txn = gateway.close(out_trade_no)
        except GatewayError:
            log.warning("reconcile: gateway query for %s failed", out_trade_no, exc_info=True)
            continue
        if txn is not None and txn.trade_state == "SUCCESS":
            if _apply_queried(db, txn=txn, settings=settings):
                result.applied += 1
            else:
                result.refused += 1
        elif expires_at <= now() and _close(db, out_trade_no=out_trade_no):
            result.closed += 1
    return result


def _apply_queried(db: Database, *, txn: GatewayTransaction, settings: Settings) -> bool:
    resource = {"mchid": txn.mchid, "appid": txn.appid, "out_trade_no": txn.out_trade_no,
                "transaction_id": txn.transaction_id,
                "success_time": (txn.success_time or now()).isoformat(),
                "amount": {"total": txn.amount_total, "currency": txn.currency}}
    try:
        with db.transaction() as session:
            success = check_transaction(session, resource=resource, settings=settings)
            outcome = apply_success(session, success=success, actor=SYSTEM, source="reconcile")
    except wechatpay.NotificationRefused as exc:
        log.error("reconcile: gateway's record of %s does not match ours: %s", txn.out_trade_no, exc.reason)
        with db.transaction() as session:
            audit(session, actor=SYSTEM, action="payment.reconcile_mismatch", object_type="payment",
                  result="refused", details={"reason": exc.reason, "out_trade_no": txn.out_trade_no})
        return False
    return outcome.startswith("applied")


def _close(db: Database, *, out_trade_no: str) -> bool:
    with db.transaction() as session:
        payment = session.execute(select(Payment).where(Payment.out_trade_no == out_trade_no)
                                  .with_for_update()).scalar_one()
        result = session.execute(update(Payment).where(Payment.id == payment.id, Payment.status == "created")
                                 .values(status="closed", closed_at=now())
                                 .execution_options(synchronize_session=False))
        if result.rowcount != 1:
            return False
        session.refresh(payment)
        _record(session, actor=SYSTEM, kind="payment.closed", payment=payment,
                appointment=_appointment_of(session, payment))
        return True
