"""DOMAIN.md's invariants under simultaneous requests, beyond the booking race, duplicate notifications and
registrations covered elsewhere: one check-in, one description, one patient per ID number, and a payment that
lands just as its hold expires never leaves a slot counted twice.
"""
from __future__ import annotations

import datetime as dt
import io
import random
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from PIL import Image
from sqlalchemy import text
from sqlalchemy.engine import Engine
from stdnum.cn.ric import calc_check_digit

import server.models  # noqa: F401  (every table, so foreign keys resolve in this process)
from tests.booking_helpers import (
    accept_notice,
    book,
    db_account,
    db_staff,
    eligible_patient,
    future_start,
    make_doctor,
    make_schedule,
    mark_paid,
    now,
    set_appointment,
    soon_start,
    wait_for,
)
from tests.conftest import LiveServer
from tests.helpers import last_sms_code, register_account

V1 = "/api/v1"
RELEASED = ("expired", "cancelled", "cancelled_by_hospital")


def race(live_server: LiveServer, n: int, request: Callable[[httpx.Client, int], httpx.Response]
         ) -> list[httpx.Response]:
    """``n`` requests let go at the same moment, each on its own connection."""
    barrier = threading.Barrier(n)
    out: list[httpx.Response | BaseException] = [RuntimeError("not run")] * n

    def run(i: int) -> None:
        with live_server.client() as c:
            barrier.wait(timeout=30)
            try:
                out[i] = request(c, i)
            except BaseException as exc:  # noqa: BLE001 - reported below
                out[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    errors = [r for r in out if isinstance(r, BaseException)]
    assert not errors, errors
    return out  # type: ignore[return-value]


def rows(engine: Engine, sql: str, **params: Any) -> list[dict[str, Any]]:
    with engine.connect() as c:
        return [dict(r) for r in c.execute(text(sql), params).mappings()]


def slot_consistent(engine: Engine, slot_id: int) -> tuple[int, int]:
    """(slots.booked, appointments holding the slot): the two must always agree."""
    booked = rows(engine, "SELECT booked FROM slots WHERE id = :s", s=slot_id)[0]["booked"]
    holding = rows(engine, "SELECT count(*) AS n FROM appointments WHERE slot_id = :s AND status NOT IN "
                           "('expired', 'cancelled', 'cancelled_by_hospital')", s=slot_id)[0]["n"]
    return booked, holding


@pytest.fixture(scope="module")
def admin(db_engine: Engine) -> dict[str, str]:
    return db_staff(db_engine, role="admin")


@pytest.fixture()
def api(live_server: LiveServer) -> Iterator[httpx.Client]:
    ip = f"10.{random.randint(0, 255)}.{random.randint(0, 255)}.{random.randint(1, 254)}"
    with live_server.client(headers={"X-Forwarded-For": ip}) as client:
        yield client


def booked_today(api: httpx.Client, db_engine: Engine, admin: dict[str, str]) -> tuple[dict[str, Any], int]:
    """A paid appointment starting in a few minutes (its check-in window is open)."""
    doc = make_doctor(api, admin, department_code="neurology")
    schedule = make_schedule(api, admin, doctor_id=doc["id"], start=soon_start(lead_minutes=5), minutes=15,
                             slot_minutes=15, capacity=1)
    holder = db_account(db_engine)
    version = accept_notice(api, holder["headers"])
    patient = eligible_patient(db_engine, holder["account_id"], department_code="neurology")
    r = book(api, holder["headers"], patient_id=patient, slot_id=schedule["slots"][0]["id"], notice_version=version)
    assert r.status_code == 201, r.text
    mark_paid(db_engine, r.json()["id"])
    return holder, r.json()["id"]


def test_concurrent_check_ins_one_wins(live_server: LiveServer, api: httpx.Client, db_engine: Engine,
                                       admin: dict[str, str]) -> None:
    holder, appt = booked_today(api, db_engine, admin)
    answers = race(live_server, 8, lambda c, _i: c.post(f"{V1}/appointments/{appt}/check-in",
                                                        headers=holder["headers"]))
    assert Counter(r.status_code for r in answers) == {200: 1, 409: 7}, [r.text for r in answers]
    assert {r.json()["code"] for r in answers if r.status_code == 409} == {"invalid_state"}
    assert rows(db_engine, "SELECT status FROM appointments WHERE id = :a", a=appt)[0]["status"] == "checked_in"
    events = rows(db_engine, "SELECT id FROM events WHERE object_type = 'appointment' AND object_id = :a "
                             "AND kind = 'appointment.checked_in'", a=appt)
    assert len(events) == 1


def test_concurrent_descriptions_one_wins(live_server: LiveServer, api: httpx.Client, db_engine: Engine,
                                          admin: dict[str, str]) -> None:
    holder, appt = booked_today(api, db_engine, admin)
    assert api.post(f"{V1}/appointments/{appt}/check-in", headers=holder["headers"]).status_code == 200
    answers = race(live_server, 8, lambda c, i: c.post(f"{V1}/appointments/{appt}/description",
                                                       headers=holder["headers"],
                                                       json={"text": f"第{i}份病情描述", "file_ids": []}))
    assert Counter(r.status_code for r in answers) == {200: 1, 409: 7}, [r.text for r in answers]
    winner = next(r.json() for r in answers if r.status_code == 200)
    stored = rows(db_engine, "SELECT text FROM condition_descriptions WHERE appointment_id = :a", a=appt)
    assert [d["text"] for d in stored] == [winner["description"]["text"]]
    assert rows(db_engine, "SELECT status FROM appointments WHERE id = :a", a=appt)[0]["status"] == "waiting"
    assert len(rows(db_engine, "SELECT id FROM events WHERE object_type = 'appointment' AND object_id = :a "
                               "AND kind = 'appointment.waiting'", a=appt)) == 1


def _photo(colour: tuple[int, int, int]) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (32, 20), colour).save(buf, format="JPEG")
    return buf.getvalue()


