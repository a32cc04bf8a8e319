"""Appointment routes: booking, the holder's list and records, check-in, the description, the doctor's queue."""
from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Path, Query, Response

from server.appointments import service
from server.appointments.schemas import (
    MAX_ID,
    AppointmentCreate,
    AppointmentDetail,
    AppointmentSummary,
    DescriptionCreate,
    RecordPublic,
    StaffAppointment,
)
from server.catalogue.schemas import MAX_DAY, MIN_DAY
from server.deps import CurrentAccount, CurrentStaff, DoctorStaff, SessionDep
from server.responses import json_response

router = APIRouter()

IdPath = Annotated[int, Path(ge=1, le=MAX_ID)]
OptIdQuery = Annotated[int | None, Query(ge=1, le=MAX_ID)]
Limit = Annotated[int, Query(ge=1, le=100)]
Offset = Annotated[int, Query(ge=0, le=100_000)]


@router.post("/appointments", status_code=201, response_model=AppointmentDetail, tags=["appointments"],
             summary="Book a slot: the appointment waits for payment until hold_expires_at")
def book(session: SessionDep, ctx: CurrentAccount, body: AppointmentCreate) -> Response:
    booking = service.book(session, actor=ctx.actor, account_id=ctx.account_id, patient_id=body.patient_id,
                           slot_id=body.slot_id, notice_version=body.notice_version)
    session.commit()
    # built after the commit, outside the write transaction, from the rows in hand
    return json_response(service.booking_detail(session, booking), status_code=201)


@router.get("/appointments", response_model=list[AppointmentSummary], tags=["appointments"],
            summary="The holder's appointments, newest first")
def list_appointments(session: SessionDep, ctx: CurrentAccount, patient_id: OptIdQuery = None, limit: Limit = 50,
                      offset: Offset = 0) -> Response:
    return json_response(service.list_for_account(session, account_id=ctx.account_id, patient_id=patient_id,
                                                  limit=limit, offset=offset))


@router.get("/appointments/{appointment_id}", response_model=AppointmentDetail, tags=["appointments"],
            summary="One appointment with its check-in window and description")
def get_appointment(session: SessionDep, ctx: CurrentAccount, appointment_id: IdPath) -> AppointmentDetail:
    appt = service.get_owned(session, account_id=ctx.account_id, appointment_id=appointment_id)
    return service.detail(session, appt)


@router.post("/appointments/{appointment_id}/check-in", response_model=AppointmentDetail, tags=["appointments"],
             summary="复诊签到, inside the check-in window of the appointment's day")
def check_in(session: SessionDep, ctx: CurrentAccount, appointment_id: IdPath) -> AppointmentDetail:
    appt = service.check_in(session, actor=ctx.actor, account_id=ctx.account_id, appointment_id=appointment_id)
    result = service.detail(session, appt)
    session.commit()
    return result


@router.post("/appointments/{appointment_id}/description", response_model=AppointmentDetail,
             tags=["appointments"],
             summary="Submit the condition description (病情描述) after check-in: the patient starts waiting")
def submit_description(session: SessionDep, ctx: CurrentAccount, appointment_id: IdPath,
                       body: DescriptionCreate) -> AppointmentDetail:
    appt = service.submit_description(session, actor=ctx.actor, account_id=ctx.account_id,
                                      appointment_id=appointment_id, text=body.text, file_ids=body.file_ids)
    result = service.detail(session, appt)
    session.commit()
    return result


@router.get("/records", response_model=list[RecordPublic], tags=["appointments"],
            summary="我的问诊: every paid visit with its details, newest first")
def records(session: SessionDep, ctx: CurrentAccount, patient_id: OptIdQuery = None, limit: Limit = 50,
            offset: Offset = 0) -> list[RecordPublic]:
    return service.records_for_account(session, account_id=ctx.account_id, patient_id=patient_id, limit=limit,
                                       offset=offset)


@router.get("/staff/queue", response_model=list[StaffAppointment], tags=["workstation"],
            summary="The doctor's patients of a day (default today) who checked in, in appointment order")
def queue(session: SessionDep, ctx: DoctorStaff,
          day: Annotated[dt.date | None, Query(ge=MIN_DAY, le=MAX_DAY)] = None) -> list[StaffAppointment]:
    return service.doctor_queue(session, doctor_id=ctx.staff.doctor_id, day=day)


@router.get("/staff/appointments/{appointment_id}", response_model=StaffAppointment, tags=["workstation"],
            summary="One appointment: doctors their own, clerks without clinical fields, admins all")
def staff_appointment(session: SessionDep, ctx: CurrentStaff, appointment_id: IdPath) -> StaffAppointment:
    return service.staff_appointment(session, role=ctx.staff.role, doctor_id=ctx.staff.doctor_id,
                                     appointment_id=appointment_id)
