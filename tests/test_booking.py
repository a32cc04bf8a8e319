"""Booking, the appointment list and records, check-in, the condition description and the workstation's views,
through the live server. Payment is the payments slice's: here a paid appointment is arranged in the database
(``mark_paid``), and ``confirm_payment`` is exercised directly against the same database."""
from __future__ import annotations

import datetime as dt
import io
import re
import threading
from collections import Counter
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from PIL import Image
from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from tests.booking_helpers import (
    V1,
    accept_notice,
    admin_headers,
    appointment_row,
    book,
    db_account,
    db_holders,
    db_staff,
    eligible_patient,
    future_start,
    make_doctor,
    make_schedule,
    mark_paid,
    move_appointment,
    now,
    set_appointment,
    slot_row,
    soon_start,
)
from tests.helpers import register_account

ABSENT = 2**53


@pytest.fixture(scope="module")
def admin(live_server: Any, db_engine: Engine) -> dict[str, str]:
    with live_server.client() as api:
        return admin_headers(api, db_engine)


@pytest.fixture()
def clinic(api: httpx.Client, admin: dict[str, str]) -> dict[str, Any]:
    """A doctor of endocrinology of this test's own, with a roomy session in two days."""
    doc = make_doctor(api, admin, department_code="endocrinology", fee_fen=3000)
    schedule = make_schedule(api, admin, doctor_id=doc["id"], start=future_start(days=2, hour=9), minutes=60,
                             slot_minutes=15, capacity=2)
    return {"doctor": doc, "schedule": schedule, "slots": [s["id"] for s in schedule["slots"]]}


def holder(api: httpx.Client, db_engine: Engine, *, department_code: str = "endocrinology",
           name: str = "李患者") -> dict[str, Any]:
    """An account that accepted the notice, with an eligible patient."""
    acc = db_account(db_engine)
    acc["notice"] = accept_notice(api, acc["headers"])
    acc["patient_id"] = eligible_patient(db_engine, acc["account_id"], department_code=department_code, name=name)
    return acc


def png() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (8, 8), (200, 30, 30)).save(buf, format="PNG")
    return buf.getvalue()


def upload(api: httpx.Client, headers: dict[str, str]) -> int:
    r = api.post(f"{V1}/files", headers=headers, files={"file": ("report.png", png(), "image/png")},
                 data={"purpose": "description"})
    assert r.status_code == 201, r.text
    return r.json()["id"]


def checked_in(api: httpx.Client, admin: dict[str, str], db_engine: Engine, *, doctor_id: int | None = None,
               acc: dict[str, Any] | None = None) -> tuple[dict[str, Any], int, int]:
    """A paid appointment a few minutes ahead, checked in; returns (holder, appointment id, doctor id)."""
    if doctor_id is None:
        doctor_id = make_doctor(api, admin, department_code="endocrinology")["id"]
        make_schedule(api, admin, doctor_id=doctor_id, start=soon_start(), minutes=30, slot_minutes=15, capacity=5)
    slots = api.get(f"{V1}/doctors/{doctor_id}/slots",
                    params={"date_from": soon_start().date().isoformat()}).json()
    slot = next(s for s in slots if s["bookable"])
    acc = acc or holder(api, db_engine)
    r = book(api, acc["headers"], patient_id=acc["patient_id"], slot_id=slot["id"], notice_version=acc["notice"])
    assert r.status_code == 201, r.text
    appt = r.json()["id"]
    mark_paid(db_engine, appt)
    r = api.post(f"{V1}/appointments/{appt}/check-in", headers=acc["headers"])
    assert r.status_code == 200, r.text
    return acc, appt, doctor_id


# --- booking -------------------------------------------------------------------------------------------------


