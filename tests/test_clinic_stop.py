"""停诊 (seed 2.5.3) through the live server: the period's slots stop, what was booked on them is cancelled
by the hospital, refunds are requested for the paid ones, every patient gets an SMS; and bookings racing the
stop."""
from __future__ import annotations

import datetime as dt
import secrets
import threading
import time
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from tests.booking_helpers import (
    admin_headers,
    appointment_row,
    book,
    db_holders,
    db_staff,
    future_start,
    make_doctor,
    make_schedule,
    mark_paid,
    set_appointment,
    slot_row,
    sms_to,
    wait_for,
)
from tests.workstation_helpers import (
    V1,
    checked_in,
    doctor_today,
    events_of,
    holder,
    in_consultation,
    new_key,
    now,
    waiting,
)

STOPS = f"{V1}/staff/clinic-stops"
PREVIEW = f"{STOPS}/preview"


@pytest.fixture(scope="module")
def admin(live_server: Any, db_engine: Engine) -> dict[str, str]:
    with live_server.client() as api:
        return admin_headers(api, db_engine)


def _iso(t: dt.datetime) -> str:
    return t.isoformat()


def _pay(db_engine: Engine, acc: dict[str, Any], appt: int, amount_fen: int = 3000) -> str:
    """A paid payment order behind the appointment (the payments slice's real path is tested there)."""
    from server.payments.models import Payment

    no = f"P{secrets.token_hex(8)}"
    with Session(db_engine) as s, s.begin():
        p = Payment(out_trade_no=no, account_id=acc["account_id"], purpose="consultation",
                    appointment_id=appt, amount_fen=amount_fen, status="paid",
                    expires_at=now() + dt.timedelta(minutes=15), paid_at=now(),
                    prepay_id="wx" + secrets.token_hex(8))
        s.add(p)
        s.flush()
        pid = p.id
    mark_paid(db_engine, appt)
    set_appointment(db_engine, appt, payment_id=pid)
    return no


def _stops_of(db_engine: Engine, doctor_id: int) -> int:
    from server.consultation.models import ClinicStop

    with Session(db_engine) as s:
        return s.execute(select(func.count()).select_from(ClinicStop).where(ClinicStop.doctor_id == doctor_id)
                         ).scalar_one()


