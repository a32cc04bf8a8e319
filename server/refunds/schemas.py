from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, ConfigDict, Field


class CancelRequest(BaseModel):
    confirm: bool = Field(description="Must be true: the patient confirmed 取消后诊费将按原路退回")


class RefundPublic(BaseModel):
    """One refund as clerks see it (money in integer fen, times in Asia/Shanghai)."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    out_refund_no: str
    out_trade_no: str = ""
    payment_id: int
    account_id: int
    appointment_id: int | None
    prescription_id: int | None
    amount_fen: int
    path: str = Field(description="cancel | application | window | clinic_stop | slot_unavailable | drug")
    reason: str
    status: str = Field(description="requested | approved | rejected | processing | refunded | failed | closed")
    status_label: str = ""
    gateway_status: str = Field(description="'' (not yet accepted) | PROCESSING | SUCCESS | ABNORMAL | CLOSED")
    retry_of_id: int | None
    reviewer_id: int | None
    reject_reason: str
    query_attempts: int
    last_error: str
    created_at: dt.datetime
    updated_at: dt.datetime
    submitted_at: dt.datetime | None
    refunded_at: dt.datetime | None
