"""The clerk's window beyond single refunds: the drug-fee refund's body, the order search's rows and the day's
reconciliation. Money in integer fen, times in Asia/Shanghai. No clinical note anywhere."""
from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, Field

from server.refunds.schemas import RefundPublic

LINE = r"^[^\x00-\x1f\x7f]*$"


class RefundReasonIn(BaseModel):
    reason: str = Field(max_length=200, pattern=LINE,
                        description="Why the fee goes back (at least 2 characters after trimming, else "
                                    "422 reason_required)")


class OrderRow(BaseModel):
    """One appointment with its consultation payment, or one paid prescription with its drug payment."""

    kind: Literal["consultation", "drug"]
    appointment_id: int
    appointment_number: str
    appointment_status: str
    appointment_status_label: str
    starts_at: dt.datetime
    doctor_name: str
    department_name: str
    prescription_id: int | None = Field(description="kind drug: the prescription")
    prescription_status: str = Field(description="kind drug: the prescription's status ('' otherwise)")
    prescription_status_label: str = ""
    patient_name: str
    id_number_masked: str
    mobile_masked: str = Field(description="The account's mobile, 138****1234")
    payment_id: int | None = Field(description="null: never asked to pay")
    out_trade_no: str = ""
    payment_status: str = Field("", description="created | paid | closed ('' without a payment)")
    paid_fen: int = Field(description="What the payment took (0 unless paid)")
    paid_at: dt.datetime | None
    refunded_fen: int = Field(description="Refunded (the gateway said SUCCESS)")
    refunding_fen: int = Field(description="Held by refunds requested, approved, processing or failed")
    refundable_fen: int = Field(description="paid_fen − refunded_fen − refunding_fen")
    refund_status: str | None = Field(description="As the patient sees it: refunding | refunded | rejected | …")
    refund_status_label: str | None
    refunds: list[RefundPublic] = Field(description="The payment's refunds, newest first")
    actions: list[Literal["window_refund", "drug_refund"]] = Field(
        description="What the window may do now: window_refund (POST /staff/appointments/{id}/window-refund), "
                    "drug_refund (POST /staff/prescriptions/{id}/refund)")


class ReconciliationPayment(BaseModel):
    payment_id: int
    out_trade_no: str
    purpose: str = Field(description="consultation | drug")
    amount_fen: int
    refunded_fen: int
    paid_at: dt.datetime
    patient_name: str
    appointment_number: str = Field(description="The visit (a drug payment: the prescription's visit)")
    prescription_id: int | None
    status: str


class ReconciliationTotals(BaseModel):
    paid_count: int
    paid_fen: int
    refunded_count: int = Field(description="Refunds that turned refunded this day")
    refunded_fen: int
    refunding_count: int = Field(description="Refunds of the list still requested, approved or processing")
    refunding_fen: int
    exception_count: int
    net_fen: int = Field(description="paid_fen − refunded_fen")


class Reconciliation(BaseModel):
    day: dt.date
    payments: list[ReconciliationPayment] = Field(description="Payments paid this day, in the order paid")
    refunds: list[RefundPublic] = Field(description="Refunds created or refunded this day, oldest first")
    exceptions: list[RefundPublic] = Field(description="Those of the refunds that need a clerk: failed (ABNORMAL, "
                                                       "refused) or closed and not yet sent again")
    totals: ReconciliationTotals