def test_a_stop_cancels_exactly_what_was_booked_in_the_period(api: httpx.Client, db_engine: Engine,
                                                              admin: dict[str, str]) -> None:
    doc = make_doctor(api, admin, department_code="endocrinology", fee_fen=3000, name="停诊医生")
    start = future_start(days=2, hour=9)
    slots = [s["id"] for s in make_schedule(api, admin, doctor_id=doc["id"], start=start, minutes=120,
                                            slot_minutes=15, capacity=2)["slots"]]
    headers = db_staff(db_engine, role="doctor", doctor_id=doc["id"])

    def booking(slot: int) -> tuple[dict[str, Any], int]:
        acc = holder(api, db_engine)
        r = book(api, acc["headers"], patient_id=acc["patient_id"], slot_id=slots[slot],
                 notice_version=acc["notice"])
        assert r.status_code == 201, r.text
        return acc, r.json()["id"]

    paid_acc, paid = booking(0)
    out_trade_no = _pay(db_engine, paid_acc, paid)
    hold_acc, hold = booking(1)  # unpaid
    gone_acc, gone = booking(2)
    # an expired hold (the server's scheduler expires it) is not cancelled again
    set_appointment(db_engine, gone, hold_expires_at=now() - dt.timedelta(seconds=1))
    wait_for(lambda: appointment_row(db_engine, gone)["status"] == "expired", what="the hold to expire")
    later_acc, later = booking(5)  # 10:15, after the period
    mark_paid(db_engine, later)
    # another doctor at the same time is untouched
    other = make_doctor(api, admin, department_code="endocrinology")
    other_slot = make_schedule(api, admin, doctor_id=other["id"], start=start, minutes=30)["slots"][0]["id"]
    other_acc = holder(api, db_engine)
    other_appt = book(api, other_acc["headers"], patient_id=other_acc["patient_id"], slot_id=other_slot,
                      notice_version=other_acc["notice"]).json()["id"]
    mark_paid(db_engine, other_appt)

    body = {"starts_at": _iso(start), "ends_at": _iso(start + dt.timedelta(hours=1)), "reason": "临时外出会诊"}
    # the preview tells what the stop will do, and changes nothing
    period = {"starts_at": body["starts_at"], "ends_at": body["ends_at"]}
    pv = api.get(PREVIEW, headers=headers, params=period)
    assert pv.status_code == 200, pv.text
    preview = pv.json()
    assert preview == {"doctor_id": doc["id"], "doctor_name": "停诊医生", "starts_at": _iso(start),
                       "ends_at": _iso(start + dt.timedelta(hours=1)), "slots": 4, "appointments": 2,
                       "paid_appointments": 1, "first_starts_at": _iso(start),
                       "last_starts_at": _iso(start + dt.timedelta(minutes=15))}
    admin_pv = api.get(PREVIEW, headers=admin, params={**period, "doctor_id": doc["id"]})
    assert admin_pv.status_code == 200 and admin_pv.json() == preview
    assert appointment_row(db_engine, paid)["status"] == "booked" and _stops_of(db_engine, doc["id"]) == 0
    assert slot_row(db_engine, slots[0])["status"] == "open"
    r = api.post(STOPS, headers=headers, json=body)
    assert r.status_code == 201, r.text
    stop = r.json()
    assert (stop["stopped_slots"], stop["cancelled_appointments"]) == (preview["slots"], preview["appointments"])
    # afterwards nothing is left to stop or cancel
    again = api.get(PREVIEW, headers=headers, params=period).json()
    assert (again["slots"], again["appointments"], again["first_starts_at"]) == (0, 0, None)
    assert stop["doctor_id"] == doc["id"] and stop["doctor_name"] == "停诊医生" and stop["reason"] == "临时外出会诊"
    assert stop["stopped_slots"] == 4 and stop["cancelled_appointments"] == 2
    assert dt.datetime.fromisoformat(stop["starts_at"]) == start and stop["starts_at"].endswith("+08:00")

    for appt in (paid, hold):
        row = appointment_row(db_engine, appt)
        assert row["status"] == "cancelled_by_hospital" and row["end_reason"] == "医生停诊：临时外出会诊"
        assert row["ended_at"] is not None
    assert appointment_row(db_engine, gone)["status"] == "expired"
    assert appointment_row(db_engine, later)["status"] == "booked"
    assert appointment_row(db_engine, other_appt)["status"] == "booked"
    for i, slot in enumerate(slots):
        expected = "stopped" if i < 4 else "open"
        assert slot_row(db_engine, slot)["status"] == expected, i
    assert [slot_row(db_engine, s)["booked"] for s in slots[:4]] == [0, 0, 0, 0]
    assert slot_row(db_engine, slots[5])["booked"] == 1
    assert slot_row(db_engine, other_slot)["status"] == "open"

    # each patient is told; the paid one that the fee goes back
    paid_sms = sms_to(api, paid_acc["mobile"], kind="clinic_stop")
    assert len(paid_sms) == 1
    text = paid_sms[0]["body"]
    assert "停诊医生" in text and "临时外出会诊" in text and "诊费将按原路退回" in text
    assert f"{start.month}月{start.day}日 09:00" in text
    hold_sms = sms_to(api, hold_acc["mobile"], kind="clinic_stop")
    assert len(hold_sms) == 1 and "09:15" in hold_sms[0]["body"] and "尚未完成支付" in hold_sms[0]["body"]
    for acc in (gone_acc, later_acc, other_acc):
        assert sms_to(api, acc["mobile"], kind="clinic_stop") == []

    # the refund work gets its request for the paid one only, with no clinical text
    refunds = events_of(db_engine, object_type="appointment", object_id=paid, kind="refund.requested")
    assert len(refunds) == 1 and refunds[0].topic == "money"
    assert refunds[0].payload["out_trade_no"] == out_trade_no and refunds[0].payload["amount_fen"] == 3000
    assert refunds[0].payload["reason"] == "clinic_stop"
    assert refunds[0].payload["appointment_number"] == appointment_row(db_engine, paid)["number"]
    assert events_of(db_engine, object_type="appointment", object_id=hold, kind="refund.requested") == []
    cancelled = events_of(db_engine, object_type="appointment", object_id=paid,
                          kind="appointment.cancelled_by_hospital")
    assert len(cancelled) == 1 and cancelled[0].topic == "clinical" and cancelled[0].doctor_id == doc["id"]
    declared = events_of(db_engine, object_type="clinic_stop", object_id=stop["id"])
    assert {(e.kind, e.topic) for e in declared} == {("clinic_stop.declared", "clinical"),
                                                     ("clinic_stop.summary", "admin")}
    assert sorted(declared[0].payload["cancelled_appointment_ids"]) == sorted([paid, hold])

    # the stopped slots can no longer be booked; the rest can
    late = holder(api, db_engine)
    refused = book(api, late["headers"], patient_id=late["patient_id"], slot_id=slots[0],
                   notice_version=late["notice"])
    assert refused.status_code == 409 and refused.json()["code"] in ("slot_unavailable", "slot_full")
    listed = api.get(f"{V1}/doctors/{doc['id']}/slots", params={"date_from": start.date().isoformat()}).json()
    assert [s["bookable"] for s in listed if s["id"] in slots[:4]] == [False] * 4
    assert book(api, late["headers"], patient_id=late["patient_id"], slot_id=slots[6],
                notice_version=late["notice"]).status_code == 201

    # the doctor's list
    mine = api.get(STOPS, headers=headers)
    assert mine.status_code == 200 and [s["id"] for s in mine.json()] == [stop["id"]]
    assert mine.json()[0] == stop


