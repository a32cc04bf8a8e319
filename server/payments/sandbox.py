"""The sandbox gateway's own routes: the payment sheet a patient would see in WeChat, and WeChat's query API.

Mounted only outside production. ``confirm`` plays the patient entering the payment password: the sandbox's
ledger says SUCCESS at once, and the signed notifications follow a moment later, from another thread, the way
the real gateway's do (late, possibly repeated, retried until answered 2xx).
"""
from __future__ import annotations

import html
from typing import Annotated

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import HTMLResponse
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from server.config import Settings
from server.db import Database
from server.deps import SessionDep, SettingsDep
from server.errors import AppError, Conflict, NotFound
from server.payments import wechatpay
from server.payments.gateway import (
    new_transaction_id,
    sandbox_state,
    schedule_notifications,
    success_notification,
)
from server.payments.models import SandboxTransaction
from server.payments.schemas import (
    SandboxConfirmed,
    SandboxOrder,
    WechatAmount,
    WechatPayer,
    WechatTransaction,
)
from server.timeutil import now

router = APIRouter(prefix="/sandbox", tags=["sandbox gateway (development only)"])

PrepayId = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")]
OutTradeNo = Annotated[str, Path(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9_-]+$")]


def _order(row: SandboxTransaction, settings: Settings) -> SandboxOrder:
    return SandboxOrder(prepay_id=row.prepay_id, out_trade_no=row.out_trade_no, merchant=settings.hospital_name,
                        mchid=row.mchid, appid=row.appid, description=row.description,
                        amount_fen=row.amount_total, currency=row.currency, trade_state=sandbox_state(row),
                        transaction_id=row.transaction_id, time_expire=row.time_expire,
                        success_time=row.success_time)


def _by_prepay(session: Session, prepay_id: str) -> SandboxTransaction:
    row = session.execute(select(SandboxTransaction).where(SandboxTransaction.prepay_id == prepay_id)
                          ).scalar_one_or_none()
    if row is None:
        raise NotFound("支付订单")
    return row


def _page(order: SandboxOrder) -> str:
    e = html.escape
    yuan = f"{order.amount_fen // 100}.{order.amount_fen % 100:02d}"
    button = (f'<form method="post" action="{e(order.prepay_id)}/confirm"><button>确认支付 ¥{yuan}</button></form>'
              if order.trade_state == "NOTPAY" else f"<p>订单状态：{e(order.trade_state)}</p>")
    return (f'<!doctype html><html lang="zh-CN"><meta charset="utf-8"><title>微信支付（沙箱）</title>'
            f'<body style="font-family:sans-serif;max-width:28em;margin:2em auto"><h1>微信支付（沙箱）</h1>'
            f"<p>{e(order.merchant)}</p><p>{e(order.description)}</p><p style=\"font-size:2em\">¥{yuan}</p>"
            f"<p>商户订单号 {e(order.out_trade_no)}</p>{button}</body></html>")


@router.get("/pay/{prepay_id}", response_model=SandboxOrder, summary="The sandbox payment sheet for a prepay id",
            responses={200: {"content": {"text/html": {"schema": {"type": "string"}}},
                             "description": "JSON, or an HTML page when the client accepts text/html"}})
def sandbox_order(prepay_id: PrepayId, request: Request, session: SessionDep,
                  settings: SettingsDep) -> SandboxOrder | HTMLResponse:
    order = _order(_by_prepay(session, prepay_id), settings)
    accept = request.headers.get("accept", "")
    if "text/html" in accept and "application/json" not in accept:
        return HTMLResponse(_page(order))
    return order


def confirm(session: Session, *, prepay_id: str) -> tuple[SandboxTransaction, bool]:
    """Mark the order paid at the gateway; ``True`` when this call paid it (a repeat changes nothing)."""
    t = now()
    result = session.execute(
        update(SandboxTransaction)
        .where(SandboxTransaction.prepay_id == prepay_id, SandboxTransaction.trade_state == "NOTPAY",
               SandboxTransaction.time_expire > t)
        .values(trade_state="SUCCESS", transaction_id=new_transaction_id(), success_time=t)
        .execution_options(synchronize_session=False))
    row = _by_prepay(session, prepay_id)
    session.refresh(row)
    if result.rowcount == 1:
        return row, True
    if row.trade_state == "SUCCESS":
        return row, False
    raise Conflict("trade_closed", "订单已关闭或已超过支付时限，无法支付，请返回重新下单")


def notify(row: SandboxTransaction, *, settings: Settings, duplicates: int, delay_ms: int) -> int:
    keys = wechatpay.sandbox_keys(settings.data_dir)
    body = success_notification(keys, row)
    schedule_notifications(url=row.notify_url, keys=keys, body=body, duplicates=duplicates,
                           delay_s=delay_ms / 1000)
    return duplicates


def autopay(db: Database, *, settings: Settings, prepay_id: str) -> None:
    """``CLINIC_SANDBOX_AUTOPAY``: the patient pays the moment the order exists (for demos and the simulator)."""
    with db.transaction() as session:
        row, paid = confirm(session, prepay_id=prepay_id)
    if paid:
        notify(row, settings=settings, duplicates=settings.sandbox_notify_duplicates,
               delay_ms=settings.sandbox_notify_delay_ms)


@router.post("/pay/{prepay_id}/confirm", response_model=SandboxConfirmed,
             summary="The patient confirms the payment in WeChat (sandbox)")
def sandbox_confirm(prepay_id: PrepayId, session: SessionDep, settings: SettingsDep,
                    duplicates: Annotated[int | None, Query(ge=1, le=10, description="Deliveries of the "
                                                            "notification (default from settings)")] = None,
                    delay_ms: Annotated[int | None, Query(ge=0, le=60_000, description="Delay before the "
                                                          "first delivery")] = None,
                    notify_: Annotated[bool, Query(alias="notify", description="false: the notification is "
                                                   "lost, only the query API knows")] = True) -> SandboxConfirmed:
    row, paid = confirm(session, prepay_id=prepay_id)
    session.commit()
    scheduled = 0
    if paid and notify_:
        scheduled = notify(row, settings=settings,
                           duplicates=duplicates if duplicates is not None else settings.sandbox_notify_duplicates,
                           delay_ms=delay_ms if delay_ms is not None else settings.sandbox_notify_delay_ms)
    return SandboxConfirmed(**_order(row, settings).model_dump(), notifications_scheduled=scheduled)


@router.get("/v3/pay/transactions/out-trade-no/{out_trade_no}", response_model=WechatTransaction,
            summary="WeChat Pay v3 order query (sandbox)")
def sandbox_query(out_trade_no: OutTradeNo, session: SessionDep,
                  mchid: Annotated[str | None, Query(max_length=32)] = None) -> WechatTransaction:
    row = session.execute(select(SandboxTransaction).where(SandboxTransaction.out_trade_no == out_trade_no)
                          ).scalar_one_or_none()
    if row is None or (mchid is not None and mchid != row.mchid):
        raise AppError("ORDER_NOT_EXIST", "订单不存在", status=404)
    state = sandbox_state(row)
    paid = state == "SUCCESS"
    return WechatTransaction(
        appid=row.appid, mchid=row.mchid, out_trade_no=row.out_trade_no,
        transaction_id=row.transaction_id if paid else None, trade_type="JSAPI" if paid else None,
        trade_state=state, trade_state_desc={"SUCCESS": "支付成功", "NOTPAY": "未支付", "CLOSED": "已关闭"}[state],
        success_time=wechatpay.wechat_time(row.success_time) if paid and row.success_time else None,
        payer=WechatPayer(openid=row.payer_openid),
        amount=WechatAmount(total=row.amount_total, payer_total=row.amount_total if paid else None,
                            currency=row.currency, payer_currency=row.currency if paid else None))
