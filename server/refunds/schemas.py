from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, ConfigDict, Field

# typed text on one line: no control characters (PostgreSQL cannot even store NUL)
LINE = r"^[^\x00-\x1f\x7f]*$"


class CancelRequest(BaseModel):
    confirm: bool = Field(description="Must be true: the patient confirmed 取消后诊费将按原路退回")


class ReasonRequest(BaseModel):
    """A refund application (申请退号) or a window refund (窗口退费)."""

    reason: str = Field(max_length=200, pattern=LINE,
                        description="Why; at least 2 characters after trimming (else 422 reason_required)")


class RejectRequest(BaseModel):
    reason_code: str = Field(max_length=32, pattern=r"^[a-z_]*$",
                             description="A code of GET /staff/refunds/reject-reasons (else 422 "
                                         "reject_reason_required)")
    text: str = Field(default="", max_length=180, pattern=LINE,
                      description="The clerk's explanation, added to the preset's label; required for `other`")


class RejectReason(BaseModel):
    code: str
    label: str


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
    # context for the window (server/refunds/views.py); empty when there is none (no clinical notes, ever)
    path_label: str = Field("", description="就诊前取消|退号申请|窗口退费|医生停诊|号源无法就诊|药费退费")
    purpose: str = Field("", description="consultation | drug: what the refunded payment paid for")
    paid_fen: int = Field(0, description="What the payment paid, in fen")
    paid_at: dt.datetime | None = None
    patient_name: str = ""
    id_number_masked: str = ""
    mobile_masked: str = Field("", description="The account's mobile, 138****1234")
    appointment_number: str = ""
    appointment_status: str = ""
    appointment_status_label: str = ""
    starts_at: dt.datetime | None = None
    doctor_name: str = ""
    department_name: str = ""
    reviewer_name: str = Field("", description="The clerk who approved or rejected it (reviewed paths)")