def test_a_stop_today_cancels_the_waiting_room_but_not_the_patient_being_seen(
        api: httpx.Client, db_engine: Engine, admin: dict[str, str]) -> None:
    clinic = doctor_today(api, admin, db_engine)
    ci_acc, ci = checked_in(api, db_engine, clinic)
    w_acc, w = waiting(api, db_engine, clinic)
    seen_acc, seen = in_consultation(api, db_engine, clinic)
    body = {"starts_at": _iso(now() - dt.timedelta(hours=1)), "ends_at": _iso(now() + dt.timedelta(hours=3)),
            "reason": "身体不适"}
    preview = api.get(PREVIEW, headers=clinic["headers"],
                      params={"starts_at": body["starts_at"], "ends_at": body["ends_at"]}).json()
    assert preview["appointments"] == 2 and preview["paid_appointments"] == 2  # not the patient being seen
    r = api.post(STOPS, headers=clinic["headers"], json=body)
    assert r.status_code == 201, r.text
    assert r.json()["cancelled_appointments"] == preview["appointments"] == 2
    assert r.json()["stopped_slots"] == preview["slots"]
    assert r.json()["cancelled_appointments"] == 2 and r.json()["stopped_slots"] == len(clinic["slots"])
    assert appointment_row(db_engine, ci)["status"] == "cancelled_by_hospital"
    assert appointment_row(db_engine, w)["status"] == "cancelled_by_hospital"
    assert appointment_row(db_engine, seen)["status"] == "in_consultation"
    for acc in (ci_acc, w_acc):
        assert len(sms_to(api, acc["mobile"], kind="clinic_stop")) == 1
    assert sms_to(api, seen_acc["mobile"], kind="clinic_stop") == []
    # the visit under way still finishes normally
    fin = api.post(f"{V1}/staff/appointments/{seen}/finish", headers=clinic["headers"],
                   json={"diagnosis_code": "E11", "diagnosis_name": "2型糖尿病"})
    assert fin.status_code == 200 and fin.json()["status"] == "completed"
    # the cancelled ones left the doctor's hands
    assert api.post(f"{V1}/staff/appointments/{w}/accept", headers=clinic["headers"]).status_code == 409


