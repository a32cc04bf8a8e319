"""The clerk's window: the order search by every key (masked, no clinical text, the actions it offers, a
handful of queries per page), the drug-fee refund (happy path, each refusal changing nothing, the pharmacist
unable to dispense afterwards, an idempotent replay) and the day's reconciliation adding up."""
from __future__ import annotations

import datetime as dt
import random
import secrets
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy import event, text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from tests.booking_helpers import (
    V1,
    accept_notice,
    admin_headers,
    book,
    db_account,
    db_patient,
    db_staff,
    db_visit,
    future_start,
    id_digest,
    make_doctor,
    make_schedule,
    new_card,
    now,
    set_appointment,
    sms_to,
    wait_for,
)
from tests.conftest import LiveServer
from tests.refund_desk_helpers import (
    db_prescription,
    paid_booking,
    pay_prescription,
    plan_refunds,
    refunds_of_order,
    rows,
    settle,
    wait_refund_status,
)
from tests.workstation_helpers import ABSENT, new_key

CLINICAL = ("临床", "糖尿病", "勿外泄", "血糖")


def chinese_name() -> str:
    return "闻" + "".join(chr(random.randint(0x4E00, 0x9FA5)) for _ in range(2))


def resident_number() -> str:
    return "110101" + f"{random.randint(1950, 2005)}0{random.randint(1, 9)}1{random.randint(0, 9)}" + \
        f"{random.randint(0, 999):03d}" + random.choice("0123456789X")


@pytest.fixture(scope="module")
def admin(live_server: LiveServer, db_engine: Engine) -> dict[str, str]:
    with live_server.client() as api:
        return admin_headers(api, db_engine)


@pytest.fixture(scope="module")
def clerk(live_server: LiveServer, db_engine: Engine) -> dict[str, Any]:
    headers = db_staff(db_engine, role="clerk")
    with live_server.client() as api:
        me = api.get(f"{V1}/staff/me", headers=headers).json()
    return {"headers": headers, "id": me["id"], "name": me["name"]}


@pytest.fixture(scope="module")
def pharm(db_engine: Engine) -> dict[str, str]:
    return db_staff(db_engine, role="pharmacist")


@pytest.fixture(scope="module")
def slots(live_server: LiveServer, admin: dict[str, str]) -> Iterator[list[int]]:
    with live_server.client() as api:
        doc = make_doctor(api, admin, fee_fen=3300, name="收费医生")
        made = []
        for day in (3, 4):
            made += [s["id"] for s in make_schedule(api, admin, doctor_id=doc["id"], start=future_start(days=day,
                                                                                                  hour=8),
                                                    minutes=120, slot_minutes=30, capacity=4)["slots"]]
        yield made


def person(api: httpx.Client, db_engine: Engine, live_server: LiveServer) -> dict[str, Any]:
    """An account holder with a patient whose ID number the server can digest, eligible for endocrinology."""
    acc = db_account(db_engine)
    acc["notice"] = accept_notice(api, acc["headers"])
    acc["name"], acc["id_number"], card = chinese_name(), resident_number(), new_card()
    db_visit(db_engine, department_code="endocrinology", days_ago=20, name=acc["name"], card_no=card)
    acc["patient_id"] = db_patient(db_engine, acc["account_id"], name=acc["name"], card_no=card,
                                   digest=id_digest(live_server, acc["id_number"]))
    return acc


