"""The doctor's side of a visit through the live server: accept, the record, finish, missed, and the chart."""
from __future__ import annotations

import datetime as dt
from typing import Any

import httpx
import pytest
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from tests.booking_helpers import (
    admin_headers,
    appointment_row,
    book,
    db_staff,
    eligible_patient,
    future_start,
    make_doctor,
    make_schedule,
    mark_paid,
    move_appointment,
    set_appointment,
)
from tests.workstation_helpers import (
    ABSENT,
    V1,
    booked,
    checked_in,
    doctor_today,
    events_of,
    holder,
    in_consultation,
    now,
    waiting,
)

RECORD = {"diagnosis_code": "E11.9", "diagnosis_name": "2型糖尿病", "notes": "血糖控制欠佳，调整用药，两周后复诊。"}


@pytest.fixture(scope="module")
def admin(live_server: Any, db_engine: Engine) -> dict[str, str]:
    with live_server.client() as api:
        return admin_headers(api, db_engine)


@pytest.fixture()
def clinic(api: httpx.Client, admin: dict[str, str], db_engine: Engine) -> dict[str, Any]:
    return doctor_today(api, admin, db_engine)


def _url(appt: int, action: str) -> str:
    return f"{V1}/staff/appointments/{appt}/{action}"


def test_a_visit_from_accept_to_finish(api: httpx.Client, db_engine: Engine, clinic: dict[str, Any]) -> None:
    doc = clinic["headers"]
    _, appt = waiting(api, db_engine, clinic)
    before = now()
    r = api.post(_url(appt, "accept"), headers=doc)
    assert r.status_code == 200, r.text
    accepted = r.json()
    assert accepted["status"] == "in_consultation" and accepted["status_label"] == "就诊中"
    # the answer is the appointment as GET /staff/appointments/{id} shows it
    assert accepted == api.get(f"{V1}/staff/appointments/{appt}", headers=doc).json()
    row = appointment_row(db_engine, appt)
    assert row["status"] == "in_consultation" and row["called_at"] >= before

    # drafts: saved while the visit runs, each one replacing the last
    draft = api.put(_url(appt, "record"), headers=doc, json={"notes": "主诉：头晕一周"})
    assert draft.status_code == 200, draft.text
    assert draft.json()["notes"] == "主诉：头晕一周" and draft.json()["diagnosis_code"] == ""
    draft = api.put(_url(appt, "record"), headers=doc, json=RECORD)
    assert draft.status_code == 200 and draft.json()["diagnosis_name"] == "2型糖尿病"
    # the same draft again: answered, but nothing is written
    assert api.put(_url(appt, "record"), headers=doc, json=RECORD).status_code == 200
    assert len(events_of(db_engine, object_type="appointment", object_id=appt,
                         kind="appointment.record_saved")) == 2

    # finishing needs a diagnosis, by ICD-10 format
    for body in ({"notes": "无诊断"}, {"diagnosis_code": "E11.9", "diagnosis_name": "  "},
                 {"diagnosis_name": "2型糖尿病"}):
        bad = api.post(_url(appt, "finish"), headers=doc, json=body)
        assert bad.status_code == 422 and bad.json()["code"] == "diagnosis_required", bad.text
        assert "诊断" in bad.json()["message"]
    for code in ("e11.9", "E1", "E11.123", "11.9", "E11.", "EE1"):
        bad = api.post(_url(appt, "finish"), headers=doc, json={**RECORD, "diagnosis_code": code})
        assert bad.status_code == 422 and bad.json()["code"] == "validation_error", code
    too_long = api.post(_url(appt, "finish"), headers=doc, json={**RECORD, "diagnosis_name": "病" * 101})
    assert too_long.status_code == 422
    assert appointment_row(db_engine, appt)["status"] == "in_consultation"

    done = api.post(_url(appt, "finish"), headers=doc, json={**RECORD, "notes": "最终病历"})
    assert done.status_code == 200, done.text
    assert done.json()["status"] == "completed" and done.json()["notes"] == "最终病历"
    row = appointment_row(db_engine, appt)
    assert row["status"] == "completed" and row["completed_at"] is not None
    assert (row["diagnosis_code"], row["diagnosis_name"]) == ("E11.9", "2型糖尿病")

    # after the end: nothing more
    again = api.post(_url(appt, "finish"), headers=doc, json=RECORD)
    assert again.status_code == 409 and again.json()["code"] == "invalid_state"
    assert "已结束" in again.json()["message"]
    late = api.put(_url(appt, "record"), headers=doc, json=RECORD)
    assert late.status_code == 409 and late.json()["message"] == "本次就诊已结束，病历不能再修改"
    assert api.post(_url(appt, "accept"), headers=doc).status_code == 409

    # each step told the doctor's live queue, with what a row needs
    kinds = [e.kind for e in events_of(db_engine, object_type="appointment", object_id=appt)]
    assert kinds[-4:] == ["appointment.in_consultation", "appointment.record_saved",
                          "appointment.record_saved", "appointment.completed"]
    called = events_of(db_engine, object_type="appointment", object_id=appt,
                       kind="appointment.in_consultation")[0]
    assert called.topic == "clinical" and called.doctor_id == clinic["id"]
    p = called.payload
    assert p["appointment_id"] == appt and p["status"] == "in_consultation" and p["patient_name"] == "李患者"
    assert p["called_at"] and p["waiting_since"] and p["starts_at"] and p["number"]


