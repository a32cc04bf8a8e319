"""Refund rules: asking for a refund within what was paid, sending it to the gateway, applying its word once.

Money invariant, per payment: ``refunded_fen + (refunds requested|approved|processing|failed) ≤ amount_fen``.
A refund is created only with the payment row locked (``FOR NO KEY UPDATE`` on PostgreSQL; SQLite's writer
lock serialises), so any number of simultaneous requests agree. The gateway enforces the same sum on its side.

The gateway's word (a verified REFUND.* notification, or the answer to our query) moves a refund with a
conditional UPDATE on its status, so duplicated, late and reordered notifications change it once:
SUCCESS wins over everything but CLOSED; ABNORMAL and CLOSED never undo a SUCCESS.

Gateway calls are made with no transaction of ours open. A refund whose call failed stays ``processing``
without a gateway status; the reconciler sends it again (the same number: it cannot refund twice).
"""
from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from server.actor import SYSTEM, Actor
from server.appointments.models import Appointment
from server.config import Settings
from server.db import Database
from server.errors import AppError, Conflict, NotFound
from server.events.service import record_change
from server.ids import order_number
from server.payments import wechatpay
from server.payments.gateway import GatewayError, GatewayRefund, PaymentGateway, get_gateway
from server.payments.models import Payment
from server.refunds.models import HOLDING, Refund
from server.sms.service import send_sms
from server.timeutil import TZ, now
from server.video import segments

log = logging.getLogger(__name__)

REFUND_NOTIFY_PATH = "/api/v1/payments/notify"
PATIENT_STATUS = {"reviewing": "退号申请审核中", "refunding": "退费中", "refunded": "已退费",
                  "rejected": "退费申请未通过"}
_GATEWAY_STATUSES = ("PROCESSING", "SUCCESS", "ABNORMAL", "CLOSED")
# on the money's way back: approved, at the gateway, refused by it (a clerk retries), closed (sent again)
_ON_ITS_WAY = ("approved", "processing", "failed", "closed")


def patient_status(statuses: list[str]) -> str | None:
    """What the patient sees of an appointment's (or prescription's) refunds: 退费中 while any is on its way
    (approved, at the gateway, or CLOSED and to be sent again), 退号申请审核中 while an application waits for a
    clerk, 已退费 when the money is back, 退费申请未通过 when every one was rejected, null when there is none."""
    if not statuses:
        return None
    if any(s in _ON_ITS_WAY for s in statuses):
        return "refunding"
    if "requested" in statuses:
        return "reviewing"
    if "refunded" in statuses:
        return "refunded"
    return "rejected"


def appointment_refund_status(session: Session, appointment_id: int) -> str | None:
    statuses = list(session.execute(select(Refund.status).where(Refund.appointment_id == appointment_id)).scalars())
    return patient_status(_live(session, appointment_id=appointment_id, statuses=statuses))


def rejection_note(session: Session, appointment_id: int) -> str | None:
    """The clerk's reason of the appointment's latest rejected refund (what the patient reads next to
    退费申请未通过)."""
    return session.execute(select(Refund.reject_reason).where(Refund.appointment_id == appointment_id,
                                                              Refund.status == "rejected")
                           .order_by(Refund.id.desc()).limit(1)).scalar()


def _live(session: Session, *, appointment_id: int, statuses: list[str]) -> list[str]:
    """A CLOSED refund that was retried is replaced by its retry: count the retry only."""
    if "closed" not in statuses:
        return statuses
    rows = session.execute(select(Refund.id, Refund.status, Refund.retry_of_id)
                           .where(Refund.appointment_id == appointment_id)).all()
    replaced = {r.retry_of_id for r in rows if r.retry_of_id is not None}
    return [r.status for r in rows if r.id not in replaced]


def _record(session: Session, *, actor: Actor, kind: str, refund: Refund, payment: Payment, **extra: Any) -> None:
    payload = {"refund_id": refund.id, "out_refund_no": refund.out_refund_no, "out_trade_no": payment.out_trade_no,
               "amount_fen": refund.amount_fen, "path": refund.path, "status": refund.status,
               "gateway_status": refund.gateway_status, "appointment_id": refund.appointment_id,
               "prescription_id": refund.prescription_id}
    payload.update(extra)
    record_change(session, actor=actor, kind=kind, object_type="refund", object_id=refund.id, topic="money",
                  account_id=payment.account_id, payload=payload)