def test_booking_holds_the_slot_until_payment(api: httpx.Client, db_engine: Engine, clinic: dict[str, Any]
                                              ) -> None:
    acc = register_account(api, name="王账号")  # the real registration path
    acc["account_id"] = acc["account"]["id"]
    version = accept_notice(api, acc["headers"])
    patient = eligible_patient(db_engine, acc["account_id"], department_code="endocrinology", name="王患者")
    slot_id = clinic["slots"][1]
    before = now()
    r = book(api, acc["headers"], patient_id=patient, slot_id=slot_id, notice_version=version)
    assert r.status_code == 201, r.text
    a = r.json()
    assert a["status"] == "pending_payment" and a["status_label"] == "待支付"
    assert re.fullmatch(r"A\d{14}[0-9a-f]{6}", a["number"])
    assert a["fee_fen"] == 3000 and a["doctor_id"] == clinic["doctor"]["id"]
    assert (a["patient_name"], a["department_name"]) == ("王患者", "内分泌科")
    hold = dt.datetime.fromisoformat(a["hold_expires_at"])
    assert dt.timedelta(minutes=14) < hold - before < dt.timedelta(minutes=16)
    assert a["hold_expires_at"].endswith("+08:00") and a["refund_status"] is None
    assert a["can_check_in"] is False and a["eligibility_visit"]["department"] == "内分泌科"
    opens, closes = (dt.datetime.fromisoformat(a[k]) for k in ("checkin_opens_at", "checkin_closes_at"))
    assert opens == dt.datetime.fromisoformat(a["starts_at"]) - dt.timedelta(minutes=30)
    assert closes == dt.datetime.fromisoformat(a["ends_at"]) + dt.timedelta(minutes=30)
    assert slot_row(db_engine, slot_id)["booked"] == 1
    slots = api.get(f"{V1}/doctors/{clinic['doctor']['id']}/slots",
                    params={"date_from": clinic["schedule"]["day"]}).json()
    assert next(s for s in slots if s["id"] == slot_id)["remaining"] == 1
    # the list (newest first) and the detail
    second = book(api, acc["headers"], patient_id=eligible_patient(db_engine, acc["account_id"],
                                                                   department_code="endocrinology", name="王二"),
                  slot_id=slot_id, notice_version=version)
    assert second.status_code == 201
    listed = api.get(f"{V1}/appointments", headers=acc["headers"]).json()
    assert [x["id"] for x in listed] == [second.json()["id"], a["id"]]
    assert listed[1]["doctor_name"] == clinic["doctor"]["name"] and listed[1]["status_label"] == "待支付"
    detail = api.get(f"{V1}/appointments/{a['id']}", headers=acc["headers"])
    assert detail.status_code == 200 and detail.json()["number"] == a["number"]
    # the event the doctor's workstation hears
    from server.events.models import Event

    with Session(db_engine) as s:
        ev = s.execute(select(Event).where(Event.object_type == "appointment", Event.object_id == a["id"])
                       ).scalars().all()
    assert [e.kind for e in ev] == ["appointment.pending_payment"]
    assert ev[0].doctor_id == clinic["doctor"]["id"] and ev[0].topic == "clinical"
    assert ev[0].payload["patient_name"] == "王患者" and ev[0].payload["number"] == a["number"]


def test_the_current_notice_must_be_accepted(api: httpx.Client, db_engine: Engine, clinic: dict[str, Any]) -> None:
    acc = db_account(db_engine)
    patient = eligible_patient(db_engine, acc["account_id"], department_code="endocrinology")
    version = api.get(f"{V1}/notice").json()["version"]
    r = book(api, acc["headers"], patient_id=patient, slot_id=clinic["slots"][0], notice_version=version)
    assert r.status_code == 409 and r.json()["code"] == "notice_not_accepted"
    assert "我同意" in r.json()["message"]
    accept_notice(api, acc["headers"])
    r = book(api, acc["headers"], patient_id=patient, slot_id=clinic["slots"][0], notice_version=version + 1)
    assert r.status_code == 409 and r.json()["code"] == "notice_outdated"
    assert api.get(f"{V1}/appointments", headers=acc["headers"]).json() == []
    assert slot_row(db_engine, clinic["slots"][0])["booked"] == 0


def test_a_patient_without_a_recent_visit_is_refused_with_the_reason(api: httpx.Client, db_engine: Engine,
                                                                     clinic: dict[str, Any]) -> None:
    acc = holder(api, db_engine, department_code="neurology")  # eligible elsewhere only
    r = book(api, acc["headers"], patient_id=acc["patient_id"], slot_id=clinic["slots"][0],
             notice_version=acc["notice"])
    assert r.status_code == 409 and r.json()["code"] == "not_eligible"
    assert r.json()["message"] == "六个月内无内分泌科门诊就诊记录，暂不能预约在线复诊，请到医院门诊就诊"
    assert slot_row(db_engine, clinic["slots"][0])["booked"] == 0


def test_a_full_slot_is_refused(api: httpx.Client, db_engine: Engine, admin: dict[str, str]) -> None:
    doc = make_doctor(api, admin)
    slot = make_schedule(api, admin, doctor_id=doc["id"], start=future_start(days=3, hour=16), minutes=15,
                         capacity=1)["slots"][0]["id"]
    first, second = holder(api, db_engine), holder(api, db_engine)
    assert book(api, first["headers"], patient_id=first["patient_id"], slot_id=slot,
                notice_version=first["notice"]).status_code == 201
    r = book(api, second["headers"], patient_id=second["patient_id"], slot_id=slot, notice_version=second["notice"])
    assert r.status_code == 409 and r.json() == {"code": "slot_full", "message": "该时段号源已约满，请选择其他时间",
                                                  "details": None}
    slots = api.get(f"{V1}/doctors/{doc['id']}/slots", params={"date_from": future_start(days=3).date().isoformat(),
                                                               "date_to": future_start(days=3).date().isoformat()})
    assert slots.json()[0]["remaining"] == 0 and slots.json()[0]["bookable"] is False


