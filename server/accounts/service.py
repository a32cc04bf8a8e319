"""Account holders: registration, login, sessions, personal-centre changes, feedback (seed 2.1 and 2.6).

Services take the session as a keyword and never commit; the routes do. The exceptions are the password login
(:func:`login_with_password`), which records a failure even though the request fails and must not hold the
database's write lock while argon2 runs, and :func:`server.sms.codes.consume_code`, which commits a wrong try.
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from server.accounts.models import (
    Account,
    AccountSession,
    AccountTicket,
    Feedback,
    FeedbackFile,
    LoginFailure,
)
from server.actor import Actor
from server.audit.service import audit
from server.config import get_settings
from server.db import Database
from server.errors import AppError, Conflict, TooMany, Unauthorized
from server.events.service import record_change
from server.files.models import StoredFile
from server.ids import new_token, token_hash
from server.security import hash_password, needs_rehash, verify_password
from server.sms.codes import consume_code, issue_code
from server.sms.models import SmsCode
from server.sms.service import send_sms
from server.timeutil import now

TICKET_TTL = dt.timedelta(minutes=10)
# password guessing: this many failures for one number within the window refuse further tries
LOGIN_MAX_FAILURES = 10
LOGIN_FAILURE_WINDOW = dt.timedelta(minutes=15)

# the SMS purpose whose code earns each ticket
TICKET_CODE_PURPOSE = {"change_mobile": "change_mobile_old", "change_password": "change_password"}


def mask_mobile(mobile: str) -> str:
    return f"{mobile[:3]}****{mobile[-4:]}" if len(mobile) == 11 else "****"


def account_by_mobile(session: Session, *, mobile: str) -> Account | None:
    return session.execute(select(Account).where(Account.mobile == mobile)).scalar_one_or_none()


def _registered() -> Conflict:
    return Conflict("mobile_registered", "手机号已注册请直接登录")


def _password_mismatch() -> AppError:
    return AppError("password_mismatch", "两次输入的密码不一致", status=422)


# --- codes -----------------------------------------------------------------------------------------------


def request_public_code(session: Session, *, mobile: str, purpose: str, client: str) -> SmsCode:
    """A code for someone not logged in: to register a new number, or to log in with a registered one."""
    account = account_by_mobile(session, mobile=mobile)
    if purpose == "register" and account is not None:
        raise _registered()
    if purpose == "login" and (account is None or not account.active):
        raise AppError("mobile_not_registered", "该手机号尚未注册，请先注册", status=404)
    return issue_code(session, mobile=mobile, purpose=purpose, client=client)


def request_account_code(session: Session, *, account: Account, purpose: str, mobile: str | None,
                         client: str) -> SmsCode:
    """A code for a logged-in holder. Only the new number of a mobile change can be a number other than
    the registered one, and only after the registered number has passed its own check (a live ticket), so an
    account cannot be used to send codes to arbitrary phones."""
    if purpose != "change_mobile_new":
        if mobile is not None and mobile != account.mobile:
            raise AppError("mobile_mismatch", "请填写注册时使用的手机号", status=422)
        return issue_code(session, mobile=account.mobile, purpose=purpose, client=client)
    if mobile is None:
        raise AppError("mobile_required", "请填写新的手机号码", status=422)
    if mobile == account.mobile:
        raise AppError("mobile_unchanged", "新手机号不能与当前手机号相同", status=422)
    live = session.execute(select(AccountTicket.id).where(
        AccountTicket.account_id == account.id, AccountTicket.purpose == "change_mobile",
        AccountTicket.used_at.is_(None), AccountTicket.expires_at > now()).limit(1)).scalar()
    if live is None:
        raise AppError("verification_required", "请先验证当前手机号，再获取新手机号的验证码", status=409)
    if account_by_mobile(session, mobile=mobile) is not None:
        raise Conflict("mobile_registered", "该手机号已注册，请更换其他手机号")
    return issue_code(session, mobile=mobile, purpose=purpose, client=client)


# --- sessions ----------------------------------------------------------------------------------------------


def open_session(session: Session, *, account: Account, client: str) -> str:
    """Create a login and return its bearer token; only the token's hash is kept."""
    s = get_settings()
    t = now()
    token = new_token()
    session.add(AccountSession(account_id=account.id, token_hash=token_hash(token), created_at=t, last_seen_at=t,
                               expires_at=t + dt.timedelta(seconds=s.session_absolute_s), client=client[:64]))
    session.flush()
    return token