@pytest.fixture(scope="module")
def world(live_server: LiveServer, db_engine: Engine, slots: list[int]) -> dict[str, Any]:
    """One patient: a paid visit (with clinical notes), a paid prescription of it, an unpaid one, and an unpaid
    booking on another day."""
    with live_server.client() as api:
        acc = person(api, db_engine, live_server)
        visit = paid_booking(api, acc, slots[0])
        set_appointment(db_engine, visit["id"], notes="临床备注：血糖控制差", diagnosis_name="2型糖尿病")
        rx = db_prescription(db_engine, visit["id"], amount_fen=2480)
        drug = pay_prescription(api, acc, rx)
        unpaid_rx = db_prescription(db_engine, visit["id"], amount_fen=990)
        r = book(api, acc["headers"], patient_id=acc["patient_id"], slot_id=slots[5], notice_version=acc["notice"])
        assert r.status_code == 201, r.text
        return {"acc": acc, "visit": visit, "rx": rx, "drug_no": drug["out_trade_no"], "unpaid_rx": unpaid_rx,
                "pending": r.json()["id"]}


def search(api: httpx.Client, headers: dict[str, str], q: str, **params: Any) -> httpx.Response:
    return api.get(f"{V1}/staff/orders", headers=headers, params={"q": q, **params})


def keys(found: list[dict[str, Any]]) -> list[tuple[str, int]]:
    return [(r["kind"], r["prescription_id"] or r["appointment_id"]) for r in found]


# --- search ---------------------------------------------------------------------------------------------------

def test_every_search_key_finds_the_orders(api: httpx.Client, world: dict[str, Any],
                                           clerk: dict[str, Any]) -> None:
    acc, visit, rx = world["acc"], world["visit"], world["rx"]
    everything = [("consultation", world["pending"]), ("drug", rx), ("consultation", visit["id"])]
    h = clerk["headers"]
    for q in (acc["mobile"], acc["id_number"], acc["id_number"].lower(), f"  {acc['mobile']} ", acc["name"][1:]):
        r = search(api, h, q)
        assert r.status_code == 200, r.text
        assert sorted(keys(r.json())) == sorted(everything), q
    # newest first: the visit, its prescription (written later), then the booking on the next day (made last)
    assert keys(search(api, h, acc["mobile"]).json()) == everything
    assert keys(search(api, h, visit["out_trade_no"]).json()) == [("consultation", visit["id"])]
    assert keys(search(api, h, world["drug_no"]).json()) == [("drug", rx)]
    number = api.get(f"{V1}/appointments/{visit['id']}", headers=acc["headers"]).json()["number"]
    assert sorted(keys(search(api, h, number).json())) == sorted([("drug", rx), ("consultation", visit["id"])])
    assert keys(search(api, h, acc["mobile"], limit=2).json()) == everything[:2]
    assert search(api, h, "13000000000").json() == []
    assert search(api, h, "P20990101000000abcdef").json() == []  # no such order, and no such name
    for q in ("", "   "):
        r = search(api, h, q)
        assert r.status_code == 422 and r.json()["code"] == "query_too_short", r.text
    assert search(api, h, "x" * 65).status_code == 422
    assert search(api, h, "a\x00b").status_code == 422


def test_rows_are_masked_carry_no_clinical_text_and_offer_the_right_actions(
        api: httpx.Client, world: dict[str, Any], clerk: dict[str, Any]) -> None:
    acc, visit, rx = world["acc"], world["visit"], world["rx"]
    r = search(api, clerk["headers"], acc["mobile"])
    assert r.status_code == 200, r.text
    assert acc["mobile"] not in r.text and acc["id_number"] not in r.text
    for word in CLINICAL:
        assert word not in r.text, word
    by_key = {(row["kind"], row["prescription_id"] or row["appointment_id"]): row for row in r.json()}
    paid = by_key[("consultation", visit["id"])]
    assert paid["mobile_masked"] == acc["mobile"][:3] + "****" + acc["mobile"][-4:]
    assert paid["id_number_masked"] == "1101**********123X" and paid["patient_name"] == acc["name"]
    assert (paid["doctor_name"], paid["department_name"]) == ("收费医生", "内分泌科")
    assert (paid["payment_status"], paid["paid_fen"], paid["refunded_fen"], paid["refunding_fen"],
            paid["refundable_fen"]) == ("paid", 3300, 0, 0, 3300)
    assert paid["out_trade_no"] == visit["out_trade_no"] and paid["paid_at"]
    assert (paid["appointment_status"], paid["appointment_status_label"]) == ("booked", "已预约")
    assert paid["prescription_id"] is None and paid["prescription_status"] == ""
    assert paid["actions"] == ["window_refund"] and paid["refund_status"] is None and paid["refunds"] == []
    drug = by_key[("drug", rx)]
    assert (drug["appointment_id"], drug["appointment_number"]) == (visit["id"], paid["appointment_number"])
    assert (drug["prescription_status"], drug["prescription_status_label"]) == ("paid", "已支付")
    assert (drug["paid_fen"], drug["refundable_fen"], drug["actions"]) == (2480, 2480, ["drug_refund"])
    assert drug["out_trade_no"] == world["drug_no"]
    unpaid = by_key[("consultation", world["pending"])]
    assert (unpaid["appointment_status"], unpaid["paid_fen"], unpaid["paid_at"], unpaid["actions"]) == (
        "pending_payment", 0, None, [])
    assert ("drug", world["unpaid_rx"]) not in by_key
    for row in r.json():
        assert not {"notes", "diagnosis", "diagnosis_name", "description", "lines"} & row.keys()


