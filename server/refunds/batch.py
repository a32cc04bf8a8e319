"""Sending many refunds at once: a clinic stop's hundreds, submitted right after its commit.

The money rules are those of :mod:`server.refunds.service`, unchanged: every gateway call is made with no
transaction of ours open, the gateway's answers move refunds with conditional UPDATEs, the payment rows are
locked before the refund rows and before the audit chain. What differs from :func:`service.submit` one by one:

- the calls run ``refund_submit_concurrency`` (8) at a time on one bounded pool per process (each is a network
  round trip to WeChat Pay in production: one after the other, a thousand would take minutes);
- the answers are applied as they come, everything that arrived while the previous batch was being written in
  one transaction (at most ``APPLY_BATCH``), the usual PROCESSING ones in one statement;
- the batch takes a lease first: ``next_query_at`` moves ``refund_query_base_s`` ahead, so the reconciler does
  not send the same refunds again while this runs, and sends whatever this does not get to after that (also
  after a crash: nothing here is remembered outside the database).
"""
from __future__ import annotations

import datetime as dt
import logging
import threading
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from typing import Any

from sqlalchemy import bindparam, case, func, or_, select, update

from server.actor import SYSTEM
from server.db import Database, TZDateTime
from server.payments.gateway import GatewayError, GatewayRefund, PaymentGateway, get_gateway
from server.payments.models import Payment
from server.refunds import service
from server.refunds.models import Refund
from server.timeutil import now

log = logging.getLogger(__name__)

APPLY_BATCH = 100  # answers applied in one transaction at most
_READ_CHUNK = 500  # ids in one IN (...)

_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()


def _gateway_pool(db: Database) -> ThreadPoolExecutor:
    """One pool per process: ``refund_submit_concurrency`` calls in flight, whatever the number of batches."""
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(max_workers=max(1, db.settings.refund_submit_concurrency),
                                       thread_name_prefix="refund-submit")
        return _pool


def submit_many(db: Database, refund_ids: list[int], *, gateway: PaymentGateway | None = None) -> None:
    """Send the refunds still processing among ``refund_ids`` to the gateway and apply its answers.

    Never raises for one refund: what fails is logged and left to the reconciler."""
    gateway = gateway or get_gateway(db=db, settings=db.settings)
    if gateway is None or not refund_ids:
        return
    lease = now() + dt.timedelta(seconds=db.settings.refund_query_base_s)
    rows: list[Any] = []
    with db.transaction() as s:
        for i in range(0, len(refund_ids), _READ_CHUNK):
            chunk = refund_ids[i:i + _READ_CHUNK]
            s.execute(update(Refund).where(Refund.id.in_(chunk), Refund.status == "processing",
                                           Refund.gateway_status == "")
                      .values(next_query_at=lease).execution_options(synchronize_session=False))
            rows += s.execute(select(Refund.id, Refund.payment_id, Refund.out_refund_no, Refund.amount_fen,
                                     Payment.out_trade_no, Payment.amount_fen.label("total"))
                              .join(Payment, Payment.id == Refund.payment_id)
                              .where(Refund.id.in_(chunk), Refund.status == "processing")).all()
    url = service.notify_url(db.settings)

    def call(row: Any) -> GatewayRefund | GatewayError:
        try:
            return gateway.refund(out_trade_no=row.out_trade_no, out_refund_no=row.out_refund_no,
                                  amount=row.amount_fen, total=row.total, notify_url=url)
        except GatewayError as exc:
            return exc

    pending = {_gateway_pool(db).submit(call, row): row for row in rows}
    while pending:
        done, _ = wait(pending, return_when=FIRST_COMPLETED)
        answers = []
        for fut in done:
            row = pending.pop(fut)
            try:
                answers.append((row, fut.result()))
            except Exception:  # the reconciler sends it again
                log.exception("refund %s: submit failed", row.out_refund_no)
        for i in range(0, len(answers), APPLY_BATCH):
            try:
                _apply_answers(db, answers[i:i + APPLY_BATCH])
            except Exception:  # the reconciler asks the gateway again
                log.exception("refunds: applying %s gateway answers failed", len(answers[i:i + APPLY_BATCH]))


_T = Refund.__table__.c
# service.apply_gateway's PROCESSING branch for many refunds in one statement (executemany): the same conditions
# (still processing, no other gateway status yet), the same values
_ACCEPTED = (update(Refund.__table__)
             .where(_T.id == bindparam("rid"), _T.status == "processing",
                    or_(_T.gateway_status == "", _T.gateway_status == "PROCESSING"))  # no IN: executemany
             .values(gateway_status="PROCESSING", gateway_refund_id=bindparam("gateway_id"),
                     submitted_at=func.coalesce(_T.submitted_at, bindparam("t_now", type_=TZDateTime())),
                     updated_at=bindparam("t_now", type_=TZDateTime()),
                     next_query_at=case((or_(_T.next_query_at.is_(None),
                                             _T.next_query_at <= bindparam("t_now", type_=TZDateTime())),
                                         bindparam("t_next", type_=TZDateTime())), else_=_T.next_query_at)))


def _accepted(row: Any, got: GatewayRefund | GatewayError) -> bool:
    return isinstance(got, GatewayRefund) and got.status == "PROCESSING" and got.out_refund_no == row.out_refund_no


def _apply_answers(db: Database, answers: list[tuple[Any, GatewayRefund | GatewayError]]) -> None:
    """The gateway's answers in one transaction, each as :func:`service.submit` applies it.

    The batch's payments are locked first, in id order: every money path locks a payment before the audit chain
    (which the first recorded change takes), and two batches never wait on each other. PROCESSING (accepted, no
    money moved, nothing recorded) is applied to all at once; any other answer in a savepoint of its own, so
    one that fails leaves the others."""
    t = now()
    t_next = t + dt.timedelta(seconds=min(db.settings.refund_query_base_s, db.settings.refund_query_max_s))
    accepted = [{"rid": row.id, "gateway_id": got.refund_id, "t_now": t, "t_next": t_next}
                for row, got in answers if _accepted(row, got)]
    with db.transaction() as s:
        s.execute(select(Payment.id).where(Payment.id.in_(sorted({row.payment_id for row, _ in answers})))
                  .order_by(Payment.id).with_for_update(key_share=True))
        if accepted:
            s.execute(_ACCEPTED, accepted)
        for row, got in answers:
            if _accepted(row, got):
                continue
            try:
                with s.begin_nested():
                    if isinstance(got, GatewayError):
                        log.warning("refund %s refused by the gateway: %s", row.out_refund_no, got)
                        error = f"{got.code}: {got.message}"[:200]
                        if got.code in service.REFUSALS:
                            service._refused(s, row.id, error=error)
                        else:
                            service._backoff(s, row.id, error=error, db=db)
                    else:
                        service.apply_gateway(s, refund=got, actor=SYSTEM, source="submit", settings=db.settings)
            except Exception:  # this one is left to the reconciler
                log.exception("refund %s: applying the gateway's answer failed", row.out_refund_no)
