from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, String
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
