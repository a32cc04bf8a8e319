"""Arranging booking scenarios for test_catalogue, test_booking and test_scheduler.

What the public API offers is done through it (doctors and schedules by the admin, the notice, booking, check-in).
What it cannot do, or only slowly, is arranged in the database through ``db_engine``: patients whose HIS visits
are known (adding a patient through the API needs ID photos, an SMS code and the HIS), HIS visits, many accounts
at once, a staff session for a doctor made in the test, and payment (the payments slice's sandbox is tested there;
here an appointment is marked paid directly).
"""
from __future__ import annotations

import datetime as dt
import secrets
import time
from collections.abc import Callable
from typing import Any
from zoneinfo import ZoneInfo

import httpx
from sqlalchemy import update
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

import server.models  # noqa: F401  (every table, so foreign keys resolve in this process)
from tests.helpers import DEMO_STAFF_PASSWORD, auth, new_mobile

V1 = "/api/v1"
TZ = ZoneInfo("Asia/Shanghai")
DEADLINE_S = 15.0


def now() -> dt.datetime:
    return dt.datetime.now(TZ)


def wait_for(condition: Callable[[], Any], *, what: str, deadline_s: float = DEADLINE_S) -> Any:
    end = time.monotonic() + deadline_s
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > end:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


# --- people ------------------------------------------------------------------------------------------------------


def db_account(engine: Engine, *, name: str = "测试用户") -> dict[str, Any]:
    """An account with a live session, made in the database (registration has SMS caps per client)."""
    from server.accounts.models import Account, AccountSession
    from server.ids import token_hash

    token = secrets.token_urlsafe(32)
    t = now()
    with Session(engine) as s, s.begin():
        acc = Account(mobile=new_mobile(), name=name, password_hash="!", active=True)
        s.add(acc)
        s.flush()
        s.add(AccountSession(account_id=acc.id, token_hash=token_hash(token), last_seen_at=t,
                             expires_at=t + dt.timedelta(days=1)))
        return {"account_id": acc.id, "mobile": acc.mobile, "headers": auth(token)}


def db_staff(engine: Engine, *, role: str, doctor_id: int | None = None) -> dict[str, str]:
    """A staff member with a live workstation session (e.g. the doctor of a doctor made by the test)."""
    from server.ids import token_hash
    from server.staff.models import Staff, StaffSession

    token = secrets.token_urlsafe(32)
    t = now()
    with Session(engine) as s, s.begin():
        staff = Staff(username=f"t{secrets.token_hex(6)}", name="测试员工", role=role, password_hash="!",
                      doctor_id=doctor_id, active=True)
        s.add(staff)
        s.flush()
        s.add(StaffSession(staff_id=staff.id, token_hash=token_hash(token), last_seen_at=t,
                           expires_at=t + dt.timedelta(hours=2)))
    return auth(token)


def admin_headers(api: httpx.Client, engine: Engine) -> dict[str, str]:
    """The demo admin when demo data is there, else an admin session of our own."""
    r = api.post(f"{V1}/staff/auth/login", json={"username": "admin", "password": DEMO_STAFF_PASSWORD})
    if r.status_code == 200:
        return auth(r.json()["token"])
    return db_staff(engine, role="admin")


def id_digest(live_server: Any, id_number: str) -> str:
    """The server's keyed digest of an ID number (its key derives from its data directory in development)."""
    from server.config import Settings
    from server.crypto import digest

    settings = Settings(data_dir=live_server.data_dir,
                        encryption_key=live_server.env.get("CLINIC_ENCRYPTION_KEY", ""))
    return digest(id_number, key=settings.encryption_key_bytes())


def db_patient(engine: Engine, account_id: int, *, name: str = "李患者", card_no: str | None = None,
               digest: str | None = None, birth_date: dt.date | None = dt.date(1970, 5, 20),
               sex: str = "female") -> int:
    from server.patients.models import Patient

    with Session(engine) as s, s.begin():
        p = Patient(account_id=account_id, kind="returning" if card_no else "first_visit", name=name, sex=sex,
                    birth_date=birth_date, id_type="resident_id", id_number_enc="v1:test",
                    id_number_digest=digest or secrets.token_hex(32), id_number_masked="1101**********123X",
                    card_type="hospital" if card_no else None, card_no=card_no)
        s.add(p)
        s.flush()
        return p.id


