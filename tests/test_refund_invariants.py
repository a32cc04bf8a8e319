"""Refund invariants, tried hard: refunded + refunding ≤ paid for every payment, whatever the order of pays,
refunds, retries, duplicated and reordered gateway notifications, reconciler passes and restarts.

- a Hypothesis state machine over the service layer and the sandbox gateway (a SQLite file of its own; the
  "restart" drops every connection and opens the file again);
- 50 simultaneous cancellations of one paid appointment through the live server: exactly one refund;
- on PostgreSQL, 50 threads asking to refund one payment at once: exactly one refund.
"""
from __future__ import annotations

import datetime as dt
import os
import random
import secrets
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, initialize, invariant, rule
from sqlalchemy import func, select
from sqlalchemy.engine import Engine

import server.models  # noqa: F401 - every table
from server.actor import SYSTEM
from server.config import Settings
from server.db import Base, Database
from server.errors import AppError
from server.payments.gateway import GatewayRefund, SandboxGateway
from server.payments.models import Payment, SandboxTransaction
from server.refunds import sandbox, service
from server.refunds.models import HOLDING, Refund, SandboxRefund
from server.timeutil import now
from tests.conftest import LiveServer
from tests.test_payments import make_clinic_rows, rows, wait_for
from tests.test_refunds import paid_appointment, refunds_of
from tests.workstation_helpers import new_key

V1 = "/api/v1"


# ---- the state machine ------------------------------------------------------------------------------------

def _open(path: Path) -> Database:
    s = Settings(data_dir=path.parent, database_url=f"sqlite:///{path}", sandbox_refund_delay_ms=0,
                 refund_query_base_s=0.01, public_base_url="http://127.0.0.1:9")
    return Database(s)


