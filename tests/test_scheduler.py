"""The background jobs: hold expiry, reminders and missed visits, run by the live server's scheduler (every 0.5 s in
tests) and, to test that several workers never do a job twice, by ``run_once`` from threads of this process on
the same database."""
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
    accept_notice,
    admin_headers,
    appointment_row,
    book,
    db_account,
    eligible_patient,
    future_start,
    make_doctor,
    make_schedule,
    mark_paid,
    move_appointment,
    now,
    set_appointment,
    slot_row,
    sms_to,
    soon_start,
    wait_for,
)


@pytest.fixture(scope="module")
def admin(live_server: Any, db_engine: Engine) -> dict[str, str]:
    with live_server.client() as api:
        return admin_headers(api, db_engine)


@pytest.fixture(scope="module")
def service_db(live_server: Any) -> Iterator[Any]:
    from server.config import Settings
    from server.db import Database

    settings = Settings(data_dir=live_server.data_dir, database_url=live_server.database_url,
                        encryption_key=live_server.env.get("CLINIC_ENCRYPTION_KEY", ""))
    db = Database(settings)
    yield db
    db.dispose()


def holder(api: httpx.Client, db_engine: Engine, *, department_code: str = "neurology") -> dict[str, Any]:
    acc = db_account(db_engine)
    acc["notice"] = accept_notice(api, acc["headers"])
    acc["patient_id"] = eligible_patient(db_engine, acc["account_id"], department_code=department_code, name="周患者")
    return acc


def test_an_expired_hold_gives_its_place_back(api: httpx.Client, db_engine: Engine, admin: dict[str, str]) -> None:
    doc = make_doctor(api, admin, department_code="neurology")
    schedule = make_schedule(api, admin, doctor_id=doc["id"], start=future_start(days=3, hour=11), minutes=15,
                             capacity=1)
    slot = schedule["slots"][0]["id"]
    first, second = holder(api, db_engine), holder(api, db_engine)
    appt = book(api, first["headers"], patient_id=first["patient_id"], slot_id=slot,
                notice_version=first["notice"]).json()["id"]
    assert book(api, second["headers"], patient_id=second["patient_id"], slot_id=slot,
                notice_version=second["notice"]).json()["code"] == "slot_full"
    set_appointment(db_engine, appt, hold_expires_at=now() - dt.timedelta(seconds=1))

    def expired() -> bool:
        return api.get(f"{V1}/appointments/{appt}", headers=first["headers"]).json()["status"] == "expired"

    wait_for(expired, what="the scheduler to expire the hold")
    detail = api.get(f"{V1}/appointments/{appt}", headers=first["headers"]).json()
    assert detail["status_label"] == "已失效" and detail["ended_at"] and "未支付" in detail["end_reason"]
    assert slot_row(db_engine, slot)["booked"] == 0
    slots = api.get(f"{V1}/doctors/{doc['id']}/slots",
                    params={"date_from": schedule["day"], "date_to": schedule["day"]}).json()
    assert slots[0]["remaining"] == 1 and slots[0]["bookable"] is True
    r = book(api, second["headers"], patient_id=second["patient_id"], slot_id=slot, notice_version=second["notice"])
    assert r.status_code == 201, r.text
    # paying for the expired one now cannot be done by the patient: check-in refuses it
    assert api.post(f"{V1}/appointments/{appt}/check-in", headers=first["headers"]).json()["code"] == "invalid_state"


def test_a_hold_still_running_is_left_alone(api: httpx.Client, db_engine: Engine, admin: dict[str, str],
                                            service_db: Any) -> None:
    from server.scheduler import run_once

    doc = make_doctor(api, admin, department_code="neurology")
    slot = make_schedule(api, admin, doctor_id=doc["id"], start=future_start(days=3, hour=13), minutes=15,
                         capacity=1)["slots"][0]["id"]
    acc = holder(api, db_engine)
    appt = book(api, acc["headers"], patient_id=acc["patient_id"], slot_id=slot,
                notice_version=acc["notice"]).json()["id"]
    result = run_once(service_db)
    assert set(result) == {"expired", "reminded", "missed", "reconciled", "unanswered", "left",
                           "prescriptions_expired", "refund_unservable", "refunds_settled"}
    assert appointment_row(db_engine, appt)["status"] == "pending_payment"
    assert slot_row(db_engine, slot)["booked"] == 1