def test_who_may_stop_and_what_period_is_refused(api: httpx.Client, db_engine: Engine,
                                                 admin: dict[str, str]) -> None:
    doc = make_doctor(api, admin)
    slot = make_schedule(api, admin, doctor_id=doc["id"], start=future_start(days=3, hour=14),
                         minutes=15)["slots"][0]["id"]
    headers = db_staff(db_engine, role="doctor", doctor_id=doc["id"])
    other = make_doctor(api, admin)
    t = now()
    ok = {"starts_at": _iso(t), "ends_at": _iso(t + dt.timedelta(days=5)), "reason": "外出学习"}
    cases = [
        (headers, {**ok, "ends_at": _iso(t - dt.timedelta(hours=1)),
                   "starts_at": _iso(t - dt.timedelta(hours=2))}, 422, "period_in_past"),
        (headers, {**ok, "ends_at": ok["starts_at"]}, 422, "period_invalid"),
        (headers, {**ok, "ends_at": _iso(t + dt.timedelta(days=31, minutes=1))}, 422, "period_too_long"),
        (headers, {**ok, "reason": "外"}, 422, "validation_error"),
        (headers, {**ok, "reason": "  "}, 422, "reason_too_short"),
        (headers, {**ok, "reason": "外" * 201}, 422, "validation_error"),
        (headers, {**ok, "starts_at": "3000-01-01T00:00:00+08:00"}, 422, "validation_error"),
        (headers, {**ok, "starts_at": "下周一"}, 422, "validation_error"),
        (headers, {**ok, "doctor_id": other["id"]}, 403, "clinic_stop_forbidden"),
        (db_staff(db_engine, role="doctor"), ok, 403, "clinic_stop_forbidden"),
        (admin, ok, 422, "doctor_required"),
        (admin, {**ok, "doctor_id": 2**53}, 404, "not_found"),
        (db_staff(db_engine, role="clerk"), {**ok, "doctor_id": doc["id"]}, 403, "role_forbidden"),
        (db_staff(db_engine, role="pharmacist"), ok, 403, "role_forbidden"),
        (holder(api, db_engine)["headers"], ok, 401, "session_expired"),
    ]
    for who, body, status, code in cases:
        r = api.post(STOPS, headers=who, json=body)
        assert (r.status_code, r.json()["code"]) == (status, code), (body, r.text)
        assert r.json()["message"]
    # the preview refuses exactly what the stop refuses (the reason aside: it has none)
    for who, body, status, code in cases:
        if "reason" in code or body.get("reason") != ok["reason"]:
            continue
        params = {k: v for k, v in body.items() if k != "reason"}
        r = api.get(PREVIEW, headers=who, params=params)
        assert (r.status_code, r.json()["code"]) == (status, code), (params, r.text)
        assert r.json()["message"]
    for params in ({"starts_at": ok["starts_at"]}, {"ends_at": ok["ends_at"]},
                   {"starts_at": ok["starts_at"], "ends_at": ok["ends_at"], "doctor_id": 0}):
        r = api.get(PREVIEW, headers=headers, params=params)
        assert (r.status_code, r.json()["code"]) == (422, "validation_error"), (params, r.text)
    preview = api.get(PREVIEW, headers=headers, params={"starts_at": ok["starts_at"], "ends_at": ok["ends_at"]})
    assert preview.status_code == 200 and preview.json()["slots"] == 1 and preview.json()["appointments"] == 0
    assert _stops_of(db_engine, doc["id"]) == 0 and _stops_of(db_engine, other["id"]) == 0
    assert slot_row(db_engine, slot)["status"] == "open"
    # exactly 31 days is allowed; a doctor may name themselves
    r = api.post(STOPS, headers=headers, json={**ok, "doctor_id": doc["id"],
                                               "ends_at": _iso(t + dt.timedelta(days=31))})
    assert r.status_code == 201 and r.json()["stopped_slots"] == 1
    assert slot_row(db_engine, slot)["status"] == "stopped"


