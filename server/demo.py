"""``clinic-server demo-data``: a hospital to click through and to simulate against.

Everything is looked up by its natural key first (department code, doctor name within the department, a
schedule's doctor and start, drug code, notice version, staff username, a patient's card and department for
HIS visits), so running it again adds nothing twice; a later run only adds the sessions of days that have come
into range since. It goes through the service functions (catalogue, staff) where they exist, in one in-process
transaction; the data itself is static and lives in :mod:`server.demo_catalogue`.

Any hour of the day has slots whose check-in window is open or about to open: every doctor gets the online night,
noon and evening clinics today, and each department's 主治医师 keeps them every day. That is what lets the
simulator book, pay and check in at once whenever it is started.
"""
from __future__ import annotations

import datetime as dt
import os
import random
import secrets
import string
import sys
from collections import Counter
from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from server import demo_catalogue as cat
from server.actor import SYSTEM
from server.audit.service import audit
from server.catalogue import service as catalogue
from server.catalogue.models import Department, Doctor, HisVisit, Notice, Schedule, Slot
from server.crypto import digest
from server.errors import AppError
from server.events.service import record_change
from server.staff.models import Staff
from server.staff.service import create_staff
from server.timeutil import combine, now, today

# a demo visit older than this is topped up with a fresh one, so a long-lived demo database stays eligible
REFRESH_AFTER_DAYS = 150
PASSWORD_ENV = "CLINIC_DEMO_STAFF_PASSWORD"
# the returning patients the HIS knows (docs/api-contract.md names them here); the data is in demo_catalogue
DEMO_HIS_PATIENTS = cat.DEMO_HIS_PATIENTS


@dataclass
class Report:
    added: Counter[str] = field(default_factory=Counter)
    passwords: list[tuple[str, str, str, str]] = field(default_factory=list)  # username, role, name, password
    skipped: list[str] = field(default_factory=list)


def random_password() -> str:
    """12 letters and digits with at least one of each: passes any reasonable staff password rule."""
    alphabet = string.ascii_letters + string.digits
    while True:
        pw = "".join(secrets.choice(alphabet) for _ in range(12))
        if any(c.isdigit() for c in pw) and any(c.isalpha() for c in pw):
            return pw


# ------------------------------------------------------------------------------------------------- catalogue


def ensure_departments(session: Session, report: Report) -> dict[str, Department]:
    before = set(session.execute(select(Department.code)).scalars())
    deps = {d.code: d for d in catalogue.ensure_departments(session)}
    for sort, spec in enumerate(cat.DEPARTMENTS, start=1):
        dep = deps.get(spec.code)
        if dep is None:
            dep = Department(code=spec.code, name=spec.name, sort=sort, introduction="", active=True)
            session.add(dep)
            session.flush()
            deps[spec.code] = dep
        if dep.introduction:
            continue
        dep.introduction = spec.introduction
        session.flush()
        created = spec.code not in before
        record_change(session, actor=SYSTEM, kind="department.created" if created else "department.updated",
                      object_type="department", object_id=dep.id, topic="admin",
                      payload={"code": dep.code, "name": dep.name})
        report.added["departments"] += created
    return deps


def ensure_doctors(session: Session, report: Report, departments: dict[str, Department]
                   ) -> list[tuple[Doctor, cat.DemoDoctor]]:
    out: list[tuple[Doctor, cat.DemoDoctor]] = []
    for spec in cat.DOCTORS:
        dep = departments[spec.department_code]
        doc = session.execute(select(Doctor).where(Doctor.department_id == dep.id, Doctor.name == spec.name)
                              .order_by(Doctor.id).limit(1)).scalar_one_or_none()
        if doc is None:
            doc = catalogue.create_doctor(session, actor=SYSTEM, department_id=dep.id, name=spec.name,
                                          title=spec.title, specialty=spec.specialty,
                                          introduction=spec.introduction, fee_fen=spec.fee_fen)
            report.added["doctors"] += 1
        out.append((doc, spec))
    return out


