"""The catalogue through the live server: departments, doctors, slots, the notice, eligibility, HIS import and the
admin's doctors and schedules."""
from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
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
    departments,
    eligible_patient,
    future_start,
    id_digest,
    make_doctor,
    make_schedule,
    new_card,
    now,
    wait_for,
)

ABSENT = 2**53


@pytest.fixture(scope="module")
def admin(live_server: Any, db_engine: Engine) -> dict[str, str]:
    with live_server.client() as api:
        return admin_headers(api, db_engine)


# --- public reads ----------------------------------------------------------------------------------------------


def test_departments_are_the_four_online_ones_in_order(api: httpx.Client) -> None:
    r = api.get(f"{V1}/departments")
    assert r.status_code == 200
    seed = [(d["code"], d["name"]) for d in r.json()][:4]
    assert seed == [("bone_tumor", "骨肿瘤科"), ("neurology", "神经内科"), ("endocrinology", "内分泌科"),
                    ("hematology", "血液科")]


def test_doctors_of_a_department_and_one_doctor(api: httpx.Client, admin: dict[str, str]) -> None:
    made = make_doctor(api, admin, department_code="neurology", fee_fen=4500)
    neurology = departments(api)["neurology"]
    r = api.get(f"{V1}/doctors", params={"department_id": neurology["id"]})
    assert r.status_code == 200
    listed = r.json()
    assert listed and all(d["department_id"] == neurology["id"] for d in listed)
    mine = next(d for d in listed if d["id"] == made["id"])
    assert mine["fee_fen"] == 4500 and mine["title"] == "主治医师" and mine["department_name"] == "神经内科"
    assert mine["photo_url"] is None and mine["introduction"] == "测试医生"
    one = api.get(f"{V1}/doctors/{made['id']}")
    assert one.status_code == 200 and one.json() == mine
    missing = api.get(f"{V1}/doctors/{ABSENT}")
    assert missing.status_code == 404 and missing.json()["code"] == "not_found"
    assert api.get(f"{V1}/doctors/{ABSENT}/slots").status_code == 404


def test_slots_of_a_doctor_in_a_bounded_range(api: httpx.Client, admin: dict[str, str]) -> None:
    doc = make_doctor(api, admin)
    start = future_start(days=3, hour=14)
    schedule = make_schedule(api, admin, doctor_id=doc["id"], start=start, minutes=60, slot_minutes=20,
                             capacity=3)
    assert len(schedule["slots"]) == 3
    day = start.date().isoformat()
    r = api.get(f"{V1}/doctors/{doc['id']}/slots", params={"date_from": day, "date_to": day})
    assert r.status_code == 200
    slots = r.json()
    assert [s["id"] for s in slots] == [s["id"] for s in schedule["slots"]]
    first = slots[0]
    assert dt.datetime.fromisoformat(first["starts_at"]) == start
    assert first["starts_at"].endswith("+08:00")
    assert (first["capacity"], first["remaining"], first["status"], first["bookable"]) == (3, 3, "open", True)
    # other days are not included; the default range starts today
    assert api.get(f"{V1}/doctors/{doc['id']}/slots",
                   params={"date_from": (start.date() + dt.timedelta(days=1)).isoformat()}).json() == []
    assert len(api.get(f"{V1}/doctors/{doc['id']}/slots").json()) == 3
    too_long = api.get(f"{V1}/doctors/{doc['id']}/slots",
                       params={"date_from": day, "date_to": (start.date() + dt.timedelta(days=31)).isoformat()})
    assert too_long.status_code == 422 and too_long.json()["code"] == "date_range_too_long"
    backwards = api.get(f"{V1}/doctors/{doc['id']}/slots",
                        params={"date_from": day, "date_to": (start.date() - dt.timedelta(days=1)).isoformat()})
    assert backwards.status_code == 422
    absurd = api.get(f"{V1}/doctors/{doc['id']}/slots", params={"date_from": "9999-12-31"})
    assert absurd.status_code == 422


