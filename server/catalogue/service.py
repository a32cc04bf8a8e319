"""Rules of the catalogue: what can be booked, who may book it, and the schedules that make slots."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Row, bindparam, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from server.actor import Actor
from server.cache import notice_version_cache
from server.catalogue.his import HisVisitLike, get_his
from server.catalogue.models import Department, Doctor, Notice, NoticeAcceptance, Schedule, Slot
from server.config import get_settings
from server.consultation.models import ClinicStop
from server.errors import AppError, Conflict, NotFound
from server.events.service import record_change
from server.patients.models import Patient
from server.timeutil import TZ, combine, now, today

# the seed's online departments (code, name, order)
DEPARTMENTS: tuple[tuple[str, str, int], ...] = (
    ("bone_tumor", "骨肿瘤科", 1),
    ("neurology", "神经内科", 2),
    ("endocrinology", "内分泌科", 3),
    ("hematology", "血液科", 4),
)

DEFAULT_NOTICE_TITLE = "在线复诊须知"
DEFAULT_NOTICE_BODY = """\
1. 互联网医院在线复诊仅面向骨肿瘤科、神经内科、内分泌科、血液科六个月内在本院有门诊就诊记录的复诊患者，首诊患者请到医院门诊就诊。
2. 请提前准备好六个月内的就诊资料（病历、检验检查报告、影像资料等），签到后需填写病情描述并上传相关资料，以便医生详细了解您的病情。
3. 预约时请确认复诊科室、医生、时间及诊费，提交后请在规定时间内完成支付，超时未支付的预约将自动取消。
4. 复诊当天请在预约时间前后进入小程序，在预约详情中点击【复诊签到】；签到后填写病情描述，提交后请在视频问诊界面等待医生接通，不要退出小程序，否则将接收不到医生的视频邀请。
5. 如视频中途断线，医生会再次发起视频问诊邀请。医生开具处方后您将收到取药通知短信，可选择就近药店取药或送药上门。
6. 如需取消预约，预约时间前可在线取消并退费；已过预约时间未就诊的，可提交退号申请。退费将在1-15个工作日内按原支付路径退回。
7. 在线复诊不适用于急危重症，如病情紧急请立即到医院急诊就诊或拨打120。"""


# --- departments and doctors --------------------------------------------------------------------------------


def ensure_departments(session: Session) -> list[Department]:
    """Create the seed's four departments when missing (demo data and first start-up call this)."""
    have = {d.code: d for d in session.execute(select(Department)).scalars()}
    for code, name, sort in DEPARTMENTS:
        if code not in have:
            have[code] = Department(code=code, name=name, sort=sort, introduction="", active=True)
            session.add(have[code])
    session.flush()
    return sorted(have.values(), key=lambda d: (d.sort, d.id))


def list_departments(session: Session) -> list[Department]:
    return list(session.execute(select(Department).where(Department.active.is_(True))
                                .order_by(Department.sort, Department.id)).scalars())


def get_department(session: Session, *, department_id: int) -> Department:
    dep = session.get(Department, department_id)
    if dep is None or not dep.active:
        raise NotFound("科室")
    return dep


def list_doctors(session: Session, *, department_id: int | None = None,
                 include_inactive: bool = False) -> list[tuple[Doctor, Department]]:
    q = select(Doctor, Department).join(Department, Department.id == Doctor.department_id)
    if not include_inactive:
        q = q.where(Doctor.active.is_(True), Department.active.is_(True))
    if department_id is not None:
        q = q.where(Doctor.department_id == department_id)
    return [(d, dep) for d, dep in session.execute(q.order_by(Department.sort, Doctor.id)).all()]


def get_doctor(session: Session, *, doctor_id: int, include_inactive: bool = False) -> tuple[Doctor, Department]:
    doc = session.get(Doctor, doctor_id)
    if doc is None or (not include_inactive and not doc.active):
        raise NotFound("医生")
    dep = session.get(Department, doc.department_id)
    assert dep is not None
    return doc, dep


def _check_photo(session: Session, photo_file_id: int | None) -> None:
    if photo_file_id is None:
        return
    from server.files.models import StoredFile

    f = session.get(StoredFile, photo_file_id)
    # only a file stored as a doctor's photo: any other (a patient's ID photo) must never become public
    if f is None or f.purpose != "doctor_photo" or not f.content_type.startswith("image/"):
        raise AppError("photo_invalid", "医生照片文件不存在或不是图片，请重新上传", status=422)


