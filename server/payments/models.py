from __future__ import annotations

import datetime as dt

from sqlalchemy import CheckConstraint, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from server.db import Base, TZDateTime
from server.ids import BigId, created_at, pk


class Payment(Base):
    """One payment order at the gateway (out_trade_no). Amounts in fen."""

    __tablename__ = "payments"
    __table_args__ = (CheckConstraint("amount_fen > 0", name="amount_positive"),)

    id: Mapped[int] = pk()
    out_trade_no: Mapped[str] = mapped_column(String(32), unique=True)
    account_id: Mapped[int] = mapped_column(BigId, ForeignKey("accounts.id"), index=True)
    purpose: Mapped[str] = mapped_column(String(16))  # consultation | drug
    appointment_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("appointments.id"), nullable=True,
                                                       index=True)
    amount_fen: Mapped[int] = mapped_column()
    description: Mapped[str] = mapped_column(String(128), default="")
    status: Mapped[str] = mapped_column(String(16), default="created")  # created | paid | closed
    prepay_id: Mapped[str] = mapped_column(String(64), default="")
    transaction_id: Mapped[str | None] = mapped_column(String(64), nullable=True, unique=True)
    created_at: Mapped[dt.datetime] = created_at()
    expires_at: Mapped[dt.datetime] = mapped_column(TZDateTime())
    paid_at: Mapped[dt.datetime | None] = mapped_column(TZDateTime(), nullable=True)
    refunded_fen: Mapped[int] = mapped_column(default=0)


class GatewayNotification(Base):
    """Every notification the gateway sent, verified or not: dedupe by its id, and an audit trail of forgeries."""

    __tablename__ = "gateway_notifications"

    id: Mapped[int] = pk()
    notification_id: Mapped[str] = mapped_column(String(64), unique=True)
    event_type: Mapped[str] = mapped_column(String(48))
    out_trade_no: Mapped[str] = mapped_column(String(32), default="", index=True)
    received_at: Mapped[dt.datetime] = created_at()
    outcome: Mapped[str] = mapped_column(String(24))  # applied | duplicate | stale | refused:<why>
    body: Mapped[str] = mapped_column(Text, default="")
