"""The video visit's rows: call segments, prescription consent requests, and the patient's presence leases."""
from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from server.db import Base, TZDateTime
from server.ids import BigId, created_at, pk

SEGMENT_STATES = ("invited", "connected", "interrupted", "ended")
CONSENT_STATES = ("requested", "consented", "declined")


class CallSegment(Base):
    """One invitation of the patient to the doctor's video call, and the peer connection that followed it.

    Every re-invitation is a new segment (``seq`` 1, 2, …) so the history of a visit's call survives. While a
    segment is ``interrupted``, ``end_reason`` already says why (it keeps that reason when it ends).
    """

    __tablename__ = "call_segments"
    __table_args__ = (
        UniqueConstraint("appointment_id", "seq"),
        # the unanswered-call job reads by (state, invited_at)
        Index("ix_call_segments_state_invited", "state", "invited_at"),
    )

    id: Mapped[int] = pk()
    appointment_id: Mapped[int] = mapped_column(BigId, ForeignKey("appointments.id"))
    seq: Mapped[int] = mapped_column()
    state: Mapped[str] = mapped_column(String(16), default="invited")
    invited_at: Mapped[dt.datetime] = created_at()
    invited_by: Mapped[int] = mapped_column(BigId, ForeignKey("staff.id"))
    connected_at: Mapped[dt.datetime | None] = mapped_column(TZDateTime(), nullable=True)
    interrupted_at: Mapped[dt.datetime | None] = mapped_column(TZDateTime(), nullable=True)
    ended_at: Mapped[dt.datetime | None] = mapped_column(TZDateTime(), nullable=True)
    end_reason: Mapped[str | None] = mapped_column(String(24), nullable=True)
    # the doctor's latest SDP offer (RTCSessionDescriptionInit), so that a reloaded page can still answer it
    offer: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)


class ConsentRequest(Base):
    """The doctor asks the patient to consent to an online prescription (处方知情同意) with a versioned text."""

    __tablename__ = "consent_requests"

    id: Mapped[int] = pk()
    appointment_id: Mapped[int] = mapped_column(BigId, ForeignKey("appointments.id"), index=True)
    version: Mapped[int] = mapped_column()
    state: Mapped[str] = mapped_column(String(16), default="requested")
    requested_at: Mapped[dt.datetime] = created_at()
    requested_by: Mapped[int] = mapped_column(BigId, ForeignKey("staff.id"))
    answered_at: Mapped[dt.datetime | None] = mapped_column(TZDateTime(), nullable=True)
    answered_by: Mapped[int | None] = mapped_column(BigId, ForeignKey("accounts.id"), nullable=True)


class CallPresence(Base):
    """An open patient call stream ("being on the waiting page"), as a lease its stream keeps renewing.

    Rows of a worker that died stop being renewed and stop counting once ``expires_at`` passes; the scheduler
    then removes them (server/video/presence.py).
    """

    __tablename__ = "call_presence"
    __table_args__ = (Index("ix_call_presence_appointment_expires", "appointment_id", "expires_at"),
                      Index("ix_call_presence_expires", "expires_at"))

    id: Mapped[int] = pk()
    appointment_id: Mapped[int] = mapped_column(BigId, ForeignKey("appointments.id"))
    opened_at: Mapped[dt.datetime] = created_at()
    expires_at: Mapped[dt.datetime] = mapped_column(TZDateTime())
