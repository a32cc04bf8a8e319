"""One-time SMS verification codes: issue, throttle, check.

Rules (seed 2.1, 2.2, 2.6): six random digits, valid for ``sms_code_ttl_s``, single use, bound to a number
and a purpose. One code per number and purpose per ``sms_resend_interval_s``; at most
``sms_hourly_cap_per_mobile`` codes an hour to a number and ``sms_hourly_cap_per_client`` from one client
address, so nobody can use the hospital to flood a phone. ``sms_max_attempts`` wrong tries void a code; a
newer code voids the older ones of its purpose.

Only a keyed digest (HMAC-SHA256 over number, purpose and code) is stored: with a million possible codes a plain
hash would be reversed in a moment, the key keeps a leaked table useless.
"""
from __future__ import annotations

import datetime as dt
import functools
import hashlib
import hmac
import math
import secrets

from sqlalchemy import delete, func, select, text, update
from sqlalchemy.orm import Session

from server.config import get_settings
from server.errors import AppError, TooMany
from server.sms.models import SmsCode
from server.sms.service import send_sms
from server.timeutil import now

PURPOSES = ("register", "login", "change_mobile_old", "change_mobile_new", "change_password", "add_patient")

HOUR = dt.timedelta(hours=1)
# rows older than this are no longer needed by any rule (the hourly caps look back one hour)
KEEP = dt.timedelta(days=1)


@functools.cache
def _key(raw: bytes) -> bytes:
    return hmac.new(raw, b"clinic:sms-code", hashlib.sha256).digest()


def code_digest(*, mobile: str, purpose: str, code: str) -> str:
    key = _key(get_settings().encryption_key_bytes())
    return hmac.new(key, f"{mobile}|{purpose}|{code}".encode(), hashlib.sha256).hexdigest()


def _duration(seconds: int) -> str:
    if seconds % 60 == 0:
        return f"{seconds // 60}分钟"
    return f"{seconds}秒"


def _wait_text(seconds: int) -> str:
    if seconds <= 90:
        return f"{seconds}秒"
    return f"{math.ceil(seconds / 60)}分钟"


def code_body(code: str) -> str:
    s = get_settings()
    return f"【{s.hospital_name}】您的验证码为{code}，{_duration(s.sms_code_ttl_s)}内有效。请勿泄露。"


def _lock_number(session: Session, mobile: str) -> None:
    """Serialise code requests for one number, so two at once cannot both pass the resend check.

    SQLite writers already hold the database's single write lock; PostgreSQL takes a transaction-scoped
    advisory lock keyed by the number.
    """
    if session.get_bind().dialect.name == "postgresql":
        key = int.from_bytes(hashlib.sha256(f"sms:{mobile}".encode()).digest()[:8], "big", signed=True)
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": key})


def _seconds_until(moment: dt.datetime, t: dt.datetime) -> int:
    return max(1, math.ceil((moment - t).total_seconds()))


