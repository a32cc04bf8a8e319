"""The sandbox gateway's refunds: WeChat Pay v3 refund semantics over the ``sandbox_refunds`` table.

- one ``out_refund_no`` is one refund: sending it again returns the same refund (a different amount is
  ``INVALID_REQUEST``), so a retried request never refunds twice;
- the refunds of one order (all but CLOSED ones) never exceed what was paid: ``NOT_ENOUGH``;
- a refund starts ``PROCESSING`` and settles after ``sandbox_refund_delay_ms`` to its outcome (SUCCESS unless
  a test planned ABNORMAL, CLOSED or HOLD for the order), then a signed REFUND.* notification is sent, possibly
  more than once (``sandbox_notify_duplicates``), and retried until answered 2xx. A query past the settle time
  reads the settled state even before the notifier ran.

Development-only routes let tests plan an order's refund outcome and settle a held refund by hand.
"""
from __future__ import annotations

import datetime as dt
import logging
import secrets
import threading
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, Field
from sqlalchemy import case, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from server.config import Settings
from server.db import Database
from server.deps import DbDep, SettingsDep
from server.errors import AppError, NotFound
from server.payments import wechatpay
from server.payments.gateway import GatewayError, GatewayRefund, run_later, schedule_notifications
from server.payments.models import SandboxTransaction
from server.refunds.models import SandboxRefund
from server.timeutil import now

log = logging.getLogger(__name__)
OUTCOMES = ("SUCCESS", "ABNORMAL", "CLOSED", "HOLD")
_plan: dict[str, list[str]] = {}  # out_trade_no → outcomes of its next refunds (tests)
_plan_lock = threading.Lock()
_EVENT = {"SUCCESS": ("REFUND.SUCCESS", "退款成功"), "ABNORMAL": ("REFUND.ABNORMAL", "退款异常"),
          "CLOSED": ("REFUND.CLOSED", "退款关闭")}


def plan(out_trade_no: str, outcomes: list[str]) -> None:
    with _plan_lock:
        _plan[out_trade_no] = list(outcomes)


def _next_outcome(out_trade_no: str) -> str:
    with _plan_lock:
        planned = _plan.get(out_trade_no)
        if planned:
            outcome = planned.pop(0)
            if not planned:
                _plan.pop(out_trade_no, None)
            return outcome
    return "SUCCESS"


def _as_refund(row: SandboxRefund) -> GatewayRefund:
    return GatewayRefund(out_refund_no=row.out_refund_no, refund_id=row.refund_id, out_trade_no=row.out_trade_no,
                         status=row.status, amount_refund=row.amount_refund, amount_total=row.amount_total,
                         success_time=row.success_time)


@dataclass(frozen=True)
class _Ask:
    out_trade_no: str
    out_refund_no: str
    amount: int
    total: int
    notify_url: str


def refund(db: Database, settings: Settings, *, out_trade_no: str, out_refund_no: str, amount: int, total: int,
           notify_url: str) -> GatewayRefund:
    ask = _Ask(out_trade_no, out_refund_no, amount, total, notify_url)
    try:
        got = _ledger.write(db, ask)
    except IntegrityError:  # the same number sent twice at once (another process): the other call's refund stands
        got = _refund_many(db, [ask])[0]
    if isinstance(got, GatewayError):
        raise got
    row, new = got
    if new and row.outcome != "HOLD":
        _schedule_settle(db, settings, out_refund_no=row.out_refund_no, at=row.settle_at)
    return _as_refund(row)


Answer = tuple[SandboxRefund, bool] | GatewayError  # the ledger's row and whether this call started it, or a refusal