def test_search_and_reconciliation_are_for_clerks(api: httpx.Client, db_engine: Engine, world: dict[str, Any],
                                                  admin: dict[str, str]) -> None:
    for path in ("/staff/orders?q=1", "/staff/reconciliation"):
        assert api.get(V1 + path).status_code == 401
        assert api.get(V1 + path, headers=world["acc"]["headers"]).status_code == 401
        for role in ("doctor", "pharmacist"):
            r = api.get(V1 + path, headers=db_staff(db_engine, role=role))
            assert r.status_code == 403 and r.json()["code"] == "role_forbidden", path
        assert api.get(V1 + path, headers=admin).status_code == 200


def test_a_page_of_search_results_takes_a_handful_of_queries(live_server: LiveServer, db_engine: Engine,
                                                             slots: list[int]) -> None:
    """No query per row: 2 rows and 18 rows cost the same number of queries."""
    from server.appointments.models import Appointment
    from server.config import Settings
    from server.db import Database
    from server.payments.models import Payment
    from server.refunds import search
    from server.refunds.models import Refund

    def account_with(visits: int) -> str:
        acc = db_account(db_engine)
        patients = [db_patient(db_engine, acc["account_id"], name=f"批量{i}") for i in range(visits)]
        slot = rows(db_engine, "SELECT s.doctor_id, d.department_id FROM slots s JOIN doctors d "
                               "ON d.id = s.doctor_id WHERE s.id = :i", i=slots[1])[0]
        t = now()
        with Session(db_engine) as s, s.begin():
            for patient in patients:
                appt = Appointment(number=f"A{secrets.token_hex(8)}", account_id=acc["account_id"],
                                   patient_id=patient, doctor_id=slot["doctor_id"],
                                   department_id=slot["department_id"], slot_id=slots[1], starts_at=t,
                                   ends_at=t + dt.timedelta(minutes=15), fee_fen=1000, status="booked",
                                   notice_version=1, paid_at=t)
                s.add(appt)
                s.flush()
                pay = Payment(out_trade_no="P" + secrets.token_hex(8), account_id=acc["account_id"],
                              purpose="consultation", appointment_id=appt.id, amount_fen=1000, status="paid",
                              expires_at=t, paid_at=t)
                s.add(pay)
                s.flush()
                appt.payment_id = pay.id
                s.add(Refund(out_refund_no="R" + secrets.token_hex(8), payment_id=pay.id,
                             account_id=acc["account_id"], appointment_id=appt.id, amount_fen=400, path="window",
                             reason="测试", status="processing", created_at=t, updated_at=t, reviewer_id=None))
        return acc["mobile"]

    small, large = account_with(1), account_with(9)
    db = Database(Settings(data_dir=live_server.data_dir, database_url=live_server.database_url,
                           encryption_key=live_server.env.get("CLINIC_ENCRYPTION_KEY", "")))
    statements: list[str] = []
    event.listen(db.engine, "before_cursor_execute", lambda *a: statements.append(a[2]))
    try:
        counts = []
        for mobile, expected in ((small, 1), (large, 9)):
            statements.clear()
            with db.session(write=False) as s:
                found = search.search(s, q=mobile, limit=20)
            assert len(found) == expected and all(len(r.refunds) == 1 for r in found)
            counts.append(len([q for q in statements if q.lstrip().upper().startswith("SELECT")]))
        assert counts[0] == counts[1] and counts[1] <= 16, counts
    finally:
        db.dispose()


