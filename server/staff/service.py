"""Staff accounts: login with lockout, sessions, and the admin's account management.

Services take the session as a keyword and never commit; the routes do. The exception is :func:`login`, which
works on the :class:`~server.db.Database` itself: a failed try must be counted and audited although the request
fails (its own transaction), and argon2 must not run while a transaction holds SQLite's write lock.
"""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from sqlalchemy import case, literal, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from server.actor import Actor
from server.audit.service import audit
from server.catalogue.models import Doctor
from server.config import get_settings
from server.db import Database, TZDateTime
from server.errors import AppError, Conflict, Forbidden, NotFound, Unauthorized
from server.events.service import record_change
from server.ids import new_token, token_hash
from server.security import hash_password, needs_rehash, verify_password
from server.staff.models import ROLES, Staff, StaffSession
from server.timeutil import now

USERNAME_PATTERN = "^[a-z][a-z0-9_.-]{2,31}$"
PASSWORD_MIN = 10
PASSWORD_MAX = 128
NAME_MAX = 32

_USERNAME_RX = re.compile(USERNAME_PATTERN.strip("^$"))


# --- rules shared with the request schemas ---------------------------------------------------------------------


def username_problem(username: str) -> str | None:
    if not _USERNAME_RX.fullmatch(username):
        return "用户名须为3-32位小写字母、数字或 _ . -，并以字母开头"
    return None


def password_problem(password: str) -> str | None:
    if len(password) < PASSWORD_MIN:
        return f"密码至少{PASSWORD_MIN}位"
    if len(password) > PASSWORD_MAX:
        return f"密码不能超过{PASSWORD_MAX}位"
    if not any(c.isascii() and c.isalpha() for c in password) or not any(c.isascii() and c.isdigit()
                                                                         for c in password):
        return "密码须同时包含字母和数字"
    if any(not c.isprintable() for c in password):
        return "密码含有无法识别的字符"
    return None


def name_problem(name: str) -> str | None:
    if not name.strip():
        return "请填写姓名"
    if len(name) > NAME_MAX:
        return f"姓名不能超过{NAME_MAX}个字"
    if any(not c.isprintable() for c in name):
        return "姓名含有无法识别的字符"
    return None


def _check(problem: str | None, code: str) -> None:
    if problem:
        raise AppError(code, problem, status=422)


# --- login -----------------------------------------------------------------------------------------------------


def _bad_credentials() -> Unauthorized:
    return Unauthorized("bad_credentials", "用户名或密码错误")


def _locked(until: dt.datetime) -> AppError:
    # shown rounded up to the minute, so "after HH:MM" is never a minute early
    shown = (until + dt.timedelta(seconds=59)).replace(second=0, microsecond=0)
    return AppError("account_locked", f"账号已锁定，请于 {shown:%H:%M} 后重试或联系管理员", status=423,
                    details={"locked_until": until.isoformat()})


@dataclass(frozen=True, slots=True)
class LoginResult:
    token: str
    staff: Staff
    expires_at: dt.datetime