class _GroupCommit:
    """The refund calls that arrive together are written in one transaction (a clinic stop sends hundreds, 8 at a
    time): the first caller writes everything queued, again until nothing is, while the others wait for their
    answers. Each call gets the answer it would have got alone, in arrival order."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._queued: dict[int, list[tuple[_Ask, list[Any], threading.Event]]] = {}
        self._writing: set[int] = set()

    def write(self, db: Database, ask: _Ask) -> Answer:
        box: list[Any] = []
        done = threading.Event()
        key = id(db)
        with self._lock:
            self._queued.setdefault(key, []).append((ask, box, done))
            lead = key not in self._writing
            self._writing.add(key)
        if lead:
            self._drain(db, key)
        done.wait()
        if isinstance(box[0], BaseException) and not isinstance(box[0], GatewayError):
            raise box[0]
        return box[0]

    def _drain(self, db: Database, key: int) -> None:
        while True:
            with self._lock:
                batch = self._queued.pop(key, [])
                if not batch:
                    self._writing.discard(key)
                    return
            try:
                answers: list[Any] = _refund_many(db, [ask for ask, _, _ in batch])
            except BaseException as exc:  # noqa: BLE001 - every caller of the batch sees it (none waits forever)
                answers = [exc] * len(batch)
            for (_, box, done), answer in zip(batch, answers, strict=True):
                box.append(answer)
                done.set()


_ledger = _GroupCommit()


def _refund_many(db: Database, asks: list[_Ask]) -> list[Answer]:
    """WeChat Pay's refund call for each of ``asks``, in order, in one transaction of the sandbox's ledger."""
    t = now()
    delay = dt.timedelta(milliseconds=db.settings.sandbox_refund_delay_ms)
    trades = sorted({a.out_trade_no for a in asks})
    with db.transaction() as s:
        existing = {r.out_refund_no: r for r in s.execute(select(SandboxRefund).where(
            SandboxRefund.out_refund_no.in_({a.out_refund_no for a in asks}))).scalars()}
        txns = {r.out_trade_no: r for r in s.execute(select(SandboxTransaction).where(
            SandboxTransaction.out_trade_no.in_(trades)).order_by(SandboxTransaction.out_trade_no)
            .with_for_update()).scalars()}
        spent: dict[str, int] = dict(s.execute(  # type: ignore[arg-type]
            select(SandboxRefund.out_trade_no, func.sum(SandboxRefund.amount_refund))
            .where(SandboxRefund.out_trade_no.in_(trades), SandboxRefund.status != "CLOSED")
            .group_by(SandboxRefund.out_trade_no)).all())
        answers: list[Answer] = []
        fresh: list[SandboxRefund] = []
        for a in asks:
            try:
                row, new = _one(a, existing.get(a.out_refund_no), txns.get(a.out_trade_no),
                                spent.get(a.out_trade_no, 0), t=t, delay=delay)
            except GatewayError as exc:
                answers.append(exc)
                continue
            if a.out_refund_no not in existing:
                fresh.append(row)
                existing[a.out_refund_no] = row
                spent[a.out_trade_no] = spent.get(a.out_trade_no, 0) + a.amount
            answers.append((row, new))
        if fresh:
            # one prebuilt INSERT for all: the unit of work costs more than the rest of the call; the row objects
            # are what the callers read back
            s.execute(_INSERT, [{c: getattr(row, c) for c in _INSERTED} for row in fresh])
        s.flush()  # an ABNORMAL refund run again
    return answers


def _one(a: _Ask, existing: SandboxRefund | None, txn: SandboxTransaction | None, spent: int, *, t: dt.datetime,
         delay: dt.timedelta) -> tuple[SandboxRefund, bool]:
    """One refund call against the ledger as read (``spent``: what the order's refunds not CLOSED hold)."""
    if existing is not None:
        if existing.out_trade_no != a.out_trade_no or existing.amount_refund != a.amount:
            raise GatewayError("INVALID_REQUEST", "同一退款单号的退款信息不一致")
        if existing.status == "ABNORMAL":
            # the merchant handles the abnormal refund and sends the same number again: it runs again
            existing.status = "PROCESSING"
            existing.outcome = _next_outcome(a.out_trade_no)
            existing.settle_at = t + delay
            return existing, True
        return existing, False
    if txn is None:
        raise GatewayError("RESOURCE_NOT_EXISTS", "订单不存在")
    if txn.trade_state != "SUCCESS":
        raise GatewayError("INVALID_REQUEST", "订单未支付，不能退款")
    if a.total != txn.amount_total or a.amount <= 0:
        raise GatewayError("INVALID_REQUEST", "退款金额或订单金额不正确")
    if spent + a.amount > txn.amount_total:
        raise GatewayError("NOT_ENOUGH", "可退金额不足")
    return SandboxRefund(refund_id="50" + "".join(secrets.choice("0123456789") for _ in range(27)),
                         out_refund_no=a.out_refund_no, out_trade_no=a.out_trade_no,
                         transaction_id=txn.transaction_id or "", amount_refund=a.amount,
                         amount_total=txn.amount_total, status="PROCESSING", outcome=_next_outcome(a.out_trade_no),
                         settle_at=t + delay, notify_url=a.notify_url, created_at=t), True


_INSERT = insert(SandboxRefund.__table__)
_INSERTED = ("refund_id", "out_refund_no", "out_trade_no", "transaction_id", "amount_refund", "amount_total", "status",
             "outcome", "settle_at", "notify_url", "created_at")
_S = SandboxRefund.__table__.c


def _settle_statement(t: dt.datetime) -> Any:
    """PROCESSING past its settle time becomes its planned outcome (HOLD stays PROCESSING): one UPDATE."""
    return (update(SandboxRefund.__table__)
            .where(_S.status == "PROCESSING", _S.outcome.in_(("SUCCESS", "ABNORMAL", "CLOSED")), _S.settle_at <= t)
            .values(status=_S.outcome, success_time=case((_S.outcome == "SUCCESS", t), else_=None)))


def _settle_due(db: Database, out_refund_no: str) -> None:
    """PROCESSING past its settle time becomes its planned outcome (HOLD stays PROCESSING)."""
    t = now()
    with db.transaction() as s:
        s.execute(_settle_statement(t).where(_S.out_refund_no == out_refund_no))


def query_refund(db: Database, out_refund_no: str) -> GatewayRefund | None:
    with db.session(write=False) as s:
        due = s.execute(select(SandboxRefund.status, SandboxRefund.outcome, SandboxRefund.settle_at)
                        .where(SandboxRefund.out_refund_no == out_refund_no)).one_or_none()
    if due is not None and due.status == "PROCESSING" and due.outcome != "HOLD" and due.settle_at <= now():
        _settle_due(db, out_refund_no)  # a write only when there is something to settle
    with db.session(write=False) as s:
        row = s.execute(select(SandboxRefund).where(SandboxRefund.out_refund_no == out_refund_no)
                        ).scalar_one_or_none()
        return _as_refund(row) if row is not None else None


def refund_resource(row: SandboxRefund, settings: Settings) -> dict[str, Any]:
    """The decrypted ``resource`` of REFUND.*, as WeChat Pay v3 sends it."""
    res: dict[str, Any] = {
        "mchid": settings.wechatpay_mchid, "out_trade_no": row.out_trade_no, "transaction_id": row.transaction_id,
        "out_refund_no": row.out_refund_no, "refund_id": row.refund_id, "refund_status": row.status,
        "user_received_account": "支付用户零钱",
        "amount": {"total": row.amount_total, "refund": row.amount_refund, "payer_total": row.amount_total,
                   "payer_refund": row.amount_refund},
    }
    if row.status == "SUCCESS":
        res["success_time"] = wechatpay.wechat_time(row.success_time or now())
    return res


def notification_body(row: SandboxRefund, settings: Settings) -> bytes:
    event_type, summary = _EVENT[row.status]
    keys = wechatpay.sandbox_keys(settings.data_dir)
    return wechatpay.build_notification(keys, notification_id=f"EV-{secrets.token_hex(12)}", event_type=event_type,
                                        summary=summary, resource=refund_resource(row, settings),
                                        original_type="refund", associated_data="refund")


def notify(db: Database, settings: Settings, out_refund_no: str, *, duplicates: int | None = None,
           delay_ms: int | None = None) -> int:
    with db.session(write=False) as s:
        row = s.execute(select(SandboxRefund).where(SandboxRefund.out_refund_no == out_refund_no)).scalar_one()
    if row.status not in _EVENT or not row.notify_url:
        return 0
    n = duplicates if duplicates is not None else settings.sandbox_notify_duplicates
    schedule_notifications(url=row.notify_url, keys=wechatpay.sandbox_keys(settings.data_dir),
                           body=notification_body(row, settings), duplicates=n,
                           delay_s=(delay_ms if delay_ms is not None else settings.sandbox_notify_delay_ms) / 1000)
    return n


def _schedule_settle(db: Database, settings: Settings, *, out_refund_no: str, at: dt.datetime) -> None:
    """Settle the refund at ``at`` and notify, on the gateway's sender threads (``gateway.run_later``)."""
    run_later((at - now()).total_seconds(), lambda: _settle_due_batch(db, settings, out_refund_no))


_due: list[tuple[Database, Settings, str]] = []  # refunds past their settle time, waiting for the settling thread
_due_lock = threading.Lock()
_settling = False


def _settle_due_batch(db: Database, settings: Settings, out_refund_no: str) -> None:
    """Settle this refund, and every other one that fell due meanwhile, in one transaction; then notify each.

    The first sender thread to get here settles what is queued, again and again until nothing is; the others
    only queue theirs and go back to delivering. A thousand refunds due within a second are settled in a few
    dozen transactions, not a thousand.
    """
    global _settling
    with _due_lock:
        _due.append((db, settings, out_refund_no))
        if _settling:
            return
        _settling = True
    try:
        while True:
            with _due_lock:
                batch = _due[:]
                del _due[:]
                if not batch:
                    _settling = False
                    return
            by_db: dict[int, tuple[Database, Settings, list[str]]] = {}
            for d, st, no in batch:
                by_db.setdefault(id(d), (d, st, []))[2].append(no)
            for d, st, numbers in by_db.values():
                try:
                    _settle_and_notify(d, st, numbers)
                except Exception:  # the service's reconciler finds them by query anyway
                    log.exception("sandbox refunds %s: settle failed", numbers[:5])
    except BaseException:
        with _due_lock:
            _settling = False
        raise


def _settle_and_notify(db: Database, settings: Settings, numbers: list[str]) -> None:
    t = now()
    rows: list[SandboxRefund] = []
    with db.transaction() as s:
        for i in range(0, len(numbers), 500):
            chunk = numbers[i:i + 500]
            s.execute(_settle_statement(t).where(_S.out_refund_no.in_(chunk)))
            rows += s.execute(select(SandboxRefund).where(SandboxRefund.out_refund_no.in_(chunk))).scalars()
    keys = wechatpay.sandbox_keys(settings.data_dir)
    for row in rows:
        if row.status == "PROCESSING":
            if row.outcome != "HOLD" and row.settle_at > t:  # woken a hair early by the wall clock: again then
                _schedule_settle(db, settings, out_refund_no=row.out_refund_no, at=row.settle_at)
            continue
        if row.status in _EVENT and row.notify_url:
            schedule_notifications(url=row.notify_url, keys=keys, body=notification_body(row, settings),
                                   duplicates=settings.sandbox_notify_duplicates, delay_s=0)


# ---- development-only routes -----------------------------------------------------------------------------

router = APIRouter(prefix="/sandbox", tags=["sandbox gateway (development only)"])
OutNo = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_*@|-]+$")]