def test_a_schedule_made_after_a_stop_is_born_stopped_inside_its_period(api: httpx.Client, db_engine: Engine,
                                                                      admin: dict[str, str]) -> None:
    doc = make_doctor(api, admin)
    headers = db_staff(db_engine, role="doctor", doctor_id=doc["id"])
    start = future_start(days=4, hour=9)
    # the doctor stops 10:00–11:00 before any schedule exists for that day
    r = api.post(STOPS, headers=headers, json={"starts_at": _iso(start + dt.timedelta(hours=1)),
                                               "ends_at": _iso(start + dt.timedelta(hours=2)), "reason": "院内会诊"})
    assert r.status_code == 201 and r.json()["stopped_slots"] == 0, r.text
    # then the admin schedules 09:00–12:00 in 30-minute slots
    schedule = make_schedule(api, admin, doctor_id=doc["id"], start=start, minutes=180, slot_minutes=30)
    listed = api.get(f"{V1}/doctors/{doc['id']}/slots",
                     params={"date_from": start.date().isoformat(), "date_to": start.date().isoformat()})
    assert listed.status_code == 200, listed.text
    by_start = {dt.datetime.fromisoformat(s["starts_at"]).strftime("%H:%M"): s
                for s in listed.json()}
    assert {k: (v["status"], v["bookable"]) for k, v in by_start.items()} == {
        "09:00": ("open", True), "09:30": ("open", True), "10:00": ("stopped", False),
        "10:30": ("stopped", False), "11:00": ("open", True), "11:30": ("open", True)}
    assert {s["id"] for s in schedule["slots"]} == {s["id"] for s in by_start.values()}
    # and a patient cannot book a stopped one
    acc = holder(api, db_engine)  # eligible in the doctor's department (endocrinology)
    for when, expected in (("10:00", (409, "slot_unavailable")), ("11:00", (201, None))):
        r = api.post(f"{V1}/appointments", headers=acc["headers"],
                     json={"patient_id": acc["patient_id"], "slot_id": by_start[when]["id"],
                           "notice_version": acc["notice"]})
        assert (r.status_code, r.json().get("code")) == expected, r.text


def test_an_admin_stops_any_doctor_and_lists_see_what_they_should(api: httpx.Client, db_engine: Engine,
                                                                  admin: dict[str, str]) -> None:
    a, b = make_doctor(api, admin), make_doctor(api, admin)
    a_headers = db_staff(db_engine, role="doctor", doctor_id=a["id"])
    b_headers = db_staff(db_engine, role="doctor", doctor_id=b["id"])
    start = future_start(days=5, hour=8)
    first = api.post(STOPS, headers=admin, json={"doctor_id": a["id"], "starts_at": _iso(start),
                                                 "ends_at": _iso(start + dt.timedelta(hours=4)),
                                                 "reason": "院内会议"})
    assert first.status_code == 201, first.text
    second = api.post(STOPS, headers=admin, json={"doctor_id": a["id"],
                                                  "starts_at": _iso(start + dt.timedelta(days=1)),
                                                  "ends_at": _iso(start + dt.timedelta(days=2)),
                                                  "reason": "休假"})
    assert second.status_code == 201
    listed = api.get(STOPS, headers=admin, params={"doctor_id": a["id"]}).json()
    assert [s["id"] for s in listed] == [second.json()["id"], first.json()["id"]]  # newest period first
    assert listed[1]["declared_by"] == api.get(f"{V1}/staff/me", headers=admin).json()["id"]
    own = api.get(STOPS, headers=a_headers).json()
    assert [s["id"] for s in own] == [second.json()["id"], first.json()["id"]]
    # another doctor sees none of them, even when asking for them
    assert api.get(STOPS, headers=b_headers).json() == []
    assert api.get(STOPS, headers=b_headers, params={"doctor_id": a["id"]}).json() == []
    assert api.get(STOPS, headers=db_staff(db_engine, role="clerk")).status_code == 403
    everyone = api.get(STOPS, headers=admin, params={"limit": 200}).json()
    assert {first.json()["id"], second.json()["id"]} <= {s["id"] for s in everyone}