def lock_payment(session: Session, payment_id: int) -> Payment:
    payment = session.execute(select(Payment).where(Payment.id == payment_id).with_for_update(key_share=True)
                              .execution_options(populate_existing=True)).scalar_one_or_none()
    if payment is None:
        raise NotFound("支付订单")
    return payment


def holding_fen(session: Session, payment_id: int) -> int:
    return int(session.execute(select(func.coalesce(func.sum(Refund.amount_fen), 0))
                               .where(Refund.payment_id == payment_id, Refund.status.in_(HOLDING))).scalar_one())


def refundable_fen(session: Session, payment: Payment) -> int:
    return payment.amount_fen - payment.refunded_fen - holding_fen(session, payment.id)


def request_refund(session: Session, *, payment_id: int, path: str, actor: Actor, reason: str = "",
                   amount_fen: int | None = None, status: str = "processing",
                   retry_of_id: int | None = None, reviewer_id: int | None = None,
                   locked: tuple[Payment, int] | None = None) -> Refund:
    """A new refund of a paid payment (the whole remainder unless ``amount_fen``), within what is left.

    Locks the payment row first; raises ``refund_exceeds_paid`` (409) when nothing (or not that much) is left.
    ``locked``: the payment, already locked in this transaction, and what is left of it (a clinic stop locks
    and reads all of its payments at once).
    """
    if locked is not None:
        payment, left = locked
        assert payment.id == payment_id
    else:
        payment = lock_payment(session, payment_id)
    if payment.status != "paid":
        raise Conflict("payment_not_paid", "该订单未支付，无需退费")
    if locked is None:
        left = refundable_fen(session, payment)
    amount = left if amount_fen is None else amount_fen
    if amount <= 0 or amount > left:
        raise Conflict("refund_exceeds_paid", "退费金额超过可退金额，该订单已退费或正在退费",
                       details={"refundable_fen": max(left, 0)})
    t = now()
    refund = Refund(out_refund_no=order_number("R", tail_bytes=6), payment_id=payment.id, account_id=payment.account_id,
                    appointment_id=payment.appointment_id, prescription_id=payment.prescription_id,
                    amount_fen=amount, path=path, reason=reason[:200], status=status, created_at=t, updated_at=t,
                    next_query_at=t if status == "processing" else None, retry_of_id=retry_of_id,
                    reviewer_id=reviewer_id)
    session.add(refund)
    session.flush()
    _record(session, actor=actor, kind=f"refund.{status}", refund=refund, payment=payment, retry_of=retry_of_id)
    return refund


def notify_url(settings: Settings) -> str:
    return f"{settings.public_base_url.rstrip('/')}{REFUND_NOTIFY_PATH}"


# ---- sending and applying ---------------------------------------------------------------------------------

def submit(db: Database, refund_id: int, *, gateway: PaymentGateway | None = None) -> str:
    """Send one processing refund to the gateway (again: same number) and apply its answer; the outcome."""
    gateway = gateway or get_gateway(db=db, settings=db.settings)
    if gateway is None:
        return "no_gateway"
    with db.session(write=False) as s:
        row = s.execute(select(Refund.out_refund_no, Refund.amount_fen, Refund.status, Payment.out_trade_no,
                               Payment.amount_fen.label("total"))
                        .join(Payment, Payment.id == Refund.payment_id).where(Refund.id == refund_id)).one()
    if row.status != "processing":
        return "ignored:status"
    try:
        got = gateway.refund(out_trade_no=row.out_trade_no, out_refund_no=row.out_refund_no, amount=row.amount_fen,
                             total=row.total, notify_url=notify_url(db.settings))
    except GatewayError as exc:
        log.warning("refund %s refused by the gateway: %s", row.out_refund_no, exc)
        error = f"{exc.code}: {exc.message}"[:200]
        with db.transaction() as s:
            if exc.code in REFUSALS:
                _refused(s, refund_id, error=error)
            else:
                _backoff(s, refund_id, error=error, db=db)
        return f"error:{exc.code}"
    with db.transaction() as s:
        return apply_gateway(s, refund=got, actor=SYSTEM, source="submit")


