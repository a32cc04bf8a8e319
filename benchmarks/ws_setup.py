"""Set-up shared by the workstation benchmarks: the demo doctor, checked-in-able appointments, staff sessions.

Only the hospital's side and bulk are written directly (accounts with a session, eligible patients, notice
acceptance, a schedule around now, payment marks, extra staff sessions); bookings are real ``POST
/appointments`` calls and the measured check-ins are real ``POST /appointments/{id}/check-in`` calls by the
account holders.
"""
from __future__ import annotations

import datetime as dt
import json
import secrets
from dataclasses import dataclass

from sqlalchemy import insert, select, update

from benchmarks.harness import API, STAFF_PASSWORD, Server
from benchmarks.prep import auth, check, now

DOCTOR_USERNAME = "doctor1"


@dataclass(frozen=True)
class Holder:
    account_id: int
    token: str
    patient_id: int
    appointment_id: int = 0


def demo_doctor(server: Server, username: str = DOCTOR_USERNAME) -> tuple[int, str]:
    """(doctor id, department code) of the demo doctor signed in as ``username``."""
    from server.catalogue.models import Department, Doctor
    from server.staff.models import Staff

    with server.engine.connect() as c:
        row = c.execute(select(Staff.doctor_id, Department.code)
                        .join(Doctor, Doctor.id == Staff.doctor_id)
                        .join(Department, Department.id == Doctor.department_id)
                        .where(Staff.username == username)).one()
    return int(row[0]), str(row[1])


def slot_now(server: Server, doctor_id: int, *, capacity: int, lead_minutes: int = 6,
             minutes: int = 30) -> int:
    """One slot of ``capacity`` places starting in a few minutes (its check-in window is open now)."""
    from server.catalogue.models import Schedule, Slot

    start = (now() + dt.timedelta(minutes=lead_minutes)).replace(second=0, microsecond=0)
    end = start + dt.timedelta(minutes=minutes)
    with server.engine.begin() as c:
        sid = c.execute(insert(Schedule).values(doctor_id=doctor_id, day=start.date(), starts_at=start, ends_at=end,
                                                status="open", created_at=now()).returning(Schedule.id)).scalar_one()
        return c.execute(insert(Slot).values(schedule_id=sid, doctor_id=doctor_id, starts_at=start, ends_at=end,
                                             capacity=capacity, booked=0, status="open")
                         .returning(Slot.id)).scalar_one()