def ensure_schedules(session: Session, report: Report, doctors: list[tuple[Doctor, cat.DemoDoctor]], *,
                     days: int, first_day: dt.date, at: dt.datetime) -> None:
    """Sessions from ``first_day`` for ``days`` days; a session that has already ended is not created."""
    last_day = first_day + dt.timedelta(days=days - 1)
    existing = {(doctor_id, starts_at) for doctor_id, starts_at in session.execute(
        select(Schedule.doctor_id, Schedule.starts_at)
        .where(Schedule.doctor_id.in_([d.id for d, _ in doctors]), Schedule.day >= first_day,
               Schedule.day <= last_day))}
    for offset in range(days):
        day = first_day + dt.timedelta(days=offset)
        for doc, spec in doctors:
            if not doc.active:
                continue
            for sess in cat.SESSIONS:
                if sess.online_clinic and not (spec.night_clinic or day == first_day):
                    continue
                start, end = combine(day, sess.start), combine(day, sess.end)
                if end <= at or (doc.id, start) in existing:
                    continue
                # capacity per session, the same on every run (so the data is reproducible)
                capacity = random.Random(f"{spec.name}|{day.isoformat()}|{sess.start}").randint(2, 4)
                try:
                    schedule = catalogue.create_schedule(
                        session, actor=SYSTEM, doctor_id=doc.id, day=day, start=f"{sess.start:%H:%M}",
                        end=f"{sess.end:%H:%M}", slot_minutes=sess.slot_minutes, capacity_per_slot=capacity)
                except AppError as exc:  # e.g. an admin's own session there: leave it as it is
                    report.skipped.append(f"{spec.name} {day} {sess.label}: {exc.message}")
                    continue
                existing.add((doc.id, start))
                report.added["schedules"] += 1
                report.added["slots"] += session.execute(
                    select(func.count()).select_from(Slot).where(Slot.schedule_id == schedule.id)).scalar_one()


def ensure_notice(session: Session, report: Report) -> None:
    if session.execute(select(Notice.id).where(Notice.version == cat.NOTICE_VERSION)).first() is not None:
        return
    notice = Notice(version=cat.NOTICE_VERSION, title=cat.NOTICE_TITLE, body=cat.NOTICE_BODY)
    session.add(notice)
    session.flush()
    record_change(session, actor=SYSTEM, kind="notice.published", object_type="notice", object_id=notice.id,
                  topic="admin", payload={"version": notice.version, "title": notice.title})
    report.added["notice"] += 1


def ensure_drugs(session: Session, report: Report) -> None:
    """The formulary from resources/catalogues/drugs.csv (server/prescriptions/catalogue.py)."""
    from server.prescriptions.catalogue import sync_drugs

    added, updated = sync_drugs(session)
    if added or updated:
        audit(session, actor=SYSTEM, action="drugs.synced", object_type="drugs",
              details={"added": added, "updated": updated})
    report.added["drugs"] += added


# ------------------------------------------------------------------------------------------------------ staff


def ensure_staff(session: Session, report: Report, doctors: list[Doctor]) -> None:
    """admin, clerk, pharmacist, and doctor1…doctorN for the demo doctors in id order (other doctors are the
    admin's business)."""
    fixed = os.environ.get(PASSWORD_ENV) or None
    taken = set(session.execute(select(Staff.username)).scalars())
    linked = set(session.execute(select(Staff.doctor_id).where(Staff.doctor_id.is_not(None))).scalars())
    wanted: list[tuple[str, str, str, int | None]] = [
        ("admin", "admin", "系统管理员", None),
        ("clerk", "clerk", "窗口收费员", None),
        ("pharmacist", "pharmacist", "审方药师", None),
    ]
    for n, doc in enumerate(sorted(doctors, key=lambda d: d.id), start=1):
        if doc.id not in linked:
            wanted.append((f"doctor{n}", "doctor", doc.name, doc.id))
    for username, role, name, doctor_id in wanted:
        if username in taken:
            continue
        password = fixed or random_password()
        create_staff(session, username=username, name=name, role=role, password=password, doctor_id=doctor_id,
                     actor=SYSTEM)
        taken.add(username)
        report.added["staff accounts"] += 1
        report.passwords.append((username, role, name, password))