# --- the drug-fee refund --------------------------------------------------------------------------------------

def refund_rx(api: httpx.Client, headers: dict[str, str], rx: int, reason: str = "患者不需要此药",
              key: str | None = None) -> httpx.Response:
    return api.post(f"{V1}/staff/prescriptions/{rx}/refund", headers={**headers, "Idempotency-Key": key or new_key()},
                    json={"reason": reason})


def rx_status(db_engine: Engine, rx: int) -> str:
    return rows(db_engine, "SELECT status FROM prescriptions WHERE id = :i", i=rx)[0]["status"]


def test_a_drug_fee_refund_and_the_pharmacist_cannot_dispense_after(
        api: httpx.Client, db_engine: Engine, live_server: LiveServer, slots: list[int], clerk: dict[str, Any],
        pharm: dict[str, str]) -> None:
    acc = person(api, db_engine, live_server)
    visit = paid_booking(api, acc, slots[2])
    rx = db_prescription(db_engine, visit["id"], amount_fen=3650, method="delivery")
    drug = pay_prescription(api, acc, rx)
    plan_refunds(api, drug["out_trade_no"], ["HOLD"])
    assert rx in [p["id"] for p in api.get(f"{V1}/staff/prescriptions", headers=pharm,
                                           params={"status": "paid", "limit": 200}).json()]
    # other roles may not
    for role in ("doctor", "pharmacist"):
        r = refund_rx(api, db_staff(db_engine, role=role), rx)
        assert r.status_code == 403 and r.json()["code"] == "role_forbidden"
    key = new_key()
    r = refund_rx(api, clerk["headers"], rx, reason="  患者改去线下药房购买  ", key=key)
    assert r.status_code == 201, r.text
    got = r.json()
    assert (got["path"], got["path_label"], got["status"], got["amount_fen"]) == ("drug", "药费退费", "processing",
                                                                                   3650)
    assert (got["reviewer_id"], got["reviewer_name"]) == (clerk["id"], clerk["name"])
    assert (got["prescription_id"], got["purpose"], got["paid_fen"], got["out_trade_no"]) == (
        rx, "drug", 3650, drug["out_trade_no"])
    assert got["appointment_number"] and got["patient_name"] == acc["name"] and "患者改去线下药房购买" in got["reason"]
    for word in CLINICAL:
        assert word not in r.text
    # the same key: the first answer again; another key: refused, it is refunded already
    again = refund_rx(api, clerk["headers"], rx, reason="  患者改去线下药房购买  ", key=key)
    assert again.status_code == 201 and again.json() == got and again.headers.get("Idempotent-Replayed") == "true"
    (told,) = sms_to(api, acc["mobile"], kind="drug_refund")  # once, the replay sent nothing
    assert "36.50元" in told["body"] and "不再发药" in told["body"]
    twice = refund_rx(api, clerk["headers"], rx)
    assert twice.status_code == 409 and twice.json()["code"] == "prescription_not_refundable"
    assert twice.json()["details"] == {"status": "refunded"}
    assert len(refunds_of_order(db_engine, drug["out_trade_no"])) == 1
    # the pharmacist: gone from 待发药, cannot ship it
    assert rx not in [p["id"] for p in api.get(f"{V1}/staff/prescriptions", headers=pharm,
                                               params={"status": "paid", "limit": 200}).json()]
    assert rx in [p["id"] for p in api.get(f"{V1}/staff/prescriptions", headers=pharm,
                                           params={"status": "refunded", "limit": 200}).json()]
    r = api.post(f"{V1}/staff/prescriptions/{rx}/dispense", headers=pharm)
    assert r.status_code == 409 and r.json()["code"] == "invalid_state" and "退费" in r.json()["message"]
    assert rx_status(db_engine, rx) == "refunded"
    # the patient: 已退费 prescription, 退费中 then 已退费 money
    mine = api.get(f"{V1}/prescriptions/{rx}", headers=acc["headers"]).json()
    assert (mine["status"], mine["refund_status"], mine["refund_status_label"]) == ("refunded", "refunding", "退费中")
    r = api.post(f"{V1}/prescriptions/{rx}/payment", headers=acc["headers"])
    assert r.status_code == 409
    held = wait_for(lambda: [x for x in refunds_of_order(db_engine, drug["out_trade_no"])
                             if x["gateway_status"] == "PROCESSING"], what="the gateway to accept")[0]
    settle(api, held["out_refund_no"])
    wait_refund_status(db_engine, drug["out_trade_no"], "refunded")
    listed = [p for p in api.get(f"{V1}/prescriptions", headers=acc["headers"]).json() if p["id"] == rx]
    assert (listed[0]["refund_status"], listed[0]["refund_status_label"]) == ("refunded", "已退费")
    # the window finds it by the refund number, with nothing left to do
    (row,) = search(api, clerk["headers"], got["out_refund_no"]).json()
    assert (row["kind"], row["prescription_id"], row["prescription_status_label"]) == ("drug", rx, "已退费")
    assert (row["refunded_fen"], row["refundable_fen"], row["actions"]) == (3650, 0, [])
    assert (row["refund_status"], [x["id"] for x in row["refunds"]]) == ("refunded", [got["id"]])
    # the visit's own fee is untouched
    (visit_row,) = search(api, clerk["headers"], visit["out_trade_no"]).json()
    assert visit_row["refunds"] == [] and visit_row["actions"] == ["window_refund"]


