from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from server.db import Base
from server.ids import BigId, created_at, pk


class Event(Base):
    """One state change, in commit order. ``id`` is the stream cursor (SSE ``Last-Event-ID``).

    ``topic`` and ``doctor_id`` decide who may read it: doctors see clinical and prescription events of their own
    patients, pharmacists prescription events, clerks money events, admins all. ``payload`` never carries
    clinical notes for the money topic.
    """

    __tablename__ = "events"
    # the stream's filters read by (topic, id) and (doctor_id, id); retention prunes by time
    __table_args__ = (
        Index("ix_events_topic_id", "topic", "id"),
        Index("ix_events_doctor_id_id", "doctor_id", "id"),
        Index("ix_events_at", "at"),
    )

    id: Mapped[int] = pk()
    at: Mapped[dt.datetime] = created_at()
    kind: Mapped[str] = mapped_column(String(64))  # e.g. appointment.checked_in
    topic: Mapped[str] = mapped_column(String(16))  # clinical | prescription | money | admin
    object_type: Mapped[str] = mapped_column(String(32))
    object_id: Mapped[int] = mapped_column(BigId)
    doctor_id: Mapped[int | None] = mapped_column(BigId, nullable=True)
    account_id: Mapped[int | None] = mapped_column(BigId, nullable=True, index=True)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