def test_a_checked_in_patient_who_has_not_described_can_be_called(api: httpx.Client, db_engine: Engine,
                                                                 clinic: dict[str, Any]) -> None:
    _, appt = checked_in(api, db_engine, clinic)
    r = api.post(_url(appt, "accept"), headers=clinic["headers"])
    assert r.status_code == 200 and r.json()["status"] == "in_consultation"


def test_wrong_states_are_refused_in_chinese_and_change_nothing(api: httpx.Client, db_engine: Engine,
                                                               clinic: dict[str, Any]) -> None:
    doc = clinic["headers"]
    _, not_in = booked(api, db_engine, clinic)  # paid, not checked in, its time not yet come
    r = api.post(_url(not_in, "accept"), headers=doc)
    assert r.status_code == 409 and r.json()["code"] == "invalid_state"
    assert "尚未签到" in r.json()["message"]
    assert r.json()["details"] == {"status": "booked", "to": "in_consultation"}
    early = api.post(_url(not_in, "missed"), headers=doc, json={})
    assert early.status_code == 409 and "还未到" in early.json()["message"]
    assert appointment_row(db_engine, not_in)["status"] == "booked"

    _, wait = waiting(api, db_engine, clinic)
    for action, method in (("record", "PUT"), ("finish", "POST")):
        r = api.request(method, _url(wait, action), headers=doc, json=RECORD)
        assert r.status_code == 409 and "请先接诊" in r.json()["message"], action
    assert appointment_row(db_engine, wait)["status"] == "waiting"
    assert appointment_row(db_engine, wait)["diagnosis_code"] == ""

    _, seeing = in_consultation(api, db_engine, clinic)
    twice = api.post(_url(seeing, "accept"), headers=doc)
    assert twice.status_code == 409 and twice.json()["message"] == "已接诊该患者，正在就诊中"
    r = api.post(_url(seeing, "missed"), headers=doc, json={"reason": "未应答"})
    assert r.status_code == 409 and "正在就诊" in r.json()["message"]

    # an unpaid hold
    acc = holder(api, db_engine)
    unpaid = book(api, acc["headers"], patient_id=acc["patient_id"], slot_id=clinic["slots"][1],
                  notice_version=acc["notice"]).json()["id"]
    r = api.post(_url(unpaid, "accept"), headers=doc)
    assert r.status_code == 409 and "尚未支付" in r.json()["message"]
    assert appointment_row(db_engine, unpaid)["status"] == "pending_payment"


