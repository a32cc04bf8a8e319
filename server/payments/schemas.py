"""Request and response shapes of the payment routes."""
from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class PaymentPrepay(BaseModel):
    """What the mini-program needs to open WeChat's payment sheet (or, in development, the sandbox page)."""

    out_trade_no: str
    prepay_id: str
    amount_fen: int
    expires_at: dt.datetime
    sandbox_url: str | None = Field(None, description="Development only: the sandbox page that plays WeChat")


class PaymentPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    out_trade_no: str
    purpose: Literal["consultation", "drug"]
    appointment_id: int | None
    amount_fen: int
    description: str
    status: Literal["created", "paid", "closed"]
    transaction_id: str | None
    created_at: dt.datetime
    expires_at: dt.datetime
    paid_at: dt.datetime | None
    closed_at: dt.datetime | None
    refunded_fen: int


class NotifyAnswer(BaseModel):
    """The answer WeChat Pay expects from a notification receiver: ``SUCCESS``, or ``FAIL`` with a reason."""

    code: Literal["SUCCESS", "FAIL"]
    message: str


class NotifyResource(BaseModel):
    algorithm: Literal["AEAD_AES_256_GCM"]
    ciphertext: str = Field(max_length=65536)
    nonce: str = Field(min_length=12, max_length=12)
    associated_data: str = Field("", max_length=256)
    original_type: str = Field(max_length=32)


class NotifyBody(BaseModel):
    """WeChat Pay v3's notification envelope (documentation only: the route reads the raw signed bytes)."""

    id: str = Field(max_length=64)
    create_time: str = Field(max_length=32)
    event_type: str = Field(max_length=48, examples=["TRANSACTION.SUCCESS"])
    resource_type: Literal["encrypt-resource"]
    summary: str = Field(max_length=64)
    resource: NotifyResource


class SandboxOrder(BaseModel):
    """The order as the sandbox's payment sheet shows it."""

    prepay_id: str
    out_trade_no: str
    merchant: str
    mchid: str
    appid: str
    description: str
    amount_fen: int
    currency: str
    trade_state: Literal["NOTPAY", "SUCCESS", "CLOSED"]
    transaction_id: str | None
    time_expire: dt.datetime
    success_time: dt.datetime | None


class SandboxConfirmed(SandboxOrder):
    notifications_scheduled: int = Field(description="Deliveries of the notification now on their way")


class WechatAmount(BaseModel):
    total: int
    payer_total: int | None = None
    currency: str
    payer_currency: str | None = None


class WechatPayer(BaseModel):
    openid: str


class WechatTransaction(BaseModel):
    """WeChat Pay v3's ``GET /v3/pay/transactions/out-trade-no/{no}`` answer."""

    appid: str
    mchid: str
    out_trade_no: str
    transaction_id: str | None = None
    trade_type: str | None = None
    trade_state: Literal["NOTPAY", "SUCCESS", "CLOSED"]
    trade_state_desc: str
    success_time: str | None = None
    payer: WechatPayer
    amount: WechatAmount