def test_one_active_appointment_per_patient_doctor_and_day(api: httpx.Client, db_engine: Engine,
                                                           clinic: dict[str, Any]) -> None:
    acc = holder(api, db_engine)
    first = book(api, acc["headers"], patient_id=acc["patient_id"], slot_id=clinic["slots"][0],
                 notice_version=acc["notice"])
    assert first.status_code == 201
    again = book(api, acc["headers"], patient_id=acc["patient_id"], slot_id=clinic["slots"][2],
                 notice_version=acc["notice"])
    assert again.status_code == 409 and again.json()["code"] == "duplicate_booking"
    assert "请勿重复预约" in again.json()["message"]
    # once the first is no longer active, the patient may book that day again
    set_appointment(db_engine, first.json()["id"], status="expired")
    assert book(api, acc["headers"], patient_id=acc["patient_id"], slot_id=clinic["slots"][2],
                notice_version=acc["notice"]).status_code == 201


def test_requests_the_fast_path_does_not_take_get_the_declared_routes_answers(api: httpx.Client, db_engine: Engine,
                                                                              clinic: dict[str, Any]) -> None:
    """server/appointments/routes.py answers plain bookings itself and hands every other request to the declared
    route: FastAPI's validation, authentication and lax parsing answer exactly as they did."""
    acc = holder(api, db_engine)
    ok = {"patient_id": acc["patient_id"], "slot_id": clinic["slots"][0], "notice_version": acc["notice"]}
    url = f"{V1}/appointments"
    cases = [
        ({}, ok, 401, "unauthenticated"),
        ({"Authorization": "Basic abc"}, ok, 401, "unauthenticated"),
        ({"Authorization": "Bearer nope"}, ok, 401, "session_expired"),
        (acc["headers"], {**ok, "slot_id": 0}, 422, "validation_error"),
        (acc["headers"], {**ok, "slot_id": 2**53 + 1}, 422, "validation_error"),
        (acc["headers"], {**ok, "slot_id": "x"}, 422, "validation_error"),
        (acc["headers"], {"patient_id": acc["patient_id"], "slot_id": clinic["slots"][0]}, 422, "validation_error"),
        (acc["headers"], [ok], 422, "validation_error"),
    ]
    for headers, body, status, code in cases:
        r = api.post(url, headers=headers, json=body)
        assert (r.status_code, r.json()["code"]) == (status, code), (headers, body, r.text)
    r = api.post(url, headers={**acc["headers"], "Content-Type": "application/json"}, content=b'{"patient_id": 1,')
    assert (r.status_code, r.json()["code"]) == (422, "validation_error")
    assert r.json()["details"][0]["type"] == "json_invalid"
    r = api.post(url, headers=acc["headers"], json={**ok, "slot_id": 0, "patient_id": "x"})
    assert [d["field"] for d in r.json()["details"]] == ["patient_id", "slot_id"]
    # what pydantic's lax mode accepts (digits in a string, an extra key) books through the declared route
    r = api.post(url, headers=acc["headers"], json={**ok, "slot_id": str(ok["slot_id"]), "note": "x"})
    assert r.status_code == 201, r.text
    assert api.post(url, headers=acc["headers"], json=ok).json()["code"] == "duplicate_booking"
    assert slot_row(db_engine, clinic["slots"][0])["booked"] == 1


def test_a_slot_that_has_started_cannot_be_booked(api: httpx.Client, db_engine: Engine, admin: dict[str, str]
                                                  ) -> None:
    doc = make_doctor(api, admin)
    slot = make_schedule(api, admin, doctor_id=doc["id"], start=future_start(days=2, hour=20), minutes=15,
                         capacity=3)["slots"][0]["id"]
    from server.catalogue.models import Slot

    with Session(db_engine) as s, s.begin():
        row = s.get(Slot, slot)
        row.starts_at, row.ends_at = now() - dt.timedelta(minutes=5), now() + dt.timedelta(minutes=10)
    acc = holder(api, db_engine)
    r = book(api, acc["headers"], patient_id=acc["patient_id"], slot_id=slot, notice_version=acc["notice"])
    assert r.status_code == 409 and r.json()["code"] == "slot_started"