class RefundPlan(BaseModel):
    out_trade_no: str = Field(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9_-]+$")
    outcomes: list[Literal["SUCCESS", "ABNORMAL", "CLOSED", "HOLD"]] = Field(min_length=1, max_length=10)


class SandboxRefundPublic(BaseModel):
    out_refund_no: str
    refund_id: str
    out_trade_no: str
    status: str
    amount_refund: int
    amount_total: int
    notifications_scheduled: int = 0


@router.post("/refund-plan", response_model=RefundPlan,
             summary="Plan the outcomes of an order's next refunds (tests; HOLD stays PROCESSING)")
def plan_route(body: RefundPlan) -> RefundPlan:
    plan(body.out_trade_no, list(body.outcomes))
    return body


@router.get("/v3/refund/domestic/refunds/{out_refund_no}", response_model=SandboxRefundPublic,
            summary="WeChat Pay v3 refund query (sandbox)")
def query_route(out_refund_no: OutNo, db: DbDep) -> SandboxRefundPublic:
    got = query_refund(db, out_refund_no)
    if got is None:
        raise AppError("RESOURCE_NOT_EXISTS", "退款单不存在", status=404)
    return SandboxRefundPublic(out_refund_no=got.out_refund_no, refund_id=got.refund_id,
                               out_trade_no=got.out_trade_no, status=got.status, amount_refund=got.amount_refund,
                               amount_total=got.amount_total)