def create_doctor(session: Session, *, actor: Actor, department_id: int, name: str, title: str,
                  specialty: str = "", introduction: str = "", fee_fen: int,
                  photo_file_id: int | None = None) -> Doctor:
    get_department(session, department_id=department_id)
    _check_photo(session, photo_file_id)
    doc = Doctor(department_id=department_id, name=name, title=title, specialty=specialty,
                 introduction=introduction, fee_fen=fee_fen, photo_file_id=photo_file_id, active=True)
    session.add(doc)
    session.flush()
    record_change(session, actor=actor, kind="doctor.created", object_type="doctor", object_id=doc.id,
                  topic="admin", payload={"doctor_id": doc.id, "name": name, "department_id": department_id,
                                          "fee_fen": fee_fen})
    return doc


def update_doctor(session: Session, *, actor: Actor, doctor_id: int, changes: dict[str, object]) -> Doctor:
    doc = session.get(Doctor, doctor_id)
    if doc is None:
        raise NotFound("医生")
    if "department_id" in changes and changes["department_id"] is not None:
        get_department(session, department_id=int(changes["department_id"]))  # type: ignore[arg-type]
    if "photo_file_id" in changes:
        _check_photo(session, changes["photo_file_id"])  # type: ignore[arg-type]
    applied = {}
    for key, value in changes.items():
        if value is None and key != "photo_file_id":
            continue
        if getattr(doc, key) != value:
            setattr(doc, key, value)
            applied[key] = value
    if applied:
        session.flush()
        record_change(session, actor=actor, kind="doctor.updated", object_type="doctor", object_id=doc.id,
                      topic="admin", payload={"doctor_id": doc.id, "changes": applied})
    return doc


# --- slots ----------------------------------------------------------------------------------------------------
# The statements a booking runs are built once, with bound parameters: building and keying a new statement
# object costs SQLAlchemy more than running it (measured: 25 µs against 70 µs for a one-row select).

MAX_SLOT_RANGE_DAYS = 31


def slot_remaining(slot: Slot | Row[Any]) -> int:
    return max(0, slot.capacity - slot.booked)


def slot_bookable(slot: Slot | Row[Any], *, at: dt.datetime | None = None) -> bool:
    return slot.status == "open" and slot.booked < slot.capacity and slot.starts_at > (at or now())


def slot_range(date_from: dt.date | None, date_to: dt.date | None) -> tuple[dt.date, dt.date]:
    """The days a slot listing covers: from today, a week, unless the caller says otherwise."""
    start = date_from or today()
    return start, date_to or start + dt.timedelta(days=6)


_SLOTS = Slot.__table__
_SCHEDULES = Schedule.__table__
# the columns a listing shows, straight from the tables: a week of a doctor's slots is a few hundred rows, and
# ORM entities for them cost several times the query
_SLOT_LISTING = (select(_SLOTS.c.id, _SLOTS.c.doctor_id, _SLOTS.c.starts_at, _SLOTS.c.ends_at, _SLOTS.c.capacity,
                        _SLOTS.c.booked, _SLOTS.c.status)
                 .join(_SCHEDULES, _SCHEDULES.c.id == _SLOTS.c.schedule_id)
                 .order_by(_SLOTS.c.starts_at, _SLOTS.c.id))


def list_slots(session: Session, *, doctor_id: int, date_from: dt.date | None,
               date_to: dt.date | None) -> list[Row[Any]]:
    """Rows with the slot's id, doctor_id, starts_at, ends_at, capacity, booked and status."""
    get_doctor(session, doctor_id=doctor_id)
    start, end = slot_range(date_from, date_to)
    if end < start:
        raise AppError("date_range_invalid", "结束日期不能早于开始日期", status=422)
    if (end - start).days >= MAX_SLOT_RANGE_DAYS:
        raise AppError("date_range_too_long", f"一次最多查询{MAX_SLOT_RANGE_DAYS}天的号源，请缩小日期范围",
                       status=422)
    q = _SLOT_LISTING.where(_SLOTS.c.doctor_id == doctor_id, _SLOTS.c.status != "removed",
                            _SCHEDULES.c.status != "deleted", _SLOTS.c.starts_at >= combine(start, dt.time.min),
                            _SLOTS.c.starts_at <= combine(end, dt.time.max))
    return list(session.execute(q))