def test_one_patient_per_id_number_under_concurrent_adds(live_server: LiveServer, api: httpx.Client,
                                                         db_engine: Engine) -> None:
    who = register_account(api)
    photos = []
    for colour in ((200, 30, 30), (30, 200, 30)):
        r = api.post(f"{V1}/files", headers=who["headers"], data={"purpose": "id_photo"},
                     files={"file": ("id.jpg", _photo(colour), "image/jpeg")})
        assert r.status_code == 201, r.text
        photos.append(r.json()["id"])
    assert api.post(f"{V1}/me/sms/codes", json={"purpose": "add_patient"}, headers=who["headers"]).status_code == 202
    body_digits = "110101" + "19750601" + "12" + "3"
    body = {"kind": "first_visit", "name": "并发添加", "sex": "male", "nationality": "中国", "ethnicity": "汉族",
            "id_type": "resident_id", "id_number": body_digits + calc_check_digit(body_digits + "0"),
            "id_front_file_id": photos[0], "id_back_file_id": photos[1], "relation": "self",
            "code": last_sms_code(api, who["mobile"])}
    answers = race(live_server, 6, lambda c, _i: c.post(f"{V1}/patients", headers=who["headers"], json=body))
    statuses = Counter(r.status_code for r in answers)
    assert statuses[201] == 1, [r.text for r in answers]
    # the others see the first one's patient (the duplicate check precedes the code, which is spent anyway)
    assert {r.json()["code"] for r in answers if r.status_code != 201} == {"patient_exists"}, \
        [r.text for r in answers]
    assert len(api.get(f"{V1}/patients", headers=who["headers"]).json()) == 1
    assert rows(db_engine, "SELECT count(*) AS n FROM patients WHERE account_id = :a",
                a=who["account"]["id"])[0]["n"] == 1


def test_a_patient_removed_while_being_booked_is_never_left_with_an_open_appointment(
        live_server: LiveServer, api: httpx.Client, db_engine: Engine, admin: dict[str, str]) -> None:
    doc = make_doctor(api, admin, department_code="neurology")
    schedule = make_schedule(api, admin, doctor_id=doc["id"], start=future_start(days=3, hour=8), minutes=300,
                             slot_minutes=15, capacity=1)
    outcomes: Counter = Counter()
    for slot in schedule["slots"][:12]:
        holder = db_account(db_engine)
        version = accept_notice(api, holder["headers"])
        patient = eligible_patient(db_engine, holder["account_id"], department_code="neurology")

        def request(c: httpx.Client, i: int, holder: dict = holder, patient: int = patient,
                    slot_id: int = slot["id"], version: int = version) -> httpx.Response:
            if i == 0:
                return book(c, holder["headers"], patient_id=patient, slot_id=slot_id, notice_version=version)
            return c.delete(f"{V1}/patients/{patient}", headers=holder["headers"])

        booked, removed = race(live_server, 2, request)
        assert booked.status_code in (201, 404) and removed.status_code in (204, 409), (booked.text, removed.text)
        outcomes[(booked.status_code, removed.status_code)] += 1
        left = rows(db_engine, "SELECT p.removed_at, count(a.id) AS open FROM patients p LEFT JOIN appointments a "
                               "ON a.patient_id = p.id AND a.status = 'pending_payment' WHERE p.id = :p "
                               "GROUP BY p.removed_at", p=patient)[0]
        assert not (left["removed_at"] is not None and left["open"] > 0), (outcomes, booked.text, removed.text)
    # each round is one of: booked then removal refused, or removed then booking refused
    assert set(outcomes) <= {(201, 409), (404, 204)}, outcomes