# answers that asking again will not change: the refund goes to the clerk's exception list (status failed)
REFUSALS = frozenset({"NOT_ENOUGH", "INVALID_REQUEST", "RESOURCE_NOT_EXISTS", "PARAM_ERROR",
                      "USER_ACCOUNT_ABNORMAL", "NO_AUTH", "MCH_NOT_EXISTS"})


def _refused(session: Session, refund_id: int, *, error: str) -> None:
    refund = session.get(Refund, refund_id)
    if refund is None:
        return
    payment = lock_payment(session, refund.payment_id)
    res = session.execute(update(Refund).where(Refund.id == refund_id, Refund.status == "processing",
                                               Refund.gateway_status == "")
                          .values(status="failed", last_error=error, next_query_at=None, updated_at=now())
                          .execution_options(synchronize_session=False))
    if res.rowcount == 1:
        session.refresh(refund)
        _record(session, actor=SYSTEM, kind="refund.failed", refund=refund, payment=payment, error=error)


def submit_all(db: Database, refund_ids: list[int]) -> None:
    """Send processing refunds to the gateway and apply its answers; the reconciler sends any this misses.
    Several at once (a clinic stop's) go through :func:`server.refunds.batch.submit_many`: sent concurrently,
    answers applied in batches."""
    if len(set(refund_ids)) > 1:
        from server.refunds import batch

        batch.submit_many(db, list(dict.fromkeys(refund_ids)))
        return
    for rid in refund_ids:
        try:
            submit(db, rid)
        except Exception:  # the reconciler sends it again
            log.exception("refund %s: submit failed", rid)


def _backoff(session: Session, refund_id: int, *, error: str = "", db: Database) -> None:
    refund = session.get(Refund, refund_id)
    if refund is None:
        return
    delay = min(db.settings.refund_query_base_s * (2 ** refund.query_attempts), db.settings.refund_query_max_s)
    refund.query_attempts += 1
    refund.next_query_at = now() + dt.timedelta(seconds=delay)
    if error:
        refund.last_error = error


def apply_gateway(session: Session, *, refund: GatewayRefund, actor: Actor, source: str,
                  settings: Settings | None = None, found: tuple[Refund, Payment] | None = None) -> str:
    """Apply the gateway's status of one refund, once. Locks the payment, then the refund. ``found``: the refund
    already looked up and its payment already locked in this transaction (:func:`apply_notification`)."""
    if found is None:
        ours = session.execute(select(Refund).where(Refund.out_refund_no == refund.out_refund_no)
                               ).scalar_one_or_none()
        if ours is None:
            return "ignored:unknown_refund"
        payment = lock_payment(session, ours.payment_id)
    else:
        ours, payment = found
    ours = session.execute(select(Refund).where(Refund.id == ours.id).with_for_update()
                           .execution_options(populate_existing=True)).scalar_one()
    status, t = refund.status, now()
    if status not in _GATEWAY_STATUSES:
        return "ignored:status"
    if status == "PROCESSING":
        if ours.status == "processing" and ours.gateway_status in ("", "PROCESSING"):
            ours.gateway_status = "PROCESSING"
            ours.gateway_refund_id = refund.refund_id
            ours.submitted_at = ours.submitted_at or t
            ours.updated_at = t
            if settings is None:
                from server.config import get_settings

                settings = get_settings()
            if ours.next_query_at is None or ours.next_query_at <= t:
                ours.next_query_at = t + dt.timedelta(seconds=min(settings.refund_query_base_s,
                                                                  settings.refund_query_max_s))
            return "applied:processing"
        return "ignored:stale"
    if status == "SUCCESS":
        done = {"status": "refunded", "gateway_status": "SUCCESS", "refunded_at": refund.success_time or t,
                "gateway_refund_id": refund.refund_id, "updated_at": t, "next_query_at": None}
        res = session.execute(update(Refund).where(Refund.id == ours.id, Refund.status.in_(("processing", "failed")))
                              .values(**done).execution_options(synchronize_session=False))
        if res.rowcount != 1:
            return "ignored:already_applied" if ours.status == "refunded" else f"ignored:{ours.status}"
        refunded = session.execute(update(Payment).where(Payment.id == payment.id)
                                   .values(refunded_fen=Payment.refunded_fen + ours.amount_fen)
                                   .returning(Payment.refunded_fen)
                                   .execution_options(synchronize_session=False)).scalar_one()
        # both rows are locked: what the UPDATEs wrote is what a refresh would read
        for key, value in done.items():
            set_committed_value(ours, key, value)
        set_committed_value(payment, "refunded_fen", refunded)
        if payment.refunded_fen > payment.amount_fen:  # cannot happen while the invariant holds: never commit it
            raise AppError("refund_invariant", "退费金额超过实付金额", status=500)
        _record(session, actor=actor, kind="refund.refunded", refund=ours, payment=payment, source=source)
        _after_refunded(session, ours, payment)
        return "applied"
    target = "failed" if status == "ABNORMAL" else "closed"
    allowed = ("processing",) if status == "ABNORMAL" else ("processing", "failed")
    res = session.execute(update(Refund).where(Refund.id == ours.id, Refund.status.in_(allowed))
                          .values(status=target, gateway_status=status, gateway_refund_id=refund.refund_id,
                                  updated_at=t, next_query_at=None)
                          .execution_options(synchronize_session=False))
    if res.rowcount != 1:
        return f"ignored:{ours.status}"
    session.refresh(ours)
    _record(session, actor=actor, kind=f"refund.{target}", refund=ours, payment=payment, source=source)
    return "applied"