_TAKE_SLOT = (update(_SLOTS)
              .where(_SLOTS.c.id == bindparam("slot_id"), _SLOTS.c.status == "open",
                     _SLOTS.c.booked < _SLOTS.c.capacity, _SLOTS.c.starts_at > bindparam("at"))
              .values(booked=_SLOTS.c.booked + 1))


def take_slot(session: Session, *, slot_id: int) -> bool:
    """Hold one place of a slot: ONE conditional UPDATE, so concurrent takers can never overbook it."""
    return session.execute(_TAKE_SLOT, {"slot_id": slot_id, "at": now()}).rowcount == 1


def release_slot(session: Session, *, slot_id: int) -> None:
    release_slots(session, [slot_id])


_SLOT = Slot.__table__.c
_RELEASE = (update(Slot.__table__).where(_SLOT.id == bindparam("slot"), _SLOT.booked > 0)
            .values(booked=_SLOT.booked - 1))


def release_slots(session: Session, slot_ids: list[int]) -> None:
    """Give back one place of each slot listed (a slot listed twice gets two back), in one ``executemany``."""
    if slot_ids:
        session.execute(_RELEASE, [{"slot": i} for i in slot_ids])


# --- the notice ---------------------------------------------------------------------------------------------


def current_notice(session: Session) -> Notice:
    """The newest notice; before any is published, the built-in first version (stored when first accepted)."""
    row = session.execute(select(Notice).order_by(Notice.version.desc()).limit(1)).scalar_one_or_none()
    if row is not None:
        return row
    return Notice(version=1, title=DEFAULT_NOTICE_TITLE, body=DEFAULT_NOTICE_BODY, published_at=None)


_NOTICE_VERSION = select(Notice.__table__.c.version).order_by(Notice.__table__.c.version.desc()).limit(1)


def current_notice_version(session: Session) -> int:
    """The version of :func:`current_notice`, which every booking checks: kept for a second per process
    (server/cache.py) instead of read each time."""
    cached = notice_version_cache.get("version")
    if cached is not None:
        return cached
    version = session.execute(_NOTICE_VERSION).scalar() or 1
    notice_version_cache.put("version", version, generation=notice_version_cache.generation)
    return version


def _insert_ignore(session: Session, model: type, values: dict[str, object]) -> bool:
    """INSERT that quietly does nothing on a unique conflict (two taps of 我同意 at once)."""
    dialect = session.get_bind().dialect.name
    ins = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(model).values(**values)
    return session.execute(ins.on_conflict_do_nothing()).rowcount == 1


def accept_notice(session: Session, *, actor: Actor, account_id: int, version: int) -> None:
    notice = current_notice(session)
    if version != notice.version:
        raise Conflict("notice_outdated", "复诊须知已更新，请重新阅读最新的复诊须知后点击【我同意】")
    if notice.id is None:
        _insert_ignore(session, Notice, {"version": notice.version, "title": notice.title, "body": notice.body,
                                         "published_at": now()})
        notice = current_notice(session)
    if _insert_ignore(session, NoticeAcceptance, {"account_id": account_id, "notice_version": version,
                                                  "accepted_at": now()}):
        record_change(session, actor=actor, kind="notice.accepted", object_type="notice", object_id=notice.id,
                      topic="admin", account_id=account_id, payload={"version": version})


_ACCEPTED = select(NoticeAcceptance.__table__.c.id).where(
    NoticeAcceptance.__table__.c.account_id == bindparam("account_id"),
    NoticeAcceptance.__table__.c.notice_version == bindparam("version")).limit(1)


def has_accepted(session: Session, *, account_id: int, version: int) -> bool:
    return session.execute(_ACCEPTED, {"account_id": account_id, "version": version}).first() is not None


# --- patients and eligibility -------------------------------------------------------------------------------


_OWNED_PATIENT = select(Patient).where(Patient.id == bindparam("patient_id"),
                                       Patient.account_id == bindparam("account_id"), Patient.removed_at.is_(None))
_OWNED_PATIENT_LOCKED = _OWNED_PATIENT.with_for_update()


def owned_patient(session: Session, *, account_id: int, patient_id: int, lock: bool = False) -> Patient:
    """A patient of this account that was not removed; another account's patient is 'not found' too.

    ``lock`` serialises bookings of one patient on PostgreSQL (the duplicate-booking check stays true).
    """
    patient = session.execute(_OWNED_PATIENT_LOCKED if lock else _OWNED_PATIENT,
                              {"patient_id": patient_id, "account_id": account_id}).scalar_one_or_none()
    if patient is None:
        raise NotFound("就诊人")
    return patient