def test_payment_landing_as_the_hold_expires_never_counts_a_slot_twice(live_server: LiveServer, api: httpx.Client,
                                                                       db_engine: Engine, admin: dict[str, str]
                                                                       ) -> None:
    """Each slot has one place. Holder X's hold is set to run out around the moment X's money reaches the gateway
    (the scheduler expires holds every half second), while holder Y keeps trying to book the same place. However
    the race goes: the slot counts exactly the appointments holding it, X and Y never both have it, and money
    that found no place is marked to be refunded (orphaned) rather than lost."""
    doc = make_doctor(api, admin, department_code="endocrinology")
    offsets = [-0.6, -0.3, -0.1, 0.0, 0.1, 0.2, 0.4, 0.7]   # seconds from "now" to the end of X's hold
    schedule = make_schedule(api, admin, doctor_id=doc["id"], start=future_start(days=2, hour=8),
                             minutes=15 * len(offsets), slot_minutes=15, capacity=1)
    slots = [s["id"] for s in schedule["slots"]]
    assert len(slots) == len(offsets)
    xs, ys = [], []
    for slot in slots:
        x, y = db_account(db_engine), db_account(db_engine)
        for h in (x, y):
            h["notice"] = accept_notice(api, h["headers"])
            h["patient"] = eligible_patient(db_engine, h["account_id"], department_code="endocrinology")
        r = book(api, x["headers"], patient_id=x["patient"], slot_id=slot, notice_version=x["notice"])
        assert r.status_code == 201, r.text
        x["appointment"] = r.json()["id"]
        r = api.post(f"{V1}/appointments/{x['appointment']}/payment", headers=x["headers"])
        assert r.status_code == 201, r.text
        x["payment"] = r.json()
        xs.append(x)
        ys.append(y)

    def play(c: httpx.Client, i: int) -> httpx.Response:
        slot_i, role = divmod(i, 2)
        x, y = xs[slot_i], ys[slot_i]
        if role == 0:
            # the gateway takes X's money at once; its notification follows 0–300 ms later
            return c.post(f"{V1}/sandbox/pay/{x['payment']['prepay_id']}/confirm",
                          params={"delay_ms": random.choice([0, 100, 300])})
        deadline = time.monotonic() + 2.5
        while True:
            r = book(c, y["headers"], patient_id=y["patient"], slot_id=slots[slot_i], notice_version=y["notice"])
            if r.status_code == 201 or time.monotonic() > deadline:
                return r
            assert r.status_code == 409 and r.json()["code"] == "slot_full", r.text

    # X's holds run out around now (the scheduler may expire them before or after the money arrives)
    t0 = now()
    for x, off in zip(xs, offsets, strict=True):
        set_appointment(db_engine, x["appointment"], hold_expires_at=t0 + dt.timedelta(seconds=off))
    answers = race(live_server, 2 * len(slots), play)

    def settled() -> bool:
        for i, x in enumerate(xs):
            pay = rows(db_engine, "SELECT status FROM payments WHERE out_trade_no = :n",
                       n=x["payment"]["out_trade_no"])[0]
            appt = rows(db_engine, "SELECT status FROM appointments WHERE id = :a", a=x["appointment"])[0]
            money_taken = answers[2 * i].status_code == 200
            if (money_taken and pay["status"] == "created") or appt["status"] == "pending_payment":
                return False
        return True

    wait_for(settled, what="every payment to be applied or refused and every hold to end", deadline_s=20)
    outcomes: Counter[tuple[str, str]] = Counter()
    for i, (x, slot) in enumerate(zip(xs, slots, strict=True)):
        confirm, y_answer = answers[2 * i], answers[2 * i + 1]
        booked, holding = slot_consistent(db_engine, slot)
        assert booked == holding <= 1, f"slot {slot}: booked={booked}, appointments holding it={holding}"
        x_status = rows(db_engine, "SELECT status FROM appointments WHERE id = :a", a=x["appointment"])[0]["status"]
        payment = rows(db_engine, "SELECT id, status, orphan_reason FROM payments WHERE out_trade_no = :n",
                       n=x["payment"]["out_trade_no"])[0]
        refunds = rows(db_engine, "SELECT path FROM refunds WHERE payment_id = :p", p=payment["id"])
        y_won = y_answer.status_code == 201
        assert not (y_won and x_status == "booked"), f"slot {slot} went to both X and Y"
        if confirm.status_code == 200 and x_status != "booked":
            # X paid but holds no place: the money is marked for refunding (and the scheduler's
            # refund_unservable may have refunded it already, which clears the mark)
            assert payment["status"] == "paid", (x_status, payment)
            assert payment["orphan_reason"] or [r["path"] for r in refunds] == ["slot_unavailable"], (
                x_status, payment, refunds)
        if x_status == "booked":
            assert payment["status"] == "paid" and not payment["orphan_reason"] and not refunds, payment
            assert holding == 1
        outcomes[(x_status, "Y booked" if y_won else "Y refused")] += 1
    print(dict(outcomes))