def test_fifty_clients_race_for_the_last_place(api: httpx.Client, db_engine: Engine, admin: dict[str, str],
                                               live_server: Any) -> None:
    doc = make_doctor(api, admin, department_code="hematology")
    slot = make_schedule(api, admin, doctor_id=doc["id"], start=future_start(days=6, hour=10), minutes=15,
                         capacity=1)["slots"][0]["id"]
    holders = db_holders(db_engine, 50, department_code="hematology",
                         notice_version=api.get(f"{V1}/notice").json()["version"])
    barrier = threading.Barrier(len(holders))
    results: list[tuple[int, str]] = []
    lock = threading.Lock()

    def attempt(h: dict[str, Any]) -> None:
        with live_server.client() as c:
            barrier.wait()
            r = book(c, h["headers"], patient_id=h["patient_id"], slot_id=slot, notice_version=h["notice"])
        with lock:
            results.append((r.status_code, r.json().get("code", "")))

    threads = [threading.Thread(target=attempt, args=(h,)) for h in holders]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert len(results) == 50
    counts = Counter(status for status, _ in results)
    assert counts == {201: 1, 409: 49}, results
    assert {code for status, code in results if status == 409} == {"slot_full"}
    assert slot_row(db_engine, slot)["booked"] == 1


# --- ownership -------------------------------------------------------------------------------------------------


def test_another_accounts_appointment_answers_like_an_absent_one(api: httpx.Client, db_engine: Engine,
                                                                 clinic: dict[str, Any]) -> None:
    owner, other = holder(api, db_engine), holder(api, db_engine)
    appt = book(api, owner["headers"], patient_id=owner["patient_id"], slot_id=clinic["slots"][0],
                notice_version=owner["notice"]).json()["id"]
    calls = [
        ("GET", "/appointments/{id}", None),
        ("POST", "/appointments/{id}/check-in", None),
        ("POST", "/appointments/{id}/description", {"text": "头晕", "file_ids": []}),
    ]
    for method, path, body in calls:
        theirs = api.request(method, V1 + path.format(id=appt), headers=other["headers"], json=body)
        absent = api.request(method, V1 + path.format(id=ABSENT), headers=other["headers"], json=body)
        assert theirs.status_code == absent.status_code == 404, (path, theirs.text)
        assert theirs.json() == absent.json()
    assert api.get(f"{V1}/appointments", headers=other["headers"]).json() == []
    # booking with someone else's patient
    theirs = book(api, other["headers"], patient_id=owner["patient_id"], slot_id=clinic["slots"][1],
                  notice_version=other["notice"])
    absent = book(api, other["headers"], patient_id=ABSENT, slot_id=clinic["slots"][1],
                  notice_version=other["notice"])
    assert theirs.status_code == absent.status_code == 404 and theirs.json() == absent.json()
    assert api.get(f"{V1}/appointments/{appt}").status_code == 401


# --- the day of the visit ----------------------------------------------------------------------------------------


def test_check_in_only_when_paid_and_inside_the_window(api: httpx.Client, db_engine: Engine,
                                                       clinic: dict[str, Any], admin: dict[str, str]) -> None:
    acc = holder(api, db_engine)
    appt = book(api, acc["headers"], patient_id=acc["patient_id"], slot_id=clinic["slots"][0],
                notice_version=acc["notice"]).json()
    unpaid = api.post(f"{V1}/appointments/{appt['id']}/check-in", headers=acc["headers"])
    assert unpaid.status_code == 409 and unpaid.json()["code"] == "invalid_state"
    assert "支付" in unpaid.json()["message"]
    mark_paid(db_engine, appt["id"])
    early = api.post(f"{V1}/appointments/{appt['id']}/check-in", headers=acc["headers"])
    assert early.status_code == 409 and early.json()["code"] == "checkin_not_open"
    opens = dt.datetime.fromisoformat(appt["checkin_opens_at"])
    closes = dt.datetime.fromisoformat(appt["checkin_closes_at"])
    assert f"请在 {opens.month}月{opens.day}日 {opens:%H:%M}–{closes:%H:%M} 之间签到" in early.json()["message"]
    assert appointment_row(db_engine, appt["id"])["status"] == "booked"

    # a session starting in a few minutes: the window is open
    acc2, appt2, _ = checked_in(api, admin, db_engine)
    detail = api.get(f"{V1}/appointments/{appt2}", headers=acc2["headers"]).json()
    assert detail["status"] == "checked_in" and detail["checked_in_at"] and detail["can_check_in"] is False
    twice = api.post(f"{V1}/appointments/{appt2}/check-in", headers=acc2["headers"])
    assert twice.status_code == 409 and twice.json()["code"] == "invalid_state"

    # the window has closed
    acc3 = holder(api, db_engine)
    late = book(api, acc3["headers"], patient_id=acc3["patient_id"], slot_id=clinic["slots"][1],
                notice_version=acc3["notice"]).json()["id"]
    mark_paid(db_engine, late)
    move_appointment(db_engine, late, starts_at=now() - dt.timedelta(minutes=50))
    r = api.post(f"{V1}/appointments/{late}/check-in", headers=acc3["headers"])
    if r.status_code == 409 and r.json()["code"] == "invalid_state":  # the scheduler marked it missed first
        assert appointment_row(db_engine, late)["status"] == "missed"
    else:
        assert r.status_code == 409 and r.json()["code"] == "checkin_not_open"
        assert re.search(r"请在 \d\d:\d\d–\d\d:\d\d 之间签到", r.json()["message"])


