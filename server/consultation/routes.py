"""Workstation routes of the visit (accept, record, finish, missed), the chart, and clinic stops.

Every POST/PUT takes an optional ``Idempotency-Key``: the workstation's outbox replays actions after a crash
or a dropped connection, and each must take effect exactly once (server/idempotency.py).
"""
from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, Depends, Path, Query, Request
from sqlalchemy.orm import Session

from server.appointments import service as appointments
from server.appointments.schemas import MAX_ID, StaffAppointment
from server.consultation import schemas, service
from server.deps import CurrentStaff, DoctorStaff, SessionDep, StaffCtx, require_roles
from server.errors import ErrorBody
from server.idempotency import IdempotencyKeyHeader, idempotent, staff_principal

router = APIRouter(tags=["workstation"])

IdPath = Annotated[int, Path(ge=1, le=MAX_ID)]
StopStaff = Annotated[StaffCtx, Depends(require_roles("doctor", "admin"))]
Limit = Annotated[int, Query(ge=1, le=200)]
Offset = Annotated[int, Query(ge=0, le=100_000)]
_IN_PROGRESS = {409: {"model": ErrorBody, "description": "Wrong state (`invalid_state`), or the same "
                                                         "Idempotency-Key is still being processed "
                                                         "(`request_in_progress`)"}}


def _view(session: Session, ctx: StaffCtx, appointment_id: int) -> StaffAppointment:
    return appointments.staff_appointment(session, role=ctx.staff.role, doctor_id=ctx.staff.doctor_id,
                                          appointment_id=appointment_id)


@router.post("/staff/appointments/{appointment_id}/accept", response_model=StaffAppointment,
             responses=_IN_PROGRESS,
             summary="接诊: call a waiting (or checked-in) patient; the visit starts (in_consultation)")
def accept(appointment_id: IdPath, request: Request, session: SessionDep, ctx: DoctorStaff,
           idempotency_key: IdempotencyKeyHeader = None) -> StaffAppointment:
    with idempotent(session, key=idempotency_key, principal=staff_principal(ctx), request=request) as claim:
        if claim.replay is not None:
            return claim.replay  # type: ignore[return-value]
        service.accept(session, actor=ctx.actor, doctor_id=ctx.staff.doctor_id, appointment_id=appointment_id)
        result = _view(session, ctx, appointment_id)
        claim.store(200, result)
        session.commit()
        return result


@router.put("/staff/appointments/{appointment_id}/record", response_model=StaffAppointment,
            responses=_IN_PROGRESS,
            summary="Save the doctor's draft record (diagnosis, notes) while the visit runs")
def save_record(appointment_id: IdPath, body: schemas.VisitRecord, request: Request, session: SessionDep,
                ctx: DoctorStaff, idempotency_key: IdempotencyKeyHeader = None) -> StaffAppointment:
    with idempotent(session, key=idempotency_key, principal=staff_principal(ctx), request=request,
                    body=body) as claim:
        if claim.replay is not None:
            return claim.replay  # type: ignore[return-value]
        service.save_record(session, actor=ctx.actor, doctor_id=ctx.staff.doctor_id,
                            appointment_id=appointment_id, record=body)
        result = _view(session, ctx, appointment_id)
        claim.store(200, result)
        session.commit()
        return result


@router.post("/staff/appointments/{appointment_id}/finish", response_model=StaffAppointment,
             responses=_IN_PROGRESS,
             summary="结束就诊 with a diagnosis (ICD-10 code and name): the visit is completed")
def finish(appointment_id: IdPath, body: schemas.VisitRecord, request: Request, session: SessionDep,
           ctx: DoctorStaff, idempotency_key: IdempotencyKeyHeader = None) -> StaffAppointment:
    with idempotent(session, key=idempotency_key, principal=staff_principal(ctx), request=request,
                    body=body) as claim:
        if claim.replay is not None:
            return claim.replay  # type: ignore[return-value]
        service.finish(session, actor=ctx.actor, doctor_id=ctx.staff.doctor_id, appointment_id=appointment_id,
                       record=body)
        result = _view(session, ctx, appointment_id)
        claim.store(200, result)
        session.commit()
        return result