def _after_refunded(session: Session, refund: Refund, payment: Payment) -> None:
    """Hook for the slices that care (the orphan mark is cleared once the orphaned payment is refunded)."""
    if payment.orphan_reason and payment.refunded_fen >= payment.amount_fen:
        payment.orphan_reason = ""


def apply_notification(session: Session, *, resource: dict[str, Any], event_type: str, settings: Settings,
                       actor: Actor) -> str:
    """A verified REFUND.* notification: held against our refund (any mismatch refuses it), then applied once.
    The refund is looked up and its payment locked once for both."""
    got, found = check_refund_resource(session, resource=resource, event_type=event_type, settings=settings)
    return apply_gateway(session, refund=got, actor=actor, source="notification", settings=settings, found=found)


def check_refund_resource(session: Session, *, resource: dict[str, Any], event_type: str,
                          settings: Settings) -> tuple[GatewayRefund, tuple[Refund, Payment]]:
    """Hold a decrypted REFUND.* resource against our own refund (any mismatch refuses the notification); with
    the refund and its payment, locked."""
    refuse = wechatpay.NotificationRefused

    def text(v: Any) -> str:
        return v if isinstance(v, str) else ""

    if text(resource.get("mchid")) != settings.wechatpay_mchid:
        raise refuse("wrong_merchant", "商户号不匹配", status=400)
    out_refund_no = text(resource.get("out_refund_no"))
    ours = session.execute(select(Refund).where(Refund.out_refund_no == out_refund_no[:64])
                           ).scalar_one_or_none() if out_refund_no else None
    if ours is None:
        raise refuse("unknown_refund", "商户退款单号不存在", status=400)
    payment = lock_payment(session, ours.payment_id)  # before the refund's own lock, as on every money path
    if text(resource.get("out_trade_no")) != payment.out_trade_no:
        raise refuse("order_mismatch", "商户订单号不一致", status=400)
    amount = resource.get("amount")
    refund_amt = amount.get("refund") if isinstance(amount, dict) else None
    total = amount.get("total") if isinstance(amount, dict) else None
    if refund_amt != ours.amount_fen or total != payment.amount_fen:
        raise refuse("amount_mismatch", "退款金额不一致", status=400)
    status = text(resource.get("refund_status"))
    if event_type != f"REFUND.{status}" or status not in ("SUCCESS", "ABNORMAL", "CLOSED"):
        raise refuse("malformed_resource", "退款状态与通知类型不一致", status=400)
    success_time = None
    if status == "SUCCESS":
        try:
            success_time = dt.datetime.fromisoformat(text(resource.get("success_time")))
        except ValueError as exc:
            raise refuse("malformed_resource", "退款成功时间格式不正确", status=400) from exc
    return GatewayRefund(out_refund_no=ours.out_refund_no, refund_id=text(resource.get("refund_id"))[:64],
                         out_trade_no=payment.out_trade_no, status=status, amount_refund=ours.amount_fen,
                         amount_total=payment.amount_fen, success_time=success_time), (ours, payment)


# ---- reconciling ------------------------------------------------------------------------------------------