def test_notice_is_public_and_only_the_current_version_can_be_accepted(api: httpx.Client,
                                                                        db_engine: Engine) -> None:
    r = api.get(f"{V1}/notice")
    assert r.status_code == 200
    notice = r.json()
    assert notice["version"] >= 1 and notice["title"] and "六个月" in notice["body"]
    assert api.post(f"{V1}/notice/accept", json={"version": notice["version"]}).status_code == 401
    acc = db_account(db_engine)
    old = api.post(f"{V1}/notice/accept", headers=acc["headers"], json={"version": notice["version"] + 1})
    assert old.status_code == 409 and old.json()["code"] == "notice_outdated"
    assert "复诊须知" in old.json()["message"]
    for _ in range(2):  # accepting again is harmless
        assert api.post(f"{V1}/notice/accept", headers=acc["headers"],
                        json={"version": notice["version"]}).status_code == 204


# --- eligibility -----------------------------------------------------------------------------------------------


def test_eligibility_by_card_with_the_qualifying_visit(api: httpx.Client, db_engine: Engine) -> None:
    acc = db_account(db_engine)
    deps = departments(api)
    patient = eligible_patient(db_engine, acc["account_id"], department_code="hematology", days_ago=40)
    r = api.get(f"{V1}/eligibility", headers=acc["headers"],
                params={"patient_id": patient, "department_id": deps["hematology"]["id"]})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["eligible"] is True and "可预约在线复诊" in body["reason"]
    assert body["visit"] == {"visit_date": (now().date() - dt.timedelta(days=40)).isoformat(),
                             "department": "血液科", "doctor_name": "王医生", "diagnosis": "2型糖尿病"}
    # the same patient has no visit in neurology
    r = api.get(f"{V1}/eligibility", headers=acc["headers"],
                params={"patient_id": patient, "department_id": deps["neurology"]["id"]})
    assert r.json() == {"eligible": False, "visit": None,
                        "reason": "六个月内无神经内科门诊就诊记录，暂不能预约在线复诊，请到医院门诊就诊"}


def test_eligibility_refuses_a_visit_older_than_six_months(api: httpx.Client, db_engine: Engine) -> None:
    acc = db_account(db_engine)
    card = new_card()
    db_visit(db_engine, department_code="endocrinology", days_ago=200, card_no=card)
    patient = db_patient(db_engine, acc["account_id"], card_no=card)
    r = api.get(f"{V1}/eligibility", headers=acc["headers"],
                params={"patient_id": patient, "department_id": departments(api)["endocrinology"]["id"]})
    body = r.json()
    assert body["eligible"] is False and body["visit"] is None
    assert "已超过六个月" in body["reason"] and "内分泌科" in body["reason"]


def test_eligibility_by_id_number_digest(api: httpx.Client, db_engine: Engine, live_server: Any) -> None:
    acc = db_account(db_engine)
    digest = id_digest(live_server, "11010519491231002X")
    db_visit(db_engine, department_code="bone_tumor", days_ago=10, digest=digest, diagnosis="骨肉瘤术后")
    patient = db_patient(db_engine, acc["account_id"], digest=digest)  # no card at all
    r = api.get(f"{V1}/eligibility", headers=acc["headers"],
                params={"patient_id": patient, "department_id": departments(api)["bone_tumor"]["id"]})
    assert r.json()["eligible"] is True and r.json()["visit"]["diagnosis"] == "骨肉瘤术后"


def test_eligibility_of_another_accounts_patient_is_not_found(api: httpx.Client, db_engine: Engine) -> None:
    owner, other = db_account(db_engine), db_account(db_engine)
    patient = eligible_patient(db_engine, owner["account_id"], department_code="hematology")
    dep = departments(api)["hematology"]["id"]
    theirs = api.get(f"{V1}/eligibility", headers=other["headers"],
                     params={"patient_id": patient, "department_id": dep})
    absent = api.get(f"{V1}/eligibility", headers=other["headers"],
                     params={"patient_id": ABSENT, "department_id": dep})
    assert theirs.status_code == absent.status_code == 404
    assert theirs.json() == absent.json()
    assert api.get(f"{V1}/eligibility", params={"patient_id": patient, "department_id": dep}).status_code == 401
    no_dep = api.get(f"{V1}/eligibility", headers=owner["headers"],
                     params={"patient_id": patient, "department_id": ABSENT})
    assert no_dep.status_code == 404