def login(*, db: Database, username: str, password: str, client: str) -> LoginResult:
    """Check the password and open a session, or count the failure (and lock after too many)."""
    settings = get_settings()
    anonymous = Actor("anonymous", client=client)
    with db.session(write=False) as read:
        staff = read.execute(select(Staff).where(Staff.username == username)).scalar_one_or_none()
    # argon2 runs whether or not the user exists, so timing does not tell them apart
    ok = verify_password(staff.password_hash if staff is not None else None, password)
    t = now()
    if staff is None:
        _refused(db, anonymous, None, {"username": username[:32], "reason": "unknown_user"})
        raise _bad_credentials()
    if staff.locked_until is not None and staff.locked_until > t:
        # even the right password is refused until the lock ends
        _refused(db, anonymous, staff.id, {"reason": "locked"})
        raise _locked(staff.locked_until)
    if not ok:
        locked_until = _count_failure(db, staff=staff, actor=anonymous, at=t,
                                      limit=settings.staff_lockout_failures,
                                      lock_for=dt.timedelta(seconds=settings.staff_lockout_s))
        if locked_until is not None:
            raise _locked(locked_until)
        raise _bad_credentials()
    if not staff.active:
        _refused(db, anonymous, staff.id, {"reason": "inactive"})
        raise Forbidden("account_disabled", "账号已停用，请联系管理员")

    token = new_token()
    expires_at = t + dt.timedelta(seconds=settings.staff_session_absolute_s)
    new_hash = hash_password(password) if needs_rehash(staff.password_hash) else None
    with db.transaction() as session:
        # the conditional reset settles a race with a concurrent failure that locked the account meanwhile
        values: dict[str, object] = {"failed_logins": 0, "locked_until": None}
        if new_hash:
            values["password_hash"] = new_hash
        done = session.execute(update(Staff).where(
            Staff.id == staff.id, Staff.active.is_(True),
            or_(Staff.locked_until.is_(None), Staff.locked_until <= t)).values(**values)).rowcount
        if done:
            session.add(StaffSession(staff_id=staff.id, token_hash=token_hash(token), created_at=t, last_seen_at=t,
                                     expires_at=expires_at, client=client[:64]))
            audit(session, actor=Actor("staff", staff.id, role=staff.role, client=client), action="staff.login",
                  object_type="staff", object_id=staff.id)
    if not done:
        with db.session(write=False) as read:
            current = read.get(Staff, staff.id)
        if current is not None and current.locked_until is not None and current.locked_until > t:
            raise _locked(current.locked_until)
        raise Forbidden("account_disabled", "账号已停用，请联系管理员")
    return LoginResult(token=token, staff=staff, expires_at=expires_at)


def _refused(db: Database, actor: Actor, staff_id: int | None, details: dict[str, object]) -> None:
    with db.transaction() as session:
        audit(session, actor=actor, action="staff.login", object_type="staff", object_id=staff_id,
              result="refused", details=details)


def _count_failure(db: Database, *, staff: Staff, actor: Actor, at: dt.datetime, limit: int,
                   lock_for: dt.timedelta) -> dt.datetime | None:
    """Count one wrong password in its own transaction; return the lock's end when the account is locked.

    One conditional UPDATE adds the failure, so concurrent tries each count; the try that reaches the limit
    sets the lock and restarts the count for after it.
    """
    until = at + lock_for
    bumped = Staff.failed_logins + 1
    reached = bumped >= max(1, limit)
    with db.transaction() as session:
        counted = session.execute(
            update(Staff)
            .where(Staff.id == staff.id, or_(Staff.locked_until.is_(None), Staff.locked_until <= at))
            .values(failed_logins=case((reached, 0), else_=bumped),
                    locked_until=case((reached, literal(until, TZDateTime())), else_=Staff.locked_until))
        ).rowcount
        row = session.execute(select(Staff.failed_logins, Staff.locked_until).where(Staff.id == staff.id)).one()
        if not counted:
            # another try locked the account a moment ago
            audit(session, actor=actor, action="staff.login", object_type="staff", object_id=staff.id,
                  result="refused", details={"reason": "locked"})
            return row.locked_until
        if row.failed_logins == 0:
            audit(session, actor=actor, action="staff.login", object_type="staff", object_id=staff.id,
                  result="refused", details={"reason": "bad_password", "failures": limit})
            record_change(session, actor=actor, kind="staff.locked", object_type="staff", object_id=staff.id,
                          topic="admin", payload={"username": staff.username, "locked_until": until.isoformat(),
                                                  "failures": limit})
            return until
        audit(session, actor=actor, action="staff.login", object_type="staff", object_id=staff.id,
              result="refused", details={"reason": "bad_password", "failures": row.failed_logins})
    return None


def logout(session: Session, *, staff: Staff, session_id: int, actor: Actor) -> None:
    session.execute(update(StaffSession).where(StaffSession.id == session_id, StaffSession.revoked_at.is_(None))
                    .values(revoked_at=now()))
    record_change(session, actor=actor, kind="staff.logged_out", object_type="staff", object_id=staff.id,
                  topic="admin", payload={"session_id": session_id})


def revoke_sessions(session: Session, *, staff_id: int) -> int:
    return session.execute(update(StaffSession).where(StaffSession.staff_id == staff_id,
                                                      StaffSession.revoked_at.is_(None))
                           .values(revoked_at=now())).rowcount


