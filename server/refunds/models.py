"""Refunds: one row per merchant refund number (out_refund_no), and the sandbox gateway's own refund ledger."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import CheckConstraint, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from server.db import Base, TZDateTime
from server.ids import BigId, created_at, pk

REFUND_PATHS = ("cancel", "application", "window", "clinic_stop", "slot_unavailable", "drug")
REFUND_STATUSES = ("requested", "approved", "rejected", "processing", "refunded", "failed", "closed")
# the statuses whose amount is spoken for: refunded_fen + these ≤ paid, always
HOLDING = ("requested", "approved", "processing", "failed")


class Refund(Base):
    """One refund of (part of) one payment, under one merchant refund number.

    ``requested`` → ``processing`` (automatic paths) or → ``approved``/``rejected`` (reviewed paths);
    ``processing`` → ``refunded`` (gateway SUCCESS) | ``failed`` (ABNORMAL: the clerk's exception list; a retry
    sends the SAME number again) | ``closed`` (CLOSED: the number is spent, a retry makes a new refund row).
    """

    __tablename__ = "refunds"
    __table_args__ = (CheckConstraint("amount_fen > 0", name="refund_amount_positive"),
                      # the day's reconciliation: refunds created or refunded within a day
                      Index("ix_refunds_created_at", "created_at"), Index("ix_refunds_refunded_at", "refunded_at"))

    id: Mapped[int] = pk()
    out_refund_no: Mapped[str] = mapped_column(String(64), unique=True)
    payment_id: Mapped[int] = mapped_column(BigId, ForeignKey("payments.id"), index=True)
    account_id: Mapped[int] = mapped_column(BigId, ForeignKey("accounts.id"), index=True)
    appointment_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("appointments.id"), nullable=True,
                                                       index=True)
    prescription_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("prescriptions.id"), nullable=True,
                                                        index=True)
    amount_fen: Mapped[int] = mapped_column()
    path: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(String(200), default="")
    status: Mapped[str] = mapped_column(String(16), default="requested", index=True)
    gateway_status: Mapped[str] = mapped_column(String(16), default="")  # PROCESSING|SUCCESS|ABNORMAL|CLOSED
    gateway_refund_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    # a CLOSED refund retried: the refund row that replaced it
    retry_of_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("refunds.id"), nullable=True)
    reviewer_id: Mapped[int | None] = mapped_column(BigId, nullable=True)
    reject_reason: Mapped[str] = mapped_column(String(200), default="")
    query_attempts: Mapped[int] = mapped_column(default=0)
    next_query_at: Mapped[dt.datetime | None] = mapped_column(TZDateTime(), nullable=True, index=True)
    created_at: Mapped[dt.datetime] = created_at()
    updated_at: Mapped[dt.datetime] = mapped_column(TZDateTime())
    submitted_at: Mapped[dt.datetime | None] = mapped_column(TZDateTime(), nullable=True)
    refunded_at: Mapped[dt.datetime | None] = mapped_column(TZDateTime(), nullable=True)
    last_error: Mapped[str] = mapped_column(String(200), default="")


class SandboxRefund(Base):
    """The sandbox gateway's refund ledger (WeChat's side, not ours): one row per out_refund_no."""

    __tablename__ = "sandbox_refunds"

    id: Mapped[int] = pk()
    refund_id: Mapped[str] = mapped_column(String(32), unique=True)
    out_refund_no: Mapped[str] = mapped_column(String(64), unique=True)
    out_trade_no: Mapped[str] = mapped_column(String(32), index=True)
    transaction_id: Mapped[str] = mapped_column(String(32), default="")
    amount_refund: Mapped[int] = mapped_column()
    amount_total: Mapped[int] = mapped_column()
    status: Mapped[str] = mapped_column(String(16), default="PROCESSING")  # PROCESSING|SUCCESS|ABNORMAL|CLOSED
    # what it turns into, and when (the sandbox settles lazily on query, and by its notifier thread)
    outcome: Mapped[str] = mapped_column(String(16), default="SUCCESS")  # SUCCESS|ABNORMAL|CLOSED|HOLD
    settle_at: Mapped[dt.datetime] = mapped_column(TZDateTime())
    notify_url: Mapped[str] = mapped_column(String(300), default="")
    created_at: Mapped[dt.datetime] = created_at()
    success_time: Mapped[dt.datetime | None] = mapped_column(TZDateTime(), nullable=True)
