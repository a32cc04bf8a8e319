"""Request dependencies: the database session, the caller, role checks.

``SessionDep`` gives a session whose transaction is a writer (``BEGIN IMMEDIATE`` on SQLite) for every method but
GET/HEAD. Services take it as ``session=`` and the route commits explicitly, so an error raised anywhere before
the commit leaves the database untouched.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from server.accounts.models import Account, AccountSession
from server.actor import Actor
from server.config import Settings, get_settings
from server.db import Database, get_db
from server.errors import Forbidden, Unauthorized
from server.ids import token_hash
from server.staff.models import Staff, StaffSession
from server.timeutil import now

TOUCH_EVERY = dt.timedelta(seconds=60)

bearer = HTTPBearer(auto_error=False, description="Session token from a login route")


def db_dep() -> Database:
    return get_db()


DbDep = Annotated[Database, Depends(db_dep)]
SettingsDep = Annotated[Settings, Depends(get_settings)]


def session_dep(request: Request, db: DbDep) -> Iterator[Session]:
    write = request.method not in ("GET", "HEAD", "OPTIONS")
    session = db.session(write=write)
    try:
        yield session
    finally:
        session.close()


SessionDep = Annotated[Session, Depends(session_dep)]


def client_address(request: Request) -> str:
    return request.client.host if request.client else ""


ClientDep = Annotated[str, Depends(client_address)]


def _token(creds: HTTPAuthorizationCredentials | None) -> str:
    if creds is None or creds.scheme.lower() != "bearer" or not creds.credentials:
        raise Unauthorized()
    return creds.credentials


def _live(row: AccountSession | StaffSession | None, idle: int) -> bool:
    if row is None or row.revoked_at is not None:
        return False
    t = now()
    return t < row.expires_at and t - row.last_seen_at < dt.timedelta(seconds=idle)


def _touch_due(row: AccountSession | StaffSession, idle: int) -> bool:
    """Refresh ``last_seen_at`` at most once a minute, but often enough that activity keeps a short idle
    timeout from expiring (a quarter of it)."""
    return now() - row.last_seen_at > min(TOUCH_EVERY, dt.timedelta(seconds=idle / 4))


def _touch(session: Session, db: Database, model: type[AccountSession] | type[StaffSession],
           row_id: int) -> None:
    # End the request session's read first: on SQLite a writer request already holds the write lock
    # (BEGIN IMMEDIATE), so a second write transaction would wait on it until the busy timeout.
    session.commit()
    with db.transaction() as s:
        s.execute(update(model).where(model.id == row_id).values(last_seen_at=now()))


@dataclass(frozen=True, slots=True)
class AccountCtx:
    account: Account
    session_id: int
    actor: Actor


@dataclass(frozen=True, slots=True)
class StaffCtx:
    staff: Staff
    session_id: int
    actor: Actor

    @property
    def role(self) -> str:
        return self.staff.role


def current_account(request: Request, session: SessionDep, db: DbDep, settings: SettingsDep,
                    creds: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]) -> AccountCtx:
    row = session.execute(select(AccountSession).where(AccountSession.token_hash == token_hash(_token(creds)))
                          ).scalar_one_or_none()
    if not _live(row, settings.session_idle_s):
        raise Unauthorized("session_expired", "登录已失效，请重新登录")
    account = session.get(Account, row.account_id)
    if account is None or not account.active:
        raise Unauthorized("session_expired", "登录已失效，请重新登录")
    # End the look-up's transaction: on SQLite a writer request's first query took the write lock (BEGIN
    # IMMEDIATE), and holding it while the route waits for a worker thread deadlocks under load.
    session.commit()
    if _touch_due(row, settings.session_idle_s):
        _touch(session, db, AccountSession, row.id)
    return AccountCtx(account, row.id, Actor("account", account.id, client=client_address(request)))


def current_staff(request: Request, session: SessionDep, db: DbDep, settings: SettingsDep,
                  creds: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]) -> StaffCtx:
    row = session.execute(select(StaffSession).where(StaffSession.token_hash == token_hash(_token(creds)))
                          ).scalar_one_or_none()
    if not _live(row, settings.staff_session_idle_s):
        raise Unauthorized("session_expired", "登录已超时，请重新登录")
    staff = session.get(Staff, row.staff_id)
    if staff is None or not staff.active:
        raise Unauthorized("session_expired", "登录已超时，请重新登录")
    # End the look-up's transaction: on SQLite a writer request's first query took the write lock (BEGIN
    # IMMEDIATE), and holding it while the route waits for a worker thread deadlocks under load.
    session.commit()
    if _touch_due(row, settings.staff_session_idle_s):
        _touch(session, db, StaffSession, row.id)
    return StaffCtx(staff, row.id, Actor("staff", staff.id, role=staff.role, client=client_address(request)))


CurrentAccount = Annotated[AccountCtx, Depends(current_account)]
CurrentStaff = Annotated[StaffCtx, Depends(current_staff)]


def require_roles(*roles: str) -> Callable[[StaffCtx], StaffCtx]:
    def check(ctx: CurrentStaff) -> StaffCtx:
        if ctx.staff.role not in roles:
            raise Forbidden("role_forbidden", "您的岗位无权执行此操作")
        return ctx

    return check


DoctorStaff = Annotated[StaffCtx, Depends(require_roles("doctor"))]
AdminStaff = Annotated[StaffCtx, Depends(require_roles("admin"))]
ClerkStaff = Annotated[StaffCtx, Depends(require_roles("clerk", "admin"))]
PharmacistStaff = Annotated[StaffCtx, Depends(require_roles("pharmacist", "admin"))]
