"""Appointment routes: booking, the holder's list and records, check-in, the description, the doctor's queue."""
from __future__ import annotations

import asyncio
import datetime as dt
from concurrent.futures import ThreadPoolExecutor
from typing import Annotated

import orjson
from fastapi import APIRouter, FastAPI, Path, Query, Response
from fastapi.security.utils import get_authorization_scheme_param
from starlette.routing import BaseRoute, Match, Route
from starlette.types import Message, Receive, Scope, Send

from server.actor import Actor
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
from server.db import get_db
from server.deps import CurrentAccount, CurrentStaff, DoctorStaff, SessionDep, account_for_token
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


# --- the booking's fast path ------------------------------------------------------------------------------------
#
# A booking costed the server ~2 ms of CPU more than the booking itself (sequential requests, one worker): FastAPI's
# dependency solving and body validation on the event loop, a thread hop for the token look-up and another for the
# route. The fast path takes the requests `book` above would answer without a doubt — an ``Authorization: Bearer``
# header, a JSON body of exactly the three ids as integers in range — and does the look-up, the booking, the commit
# and the answer in ONE thread hop, with the same functions (deps.account_for_token, service.book,
# service.booking_detail); AppErrors raise to the same handlers (server/errors.py). Every other request (a missing
# token, any body the model might judge otherwise: extra keys, strings, floats…) goes to the declared route, which
# also stays the one documented in the OpenAPI schema.

_FIELDS = frozenset({"patient_id", "slot_id", "notice_version"})
# One hop per booking onto these threads. On SQLite few: the bookings of a process share its GIL, and a booking in
# the write section waits for it after every statement while the others run (measured, 2 workers at 300/s: 8
# threads 2.9 CPU-ms a booking and saturation at 364/s, 4 threads 2.6 ms and 447/s, 2 threads 2.5–2.7 ms and
# 406–436/s). On PostgreSQL a booking mostly waits for round trips, so more of them overlap.
_bookers: ThreadPoolExecutor | None = None


def _booking_threads() -> ThreadPoolExecutor:
    global _bookers
    if _bookers is None:
        _bookers = ThreadPoolExecutor(max_workers=4 if get_db().dialect == "sqlite" else 16,
                                      thread_name_prefix="booking")
    return _bookers


def _plain_booking(scope: Scope, body: bytes) -> tuple[str, dict[str, int]] | None:
    """(token, body) of a request the fast path takes, else None."""
    token = content_type = None
    for name, value in scope["headers"]:
        if name == b"authorization":
            token = value
        elif name == b"content-type":
            content_type = value
    if token is None or content_type is None or content_type.split(b";")[0].strip().lower() != b"application/json":
        return None
    scheme, credentials = get_authorization_scheme_param(token.decode("latin-1"))
    if scheme.lower() != "bearer" or not credentials:
        return None
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None
    if type(data) is not dict or data.keys() != _FIELDS:
        return None
    for value in data.values():
        if type(value) is not int or not 1 <= value <= MAX_ID:
            return None
    return credentials, data


def _book_now(token: str, client: str, data: dict[str, int]) -> Response:
    """`book` with current_account's look-up, in one thread; the session closed before returning."""
    session = get_db().session(write=True)
    try:
        row = account_for_token(session, token)
        booking = service.book(session, actor=Actor("account", row.account_id, client=client),
                               account_id=row.account_id, **data)
        session.commit()
        return json_response(service.booking_detail(session, booking), status_code=201)
    finally:
        session.close()


class BookingFastPath:
    """The ASGI app of ``POST /appointments`` in front of the route that would otherwise take it (see above)."""

    MAX_BODY = 1024  # a longer body is not the three ids: the declared route reads it

    def __init__(self, declared: BaseRoute) -> None:
        self.declared = declared

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        messages: list[Message] = []
        body = b""
        plain = None
        while len(body) <= self.MAX_BODY:
            message = await receive()
            messages.append(message)
            if message["type"] != "http.request":
                break
            body += message.get("body", b"")
            if not message.get("more_body", False):
                plain = _plain_booking(scope, body)
                break
        if plain is None:
            await self._declared(scope, messages, receive, send)
            return
        client = scope["client"][0] if scope.get("client") else ""
        response = await asyncio.get_running_loop().run_in_executor(_booking_threads(), _book_now, plain[0], client,
                                                                    plain[1])
        await response(scope, receive, send)

    async def _declared(self, scope: Scope, messages: list[Message], receive: Receive, send: Send) -> None:
        """What starlette's Router does with a request for the declared route, the body read so far replayed."""
        match, child = self.declared.matches(scope)
        assert match is Match.FULL
        scope.update(child)

        async def replay() -> Message:
            return messages.pop(0) if messages else await receive()

        await self.declared.handle(scope, replay, send)


def install_fast_path(app: FastAPI, *, prefix: str) -> None:
    """Put BookingFastPath in front of the route (or included router) that takes ``POST /appointments``."""
    path = f"{prefix}/appointments"
    probe = {"type": "http", "method": "POST", "path": path, "root_path": "", "headers": [], "query_string": b""}
    routes = app.router.routes
    at = next(i for i, r in enumerate(routes) if r.matches(dict(probe))[0] is Match.FULL)
    routes.insert(at, Route(path, BookingFastPath(routes[at]), methods=["POST"], include_in_schema=False))


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