# --- HIS import ------------------------------------------------------------------------------------------------

HEADER = "card_type,card_no,id_number,patient_name,department_code,visit_date,doctor_name,diagnosis\n"


def _his_count(engine: Engine) -> int:
    from server.catalogue.models import HisVisit

    with Session(engine) as s:
        return s.execute(select(func.count()).select_from(HisVisit)).scalar_one()


def test_import_visits_is_all_or_nothing_and_idempotent(live_server: Any, db_engine: Engine, api: httpx.Client,
                                                        tmp_path: Path) -> None:
    card = new_card()
    day = (now().date() - dt.timedelta(days=20)).isoformat()
    good = tmp_path / "visits.csv"
    good.write_text(HEADER
                    + f"hospital,{card},,赵导入,neurology,{day},刘志强,癫痫\n"
                    + f",,11010519491231002X,钱导入,hematology,{day},黄志明,缺铁性贫血\n"
                    + f"hospital,{card},,赵导入,neurology,{day},刘志强,癫痫\n",  # a repeat within the file
                    encoding="utf-8")
    before = _his_count(db_engine)
    first = live_server.cli("import-visits", str(good))
    assert first.returncode == 0, first.stderr
    assert "2 imported" in first.stdout and "1 duplicate" in first.stdout
    assert _his_count(db_engine) == before + 2
    again = live_server.cli("import-visits", str(good))
    assert again.returncode == 0 and "0 imported" in again.stdout and "3 duplicate" in again.stdout
    assert _his_count(db_engine) == before + 2

    # the imported card makes its holder eligible
    acc = db_account(db_engine)
    patient = db_patient(db_engine, acc["account_id"], name="赵导入", card_no=card)
    r = api.get(f"{V1}/eligibility", headers=acc["headers"],
                params={"patient_id": patient, "department_id": departments(api)["neurology"]["id"]})
    assert r.json()["eligible"] is True and r.json()["visit"]["doctor_name"] == "刘志强"

    bad = tmp_path / "bad.csv"
    tomorrow = (now().date() + dt.timedelta(days=1)).isoformat()
    bad.write_text(HEADER
                   + f"hospital,{new_card()},,孙好行,neurology,{day},,\n"
                   + f"hospital,{new_card()},,李坏行,cardiology,{day},,\n"
                   + f"hospital,{new_card()},,周坏行,neurology,2026/01/01,,\n"
                   + f"hospital,{new_card()},,吴坏行,neurology,{tomorrow},,\n"
                   + f",,110105194912310022,郑坏行,neurology,{day},,\n", encoding="utf-8")
    refused = live_server.cli("import-visits", str(bad), check=False)
    assert refused.returncode == 2
    for line in ("line 3", "line 4", "line 5", "line 6"):
        assert line in refused.stderr
    assert "line 2:" not in refused.stderr
    assert "nothing was imported" in refused.stderr
    assert _his_count(db_engine) == before + 2

    headless = tmp_path / "headless.csv"
    headless.write_text(f"hospital,{new_card()},,孙好行,neurology,{day},,\n", encoding="utf-8")
    assert live_server.cli("import-visits", str(headless), check=False).returncode == 2
    assert live_server.cli("import-visits", str(tmp_path / "absent.csv"), check=False).returncode == 2


# --- admin: doctors and schedules --------------------------------------------------------------------------------


def test_admin_routes_need_an_admin(api: httpx.Client, db_engine: Engine) -> None:
    body = {"doctor_id": 1, "day": future_start().date().isoformat(), "start": "09:00", "end": "10:00",
            "slot_minutes": 15, "capacity_per_slot": 1}
    assert api.post(f"{V1}/staff/admin/schedules", json=body).status_code == 401
    clerk = db_staff(db_engine, role="clerk")
    r = api.post(f"{V1}/staff/admin/schedules", headers=clerk, json=body)
    assert r.status_code == 403 and r.json()["code"] == "role_forbidden"
    account = db_account(db_engine)
    assert api.post(f"{V1}/staff/admin/schedules", headers=account["headers"], json=body).status_code == 401
    assert api.get(f"{V1}/staff/admin/schedules", headers=clerk).status_code == 403


