from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from server.db import Base, TZDateTime
from server.ids import BigId, created_at, pk

ROLES = ("doctor", "pharmacist", "clerk", "admin")


class Staff(Base):
    """A hospital user of the workstation. A doctor's account points at the doctor it is."""

    __tablename__ = "staff"

    id: Mapped[int] = pk()
    username: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(32))
    role: Mapped[str] = mapped_column(String(16))
    password_hash: Mapped[str] = mapped_column(String(200))
    doctor_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("doctors.id"), nullable=True, unique=True)
    failed_logins: Mapped[int] = mapped_column(default=0)
    locked_until: Mapped[dt.datetime | None] = mapped_column(TZDateTime(), nullable=True)
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[dt.datetime] = created_at()


class StaffSession(Base):
    __tablename__ = "staff_sessions"

    id: Mapped[int] = pk()
    staff_id: Mapped[int] = mapped_column(BigId, ForeignKey("staff.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[dt.datetime] = created_at()
    last_seen_at: Mapped[dt.datetime] = mapped_column(TZDateTime())
    expires_at: Mapped[dt.datetime] = mapped_column(TZDateTime())
    revoked_at: Mapped[dt.datetime | None] = mapped_column(TZDateTime(), nullable=True)
    client: Mapped[str] = mapped_column(String(64), default="")