def db_holders(server: Server, count: int, *, department_code: str) -> tuple[list[Holder], int]:
    """``count`` account holders: a live session, the notice accepted, an eligible returning patient."""
    from server.accounts.models import Account, AccountSession
    from server.catalogue.models import HisVisit, NoticeAcceptance
    from server.ids import token_hash
    from server.patients.models import Patient

    with server.client() as api:
        version = check(api.get(f"{API}/notice"), 200)["version"]  # type: ignore[index]
    t = now()
    out = []
    surnames = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
    with server.engine.begin() as c:
        for i in range(count):
            token, card = secrets.token_urlsafe(32), "W" + secrets.token_hex(6).upper()
            name = surnames[i % len(surnames)] + "测" + "甲乙丙丁戊己庚辛壬癸"[i // len(surnames) % 10]
            aid = c.execute(insert(Account).values(mobile=f"199{secrets.randbelow(10**8):08d}", name=name,
                                                   password_hash="!", active=True, created_at=t)
                            .returning(Account.id)).scalar_one()
            c.execute(insert(AccountSession).values(account_id=aid, token_hash=token_hash(token), created_at=t,
                                                    last_seen_at=t, expires_at=t + dt.timedelta(days=1)))
            c.execute(insert(NoticeAcceptance).values(account_id=aid, notice_version=version, accepted_at=t))
            c.execute(insert(HisVisit).values(card_type="hospital", card_no=card, patient_name=name,
                                              department_code=department_code,
                                              visit_date=t.date() - dt.timedelta(days=30), doctor_name="王医生",
                                              diagnosis="复诊", source="import"))
            pid = c.execute(insert(Patient).values(
                account_id=aid, kind="returning", name=name, sex="female" if i % 2 else "male",
                birth_date=dt.date(1960 + i % 40, 5, 20), id_type="resident_id", id_number_enc="v1:bench",
                id_number_digest=secrets.token_hex(32), id_number_masked="1101**********0011",
                card_type="hospital", card_no=card, created_at=t).returning(Patient.id)).scalar_one()
            out.append(Holder(aid, token, pid))
    return out, version


def booked_appointments(server: Server, count: int, *, doctor_id: int, department_code: str) -> list[Holder]:
    """``count`` paid appointments with the doctor on one slot starting in a few minutes (check-in open)."""
    from server.appointments.models import Appointment

    slot = slot_now(server, doctor_id, capacity=count)
    holders, version = db_holders(server, count, department_code=department_code)
    out = []
    with server.client() as api:
        for h in holders:
            body = check(api.post(f"{API}/appointments", headers=auth(h.token),
                                  json={"patient_id": h.patient_id, "slot_id": slot, "notice_version": version}),
                         201)
            out.append(Holder(h.account_id, h.token, h.patient_id, int(body["id"])))  # type: ignore[index]
    with server.engine.begin() as c:  # what a confirmed payment does (the payments slice has its own tests)
        c.execute(update(Appointment).where(Appointment.id.in_([h.appointment_id for h in out]))
                  .values(status="booked", paid_at=now()))
    return out


def staff_tokens(server: Server, count: int) -> list[str]:
    """``count`` live workstation sessions of new staff members: doctors of the other demo doctors, pharmacists,
    clerks and administrators, in turn."""
    from server.ids import token_hash
    from server.staff.models import Staff, StaffSession

    t = now()
    tokens = []
    with server.engine.begin() as c:
        # a doctor has one staff account (staff.doctor_id is unique): the other demo doctors get several sessions
        doctor_staff = c.execute(select(Staff.id).where(Staff.role == "doctor", Staff.username != DOCTOR_USERNAME)
                                 .order_by(Staff.id)).scalars().all()
        for i in range(count):
            role = ("doctor", "doctor", "pharmacist", "clerk", "admin")[i % 5]
            if role == "doctor" and doctor_staff:
                sid = doctor_staff[i % len(doctor_staff)]
            else:
                sid = c.execute(insert(Staff).values(username=f"bench{i:04d}{secrets.token_hex(2)}",
                                                     name="压测员工", role=role if role != "doctor" else "admin",
                                                     password_hash="!", active=True).returning(Staff.id)).scalar_one()
            token = secrets.token_urlsafe(32)
            c.execute(insert(StaffSession).values(staff_id=sid, token_hash=token_hash(token), created_at=t,
                                                  last_seen_at=t, expires_at=t + dt.timedelta(hours=8)))
            tokens.append(token)
    return tokens


def doctor_password() -> str:
    return STAFF_PASSWORD


# ---------------------------------------------------------------------------------------------------- processes

class Child:
    """A helper process speaking JSON lines on stdout; its lines are collected by a thread."""

    def __init__(self, argv: list[str], *, env: dict[str, str] | None = None, name: str = "") -> None:
        import os
        import queue
        import subprocess
        import sys
        import threading

        from benchmarks.harness import ROOT

        self.name = name or argv[0]
        full_env = dict(os.environ if env is None else env)
        full_env.setdefault("QT_QPA_PLATFORM", "offscreen")
        full_env["PYTHONUNBUFFERED"] = "1"
        self.proc = subprocess.Popen([sys.executable, *argv], cwd=ROOT, env=full_env, stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, bufsize=1)
        self.lines: queue.Queue[dict] = queue.Queue()
        self.stderr: list[str] = []

        def read() -> None:
            assert self.proc.stdout is not None
            for line in self.proc.stdout:
                line = line.strip()
                if line.startswith("{"):
                    try:
                        self.lines.put(json.loads(line))
                    except ValueError:
                        pass

        def read_err() -> None:
            assert self.proc.stderr is not None
            for line in self.proc.stderr:
                self.stderr.append(line)
                del self.stderr[:-200]

        threading.Thread(target=read, daemon=True).start()
        threading.Thread(target=read_err, daemon=True).start()

    def expect(self, key: str, timeout: float = 120) -> dict:
        import queue
        import time

        end = time.monotonic() + timeout
        while True:
            left = end - time.monotonic()
            if left <= 0 or (self.proc.poll() is not None and self.lines.empty()):
                raise RuntimeError(f"{self.name}: no {key!r} (exit {self.proc.poll()}):\n"
                                   + "".join(self.stderr[-40:]))
            try:
                msg = self.lines.get(timeout=min(left, 0.5))
            except queue.Empty:
                continue
            if key in msg:
                return msg

    def send(self, line: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()

    def close_stdin(self) -> None:
        if self.proc.stdin is not None and not self.proc.stdin.closed:
            self.proc.stdin.close()

    def stop(self, timeout: float = 15) -> None:
        import subprocess

        self.close_stdin()
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