@dataclass
class RefundReconcileResult:
    checked: int = 0
    settled: int = 0


def reconcile_refunds(db: Database, *, at: dt.datetime | None = None, limit: int = 100) -> RefundReconcileResult:
    """Refunds still processing whose next query is due: send the unsent ones again (same number), ask the
    gateway about the rest; one still PROCESSING is asked again later, the wait doubling each time."""
    result = RefundReconcileResult()
    gateway = get_gateway(db=db, settings=db.settings)
    if gateway is None:
        return result
    t = at or now()
    with db.session(write=False) as s:
        rows = s.execute(select(Refund.id, Refund.out_refund_no, Refund.gateway_status)
                         .where(Refund.status == "processing", Refund.next_query_at <= t)
                         .order_by(Refund.next_query_at, Refund.id).limit(limit)).all()
    for rid, out_refund_no, gateway_status in rows:
        result.checked += 1
        try:
            if not gateway_status:
                outcome = submit(db, rid, gateway=gateway)
            else:
                got = gateway.query_refund(out_refund_no)
                if got is None:
                    outcome = submit(db, rid, gateway=gateway)
                else:
                    with db.transaction() as s:
                        outcome = apply_gateway(s, refund=got, actor=SYSTEM, source="reconcile",
                                                settings=db.settings)
                        if got.status == "PROCESSING":
                            _backoff(s, rid, db=db)
        except GatewayError:
            log.warning("refund reconcile: gateway query for %s failed", out_refund_no, exc_info=True)
            with db.transaction() as s:
                _backoff(s, rid, db=db, error="query failed")
            continue
        if outcome == "applied":
            result.settled += 1
    return result


# ---- clerks: retry and the exception list -----------------------------------------------------------------

def retry(session: Session, *, refund_id: int, actor: Actor) -> Refund:
    """ABNORMAL (failed) → the same number again; CLOSED → a new refund with a new number."""
    refund = session.get(Refund, refund_id)
    if refund is None:
        raise NotFound("退费单")
    lock_payment(session, refund.payment_id)
    refund = session.execute(select(Refund).where(Refund.id == refund_id).with_for_update()
                             .execution_options(populate_existing=True)).scalar_one()
    t = now()
    if refund.status == "failed":
        refund.status = "processing"
        refund.query_attempts = 0
        refund.next_query_at = t
        refund.updated_at = t
        payment = session.get(Payment, refund.payment_id)
        assert payment is not None
        _record(session, actor=actor, kind="refund.processing", refund=refund, payment=payment, retry=True)
        return refund
    if refund.status == "closed":
        replaced = session.execute(select(Refund.id).where(Refund.retry_of_id == refund.id)).scalar()
        if replaced is not None:
            raise Conflict("refund_already_retried", "该退费单已重新发起")
        return request_refund(session, payment_id=refund.payment_id, path=refund.path, actor=actor,
                              reason=refund.reason, amount_fen=refund.amount_fen, retry_of_id=refund.id)
    raise Conflict("refund_not_retryable", "只有退款异常或已关闭的退费单可以重新发起",
                   details={"status": refund.status})


def exceptions(session: Session, *, limit: int = 100) -> list[Refund]:
    """The clerk's exception list: ABNORMAL refunds, and CLOSED ones not yet sent again."""
    retried = select(Refund.retry_of_id).where(Refund.retry_of_id.is_not(None))
    return list(session.execute(select(Refund).where(
        (Refund.status == "failed") | ((Refund.status == "closed") & Refund.id.not_in(retried)))
        .order_by(Refund.updated_at.desc(), Refund.id.desc()).limit(limit)).scalars())


# ---- path 1: the patient cancels before the appointment time ----------------------------------------------

CANCELLABLE = ("booked", "checked_in", "waiting")


def paid_payment_of(session: Session, appointment_id: int, payment_id: int | None) -> Payment | None:
    if payment_id is not None:
        payment = session.get(Payment, payment_id)
        if payment is not None and payment.status == "paid":
            return payment
    return session.execute(select(Payment).where(Payment.appointment_id == appointment_id, Payment.status == "paid",
                                                 Payment.purpose == "consultation")
                           .order_by(Payment.id).limit(1)).scalar_one_or_none()


