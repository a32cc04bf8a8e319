"""The clerk's window beyond single refunds: the drug-fee refund, the order search and the day's reconciliation
(roles ``clerk`` and ``admin``; others ``403 role_forbidden``). The refund takes an ``Idempotency-Key``; its
gateway call is made after the commit (the reconciler sends any this misses)."""
from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Path, Query, Request

from server.appointments.schemas import MAX_ID
from server.deps import ClerkStaff, DbDep, SessionDep
from server.errors import ErrorBody
from server.idempotency import IdempotencyKeyHeader, idempotent, staff_principal
from server.refunds import drug, reconciliation, search, service, views
from server.refunds.schemas import RefundPublic
from server.refunds.staff_schemas import LINE, OrderRow, Reconciliation, RefundReasonIn
from server.timeutil import today

router = APIRouter(tags=["refunds"])
IdPath = Annotated[int, Path(ge=1, le=MAX_ID)]
_CONFLICTS = {409: {"model": ErrorBody, "description": "prescription_not_refundable (details {status}), "
                                                       "refund_exceeds_paid, payment_not_paid, or "
                                                       "request_in_progress (the same Idempotency-Key is being "
                                                       "answered)"}}


@router.post("/staff/prescriptions/{rx_id}/refund", status_code=201, response_model=RefundPublic,
             responses=_CONFLICTS,
             summary="药费退费: refund a paid, undispensed prescription's drug fee in full (it becomes 已退费)")
def refund_prescription(rx_id: IdPath, body: RefundReasonIn, request: Request, session: SessionDep, db: DbDep,
                        ctx: ClerkStaff, idempotency_key: IdempotencyKeyHeader = None) -> RefundPublic:
    with idempotent(session, key=idempotency_key, principal=staff_principal(ctx), request=request,
                    body=body) as claim:
        if claim.replay is not None:
            return claim.replay  # type: ignore[return-value]
        refund = drug.refund_prescription(session, rx_id=rx_id, reason=body.reason, actor=ctx.actor,
                                          staff_id=ctx.staff.id)
        result = views.one(session, refund)
        claim.store(201, result)
        session.commit()
    service.submit_all(db, [result.id])
    return result


@router.get("/staff/orders", response_model=list[OrderRow],
            summary="Find orders by mobile, ID number, order/refund/appointment number, or part of a name; "
                    "newest first")
def orders(session: SessionDep, ctx: ClerkStaff,
           q: Annotated[str, Query(max_length=search.MAX_QUERY, pattern=LINE,
                                   description="An 11-digit mobile, an ID number (15/18), an order number, a "
                                               "refund number, an appointment number, or part of a name "
                                               "(empty: 422 query_too_short)")] = "",
           limit: Annotated[int, Query(ge=1, le=100)] = 20) -> list[OrderRow]:
    return search.search(session, q=q, limit=limit)


@router.get("/staff/reconciliation", response_model=Reconciliation,
            summary="对账: the day's payments, refunds and exceptions with totals (day in Asia/Shanghai)")
def reconcile(session: SessionDep, ctx: ClerkStaff,
              day: Annotated[dt.date | None, Query(description="YYYY-MM-DD (default: today)")] = None
              ) -> Reconciliation:
    return reconciliation.reconcile(session, day=day or today())
