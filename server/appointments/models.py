from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from server.db import Base, TZDateTime
from server.ids import BigId, created_at, pk

# DOMAIN.md's appointment machine
STATUSES = ("pending_payment", "booked", "checked_in", "waiting", "in_consultation", "completed", "expired",
            "cancelled", "missed", "cancelled_by_hospital")


class Appointment(Base):
    __tablename__ = "appointments"
    __table_args__ = (
        Index("ix_appointments_doctor_start", "doctor_id", "starts_at"),
        Index("ix_appointments_status_hold", "status", "hold_expires_at"),
        Index("ix_appointments_status_start", "status", "starts_at"),
        Index("ix_appointments_patient_doctor", "patient_id", "doctor_id", "starts_at"),
    )

    id: Mapped[int] = pk()
    number: Mapped[str] = mapped_column(String(32), unique=True)
    account_id: Mapped[int] = mapped_column(BigId, ForeignKey("accounts.id"), index=True)
    patient_id: Mapped[int] = mapped_column(BigId, ForeignKey("patients.id"), index=True)
    doctor_id: Mapped[int] = mapped_column(BigId, ForeignKey("doctors.id"))
    department_id: Mapped[int] = mapped_column(BigId, ForeignKey("departments.id"))
    slot_id: Mapped[int] = mapped_column(BigId, ForeignKey("slots.id"), index=True)
    starts_at: Mapped[dt.datetime] = mapped_column(TZDateTime())
    ends_at: Mapped[dt.datetime] = mapped_column(TZDateTime())
    fee_fen: Mapped[int] = mapped_column()
    status: Mapped[str] = mapped_column(String(24), default="pending_payment")
    notice_version: Mapped[int] = mapped_column()
    eligibility_visit_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("his_visits.id"), nullable=True)
    hold_expires_at: Mapped[dt.datetime | None] = mapped_column(TZDateTime(), nullable=True)
    created_at: Mapped[dt.datetime] = created_at()
    paid_at: Mapped[dt.datetime | None] = mapped_column(TZDateTime(), nullable=True)
    # the payment that booked it (no FK: payments already points here, and a cycle complicates migrations)
    payment_id: Mapped[int | None] = mapped_column(BigId, nullable=True)
    reminder_sent_at: Mapped[dt.datetime | None] = mapped_column(TZDateTime(), nullable=True)
    checked_in_at: Mapped[dt.datetime | None] = mapped_column(TZDateTime(), nullable=True)
    waiting_since: Mapped[dt.datetime | None] = mapped_column(TZDateTime(), nullable=True)
    called_at: Mapped[dt.datetime | None] = mapped_column(TZDateTime(), nullable=True)
    completed_at: Mapped[dt.datetime | None] = mapped_column(TZDateTime(), nullable=True)
    ended_at: Mapped[dt.datetime | None] = mapped_column(TZDateTime(), nullable=True)  # cancelled/expired/missed
    end_reason: Mapped[str] = mapped_column(String(200), default="")
    # the doctor's record of the visit (filled by the workstation issue)
    diagnosis_code: Mapped[str] = mapped_column(String(16), default="")
    diagnosis_name: Mapped[str] = mapped_column(String(100), default="")
    notes: Mapped[str] = mapped_column(Text, default="")
    # 评价: the holder's stars (1–5) and words after a completed visit, once (server/prescriptions)
    rating_stars: Mapped[int | None] = mapped_column(nullable=True)
    rating_text: Mapped[str | None] = mapped_column(String(500), nullable=True)
    rated_at: Mapped[dt.datetime | None] = mapped_column(TZDateTime(), nullable=True)


class ConditionDescription(Base):
    """The patient's 病情描述 after check-in: text plus uploaded images and PDFs."""

    __tablename__ = "condition_descriptions"

    id: Mapped[int] = pk()
    appointment_id: Mapped[int] = mapped_column(BigId, ForeignKey("appointments.id"), unique=True)
    text: Mapped[str] = mapped_column(Text)
    submitted_at: Mapped[dt.datetime] = created_at()


class DescriptionFile(Base):
    __tablename__ = "description_files"
    __table_args__ = (UniqueConstraint("description_id", "file_id"),)

    id: Mapped[int] = pk()
    description_id: Mapped[int] = mapped_column(BigId, ForeignKey("condition_descriptions.id"), index=True)
    file_id: Mapped[int] = mapped_column(BigId, ForeignKey("files.id"))
    position: Mapped[int] = mapped_column(default=0)