def cancel_by_patient(session: Session, *, account_id: int, appointment_id: int, actor: Actor) -> Refund | None:
    """退号 before the time: the appointment is cancelled (its place released) and the fee refunded in full.

    Locks the payment (if any) before the appointment, the order every money path keeps."""
    from server.appointments import service as appointments

    appt = appointments.get_owned(session, account_id=account_id, appointment_id=appointment_id)
    payment = paid_payment_of(session, appt.id, appt.payment_id)
    if payment is not None:
        lock_payment(session, payment.id)
    appt = appointments.get_owned(session, account_id=account_id, appointment_id=appointment_id, lock=True)
    if appt.status not in CANCELLABLE:
        raise Conflict("appointment_not_cancellable",
                       f"该预约{appointments.label(appt.status)}，不能取消", details={"status": appt.status})
    if appt.starts_at <= now():
        raise Conflict("appointment_started",
                       "已过预约就诊时间，不能在线取消；如未就诊，请申请退号（需写明原因，由医院审核）")
    appointments.transition(session, appt, "cancelled", actor=actor, reason="患者取消预约")
    if payment is None:
        return None
    return request_refund(session, payment_id=payment.id, path="cancel", actor=actor, reason="患者就诊前取消预约")


# ---- path 2: the patient applies after the time (申请退号), a clerk reviews ----------------------------------

# an application is for a visit that did not happen: missed, or its time passed before the doctor called
APPLICABLE = ("missed", "booked", "checked_in", "waiting")
SEEN = ("in_consultation", "completed")
# the window refunds any paid appointment (appointments.HOLDING_PAID)
WINDOW_REFUNDABLE = ("booked", "checked_in", "waiting", "in_consultation", "completed", "missed")
REJECT_REASONS: dict[str, str] = {
    "consulted": "患者已就诊或医生已接诊",
    "insufficient": "退号理由不充分",
    "policy": "不符合退号规定",
    "duplicate": "重复申请",
    "other": "其他（请填写说明）",
}
MIN_REASON = 2


def _reason(reason: str, message: str) -> str:
    reason = reason.strip()
    if len(reason) < MIN_REASON:
        raise AppError("reason_required", message, status=422)
    return reason


def _lock_appointment(session: Session, appointment_id: int) -> Appointment:
    """The appointment row, locked (after its payment: the order every money path keeps)."""
    appt = session.execute(select(Appointment).where(Appointment.id == appointment_id)
                           .with_for_update(key_share=True).execution_options(populate_existing=True)
                           ).scalar_one_or_none()
    if appt is None:
        raise NotFound("预约")
    return appt


def _lock_refund(session: Session, refund_id: int) -> Refund:
    return session.execute(select(Refund).where(Refund.id == refund_id).with_for_update()
                           .execution_options(populate_existing=True)).scalar_one()


def pending_application(session: Session, appointment_id: int) -> Refund | None:
    return session.execute(select(Refund).where(Refund.appointment_id == appointment_id,
                                                Refund.path == "application", Refund.status == "requested")
                           .order_by(Refund.id).limit(1)).scalar_one_or_none()


def _yuan(fen: int) -> str:
    return f"{fen // 100}.{fen % 100:02d}"


def _sms_about(session: Session, appt: Appointment | None, account_id: int) -> tuple[str, str] | None:
    """(mobile, "【医院】张三您好，您预约的内分泌科王医生主任医师5月20日 09:00的在线复诊") for a refund's SMS."""
    from server.accounts.models import Account
    from server.catalogue.models import Department, Doctor
    from server.config import get_settings
    from server.patients.models import Patient

    account = session.get(Account, account_id)
    if account is None:
        return None
    hospital = get_settings().hospital_name
    if appt is None:
        return account.mobile, f"【{hospital}】您好，您的"
    patient = session.get(Patient, appt.patient_id)
    doctor = session.get(Doctor, appt.doctor_id)
    department = session.get(Department, appt.department_id)
    when = appt.starts_at.astimezone(TZ)
    return account.mobile, (f"【{hospital}】{patient.name if patient else ''}您好，您预约的"
                            f"{department.name if department else ''}"
                            f"{doctor.name + doctor.title if doctor else ''}"
                            f"{when.month}月{when.day}日 {when:%H:%M}的在线复诊，")


