"""Path 5, the scheduler job ``refund_unservable``, through the live server (its scheduler runs every 0.5 s): paid
visits of a doctor the admin switched off, of a schedule the admin deleted, or still checked in / waiting when
their day is over are cancelled by the hospital, refunded (path slot_unavailable) and the patient is told by SMS;
payments that arrived for something no longer there are refunded in full. A second run, and several workers at
once, change nothing more."""
from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy.engine import Engine

from tests.booking_helpers import (
    V1,
    admin_headers,
    appointment_row,
    book,
    future_start,
    make_doctor,
    make_schedule,
    move_appointment,
    now,
    set_appointment,
    slot_row,
    sms_to,
    soon_start,
    wait_for,
)
from tests.conftest import LiveServer
from tests.refund_desk_helpers import (
    db_prescription,
    paid_booking,
    plan_refunds,
    refunds_of_order,
    rows,
    settle,
    wait_refund_status,
)
from tests.workstation_helpers import events_of, holder


@pytest.fixture(scope="module")
def admin(live_server: LiveServer, db_engine: Engine) -> dict[str, str]:
    with live_server.client() as api:
        return admin_headers(api, db_engine)


@pytest.fixture(scope="module")
def service_db(live_server: LiveServer) -> Iterator[Any]:
    """The database as another worker process sees it (for second runs and racing workers)."""
    from server.config import Settings
    from server.db import Database

    settings = Settings(data_dir=live_server.data_dir, database_url=live_server.database_url,
                        encryption_key=live_server.env.get("CLINIC_ENCRYPTION_KEY", ""),
                        public_base_url=live_server.base_url)
    db = Database(settings)
    yield db
    db.dispose()


def patient_view(api: httpx.Client, p: dict[str, Any]) -> dict[str, Any]:
    r = api.get(f"{V1}/appointments/{p['id']}", headers=p["acc"]["headers"])
    assert r.status_code == 200, r.text
    return r.json()


def wait_cancelled(db_engine: Engine, p: dict[str, Any]) -> dict[str, Any]:
    return wait_for(lambda: (row := appointment_row(db_engine, p["id"]))["status"] == "cancelled_by_hospital"
                    and row, what=f"appointment {p['id']} to be cancelled by the hospital")