def revoke_sessions(session: Session, *, account_id: int, keep_session_id: int | None = None) -> int:
    q = update(AccountSession).where(AccountSession.account_id == account_id,
                                     AccountSession.revoked_at.is_(None))
    if keep_session_id is not None:
        q = q.where(AccountSession.id != keep_session_id)
    return session.execute(q.values(revoked_at=now())).rowcount


def logout(session: Session, *, account: Account, session_id: int, actor: Actor) -> None:
    session.execute(update(AccountSession).where(AccountSession.id == session_id,
                                                 AccountSession.revoked_at.is_(None)).values(revoked_at=now()))
    record_change(session, actor=actor, kind="account.logged_out", object_type="account", object_id=account.id,
                  topic="admin", account_id=account.id, payload={"session_id": session_id})


# --- registration and login ----------------------------------------------------------------------------------


def register(session: Session, *, mobile: str, code: str, password: str, password_confirm: str, name: str,
             client: str) -> tuple[Account, str]:
    """Create the account and log it in. One number, one account: the unique constraint settles a race."""
    if password != password_confirm:
        raise _password_mismatch()
    # argon2 before the first query, so the write lock is not held while it runs
    password_hash = hash_password(password)
    if account_by_mobile(session, mobile=mobile) is not None:
        raise _registered()
    try:
        consume_code(session, mobile=mobile, purpose="register", code=code)
    except AppError:
        # a concurrent registration of the same number may have spent the code first
        if account_by_mobile(session, mobile=mobile) is not None:
            raise _registered() from None
        raise
    account = Account(mobile=mobile, name=name, password_hash=password_hash, created_at=now())
    session.add(account)
    try:
        session.flush()
    except IntegrityError:
        session.rollback()
        raise _registered() from None
    actor = Actor("account", account.id, client=client)
    record_change(session, actor=actor, kind="account.registered", object_type="account", object_id=account.id,
                  topic="admin", account_id=account.id, payload={"mobile": mask_mobile(mobile)})
    token = open_session(session, account=account, client=client)
    return account, token


def login_with_code(session: Session, *, mobile: str, code: str, client: str) -> tuple[Account, str]:
    account = account_by_mobile(session, mobile=mobile)
    if account is None or not account.active:
        raise AppError("mobile_not_registered", "该手机号尚未注册，请先注册", status=404)
    consume_code(session, mobile=mobile, purpose="login", code=code)
    token = open_session(session, account=account, client=client)
    audit(session, actor=Actor("account", account.id, client=client), action="account.login",
          object_type="account", object_id=account.id, details={"method": "sms"})
    return account, token


def record_refused_login(session: Session, *, mobile: str, method: str, reason: str, client: str) -> None:
    """Audit a refused login in its own transaction on the request's session (the refused one is dropped)."""
    session.rollback()
    audit(session, actor=Actor("anonymous", None, client=client), action="account.login", object_type="account",
          result="refused", details={"method": method, "mobile": mobile, "reason": reason})
    session.commit()


def _bad_credentials() -> Unauthorized:
    return Unauthorized("bad_credentials", "手机号或密码错误")