def test_a_reminder_is_sent_exactly_once_with_many_workers(api: httpx.Client, db_engine: Engine,
                                                           admin: dict[str, str], service_db: Any) -> None:
    from server.scheduler import run_once

    doc = make_doctor(api, admin, department_code="neurology")
    make_schedule(api, admin, doctor_id=doc["id"], start=soon_start(lead_minutes=20), minutes=30, slot_minutes=15,
                  capacity=4)
    slots = api.get(f"{V1}/doctors/{doc['id']}/slots",
                    params={"date_from": soon_start(lead_minutes=20).date().isoformat()}).json()
    holders, appts = [], []
    for i in range(3):
        acc = holder(api, db_engine)
        r = book(api, acc["headers"], patient_id=acc["patient_id"], slot_id=slots[i % len(slots)]["id"],
                 notice_version=acc["notice"])
        assert r.status_code == 201, r.text
        holders.append(acc)
        appts.append(r.json())
    # all paid at once, then six workers (and the server's own loop) go for the same reminders
    barrier = threading.Barrier(6)
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            barrier.wait()
            for _ in range(3):
                run_once(service_db)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    for a in appts:
        mark_paid(db_engine, a["id"])
    threads = [threading.Thread(target=worker) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not errors, errors
    for acc, a in zip(holders, appts):
        sent = wait_for(lambda acc=acc: sms_to(api, acc["mobile"], kind="reminder"), what="the reminder")
        assert len(sent) == 1, sent
        body = sent[0]["body"]
        starts = dt.datetime.fromisoformat(a["starts_at"])
        assert f"{starts:%H:%M}" in body and doc["name"] in body and "神经内科" in body
        assert "请在复诊时间前后进入小程序点击【复诊签到】" in body
        assert appointment_row(db_engine, a["id"])["reminder_sent_at"] is not None
    run_once(service_db)
    assert all(len(sms_to(api, acc["mobile"], kind="reminder")) == 1 for acc in holders)


def test_no_reminder_long_before_the_visit_or_when_unpaid(api: httpx.Client, db_engine: Engine,
                                                          admin: dict[str, str], service_db: Any) -> None:
    from server.scheduler import run_once

    doc = make_doctor(api, admin, department_code="neurology")
    slot = make_schedule(api, admin, doctor_id=doc["id"], start=future_start(days=2, hour=15), minutes=15,
                         capacity=2)["slots"][0]["id"]
    far, unpaid = holder(api, db_engine), holder(api, db_engine)
    far_appt = book(api, far["headers"], patient_id=far["patient_id"], slot_id=slot,
                    notice_version=far["notice"]).json()["id"]
    mark_paid(db_engine, far_appt)
    book(api, unpaid["headers"], patient_id=unpaid["patient_id"], slot_id=slot, notice_version=unpaid["notice"])
    run_once(service_db)
    assert sms_to(api, far["mobile"], kind="reminder") == []
    assert sms_to(api, unpaid["mobile"], kind="reminder") == []
    assert appointment_row(db_engine, far_appt)["reminder_sent_at"] is None


def test_a_booked_visit_without_check_in_becomes_missed(api: httpx.Client, db_engine: Engine,
                                                        admin: dict[str, str], service_db: Any) -> None:
    from server.scheduler import mark_missed

    doc = make_doctor(api, admin, department_code="neurology")
    slot = make_schedule(api, admin, doctor_id=doc["id"], start=future_start(days=2, hour=16), minutes=15,
                         capacity=2)["slots"][0]["id"]
    acc, other = holder(api, db_engine), holder(api, db_engine)
    appt = book(api, acc["headers"], patient_id=acc["patient_id"], slot_id=slot,
                notice_version=acc["notice"]).json()["id"]
    mark_paid(db_engine, appt)
    # an appointment still inside its check-in window is not missed
    still = book(api, other["headers"], patient_id=other["patient_id"], slot_id=slot,
                 notice_version=other["notice"]).json()["id"]
    mark_paid(db_engine, still)
    move_appointment(db_engine, still, starts_at=now() - dt.timedelta(minutes=40))  # closes in 5 minutes
    # this one's slot ended 31 minutes ago: the window (30 minutes after the end) has just closed
    move_appointment(db_engine, appt, starts_at=now() - dt.timedelta(minutes=46))
    wait_for(lambda: appointment_row(db_engine, appt)["status"] == "missed", what="the visit to be marked missed")
    detail = api.get(f"{V1}/appointments/{appt}", headers=acc["headers"]).json()
    assert detail["status_label"] == "已过号" and detail["can_check_in"] is False and detail["ended_at"]
    r = api.post(f"{V1}/appointments/{appt}/check-in", headers=acc["headers"])
    assert r.status_code == 409 and r.json()["code"] == "invalid_state"
    # the place stays counted: it was paid for (a refund application decides what happens to the money)
    assert slot_row(db_engine, slot)["booked"] == 2
    mark_missed(service_db)
    assert appointment_row(db_engine, still)["status"] == "booked"
    move_appointment(db_engine, still, starts_at=now() - dt.timedelta(minutes=46))
    wait_for(lambda: appointment_row(db_engine, still)["status"] == "missed", what="the second visit to be missed")