def test_missed_after_no_answer_or_no_show(api: httpx.Client, db_engine: Engine,
                                           clinic: dict[str, Any]) -> None:
    doc = clinic["headers"]
    _, wait = waiting(api, db_engine, clinic)
    r = api.post(_url(wait, "missed"), headers=doc, json={"reason": "视频呼叫三次未应答"})
    assert r.status_code == 200 and r.json()["status"] == "missed" and r.json()["status_label"] == "已过号"
    row = appointment_row(db_engine, wait)
    assert row["end_reason"] == "视频呼叫三次未应答" and row["ended_at"] is not None

    _, ci = checked_in(api, db_engine, clinic)
    r = api.post(_url(ci, "missed"), headers=doc)  # no body at all
    assert r.status_code == 200 and appointment_row(db_engine, ci)["end_reason"] == "医生呼叫未应答"

    _, no_show = booked(api, db_engine, clinic)
    move_appointment(db_engine, no_show, starts_at=now() - dt.timedelta(minutes=5))
    r = api.post(_url(no_show, "missed"), headers=doc, json={})
    assert r.status_code == 200 and appointment_row(db_engine, no_show)["end_reason"] == "患者未按时就诊"
    # and once missed, the doctor cannot call them
    r = api.post(_url(no_show, "accept"), headers=doc)
    assert r.status_code == 409 and "已过号" in r.json()["message"]
    too_long = api.post(_url(wait, "missed"), headers=doc, json={"reason": "长" * 201})
    assert too_long.status_code == 422
    assert [e.kind for e in events_of(db_engine, object_type="appointment", object_id=wait)][-1] == \
        "appointment.missed"


def test_another_doctors_appointment_answers_like_an_absent_one(api: httpx.Client, db_engine: Engine,
                                                               admin: dict[str, str], clinic: dict[str, Any]
                                                               ) -> None:
    _, appt = waiting(api, db_engine, clinic)
    other = doctor_today(api, admin, db_engine)["headers"]
    calls = [("POST", "accept", None), ("PUT", "record", RECORD), ("POST", "finish", RECORD),
             ("POST", "missed", {}), ("GET", "chart", None)]
    for method, action, body in calls:
        theirs = api.request(method, _url(appt, action), headers=other, json=body)
        absent = api.request(method, _url(ABSENT, action), headers=other, json=body)
        assert theirs.status_code == absent.status_code == 404, (action, theirs.text)
        assert theirs.json() == absent.json()
    # a doctor's staff account without a doctor behind it sees nothing either
    unlinked = db_staff(db_engine, role="doctor")
    assert api.post(_url(appt, "accept"), headers=unlinked).status_code == 404
    assert appointment_row(db_engine, appt)["status"] == "waiting"

    # other roles: only doctors act; clerks and pharmacists never see the chart; admins do
    clerk, pharmacist = db_staff(db_engine, role="clerk"), db_staff(db_engine, role="pharmacist")
    for headers in (clerk, pharmacist, admin):
        r = api.post(_url(appt, "accept"), headers=headers)
        assert r.status_code == 403 and r.json()["code"] == "role_forbidden"
    for headers in (clerk, pharmacist):
        assert api.get(_url(appt, "chart"), headers=headers).json() == \
            api.get(_url(ABSENT, "chart"), headers=headers).json()
        assert api.get(_url(appt, "chart"), headers=headers).status_code == 404
    assert api.get(_url(appt, "chart"), headers=admin).status_code == 200
    acc_headers = holder(api, db_engine)["headers"]
    assert api.post(_url(appt, "accept"), headers=acc_headers).status_code == 401
    assert api.get(_url(appt, "chart"), headers=acc_headers).status_code == 401
    assert appointment_row(db_engine, appt)["status"] == "waiting"