@dataclass(frozen=True, slots=True)
class Eligibility:
    eligible: bool
    reason: str
    visit: HisVisitLike | None
    department: Department


def _fmt_date(d: dt.date) -> str:
    return f"{d.year}年{d.month}月{d.day}日"


def check_eligibility(session: Session, *, patient: Patient, department: Department,
                      at: dt.datetime | None = None) -> Eligibility:
    """Seed 1.2: an online revisit needs an outpatient visit in that department within six months."""
    settings = get_settings()
    day = (at or now()).astimezone(TZ).date()
    since = day - dt.timedelta(days=settings.eligibility_days)
    his = get_his()
    kw = {"card_type": patient.card_type, "card_no": patient.card_no,
          "id_number_digest": patient.id_number_digest or None, "department_code": department.code}
    visits = his.visits_for(session, since=since, **kw)
    if visits:
        visit = visits[0]
        who = f"{visit.doctor_name}医生" if visit.doctor_name else ""
        return Eligibility(True, f"{_fmt_date(visit.visit_date)}在{department.name}{who}门诊就诊，可预约在线复诊",
                           visit, department)
    older = his.visits_for(session, since=None, **kw)
    if older:
        return Eligibility(False, f"最近一次{department.name}门诊就诊为{_fmt_date(older[0].visit_date)}，"
                                  f"已超过六个月，暂不能预约在线复诊，请到医院门诊就诊", None, department)
    return Eligibility(False, f"六个月内无{department.name}门诊就诊记录，暂不能预约在线复诊，请到医院门诊就诊",
                       None, department)


# --- schedules ----------------------------------------------------------------------------------------------

MAX_SCHEDULE_DAYS_AHEAD = 366
MAX_SLOTS_PER_SCHEDULE = 200


def _at(day: dt.date, hhmm: str) -> dt.datetime:
    """A wall-clock time of ``day`` in Shanghai; "24:00" is the midnight that ends the day."""
    h, m = (int(x) for x in hhmm.split(":"))
    if (h, m) == (24, 0):
        return combine(day + dt.timedelta(days=1), dt.time.min)
    return combine(day, dt.time(h, m))


def create_schedule(session: Session, *, actor: Actor, doctor_id: int, day: dt.date, start: str, end: str,
                    slot_minutes: int, capacity_per_slot: int) -> Schedule:
    """A clinic session cut into slots. Refuses the past and an overlap with the doctor's other sessions."""
    doctor = session.execute(select(Doctor).where(Doctor.id == doctor_id).with_for_update()).scalar_one_or_none()
    if doctor is None or not doctor.active:
        raise NotFound("医生")
    starts_at, ends_at = _at(day, start), _at(day, end)
    if ends_at <= starts_at:
        raise AppError("schedule_invalid", "结束时间须晚于开始时间", status=422)
    t = now()
    if day < t.date() or ends_at <= t:
        raise AppError("schedule_in_past", "不能为已经过去的日期或时间排班", status=422)
    if (day - t.date()).days > MAX_SCHEDULE_DAYS_AHEAD:
        raise AppError("schedule_too_far", "最多只能提前一年排班", status=422)
    step = dt.timedelta(minutes=slot_minutes)
    count = int((ends_at - starts_at) / step)
    if count < 1:
        raise AppError("schedule_invalid", "出诊时长不足一个号源时长，请调整时间或号源时长", status=422)
    if count > MAX_SLOTS_PER_SCHEDULE:
        raise AppError("schedule_invalid", f"一次排班最多{MAX_SLOTS_PER_SCHEDULE}个号源，请增大号源时长",
                       status=422)
    clash = session.execute(
        select(Schedule).where(Schedule.doctor_id == doctor_id, Schedule.status != "deleted",
                               Schedule.starts_at < ends_at, Schedule.ends_at > starts_at).limit(1)
    ).scalar_one_or_none()
    if clash is not None:
        raise Conflict("schedule_overlap", f"{doctor.name}医生在{day.isoformat()} "
                                           f"{clash.starts_at:%H:%M}–{clash.ends_at:%H:%M}已有排班，时间不能重叠")
    # A clinic stop declared earlier over part of this session still holds: its slots are born stopped (the
    # doctor is not there), the others open. The doctor row locked above serialises this with a new stop.
    stops = session.execute(select(ClinicStop.starts_at, ClinicStop.ends_at).where(
        ClinicStop.doctor_id == doctor_id, ClinicStop.starts_at < ends_at, ClinicStop.ends_at > starts_at)).all()
    schedule = Schedule(doctor_id=doctor_id, day=day, starts_at=starts_at, ends_at=ends_at, status="open")
    session.add(schedule)
    session.flush()
    stopped = 0
    for i in range(count):
        slot_start, slot_end = starts_at + i * step, starts_at + (i + 1) * step
        in_stop = any(a < slot_end and b > slot_start for a, b in stops)
        stopped += in_stop
        session.add(Slot(schedule_id=schedule.id, doctor_id=doctor_id, starts_at=slot_start, ends_at=slot_end,
                         capacity=capacity_per_slot, booked=0, status="stopped" if in_stop else "open"))
    session.flush()
    record_change(session, actor=actor, kind="schedule.created", object_type="schedule", object_id=schedule.id,
                  topic="admin", doctor_id=doctor_id,
                  payload={"schedule_id": schedule.id, "doctor_id": doctor_id, "day": day.isoformat(),
                           "starts_at": starts_at.isoformat(), "ends_at": ends_at.isoformat(), "slots": count,
                           "stopped_slots": stopped, "capacity_per_slot": capacity_per_slot})
    return schedule