@router.post("/refunds/{out_refund_no}/settle", response_model=SandboxRefundPublic,
             summary="Settle a refund at the gateway now (PROCESSING or ABNORMAL → status) and notify (tests)")
def settle_route(out_refund_no: OutNo, db: DbDep, settings: SettingsDep,
                 status: Annotated[Literal["SUCCESS", "ABNORMAL", "CLOSED"], Query()] = "SUCCESS",
                 notify_: Annotated[bool, Query(alias="notify")] = True,
                 duplicates: Annotated[int, Query(ge=1, le=10)] = 1) -> SandboxRefundPublic:
    t = now()
    with db.transaction() as s:
        row = s.execute(select(SandboxRefund).where(SandboxRefund.out_refund_no == out_refund_no)
                        .with_for_update()).scalar_one_or_none()
        if row is None:
            raise NotFound("退款单")
        if row.status in ("PROCESSING", "ABNORMAL") and row.status != status:
            row.status = status
            row.outcome = status
            row.success_time = t if status == "SUCCESS" else None
    scheduled = notify(db, settings, out_refund_no, duplicates=duplicates, delay_ms=0) if notify_ else 0
    got = query_refund(db, out_refund_no)
    assert got is not None
    return SandboxRefundPublic(out_refund_no=got.out_refund_no, refund_id=got.refund_id,
                               out_trade_no=got.out_trade_no, status=got.status, amount_refund=got.amount_refund,
                               amount_total=got.amount_total, notifications_scheduled=scheduled)