def test_doctor_create_and_update(api: httpx.Client, admin: dict[str, str]) -> None:
    doc = make_doctor(api, admin, department_code="bone_tumor", fee_fen=2000)
    r = api.patch(f"{V1}/staff/admin/doctors/{doc['id']}", headers=admin,
                  json={"fee_fen": 2600, "title": "副主任医师"})
    assert r.status_code == 200 and (r.json()["fee_fen"], r.json()["title"]) == (2600, "副主任医师")
    assert api.get(f"{V1}/doctors/{doc['id']}").json()["fee_fen"] == 2600
    assert api.patch(f"{V1}/staff/admin/doctors/{doc['id']}", headers=admin,
                     json={"fee_fen": -1}).status_code == 422
    assert api.patch(f"{V1}/staff/admin/doctors/{ABSENT}", headers=admin, json={"fee_fen": 1}).status_code == 404
    bad_dep = api.post(f"{V1}/staff/admin/doctors", headers=admin,
                       json={"department_id": ABSENT, "name": "无科室", "title": "主治医师", "fee_fen": 100})
    assert bad_dep.status_code == 404
    # a patient's upload can never become a (public) doctor photo
    photo = api.patch(f"{V1}/staff/admin/doctors/{doc['id']}", headers=admin, json={"photo_file_id": 1})
    assert photo.status_code in (404, 422) and photo.json()["code"] in ("photo_invalid", "not_found")
    off = api.patch(f"{V1}/staff/admin/doctors/{doc['id']}", headers=admin, json={"active": False})
    assert off.status_code == 200 and off.json()["active"] is False
    assert api.get(f"{V1}/doctors/{doc['id']}").status_code == 404
    assert doc["id"] in [d["id"] for d in api.get(f"{V1}/staff/admin/doctors", headers=admin).json()]


def test_schedule_refuses_overlap_and_the_past(api: httpx.Client, admin: dict[str, str]) -> None:
    doc = make_doctor(api, admin)
    start = future_start(days=4, hour=9)
    first = make_schedule(api, admin, doctor_id=doc["id"], start=start, minutes=120, slot_minutes=30)
    assert [s["starts_at"][11:16] for s in first["slots"]] == ["09:00", "09:30", "10:00", "10:30"]
    day = start.date().isoformat()
    overlap = api.post(f"{V1}/staff/admin/schedules", headers=admin,
                       json={"doctor_id": doc["id"], "day": day, "start": "10:30", "end": "12:00",
                             "slot_minutes": 15, "capacity_per_slot": 1})
    assert overlap.status_code == 409 and overlap.json()["code"] == "schedule_overlap"
    assert "09:00–11:00" in overlap.json()["message"]
    # touching the end is not an overlap; another doctor at the same time is fine
    after = api.post(f"{V1}/staff/admin/schedules", headers=admin,
                     json={"doctor_id": doc["id"], "day": day, "start": "11:00", "end": "12:00",
                           "slot_minutes": 15, "capacity_per_slot": 1})
    assert after.status_code == 201
    other = make_doctor(api, admin)
    make_schedule(api, admin, doctor_id=other["id"], start=start, minutes=60)
    yesterday = (now().date() - dt.timedelta(days=1)).isoformat()
    past = api.post(f"{V1}/staff/admin/schedules", headers=admin,
                    json={"doctor_id": doc["id"], "day": yesterday, "start": "09:00", "end": "10:00",
                          "slot_minutes": 15, "capacity_per_slot": 1})
    assert past.status_code == 422 and past.json()["code"] == "schedule_in_past"
    backwards = api.post(f"{V1}/staff/admin/schedules", headers=admin,
                         json={"doctor_id": doc["id"], "day": day, "start": "15:00", "end": "14:00",
                               "slot_minutes": 15, "capacity_per_slot": 1})
    assert backwards.status_code == 422
    bad_time = api.post(f"{V1}/staff/admin/schedules", headers=admin,
                        json={"doctor_id": doc["id"], "day": day, "start": "25:00", "end": "26:00",
                              "slot_minutes": 15, "capacity_per_slot": 1})
    assert bad_time.status_code == 422
    absent = api.post(f"{V1}/staff/admin/schedules", headers=admin,
                      json={"doctor_id": ABSENT, "day": day, "start": "09:00", "end": "10:00",
                            "slot_minutes": 15, "capacity_per_slot": 1})
    assert absent.status_code == 404
    listed = api.get(f"{V1}/staff/admin/schedules", headers=admin, params={"doctor_id": doc["id"], "day": day})
    assert listed.status_code == 200
    assert sorted(s["id"] for s in listed.json()) == sorted([first["id"], after.json()["id"]])