def test_description_after_check_in_starts_waiting_and_is_then_fixed(api: httpx.Client, db_engine: Engine,
                                                                     admin: dict[str, str],
                                                                     clinic: dict[str, Any]) -> None:
    acc, appt, _ = checked_in(api, admin, db_engine)
    too_many = api.post(f"{V1}/appointments/{appt}/description", headers=acc["headers"],
                        json={"text": "头晕一周", "file_ids": list(range(1, 11))})
    assert too_many.status_code == 422 and too_many.json()["code"] == "too_many_files"
    empty = api.post(f"{V1}/appointments/{appt}/description", headers=acc["headers"],
                     json={"text": "", "file_ids": []})
    assert empty.status_code == 422
    long = api.post(f"{V1}/appointments/{appt}/description", headers=acc["headers"],
                    json={"text": "很" * 2001, "file_ids": []})
    assert long.status_code == 422
    stranger = db_account(db_engine)
    foreign = upload(api, stranger["headers"])
    theirs = api.post(f"{V1}/appointments/{appt}/description", headers=acc["headers"],
                      json={"text": "头晕一周", "file_ids": [foreign]})
    assert theirs.status_code == 404 and theirs.json()["code"] == "file_not_found"
    assert appointment_row(db_engine, appt)["status"] == "checked_in"
    files = [upload(api, acc["headers"]), upload(api, acc["headers"])]
    r = api.post(f"{V1}/appointments/{appt}/description", headers=acc["headers"],
                 json={"text": "  空腹血糖8.5，近一周头晕。  ", "file_ids": files})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["status"] == "waiting" and body["waiting_since"]
    assert body["description"]["text"] == "空腹血糖8.5，近一周头晕。" and body["description"]["file_ids"] == files
    again = api.post(f"{V1}/appointments/{appt}/description", headers=acc["headers"],
                     json={"text": "改一下", "file_ids": []})
    assert again.status_code == 409 and again.json()["code"] == "invalid_state"
    assert "不能修改" in again.json()["message"]
    # before check-in it is refused too
    other = holder(api, db_engine)
    booked = book(api, other["headers"], patient_id=other["patient_id"], slot_id=clinic["slots"][3],
                  notice_version=other["notice"]).json()["id"]
    mark_paid(db_engine, booked)
    early = api.post(f"{V1}/appointments/{booked}/description", headers=other["headers"],
                     json={"text": "头晕", "file_ids": []})
    assert early.status_code == 409 and "签到" in early.json()["message"]


# --- the workstation -------------------------------------------------------------------------------------------


def test_the_doctor_queue_holds_only_that_doctors_patients(api: httpx.Client, db_engine: Engine,
                                                           admin: dict[str, str]) -> None:
    acc_a, appt_a, doctor_a = checked_in(api, admin, db_engine)
    acc_a2, appt_a2, _ = checked_in(api, admin, db_engine, doctor_id=doctor_a)
    _acc_b, appt_b, _doctor_b = checked_in(api, admin, db_engine)
    r = api.post(f"{V1}/appointments/{appt_a2}/description", headers=acc_a2["headers"],
                 json={"text": "手抖", "file_ids": []})
    assert r.status_code == 200
    doc_a = db_staff(db_engine, role="doctor", doctor_id=doctor_a)
    queue = api.get(f"{V1}/staff/queue", headers=doc_a)
    assert queue.status_code == 200, queue.text
    rows = queue.json()
    assert {x["id"] for x in rows} == {appt_a, appt_a2}
    waiting = next(x for x in rows if x["id"] == appt_a2)
    assert waiting["status"] == "waiting" and waiting["description"]["text"] == "手抖"
    assert waiting["waiting_s"] is not None and waiting["waiting_s"] >= 0
    p = waiting["patient"]
    assert p["name"] == "李患者" and p["sex"] == "female" and p["age"] >= 50
    assert "*" in p["id_number_masked"] and p["card_no"]
    assert waiting["eligibility_visit"]["department"] == "内分泌科"
    starts = [x["starts_at"] for x in rows]
    assert starts == sorted(starts)

    # the other doctor's appointment answers like an absent one
    theirs = api.get(f"{V1}/staff/appointments/{appt_b}", headers=doc_a)
    absent = api.get(f"{V1}/staff/appointments/{ABSENT}", headers=doc_a)
    assert theirs.status_code == absent.status_code == 404 and theirs.json() == absent.json()
    mine = api.get(f"{V1}/staff/appointments/{appt_a2}", headers=doc_a)
    assert mine.status_code == 200 and mine.json()["clinical"] is True
    assert mine.json()["description"]["text"] == "手抖"
    assert appt_b not in {x["id"] for x in api.get(f"{V1}/staff/queue", headers=doc_a).json()}
    assert api.get(f"{V1}/staff/queue", headers=admin).status_code == 403
    assert acc_a  # the holder is unused beyond arranging