def test_a_retried_stop_happens_once(api: httpx.Client, db_engine: Engine, admin: dict[str, str]) -> None:
    doc = make_doctor(api, admin)
    start = future_start(days=6, hour=9)
    slot = make_schedule(api, admin, doctor_id=doc["id"], start=start, minutes=15)["slots"][0]["id"]
    acc = holder(api, db_engine)
    appt = book(api, acc["headers"], patient_id=acc["patient_id"], slot_id=slot, notice_version=acc["notice"]
                ).json()["id"]
    _pay(db_engine, acc, appt)
    headers = {**db_staff(db_engine, role="doctor", doctor_id=doc["id"]), "Idempotency-Key": new_key()}
    body = {"starts_at": _iso(start), "ends_at": _iso(start + dt.timedelta(hours=1)), "reason": "设备检修"}
    first = api.post(STOPS, headers=headers, json=body)
    again = api.post(STOPS, headers=headers, json=body)
    assert first.status_code == again.status_code == 201 and first.json() == again.json()
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert first.json()["cancelled_appointments"] == 1
    assert _stops_of(db_engine, doc["id"]) == 1
    assert len(sms_to(api, acc["mobile"], kind="clinic_stop")) == 1
    assert len(events_of(db_engine, object_type="appointment", object_id=appt, kind="refund.requested")) == 1
    changed = api.post(STOPS, headers=headers, json={**body, "reason": "设备检修延期"})
    assert changed.status_code == 422 and changed.json()["code"] == "idempotency_key_reused"


def _race(api: httpx.Client, live_server: Any, db_engine: Engine, admin: dict[str, str], *, holders: int,
          stop_after: int) -> dict[str, Any]:
    """``holders`` clients book one slot while its doctor stops the clinic, once ``stop_after`` bookings
    exist."""
    from server.appointments.models import Appointment

    doc = make_doctor(api, admin)
    start = future_start(days=7, hour=15)
    slot = make_schedule(api, admin, doctor_id=doc["id"], start=start, minutes=15,
                         capacity=holders)["slots"][0]["id"]
    version = api.get(f"{V1}/notice").json()["version"]
    people = db_holders(db_engine, holders, department_code="endocrinology", notice_version=version)
    stopper = db_staff(db_engine, role="doctor", doctor_id=doc["id"])
    barrier = threading.Barrier(holders + 1)
    results: list[httpx.Response] = []
    stop: dict[str, Any] = {}
    lock = threading.Lock()

    def count() -> int:
        with Session(db_engine) as s:
            return s.execute(select(func.count()).select_from(Appointment).where(Appointment.slot_id == slot)
                             ).scalar_one()

    def attempt(h: dict[str, Any]) -> None:
        with live_server.client() as c:
            barrier.wait()
            r = book(c, h["headers"], patient_id=h["patient_id"], slot_id=slot, notice_version=h["notice"])
        with lock:
            results.append(r)

    def declare() -> None:
        with live_server.client() as c:
            barrier.wait()
            deadline = time.monotonic() + 15
            while count() < stop_after and time.monotonic() < deadline:
                time.sleep(0.005)
            period = {"starts_at": _iso(start), "ends_at": _iso(start + dt.timedelta(minutes=15))}
            r = c.post(STOPS, headers=stopper, json={**period, "reason": "临时停诊"})
            stop["response"] = r

    threads = [threading.Thread(target=attempt, args=(h,)) for h in people]
    threads.append(threading.Thread(target=declare))
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    r = stop["response"]
    assert r.status_code == 201, r.text
    won = [x for x in results if x.status_code == 201]
    for x in results:
        if x.status_code != 201:
            assert x.status_code == 409 and x.json()["code"] in ("slot_unavailable", "slot_full"), x.text
    # the invariant: nothing live on the stopped slot; every booking that landed was cancelled by the stop
    with Session(db_engine) as s:
        rows = s.execute(select(Appointment.id, Appointment.status).where(Appointment.slot_id == slot)).all()
    assert {status for _, status in rows} <= {"cancelled_by_hospital"}, rows
    assert sorted(i for i, _ in rows) == sorted(x.json()["id"] for x in won)
    assert r.json()["cancelled_appointments"] == len(won)
    assert slot_row(db_engine, slot) == {"booked": 0, "capacity": holders, "status": "stopped"}
    return {"won": len(won), "refused": len(results) - len(won)}