def list_schedules(session: Session, *, doctor_id: int | None, day: dt.date | None,
                   limit: int = 200) -> list[Schedule]:
    q = select(Schedule).where(Schedule.status != "deleted")
    if doctor_id is not None:
        q = q.where(Schedule.doctor_id == doctor_id)
    if day is not None:
        q = q.where(Schedule.day == day)
    return list(session.execute(q.order_by(Schedule.starts_at.desc(), Schedule.id.desc()).limit(limit)).scalars())


def schedule_slots(session: Session, *, schedule_id: int) -> list[Slot]:
    return list(session.execute(select(Slot).where(Slot.schedule_id == schedule_id)
                                .order_by(Slot.starts_at, Slot.id)).scalars())


def delete_schedule(session: Session, *, actor: Actor, schedule_id: int) -> tuple[Schedule, list[int]]:
    """Withdraw a session: its slots stop being offered and unpaid holds on them expire.

    Paid appointments on it are left as they are and listed in the event: the scheduler job
    ``refund_unservable`` (server/refunds/unservable.py) cancels those not yet seen (slot ``removed``), refunds
    them and tells the patients.
    """
    from server.appointments.models import Appointment
    from server.appointments.service import HOLDING_PAID, transition

    schedule = session.execute(select(Schedule).where(Schedule.id == schedule_id).with_for_update()
                               ).scalar_one_or_none()
    if schedule is None or schedule.status == "deleted":
        raise NotFound("排班")
    slot_ids = select(Slot.id).where(Slot.schedule_id == schedule_id).scalar_subquery()
    # appointment rows before slot rows, the order the scheduler and payments take them in (no deadlock)
    pending = (select(Appointment).where(Appointment.slot_id.in_(slot_ids), Appointment.status == "pending_payment")
               .order_by(Appointment.id).with_for_update().execution_options(populate_existing=True))
    holds = list(session.execute(pending).scalars())
    schedule.status = "deleted"
    session.execute(update(Slot).where(Slot.schedule_id == schedule_id).values(status="removed")
                    .execution_options(synchronize_session=False))
    # a booking that took a place just before the slots were withdrawn has committed by now: expire it too
    holds += [a for a in session.execute(pending).scalars() if a not in holds]
    for appt in holds:
        transition(session, appt, "expired", actor=actor, reason="医生排班已取消")
    affected = list(session.execute(select(Appointment.id).where(Appointment.slot_id.in_(slot_ids),
                                                                 Appointment.status.in_(HOLDING_PAID))
                                    .order_by(Appointment.id)).scalars())
    session.flush()
    record_change(session, actor=actor, kind="schedule.deleted", object_type="schedule", object_id=schedule.id,
                  topic="admin", doctor_id=schedule.doctor_id,
                  payload={"schedule_id": schedule.id, "doctor_id": schedule.doctor_id,
                           "day": schedule.day.isoformat(), "affected_appointment_ids": affected,
                           "expired_holds": [a.id for a in holds]})
    return schedule, affected