def test_staff_views_by_role(api: httpx.Client, db_engine: Engine, admin: dict[str, str]) -> None:
    acc, appt, _ = checked_in(api, admin, db_engine)
    assert api.post(f"{V1}/appointments/{appt}/description", headers=acc["headers"],
                    json={"text": "胸闷气短", "file_ids": []}).status_code == 200
    set_appointment(db_engine, appt, notes="随访", diagnosis_name="2型糖尿病")
    seen = api.get(f"{V1}/staff/appointments/{appt}", headers=admin).json()
    assert seen["clinical"] is True and seen["description"]["text"] == "胸闷气短" and seen["notes"] == "随访"
    clerk = db_staff(db_engine, role="clerk")
    c = api.get(f"{V1}/staff/appointments/{appt}", headers=clerk)
    assert c.status_code == 200
    body = c.json()
    assert body["clinical"] is False and body["patient"]["name"] == "李患者"
    for key in ("description", "notes", "diagnosis_name", "diagnosis_code", "eligibility_visit"):
        assert body[key] is None, key
    assert "胸闷" not in c.text and "随访" not in c.text and "糖尿病" not in c.text
    pharmacist = db_staff(db_engine, role="pharmacist")
    assert api.get(f"{V1}/staff/appointments/{appt}", headers=pharmacist).status_code == 404
    assert api.get(f"{V1}/staff/appointments/{appt}", headers=acc["headers"]).status_code == 401


def test_records_list_paid_visits_with_the_diagnosis_once_completed(api: httpx.Client, db_engine: Engine,
                                                                    clinic: dict[str, Any]) -> None:
    acc = holder(api, db_engine)
    done = book(api, acc["headers"], patient_id=acc["patient_id"], slot_id=clinic["slots"][0],
                notice_version=acc["notice"]).json()["id"]
    other_patient = eligible_patient(db_engine, acc["account_id"], department_code="endocrinology", name="李二")
    unpaid = book(api, acc["headers"], patient_id=other_patient, slot_id=clinic["slots"][1],
                  notice_version=acc["notice"]).json()["id"]
    set_appointment(db_engine, done, status="completed", paid_at=now(), completed_at=now(),
                    diagnosis_name="2型糖尿病", diagnosis_code="E11.9")
    records = api.get(f"{V1}/records", headers=acc["headers"])
    assert records.status_code == 200
    ids = [r["id"] for r in records.json()]
    assert ids == [done] and unpaid not in ids
    rec = records.json()[0]
    assert rec["status"] == "completed" and rec["status_label"] == "已完成" and rec["diagnosis"] == "2型糖尿病"
    assert api.get(f"{V1}/records", headers=db_account(db_engine)["headers"]).json() == []


# --- confirm_payment, called by the payments slice ---------------------------------------------------------------


@pytest.fixture(scope="module")
def service_db(live_server: Any) -> Iterator[Any]:
    """The service's own database layer in this process, on the live server's database."""
    from server.config import Settings
    from server.db import Database

    settings = Settings(data_dir=live_server.data_dir, database_url=live_server.database_url,
                        encryption_key=live_server.env.get("CLINIC_ENCRYPTION_KEY", ""))
    db = Database(settings)
    yield db
    db.dispose()