def issue_code(session: Session, *, mobile: str, purpose: str, client: str) -> SmsCode:
    """Create a code and queue its SMS in the caller's transaction, or refuse with 429 when throttled.

    The caller has already decided the number may receive a code for this purpose (registered or not, …).
    """
    if purpose not in PURPOSES:
        raise ValueError(f"unknown SMS code purpose: {purpose}")
    s = get_settings()
    client = client[:64]
    _lock_number(session, mobile)
    t = now()

    last = session.execute(select(SmsCode.created_at).where(SmsCode.mobile == mobile, SmsCode.purpose == purpose)
                           .order_by(SmsCode.id.desc()).limit(1)).scalar()
    if last is not None and t - last < dt.timedelta(seconds=s.sms_resend_interval_s):
        wait = _seconds_until(last + dt.timedelta(seconds=s.sms_resend_interval_s), t)
        raise TooMany("sms_too_frequent", f"验证码发送过于频繁，请{wait}秒后再试",
                      details={"retry_after_s": wait})

    since = t - HOUR
    count, oldest = session.execute(select(func.count(), func.min(SmsCode.created_at))
                                    .where(SmsCode.mobile == mobile, SmsCode.created_at > since)).one()
    if count >= s.sms_hourly_cap_per_mobile:
        wait = _seconds_until(oldest + HOUR, t) if oldest else 3600
        raise TooMany("sms_hourly_cap", f"该手机号获取验证码次数过多，请{_wait_text(wait)}后再试",
                      details={"retry_after_s": wait, "scope": "mobile"})
    if client:
        count, oldest = session.execute(select(func.count(), func.min(SmsCode.created_at))
                                        .where(SmsCode.client == client, SmsCode.created_at > since)).one()
        if count >= s.sms_hourly_cap_per_client:
            wait = _seconds_until(oldest + HOUR, t) if oldest else 3600
            raise TooMany("sms_hourly_cap", f"当前网络获取验证码次数过多，请{_wait_text(wait)}后再试",
                          details={"retry_after_s": wait, "scope": "client"})

    # a newer code replaces the older ones: only the last SMS the person received works
    session.execute(update(SmsCode).where(SmsCode.mobile == mobile, SmsCode.purpose == purpose,
                                          SmsCode.used_at.is_(None), SmsCode.voided_at.is_(None))
                    .values(voided_at=t, void_reason="superseded"))
    session.execute(delete(SmsCode).where(SmsCode.created_at < t - KEEP))

    code = f"{secrets.randbelow(10**6):06d}"
    message = send_sms(session, mobile=mobile, kind="code", body=code_body(code))
    digest = code_digest(mobile=mobile, purpose=purpose, code=code)
    row = SmsCode(mobile=mobile, purpose=purpose, code_hash=digest, client=client, created_at=t,
                  expires_at=t + dt.timedelta(seconds=s.sms_code_ttl_s), message_id=message.id)
    session.add(row)
    session.flush()
    return row


def _invalid(message: str, **details: object) -> AppError:
    return AppError("code_invalid", message, status=400, details=details or None)


def _voided() -> AppError:
    return AppError("code_voided", "验证码错误次数过多，已失效，请重新获取", status=400)


def consume_code(session: Session, *, mobile: str, purpose: str, code: str) -> None:
    """Spend the live code of ``mobile`` and ``purpose`` if ``code`` matches it; otherwise raise ``AppError``.

    A wrong code must count even though the request fails, and the request's transaction is rolled back on
    failure. So on a wrong code this function rolls the caller's transaction back itself, records the attempt in
    a fresh transaction on the same session and commits it, then raises. Using the same session (not a second
    connection) matters on SQLite, whose single write lock the caller's transaction already holds. Anything the
    caller wrote before the call is discarded on a wrong code, as it would be by the failing request anyway.
    """
    row = session.execute(select(SmsCode).where(SmsCode.mobile == mobile, SmsCode.purpose == purpose)
                          .order_by(SmsCode.id.desc()).limit(1)).scalar_one_or_none()
    if row is None:
        raise _invalid("验证码不正确，请先获取验证码")
    if row.used_at is not None:
        raise _invalid("验证码已使用，请重新获取")
    if row.voided_at is not None:
        raise _voided()
    t = now()
    if t >= row.expires_at:
        raise AppError("code_expired", "验证码已过期，请重新获取", status=400)

    expected = row.code_hash
    given = code_digest(mobile=mobile, purpose=purpose, code=code)
    if not hmac.compare_digest(expected, given):
        raise _count_wrong_try(session, code_id=row.id)

    spent = session.execute(update(SmsCode).where(SmsCode.id == row.id, SmsCode.used_at.is_(None),
                                                  SmsCode.voided_at.is_(None))
                            .values(used_at=t)).rowcount
    if spent != 1:  # a concurrent request spent or voided it first
        raise _invalid("验证码已使用，请重新获取")


def _count_wrong_try(session: Session, *, code_id: int) -> AppError:
    """Record one wrong try in its own committed transaction; return the error to raise."""
    max_attempts = get_settings().sms_max_attempts
    session.rollback()
    session.execute(update(SmsCode).where(SmsCode.id == code_id).values(attempts=SmsCode.attempts + 1))
    attempts = session.execute(select(SmsCode.attempts).where(SmsCode.id == code_id)).scalar_one()
    if attempts >= max_attempts:
        session.execute(update(SmsCode).where(SmsCode.id == code_id, SmsCode.voided_at.is_(None))
                        .values(voided_at=now(), void_reason="attempts"))
    session.commit()
    if attempts >= max_attempts:
        return _voided()
    left = max_attempts - attempts
    return _invalid(f"验证码不正确，还可尝试{left}次", remaining_attempts=left)
