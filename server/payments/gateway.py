"""The payment gateway as the service sees it, and the sandbox that stands in for WeChat Pay in development.

The service talks to a :class:`PaymentGateway` only: create a prepay order, query an order, close it. (The
refund work adds ``refund`` and ``query_refund`` to the same protocol.) A real WeChat Pay client would make
signed HTTPS calls; :class:`SandboxGateway` keeps its ledger in the ``sandbox_transactions`` table instead, in
its own transactions, so calls to it must be made while the caller holds no write transaction (as with any
external call).

The sandbox also misbehaves the way the real gateway does: once the patient "pays", its notifications arrive
late, sometimes more than once, and are retried with back-off until the service answers 2xx.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import logging
import secrets
import threading
import time
from dataclasses import dataclass
from typing import Any, Protocol

import httpx
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from server.config import Settings
from server.db import Database
from server.payments import wechatpay
from server.payments.models import SandboxTransaction
from server.timeutil import now

log = logging.getLogger(__name__)

# WeChat retries at 15s/15s/30s/3m/10m…; the sandbox keeps the shape at a pace tests can wait for
RETRY_DELAYS_S: tuple[float, ...] = (0.2, 0.5, 1.0, 2.0)
MAX_TRIES = len(RETRY_DELAYS_S) + 1
NOTIFY_PATH = "/api/v1/payments/notify"


@dataclass(frozen=True)
class PrepayOrder:
    out_trade_no: str
    description: str
    amount_fen: int
    time_expire: dt.datetime
    payer_openid: str
    notify_url: str


@dataclass(frozen=True)
class GatewayTransaction:
    """The gateway's view of one order (WeChat's query result, reduced to what the service uses)."""

    out_trade_no: str
    trade_state: str  # NOTPAY | SUCCESS | CLOSED (| REFUND, later)
    amount_total: int
    currency: str
    transaction_id: str | None = None
    success_time: dt.datetime | None = None
    payer_openid: str = ""
    mchid: str = ""
    appid: str = ""


@dataclass(frozen=True)
class GatewayRefund:
    """The gateway's view of one refund (WeChat's refund object, reduced)."""

    out_refund_no: str
    refund_id: str
    out_trade_no: str
    status: str  # PROCESSING | SUCCESS | ABNORMAL | CLOSED
    amount_refund: int
    amount_total: int
    success_time: dt.datetime | None = None


class GatewayError(Exception):
    """The gateway refused or could not be reached; ``code`` follows WeChat's error codes where one exists."""

    def __init__(self, code: str, message: str = "") -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


class PaymentGateway(Protocol):
    def create_prepay(self, order: PrepayOrder) -> str:
        """Return the prepay_id. Repeating the same out_trade_no with the same order returns the same id."""
        ...

    def query(self, out_trade_no: str) -> GatewayTransaction | None:
        """The order as the gateway knows it; ``None`` when the gateway never saw it (ORDER_NOT_EXIST)."""
        ...

    def close(self, out_trade_no: str) -> GatewayTransaction | None:
        """Close an unpaid order so it can no longer be paid; a paid order stays paid (and is returned as such)."""
        ...

    def refund(self, *, out_trade_no: str, out_refund_no: str, amount: int, total: int,
               reason: str = "", notify_url: str = "") -> GatewayRefund:
        """Ask for a refund (WeChat v3 ``POST /v3/refund/domestic/refunds``). The same ``out_refund_no`` sent
        again returns the same refund and never refunds twice; the refunds of one order never exceed its total
        (``NOT_ENOUGH``)."""
        ...

    def query_refund(self, out_refund_no: str) -> GatewayRefund | None:
        """The refund as the gateway knows it; ``None`` when it never saw the number (RESOURCE_NOT_EXISTS)."""
        ...


def payer_openid(settings: Settings, account_id: int) -> str:
    """A stable per-account openid for the sandbox (the service does not model WeChat login)."""
    digest = hashlib.sha256(f"{settings.wechatpay_appid}:{account_id}".encode()).hexdigest()
    return "o" + digest[:27]


def new_transaction_id() -> str:
    """28 digits like WeChat's: 42000 + date + random."""
    return f"42000{now():%Y%m%d}" + "".join(secrets.choice("0123456789") for _ in range(15))


def sandbox_state(row: SandboxTransaction) -> str:
    """An unpaid order past its time_expire reads as CLOSED, as WeChat reports it."""
    if row.trade_state == "NOTPAY" and row.time_expire <= now():
        return "CLOSED"
    return row.trade_state


def _as_transaction(row: SandboxTransaction) -> GatewayTransaction:
    return GatewayTransaction(out_trade_no=row.out_trade_no, trade_state=sandbox_state(row),
                              amount_total=row.amount_total, currency=row.currency,
                              transaction_id=row.transaction_id, success_time=row.success_time,
                              payer_openid=row.payer_openid, mchid=row.mchid, appid=row.appid)