def test_drug_fee_refusals_change_nothing(api: httpx.Client, db_engine: Engine, live_server: LiveServer,
                                          slots: list[int], clerk: dict[str, Any], pharm: dict[str, str],
                                          world: dict[str, Any]) -> None:
    acc = person(api, db_engine, live_server)
    visit = paid_booking(api, acc, slots[3])
    dispensed, spent = (db_prescription(db_engine, visit["id"], amount_fen=a) for a in (1200, 1300))
    orders = {rx: pay_prescription(api, acc, rx)["out_trade_no"] for rx in (dispensed, spent)}
    assert api.post(f"{V1}/staff/prescriptions/{dispensed}/dispense", headers=pharm).status_code == 200
    with db_engine.begin() as c:  # the whole fee is spoken for already (as by a refund elsewhere)
        c.execute(text("UPDATE payments SET refunded_fen = amount_fen WHERE out_trade_no = :n"), {"n": orders[spent]})
    sms_before = sms_to(api, acc["mobile"])
    h = clerk["headers"]
    cases = [
        (refund_rx(api, h, spent, reason=" 退 "), 422, "reason_required", None),
        (refund_rx(api, h, ABSENT), 404, "not_found", None),
        (refund_rx(api, h, world["unpaid_rx"]), 409, "prescription_not_refundable", {"status": "fulfilment_chosen"}),
        (refund_rx(api, h, dispensed), 409, "prescription_not_refundable", {"status": "dispensed"}),
        (refund_rx(api, h, spent), 409, "refund_exceeds_paid", {"refundable_fen": 0}),
    ]
    for r, status, code, details in cases:
        assert (r.status_code, r.json()["code"]) == (status, code), r.text
        if details is not None:
            assert r.json()["details"] == details
    assert rx_status(db_engine, spent) == "paid" and rx_status(db_engine, dispensed) == "dispensed"
    assert rx_status(db_engine, world["unpaid_rx"]) == "fulfilment_chosen"
    for no in orders.values():
        assert refunds_of_order(db_engine, no) == []
    assert sms_to(api, acc["mobile"]) == sms_before
    # a reason that is too long is refused by the schema
    r = refund_rx(api, h, spent, reason="长" * 201)
    assert r.status_code == 422 and rx_status(db_engine, spent) == "paid"