def test_a_bookings_rows_read_back_like_the_orms(api: httpx.Client, service_db: Any, clinic: dict[str, Any]
                                                 ) -> None:
    """On SQLite the booking's write section writes its rows without SQLAlchemy (appointments/service.py): the
    appointment, the event and the audit entry must read back exactly as the answer and the audit chain say."""
    from server.appointments.models import Appointment
    from server.audit.models import AuditEntry
    from server.audit.service import entry_hash, verify
    from server.events.models import Event

    acc = holder(api, service_db.engine, name="张核对")
    a = book(api, acc["headers"], patient_id=acc["patient_id"], slot_id=clinic["slots"][3],
             notice_version=acc["notice"]).json()
    with service_db.session(write=False) as s:
        appt = s.get(Appointment, a["id"])
        ev = s.execute(select(Event).where(Event.object_type == "appointment", Event.object_id == a["id"])
                       ).scalar_one()
        entry = s.execute(select(AuditEntry).where(AuditEntry.object_type == "appointment",
                                                   AuditEntry.object_id == a["id"])).scalar_one()
        prev = s.execute(select(AuditEntry.hash).where(AuditEntry.id < entry.id).order_by(AuditEntry.id.desc())
                         .limit(1)).scalar()
        assert list(verify(s)) == []
    for key in ("starts_at", "ends_at", "hold_expires_at", "created_at"):
        assert getattr(appt, key) == dt.datetime.fromisoformat(a[key]), key
        assert getattr(appt, key).utcoffset() == dt.timedelta(hours=8)
    assert (appt.number, appt.status, appt.account_id, appt.patient_id, appt.slot_id, appt.fee_fen) == (
        a["number"], "pending_payment", acc["account_id"], acc["patient_id"], clinic["slots"][3], 3000)
    assert (appt.end_reason, appt.diagnosis_code, appt.diagnosis_name, appt.notes) == ("", "", "", "")
    assert appt.paid_at is None and appt.payment_id is None and appt.eligibility_visit_id is not None
    assert (ev.kind, ev.topic, ev.doctor_id, ev.account_id) == ("appointment.pending_payment", "clinical",
                                                                clinic["doctor"]["id"], acc["account_id"])
    assert ev.payload == {"appointment_id": a["id"], "number": a["number"], "status": "pending_payment",
                          "status_label": "待支付", "doctor_id": clinic["doctor"]["id"],
                          "patient_id": acc["patient_id"], "patient_name": "张核对", "starts_at": a["starts_at"],
                          "ends_at": a["ends_at"], "waiting_since": None, "called_at": None, "completed_at": None}
    assert (entry.action, entry.actor_type, entry.actor_id, entry.result) == (
        "appointment.pending_payment", "account", acc["account_id"], "ok")
    assert entry.details == {**ev.payload, "from": None, "fee_fen": 3000, "hold_expires_at": a["hold_expires_at"]}
    assert entry.at.utcoffset() == dt.timedelta(hours=8) and ev.at <= entry.at
    assert entry.prev_hash == prev and entry.hash == entry_hash(prev, entry)


@pytest.mark.parametrize("change", ["duplicate", "patient_removed", "slot_taken"])
def test_what_changes_between_the_checks_and_the_write_is_refused(api: httpx.Client, db_engine: Engine,
                                                                  service_db: Any, admin: dict[str, str],
                                                                  monkeypatch: pytest.MonkeyPatch,
                                                                  change: str) -> None:
    """A booking reads its checks first and re-checks in the write transaction: a change committed in between
    (another booking of the patient with the doctor that day, the patient removed, the last place taken) is
    refused there with the same answer as when it was seen first, and writes nothing."""
    from server.actor import Actor
    from server.appointments import service
    from server.catalogue import service as catalogue
    from server.errors import AppError
    from server.patients.models import Patient

    doc = make_doctor(api, admin)
    slots = [s["id"] for s in make_schedule(api, admin, doctor_id=doc["id"], start=future_start(days=4, hour=14),
                                            minutes=30, slot_minutes=15, capacity=1)["slots"]]
    acc, other = holder(api, db_engine), holder(api, db_engine)
    checks = catalogue.check_eligibility

    def meanwhile(session: Session, **kw: Any) -> Any:
        result = checks(session, **kw)
        if change == "duplicate":
            assert book(api, acc["headers"], patient_id=acc["patient_id"], slot_id=slots[1],
                        notice_version=acc["notice"]).status_code == 201
        elif change == "slot_taken":
            assert book(api, other["headers"], patient_id=other["patient_id"], slot_id=slots[0],
                        notice_version=other["notice"]).status_code == 201
        else:
            with Session(db_engine) as s, s.begin():
                s.get(Patient, acc["patient_id"]).removed_at = now()
        return result

    monkeypatch.setattr(catalogue, "check_eligibility", meanwhile)
    with service_db.session() as s, pytest.raises(AppError) as refused:
        service.book(s, actor=Actor("account", acc["account_id"]), account_id=acc["account_id"],
                     patient_id=acc["patient_id"], slot_id=slots[0], notice_version=acc["notice"])
    expected = {"duplicate": ("duplicate_booking", 409), "slot_taken": ("slot_full", 409),
                "patient_removed": ("not_found", 404)}[change]
    assert (refused.value.code, refused.value.status) == expected
    assert slot_row(db_engine, slots[0])["booked"] == (1 if change == "slot_taken" else 0)


def _confirm(db: Any, appt: int, payment: int) -> Any:
    from server.actor import Actor
    from server.appointments.service import confirm_payment

    with db.transaction() as s:
        a = confirm_payment(s, appointment_id=appt, payment_id=payment, actor=Actor("gateway"))
        return a.status