def _text(session: Session, refund: Refund, appt: Appointment | None, kind: str, tail: str) -> None:
    about = _sms_about(session, appt, refund.account_id)
    if about is not None:
        send_sms(session, mobile=about[0], kind=kind, body=about[1] + tail)


def apply(session: Session, *, account_id: int, appointment_id: int, reason: str, actor: Actor) -> Refund:
    """申请退号 after the time, not seen: a refund ``application`` of the whole fee, ``requested`` (the amount is
    held) until a clerk approves or rejects it. Locks the payment before the appointment."""
    from server.appointments import service as appointments

    reason = _reason(reason, "请填写退号原因（至少2个字），医院将据此审核")
    appt = appointments.get_owned(session, account_id=account_id, appointment_id=appointment_id)
    payment = paid_payment_of(session, appt.id, appt.payment_id)
    if payment is not None:
        lock_payment(session, payment.id)
    appt = appointments.get_owned(session, account_id=account_id, appointment_id=appointment_id, lock=True)
    details = {"status": appt.status}
    if appt.status in ("booked", "checked_in", "waiting") and appt.starts_at > now():
        raise Conflict("appointment_not_started",
                       "还未到预约就诊时间，无需申请：可直接取消预约，诊费将自动按原路退回", details=details)
    if appt.status not in APPLICABLE:
        if appt.status in SEEN:
            message = f"该预约{appointments.label(appt.status)}，医生已接诊，不能申请退号；如有疑问请到医院退费窗口咨询"
        else:
            message = f"该预约{appointments.label(appt.status)}，不能申请退号"
        raise Conflict("appointment_not_refundable", message, details=details)
    if pending_application(session, appt.id) is not None:
        raise Conflict("refund_application_exists", "退号申请正在审核中，请耐心等待审核结果，不要重复提交")
    if payment is None:
        raise Conflict("payment_not_paid", "该预约未支付诊费，无需退费")
    return request_refund(session, payment_id=payment.id, path="application", actor=actor, reason=reason,
                          status="requested")


def reject_reasons() -> list[dict[str, str]]:
    return [{"code": code, "label": label} for code, label in REJECT_REASONS.items()]


def _not_pending(refund: Refund) -> AppError:
    from server.refunds.views import STATUS_LABELS

    return Conflict("refund_not_pending",
                    f"该退费单{STATUS_LABELS.get(refund.status, refund.status)}，不是待审核状态，请刷新后查看",
                    details={"status": refund.status})


def _cancel_for_refund(session: Session, appt: Appointment, *, actor: Actor, reason: str) -> None:
    """The refunded appointment becomes cancelled; its place goes back only while its time is still ahead.
    An open video call ends first (the doctor's and the patient's call pages follow its event)."""
    from server.appointments import service as appointments

    if appt.status == "in_consultation":
        segments.end_open(session, appt, reason="window_refund", actor=actor)
    appointments.transition(session, appt, "cancelled", actor=actor, reason=reason,
                            release=appt.starts_at > now())


def _approve(session: Session, refund: Refund, payment: Payment, appt: Appointment | None, *, actor: Actor,
             reviewer_id: int, end_reason: str) -> Refund:
    """A requested refund approved (and its appointment cancelled): approved → processing, the SMS."""
    if appt is not None and appt.status in WINDOW_REFUNDABLE:
        _cancel_for_refund(session, appt, actor=actor, reason=end_reason)
    # else: already let go (a clinic stop or the scheduler cancelled it meanwhile); the money is still owed
    t = now()
    refund.status, refund.reviewer_id, refund.updated_at = "approved", reviewer_id, t
    session.flush()
    _record(session, actor=actor, kind="refund.approved", refund=refund, payment=payment)
    refund.status, refund.next_query_at = "processing", t
    session.flush()
    _record(session, actor=actor, kind="refund.processing", refund=refund, payment=payment)
    _text(session, refund, appt, "refund_approved",
          f"退号申请已通过，诊费{_yuan(refund.amount_fen)}元将按原路退回，1-15个工作日到账。")
    return refund