# --- reconciliation -------------------------------------------------------------------------------------------

def reconcile(api: httpx.Client, headers: dict[str, str], **params: Any) -> httpx.Response:
    return api.get(f"{V1}/staff/reconciliation", headers=headers, params=params)


def test_the_days_reconciliation_adds_up(api: httpx.Client, db_engine: Engine, live_server: LiveServer,
                                         slots: list[int], clerk: dict[str, Any], world: dict[str, Any]) -> None:
    # one refund that lands on the exception list (the gateway answers ABNORMAL)
    acc = person(api, db_engine, live_server)
    visit = paid_booking(api, acc, slots[4])
    rx = db_prescription(db_engine, visit["id"], amount_fen=870)
    drug = pay_prescription(api, acc, rx)
    plan_refunds(api, drug["out_trade_no"], ["ABNORMAL"])
    failed = refund_rx(api, clerk["headers"], rx).json()
    wait_refund_status(db_engine, drug["out_trade_no"], "failed")

    r = reconcile(api, clerk["headers"])
    assert r.status_code == 200, r.text
    day = r.json()
    assert day["day"] == now().date().isoformat()
    totals, payments, refunds = day["totals"], day["payments"], day["refunds"]
    assert totals["paid_count"] == len(payments) and totals["paid_fen"] == sum(p["amount_fen"] for p in payments)
    assert totals["net_fen"] == totals["paid_fen"] - totals["refunded_fen"]
    today = now().date().isoformat()
    refunded = [x for x in refunds if x["status"] == "refunded" and x["refunded_at"][:10] == today]
    assert (totals["refunded_count"], totals["refunded_fen"]) == (len(refunded),
                                                                  sum(x["amount_fen"] for x in refunded))
    refunding = [x for x in refunds if x["status"] in ("requested", "approved", "processing")]
    assert (totals["refunding_count"], totals["refunding_fen"]) == (len(refunding),
                                                                    sum(x["amount_fen"] for x in refunding))
    assert totals["exception_count"] == len(day["exceptions"])
    assert {x["id"] for x in day["exceptions"]} <= {x["id"] for x in refunds}
    assert failed["id"] in [x["id"] for x in day["exceptions"]]
    by_no = {p["out_trade_no"]: p for p in payments}
    for no in (world["visit"]["out_trade_no"], world["drug_no"], visit["out_trade_no"], drug["out_trade_no"]):
        assert no in by_no, no
    mine = by_no[drug["out_trade_no"]]
    assert (mine["purpose"], mine["amount_fen"], mine["prescription_id"], mine["patient_name"]) == (
        "drug", 870, rx, acc["name"])
    assert mine["appointment_number"] == by_no[visit["out_trade_no"]]["appointment_number"] != ""
    assert all(p["paid_at"][:10] == today for p in payments)
    for word in CLINICAL:
        assert word not in r.text
    # another day: nothing; outside the calendar: refused
    empty = reconcile(api, clerk["headers"], day="2001-01-01").json()
    assert empty["payments"] == empty["refunds"] == empty["exceptions"] == []
    assert set(empty["totals"].values()) == {0}
    r = reconcile(api, clerk["headers"], day="1999-12-31")
    assert r.status_code == 422 and r.json()["code"] == "day_out_of_range"
    assert reconcile(api, clerk["headers"], day="2026-02-30").status_code == 422
