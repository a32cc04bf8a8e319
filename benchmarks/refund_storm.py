"""``refund_storm``: a clinic stop over N booked and paid slots refunds every one, quickly, none twice.

Issue 6's goal: a clinic stop over 1,000 booked slots refunds every one within 10 s, none twice.

Set-up (not timed): the demo doctor ``doctor1`` gets N new slots of capacity 1 in a future period (from day 8 on,
after the week demo-data makes, 96 a day); N account holders (one made through the API, the rest cloned in the
database, ``benchmarks/prep.py``) book one each through ``POST /appointments`` and pay through the real path:
``POST /appointments/{id}/payment`` (the sandbox gateway's prepay), ``POST /sandbox/pay/{prepay_id}/confirm`` (the
patient pays), and the gateway's signed TRANSACTION.SUCCESS notification to ``/payments/notify`` books the
appointment. The run waits until every appointment is ``booked`` and every payment ``paid``.

Measured: doctor1 declares the stop over the whole period (``POST /staff/clinic-stops``, one request) and the
database is polled until every refund it requested is ``refunded``: the sandbox gateway settles each refund
``sandbox_refund_delay_ms`` (300 ms) after it was sent, then posts its signed REFUND.SUCCESS notification to
``/payments/notify``, once as the server is configured (``CLINIC_BENCH_NOTIFY_DUPLICATES=2`` sets the sandbox's
``sandbox_notify_duplicates`` to 2: every notification delivered twice at the same moment, what "none twice" has to
survive; the smoke test runs that way). The server runs with its own defaults otherwise: one worker on SQLite (what
``serve`` starts there), two on PostgreSQL (as the other benchmarks).

The sandbox gateway's ledger and settling run inside the server process, its notifications are signed and sent by
a child process of the server (``server/payments/notifier.py``); both are counted in the server's CPU
(``server_cpu_s``, the whole process tree); in production that work is WeChat Pay's.

- ``declare_ms``: the clinic-stop request, sent to answered;
- ``all_submitted_s``: request start → the last refund accepted by the gateway (``submitted_at``);
- ``all_refunded_s``: request start → the last refund ``refunded`` (its ``updated_at``; the poll that saw it is
  ``seen_all_refunded_s``); ``refunded_p50_ms`` …: the same for each refund; ``refunds_per_s`` = N / that;
- ``double_refunds``: payments with ``refunded_fen > amount_fen``, with more than one ``refunded`` refund, or with
  more than one SUCCESS refund or more than was paid at the gateway's side (``sandbox_refunds``): must be 0;
- ``server_cpu_s``, ``server_cpu_ms_per_refund``, ``server_cores_busy``: the server's CPU (all its processes, from
  ``/proc``) from the request to the last refund;
- ``audit_chain_intact``: ``clinic-server audit-verify`` after the storm;
- ``notifications_*``: REFUND.* notifications the service received (distinct ids), deliveries, duplicates (answered
  as such), refused, and what each one did (``notification_outcomes``);
- baseline in the same run, after the storm: one-row insert+commit transactions through the server's own engine
  set-up (``booking_throughput.raw_commit_rate``, 1 thread: the database's raw sequential commit rate),
  ``raw_commits_per_s``; ``raw_n_commits_s`` = N / that, and ``ratio_to_raw`` = ``all_refunded_s`` /
  ``raw_n_commits_s`` (each refund costs several commits: the gateway's, the PROCESSING answer, the settlement,
  the notification's).

Goal: every one of the N refunds ``refunded`` within 10 s of the request, and ``double_refunds == 0``.
"""
from __future__ import annotations

import datetime as dt
import os
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import httpx
from sqlalchemy import func, select

from benchmarks import profiling
from benchmarks.booking_throughput import raw_commit_rate
from benchmarks.harness import API, Server, latency_figures, log, postgres_durability, running_server
from benchmarks.loadgen import process_tree_cpu_s
from benchmarks.prep import SH, Booker, add_slots, auth, check, cloned_bookers, staff_login
from benchmarks.ws_setup import DOCTOR_USERNAME, demo_doctor

