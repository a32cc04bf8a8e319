"""Catalogue routes: what a patient browses before booking, and the admin's doctors and schedules.

The public reads are what every patient's app asks most, alike for everyone: they answer from a per-process copy
of the encoded JSON that lives a second at most and is dropped on any change committed here (server/cache.py).
They are ``async`` so that an answer from the copy never waits for a worker thread; building one runs on the
thread pool with a read session of its own.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Hashable
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Response
from sqlalchemy.orm import Session

from server.cache import catalogue_cache
from server.catalogue import service
from server.catalogue.models import Department, Doctor, Schedule
from server.catalogue.schemas import (
    MAX_DAY,
    MAX_ID,
    MIN_DAY,
    DepartmentPublic,
    DoctorCreate,
    DoctorPublic,
    DoctorUpdate,
    EligibilityPublic,
    NoticeAccept,
    NoticePublic,
    ScheduleCreate,
    SchedulePublic,
    ScheduleSlot,
    SlotPublic,
    VisitPublic,
)
from server.db import Database
from server.deps import AdminStaff, CurrentAccount, DbDep, SessionDep, in_read_thread
from server.errors import NotFound
from server.files import service as files
from server.files.models import StoredFile
from server.responses import dumps, json_bytes_response
from server.timeutil import now

router = APIRouter()

IdPath = Annotated[int, Path(ge=1, le=MAX_ID)]
IdQuery = Annotated[int, Query(ge=1, le=MAX_ID)]
OptIdQuery = Annotated[int | None, Query(ge=1, le=MAX_ID)]
OptDayQuery = Annotated[dt.date | None, Query(ge=MIN_DAY, le=MAX_DAY)]


def _doctor_dict(doc: Doctor, dep: Department) -> dict[str, Any]:
    return {"id": doc.id, "department_id": doc.department_id, "department_name": dep.name, "name": doc.name,
            "title": doc.title, "specialty": doc.specialty, "introduction": doc.introduction,
            "photo_url": f"/api/v1/doctors/{doc.id}/photo" if doc.photo_file_id else None,
            "fee_fen": doc.fee_fen, "active": doc.active}


def _doctor(doc: Doctor, dep: Department) -> DoctorPublic:
    return DoctorPublic(**_doctor_dict(doc, dep))


def _build(db: Database, key: Hashable, build: Callable[[Session], Any]) -> bytes:
    generation = catalogue_cache.generation  # before the first query: see ChangeCache.put
    with db.session(write=False) as session:
        body = dumps(build(session))
    catalogue_cache.put(key, body, generation=generation)
    return body


async def _public(db: Database, key: Hashable, build: Callable[[Session], Any]) -> Response:
    """The cached JSON answer for ``key``, built by ``build`` (on the thread pool) when there is none."""
    body = catalogue_cache.get(key)
    if body is None:
        body = await in_read_thread(_build, db, key, build)
    return json_bytes_response(body)


def _schedule(session: Session, schedule: Schedule, *, affected: list[int] | None = None) -> SchedulePublic:
    doc = session.get(Doctor, schedule.doctor_id)
    slots = service.schedule_slots(session, schedule_id=schedule.id)
    return SchedulePublic(id=schedule.id, doctor_id=schedule.doctor_id, doctor_name=doc.name if doc else "",
                          day=schedule.day, starts_at=schedule.starts_at, ends_at=schedule.ends_at,
                          status=schedule.status, created_at=schedule.created_at,
                          slots=[ScheduleSlot(id=s.id, starts_at=s.starts_at, ends_at=s.ends_at, capacity=s.capacity,
                                              booked=s.booked, status=s.status) for s in slots],
                          affected_appointment_ids=affected or [])


# --- public ---------------------------------------------------------------------------------------------------


@router.get("/departments", response_model=list[DepartmentPublic], tags=["catalogue"],
            summary="The online departments (骨肿瘤科, 神经内科, 内分泌科, 血液科)")
async def departments(db: DbDep) -> Response:
    return await _public(db, ("departments",), lambda session: [
        {"id": d.id, "code": d.code, "name": d.name, "introduction": d.introduction}
        for d in service.list_departments(session)])


@router.get("/doctors", response_model=list[DoctorPublic], tags=["catalogue"],
            summary="Doctors offering online revisits, optionally of one department")
async def doctors(db: DbDep, department_id: OptIdQuery = None) -> Response:
    return await _public(db, ("doctors", department_id), lambda session: [
        _doctor_dict(d, dep) for d, dep in service.list_doctors(session, department_id=department_id)])


@router.get("/doctors/{doctor_id}", response_model=DoctorPublic, tags=["catalogue"], summary="One doctor")
async def doctor(db: DbDep, doctor_id: IdPath) -> Response:
    return await _public(db, ("doctor", doctor_id),
                         lambda session: _doctor_dict(*service.get_doctor(session, doctor_id=doctor_id)))


@router.get("/doctors/{doctor_id}/photo", response_class=Response, tags=["catalogue"],
            summary="A doctor's photo (public)",
            responses={200: {"content": {"image/jpeg": {}, "image/png": {}, "image/webp": {}},
                             "description": "The image"}})
def doctor_photo(session: SessionDep, doctor_id: IdPath) -> Response:
    doc, _dep = service.get_doctor(session, doctor_id=doctor_id)
    file = session.get(StoredFile, doc.photo_file_id) if doc.photo_file_id else None
    if file is None or file.purpose != "doctor_photo":
        raise NotFound("医生照片")
    return Response(content=files.read(file), media_type=file.content_type,
                    headers={"Cache-Control": "public, max-age=3600"})


@router.get("/doctors/{doctor_id}/slots", response_model=list[SlotPublic], tags=["catalogue"],
            summary="A doctor's slots (号源) between two days, at most 31 days")
async def doctor_slots(db: DbDep, doctor_id: IdPath, date_from: OptDayQuery = None,
                       date_to: OptDayQuery = None) -> Response:
    start, end = service.slot_range(date_from, date_to)

    def build(session: Session) -> list[dict[str, Any]]:
        t = now()
        return [{"id": s.id, "doctor_id": s.doctor_id, "starts_at": s.starts_at, "ends_at": s.ends_at,
                 "capacity": s.capacity, "remaining": service.slot_remaining(s), "status": s.status,
                 "bookable": service.slot_bookable(s, at=t)}
                for s in service.list_slots(session, doctor_id=doctor_id, date_from=start, date_to=end)]

    return await _public(db, ("slots", doctor_id, start, end), build)


@router.get("/notice", response_model=NoticePublic, tags=["catalogue"],
            summary="The current revisit notice (复诊须知), to be accepted before booking")
async def notice(db: DbDep) -> Response:
    def build(session: Session) -> dict[str, Any]:
        n = service.current_notice(session)
        return {"version": n.version, "title": n.title, "body": n.body, "published_at": n.published_at}

    return await _public(db, ("notice",), build)


@router.post("/notice/accept", status_code=204, response_class=Response, tags=["catalogue"],
             summary="Accept the current notice (我同意); another version answers 409 notice_outdated")
def accept_notice(session: SessionDep, ctx: CurrentAccount, body: NoticeAccept) -> Response:
    service.accept_notice(session, actor=ctx.actor, account_id=ctx.account_id, version=body.version)
    session.commit()
    return Response(status_code=204)


@router.get("/eligibility", response_model=EligibilityPublic, tags=["catalogue"],
            summary="Whether a patient may book a department: a visit there within six months")
def eligibility(session: SessionDep, ctx: CurrentAccount, patient_id: IdQuery,
                department_id: IdQuery) -> EligibilityPublic:
    patient = service.owned_patient(session, account_id=ctx.account_id, patient_id=patient_id)
    department = service.get_department(session, department_id=department_id)
    e = service.check_eligibility(session, patient=patient, department=department)
    visit = None
    if e.visit is not None:
        visit = VisitPublic(visit_date=e.visit.visit_date, department=department.name,
                            doctor_name=e.visit.doctor_name, diagnosis=e.visit.diagnosis)
    return EligibilityPublic(eligible=e.eligible, reason=e.reason, visit=visit)


# --- admin ----------------------------------------------------------------------------------------------------


@router.get("/staff/admin/doctors", response_model=list[DoctorPublic], tags=["admin"],
            summary="All doctors, including inactive ones")
def admin_doctors(session: SessionDep, _ctx: AdminStaff, department_id: OptIdQuery = None) -> list[DoctorPublic]:
    return [_doctor(d, dep) for d, dep in service.list_doctors(session, department_id=department_id,
                                                               include_inactive=True)]


@router.post("/staff/admin/doctors", status_code=201, response_model=DoctorPublic, tags=["admin"],
             summary="Add a doctor")
def create_doctor(session: SessionDep, ctx: AdminStaff, body: DoctorCreate) -> DoctorPublic:
    doc = service.create_doctor(session, actor=ctx.actor, **body.model_dump())
    result = _doctor(*service.get_doctor(session, doctor_id=doc.id, include_inactive=True))
    session.commit()
    return result


@router.patch("/staff/admin/doctors/{doctor_id}", response_model=DoctorPublic, tags=["admin"],
              summary="Change a doctor (fee, title, introduction, department, active)")
def update_doctor(session: SessionDep, ctx: AdminStaff, doctor_id: IdPath, body: DoctorUpdate) -> DoctorPublic:
    doc = service.update_doctor(session, actor=ctx.actor, doctor_id=doctor_id,
                                changes=body.model_dump(exclude_unset=True))
    result = _doctor(*service.get_doctor(session, doctor_id=doc.id, include_inactive=True))
    session.commit()
    return result


@router.post("/staff/admin/schedules", status_code=201, response_model=SchedulePublic, tags=["admin"],
             summary="Create a clinic session (排班) and its slots")
def create_schedule(session: SessionDep, ctx: AdminStaff, body: ScheduleCreate) -> SchedulePublic:
    schedule = service.create_schedule(session, actor=ctx.actor, **body.model_dump())
    result = _schedule(session, schedule)
    session.commit()
    return result


@router.get("/staff/admin/schedules", response_model=list[SchedulePublic], tags=["admin"],
            summary="Clinic sessions, newest first, by doctor and/or day")
def list_schedules(session: SessionDep, _ctx: AdminStaff, doctor_id: OptIdQuery = None,
                   day: OptDayQuery = None,
                   limit: Annotated[int, Query(ge=1, le=100)] = 50) -> list[SchedulePublic]:
    return [_schedule(session, s) for s in service.list_schedules(session, doctor_id=doctor_id, day=day,
                                                                  limit=limit)]


@router.delete("/staff/admin/schedules/{schedule_id}", response_model=SchedulePublic, tags=["admin"],
               summary="Withdraw a clinic session; paid appointments on it are listed for refund")
def delete_schedule(session: SessionDep, ctx: AdminStaff, schedule_id: IdPath) -> SchedulePublic:
    schedule, affected = service.delete_schedule(session, actor=ctx.actor, schedule_id=schedule_id)
    result = _schedule(session, schedule, affected=affected)
    session.commit()
    return result