def login_with_password(db: Database, *, mobile: str, password: str, client: str) -> tuple[Account, str]:
    """Check the password outside any write transaction; count failures per number, known or not.

    An unknown number and a wrong password answer alike and take the same time (argon2 runs either way), so
    the login form does not tell which numbers are registered.
    """
    anonymous = Actor("anonymous", None, client=client)
    t = now()
    with db.session(write=False) as s:
        failures = s.execute(select(func.count()).where(LoginFailure.mobile == mobile,
                                                        LoginFailure.at > t - LOGIN_FAILURE_WINDOW)).scalar_one()
        account = account_by_mobile(s, mobile=mobile)
    if failures >= LOGIN_MAX_FAILURES:
        with db.transaction() as s:
            audit(s, actor=anonymous, action="account.login", object_type="account", result="refused",
                  details={"method": "password", "mobile": mobile, "reason": "too_many_failures"})
        minutes = int(LOGIN_FAILURE_WINDOW.total_seconds() // 60)
        raise TooMany("too_many_failures", f"密码错误次数过多，请{minutes}分钟后再试，或使用验证码登录",
                      details={"retry_after_s": int(LOGIN_FAILURE_WINDOW.total_seconds())})
    usable = account is not None and account.active
    ok = verify_password(account.password_hash if usable else None, password)
    if not ok:
        with db.transaction() as s:
            # rows older than the window count for nothing any more, whichever number they name
            s.execute(delete(LoginFailure).where(LoginFailure.at < t - LOGIN_FAILURE_WINDOW))
            s.add(LoginFailure(mobile=mobile, client=client[:64], at=t))
            audit(s, actor=anonymous, action="account.login", object_type="account", result="refused",
                  details={"method": "password", "mobile": mobile, "reason": "bad_credentials"})
        raise _bad_credentials()
    assert account is not None
    with db.transaction() as s:
        account = s.get(Account, account.id)
        if account is None or not account.active:
            raise _bad_credentials()
        if needs_rehash(account.password_hash):
            account.password_hash = hash_password(password)
        s.execute(delete(LoginFailure).where(LoginFailure.mobile == mobile))
        token = open_session(s, account=account, client=client)
        audit(s, actor=Actor("account", account.id, client=client), action="account.login",
              object_type="account", object_id=account.id, details={"method": "password"})
    return account, token


# --- tickets: an SMS check carried to the next screen ------------------------------------------------------


def issue_ticket(session: Session, *, account: Account, purpose: str, code: str) -> str:
    """Check the code sent to the registered number and hand out a ticket for the next step."""
    consume_code(session, mobile=account.mobile, purpose=TICKET_CODE_PURPOSE[purpose], code=code)
    t = now()
    # one live ticket per purpose: an older one is spent by the newer check; expired ones are dropped
    session.execute(delete(AccountTicket).where(AccountTicket.account_id == account.id,
                                                AccountTicket.expires_at < t))
    session.execute(update(AccountTicket)
                    .where(AccountTicket.account_id == account.id, AccountTicket.purpose == purpose,
                           AccountTicket.used_at.is_(None))
                    .values(used_at=t))
    ticket = new_token()
    session.add(AccountTicket(account_id=account.id, purpose=purpose, token_hash=token_hash(ticket),
                              created_at=t, expires_at=t + TICKET_TTL))
    session.flush()
    return ticket


def _ticket_invalid() -> AppError:
    return AppError("ticket_invalid", "验证已失效，请重新获取验证码验证", status=400)


def _live_ticket(session: Session, *, account: Account, purpose: str, ticket: str) -> AccountTicket:
    row = session.execute(select(AccountTicket).where(AccountTicket.token_hash == token_hash(ticket))
                          ).scalar_one_or_none()
    if (row is None or row.account_id != account.id or row.purpose != purpose or row.used_at is not None
            or row.expires_at <= now()):
        raise _ticket_invalid()
    return row


def _spend_ticket(session: Session, *, ticket_id: int) -> None:
    spent = session.execute(update(AccountTicket).where(AccountTicket.id == ticket_id,
                                                        AccountTicket.used_at.is_(None))
                            .values(used_at=now())).rowcount
    if spent != 1:
        raise _ticket_invalid()


# --- personal centre -------------------------------------------------------------------------------------------


def change_mobile(session: Session, *, account: Account, session_id: int, ticket: str, new_mobile: str,
                  code: str, actor: Actor) -> Account:
    """Move the account to a new number; every other login of the account ends, the old number is told."""
    row = _live_ticket(session, account=account, purpose="change_mobile", ticket=ticket)
    if new_mobile == account.mobile:
        raise AppError("mobile_unchanged", "新手机号不能与当前手机号相同", status=422)
    if account_by_mobile(session, mobile=new_mobile) is not None:
        raise Conflict("mobile_registered", "该手机号已注册，请更换其他手机号")
    ticket_id, account_id = row.id, account.id
    consume_code(session, mobile=new_mobile, purpose="change_mobile_new", code=code)
    _spend_ticket(session, ticket_id=ticket_id)
    account = session.get(Account, account_id)
    assert account is not None
    old = account.mobile
    account.mobile = new_mobile
    try:
        session.flush()
    except IntegrityError:
        session.rollback()
        raise Conflict("mobile_registered", "该手机号已注册，请更换其他手机号") from None
    revoke_sessions(session, account_id=account.id, keep_session_id=session_id)
    hospital = get_settings().hospital_name
    send_sms(session, mobile=old, kind="notice",
             body=f"【{hospital}】您的账号已改为使用手机号{mask_mobile(new_mobile)}登录。如非本人操作，请立即联系医院。")
    record_change(session, actor=actor, kind="account.mobile_changed", object_type="account",
                  object_id=account.id, topic="admin", account_id=account.id,
                  payload={"old_mobile": mask_mobile(old), "new_mobile": mask_mobile(new_mobile)})
    return account


def change_password(session: Session, *, account: Account, session_id: int, ticket: str, password: str,
                    password_confirm: str, actor: Actor) -> None:
    """Set a new password; every other login of the account ends (a thief's session with it)."""
    if password != password_confirm:
        raise _password_mismatch()
    row = _live_ticket(session, account=account, purpose="change_password", ticket=ticket)
    _spend_ticket(session, ticket_id=row.id)
    account.password_hash = hash_password(password)
    revoked = revoke_sessions(session, account_id=account.id, keep_session_id=session_id)
    session.execute(delete(LoginFailure).where(LoginFailure.mobile == account.mobile))
    record_change(session, actor=actor, kind="account.password_changed", object_type="account",
                  object_id=account.id, topic="admin", account_id=account.id,
                  payload={"sessions_revoked": revoked})


def create_feedback(session: Session, *, account: Account, text: str, file_ids: list[int],
                    actor: Actor) -> tuple[Feedback, list[int]]:
    """Keep the holder's words and pictures. Pictures must be their own uploads made for feedback; any other
    id is refused exactly like an absent one."""
    if file_ids:
        owned = set(session.execute(select(StoredFile.id).where(
            StoredFile.id.in_(file_ids), StoredFile.account_id == account.id,
            StoredFile.purpose == "feedback")).scalars())
        if owned != set(file_ids):
            raise AppError("file_not_found", "图片不存在或已失效，请重新上传", status=404)
    feedback = Feedback(account_id=account.id, text=text, created_at=now())
    session.add(feedback)
    session.flush()
    session.add_all(FeedbackFile(feedback_id=feedback.id, file_id=fid, position=i)
                    for i, fid in enumerate(file_ids))
    session.flush()
    record_change(session, actor=actor, kind="feedback.created", object_type="feedback", object_id=feedback.id,
                  topic="admin", account_id=account.id, payload={"files": len(file_ids)})
    return feedback, list(file_ids)


def list_feedback(session: Session, *, account: Account, limit: int = 100) -> list[tuple[Feedback, list[int]]]:
    rows = list(session.execute(select(Feedback).where(Feedback.account_id == account.id)
                                .order_by(Feedback.id.desc()).limit(limit)).scalars())
    files: dict[int, list[int]] = {r.id: [] for r in rows}
    if rows:
        for fb_id, file_id in session.execute(select(FeedbackFile.feedback_id, FeedbackFile.file_id)
                                              .where(FeedbackFile.feedback_id.in_(files))
                                              .order_by(FeedbackFile.feedback_id, FeedbackFile.position)):
            files[fb_id].append(file_id)
    return [(r, files[r.id]) for r in rows]
