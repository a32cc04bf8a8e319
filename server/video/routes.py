"""Routes of the video visit: the doctor's call, both sides' signalling, the patient's call stream, consent.

Every POST takes an optional ``Idempotency-Key`` (server/idempotency.py): the workstation's outbox and a
patient's flaky network both retry, and a retried call must not ring twice.
"""
from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Path, Query, Request, Response

from server.appointments import service as appointments
from server.appointments.schemas import MAX_ID
from server.db import get_db
from server.deps import CurrentAccount, DoctorStaff, SessionDep, in_read_thread
from server.errors import ErrorBody
from server.idempotency import IdempotencyKeyHeader, account_principal, idempotent, staff_principal
from server.video import presence, schemas, service

router = APIRouter(tags=["video"])

IdPath = Annotated[int, Path(ge=1, le=MAX_ID)]
_CONFLICT = {409: {"model": ErrorBody, "description": "Wrong state of the visit or the call, or the same "
                                                     "Idempotency-Key is still being processed "
                                                     "(`request_in_progress`)"}}
_NOT_CALLED = {404: {"model": ErrorBody, "description": "`not_found` (no such appointment, or not yours), or "
                                                        "`no_call` (the patient was never called)"}}
_NO_CONSENT = {404: {"model": ErrorBody, "description": "`not_found` (no such appointment, or not yours), or "
                                                        "`no_consent` (consent was never requested)"}}


# --- the doctor -----------------------------------------------------------------------------------------------


@router.post("/staff/appointments/{appointment_id}/call", status_code=201, response_model=schemas.CallPublic,
             responses=_CONFLICT, tags=["workstation"],
             summary="呼叫 / 重新邀请: invite the patient to a video call (a new segment); a waiting patient's "
                     "visit is accepted by it")
def start_call(appointment_id: IdPath, request: Request, session: SessionDep, ctx: DoctorStaff,
               idempotency_key: IdempotencyKeyHeader = None) -> schemas.CallPublic:
    with idempotent(session, key=idempotency_key, principal=staff_principal(ctx), request=request) as claim:
        if claim.replay is not None:
            return claim.replay  # type: ignore[return-value]
        result = service.start_call(session, actor=ctx.actor, doctor_id=ctx.staff.doctor_id, staff_id=ctx.staff.id,
                                    appointment_id=appointment_id)
        claim.store(201, result)
        session.commit()
        return result


@router.get("/staff/appointments/{appointment_id}/call", response_model=schemas.CallPublic,
            responses=_NOT_CALLED, tags=["workstation"], summary="The video call: its segments, newest last")
def doctor_call(appointment_id: IdPath, session: SessionDep, ctx: DoctorStaff) -> schemas.CallPublic:
    return service.doctor_call(session, doctor_id=ctx.staff.doctor_id, appointment_id=appointment_id)


@router.post("/staff/appointments/{appointment_id}/call/signals", status_code=202,
             response_model=schemas.SignalAccepted, responses=_CONFLICT, tags=["workstation"],
             summary="The doctor's WebRTC signalling to the patient: offer, ICE candidate, or hang up")
def doctor_signal(appointment_id: IdPath, body: schemas.DoctorSignal, request: Request, session: SessionDep,
                  ctx: DoctorStaff, idempotency_key: IdempotencyKeyHeader = None) -> schemas.SignalAccepted:
    with idempotent(session, key=idempotency_key, principal=staff_principal(ctx), request=request,
                    body=body) as claim:
        if claim.replay is not None:
            return claim.replay  # type: ignore[return-value]
        result = schemas.SignalAccepted(id=service.doctor_signal(
            session, actor=ctx.actor, doctor_id=ctx.staff.doctor_id, appointment_id=appointment_id, body=body))
        claim.store(202, result)
        session.commit()
        return result


@router.post("/staff/appointments/{appointment_id}/call/state", response_model=schemas.CallPublic,
             responses=_CONFLICT, tags=["workstation"],
             summary="What the doctor's client observed: media flows (connected) or the line dropped "
                     "(interrupted)")
def report_state(appointment_id: IdPath, body: schemas.CallStateReport, request: Request, session: SessionDep,
                 ctx: DoctorStaff, idempotency_key: IdempotencyKeyHeader = None) -> schemas.CallPublic:
    with idempotent(session, key=idempotency_key, principal=staff_principal(ctx), request=request,
                    body=body) as claim:
        if claim.replay is not None:
            return claim.replay  # type: ignore[return-value]
        result = service.report_state(session, actor=ctx.actor, doctor_id=ctx.staff.doctor_id,
                                      appointment_id=appointment_id, body=body)
        claim.store(200, result)
        session.commit()
        return result


@router.post("/staff/appointments/{appointment_id}/consent-requests", status_code=201,
             response_model=schemas.ConsentPublic, tags=["workstation"],
             responses={**_CONFLICT, 200: {"model": schemas.ConsentPublic,
                                           "description": "A request still unanswered, asked again"}},
             summary="请求处方知情同意: ask the patient on the connected call to consent to a prescription")
def request_consent(appointment_id: IdPath, request: Request, response: Response, session: SessionDep,
                    ctx: DoctorStaff, idempotency_key: IdempotencyKeyHeader = None) -> schemas.ConsentPublic:
    with idempotent(session, key=idempotency_key, principal=staff_principal(ctx), request=request) as claim:
        if claim.replay is not None:
            return claim.replay  # type: ignore[return-value]
        result, created = service.request_consent(session, actor=ctx.actor, doctor_id=ctx.staff.doctor_id,
                                                  staff_id=ctx.staff.id, appointment_id=appointment_id)
        response.status_code = 201 if created else 200
        claim.store(response.status_code, result)
        session.commit()
        return result


