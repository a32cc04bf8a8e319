"""Arranging money for tests/test_refund_jobs.py and tests/test_refund_search.py: appointments booked and paid
through the sandbox gateway (so refunds reach a gateway that knows the order), prescriptions of a visit put in
the database at the patient's step (issued, fulfilment chosen: the doctor's and pharmacist's steps are
tests/test_prescriptions.py's) and paid through the sandbox too."""
from __future__ import annotations

import datetime as dt
import secrets
from typing import Any

import httpx
from sqlalchemy import select, text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from tests.booking_helpers import V1, book, now, wait_for


def rows(engine: Engine, sql: str, **params: Any) -> list[dict[str, Any]]:
    with engine.connect() as c:
        return [dict(r) for r in c.execute(text(sql), params).mappings()]


def pay_appointment(api: httpx.Client, acc: dict[str, Any], appointment_id: int) -> str:
    """Pay through the sandbox (the patient confirms, the signed notification follows); the out_trade_no."""
    r = api.post(f"{V1}/appointments/{appointment_id}/payment", headers=acc["headers"])
    assert r.status_code == 201, r.text
    prepay = r.json()
    r = api.post(f"{V1}/sandbox/pay/{prepay['prepay_id']}/confirm", params={"delay_ms": 0})
    assert r.status_code == 200, r.text
    wait_for(lambda: api.get(f"{V1}/appointments/{appointment_id}", headers=acc["headers"]).json()["status"]
             == "booked", what=f"appointment {appointment_id} to be paid")
    return prepay["out_trade_no"]


def paid_booking(api: httpx.Client, acc: dict[str, Any], slot_id: int) -> dict[str, Any]:
    r = book(api, acc["headers"], patient_id=acc["patient_id"], slot_id=slot_id, notice_version=acc["notice"])
    assert r.status_code == 201, r.text
    appt = r.json()["id"]
    return {"acc": acc, "id": appt, "out_trade_no": pay_appointment(api, acc, appt)}


def plan_refunds(api: httpx.Client, out_trade_no: str, outcomes: list[str]) -> None:
    r = api.post(f"{V1}/sandbox/refund-plan", json={"out_trade_no": out_trade_no, "outcomes": outcomes})
    assert r.status_code == 200, r.text


def refunds_of_order(engine: Engine, out_trade_no: str) -> list[dict[str, Any]]:
    return rows(engine, "SELECT r.* FROM refunds r JOIN payments p ON p.id = r.payment_id "
                        "WHERE p.out_trade_no = :n ORDER BY r.id", n=out_trade_no)


def wait_refund_status(engine: Engine, out_trade_no: str, status: str) -> dict[str, Any]:
    def got() -> dict[str, Any] | None:
        rs = refunds_of_order(engine, out_trade_no)
        return rs[-1] if rs and rs[-1]["status"] == status else None

    return wait_for(got, what=f"the refund of {out_trade_no} to be {status}")


def settle(api: httpx.Client, out_refund_no: str, status: str = "SUCCESS") -> None:
    r = api.post(f"{V1}/sandbox/refunds/{out_refund_no}/settle", params={"status": status})
    assert r.status_code == 200, r.text


def db_prescription(engine: Engine, appointment_id: int, *, amount_fen: int = 1860,
                    status: str = "fulfilment_chosen", method: str = "pickup") -> int:
    """A prescription of the visit as the patient meets it: approved and issued, fulfilment chosen (unpaid). Its
    lines stay empty (what is dispensed is not the money's business); its diagnosis and notes are clinical text
    that must never reach a clerk."""
    from server.appointments.models import Appointment
    from server.prescriptions.models import Prescription
    from server.staff.models import Staff

    t = now()
    no = f"RX{t:%Y%m%d}{secrets.randbelow(10**6):06d}"[:20]
    fulfilment = {"method": method, "pharmacy": {"id": 1, "name": "测试药店", "address": "西直门南大街11号",
                                                 "district": "西城区", "phone": "010-00000000", "hours": "8:00-20:00",
                                                 "distance_m": None} if method == "pickup" else None,
                  "address": None if method == "pickup" else {"name": "李患者", "mobile": "13800000000",
                                                              "region": "北京市西城区", "detail": "西直门南大街11号"}}
    with Session(engine) as s, s.begin():
        appt = s.get(Appointment, appointment_id)
        assert appt is not None
        staff_id = s.execute(select(Staff.id).order_by(Staff.id).limit(1)).scalar_one()
        rx = Prescription(no=no, verify_token=secrets.token_hex(16), appointment_id=appt.id,
                          doctor_id=appt.doctor_id, account_id=appt.account_id, patient_id=appt.patient_id,
                          created_by=staff_id, status=status, diagnosis_code="E11.9",
                          diagnosis_name="2型糖尿病（临床诊断勿外泄）", notes="临床备注：勿给收费处看",
                          lines=[], amount_fen=amount_fen, created_at=t, updated_at=t, signed_at=t,
                          signed_by=staff_id, approved_at=t, issued_at=t, valid_until=t + dt.timedelta(days=1),
                          fulfilment=fulfilment, fulfilment_at=t)
        s.add(rx)
        s.flush()
        return rx.id


def pay_prescription(api: httpx.Client, acc: dict[str, Any], rx_id: int, *, wait: bool = True) -> dict[str, Any]:
    """The drug fee paid through the sandbox; the prepay answer (out_trade_no)."""
    r = api.post(f"{V1}/prescriptions/{rx_id}/payment", headers=acc["headers"])
    assert r.status_code == 201, r.text
    prepay = r.json()
    r = api.post(f"{V1}/sandbox/pay/{prepay['prepay_id']}/confirm", params={"delay_ms": 0})
    assert r.status_code == 200, r.text
    if wait:
        wait_for(lambda: api.get(f"{V1}/prescriptions/{rx_id}", headers=acc["headers"]).json()["status"] == "paid",
                 what=f"prescription {rx_id} to be paid")
    return prepay
