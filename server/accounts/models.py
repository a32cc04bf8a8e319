from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from server.db import Base, TZDateTime
from server.ids import BigId, created_at, pk


class Account(Base):
    """An account holder (注册用户): the phone number that logs in and holds several patients."""

    __tablename__ = "accounts"

    id: Mapped[int] = pk()
    mobile: Mapped[str] = mapped_column(String(11), unique=True)
    name: Mapped[str] = mapped_column(String(32))
    password_hash: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = created_at()
    active: Mapped[bool] = mapped_column(default=True)


class AccountSession(Base):
    """A login. Only the token's hash is stored; revoked by logout, password change or mobile change."""

    __tablename__ = "account_sessions"

    id: Mapped[int] = pk()
    account_id: Mapped[int] = mapped_column(BigId, ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[dt.datetime] = created_at()
    last_seen_at: Mapped[dt.datetime] = mapped_column(TZDateTime())
    expires_at: Mapped[dt.datetime] = mapped_column(TZDateTime())  # absolute expiry
    revoked_at: Mapped[dt.datetime | None] = mapped_column(TZDateTime(), nullable=True)
    client: Mapped[str] = mapped_column(String(64), default="")


class AccountTicket(Base):
    """Proof that the holder has just passed an SMS check, spent by the step that follows it.

    Changing the mobile number or the password takes two screens (code first, then the new value); the ticket
    carries the first screen's success to the second. Short-lived, single use, stored only as a hash.
    """

    __tablename__ = "account_tickets"

    id: Mapped[int] = pk()
    account_id: Mapped[int] = mapped_column(BigId, ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    purpose: Mapped[str] = mapped_column(String(16))  # change_mobile | change_password
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[dt.datetime] = created_at()
    expires_at: Mapped[dt.datetime] = mapped_column(TZDateTime())
    used_at: Mapped[dt.datetime | None] = mapped_column(TZDateTime(), nullable=True)


class LoginFailure(Base):
    """A failed password login, counted per number to slow down guessing (known and unknown numbers alike)."""

    __tablename__ = "login_failures"

    id: Mapped[int] = pk()
    mobile: Mapped[str] = mapped_column(String(11), index=True)
    client: Mapped[str] = mapped_column(String(64), default="")
    at: Mapped[dt.datetime] = created_at()


class Feedback(Base):
    """意见反馈: what an account holder tells the hospital, in words, pictures or both."""

    __tablename__ = "feedback"

    id: Mapped[int] = pk()
    account_id: Mapped[int] = mapped_column(BigId, ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    text: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[dt.datetime] = created_at()


class FeedbackFile(Base):
    """A picture attached to a feedback, in the order the holder chose."""

    __tablename__ = "feedback_files"

    feedback_id: Mapped[int] = mapped_column(BigId, ForeignKey("feedback.id", ondelete="CASCADE"),
                                             primary_key=True)
    file_id: Mapped[int] = mapped_column(BigId, ForeignKey("files.id"), primary_key=True)
    position: Mapped[int] = mapped_column(default=0)