def test_the_chart_shows_the_patient_the_evidence_the_description_and_history(
        api: httpx.Client, db_engine: Engine, admin: dict[str, str], clinic: dict[str, Any]) -> None:
    doc = clinic["headers"]
    acc, appt = waiting(api, db_engine, clinic, with_file=True, text="口干多饮两周")
    # two earlier visits of the same patient with other doctors, one completed with a diagnosis, one missed
    past = []
    for days_ago, status in ((40, "completed"), (20, "missed")):
        other = make_doctor(api, admin, department_code="endocrinology", name=f"前医{days_ago}")
        slot = make_schedule(api, admin, doctor_id=other["id"], start=future_start(days=3, hour=10),
                             minutes=15)["slots"][0]["id"]
        old = book(api, acc["headers"], patient_id=acc["patient_id"], slot_id=slot,
                   notice_version=acc["notice"])
        assert old.status_code == 201, old.text
        old_id = old.json()["id"]
        mark_paid(db_engine, old_id)
        move_appointment(db_engine, old_id, starts_at=now() - dt.timedelta(days=days_ago))
        values: dict[str, Any] = {"status": status}
        if status == "completed":
            values.update(completed_at=now() - dt.timedelta(days=days_ago), diagnosis_code="E11.9",
                          diagnosis_name="2型糖尿病")
        else:
            values.update(diagnosis_code="R00", diagnosis_name="不应出现")  # a draft of an unfinished visit
        set_appointment(db_engine, old_id, **values)
        past.append((old_id, other))
    # not in the history: an unpaid hold of the same patient, another patient's visit of the same account
    acc2_patient = eligible_patient(db_engine, acc["account_id"], department_code="endocrinology", name="李二")
    other_slot = make_schedule(api, admin, doctor_id=make_doctor(api, admin)["id"],
                               start=future_start(days=3, hour=11), minutes=15)["slots"][0]["id"]
    unpaid = book(api, acc["headers"], patient_id=acc["patient_id"], slot_id=other_slot,
                  notice_version=acc["notice"]).json()["id"]
    sibling = book(api, acc["headers"], patient_id=acc2_patient, slot_id=other_slot,
                   notice_version=acc["notice"]).json()["id"]
    move_appointment(db_engine, unpaid, starts_at=now() - dt.timedelta(days=5))
    mark_paid(db_engine, sibling)

    r = api.get(_url(appt, "chart"), headers=doc)
    assert r.status_code == 200, r.text
    c = r.json()
    assert c["appointment_id"] == appt and c["status"] == "waiting" and c["doctor_id"] == clinic["id"]
    p = c["patient"]
    today = now().date()  # Shanghai
    born = dt.date(1970, 5, 20)
    assert p["age"] == today.year - born.year - ((today.month, today.day) < (born.month, born.day))
    assert p["name"] == "李患者" and p["sex"] == "female" and p["id_number_masked"] == "1101**********123X"
    assert p["card_type"] == "hospital" and p["card_no"].startswith("T")
    v = c["eligibility_visit"]
    assert v["department"] == "内分泌科" and v["doctor_name"] == "王医生" and v["diagnosis"] == "2型糖尿病"
    assert dt.date.fromisoformat(v["visit_date"]) == today - dt.timedelta(days=30)
    d = c["description"]
    assert d["text"] == "口干多饮两周" and [f["id"] for f in d["files"]] == acc["file_ids"]
    assert d["files"][0]["content_type"] == "image/png" and d["files"][0]["purpose"] == "description"
    assert d["files"][0]["size"] > 0
    history = c["previous_visits"]
    assert [h["appointment_id"] for h in history] == [past[1][0], past[0][0]]  # newest first
    missed, completed = history
    assert missed["status"] == "missed" and missed["diagnosis_name"] is None
    assert missed["completed_at"] is None
    assert completed["status"] == "completed" and completed["diagnosis_code"] == "E11.9"
    assert completed["diagnosis_name"] == "2型糖尿病" and completed["completed_at"]
    assert completed["doctor_name"] == past[0][1]["name"] and completed["department_name"] == "内分泌科"
    assert c["previous_prescriptions"] == []
    assert c["notes"] == "" and c["called_at"] is None

    # the chart follows the visit: the saved draft is there for the workstation to reload
    assert api.post(_url(appt, "accept"), headers=doc).status_code == 200
    assert api.put(_url(appt, "record"), headers=doc, json=RECORD).status_code == 200
    c = api.get(_url(appt, "chart"), headers=doc).json()
    assert c["called_at"] and c["notes"] == RECORD["notes"] and c["diagnosis_code"] == "E11.9"
    # the admin sees the same chart
    assert api.get(_url(appt, "chart"), headers=admin).json() == c


def test_a_patient_without_a_birth_date_has_no_age(api: httpx.Client, db_engine: Engine,
                                                   clinic: dict[str, Any]) -> None:
    from server.patients.models import Patient

    acc, appt = waiting(api, db_engine, clinic)
    with Session(db_engine) as s, s.begin():
        s.get(Patient, acc["patient_id"]).birth_date = None
    c = api.get(_url(appt, "chart"), headers=clinic["headers"]).json()
    assert c["patient"]["age"] is None and c["previous_visits"] == [] and c["description"]["files"] == []
