"""Refund routes: the patient's cancellation before the time (path 1) and application after it (path 2); the
clerk's review of applications, window refund (path 3), exception list and retry. Every POST takes an
``Idempotency-Key`` (server/idempotency.py: run_once); the gateway is called after the commit."""
from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request
from sqlalchemy import select

from server.appointments import service as appointments
from server.appointments.schemas import MAX_ID, AppointmentDetail
from server.config import get_settings
from server.deps import ClerkStaff, CurrentAccount, DbDep, SessionDep
from server.errors import AppError, NotFound
from server.idempotency import IdempotencyKeyHeader, account_principal, run_once, staff_principal
from server.refunds import service, views
from server.refunds.models import Refund
from server.refunds.schemas import CancelRequest, ReasonRequest, RefundPublic, RejectReason, RejectRequest

router = APIRouter(tags=["refunds"])
IdPath = Annotated[int, Path(ge=1, le=MAX_ID)]
_IN_PROGRESS = {409: {"description": "request_in_progress: the same Idempotency-Key is being answered"}}


def public(session, refund: Refund) -> RefundPublic:  # type: ignore[no-untyped-def]
    return views.one(session, refund)


# ---- the patient ----------------------------------------------------------------------------------------------

@router.post("/appointments/{appointment_id}/cancel", response_model=AppointmentDetail, tags=["appointments"],
             responses=_IN_PROGRESS,
             summary="Cancel my appointment before its time (confirm: true); a paid fee is refunded (退费中 → 已退费)")
def cancel(appointment_id: IdPath, body: CancelRequest, request: Request, session: SessionDep, db: DbDep,
           ctx: CurrentAccount, idempotency_key: IdempotencyKeyHeader = None) -> AppointmentDetail:
    if not body.confirm:
        raise AppError("confirm_required", "取消预约后号源将释放，已付诊费按原路退回（1-15个工作日），请确认后再提交",
                       status=422)
    to_submit: list[int] = []

    def work() -> AppointmentDetail:
        refund = service.cancel_by_patient(session, account_id=ctx.account_id, appointment_id=appointment_id,
                                           actor=ctx.actor)
        if refund is not None:
            to_submit.append(refund.id)
        appt = appointments.get_owned(session, account_id=ctx.account_id, appointment_id=appointment_id)
        return appointments.detail(session, appt)

    result = run_once(session, key=idempotency_key, principal=account_principal(ctx), request=request, body=body,
                      work=work)
    service.submit_all(db, to_submit)
    return result  # type: ignore[return-value]


@router.post("/appointments/{appointment_id}/refund-application", status_code=201,
             response_model=AppointmentDetail, tags=["appointments"], responses=_IN_PROGRESS,
             summary="申请退号 after the time, not seen (missed, or its time passed): a clerk reviews it "
                     "(退号申请审核中)")
def apply(appointment_id: IdPath, body: ReasonRequest, request: Request, session: SessionDep,
          ctx: CurrentAccount, idempotency_key: IdempotencyKeyHeader = None) -> AppointmentDetail:
    def work() -> AppointmentDetail:
        service.apply(session, account_id=ctx.account_id, appointment_id=appointment_id, reason=body.reason,
                      actor=ctx.actor)
        appt = appointments.get_owned(session, account_id=ctx.account_id, appointment_id=appointment_id)
        return appointments.detail(session, appt)

    return run_once(session, key=idempotency_key, principal=account_principal(ctx),  # type: ignore[return-value]
                    request=request, body=body, status_code=201, work=work)


# ---- the clerk ------------------------------------------------------------------------------------------------

@router.get("/staff/refunds/exceptions", response_model=list[RefundPublic],
            summary="Refunds needing a clerk: ABNORMAL at the gateway, or CLOSED and not yet sent again")
def exceptions(session: SessionDep, ctx: ClerkStaff,
               limit: Annotated[int, Query(ge=1, le=200)] = 100) -> list[RefundPublic]:
    return views.to_public(session, service.exceptions(session, limit=limit))


@router.get("/staff/refunds/reject-reasons", response_model=list[RejectReason],
            summary="The preset reasons a clerk rejects a refund application with")
def reject_reasons(ctx: ClerkStaff) -> list[RejectReason]:
    return [RejectReason(**r) for r in service.reject_reasons()]


@router.get("/staff/refunds/{refund_id}", response_model=RefundPublic, summary="One refund")
def read_refund(refund_id: IdPath, session: SessionDep, ctx: ClerkStaff) -> RefundPublic:
    refund = session.get(Refund, refund_id)
    if refund is None:
        raise NotFound("退费单")
    return public(session, refund)