def test_bookings_racing_a_stop_are_cancelled_or_refused_never_left_standing(
        api: httpx.Client, live_server: Any, db_engine: Engine, admin: dict[str, str]) -> None:
    at_once = _race(api, live_server, db_engine, admin, holders=20, stop_after=0)
    midway = _race(api, live_server, db_engine, admin, holders=20, stop_after=5)
    assert midway["won"] >= 5
    assert at_once["won"] + at_once["refused"] == midway["won"] + midway["refused"] == 20


def test_a_stop_refunds_only_what_is_left_of_each_payment(api: httpx.Client, db_engine: Engine,
                                                         admin: dict[str, str]) -> None:
    """A payment already refunding in full gets no second refund; one partly refunded gets the rest; the stop
    goes through for all of them (the payments are locked before what is left is read)."""
    from server.refunds.models import Refund

    doc = make_doctor(api, admin, department_code="endocrinology", fee_fen=3000, name="余额停诊医生")
    start = future_start(days=4, hour=9)
    slots = [s["id"] for s in make_schedule(api, admin, doctor_id=doc["id"], start=start, minutes=45,
                                            slot_minutes=15, capacity=1)["slots"]]
    booked = []
    for slot in slots:
        acc = holder(api, db_engine)
        r = book(api, acc["headers"], patient_id=acc["patient_id"], slot_id=slot, notice_version=acc["notice"])
        assert r.status_code == 201, r.text
        booked.append(r.json()["id"])
        _pay(db_engine, acc, booked[-1])
    full, part, fresh = booked
    t = now()
    with Session(db_engine) as s, s.begin():
        for appt, amount in ((full, 3000), (part, 1000)):
            pid = s.execute(select(Refund.payment_id).where(Refund.appointment_id == appt)).scalar()
            assert pid is None
            row = appointment_row(db_engine, appt)
            s.add(Refund(out_refund_no=f"RTEST{secrets.token_hex(8)}", payment_id=row["payment_id"],
                         account_id=row["account_id"], appointment_id=appt, amount_fen=amount, path="window",
                         status="processing", created_at=t, updated_at=t))
    headers = db_staff(db_engine, role="doctor", doctor_id=doc["id"])
    r = api.post(STOPS, headers=headers, json={"starts_at": start.isoformat(),
                                               "ends_at": (start + dt.timedelta(hours=1)).isoformat(),
                                               "reason": "临时外出会诊"})
    assert r.status_code == 201, r.text
    assert r.json()["cancelled_appointments"] == 3
    with Session(db_engine) as s:
        def requested(appt: int) -> list[int]:
            return list(s.execute(select(Refund.amount_fen).where(Refund.appointment_id == appt,
                                                                  Refund.path == "clinic_stop")).scalars())
        assert requested(full) == [] and requested(part) == [2000] and requested(fresh) == [3000]
    for appt in booked:
        assert appointment_row(db_engine, appt)["status"] == "cancelled_by_hospital"
        assert len(events_of(db_engine, object_type="appointment", object_id=appt, kind="refund.requested")) == 1