GOAL_S = 10.0
DEFAULT_SLOTS = 1000
QUICK_SLOTS = 30
FIRST_DAY = 8  # days from today: after the week of slots demo-data makes
NOTIFY_DUPLICATES = int(os.environ.get("CLINIC_BENCH_NOTIFY_DUPLICATES", "1"))  # 1: the server's default
SETUP_THREADS = 8
WAIT_S = 180.0  # give up on the storm after this long (the goal is 10 s)
PROFILE_S = 20  # --profile: py-spy samples the server this long from the request on


def _book_and_pay(server: Server, pairs: list[tuple[Booker, int]], version: int) -> list[int]:
    """Each holder books their slot and pays through the API; returns the appointment ids."""

    def one(pair: tuple[Booker, int]) -> int:
        b, slot_id = pair
        h = auth(b.token)
        with server.client() as api:
            appt = check(api.post(f"{API}/appointments", headers=h,
                                  json={"patient_id": b.patient_id, "slot_id": slot_id, "notice_version": version}),
                         201)["id"]
            prepay = check(api.post(f"{API}/appointments/{appt}/payment", headers=h), 201)["prepay_id"]
            check(api.post(f"{API}/sandbox/pay/{prepay}/confirm", params={"duplicates": 1, "delay_ms": 0}), 200)
            return int(appt)

    with ThreadPoolExecutor(max_workers=SETUP_THREADS) as pool:
        return list(pool.map(one, pairs))


def _wait_paid(server: Server, appointment_ids: list[int], *, timeout_s: float = 120) -> None:
    from server.appointments.models import Appointment
    from server.payments.models import Payment

    deadline = time.monotonic() + timeout_s
    while True:
        with server.engine.connect() as c:
            booked = c.execute(select(func.count()).select_from(Appointment).where(
                Appointment.id.in_(appointment_ids), Appointment.status == "booked",
                Appointment.payment_id.is_not(None))).scalar_one()
            paid = c.execute(select(func.count()).select_from(Payment).where(
                Payment.appointment_id.in_(appointment_ids), Payment.status == "paid")).scalar_one()
        if booked == paid == len(appointment_ids):
            return
        if time.monotonic() > deadline:
            raise RuntimeError(f"set-up: {booked} booked and {paid} paid of {len(appointment_ids)} appointments")
        time.sleep(0.2)


def _refund_counts(server: Server) -> Counter[str]:
    from server.refunds.models import Refund

    with server.engine.connect() as c:
        rows = c.execute(select(Refund.status, func.count()).where(Refund.path == "clinic_stop")
                         .group_by(Refund.status)).all()
    return Counter({s: n for s, n in rows})


def _double_refunds(server: Server, appointment_ids: list[int]) -> dict[str, int]:
    """Payments refunded more than once or beyond what was paid, on our side and on the gateway's."""
    from server.payments.models import Payment
    from server.refunds.models import Refund, SandboxRefund

    with server.engine.connect() as c:
        over = c.execute(select(func.count()).select_from(Payment).where(
            Payment.appointment_id.in_(appointment_ids), Payment.refunded_fen > Payment.amount_fen)).scalar_one()
        twice = select(Refund.payment_id).where(Refund.status == "refunded").group_by(Refund.payment_id) \
            .having(func.count() > 1).subquery()
        twice_n = c.execute(select(func.count()).select_from(twice)).scalar_one()
        gw = select(SandboxRefund.out_trade_no).where(SandboxRefund.status == "SUCCESS") \
            .group_by(SandboxRefund.out_trade_no) \
            .having((func.count() > 1) | (func.sum(SandboxRefund.amount_refund) > func.max(SandboxRefund.amount_total))) \
            .subquery()
        gw_n = c.execute(select(func.count()).select_from(gw)).scalar_one()
        sums = c.execute(select(func.coalesce(func.sum(Payment.refunded_fen), 0),
                                func.coalesce(func.sum(Payment.amount_fen), 0))
                         .where(Payment.appointment_id.in_(appointment_ids))).one()
    return {"over_refunded_payments": int(over), "payments_with_two_refunded": int(twice_n),
            "gateway_orders_refunded_twice": int(gw_n), "refunded_fen": int(sums[0]), "paid_fen": int(sums[1])}


