"""Payment routes: pay for an appointment, read a payment, and the gateway's notification endpoint."""
from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request, Response
from fastapi.responses import JSONResponse
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from server.actor import Actor
from server.config import Settings, get_settings
from server.db import Database
from server.deps import ClientDep, CurrentAccount, DbDep, SessionDep, SettingsDep
from server.errors import AppError
from server.idempotency import IdempotencyKeyHeader, account_principal, claim
from server.payments import service, wechatpay
from server.payments.gateway import get_gateway
from server.payments.models import Payment
from server.payments.schemas import NotifyAnswer, PaymentPrepay, PaymentPublic

router = APIRouter(tags=["payments"])

AppointmentId = Annotated[int, Path(ge=1, le=2**53)]
OutTradeNo = Annotated[str, Path(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9_-]+$")]
NOTIFY_MAX_BYTES = 64 * 1024


def _prepay(payment: Payment, settings: Settings) -> PaymentPrepay:
    return PaymentPrepay(out_trade_no=payment.out_trade_no, prepay_id=payment.prepay_id,
                         amount_fen=payment.amount_fen, expires_at=payment.expires_at,
                         sandbox_url=service.sandbox_url(settings, payment.prepay_id))


@router.post("/appointments/{appointment_id}/payment", status_code=201, response_model=PaymentPrepay,
             summary="Pay the consultation fee of an appointment awaiting payment",
             responses={200: {"model": PaymentPrepay,
                              "description": "The open payment already made for this appointment"}})
def create_payment(appointment_id: AppointmentId, ctx: CurrentAccount, session: SessionDep, db: DbDep,
                   settings: SettingsDep, request: Request, response: Response,
                   idempotency_key: IdempotencyKeyHeader = None) -> Any:
    principal = account_principal(ctx)
    replay = stored_answer(session, key=idempotency_key, principal=principal, request=request)
    if replay is not None:
        return replay
    gateway = get_gateway(db=db, settings=settings)
    if gateway is None:
        raise AppError("payment_unavailable", "在线支付暂不可用，请到医院窗口缴费", status=409)
    payment, created = service.open_payment(session, account_id=ctx.account.id, appointment_id=appointment_id,
                                            actor=ctx.actor, settings=settings)
    session.commit()
    answer = prepay_answer(session, db, settings, payment=payment, created=created, response=response)
    return remember_answer(session, key=idempotency_key, principal=principal, request=request,
                           status_code=response.status_code or 201, answer=answer)


def stored_answer(session: Session, *, key: str | None, principal: str, request: Request) -> JSONResponse | None:
    """Opening a payment is idempotent by itself (the open payment of the appointment or prescription is
    answered again), so the key is checked first and stored after the gateway answered: a retry with the key
    gets the first answer (201 included); a retry without one still gets the same payment."""
    if key is None:
        return None
    found = claim(session, key=key, principal=principal, request=request)
    session.rollback()  # only a look: the work below commits in its own transactions
    return found.replay


def remember_answer(session: Session, *, key: str | None, principal: str, request: Request, status_code: int,
                    answer: PaymentPrepay) -> Any:
    if key is None:
        return answer
    c = claim(session, key=key, principal=principal, request=request)
    if c.replay is not None:  # a twin with the same key answered first: the same payment, its answer
        session.rollback()
        return c.replay
    try:
        c.store(status_code, answer)
        session.commit()
    except AppError:  # the twin stored between our look and our insert
        session.rollback()
    return answer


def prepay_answer(session: Session, db: Database, settings: Settings, *, payment: Payment, created: bool,
                  response: Response) -> PaymentPrepay:
    """After an open payment committed: ask the gateway for its prepay id (outside any transaction of ours),
    then answer 201 (new) or 200 (the open one again). Shared by the consultation fee and the drug fee."""
    gateway = get_gateway(db=db, settings=settings)
    if gateway is None:
        raise AppError("payment_unavailable", "在线支付暂不可用，请到医院窗口缴费", status=409)
    if not payment.prepay_id:
        # the gateway is outside: ask it with no transaction of ours open
        prepay_id = service.request_prepay(gateway, payment, settings=settings)
        payment = service.save_prepay(session, payment_id=payment.id, prepay_id=prepay_id)
        session.commit()
        if created and settings.sandbox_autopay and service.sandbox_url(settings, prepay_id):
            from server.payments import sandbox

            sandbox.autopay(db, settings=settings, prepay_id=prepay_id)
    if not created:
        response.status_code = 200
    return _prepay(payment, settings)


async def raw_body(request: Request) -> bytes:
    """The exact bytes received: the signature covers them, so nothing may re-encode the body first."""
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > NOTIFY_MAX_BYTES:
            return b""  # refused below as unsigned/garbled; nothing bigger is ever sent by the gateway
        chunks.append(chunk)
    return b"".join(chunks)


_FAIL = {"model": NotifyAnswer, "description": "Refused (`code: FAIL`): WeChat Pay will retry"}
_SIGNATURE_HEADERS = [
    {"name": name, "in": "header", "required": False, "schema": {"type": "string", "maxLength": 512},
     "description": desc}
    for name, desc in ((wechatpay.H_TIMESTAMP, "Unix seconds; refused when more than 5 minutes off"),
                       (wechatpay.H_NONCE, "Random string"),
                       (wechatpay.H_SIGNATURE, "base64 RSA-SHA256 over timestamp\\nnonce\\nbody\\n"),
                       (wechatpay.H_SERIAL, "Serial of the platform certificate that signed"))
]
_NOTIFY_BODY_SCHEMA = {
    "type": "object",
    "required": ["id", "create_time", "event_type", "resource_type", "summary", "resource"],
    "properties": {
        "id": {"type": "string", "maxLength": 64},
        "create_time": {"type": "string", "maxLength": 32},
        "event_type": {"type": "string", "maxLength": 48, "example": "TRANSACTION.SUCCESS"},
        "resource_type": {"type": "string", "enum": ["encrypt-resource"]},
        "summary": {"type": "string", "maxLength": 64},
        "resource": {
            "type": "object",
            "required": ["algorithm", "ciphertext", "nonce", "original_type"],
            "properties": {
                "algorithm": {"type": "string", "enum": ["AEAD_AES_256_GCM"]},
                "ciphertext": {"type": "string", "maxLength": 65536},
                "nonce": {"type": "string", "minLength": 12, "maxLength": 12},
                "associated_data": {"type": "string", "maxLength": 256},
                "original_type": {"type": "string", "maxLength": 32},
            },
        },
    },
}


@router.post("/payments/notify", response_model=NotifyAnswer,
             summary="Payment gateway notification (WeChat Pay v3: signed, resource AES-256-GCM encrypted)",
             responses={400: _FAIL, 401: _FAIL},
             openapi_extra={"parameters": _SIGNATURE_HEADERS,
                            "requestBody": {"required": True,
                                            "content": {"application/json": {"schema": _NOTIFY_BODY_SCHEMA}}}})
def payment_notify(request: Request, body: Annotated[bytes, Depends(raw_body)], session: SessionDep,
                   db: DbDep, settings: SettingsDep, client: ClientDep) -> NotifyAnswer | JSONResponse:
    """Verify, dedupe by notification id, apply once. A refusal changes nothing and is audited."""
    actor = Actor("gateway", client=client)
    verified: wechatpay.VerifiedNotification | None = None
    try:
        verified = wechatpay.verify_notification(wechatpay.platform_keys(settings), headers=request.headers,
                                                 body=body, tolerance_s=settings.wechatpay_notify_tolerance_s)
        service.handle_notification(session, verified=verified, body=body, settings=settings, actor=actor)
        session.commit()
    except wechatpay.NotificationRefused as exc:
        session.rollback()
        out_trade_no = ""
        if verified is not None:
            out_trade_no = service.as_text(verified.resource.get("out_trade_no"))
        service.record_refusal(db, reason=exc.reason, body=body, actor=actor,
                               notification_id=verified.notification_id if verified else "",
                               out_trade_no=out_trade_no)
        return JSONResponse(status_code=exc.status, content={"code": "FAIL", "message": exc.message})
    except IntegrityError:
        # a simultaneous delivery of the same notification committed first: this one is its duplicate
        session.rollback()
        if verified is not None:
            service.count_duplicate(db, notification_id=verified.notification_id)
    return NotifyAnswer(code="SUCCESS", message="成功")


# after /payments/notify: Starlette answers a wrong method with the Allow header of the first route whose path
# matches, and "notify" would otherwise match {out_trade_no} first
@router.get("/payments/{out_trade_no}", response_model=PaymentPublic, summary="One of my payments")
def read_payment(out_trade_no: OutTradeNo, ctx: CurrentAccount, session: SessionDep) -> PaymentPublic:
    return PaymentPublic.model_validate(service.get_owned(session, account_id=ctx.account.id,
                                                          out_trade_no=out_trade_no))


if not get_settings().production:
    from server.payments.sandbox import router as sandbox_router

    router.include_router(sandbox_router)