def footprint(api: httpx.Client, db_engine: Engine, people: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    """What the job leaves per visit: its status, refunds, SMS and events."""
    out = []
    for p in people:
        refunds = [(r["id"], r["status"]) for r in refunds_of_order(db_engine, p["out_trade_no"])]
        sms = len(sms_to(api, p["acc"]["mobile"], kind="slot_unavailable"))
        events = len(events_of(db_engine, object_type="appointment", object_id=p["id"]))
        out.append((appointment_row(db_engine, p["id"])["status"], refunds, sms, events))
    return out


def second_run_changes_nothing(api: httpx.Client, db_engine: Engine, service_db: Any,
                               people: list[dict[str, Any]]) -> None:
    from server.refunds.unservable import refund_unservable

    before = footprint(api, db_engine, people)
    refund_unservable(service_db)
    assert footprint(api, db_engine, people) == before


def orphaned(db_engine: Engine, payment_id: int) -> str:
    """Why the payment was orphaned (its ``payment.orphaned`` event: the row's reason is cleared once refunded)."""
    (event,) = events_of(db_engine, object_type="payment", object_id=payment_id, kind="payment.orphaned")
    return event.payload["reason"]


def check_cancelled(api: httpx.Client, db_engine: Engine, p: dict[str, Any], *, fee: int, reason: str,
                    sms_cause: str, doctor_name: str) -> dict[str, Any]:
    row = wait_cancelled(db_engine, p)
    assert row["end_reason"] == reason
    refund = wait_refund_status(db_engine, p["out_trade_no"], "refunded")
    assert (refund["path"], refund["amount_fen"], refund["appointment_id"]) == ("slot_unavailable", fee, p["id"])
    assert refund["reason"] == reason
    assert len(refunds_of_order(db_engine, p["out_trade_no"])) == 1
    view = wait_for(lambda: (v := patient_view(api, p))["refund_status"] == "refunded" and v,
                    what="the patient to see 已退费")
    assert (view["status"], view["refund_status_label"]) == ("cancelled_by_hospital", "已退费")
    (sms,) = sms_to(api, p["acc"]["mobile"], kind="slot_unavailable")
    assert sms_cause in sms["body"] and doctor_name in sms["body"] and "诊费将按原路退回" in sms["body"]
    kinds = [e.kind for e in events_of(db_engine, object_type="appointment", object_id=p["id"])]
    assert kinds.count("appointment.cancelled_by_hospital") == 1 and kinds.count("refund.requested") == 1
    refund_events = [e.kind for e in events_of(db_engine, object_type="refund", object_id=refund["id"])]
    assert refund_events[0] == "refund.processing" and refund_events.count("refund.refunded") == 1
    return refund


def test_a_deactivated_doctors_paid_visits_are_cancelled_refunded_and_texted(
        api: httpx.Client, db_engine: Engine, admin: dict[str, str], service_db: Any) -> None:
    doc = make_doctor(api, admin, fee_fen=2600, name="停用医生")
    slots = [s["id"] for s in make_schedule(api, admin, doctor_id=doc["id"], start=future_start(days=3, hour=10),
                                            minutes=30, capacity=2)["slots"]]
    held, other = paid_booking(api, holder(api, db_engine), slots[0]), paid_booking(api, holder(api, db_engine),
                                                                                       slots[1])
    plan_refunds(api, held["out_trade_no"], ["HOLD"])  # the gateway keeps this one PROCESSING until settled
    unpaid_acc = holder(api, db_engine)
    unpaid = book(api, unpaid_acc["headers"], patient_id=unpaid_acc["patient_id"], slot_id=slots[0],
                  notice_version=unpaid_acc["notice"]).json()["id"]
    assert patient_view(api, held)["refund_status"] is None

    r = api.patch(f"{V1}/staff/admin/doctors/{doc['id']}", headers=admin, json={"active": False})
    assert r.status_code == 200 and r.json()["active"] is False, r.text
    # 退费中 while the gateway works on it, then 已退费
    wait_cancelled(db_engine, held)
    processing = wait_for(lambda: [r for r in refunds_of_order(db_engine, held["out_trade_no"])
                                   if r["gateway_status"] == "PROCESSING"], what="the gateway to accept")[0]
    view = patient_view(api, held)
    assert (view["status"], view["status_label"]) == ("cancelled_by_hospital", "医院已停诊")
    assert (view["refund_status"], view["refund_status_label"]) == ("refunding", "退费中")
    assert view["end_reason"] == "号源无法就诊：医生已停诊"
    settle(api, processing["out_refund_no"])
    for p in (held, other):
        check_cancelled(api, db_engine, p, fee=2600, reason="号源无法就诊：医生已停诊", sms_cause="医生已停诊",
                        doctor_name="停用医生")
    # an unpaid hold is not the job's: it lapses as any hold does
    assert appointment_row(db_engine, unpaid)["status"] == "pending_payment"
    assert sms_to(api, unpaid_acc["mobile"], kind="slot_unavailable") == []
    second_run_changes_nothing(api, db_engine, service_db, [held, other])


def test_a_deleted_schedules_paid_visits_are_cancelled_and_refunded(
        api: httpx.Client, db_engine: Engine, admin: dict[str, str], service_db: Any) -> None:
    doc = make_doctor(api, admin, fee_fen=3100, name="排班取消医生")
    schedule = make_schedule(api, admin, doctor_id=doc["id"], start=future_start(days=4, hour=15), minutes=15,
                             capacity=2)
    slot = schedule["slots"][0]["id"]
    p = paid_booking(api, holder(api, db_engine), slot)
    r = api.delete(f"{V1}/staff/admin/schedules/{schedule['id']}", headers=admin)
    assert r.status_code == 200, r.text
    assert r.json()["affected_appointment_ids"] == [p["id"]]
    check_cancelled(api, db_engine, p, fee=3100, reason="号源无法就诊：医生排班已取消", sms_cause="医生排班已取消",
                    doctor_name="排班取消医生")
    assert slot_row(db_engine, slot)["booked"] == 0
    second_run_changes_nothing(api, db_engine, service_db, [p])


def test_visits_still_waiting_when_their_day_is_over_are_cancelled_and_refunded(
        api: httpx.Client, db_engine: Engine, admin: dict[str, str], service_db: Any) -> None:
    doc = make_doctor(api, admin, fee_fen=2200, name="过日医生")
    slots = [s["id"] for s in make_schedule(api, admin, doctor_id=doc["id"], start=soon_start(), minutes=30,
                                            slot_minutes=15, capacity=3)["slots"]]
    checked, waiting, today, booked, applied = (paid_booking(api, holder(api, db_engine), slots[i])
                                                for i in (0, 1, 1, 0, 0))
    for p in (checked, waiting, today, applied):
        assert api.post(f"{V1}/appointments/{p['id']}/check-in", headers=p["acc"]["headers"]).status_code == 200
    for p in (waiting, today, applied):
        r = api.post(f"{V1}/appointments/{p['id']}/description", headers=p["acc"]["headers"],
                     json={"text": "空腹血糖偏高", "file_ids": []})
        assert r.status_code == 200, r.text
    # this one's time passed today without a call: the patient applies for the fee back (path 2)
    passed = max(now() - dt.timedelta(minutes=2), now().replace(hour=0, minute=0, second=1, microsecond=0))
    set_appointment(db_engine, applied["id"], starts_at=passed, ends_at=passed + dt.timedelta(minutes=15))
    r = api.post(f"{V1}/appointments/{applied['id']}/refund-application", headers=applied["acc"]["headers"],
                 json={"reason": "等了很久医生没有呼叫"})
    assert r.status_code == 201 and r.json()["refund_status"] == "reviewing", r.text
    yesterday = now() - dt.timedelta(days=1)
    for p in (checked, waiting, applied):
        move_appointment(db_engine, p["id"], starts_at=yesterday)
    # booked and never checked in: a missed visit (the patient may apply), not this job's
    set_appointment(db_engine, booked["id"], starts_at=yesterday, ends_at=yesterday + dt.timedelta(minutes=15))
    for p in (checked, waiting):
        check_cancelled(api, db_engine, p, fee=2200, reason="号源无法就诊：当日未能接诊",
                        sms_cause="当日医生未能接诊", doctor_name="过日医生")
    # the application waiting for a clerk is approved by the job: one refund, the approval's SMS
    row = wait_cancelled(db_engine, applied)
    assert row["end_reason"] == "号源无法就诊：当日未能接诊"
    refund = wait_refund_status(db_engine, applied["out_trade_no"], "refunded")
    assert (refund["path"], refund["amount_fen"], refund["reviewer_id"]) == ("application", 2200, None)
    assert len(refunds_of_order(db_engine, applied["out_trade_no"])) == 1
    assert len(sms_to(api, applied["acc"]["mobile"], kind="refund_approved")) == 1
    assert sms_to(api, applied["acc"]["mobile"], kind="slot_unavailable") == []
    assert patient_view(api, applied)["refund_status"] == "refunded"
    wait_for(lambda: appointment_row(db_engine, booked["id"])["status"] == "missed", what="the booked one missed")
    assert refunds_of_order(db_engine, booked["out_trade_no"]) == []
    # the day of this one is not over
    assert appointment_row(db_engine, today["id"])["status"] == "waiting"
    assert refunds_of_order(db_engine, today["out_trade_no"]) == []
    second_run_changes_nothing(api, db_engine, service_db, [checked, waiting, today, applied])


def test_orphaned_payments_are_refunded_in_full(api: httpx.Client, db_engine: Engine, admin: dict[str, str],
                                                service_db: Any) -> None:
    doc = make_doctor(api, admin, fee_fen=2700, name="孤儿订单医生")
    slot = make_schedule(api, admin, doctor_id=doc["id"], start=future_start(days=5, hour=9), minutes=15,
                         capacity=1)["slots"][0]["id"]
    # a hold lapses while the patient is in the payment sheet, someone else takes the place, then the money comes
    late = holder(api, db_engine)
    appt = book(api, late["headers"], patient_id=late["patient_id"], slot_id=slot,
                notice_version=late["notice"]).json()["id"]
    r = api.post(f"{V1}/appointments/{appt}/payment", headers=late["headers"])
    assert r.status_code == 201, r.text
    prepay = r.json()
    set_appointment(db_engine, appt, hold_expires_at=now() - dt.timedelta(seconds=1))
    wait_for(lambda: appointment_row(db_engine, appt)["status"] == "expired", what="the hold to lapse")
    taker = holder(api, db_engine)
    assert book(api, taker["headers"], patient_id=taker["patient_id"], slot_id=slot,
                notice_version=taker["notice"]).status_code == 201
    assert api.post(f"{V1}/sandbox/pay/{prepay['prepay_id']}/confirm", params={"delay_ms": 0}).status_code == 200
    refund = wait_refund_status(db_engine, prepay["out_trade_no"], "refunded")
    payment = rows(db_engine, "SELECT * FROM payments WHERE out_trade_no = :n", n=prepay["out_trade_no"])[0]
    assert orphaned(db_engine, payment["id"]) == "slot_lost_after_payment" and payment["refunded_fen"] == 2700
    assert payment["orphan_reason"] == ""  # cleared once the money is back
    assert (refund["path"], refund["amount_fen"]) == ("slot_unavailable", 2700)
    assert refund["reason"].startswith("号源无法就诊：")
    assert appointment_row(db_engine, appt)["status"] == "expired"
    mine = {"acc": late, "id": appt}
    assert patient_view(api, mine)["refund_status"] == "refunded"

    # a drug fee that arrives after the prescription expired
    visit = paid_booking(api, holder(api, db_engine), make_schedule(
        api, admin, doctor_id=doc["id"], start=future_start(days=5, hour=11), minutes=15, capacity=1)["slots"][0]["id"])
    rx = db_prescription(db_engine, visit["id"], amount_fen=1530)
    r = api.post(f"{V1}/prescriptions/{rx}/payment", headers=visit["acc"]["headers"])
    assert r.status_code == 201, r.text
    drug = r.json()
    with db_engine.begin() as c:
        from sqlalchemy import text

        c.execute(text("UPDATE prescriptions SET valid_until = :t WHERE id = :i"),
                  {"t": dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1), "i": rx})
    wait_for(lambda: rows(db_engine, "SELECT status FROM prescriptions WHERE id = :i", i=rx)[0]["status"]
             == "expired", what="the prescription to expire")
    assert api.post(f"{V1}/sandbox/pay/{drug['prepay_id']}/confirm", params={"delay_ms": 0}).status_code == 200
    refund = wait_refund_status(db_engine, drug["out_trade_no"], "refunded")
    assert (refund["path"], refund["amount_fen"], refund["prescription_id"]) == ("drug", 1530, rx)
    payment = rows(db_engine, "SELECT * FROM payments WHERE out_trade_no = :n", n=drug["out_trade_no"])[0]
    assert orphaned(db_engine, payment["id"]) == "prescription_not_payable" and payment["refunded_fen"] == 1530
    view = api.get(f"{V1}/prescriptions/{rx}", headers=visit["acc"]["headers"]).json()
    assert (view["status"], view["refund_status"], view["refund_status_label"]) == ("expired", "refunded", "已退费")
    # the visit itself was not touched
    assert appointment_row(db_engine, visit["id"])["status"] == "booked"

    from server.refunds.unservable import refund_unservable

    counts = [len(refunds_of_order(db_engine, n)) for n in (prepay["out_trade_no"], drug["out_trade_no"])]
    refund_unservable(service_db)
    assert [len(refunds_of_order(db_engine, n)) for n in (prepay["out_trade_no"], drug["out_trade_no"])] == counts


