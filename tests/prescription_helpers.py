"""Arranging prescriptions for the tests: a doctor whose workstation account has a password (signing asks for
it again), the patient's consent through the real video path (call, connected, request, the patient agrees), a
pharmacist, and a prescription brought to a given state through the routes."""
from __future__ import annotations

import datetime as dt
import secrets
from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from tests.booking_helpers import V1, db_staff, make_doctor, make_schedule, now, soon_start
from tests.helpers import auth

SIGN_PASSWORD = "Sign-pass-2026"
METFORMIN, AMOXICILLIN, MORPHINE = "EN001", "GN009", "BT007"
WARFARIN, ASPIRIN = "NE004", "NE001"
DIAGNOSIS = {"code": "E11.9", "name": "2型糖尿病"}
GOOD_LINE = {"drug_code": METFORMIN, "dose": 500, "route": "po", "frequency": "bid", "days": 7}
GOOD_DRAFT = {"diagnosis": DIAGNOSIS, "lines": [GOOD_LINE]}


def signing_doctor(api: httpx.Client, admin: dict[str, str], engine: Engine, *, capacity: int = 6
                   ) -> dict[str, Any]:
    """A doctor with a session starting in a few minutes and a workstation account with a known password."""
    from server.ids import token_hash
    from server.security import hash_password
    from server.staff.models import Staff, StaffSession

    doc = make_doctor(api, admin, department_code="endocrinology", name=f"处方{secrets.token_hex(2)}")
    schedule = make_schedule(api, admin, doctor_id=doc["id"], start=soon_start(), minutes=30, slot_minutes=15,
                             capacity=capacity)
    token = secrets.token_urlsafe(32)
    t = now()
    with Session(engine) as s, s.begin():
        staff = Staff(username=f"rx{secrets.token_hex(5)}", name=doc["name"], role="doctor",
                      password_hash=hash_password(SIGN_PASSWORD), doctor_id=doc["id"], active=True)
        s.add(staff)
        s.flush()
        s.add(StaffSession(staff_id=staff.id, token_hash=token_hash(token), last_seen_at=t,
                           expires_at=t + dt.timedelta(hours=2)))
        staff_id = staff.id
    return {"doctor": doc, "id": doc["id"], "slots": [s["id"] for s in schedule["slots"]],
            "headers": auth(token), "staff_id": staff_id}


def pharmacist(engine: Engine) -> dict[str, str]:
    return db_staff(engine, role="pharmacist")


def request_consent(api: httpx.Client, clinic: dict[str, Any], appt: int) -> dict[str, Any]:
    """The doctor calls, the doctor's client reports the call connected, the doctor asks for consent."""
    h = clinic["headers"]
    r = api.get(f"{V1}/staff/appointments/{appt}/call", headers=h)
    segment = r.json()["segment"] if r.status_code == 200 else None
    if segment is None or segment["state"] not in ("invited", "connected"):
        r = api.post(f"{V1}/staff/appointments/{appt}/call", headers=h)
        assert r.status_code == 201, r.text
        segment = r.json()["segment"]
    if segment["state"] == "invited":
        r = api.post(f"{V1}/staff/appointments/{appt}/call/state", headers=h,
                     json={"segment_id": segment["id"], "state": "connected"})
        assert r.status_code == 200, r.text
    r = api.post(f"{V1}/staff/appointments/{appt}/consent-requests", headers=h)
    assert r.status_code in (200, 201), r.text
    return r.json()


def answer_consent(api: httpx.Client, acc: dict[str, Any], appt: int, request: dict[str, Any], *,
                   agree: bool = True) -> None:
    r = api.post(f"{V1}/appointments/{appt}/consent", headers=acc["headers"],
                 json={"request_id": request["id"], "version": request["version"], "agree": agree})
    assert r.status_code == 200, r.text


def consent(api: httpx.Client, clinic: dict[str, Any], acc: dict[str, Any], appt: int, *,
            agree: bool = True) -> None:
    answer_consent(api, acc, appt, request_consent(api, clinic, appt), agree=agree)


def create_rx(api: httpx.Client, clinic: dict[str, Any], appt: int, body: dict[str, Any] | None = None
              ) -> dict[str, Any]:
    r = api.post(f"{V1}/staff/appointments/{appt}/prescriptions", headers=clinic["headers"],
                 json=GOOD_DRAFT if body is None else body)
    assert r.status_code == 201, r.text
    return r.json()


def sign(api: httpx.Client, clinic: dict[str, Any], rx: dict[str, Any], *, password: str = SIGN_PASSWORD,
         key: str | None = None) -> httpx.Response:
    headers = {**clinic["headers"], **({"Idempotency-Key": key} if key else {})}
    return api.post(f"{V1}/staff/prescriptions/{rx['id']}/sign", headers=headers,
                    json={"password": password, "revision": rx["revision"]})


def signed_rx(api: httpx.Client, clinic: dict[str, Any], appt: int, body: dict[str, Any] | None = None
              ) -> dict[str, Any]:
    r = sign(api, clinic, create_rx(api, clinic, appt, body))
    assert r.status_code == 200 and r.json()["status"] == "signed", r.text
    return r.json()


def approve(api: httpx.Client, pharm: dict[str, str], rx: dict[str, Any]) -> dict[str, Any]:
    r = api.post(f"{V1}/staff/prescriptions/{rx['id']}/approve", headers=pharm)
    assert r.status_code == 200 and r.json()["status"] == "issued", r.text
    return r.json()


def rx_row(engine: Engine, rx_id: int) -> dict[str, Any]:
    from server.prescriptions.models import Prescription

    with Session(engine) as s:
        rx = s.get(Prescription, rx_id)
        assert rx is not None
        return {c.name: getattr(rx, c.name) for c in Prescription.__table__.columns}


def rx_events(engine: Engine, rx_id: int, kind: str | None = None) -> list[Any]:
    from server.events.models import Event

    with Session(engine) as s:
        q = select(Event).where(Event.object_type == "prescription", Event.object_id == rx_id)
        if kind is not None:
            q = q.where(Event.kind == kind)
        return list(s.execute(q.order_by(Event.id)).scalars())


def refusals(engine: Engine, rx_id: int, action: str) -> int:
    from server.audit.models import AuditEntry

    with Session(engine) as s:
        return len(list(s.execute(select(AuditEntry.id).where(
            AuditEntry.object_type == "prescription", AuditEntry.object_id == rx_id, AuditEntry.action == action,
            AuditEntry.result == "refused")).scalars()))
