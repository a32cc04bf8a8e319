from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from server.db import Base, TZDateTime
from server.ids import BigId, created_at, pk


class SmsMessage(Base):
    """The SMS outbox: written in the same transaction as the change that causes it, then delivered."""

    __tablename__ = "sms_messages"

    id: Mapped[int] = pk()
    mobile: Mapped[str] = mapped_column(String(11), index=True)
    # code | reminder | notice | clinic_stop | prescription_issued | prescription_voided | refund_approved |
    # refund_rejected | slot_unavailable (a paid visit cancelled because it can no longer take place:
    # server/refunds/unservable.py) | drug_refund (a paid prescription's fee refunded at the window) …
    kind: Mapped[str] = mapped_column(String(24))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = created_at()
    sent_at: Mapped[dt.datetime | None] = mapped_column(TZDateTime(), nullable=True)
    provider: Mapped[str] = mapped_column(String(16), default="")
    status: Mapped[str] = mapped_column(String(16), default="queued")  # queued | sent | failed


class SmsCode(Base):
    """A one-time verification code, bound to a number and a purpose.

    Only a keyed digest of the code is stored, so the table (or a backup of it) yields no usable code. A code is
    live while ``used_at`` and ``voided_at`` are empty and ``expires_at`` is ahead; a newer code of the same
    number and purpose voids it, and so do too many wrong tries.
    """

    __tablename__ = "sms_codes"
    __table_args__ = (Index("ix_sms_codes_mobile_purpose_id", "mobile", "purpose", "id"),)

    id: Mapped[int] = pk()
    mobile: Mapped[str] = mapped_column(String(11), index=True)
    # register | login | change_mobile_old | change_mobile_new | change_password | add_patient
    purpose: Mapped[str] = mapped_column(String(24))
    code_hash: Mapped[str] = mapped_column(String(64))
    client: Mapped[str] = mapped_column(String(64), default="", index=True)
    created_at: Mapped[dt.datetime] = mapped_column(TZDateTime(), index=True)
    expires_at: Mapped[dt.datetime] = mapped_column(TZDateTime())
    attempts: Mapped[int] = mapped_column(default=0)
    used_at: Mapped[dt.datetime | None] = mapped_column(TZDateTime(), nullable=True)
    voided_at: Mapped[dt.datetime | None] = mapped_column(TZDateTime(), nullable=True)
    void_reason: Mapped[str] = mapped_column(String(16), default="")  # superseded | attempts
    message_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("sms_messages.id", ondelete="SET NULL"),
                                                   nullable=True)