@router.get("/staff/refunds", response_model=list[RefundPublic],
            summary="Refunds, newest first (the application queue: status=requested&path=application)")
def list_refunds(session: SessionDep, ctx: ClerkStaff,
                 status: Annotated[str | None, Query(max_length=16, pattern=r"^[a-z]+$")] = None,
                 path: Annotated[str | None, Query(max_length=16, pattern=r"^[a-z_]+$")] = None,
                 appointment_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
                 prescription_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
                 limit: Annotated[int, Query(ge=1, le=200)] = 50,
                 offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0) -> list[RefundPublic]:
    q = select(Refund)
    if status is not None:
        q = q.where(Refund.status == status)
    if path is not None:
        q = q.where(Refund.path == path)
    if appointment_id is not None:
        q = q.where(Refund.appointment_id == appointment_id)
    if prescription_id is not None:
        q = q.where(Refund.prescription_id == prescription_id)
    rows = session.execute(q.order_by(Refund.id.desc()).limit(limit).offset(offset)).scalars()
    return views.to_public(session, rows)


@router.post("/staff/refunds/{refund_id}/approve", response_model=RefundPublic, responses=_IN_PROGRESS,
             summary="Approve a refund application: the appointment is cancelled and the fee goes back")
def approve(refund_id: IdPath, request: Request, session: SessionDep, db: DbDep, ctx: ClerkStaff,
            idempotency_key: IdempotencyKeyHeader = None) -> RefundPublic:
    def work() -> RefundPublic:
        return public(session, service.approve(session, refund_id=refund_id, actor=ctx.actor,
                                               reviewer_id=ctx.staff.id))

    result = run_once(session, key=idempotency_key, principal=staff_principal(ctx), request=request,
                      body={"refund_id": refund_id}, work=work)
    if isinstance(result, RefundPublic):
        service.submit_all(db, [result.id])
    return result  # type: ignore[return-value]


@router.post("/staff/refunds/{refund_id}/reject", response_model=RefundPublic, responses=_IN_PROGRESS,
             summary="Reject a refund application with a preset reason (and a note); the patient is told by SMS")
def reject(refund_id: IdPath, body: RejectRequest, request: Request, session: SessionDep, ctx: ClerkStaff,
           idempotency_key: IdempotencyKeyHeader = None) -> RefundPublic:
    def work() -> RefundPublic:
        return public(session, service.reject(session, refund_id=refund_id, reason_code=body.reason_code,
                                              text=body.text, actor=ctx.actor, reviewer_id=ctx.staff.id))

    return run_once(session, key=idempotency_key, principal=staff_principal(ctx),  # type: ignore[return-value]
                    request=request, body=body, work=work)


@router.post("/staff/appointments/{appointment_id}/window-refund", status_code=201, response_model=RefundPublic,
             responses=_IN_PROGRESS,
             summary="窗口退费: refund a paid appointment in full and cancel it (a waiting application is "
                     "approved instead)")
def window_refund(appointment_id: IdPath, body: ReasonRequest, request: Request, session: SessionDep, db: DbDep,
                  ctx: ClerkStaff, idempotency_key: IdempotencyKeyHeader = None) -> RefundPublic:
    def work() -> RefundPublic:
        return public(session, service.window_refund(session, appointment_id=appointment_id, reason=body.reason,
                                                     actor=ctx.actor, reviewer_id=ctx.staff.id))

    result = run_once(session, key=idempotency_key, principal=staff_principal(ctx), request=request, body=body,
                      status_code=201, work=work)
    if isinstance(result, RefundPublic):
        service.submit_all(db, [result.id])
    return result  # type: ignore[return-value]


@router.post("/staff/refunds/{refund_id}/retry", response_model=RefundPublic, responses=_IN_PROGRESS,
             summary="Send a refund again: ABNORMAL → the same refund number; CLOSED → a new refund (new number)")
def retry(refund_id: IdPath, request: Request, session: SessionDep, db: DbDep, ctx: ClerkStaff,
          idempotency_key: IdempotencyKeyHeader = None) -> RefundPublic:
    def work() -> RefundPublic:
        return public(session, service.retry(session, refund_id=refund_id, actor=ctx.actor))

    result = run_once(session, key=idempotency_key, principal=staff_principal(ctx), request=request,
                      body={"refund_id": refund_id}, work=work)
    if isinstance(result, RefundPublic):
        service.submit_all(db, [result.id])
    return result  # type: ignore[return-value]


if not get_settings().production:
    from server.refunds.sandbox import router as sandbox_router

    router.include_router(sandbox_router)
