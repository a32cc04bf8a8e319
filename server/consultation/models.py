"""The doctor's workstation: clinic stops (停诊). The visit record itself lives on the appointment row."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import CheckConstraint, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from server.db import Base, TZDateTime
from server.ids import BigId, created_at, pk


class ClinicStop(Base):
    """A declared stop of a doctor's online clinic over a period (seed 2.5.3): the slots in it were
    stopped and the appointments on them cancelled by the hospital and refunded."""

    __tablename__ = "clinic_stops"
    __table_args__ = (
        CheckConstraint("starts_at < ends_at", name="period_ordered"),
        Index("ix_clinic_stops_doctor_start", "doctor_id", "starts_at"),
    )

    id: Mapped[int] = pk()
    doctor_id: Mapped[int] = mapped_column(BigId, ForeignKey("doctors.id"))
    starts_at: Mapped[dt.datetime] = mapped_column(TZDateTime())
    ends_at: Mapped[dt.datetime] = mapped_column(TZDateTime())
    reason: Mapped[str] = mapped_column(String(200))
    declared_by: Mapped[int] = mapped_column(BigId, ForeignKey("staff.id"))
    stopped_slots: Mapped[int] = mapped_column(default=0)
    cancelled_appointments: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[dt.datetime] = created_at()