# ------------------------------------------------------------------------------------------------ HIS visits


def ensure_his_visits(session: Session, report: Report, *, day: dt.date) -> None:
    for p in cat.DEMO_HIS_PATIENTS:
        card_type, card_no = p.card
        id_digest = digest(p.id_number)
        for dep in p.department_codes:
            planned = [v for v in p.visits if v.department_code == dep]
            newest = session.execute(select(func.max(HisVisit.visit_date)).where(
                HisVisit.card_type == card_type, HisVisit.card_no == card_no, HisVisit.department_code == dep,
                HisVisit.source == "demo")).scalar()
            if newest is None:
                todo = planned
            elif newest < day - dt.timedelta(days=REFRESH_AFTER_DAYS):
                todo = [min(planned, key=lambda v: v.days_ago)]
            else:
                continue
            for v in todo:
                session.add(HisVisit(card_type=card_type, card_no=card_no, id_number_digest=id_digest,
                                     patient_name=p.name, department_code=dep,
                                     visit_date=day - dt.timedelta(days=v.days_ago), doctor_name=v.doctor_name,
                                     diagnosis=v.diagnosis, source="demo"))
                report.added["HIS visits"] += 1
    if report.added["HIS visits"]:
        session.flush()
        from server.audit.service import audit

        audit(session, actor=SYSTEM, action="his.demo_import", object_type="his_visits",
              details={"visits": report.added["HIS visits"]})


# --------------------------------------------------------------------------------------------------------- run


def fill(session: Session, *, days: int, at: dt.datetime | None = None) -> Report:
    """Add whatever of the demo hospital is missing, in the caller's transaction."""
    at = at or now()
    report = Report()
    departments = ensure_departments(session, report)
    doctors = ensure_doctors(session, report, departments)
    ensure_schedules(session, report, doctors, days=days, first_day=at.date(), at=at)
    ensure_notice(session, report)
    ensure_drugs(session, report)
    ensure_staff(session, report, [d for d, _ in doctors])
    ensure_his_visits(session, report, day=at.date())
    return report


def _width(text: str) -> int:
    """Display width: a CJK character takes two terminal columns."""
    return sum(2 if ord(ch) >= 0x2E80 else 1 for ch in text)


def _print_passwords(rows: list[tuple[str, str, str, str]]) -> None:
    table = [("username", "role", "name", "password"), *rows]
    widths = [max(_width(r[i]) for r in table) for i in range(4)]
    print("\nstaff accounts created (passwords are shown only this once):")
    for r in table:
        print("  " + "  ".join(c + " " * (w - _width(c)) for c, w in zip(r, widths)).rstrip())


def run(*, days: int = 7) -> int:
    from server.db import get_db

    if days < 1 or days > 366:
        print("demo-data: --days must be between 1 and 366", file=sys.stderr)
        return 2
    try:
        with get_db().transaction() as session:
            report = fill(session, days=days)
    except AppError as exc:  # e.g. CLINIC_DEMO_STAFF_PASSWORD too weak for the staff password rules
        print(f"demo-data: {exc.code}: {exc.message}; nothing was added", file=sys.stderr)
        return 2
    labels = ("departments", "doctors", "schedules", "slots", "notice", "drugs", "staff accounts", "HIS visits")
    added = ", ".join(f"{report.added[k]} {k}" for k in labels if report.added[k])
    print(f"demo-data: added {added}" if added else "demo-data: nothing to add, the demo data is complete")
    for line in report.skipped:
        print(f"demo-data: skipped {line}")
    if report.passwords:
        _print_passwords(report.passwords)
    print(f"demo-data: {len(cat.DEMO_HIS_PATIENTS)} returning patients in the HIS (cards and ID numbers in "
          f"server/demo_catalogue.py); the first day is {today().isoformat()} (Asia/Shanghai)")
    return 0
