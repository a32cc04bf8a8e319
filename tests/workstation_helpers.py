"""Arranging the doctor's day for test_consultation, test_idempotency and test_clinic_stop.

A doctor of the test's own with a session starting in a few minutes (inside the check-in window), the doctor's
workstation session, and appointments brought through the patient's real steps (book, check in, describe);
payment is marked in the database like tests/test_booking.py does (the payments slice tests the real path).
"""
from __future__ import annotations

import io
import secrets
from typing import Any

import httpx
from PIL import Image
from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from tests.booking_helpers import (
    V1,
    accept_notice,
    book,
    db_account,
    db_staff,
    eligible_patient,
    make_doctor,
    make_schedule,
    mark_paid,
    now,
    soon_start,
)

ABSENT = 2**53


def holder(api: httpx.Client, db_engine: Engine, *, name: str = "李患者",
           department_code: str = "endocrinology") -> dict[str, Any]:
    """An account that accepted the notice, with an eligible patient (born 1970-05-20, a HIS visit 30 days
    ago)."""
    acc = db_account(db_engine)
    acc["notice"] = accept_notice(api, acc["headers"])
    acc["patient_id"] = eligible_patient(db_engine, acc["account_id"], department_code=department_code,
                                         name=name)
    return acc


def doctor_today(api: httpx.Client, admin: dict[str, str], db_engine: Engine, *, capacity: int = 6
                 ) -> dict[str, Any]:
    """A doctor with a 30-minute session starting in a few minutes, and that doctor's workstation session."""
    doc = make_doctor(api, admin, department_code="endocrinology", name=f"医生{secrets.token_hex(2)}")
    schedule = make_schedule(api, admin, doctor_id=doc["id"], start=soon_start(), minutes=30, slot_minutes=15,
                             capacity=capacity)
    return {"doctor": doc, "id": doc["id"], "slots": [s["id"] for s in schedule["slots"]],
            "headers": db_staff(db_engine, role="doctor", doctor_id=doc["id"])}


def png() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (8, 8), (30, 120, 200)).save(buf, format="PNG")
    return buf.getvalue()


def upload(api: httpx.Client, headers: dict[str, str]) -> dict[str, Any]:
    r = api.post(f"{V1}/files", headers=headers, files={"file": ("report.png", png(), "image/png")},
                 data={"purpose": "description"})
    assert r.status_code == 201, r.text
    return r.json()


def booked(api: httpx.Client, db_engine: Engine, clinic: dict[str, Any], *, slot: int = 0,
           acc: dict[str, Any] | None = None, name: str = "李患者") -> tuple[dict[str, Any], int]:
    """A paid appointment on the clinic's ``slot``-th slot."""
    acc = acc or holder(api, db_engine, name=name)
    r = book(api, acc["headers"], patient_id=acc["patient_id"], slot_id=clinic["slots"][slot],
             notice_version=acc["notice"])
    assert r.status_code == 201, r.text
    appt = r.json()["id"]
    mark_paid(db_engine, appt)
    return acc, appt


def checked_in(api: httpx.Client, db_engine: Engine, clinic: dict[str, Any], **kw: Any
               ) -> tuple[dict[str, Any], int]:
    acc, appt = booked(api, db_engine, clinic, **kw)
    r = api.post(f"{V1}/appointments/{appt}/check-in", headers=acc["headers"])
    assert r.status_code == 200, r.text
    return acc, appt


def waiting(api: httpx.Client, db_engine: Engine, clinic: dict[str, Any], *,
            text: str = "空腹血糖8.5，近一周头晕。", with_file: bool = False, **kw: Any
            ) -> tuple[dict[str, Any], int]:
    acc, appt = checked_in(api, db_engine, clinic, **kw)
    files = [upload(api, acc["headers"])["id"]] if with_file else []
    r = api.post(f"{V1}/appointments/{appt}/description", headers=acc["headers"],
                 json={"text": text, "file_ids": files})
    assert r.status_code == 200, r.text
    acc["file_ids"] = files
    return acc, appt


def in_consultation(api: httpx.Client, db_engine: Engine, clinic: dict[str, Any], **kw: Any
                    ) -> tuple[dict[str, Any], int]:
    acc, appt = waiting(api, db_engine, clinic, **kw)
    r = api.post(f"{V1}/staff/appointments/{appt}/accept", headers=clinic["headers"])
    assert r.status_code == 200, r.text
    return acc, appt


def events_of(db_engine: Engine, *, object_type: str, object_id: int, kind: str | None = None) -> list[Any]:
    from server.events.models import Event

    with Session(db_engine) as s:
        q = select(Event).where(Event.object_type == object_type, Event.object_id == object_id)
        if kind is not None:
            q = q.where(Event.kind == kind)
        return list(s.execute(q.order_by(Event.id)).scalars())


def new_key() -> str:
    return secrets.token_hex(16)


__all__ = ["ABSENT", "V1", "booked", "checked_in", "doctor_today", "events_of", "holder", "in_consultation",
           "new_key", "now", "upload", "waiting"]