def _notifications(server: Server) -> dict:
    from server.payments.models import GatewayNotification

    with server.engine.connect() as c:
        rows = c.execute(select(GatewayNotification.outcome, func.count(), func.sum(GatewayNotification.deliveries))
                         .where(GatewayNotification.event_type.like("REFUND.%"))
                         .group_by(GatewayNotification.outcome)).all()
    outcomes = {o: int(n) for o, n, _ in rows}
    received = sum(n for o, n, _ in rows if not o.startswith("refused"))
    deliveries = sum(int(d or 0) for o, _, d in rows if not o.startswith("refused"))
    return {"notifications_received": received, "notification_deliveries": deliveries,
            "notification_duplicates": deliveries - received,
            "notifications_refused": sum(n for o, n, _ in rows if o.startswith("refused")),
            "notification_outcomes": outcomes}


def _refund_times(server: Server, t0_wall: float) -> tuple[list[float], list[float]]:
    """Seconds from the request's start to each refund's submission and to its ``refunded``."""
    from server.refunds.models import Refund

    with server.engine.connect() as c:
        rows = c.execute(select(Refund.submitted_at, Refund.updated_at, Refund.status)
                         .where(Refund.path == "clinic_stop")).all()
    submitted, refunded = [], []
    for sub, upd, status in rows:
        if sub is not None:
            submitted.append(_aware(sub).timestamp() - t0_wall)
        if status == "refunded":
            refunded.append(_aware(upd).timestamp() - t0_wall)
    return submitted, refunded


def _aware(t: dt.datetime) -> dt.datetime:
    return t if t.tzinfo is not None else t.replace(tzinfo=dt.UTC)  # SQLite hands back the stored UTC, naive


@dataclass(frozen=True)
class Prepared:
    """N paid appointments of doctor1 and the period that covers them."""

    appointment_ids: list[int]
    starts_at: dt.datetime
    ends_at: dt.datetime