def test_confirm_payment_books_once_and_is_idempotent(api: httpx.Client, db_engine: Engine, service_db: Any,
                                                      clinic: dict[str, Any]) -> None:
    from server.errors import AppError

    acc = holder(api, db_engine)
    appt = book(api, acc["headers"], patient_id=acc["patient_id"], slot_id=clinic["slots"][0],
                notice_version=acc["notice"]).json()["id"]
    assert _confirm(service_db, appt, 9001) == "booked"
    row = appointment_row(db_engine, appt)
    assert row["payment_id"] == 9001 and row["paid_at"] is not None
    assert _confirm(service_db, appt, 9001) == "booked"  # the same notification again: nothing changes
    with pytest.raises(AppError) as e:
        _confirm(service_db, appt, 9002)
    assert e.value.code == "already_paid"
    assert slot_row(db_engine, clinic["slots"][0])["booked"] == 1
    from server.events.models import Event

    with Session(db_engine) as s:
        kinds = s.execute(select(Event.kind).where(Event.object_type == "appointment", Event.object_id == appt)
                          .order_by(Event.id)).scalars().all()
    assert kinds == ["appointment.pending_payment", "appointment.booked"]


def test_a_late_payment_retakes_a_free_place_or_reports_the_loss(api: httpx.Client, db_engine: Engine,
                                                                 service_db: Any, admin: dict[str, str]) -> None:
    from server.errors import AppError
    from server.scheduler import expire_holds

    doc = make_doctor(api, admin)
    slot = make_schedule(api, admin, doctor_id=doc["id"], start=future_start(days=4, hour=18), minutes=15,
                         capacity=1)["slots"][0]["id"]
    late, rival = holder(api, db_engine), holder(api, db_engine)
    appt = book(api, late["headers"], patient_id=late["patient_id"], slot_id=slot,
                notice_version=late["notice"]).json()["id"]
    set_appointment(db_engine, appt, hold_expires_at=now() - dt.timedelta(seconds=1))
    expire_holds(service_db)
    assert appointment_row(db_engine, appt)["status"] == "expired"
    assert slot_row(db_engine, slot)["booked"] == 0
    # the place is still free: the payment books it again
    assert _confirm(service_db, appt, 7001) == "booked"
    assert slot_row(db_engine, slot)["booked"] == 1

    # now the place goes to someone else while the first holder's payment is late
    appt2 = book(api, rival["headers"], patient_id=rival["patient_id"], slot_id=slot,
                 notice_version=rival["notice"])
    assert appt2.status_code == 409  # full
    set_appointment(db_engine, appt, status="expired", payment_id=None, paid_at=None)
    from server.catalogue.models import Slot

    with Session(db_engine) as s, s.begin():
        s.get(Slot, slot).booked = 0
    taken = book(api, rival["headers"], patient_id=rival["patient_id"], slot_id=slot, notice_version=rival["notice"])
    assert taken.status_code == 201
    with pytest.raises(AppError) as e:
        _confirm(service_db, appt, 7002)
    assert e.value.code == "slot_lost_after_payment" and e.value.status == 409
    assert appointment_row(db_engine, appt)["status"] == "expired"
    assert slot_row(db_engine, slot)["booked"] == 1


def test_illegal_transitions_are_refused(service_db: Any, api: httpx.Client, db_engine: Engine,
                                         clinic: dict[str, Any]) -> None:
    from server.actor import SYSTEM
    from server.appointments.models import Appointment
    from server.appointments.service import ALLOWED, transition
    from server.errors import InvalidState

    assert "checked_in" not in ALLOWED["pending_payment"] and ALLOWED["cancelled"] == frozenset()
    acc = holder(api, db_engine)
    appt = book(api, acc["headers"], patient_id=acc["patient_id"], slot_id=clinic["slots"][0],
                notice_version=acc["notice"]).json()["id"]
    with service_db.transaction() as s:
        a = s.get(Appointment, appt)
        with pytest.raises(InvalidState) as e:
            transition(s, a, "completed", actor=SYSTEM)
    assert "待支付" in e.value.message
    assert appointment_row(db_engine, appt)["status"] == "pending_payment"
    # a stale view loses: the row changed under it, so the conditional update touches nothing
    with service_db.session(write=False) as s:
        stale = s.get(Appointment, appt)
    mark_paid(db_engine, appt)
    booked_before = slot_row(db_engine, clinic["slots"][0])["booked"]
    with service_db.transaction() as s:
        a = s.merge(stale, load=False)
        assert a.status == "pending_payment"
        with pytest.raises(InvalidState):
            transition(s, a, "expired", actor=SYSTEM)
    assert appointment_row(db_engine, appt)["status"] == "booked"
    assert slot_row(db_engine, clinic["slots"][0])["booked"] == booked_before