class SandboxGateway:
    """WeChat Pay's behaviour over a local table. Every method runs in its own transaction."""

    def __init__(self, *, db: Database, settings: Settings) -> None:
        self.db = db
        self.settings = settings

    def create_prepay(self, order: PrepayOrder) -> str:
        try:
            return self._create_prepay(order)
        except IntegrityError:
            # the same order placed twice at once: the other call's prepay stands, as at WeChat
            return self._create_prepay(order)

    def _create_prepay(self, order: PrepayOrder) -> str:
        with self.db.transaction() as s:
            row = s.execute(select(SandboxTransaction).where(SandboxTransaction.out_trade_no == order.out_trade_no)
                            ).scalar_one_or_none()
            if row is not None:
                if row.amount_total != order.amount_fen or row.description != order.description:
                    raise GatewayError("INVALID_REQUEST", "同一商户订单号的订单信息不一致")
                if row.trade_state == "SUCCESS":
                    raise GatewayError("ORDERPAID", "该订单已支付")
                if row.trade_state == "CLOSED":
                    raise GatewayError("ORDERCLOSED", "订单已关闭")
                return row.prepay_id
            prepay_id = "wx" + now().strftime("%d%H%M%S") + secrets.token_hex(13)
            s.add(SandboxTransaction(prepay_id=prepay_id, out_trade_no=order.out_trade_no,
                                     mchid=self.settings.wechatpay_mchid, appid=self.settings.wechatpay_appid,
                                     description=order.description, amount_total=order.amount_fen,
                                     payer_openid=order.payer_openid, notify_url=order.notify_url,
                                     time_expire=order.time_expire))
            return prepay_id

    def query(self, out_trade_no: str) -> GatewayTransaction | None:
        with self.db.session(write=False) as s:
            row = s.execute(select(SandboxTransaction).where(SandboxTransaction.out_trade_no == out_trade_no)
                            ).scalar_one_or_none()
            return _as_transaction(row) if row is not None else None

    def close(self, out_trade_no: str) -> GatewayTransaction | None:
        with self.db.transaction() as s:
            s.execute(update(SandboxTransaction)
                      .where(SandboxTransaction.out_trade_no == out_trade_no,
                             SandboxTransaction.trade_state == "NOTPAY")
                      .values(trade_state="CLOSED"))
            row = s.execute(select(SandboxTransaction).where(SandboxTransaction.out_trade_no == out_trade_no)
                            ).scalar_one_or_none()
            return _as_transaction(row) if row is not None else None


    def refund(self, *, out_trade_no: str, out_refund_no: str, amount: int, total: int,
               reason: str = "", notify_url: str = "") -> GatewayRefund:
        from server.refunds import sandbox

        return sandbox.refund(self.db, self.settings, out_trade_no=out_trade_no, out_refund_no=out_refund_no,
                              amount=amount, total=total, notify_url=notify_url)

    def query_refund(self, out_refund_no: str) -> GatewayRefund | None:
        from server.refunds import sandbox

        return sandbox.query_refund(self.db, out_refund_no)


def get_gateway(*, db: Database, settings: Settings) -> PaymentGateway | None:
    """The configured gateway, or ``None`` when payments cannot be taken (production without a real client)."""
    if settings.payment_gateway == "sandbox" and not settings.production:
        return SandboxGateway(db=db, settings=settings)
    return None


# ---- the sandbox's notifications ---------------------------------------------------------------------------

def transaction_resource(row: SandboxTransaction) -> dict[str, Any]:
    """The decrypted ``resource`` of TRANSACTION.SUCCESS, field for field as WeChat Pay v3 sends it (JSAPI)."""
    return {
        "mchid": row.mchid,
        "appid": row.appid,
        "out_trade_no": row.out_trade_no,
        "transaction_id": row.transaction_id,
        "trade_type": "JSAPI",
        "trade_state": row.trade_state,
        "trade_state_desc": "支付成功",
        "bank_type": "OTHERS",
        "attach": "",
        "success_time": wechatpay.wechat_time(row.success_time or now()),
        "payer": {"openid": row.payer_openid},
        "amount": {"total": row.amount_total, "payer_total": row.amount_total, "currency": row.currency,
                   "payer_currency": row.currency},
    }


def success_notification(keys: wechatpay.SandboxKeys, row: SandboxTransaction) -> bytes:
    return wechatpay.build_notification(
        keys, notification_id=f"EV-{secrets.token_hex(12)}", event_type="TRANSACTION.SUCCESS",
        summary="支付成功", resource=transaction_resource(row), original_type="transaction",
        associated_data="transaction")


def deliver(client: httpx.Client, url: str, keys: wechatpay.SandboxKeys, body: bytes, *,
            delays: tuple[float, ...] = RETRY_DELAYS_S, sleep: Any = time.sleep) -> int:
    """POST one notification until the receiver answers 2xx or the tries run out; returns the tries made.

    Each try is signed afresh (new timestamp and nonce), as WeChat's retries are.
    """
    tries = 0
    for attempt in range(len(delays) + 1):
        tries += 1
        signed = wechatpay.sign_delivery(keys, body)
        try:
            r = client.post(url, content=signed.body, headers=signed.headers)
            if 200 <= r.status_code < 300:
                return tries
            log.info("sandbox notification to %s answered %s (try %s)", url, r.status_code, tries)
        except httpx.HTTPError as exc:
            log.info("sandbox notification to %s failed: %s (try %s)", url, exc, tries)
        if attempt < len(delays):
            sleep(delays[attempt])
    log.warning("sandbox notification to %s gave up after %s tries", url, tries)
    return tries


def schedule_notifications(*, url: str, keys: wechatpay.SandboxKeys, body: bytes, duplicates: int,
                           delay_s: float) -> list[threading.Thread]:
    """Send ``duplicates`` deliveries of the same notification after ``delay_s``, each with its own retries.

    The deliveries run on their own threads at nearly the same moment, so the receiver's dedupe is tested
    against concurrency as well as repetition.
    """
    threads = []
    start = time.monotonic() + delay_s

    def run() -> None:
        pause = start - time.monotonic()
        if pause > 0:
            time.sleep(pause)
        with httpx.Client(timeout=10) as client:
            deliver(client, url, keys, body)

    for n in range(duplicates):
        t = threading.Thread(target=run, name=f"sandbox-notify-{n}", daemon=True)
        t.start()
        threads.append(t)
    return threads