def prepare(server: Server, *, slots: int) -> Prepared:
    doctor_id, dept_code = demo_doctor(server)
    t_setup = time.monotonic()
    bookers, version = cloned_bookers(server, slots, department_codes=[dept_code])
    slot_rows = add_slots(server, count=slots, capacity=1, doctor_ids=[doctor_id], first_day=FIRST_DAY)
    appointment_ids = _book_and_pay(server, list(zip(bookers, [s for s, _ in slot_rows])), version)
    _wait_paid(server, appointment_ids)
    days = -(-slots // 96)
    start = dt.datetime.combine((dt.datetime.now(SH) + dt.timedelta(days=FIRST_DAY)).date(), dt.time(0), SH)
    end = start + dt.timedelta(days=days + 1)
    log(f"{slots} appointments booked and paid in {time.monotonic() - t_setup:.1f} s; the stop covers "
        f"{start:%Y-%m-%d} to {end:%Y-%m-%d}")
    return Prepared(appointment_ids, start, end)


def storm(server: Server, prepared: Prepared) -> dict:
    slots = len(prepared.appointment_ids)
    start, end, appointment_ids = prepared.starts_at, prepared.ends_at, prepared.appointment_ids
    label = f"refund_storm-{server.dialect}-{slots}"
    with httpx.Client(base_url=server.base_url, timeout=WAIT_S) as api:
        headers = staff_login(api, DOCTOR_USERNAME)
        body = {"starts_at": start.isoformat(), "ends_at": end.isoformat(), "reason": "临时外出会诊"}
        api.get("/healthz")
        prof = profiling.start(server.process.pid, duration_s=PROFILE_S, label=label)
        cpu0 = process_tree_cpu_s(server.process.pid)
        t0_wall = time.time()
        t0 = time.perf_counter()
        r = api.post(f"{API}/staff/clinic-stops", headers=headers, json=body)
        declare_s = time.perf_counter() - t0
        stop = check(r, 201)
    log(f"clinic stop answered in {declare_s * 1000:.0f} ms: {stop['cancelled_appointments']} cancelled")

    seen_all = None
    counts: Counter[str] = Counter()
    while time.perf_counter() - t0 < WAIT_S:
        counts = _refund_counts(server)
        if counts["refunded"] >= slots or (sum(counts.values()) >= slots and counts["processing"] == 0):
            seen_all = time.perf_counter() - t0
            break
        time.sleep(0.02)
    cpu_s = process_tree_cpu_s(server.process.pid) - cpu0
    window_s = time.perf_counter() - t0
    log(f"refunds after {window_s:.1f} s: {dict(counts)}; server CPU {cpu_s:.1f} s")
    profiling.finish(prof, label=label)
    time.sleep(1.0)  # let late duplicate notifications arrive before they are counted
    counts = _refund_counts(server)
    submitted, refunded = _refund_times(server, t0_wall)
    all_refunded = max(refunded) if len(refunded) >= slots else None
    doubles = _double_refunds(server, appointment_ids)
    double_n = doubles["over_refunded_payments"] + doubles["payments_with_two_refunded"] + \
        doubles["gateway_orders_refunded_twice"]
    return {
        "slots": slots,
        "cancelled_appointments": stop["cancelled_appointments"],
        "declare_ms": round(declare_s * 1000, 1),
        "all_submitted_s": round(max(submitted), 3) if submitted else None,
        "all_refunded_s": round(all_refunded, 3) if all_refunded is not None else None,
        "seen_all_refunded_s": round(seen_all, 3) if seen_all is not None else None,
        "refunds_per_s": round(len(refunded) / all_refunded, 1) if all_refunded else None,
        **latency_figures(refunded, prefix="refunded_"),
        "server_cpu_s": round(cpu_s, 2),
        "server_cpu_ms_per_refund": round(cpu_s * 1000 / slots, 2),
        "server_cores_busy": round(cpu_s / window_s, 2),
        "refunds_count": sum(counts.values()),
        "refunded": counts["refunded"],
        "refund_statuses": dict(counts),
        "double_refunds": double_n,
        "double_refund_checks": doubles,
        **_notifications(server),
        # every cancellation, refund request and refund is audited: the hash chain still verifies
        "audit_chain_intact": server.cli("audit-verify", check=False).returncode == 0,
    }


def run(*, database: str = "sqlite", quick: bool = False, slots: int | None = None) -> dict:
    slots = slots or (QUICK_SLOTS if quick else DEFAULT_SLOTS)
    workers = 2 if database == "postgresql" else 1
    env = {"CLINIC_SANDBOX_NOTIFY_DUPLICATES": str(NOTIFY_DUPLICATES)}
    with running_server(database, workers=workers, extra_env=env) as server:
        figures = storm(server, prepare(server, slots=slots))
        raw = raw_commit_rate(server, threads=1, duration_s=1.0 if quick else 3.0)
        log(f"raw commits: {raw:.0f}/s")
        if server.dialect == "postgresql":
            figures["postgres_settings"] = postgres_durability(server.engine)
    raw_n_s = slots / raw if raw else None
    met = (figures["refunded"] == slots and figures["all_refunded_s"] is not None
           and figures["all_refunded_s"] <= GOAL_S and figures["double_refunds"] == 0
           and figures["audit_chain_intact"])
    return {
        "database": database,
        "server_workers": workers,
        "notify_duplicates": NOTIFY_DUPLICATES,
        **figures,
        "raw_commits_per_s": round(raw, 1),
        "raw_n_commits_s": round(raw_n_s, 3) if raw_n_s else None,
        "ratio_to_raw": round(figures["all_refunded_s"] / raw_n_s, 2)
        if raw_n_s and figures["all_refunded_s"] else None,
        "goal": f"a clinic stop over {slots} booked and paid slots: every refund refunded within {GOAL_S:g} s of "
                f"the request, none twice",
        "goal_met": met,
    }