class RefundMachine(RuleBasedStateMachine):
    """Pay, refund (whole or part), send again, settle at the gateway, deliver its word any number of times in
    any order, reconcile, retry as a clerk, restart."""

    payments = Bundle("payments")
    refunds = Bundle("refunds")

    def __init__(self) -> None:
        super().__init__()
        self.dir = Path(os.environ.get("REFUND_MACHINE_DIR", "/tmp")) / f"refund-machine-{secrets.token_hex(6)}"
        self.dir.mkdir(parents=True)
        self.path = self.dir / "machine.sqlite3"
        self.db = _open(self.path)
        Base.metadata.create_all(self.db.engine)
        self.words: list[GatewayRefund] = []  # everything the gateway ever said, to be delivered in any order
        from server.accounts.models import Account

        with self.db.transaction() as s:
            acc = Account(mobile="139" + "".join(secrets.choice("0123456789") for _ in range(8)), name="不变式",
                          password_hash="!", active=True)
            s.add(acc)
            s.flush()
            self.account_id = acc.id

    def teardown(self) -> None:
        self.db.engine.dispose()
        for f in self.dir.iterdir():
            f.unlink()
        self.dir.rmdir()

    @property
    def gateway(self) -> SandboxGateway:
        return SandboxGateway(db=self.db, settings=self.db.settings)

    @initialize()
    def start(self) -> None:
        pass

    @rule(target=payments, amount=st.integers(min_value=1, max_value=10_000))
    def pay(self, amount: int) -> int:
        no = "P" + secrets.token_hex(8)
        t = now()
        with self.db.transaction() as s:
            s.add(SandboxTransaction(prepay_id="wx" + secrets.token_hex(8), out_trade_no=no, mchid="1900000109",
                                     appid="wx8888888888888888", description="诊费", amount_total=amount,
                                     payer_openid="o", notify_url="", trade_state="SUCCESS",
                                     transaction_id="42" + secrets.token_hex(8), success_time=t,
                                     time_expire=t + dt.timedelta(minutes=15)))
            p = Payment(out_trade_no=no, account_id=self.account_id, purpose="consultation", amount_fen=amount,
                        status="paid", expires_at=t + dt.timedelta(minutes=15), paid_at=t)
            s.add(p)
            s.flush()
            pid = p.id
        sandbox.plan(no, ["HOLD"] * 50)  # the machine decides every outcome itself
        return pid

    @rule(target=refunds, payment=payments, part=st.one_of(st.none(), st.integers(min_value=1, max_value=10_000)))
    def refund(self, payment: int, part: int | None) -> int:
        with self.db.session(write=False) as s:
            p = s.get(Payment, payment)
            assert p is not None
            left = service.refundable_fen(s, p)
        try:
            with self.db.transaction() as s:
                r = service.request_refund(s, payment_id=payment, path="window", actor=SYSTEM, amount_fen=part)
                rid = r.id
        except AppError as exc:
            assert exc.code == "refund_exceeds_paid"
            assert left <= 0 or (part is not None and part > left)
            return 0
        assert left > 0 and (part is None or part <= left)
        service.submit(self.db, rid, gateway=self.gateway)
        return rid

    @rule(refund=refunds)
    def send_again(self, refund: int) -> None:
        if refund:
            service.submit(self.db, refund, gateway=self.gateway)

    @rule(refund=refunds, outcome=st.sampled_from(["SUCCESS", "ABNORMAL", "CLOSED"]))
    def gateway_settles(self, refund: int, outcome: str) -> None:
        if not refund:
            return
        with self.db.session(write=False) as s:
            no = s.execute(select(Refund.out_refund_no).where(Refund.id == refund)).scalar_one()
        with self.db.transaction() as s:
            row = s.execute(select(SandboxRefund).where(SandboxRefund.out_refund_no == no)).scalar_one_or_none()
            if row is None or row.status not in ("PROCESSING", "ABNORMAL") or row.status == outcome:
                return
            row.status = outcome
            row.success_time = now() if outcome == "SUCCESS" else None
        got = self.gateway.query_refund(no)
        assert got is not None
        self.words.append(got)

    @rule(data=st.data(), times=st.integers(min_value=1, max_value=3))
    def deliver(self, data: st.DataObject, times: int) -> None:
        """A notification the gateway sent at some point: late, repeated, out of order."""
        if not self.words:
            return
        word = data.draw(st.sampled_from(self.words))
        for _ in range(times):
            with self.db.transaction() as s:
                service.apply_gateway(s, refund=word, actor=SYSTEM, source="notification")

    @rule()
    def reconcile(self) -> None:
        service.reconcile_refunds(self.db, at=now() + dt.timedelta(days=1))

    @rule(refund=refunds)
    def clerk_retries(self, refund: int) -> None:
        if not refund:
            return
        try:
            with self.db.transaction() as s:
                new = service.retry(s, refund_id=refund, actor=SYSTEM)
                rid = new.id
        except AppError as exc:
            assert exc.code in ("refund_not_retryable", "refund_already_retried", "refund_exceeds_paid")
            return
        service.submit(self.db, rid, gateway=self.gateway)

    @rule()
    def restart(self) -> None:
        self.db.engine.dispose()
        self.db = _open(self.path)

    @invariant()
    def money_never_exceeds_what_was_paid(self) -> None:
        with self.db.session(write=False) as s:
            for p in s.execute(select(Payment)).scalars():
                refunds = list(s.execute(select(Refund).where(Refund.payment_id == p.id)).scalars())
                holding = sum(r.amount_fen for r in refunds if r.status in HOLDING)
                refunded = sum(r.amount_fen for r in refunds if r.status == "refunded")
                assert p.refunded_fen == refunded
                assert p.refunded_fen + holding <= p.amount_fen
                gw = list(s.execute(select(SandboxRefund).where(SandboxRefund.out_trade_no == p.out_trade_no)
                                    ).scalars())
                assert sum(g.amount_refund for g in gw if g.status != "CLOSED") <= p.amount_fen
                # one gateway refund per number, and we never count money the gateway did not pay out
                by_no = {g.out_refund_no: g for g in gw}
                assert len(by_no) == len(gw)
                for r in refunds:
                    if r.status == "refunded":
                        assert by_no[r.out_refund_no].status == "SUCCESS"
                    if r.out_refund_no in by_no and by_no[r.out_refund_no].status == "SUCCESS":
                        assert r.status in ("processing", "failed", "refunded")


RefundMachine.TestCase.settings = settings(max_examples=25, stateful_step_count=25, deadline=None,
                                           suppress_health_check=[HealthCheck.too_slow,
                                                                  HealthCheck.filter_too_much])