def test_no_payment_waits_for_a_row_while_holding_the_audit_chain(live_server: LiveServer, api: httpx.Client,
                                                                  db_engine: Engine, admin: dict[str, str]
                                                                  ) -> None:
    """Every writer takes the audit chain's lock (PostgreSQL advisory lock) at its first recorded change and holds
    it to the commit. A writer that then waits for a row someone else holds, while that someone waits for the
    chain, deadlocks: a booking holds its slot and waits for the chain. So a payment that revives an expired
    appointment must take the slot before it records anything. Deterministic: the test holds the slot row itself
    and looks at who waits for it, with which locks."""
    if db_engine.dialect.name != "postgresql":
        pytest.skip("the audit chain's lock is PostgreSQL's (SQLite writers are serial)")
    from server.audit.service import CHAIN_LOCK_KEY

    doc = make_doctor(api, admin, department_code="bone_tumor")
    schedule = make_schedule(api, admin, doctor_id=doc["id"], start=future_start(days=2, hour=15), minutes=15,
                             slot_minutes=15, capacity=1)
    slot = schedule["slots"][0]["id"]
    x = db_account(db_engine)
    notice = accept_notice(api, x["headers"])
    patient = eligible_patient(db_engine, x["account_id"], department_code="bone_tumor")
    r = book(api, x["headers"], patient_id=patient, slot_id=slot, notice_version=notice)
    assert r.status_code == 201, r.text
    appt = r.json()["id"]
    r = api.post(f"{V1}/appointments/{appt}/payment", headers=x["headers"])
    assert r.status_code == 201, r.text
    prepay = r.json()
    # the hold runs out and the scheduler gives the place back
    set_appointment(db_engine, appt, hold_expires_at=now() - dt.timedelta(seconds=1))
    wait_for(lambda: rows(db_engine, "SELECT status FROM appointments WHERE id = :a", a=appt)[0]["status"]
             == "expired", what="the hold to expire")

    with db_engine.connect() as holder:
        holder.execute(text("SELECT id FROM slots WHERE id = :s FOR UPDATE"), {"s": slot})
        me = holder.execute(text("SELECT pg_backend_pid()")).scalar_one()
        # the money arrives: its notification revives the appointment, which needs the slot we hold
        r = api.post(f"{V1}/sandbox/pay/{prepay['prepay_id']}/confirm", params={"delay_ms": 0, "duplicates": 1})
        assert r.status_code == 200, r.text
        with db_engine.connect() as look:
            def waiters() -> list[int]:
                return list(look.execute(text("SELECT pid FROM pg_stat_activity WHERE :me = ANY("
                                              "pg_blocking_pids(pid))"), {"me": me}).scalars())

            blocked = wait_for(waiters, what="the notification to reach the slot")
            chain_holders = look.execute(text(
                "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted AND objid = :k "
                "AND pid = ANY(:pids)"), {"k": CHAIN_LOCK_KEY, "pids": blocked}).scalars().all()
        holder.rollback()
    assert not chain_holders, "a transaction waits for the slot row while holding the audit chain's lock"
    wait_for(lambda: rows(db_engine, "SELECT status FROM appointments WHERE id = :a", a=appt)[0]["status"]
             == "booked", what="the paid appointment to take its place again")
    assert slot_consistent(db_engine, slot) == (1, 1)