@router.get("/staff/appointments/{appointment_id}/consent", response_model=schemas.ConsentPublic,
            responses=_NO_CONSENT, tags=["workstation"], summary="The latest prescription consent request")
def doctor_consent(appointment_id: IdPath, session: SessionDep, ctx: DoctorStaff) -> schemas.ConsentPublic:
    return service.doctor_consent(session, doctor_id=ctx.staff.doctor_id, appointment_id=appointment_id)


# --- the patient ----------------------------------------------------------------------------------------------

CALL_SSE_DESCRIPTION = """\
`text/event-stream`, as `GET /staff/events` (`id:`, `event: <kind>`, `data: {id, kind, topic, object_type,
object_id, at, payload}`; `cursor`, `resync` and `session_expired` control events; resume with `Last-Event-ID` or
`?after=`), carrying only this appointment's `call.*` and `consent.*` events: the doctor's `call.signal`s
(offer, candidates, hangup), `call.invited|connected|interrupted|ended`, `consent.requested|answered`.
A `: keep-alive` comment comes every 5 seconds of silence.

Keep it open while on the waiting page: when the last open call stream of the appointment closes while a call is
ringing or connected, the call is interrupted (`patient_left`) within 2 seconds."""


def _check_owned(account_id: int, appointment_id: int) -> None:
    with get_db().session(write=False) as s:
        appointments.get_owned(s, account_id=account_id, appointment_id=appointment_id)


@router.get("/appointments/{appointment_id}/call/events", response_class=presence.CallStreamResponse,
            responses={200: {"content": {"text/event-stream": {"schema": {"type": "string"}}},
                             "description": "An endless stream of the call's events"}},
            summary="The video call's live events for the waiting page (Server-Sent Events)",
            description=CALL_SSE_DESCRIPTION)
async def call_events(
    appointment_id: IdPath,
    ctx: CurrentAccount,
    after: Annotated[int | None, Query(ge=0, le=MAX_ID, description="Resume after this event id")] = None,
    last_event_id: Annotated[int | None, Header(alias="Last-Event-ID", ge=0, le=MAX_ID,
                                                description="Resume after this event id (wins over `after`)")]
    = None,
) -> presence.CallStreamResponse:
    # the owner check in a session of its own: a stream lasts long and must not hold a pooled connection
    await in_read_thread(_check_owned, ctx.account_id, appointment_id)
    body = presence.call_stream(account_id=ctx.account_id, session_id=ctx.session_id,
                                appointment_id=appointment_id,
                                cursor=last_event_id if last_event_id is not None else after, actor=ctx.actor)
    return presence.CallStreamResponse(body, media_type="text/event-stream",
                                       headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})


@router.get("/appointments/{appointment_id}/call", response_model=schemas.CallPublic, responses=_NOT_CALLED,
            summary="The video call (a reloaded waiting page finds the pending offer here)")
def patient_call(appointment_id: IdPath, session: SessionDep, ctx: CurrentAccount) -> schemas.CallPublic:
    return service.patient_call(session, account_id=ctx.account_id, appointment_id=appointment_id)


@router.post("/appointments/{appointment_id}/call/signals", status_code=202,
             response_model=schemas.SignalAccepted, responses=_CONFLICT,
             summary="The patient's WebRTC signalling to the doctor: answer, ICE candidate, or hang up")
def patient_signal(appointment_id: IdPath, body: schemas.PatientSignal, request: Request, session: SessionDep,
                   ctx: CurrentAccount, idempotency_key: IdempotencyKeyHeader = None) -> schemas.SignalAccepted:
    with idempotent(session, key=idempotency_key, principal=account_principal(ctx), request=request,
                    body=body) as claim:
        if claim.replay is not None:
            return claim.replay  # type: ignore[return-value]
        result = schemas.SignalAccepted(id=service.patient_signal(
            session, actor=ctx.actor, account_id=ctx.account_id, appointment_id=appointment_id, body=body))
        claim.store(202, result)
        session.commit()
        return result


@router.get("/appointments/{appointment_id}/consent", response_model=schemas.ConsentPublic,
            responses=_NO_CONSENT, summary="The latest prescription consent request, with its text")
def patient_consent(appointment_id: IdPath, session: SessionDep, ctx: CurrentAccount) -> schemas.ConsentPublic:
    return service.patient_consent(session, account_id=ctx.account_id, appointment_id=appointment_id)


@router.post("/appointments/{appointment_id}/consent", response_model=schemas.ConsentPublic,
             responses=_CONFLICT, summary="同意 / 不同意: answer the prescription consent request")
def answer_consent(appointment_id: IdPath, body: schemas.ConsentAnswer, request: Request, session: SessionDep,
                   ctx: CurrentAccount, idempotency_key: IdempotencyKeyHeader = None) -> schemas.ConsentPublic:
    with idempotent(session, key=idempotency_key, principal=account_principal(ctx), request=request,
                    body=body) as claim:
        if claim.replay is not None:
            return claim.replay  # type: ignore[return-value]
        result = service.answer_consent(session, actor=ctx.actor, account_id=ctx.account_id,
                                        appointment_id=appointment_id, body=body)
        claim.store(200, result)
        session.commit()
        return result