def test_a_session_can_end_at_midnight(api: httpx.Client, admin: dict[str, str]) -> None:
    doc = make_doctor(api, admin)
    day = future_start(days=2).date()
    r = api.post(f"{V1}/staff/admin/schedules", headers=admin,
                 json={"doctor_id": doc["id"], "day": day.isoformat(), "start": "23:00", "end": "24:00",
                       "slot_minutes": 30, "capacity_per_slot": 1})
    assert r.status_code == 201, r.text
    assert r.json()["slots"][-1]["ends_at"] == f"{(day + dt.timedelta(days=1)).isoformat()}T00:00:00+08:00"


def test_deleting_a_schedule_withdraws_its_slots_and_unpaid_holds(api: httpx.Client, admin: dict[str, str],
                                                                  db_engine: Engine) -> None:
    doc = make_doctor(api, admin, department_code="endocrinology")
    schedule = make_schedule(api, admin, doctor_id=doc["id"], start=future_start(days=5, hour=8), minutes=30,
                             slot_minutes=15, capacity=2)
    acc = db_account(db_engine)
    version = accept_notice(api, acc["headers"])
    patient = eligible_patient(db_engine, acc["account_id"], department_code="endocrinology")
    held = book(api, acc["headers"], patient_id=patient, slot_id=schedule["slots"][0]["id"], notice_version=version)
    assert held.status_code == 201, held.text
    r = api.delete(f"{V1}/staff/admin/schedules/{schedule['id']}", headers=admin)
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "deleted" and {s["status"] for s in r.json()["slots"]} == {"removed"}
    assert r.json()["affected_appointment_ids"] == []  # the hold was unpaid: it expired instead
    assert api.get(f"{V1}/doctors/{doc['id']}/slots",
                   params={"date_from": schedule["day"], "date_to": schedule["day"]}).json() == []
    appt = api.get(f"{V1}/appointments/{held.json()['id']}", headers=acc["headers"]).json()
    assert appt["status"] == "expired" and "排班" in appt["end_reason"]
    again = api.delete(f"{V1}/staff/admin/schedules/{schedule['id']}", headers=admin)
    missing = api.delete(f"{V1}/staff/admin/schedules/{ABSENT}", headers=admin)
    assert again.status_code == missing.status_code == 404
    # booking a removed slot is refused as not found
    late = book(api, acc["headers"], patient_id=patient, slot_id=schedule["slots"][1]["id"], notice_version=version)
    assert late.status_code == 404


def test_deleting_a_schedule_lists_paid_appointments(api: httpx.Client, admin: dict[str, str],
                                                     db_engine: Engine) -> None:
    from tests.booking_helpers import mark_paid

    doc = make_doctor(api, admin, department_code="hematology")
    schedule = make_schedule(api, admin, doctor_id=doc["id"], start=future_start(days=5, hour=10), minutes=15,
                             slot_minutes=15, capacity=1)
    acc = db_account(db_engine)
    version = accept_notice(api, acc["headers"])
    patient = eligible_patient(db_engine, acc["account_id"], department_code="hematology")
    appt = book(api, acc["headers"], patient_id=patient, slot_id=schedule["slots"][0]["id"], notice_version=version)
    mark_paid(db_engine, appt.json()["id"])
    r = api.delete(f"{V1}/staff/admin/schedules/{schedule['id']}", headers=admin)
    assert r.json()["affected_appointment_ids"] == [appt.json()["id"]]
    # left for the scheduler's refund_unservable job, which cancels it (tests/test_refund_jobs.py: the refund)
    wait_for(lambda: api.get(f"{V1}/appointments/{appt.json()['id']}", headers=acc["headers"]).json()["status"]
             == "cancelled_by_hospital", what="the refund job to cancel the paid visit")