def new_card() -> str:
    return "T" + secrets.token_hex(6).upper()


def db_visit(engine: Engine, *, department_code: str, days_ago: int, name: str = "李患者",
             card_no: str | None = None, digest: str | None = None, doctor_name: str = "王医生",
             diagnosis: str = "2型糖尿病") -> int:
    from server.catalogue.models import HisVisit

    with Session(engine) as s, s.begin():
        v = HisVisit(card_type="hospital" if card_no else None, card_no=card_no, id_number_digest=digest,
                     patient_name=name, department_code=department_code,
                     visit_date=now().date() - dt.timedelta(days=days_ago), doctor_name=doctor_name,
                     diagnosis=diagnosis, source="import")
        s.add(v)
        s.flush()
        return v.id


def eligible_patient(engine: Engine, account_id: int, *, department_code: str, name: str = "李患者",
                     days_ago: int = 30) -> int:
    card = new_card()
    db_visit(engine, department_code=department_code, days_ago=days_ago, name=name, card_no=card)
    return db_patient(engine, account_id, name=name, card_no=card)


def db_holders(engine: Engine, count: int, *, department_code: str, notice_version: int) -> list[dict[str, Any]]:
    """``count`` accounts in one go, each with a session, the notice accepted and an eligible patient."""
    from server.accounts.models import Account, AccountSession
    from server.catalogue.models import HisVisit, NoticeAcceptance
    from server.ids import token_hash
    from server.patients.models import Patient

    t = now()
    out = []
    with Session(engine) as s, s.begin():
        for _ in range(count):
            token, card = secrets.token_urlsafe(32), new_card()
            acc = Account(mobile=new_mobile(), name="并发用户", password_hash="!", active=True)
            s.add(acc)
            s.flush()
            s.add(AccountSession(account_id=acc.id, token_hash=token_hash(token), last_seen_at=t,
                                 expires_at=t + dt.timedelta(days=1)))
            s.add(NoticeAcceptance(account_id=acc.id, notice_version=notice_version))
            s.add(HisVisit(card_type="hospital", card_no=card, patient_name="并发患者",
                           department_code=department_code, visit_date=t.date() - dt.timedelta(days=30),
                           doctor_name="王医生", diagnosis="贫血", source="import"))
            p = Patient(account_id=acc.id, kind="returning", name="并发患者", sex="male", id_type="resident_id",
                        id_number_enc="v1:test", id_number_digest=secrets.token_hex(32),
                        id_number_masked="1101**********0011", card_type="hospital", card_no=card)
            s.add(p)
            s.flush()
            out.append({"account_id": acc.id, "headers": auth(token), "patient_id": p.id,
                        "notice": notice_version})
    return out


# --- catalogue ---------------------------------------------------------------------------------------------------


def departments(api: httpx.Client) -> dict[str, dict[str, Any]]:
    r = api.get(f"{V1}/departments")
    assert r.status_code == 200, r.text
    return {d["code"]: d for d in r.json()}


def make_doctor(api: httpx.Client, admin: dict[str, str], *, department_code: str = "endocrinology",
                fee_fen: int = 3000, name: str | None = None) -> dict[str, Any]:
    dep = departments(api)[department_code]
    r = api.post(f"{V1}/staff/admin/doctors", headers=admin,
                 json={"department_id": dep["id"], "name": name or f"测试{secrets.token_hex(2)}",
                       "title": "主治医师", "specialty": "测试", "introduction": "测试医生", "fee_fen": fee_fen})
    assert r.status_code == 201, r.text
    return r.json()


