"""Column helpers shared by every slice's models."""
from __future__ import annotations

import datetime as dt
import hashlib
import secrets

from sqlalchemy import BigInteger, Integer
from sqlalchemy.orm import Mapped, mapped_column

from server.db import TZDateTime
from server.timeutil import now

# BIGINT on PostgreSQL, INTEGER (the rowid alias, so autoincrement works) on SQLite
BigId = BigInteger().with_variant(Integer(), "sqlite")


def pk() -> Mapped[int]:
    return mapped_column(BigId, primary_key=True, autoincrement=True)


def created_at() -> Mapped[dt.datetime]:
    return mapped_column(TZDateTime(), default=now, nullable=False)


def new_token() -> str:
    """An opaque bearer token: 256 random bits."""
    return secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    """Tokens and codes are stored only as hashes; a database leak yields no usable session."""
    return hashlib.sha256(token.encode()).hexdigest()


def order_number(prefix: str, *, tail_bytes: int = 3) -> str:
    """A human-quotable number: prefix, date and time in Shanghai, random tail (e.g. A20261125183012ab12cd).

    Three random bytes keep two numbers of the same second apart for what one request makes; a caller that makes
    hundreds in a second (a clinic stop's refunds: 1,000 in one transaction collided about once in a hundred
    stops) asks for a longer tail."""
    return f"{prefix}{now():%Y%m%d%H%M%S}{secrets.token_hex(tail_bytes)}"
