"""Prescriptions (处方). One row per prescription; its lines live in the row as JSON.

Lines are stored computed (drug snapshot, quantity, amount, directions) and the findings with them, both
rewritten on every save of a draft. Once signed the row's clinical content never changes again (a signed
prescription is changed by voiding it and writing a new one), so what the pharmacist reviews, the slip prints
and the patient pays is exactly what the doctor signed, whatever happens to the catalogue later;
``content_hash`` is the SHA-256 of that content, also kept in the signature's audit entry.
"""
from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from server.db import Base, TZDateTime
from server.ids import BigId, pk
from server.ids import created_at as created_at_column

STATUSES = ("draft", "signed", "returned", "approved", "issued", "fulfilment_chosen", "paid", "dispensed",
            "shipped", "expired", "voided", "refunded")


class Prescription(Base):
    __tablename__ = "prescriptions"
    __table_args__ = (
        Index("ix_prescriptions_status_signed", "status", "signed_at"),
        Index("ix_prescriptions_status_valid", "status", "valid_until"),
    )

    id: Mapped[int] = pk()
    no: Mapped[str] = mapped_column(String(20), unique=True)
    verify_token: Mapped[str] = mapped_column(String(40), unique=True)
    appointment_id: Mapped[int] = mapped_column(BigId, ForeignKey("appointments.id"), index=True)
    doctor_id: Mapped[int] = mapped_column(BigId, ForeignKey("doctors.id"), index=True)
    account_id: Mapped[int] = mapped_column(BigId, ForeignKey("accounts.id"), index=True)
    patient_id: Mapped[int] = mapped_column(BigId, ForeignKey("patients.id"), index=True)
    created_by: Mapped[int] = mapped_column(BigId, ForeignKey("staff.id"))
    status: Mapped[str] = mapped_column(String(24), default="draft")
    revision: Mapped[int] = mapped_column(default=1)

    diagnosis_code: Mapped[str] = mapped_column(String(8), default="")
    diagnosis_name: Mapped[str] = mapped_column(String(100), default="")
    fee_category: Mapped[str] = mapped_column(String(16), default="self_pay")
    allergies: Mapped[list[str]] = mapped_column(JSON, default=list)
    chronic_reason: Mapped[str] = mapped_column(String(200), default="")
    validity_days: Mapped[int] = mapped_column(default=1)
    validity_note: Mapped[str] = mapped_column(String(200), default="")
    notes: Mapped[str] = mapped_column(String(500), default="")
    lines: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    overrides: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    findings: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    amount_fen: Mapped[int] = mapped_column(default=0)

    created_at: Mapped[dt.datetime] = created_at_column()
    updated_at: Mapped[dt.datetime] = created_at_column()
    signed_at: Mapped[dt.datetime | None] = mapped_column(TZDateTime(), nullable=True)
    signed_by: Mapped[int | None] = mapped_column(BigId, ForeignKey("staff.id"), nullable=True)
    content_hash: Mapped[str | None] = mapped_column(String(64), nullable=True)
    return_reason: Mapped[str | None] = mapped_column(String(200), nullable=True)
    returned_at: Mapped[dt.datetime | None] = mapped_column(TZDateTime(), nullable=True)
    reviewed_by: Mapped[int | None] = mapped_column(BigId, ForeignKey("staff.id"), nullable=True)
    approved_at: Mapped[dt.datetime | None] = mapped_column(TZDateTime(), nullable=True)
    issued_at: Mapped[dt.datetime | None] = mapped_column(TZDateTime(), nullable=True)
    valid_until: Mapped[dt.datetime | None] = mapped_column(TZDateTime(), nullable=True)
    fulfilment: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    fulfilment_at: Mapped[dt.datetime | None] = mapped_column(TZDateTime(), nullable=True)
    # the payment that paid it (no FK: payments already points here, like appointments.payment_id)
    payment_id: Mapped[int | None] = mapped_column(BigId, nullable=True)
    paid_at: Mapped[dt.datetime | None] = mapped_column(TZDateTime(), nullable=True)
    dispensed_at: Mapped[dt.datetime | None] = mapped_column(TZDateTime(), nullable=True)
    shipped_at: Mapped[dt.datetime | None] = mapped_column(TZDateTime(), nullable=True)
    dispensed_by: Mapped[int | None] = mapped_column(BigId, ForeignKey("staff.id"), nullable=True)
    expired_at: Mapped[dt.datetime | None] = mapped_column(TZDateTime(), nullable=True)
    voided_at: Mapped[dt.datetime | None] = mapped_column(TZDateTime(), nullable=True)
    void_reason: Mapped[str | None] = mapped_column(String(200), nullable=True)