def make_schedule(api: httpx.Client, admin: dict[str, str], *, doctor_id: int, start: dt.datetime,
                  minutes: int = 60, slot_minutes: int = 15, capacity: int = 2) -> dict[str, Any]:
    """A session from ``start`` (Shanghai, whole minutes) lasting ``minutes``, within one day."""
    start = start.astimezone(TZ)
    end = start + dt.timedelta(minutes=minutes)
    end_text = "24:00" if end.date() != start.date() and end.time() == dt.time(0) else f"{end:%H:%M}"
    assert end.date() == start.date() or end_text == "24:00", "a schedule must stay within one day"
    r = api.post(f"{V1}/staff/admin/schedules", headers=admin,
                 json={"doctor_id": doctor_id, "day": start.date().isoformat(), "start": f"{start:%H:%M}",
                       "end": end_text, "slot_minutes": slot_minutes, "capacity_per_slot": capacity})
    assert r.status_code == 201, r.text
    return r.json()


def future_start(*, days: int = 2, hour: int = 9) -> dt.datetime:
    return (now() + dt.timedelta(days=days)).replace(hour=hour, minute=0, second=0, microsecond=0)


def soon_start(*, lead_minutes: int = 5, length_minutes: int = 30) -> dt.datetime:
    """A start a few minutes ahead (inside the check-in window, which opens 30 minutes before) whose session
    stays within one Shanghai day: near midnight, the coming midnight itself."""
    t = (now() + dt.timedelta(minutes=lead_minutes)).replace(second=0, microsecond=0)
    if (t + dt.timedelta(minutes=length_minutes)).date() != t.date():
        t = dt.datetime.combine(t.date() + dt.timedelta(days=1), dt.time(0), tzinfo=TZ)
    return t


def accept_notice(api: httpx.Client, headers: dict[str, str]) -> int:
    version = api.get(f"{V1}/notice").json()["version"]
    r = api.post(f"{V1}/notice/accept", headers=headers, json={"version": version})
    assert r.status_code == 204, r.text
    return version


def book(api: httpx.Client, headers: dict[str, str], *, patient_id: int, slot_id: int,
         notice_version: int) -> httpx.Response:
    return api.post(f"{V1}/appointments", headers=headers,
                    json={"patient_id": patient_id, "slot_id": slot_id, "notice_version": notice_version})


# --- the database behind the API -------------------------------------------------------------------------------


def set_appointment(engine: Engine, appointment_id: int, **values: Any) -> None:
    from server.appointments.models import Appointment

    with Session(engine) as s, s.begin():
        s.execute(update(Appointment).where(Appointment.id == appointment_id).values(**values))


def mark_paid(engine: Engine, appointment_id: int) -> None:
    """What a confirmed payment does to the appointment (the real path is tested by the payments slice)."""
    set_appointment(engine, appointment_id, status="booked", paid_at=now())


def move_appointment(engine: Engine, appointment_id: int, *, starts_at: dt.datetime, minutes: int = 15) -> None:
    """Move an appointment and its slot in time (e.g. into the past), which no route can do."""
    from server.appointments.models import Appointment
    from server.catalogue.models import Slot

    ends_at = starts_at + dt.timedelta(minutes=minutes)
    with Session(engine) as s, s.begin():
        appt = s.get(Appointment, appointment_id)
        assert appt is not None
        s.execute(update(Slot).where(Slot.id == appt.slot_id).values(starts_at=starts_at, ends_at=ends_at))
        appt.starts_at, appt.ends_at = starts_at, ends_at


def slot_row(engine: Engine, slot_id: int) -> dict[str, Any]:
    from server.catalogue.models import Slot

    with Session(engine) as s:
        slot = s.get(Slot, slot_id)
        assert slot is not None
        return {"booked": slot.booked, "capacity": slot.capacity, "status": slot.status}


def appointment_row(engine: Engine, appointment_id: int) -> dict[str, Any]:
    from server.appointments.models import Appointment

    with Session(engine) as s:
        a = s.get(Appointment, appointment_id)
        assert a is not None
        return {c.name: getattr(a, c.name) for c in Appointment.__table__.columns}


def sms_to(api: httpx.Client, mobile: str, *, kind: str | None = None) -> list[dict[str, Any]]:
    r = api.get(f"{V1}/dev/sms", params={"mobile": mobile, "limit": 50})
    assert r.status_code == 200, r.text
    return [m for m in r.json() if kind is None or m["kind"] == kind]