@router.post("/staff/appointments/{appointment_id}/missed", response_model=StaffAppointment,
             responses=_IN_PROGRESS,
             summary="过号: the patient did not answer the call, or did not come (booked, after its start)")
def missed(appointment_id: IdPath, request: Request, session: SessionDep, ctx: DoctorStaff,
           body: schemas.MissedCreate | None = None, idempotency_key: IdempotencyKeyHeader = None
           ) -> StaffAppointment:
    body = body or schemas.MissedCreate()
    with idempotent(session, key=idempotency_key, principal=staff_principal(ctx), request=request,
                    body=body) as claim:
        if claim.replay is not None:
            return claim.replay  # type: ignore[return-value]
        service.mark_missed(session, actor=ctx.actor, doctor_id=ctx.staff.doctor_id,
                            appointment_id=appointment_id, reason=body.reason)
        result = _view(session, ctx, appointment_id)
        claim.store(200, result)
        session.commit()
        return result


@router.get("/staff/appointments/{appointment_id}/chart", response_model=schemas.Chart,
            summary="The chart: patient, qualifying HIS visit, description with files, previous visits "
                    "(doctors their own appointments, admins all)")
def chart(appointment_id: IdPath, session: SessionDep, ctx: CurrentStaff) -> schemas.Chart:
    return service.chart(session, role=ctx.staff.role, doctor_id=ctx.staff.doctor_id,
                         appointment_id=appointment_id)


@router.post("/staff/clinic-stops", status_code=201, response_model=schemas.ClinicStopPublic,
             responses=_IN_PROGRESS,
             summary="停诊: stop a doctor's slots in a period and cancel (and refund) what was booked on them")
def declare_stop(body: schemas.ClinicStopCreate, request: Request, session: SessionDep, ctx: StopStaff,
                 background: BackgroundTasks,
                 idempotency_key: IdempotencyKeyHeader = None) -> schemas.ClinicStopPublic:
    with idempotent(session, key=idempotency_key, principal=staff_principal(ctx), request=request,
                    body=body) as claim:
        if claim.replay is not None:
            return claim.replay  # type: ignore[return-value]
        stop, doctor = service.declare_stop(session, actor=ctx.actor, role=ctx.staff.role,
                                            own_doctor_id=ctx.staff.doctor_id, body=body)
        result = service.stop_public(stop, doctor.name)
        claim.store(201, result)
        to_submit = session.info.pop("refunds_to_submit", [])
        session.commit()
    if to_submit:
        # the money goes back now, right after the answer (a stop over a thousand paid bookings is a thousand
        # gateway calls); the reconciler sends any this misses, also after a crash
        from server.db import get_db
        from server.refunds.service import submit_all

        background.add_task(submit_all, get_db(), to_submit)
    return result


@router.get("/staff/clinic-stops/preview", response_model=schemas.ClinicStopPreview,
            summary="What a clinic stop of the period would stop and cancel, without doing it (same checks)")
def preview_stop(session: SessionDep, ctx: StopStaff,
                 starts_at: Annotated[schemas.HospitalTime, Query()],
                 ends_at: Annotated[schemas.HospitalTime, Query()],
                 doctor_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None) -> schemas.ClinicStopPreview:
    return service.preview_stop(session, role=ctx.staff.role, own_doctor_id=ctx.staff.doctor_id,
                                doctor_id=doctor_id, starts_at=starts_at, ends_at=ends_at)


@router.get("/staff/clinic-stops", response_model=list[schemas.ClinicStopPublic],
            summary="Clinic stops, newest first (a doctor sees their own; an admin all, or one doctor's)")
def list_stops(session: SessionDep, ctx: StopStaff,
               doctor_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None, limit: Limit = 50,
               offset: Offset = 0) -> list[schemas.ClinicStopPublic]:
    return service.list_stops(session, role=ctx.staff.role, own_doctor_id=ctx.staff.doctor_id,
                              doctor_id=doctor_id, limit=limit, offset=offset)