test_refund_state_machine = pytest.mark.db_independent(RefundMachine.TestCase)


# ---- the live server: simultaneous cancellations -----------------------------------------------------------

@pytest.fixture()
def api(live_server: LiveServer) -> Iterator[httpx.Client]:
    ip = f"10.{random.randint(0, 255)}.{random.randint(0, 255)}.{random.randint(1, 254)}"
    with live_server.client(headers={"X-Forwarded-For": ip}) as client:
        yield client


@pytest.fixture(scope="module")
def clinic_rows(db_engine: Engine) -> dict[str, int]:
    return make_clinic_rows(db_engine)


def test_fifty_simultaneous_cancellations_refund_once(api: httpx.Client, db_engine: Engine,
                                                      clinic_rows: dict[str, int], live_server: LiveServer) -> None:
    p = paid_appointment(api, db_engine, clinic_rows, fee_fen=4200)
    answers: list[tuple[int, str | None]] = []
    lock = threading.Lock()
    go = threading.Barrier(50)

    def one() -> None:
        with live_server.client() as c:
            go.wait()
            r = c.post(f"{V1}/appointments/{p['id']}/cancel", json={"confirm": True},
                       headers={**p["acc"]["headers"], "Idempotency-Key": new_key()})
            with lock:
                answers.append((r.status_code, r.json().get("code") if r.status_code != 200 else None))

    threads = [threading.Thread(target=one) for _ in range(50)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [a for a in answers if a[0] == 200] == [(200, None)]
    assert {a for a in answers if a[0] != 200} <= {(409, "appointment_not_cancellable"), (409, "conflict"),
                                                   (409, "invalid_state")}, answers
    wait_for(lambda: [r for r in refunds_of(db_engine, p["id"]) if r["status"] == "refunded"],
             what="the one refund")
    assert len(refunds_of(db_engine, p["id"])) == 1
    paid = rows(db_engine, "SELECT refunded_fen, amount_fen FROM payments WHERE out_trade_no = :n",
                n=p["out_trade_no"])[0]
    assert paid["refunded_fen"] == paid["amount_fen"] == 4200


# ---- PostgreSQL: fifty refund requests on one order --------------------------------------------------------

def test_fifty_concurrent_refund_requests_on_one_order_give_one_refund(api: httpx.Client, db_engine: Engine,
                                                                       clinic_rows: dict[str, int],
                                                                       live_server: LiveServer) -> None:
    if not os.environ.get("CLINIC_TEST_DATABASE_URL"):
        pytest.skip("row locks under real concurrency: PostgreSQL only (SQLite writers are serial)")
    p = paid_appointment(api, db_engine, clinic_rows, fee_fen=6000)
    payment_id = rows(db_engine, "SELECT id FROM payments WHERE out_trade_no = :n", n=p["out_trade_no"])[0]["id"]
    db = Database(Settings(data_dir=live_server.data_dir, database_url=live_server.database_url), )
    go = threading.Barrier(50)
    made: list[int] = []
    refused: list[str] = []
    lock = threading.Lock()

    def one() -> None:
        go.wait()
        try:
            with db.transaction() as s:
                r = service.request_refund(s, payment_id=payment_id, path="window", actor=SYSTEM,
                                           reason="并发退费")
                rid = r.id
            with lock:
                made.append(rid)
        except AppError as exc:
            with lock:
                refused.append(exc.code)

    try:
        threads = [threading.Thread(target=one) for _ in range(50)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert len(made) == 1 and refused == ["refund_exceeds_paid"] * 49
        with db.session(write=False) as s:
            total = s.execute(select(func.sum(Refund.amount_fen)).where(Refund.payment_id == payment_id)).scalar()
            assert total == 6000
        # the live server's reconciler sends it; the money comes back once
        wait_for(lambda: rows(db_engine, "SELECT status FROM refunds WHERE id = :i", i=made[0])[0]["status"]
                 == "refunded", what="the refund")
        assert rows(db_engine, "SELECT refunded_fen FROM payments WHERE id = :i", i=payment_id)[0][
            "refunded_fen"] == 6000
    finally:
        db.engine.dispose()