def approve(session: Session, *, refund_id: int, actor: Actor, reviewer_id: int | None) -> Refund:
    """The clerk approves a requested refund (an application): its appointment, if still not seen, becomes
    cancelled, and the money goes back. Locks the payment, the appointment, then the refund."""
    refund = session.get(Refund, refund_id)
    if refund is None:
        raise NotFound("退费单")
    payment = lock_payment(session, refund.payment_id)
    appt = _lock_appointment(session, refund.appointment_id) if refund.appointment_id is not None else None
    refund = _lock_refund(session, refund_id)
    if refund.status != "requested":
        raise _not_pending(refund)
    if appt is not None and refund.path == "application" and appt.status in SEEN:
        from server.appointments import service as appointments

        raise Conflict("appointment_seen",
                       f"该预约{appointments.label(appt.status)}（医生已接诊），不能同意退号；请拒绝该申请",
                       details={"status": appt.status})
    return _approve(session, refund, payment, appt, actor=actor, reviewer_id=reviewer_id,
                    end_reason=f"退号申请已通过：{refund.reason}")


def reject(session: Session, *, refund_id: int, reason_code: str, text: str, actor: Actor,
           reviewer_id: int) -> Refund:
    """The clerk rejects a requested refund with a preset reason (and a note): the held amount is free again,
    the appointment stays as it is; the patient may apply again."""
    text = text.strip()
    label = REJECT_REASONS.get(reason_code)
    if label is None or (reason_code == "other" and not text):
        raise AppError("reject_reason_required",
                       "请选择拒绝原因；选择“其他”时请填写说明，患者会在短信和预约详情中看到",
                       status=422, details={"codes": list(REJECT_REASONS)})
    refund = session.get(Refund, refund_id)
    if refund is None:
        raise NotFound("退费单")
    payment = lock_payment(session, refund.payment_id)
    refund = _lock_refund(session, refund_id)
    if refund.status != "requested":
        raise _not_pending(refund)
    t = now()
    refund.status, refund.reviewer_id, refund.updated_at, refund.next_query_at = "rejected", reviewer_id, t, None
    refund.reject_reason = (f"{label}：{text}" if text else label)[:200]
    session.flush()
    _record(session, actor=actor, kind="refund.rejected", refund=refund, payment=payment)
    appt = session.get(Appointment, refund.appointment_id) if refund.appointment_id is not None else None
    _text(session, refund, appt, "refund_rejected",
          f"退号申请未通过，原因：{refund.reject_reason}。如有疑问，可修改理由后重新申请或到医院退费窗口咨询。")
    return refund


# ---- path 3: the window refund (窗口退费) ----------------------------------------------------------------------

def window_refund(session: Session, *, appointment_id: int, reason: str, actor: Actor, reviewer_id: int
                  ) -> Refund:
    """窗口退费: the clerk refunds any paid appointment in full and cancels it (an open call ends first; the
    place goes back only while its time is ahead). An application waiting for review is approved instead.
    Locks the payment, then the appointment."""
    reason = _reason(reason, "请填写退费原因（至少2个字）")
    appt = session.get(Appointment, appointment_id)
    if appt is None:
        raise NotFound("预约")
    payment = paid_payment_of(session, appt.id, appt.payment_id)
    if payment is not None:
        payment = lock_payment(session, payment.id)
    appt = _lock_appointment(session, appointment_id)
    if appt.status not in WINDOW_REFUNDABLE:
        from server.appointments import service as appointments

        raise Conflict("appointment_not_refundable",
                       f"该预约{appointments.label(appt.status)}，没有可退的诊费", details={"status": appt.status})
    end_reason = f"窗口退费：{reason}"
    pending = pending_application(session, appt.id)
    if pending is not None:  # its payment is the one locked above (the appointment's paid fee)
        pay = payment if payment is not None and payment.id == pending.payment_id else \
            lock_payment(session, pending.payment_id)
        return _approve(session, _lock_refund(session, pending.id), pay, appt, actor=actor,
                        reviewer_id=reviewer_id, end_reason=end_reason)
    if payment is None:
        raise Conflict("payment_not_paid", "该预约没有已支付的诊费订单，无法退费")
    refund = request_refund(session, payment_id=payment.id, path="window", actor=actor, reason=reason,
                            status="approved", reviewer_id=reviewer_id)
    _cancel_for_refund(session, appt, actor=actor, reason=end_reason)
    t = now()
    refund.status, refund.next_query_at, refund.updated_at = "processing", t, t
    session.flush()
    _record(session, actor=actor, kind="refund.processing", refund=refund, payment=payment)
    return refund
