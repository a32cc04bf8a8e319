"""Refund routes: the patient's cancellation before the time (path 1), and the clerk's exception list and
retry. Every route that moves money takes an ``Idempotency-Key``."""
from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request
from sqlalchemy import select

from server.appointments import service as appointments
from server.appointments.schemas import MAX_ID, AppointmentDetail
from server.config import get_settings
from server.deps import ClerkStaff, CurrentAccount, DbDep, SessionDep
from server.errors import AppError, NotFound
from server.idempotency import IdempotencyKeyHeader, account_principal, idempotent, staff_principal
from server.refunds import service, views
from server.refunds.models import Refund
from server.refunds.schemas import CancelRequest, RefundPublic

router = APIRouter(tags=["refunds"])
IdPath = Annotated[int, Path(ge=1, le=MAX_ID)]
_IN_PROGRESS = {409: {"description": "request_in_progress: the same Idempotency-Key is being answered"}}


def public(session, refund: Refund) -> RefundPublic:  # type: ignore[no-untyped-def]
    return views.one(session, refund)


@router.post("/appointments/{appointment_id}/cancel", response_model=AppointmentDetail, tags=["appointments"],
             responses=_IN_PROGRESS,
             summary="Cancel my appointment before its time (confirm: true); a paid fee is refunded (退费中 → 已退费)")
def cancel(appointment_id: IdPath, body: CancelRequest, request: Request, session: SessionDep, db: DbDep,
           ctx: CurrentAccount, idempotency_key: IdempotencyKeyHeader = None) -> AppointmentDetail:
    if not body.confirm:
        raise AppError("confirm_required", "取消预约后号源将释放，已付诊费按原路退回（1-15个工作日），请确认后再提交",
                       status=422)
    with idempotent(session, key=idempotency_key, principal=account_principal(ctx), request=request,
                    body=body) as claim:
        if claim.replay is not None:
            return claim.replay  # type: ignore[return-value]
        refund = service.cancel_by_patient(session, account_id=ctx.account_id, appointment_id=appointment_id,
                                           actor=ctx.actor)
        appt = appointments.get_owned(session, account_id=ctx.account_id, appointment_id=appointment_id)
        result = appointments.detail(session, appt)
        claim.store(200, result)
        session.commit()
    if refund is not None:
        service.submit_all(db, [refund.id])
    return result


@router.get("/staff/refunds/exceptions", response_model=list[RefundPublic],
            summary="Refunds needing a clerk: ABNORMAL at the gateway, or CLOSED and not yet sent again")
def exceptions(session: SessionDep, ctx: ClerkStaff,
               limit: Annotated[int, Query(ge=1, le=200)] = 100) -> list[RefundPublic]:
    return views.to_public(session, service.exceptions(session, limit=limit))


@router.get("/staff/refunds/{refund_id}", response_model=RefundPublic, summary="One refund")
def read_refund(refund_id: IdPath, session: SessionDep, ctx: ClerkStaff) -> RefundPublic:
    refund = session.get(Refund, refund_id)
    if refund is None:
        raise NotFound("退费单")
    return public(session, refund)


@router.get("/staff/refunds", response_model=list[RefundPublic], summary="Refunds, newest first")
def list_refunds(session: SessionDep, ctx: ClerkStaff,
                 status: Annotated[str | None, Query(max_length=16, pattern=r"^[a-z]+$")] = None,
                 appointment_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
                 limit: Annotated[int, Query(ge=1, le=200)] = 50,
                 offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0) -> list[RefundPublic]:
    q = select(Refund)
    if status is not None:
        q = q.where(Refund.status == status)
    if appointment_id is not None:
        q = q.where(Refund.appointment_id == appointment_id)
    rows = session.execute(q.order_by(Refund.id.desc()).limit(limit).offset(offset)).scalars()
    return views.to_public(session, rows)


@router.post("/staff/refunds/{refund_id}/retry", response_model=RefundPublic, responses=_IN_PROGRESS,
             summary="Send a refund again: ABNORMAL → the same refund number; CLOSED → a new refund (new number)")
def retry(refund_id: IdPath, request: Request, session: SessionDep, db: DbDep, ctx: ClerkStaff,
          idempotency_key: IdempotencyKeyHeader = None) -> RefundPublic:
    with idempotent(session, key=idempotency_key, principal=staff_principal(ctx), request=request,
                    body={"refund_id": refund_id}) as claim:
        if claim.replay is not None:
            return claim.replay  # type: ignore[return-value]
        refund = service.retry(session, refund_id=refund_id, actor=ctx.actor)
        result = public(session, refund)
        claim.store(200, result)
        session.commit()
    service.submit_all(db, [result.id])
    return result


if not get_settings().production:
    from server.refunds.sandbox import router as sandbox_router

    router.include_router(sandbox_router)
