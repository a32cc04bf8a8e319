from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, String
from sqlalchemy.orm import Mapped, mapped_column

from server.db import Base
from server.ids import BigId, created_at, pk


class AuditEntry(Base):
    """Append-only, hash-chained: ``hash = sha256(prev_hash || canonical row)``.

    Editing or deleting any row breaks the chain from that row on, which ``clinic-server audit-verify`` reports.
    """

    __tablename__ = "audit_log"

    id: Mapped[int] = pk()
    at: Mapped[dt.datetime] = created_at()
    actor_type: Mapped[str] = mapped_column(String(16))  # account | staff | system | gateway | anonymous
    actor_id: Mapped[int | None] = mapped_column(BigId, nullable=True)
    action: Mapped[str] = mapped_column(String(64))
    object_type: Mapped[str] = mapped_column(String(32), default="")
    object_id: Mapped[int | None] = mapped_column(BigId, nullable=True)
    result: Mapped[str] = mapped_column(String(16), default="ok")  # ok | refused
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    client: Mapped[str] = mapped_column(String(64), default="")
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64), unique=True)
