from __future__ import annotations

import datetime as dt

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from server.db import Base, TZDateTime
from server.ids import BigId, created_at, pk

PAYMENT_STATUSES = ("created", "paid", "closed")


class Payment(Base):
    """One payment order at the gateway (out_trade_no). Amounts in fen.

    ``created`` → ``paid`` (the gateway's signed word, or the reconciler's query) or ``closed`` (the order expired
    unpaid and was closed at the gateway). A SUCCESS that arrives for a closed order still moves it to ``paid``:
    the money was taken, and the refund work needs to see it.
    """

    __tablename__ = "payments"
    __table_args__ = (CheckConstraint("amount_fen > 0", name="amount_positive"),
                      # the day's reconciliation: payments paid within a day
                      Index("ix_payments_paid_at", "paid_at"))

    id: Mapped[int] = pk()
    out_trade_no: Mapped[str] = mapped_column(String(32), unique=True)
    account_id: Mapped[int] = mapped_column(BigId, ForeignKey("accounts.id"), index=True)
    purpose: Mapped[str] = mapped_column(String(16))  # consultation | drug
    appointment_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("appointments.id"), nullable=True,
                                                       index=True)
    # purpose drug: the prescription whose drug fee this pays (appointment_id stays null)
    prescription_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("prescriptions.id"), nullable=True,
                                                        index=True)
    amount_fen: Mapped[int] = mapped_column()
    description: Mapped[str] = mapped_column(String(128), default="")
    status: Mapped[str] = mapped_column(String(16), default="created", index=True)  # created | paid | closed
    prepay_id: Mapped[str] = mapped_column(String(64), default="")
    transaction_id: Mapped[str | None] = mapped_column(String(64), nullable=True, unique=True)
    created_at: Mapped[dt.datetime] = created_at()
    expires_at: Mapped[dt.datetime] = mapped_column(TZDateTime())
    paid_at: Mapped[dt.datetime | None] = mapped_column(TZDateTime(), nullable=True)
    closed_at: Mapped[dt.datetime | None] = mapped_column(TZDateTime(), nullable=True)
    refunded_fen: Mapped[int] = mapped_column(default=0)
    # set when the money arrived but the appointment could not take it (slot lost, paid twice): to be refunded
    orphan_reason: Mapped[str] = mapped_column(String(48), default="")


class GatewayNotification(Base):
    """Every notification the gateway sent, verified or not: dedupe by its id, and an audit trail of forgeries.

    ``notification_id`` is whatever the sender claimed; ``dedupe_key`` is set (to the same id) only once the
    notification verified, so a forged notification that borrows a genuine id can neither block nor shadow the
    real one. The unique ``dedupe_key`` is what makes two simultaneous deliveries apply once.
    """

    __tablename__ = "gateway_notifications"

    id: Mapped[int] = pk()
    notification_id: Mapped[str] = mapped_column(String(64), index=True)
    dedupe_key: Mapped[str | None] = mapped_column(String(64), nullable=True, unique=True)
    event_type: Mapped[str] = mapped_column(String(48))
    out_trade_no: Mapped[str] = mapped_column(String(32), default="", index=True)
    received_at: Mapped[dt.datetime] = created_at()
    deliveries: Mapped[int] = mapped_column(default=1)
    # applied | applied:late | applied:orphaned | ignored:<why> | refused:<why>
    outcome: Mapped[str] = mapped_column(String(48))
    body: Mapped[str] = mapped_column(Text, default="")


class SandboxTransaction(Base):
    """The sandbox gateway's own ledger: it stands for WeChat Pay's side, not ours.

    Only the sandbox gateway reads or writes it; the service learns about these rows the way it would from the
    real gateway (signed notifications and the query API).
    """

    __tablename__ = "sandbox_transactions"

    id: Mapped[int] = pk()
    prepay_id: Mapped[str] = mapped_column(String(64), unique=True)
    out_trade_no: Mapped[str] = mapped_column(String(32), unique=True)
    mchid: Mapped[str] = mapped_column(String(32))
    appid: Mapped[str] = mapped_column(String(32))
    description: Mapped[str] = mapped_column(String(128))
    amount_total: Mapped[int] = mapped_column()
    currency: Mapped[str] = mapped_column(String(8), default="CNY")
    payer_openid: Mapped[str] = mapped_column(String(64))
    notify_url: Mapped[str] = mapped_column(String(300))
    trade_state: Mapped[str] = mapped_column(String(16), default="NOTPAY")  # NOTPAY | SUCCESS | CLOSED
    transaction_id: Mapped[str | None] = mapped_column(String(32), nullable=True, unique=True)
    created_at: Mapped[dt.datetime] = created_at()
    time_expire: Mapped[dt.datetime] = mapped_column(TZDateTime())
    success_time: Mapped[dt.datetime | None] = mapped_column(TZDateTime(), nullable=True)
