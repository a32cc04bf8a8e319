from __future__ import annotations

import datetime as dt

from sqlalchemy import String, Text
from sqlalchemy.orm import Mapped, mapped_column

from server.db import Base, TZDateTime
from server.ids import created_at, pk


class SmsMessage(Base):
    """The SMS outbox: written in the same transaction as the change that causes it, then delivered."""

    __tablename__ = "sms_messages"

    id: Mapped[int] = pk()
    mobile: Mapped[str] = mapped_column(String(11), index=True)
    kind: Mapped[str] = mapped_column(String(24))  # code | reminder | prescription | refund | clinic_stop …
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = created_at()
    sent_at: Mapped[dt.datetime | None] = mapped_column(TZDateTime(), nullable=True)
    provider: Mapped[str] = mapped_column(String(16), default="")
    status: Mapped[str] = mapped_column(String(16), default="queued")  # queued | sent | failed