def test_several_workers_refund_each_visit_once(api: httpx.Client, db_engine: Engine, admin: dict[str, str],
                                                service_db: Any) -> None:
    from server.refunds.unservable import refund_unservable

    doc = make_doctor(api, admin, fee_fen=1900, name="并发停用医生")
    slots = [s["id"] for s in make_schedule(api, admin, doctor_id=doc["id"], start=future_start(days=6, hour=9),
                                            minutes=30, capacity=2)["slots"]]
    people = [paid_booking(api, holder(api, db_engine), slots[i % 2]) for i in range(4)]
    stop, errors = threading.Event(), []

    def worker() -> None:
        try:
            while not stop.is_set():
                refund_unservable(service_db)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(3)]
    for t in threads:
        t.start()
    try:
        r = api.patch(f"{V1}/staff/admin/doctors/{doc['id']}", headers=admin, json={"active": False})
        assert r.status_code == 200, r.text
        for p in people:
            wait_cancelled(db_engine, p)
    finally:
        stop.set()
        for t in threads:
            t.join(timeout=30)
    assert not errors, errors
    for p in people:
        wait_refund_status(db_engine, p["out_trade_no"], "refunded")
        assert len(refunds_of_order(db_engine, p["out_trade_no"])) == 1
        assert len(sms_to(api, p["acc"]["mobile"], kind="slot_unavailable")) == 1
        kinds = [e.kind for e in events_of(db_engine, object_type="appointment", object_id=p["id"])]
        assert kinds.count("appointment.cancelled_by_hospital") == 1
    assert rows(db_engine, "SELECT sum(refunded_fen) AS s FROM payments WHERE out_trade_no IN "
                           "(:a, :b, :c, :d)", a=people[0]["out_trade_no"], b=people[1]["out_trade_no"],
                c=people[2]["out_trade_no"], d=people[3]["out_trade_no"])[0]["s"] == 4 * 1900
