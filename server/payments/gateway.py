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
import heapq
import itertools
import logging
import os
import queue
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

import httpx
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from server import lifecycle
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


def sandbox_in_use(settings: Settings) -> bool:
    return settings.payment_gateway == "sandbox" and not settings.production


def get_gateway(*, db: Database, settings: Settings) -> PaymentGateway | None:
    """The configured gateway, or ``None`` when payments cannot be taken (production without a real client)."""
    if sandbox_in_use(settings):
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


def _try(client: httpx.Client, url: str, keys: wechatpay.SandboxKeys, body: bytes, tries: int) -> bool:
    """One signed POST of a notification; whether the receiver answered 2xx. Each try is signed afresh (new
    timestamp and nonce), as WeChat's retries are."""
    signed = wechatpay.sign_delivery(keys, body)
    try:
        r = client.post(url, content=signed.body, headers=signed.headers)
        if 200 <= r.status_code < 300:
            return True
        log.info("sandbox notification to %s answered %s (try %s)", url, r.status_code, tries)
    except httpx.HTTPError as exc:
        log.info("sandbox notification to %s failed: %s (try %s)", url, exc, tries)
    return False


def deliver(client: httpx.Client, url: str, keys: wechatpay.SandboxKeys, body: bytes, *,
            delays: tuple[float, ...] = RETRY_DELAYS_S, sleep: Any = time.sleep) -> int:
    """POST one notification until the receiver answers 2xx or the tries run out; returns the tries made."""
    tries = 0
    for attempt in range(len(delays) + 1):
        tries += 1
        if _try(client, url, keys, body, tries):
            return tries
        if attempt < len(delays):
            sleep(delays[attempt])
    log.warning("sandbox notification to %s gave up after %s tries", url, tries)
    return tries


SENDERS = 4  # the sandbox's deliveries in flight at once, however many notifications fall due together


class _Sender:
    """The sandbox gateway's outbox: jobs wait in a heap until they are due, then run on a bounded set of sender
    threads that share one keep-alive HTTP client. A delivery that failed is put back for its retry, so no
    sender sleeps; a storm of notifications (a clinic stop's thousand refunds) queues here instead of starting
    a thread and a client (~20 ms of CPU for its TLS context) per delivery. Started on first use in each
    process."""

    def __init__(self, senders: int) -> None:
        self.senders = senders
        self._cv = threading.Condition()
        self._due: list[tuple[float, int, Callable[[], None]]] = []
        self._ready: queue.SimpleQueue[Callable[[], None]] = queue.SimpleQueue()
        self._seq = itertools.count()
        self._pid = 0
        self.client: httpx.Client | None = None

    def at(self, when: float, job: Callable[[], None]) -> None:
        """Run ``job`` on a sender thread at ``time.monotonic()`` ``when`` (or as soon as a sender is free)."""
        with self._cv:
            if self._pid != os.getpid():
                self._start()
            heapq.heappush(self._due, (when, next(self._seq), job))
            self._cv.notify()

    def _start(self) -> None:
        self._pid = os.getpid()
        self._due.clear()
        self.client = httpx.Client(timeout=10, limits=httpx.Limits(max_connections=self.senders,
                                                                   max_keepalive_connections=self.senders))
        threading.Thread(target=self._timer, name="sandbox-notify-timer", daemon=True).start()
        for n in range(self.senders):
            threading.Thread(target=self._send, name=f"sandbox-notify-{n}", daemon=True).start()

    def _timer(self) -> None:
        while True:
            with self._cv:
                while True:
                    wait = self._due[0][0] - time.monotonic() if self._due else None
                    if wait is not None and wait <= 0:
                        break
                    self._cv.wait(wait)
                job = heapq.heappop(self._due)[2]
            self._ready.put(job)

    def _send(self) -> None:
        while True:
            job = self._ready.get()
            try:
                job()
            except Exception:  # a sender never dies; the service's reconcilers find what was not delivered
                log.exception("sandbox gateway job failed")


sender = _Sender(SENDERS)


def run_later(delay_s: float, job: Callable[[], None]) -> None:
    """Run ``job`` on one of the sandbox gateway's sender threads after ``delay_s`` seconds."""
    sender.at(time.monotonic() + max(delay_s, 0.0), job)


def _delivery(url: str, keys: wechatpay.SandboxKeys, body: bytes, attempt: int = 0) -> Callable[[], None]:
    def job() -> None:
        assert sender.client is not None
        if _try(sender.client, url, keys, body, attempt + 1):
            return
        if attempt < len(RETRY_DELAYS_S):
            run_later(RETRY_DELAYS_S[attempt], _delivery(url, keys, body, attempt + 1))
        else:
            log.warning("sandbox notification to %s gave up after %s tries", url, attempt + 1)

    return job


def schedule_notifications(*, url: str, keys: wechatpay.SandboxKeys, body: bytes, duplicates: int,
                           delay_s: float) -> None:
    """Send ``duplicates`` deliveries of the same notification after ``delay_s``, each with its own retries
    (``RETRY_DELAYS_S``): from the sandbox's notifier process (:mod:`server.payments.notifier`), or here if it
    cannot be started."""
    from server.payments.notifier import notifier

    if not notifier.send(url=url, data_dir=keys.data_dir, body=body, duplicates=duplicates, delay_s=delay_s):
        deliver_later(url=url, keys=keys, body=body, duplicates=duplicates, delay_s=delay_s)


def deliver_later(*, url: str, keys: wechatpay.SandboxKeys, body: bytes, duplicates: int, delay_s: float) -> None:
    """The deliveries of one notification on this process's sender threads.

    They are due at the same moment and go to different sender threads, so the receiver's dedupe is tested
    against concurrency as well as repetition.
    """
    start = time.monotonic() + delay_s
    for _ in range(duplicates):
        sender.at(start, _delivery(url, keys, body))


async def _start_notifier(app: Any) -> None:
    from server.config import get_settings
    from server.payments.notifier import notifier

    if sandbox_in_use(get_settings()):
        notifier.start()  # now rather than at the first payment, which would wait for it


async def _stop_notifier(app: Any) -> None:
    from server.payments.notifier import notifier

    notifier.stop()


lifecycle.register(start=_start_notifier, stop=_stop_notifier)
