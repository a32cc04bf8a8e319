"""``clinic-server sms-outbox``: what the development SMS provider "sent", as a table for a terminal."""
from __future__ import annotations

import sys
import unicodedata

from sqlalchemy import select

from server.db import get_db
from server.sms.models import SmsMessage


def _width(text: str) -> int:
    """Columns a string takes in a terminal: Chinese characters take two."""
    return sum(2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1 for ch in text)


def _pad(text: str, width: int) -> str:
    return text + " " * max(0, width - _width(text))


def run(*, mobile: str | None, limit: int) -> int:
    if limit < 1:
        print("--limit must be at least 1", file=sys.stderr)
        return 2
    q = select(SmsMessage).order_by(SmsMessage.id.desc()).limit(limit)
    if mobile:
        q = q.where(SmsMessage.mobile == mobile)
    with get_db().session(write=False) as session:
        rows = list(session.execute(q).scalars())
    if not rows:
        print(f"no messages{f' to {mobile}' if mobile else ''}")
        return 0
    header = ("id", "time", "mobile", "kind", "status", "message")
    table = [(str(m.id), f"{m.created_at:%Y-%m-%d %H:%M:%S}", m.mobile, m.kind, m.status,
              " ".join(m.body.split())) for m in rows]
    widths = [max(_width(r[i]) for r in (header, *table)) for i in range(len(header) - 1)]
    for r in (header, *table):
        print("  ".join(_pad(c, w) for c, w in zip(r, widths, strict=False)) + "  " + r[-1])
    return 0