# --- administration --------------------------------------------------------------------------------------------


def list_staff(session: Session, *, role: str | None = None, active: bool | None = None) -> list[Staff]:
    q = select(Staff).order_by(Staff.id)
    if role is not None:
        q = q.where(Staff.role == role)
    if active is not None:
        q = q.where(Staff.active.is_(active))
    return list(session.execute(q).scalars())


def get_staff(session: Session, *, staff_id: int) -> Staff:
    staff = session.get(Staff, staff_id)
    if staff is None:
        raise NotFound("员工账号")
    return staff


def create_staff(session: Session, *, username: str, name: str, role: str, password: str,
                 doctor_id: int | None = None, actor: Actor) -> Staff:
    """A new workstation account. A doctor's account is linked to exactly one doctor, and a doctor to at most one
    account, so what a doctor may read follows from the link."""
    name = name.strip()
    _check(username_problem(username), "invalid_username")
    _check(name_problem(name), "invalid_name")
    _check(password_problem(password), "weak_password")
    if role not in ROLES:
        raise AppError("invalid_role", "岗位须为医生、药师、收费员或管理员", status=422)
    if role == "doctor" and doctor_id is None:
        raise AppError("doctor_required", "医生账号必须选择对应的医生", status=422)
    if role != "doctor" and doctor_id is not None:
        raise AppError("doctor_not_allowed", "只有医生账号可以关联医生", status=422)
    password_hash = hash_password(password)
    if session.execute(select(Staff.id).where(Staff.username == username)).scalar() is not None:
        raise Conflict("username_taken", "该用户名已被使用，请换一个")
    if doctor_id is not None:
        if session.get(Doctor, doctor_id) is None:
            raise AppError("doctor_not_found", "所选医生不存在，请刷新医生列表后重试", status=422)
        if session.execute(select(Staff.id).where(Staff.doctor_id == doctor_id)).scalar() is not None:
            raise Conflict("doctor_already_linked", "该医生已有工作站账号，请勿重复创建")
    staff = Staff(username=username, name=name, role=role, password_hash=password_hash, doctor_id=doctor_id,
                  failed_logins=0, active=True, created_at=now())
    session.add(staff)
    try:
        session.flush()
    except IntegrityError:
        # a concurrent request took the username or the doctor first
        raise Conflict("username_taken", "该用户名或医生已有账号，请刷新后重试") from None
    record_change(session, actor=actor, kind="staff.created", object_type="staff", object_id=staff.id,
                  topic="admin", payload={"username": username, "name": name, "role": role, "doctor_id": doctor_id})
    return staff


def update_staff(session: Session, *, staff_id: int, actor: Actor, name: str | None = None,
                 active: bool | None = None, password: str | None = None, unlock: bool = False) -> Staff:
    """Rename, deactivate or reactivate, reset the password, lift a lockout.

    Deactivation and a new password end the account's sessions (and so its event stream). An admin cannot
    deactivate themself, so the hospital is never left without an active admin by accident.
    """
    if name is not None:
        name = name.strip()
        _check(name_problem(name), "invalid_name")
    if password is not None:
        _check(password_problem(password), "weak_password")
    staff = get_staff(session, staff_id=staff_id)
    if active is False and actor.type == "staff" and actor.id == staff.id:
        raise Conflict("cannot_deactivate_self", "不能停用自己的账号，请由其他管理员操作")
    changes: dict[str, object] = {}
    if name is not None and name != staff.name:
        staff.name = name
        changes["name"] = name
    if active is not None and active != staff.active:
        staff.active = active
        changes["active"] = active
        if not active:
            revoke_sessions(session, staff_id=staff.id)
    if password is not None:
        staff.password_hash = hash_password(password)
        changes["password_reset"] = True
        revoke_sessions(session, staff_id=staff.id)
    if (unlock or password is not None) and (staff.locked_until is not None or staff.failed_logins):
        staff.locked_until = None
        staff.failed_logins = 0
        changes["unlocked"] = True
    if changes:
        session.flush()
        record_change(session, actor=actor, kind="staff.updated", object_type="staff", object_id=staff.id,
                      topic="admin", payload=changes)
    return staff
