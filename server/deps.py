"""Request dependencies: the database session, the caller, role checks.

``SessionDep`` gives a session whose transaction is a writer (``BEGIN IMMEDIATE`` on SQLite) for every method but
GET/HEAD. Services take it as ``session=`` and the route commits explicitly, so an error raised anywhere before
the commit leaves the database untouched.

The dependencies that do no I/O are ``async``: FastAPI runs a plain ``def`` dependency on the thread pool, and each
such hop costs a thread hand-over and an event-loop wake-up on every request.
"""
from __future__ import annotations

import asyncio
import datetime as dt
import logging
import threading
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Annotated, Any

import anyio
from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import Row, bindparam, select, update
from sqlalchemy.orm import Session

from server.accounts.models import Account, AccountSession
from server.actor import Actor
from server.cache import ChangeCache
from server.config import Settings, get_settings
from server.db import Database, begin_read, get_db
from server.errors import Forbidden, Unauthorized
from server.ids import token_hash
from server.staff.models import Staff, StaffSession
from server.timeutil import now

TOUCH_EVERY = dt.timedelta(seconds=60)

bearer = HTTPBearer(auto_error=False, description="Session token from a login route")


async def db_dep() -> Database:
    return get_db()


async def settings_dep() -> Settings:
    return get_settings()


DbDep = Annotated[Database, Depends(db_dep)]
SettingsDep = Annotated[Settings, Depends(settings_dep)]


# Closing a session that still has a transaction open (a read, or a write abandoned by an error) rolls it back.
# On SQLite that is a local call of microseconds, cheaper than a thread hop; on PostgreSQL a round trip, so on a
# thread, but never queued behind the route threads (they may be waiting for a lock this very session holds).
_closers = anyio.CapacityLimiter(8)


# Token look-ups and the catalogue's cache fills (short reads) run on threads of their own, handed over with
# asyncio's executor: anyio's thread hand-over (what FastAPI uses for plain ``def`` routes) costs the event loop
# several times as much, and the loop is what a busy worker runs out of first (profiled: 80 % of a booking's GIL
# time is on the loop thread). Their own threads also keep them from queueing behind routes that wait for the
# SQLite write lock.
_readers = ThreadPoolExecutor(max_workers=8, thread_name_prefix="reader")


async def in_read_thread(fn: Callable[..., Any], *args: Any) -> Any:
    """Run a short read-only ``fn(*args)`` on a reader thread."""
    return await asyncio.get_running_loop().run_in_executor(_readers, fn, *args)


async def session_dep(request: Request) -> AsyncIterator[Session]:
    # get_db() directly rather than through DbDep: every sub-dependency costs FastAPI's solver time on each request
    db = get_db()
    write = request.method not in ("GET", "HEAD", "OPTIONS")
    session = db.session(write=write)
    try:
        yield session
    finally:
        if session.in_transaction() and db.dialect != "sqlite":
            await anyio.to_thread.run_sync(session.close, limiter=_closers)
        else:
            session.close()


SessionDep = Annotated[Session, Depends(session_dep)]


def client_address(request: Request) -> str:
    return request.client.host if request.client else ""


async def _client_dep(request: Request) -> str:
    return client_address(request)


ClientDep = Annotated[str, Depends(_client_dep)]


def _token(creds: HTTPAuthorizationCredentials | None) -> str:
    if creds is None or creds.scheme.lower() != "bearer" or not creds.credentials:
        raise Unauthorized()
    return creds.credentials


def _live(row: Any, idle: int) -> bool:
    if row is None or row.revoked_at is not None:
        return False
    t = now()
    return t < row.expires_at and t - row.last_seen_at < dt.timedelta(seconds=idle)


def _touch_due(row: Any, idle: int) -> bool:
    """Refresh ``last_seen_at`` at most once a minute, but often enough that activity keeps a short idle
    timeout from expiring (a quarter of it)."""
    return now() - row.last_seen_at > min(TOUCH_EVERY, dt.timedelta(seconds=idle / 4))


# A session's ``last_seen_at`` is refreshed off the request path, on a thread of its own, one pending refresh per
# session: an account's look-up runs on the few reader threads, and a refresh is a write that may wait for the
# SQLite write lock behind a burst of bookings; no request waits with it. A refresh is due when a quarter of the
# idle timeout has passed (at most a minute), so a late one still lands long before expiry.
_touches = ThreadPoolExecutor(max_workers=1, thread_name_prefix="session-touch")
_touches_pending: set[tuple[str, int]] = set()
_touches_lock = threading.Lock()
log = logging.getLogger(__name__)


def _touch_later(db: Database, model: type[AccountSession | StaffSession], row_id: int) -> None:
    key = (model.__tablename__, row_id)
    with _touches_lock:
        if key in _touches_pending:
            return
        _touches_pending.add(key)

    def run() -> None:
        try:
            with db.transaction() as s:
                s.execute(update(model).where(model.id == row_id).values(last_seen_at=now()))
        except Exception:
            log.exception("refreshing %s %s failed", model.__tablename__, row_id)
        finally:
            with _touches_lock:
                _touches_pending.discard(key)

    _touches.submit(run)


@dataclass(frozen=True, slots=True)
class AccountCtx:
    account_id: int
    session_id: int
    actor: Actor
    session: Session = field(repr=False, compare=False)

    @property
    def account(self) -> Account:
        """The account row, read in the request's session when a route first needs more than its id."""
        account = self.session.get(Account, self.account_id)
        if account is None:  # removed since the look-up
            raise Unauthorized("session_expired", "登录已失效，请重新登录")
        return account


@dataclass(frozen=True, slots=True)
class StaffCtx:
    staff: Staff
    session_id: int
    actor: Actor

    @property
    def role(self) -> str:
        return self.staff.role


# One statement, built once: the session and whether its account may still act (the account row itself is read
# only by the routes that need it, see AccountCtx.account).
_AS, _ACC = AccountSession.__table__, Account.__table__
_ACCOUNT_LOOKUP = (select(_AS.c.id, _AS.c.account_id, _AS.c.last_seen_at, _AS.c.expires_at, _AS.c.revoked_at,
                          _ACC.c.active)
                   .join(_ACC, _ACC.c.id == _AS.c.account_id)
                   .where(_AS.c.token_hash == bindparam("token_hash")))


# A patient's app sends several requests a second while it is used; their token look-ups come from here for at
# most one second. A logout, a password or mobile change (every revocation records a change) clears it in this
# process once committed, and a look-up that raced with the revocation is not stored (ChangeCache.put); another
# worker process accepts a revoked token for at most ttl_s. Keyed by the token's hash, only live sessions.
_account_sessions = ChangeCache(ttl_s=1.0)


def _look_up_account(session: Session, db: Database, settings: Settings, key: str) -> Row[Any]:
    generation = _account_sessions.generation
    begin_read(session)  # a token check never waits for the SQLite write lock
    row = session.execute(_ACCOUNT_LOOKUP, {"token_hash": key}).first()
    if not _live(row, settings.session_idle_s) or not row.active:
        raise Unauthorized("session_expired", "登录已失效，请重新登录")
    # End the look-up's read transaction, so that a writer route begins its own write transaction.
    session.commit()
    if _touch_due(row, settings.session_idle_s):
        _touch_later(db, AccountSession, row.id)  # not cached: last_seen_at is old until the refresh commits
    else:
        _account_sessions.put(key, row, generation=generation)
    return row


def _cached_account(settings: Settings, key: str) -> Row[Any] | None:
    """The session of a token hash from the look-ups' cache, if it is there and needs no look-up."""
    row = _account_sessions.get(key)
    if row is None or not _live(row, settings.session_idle_s) or _touch_due(row, settings.session_idle_s):
        return None
    return row


async def current_account(request: Request, session: SessionDep,
                          creds: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]) -> AccountCtx:
    settings = get_settings()
    key = token_hash(_token(creds))
    row = _cached_account(settings, key)
    if row is None:
        row = await in_read_thread(_look_up_account, session, get_db(), settings, key)
    return AccountCtx(row.account_id, row.id, Actor("account", row.account_id, client=client_address(request)),
                      session)


def account_for_token(session: Session, token: str) -> Row[Any]:
    """:func:`current_account`'s look-up in the calling thread, for a route that does its whole work in one thread
    (server/appointments/routes.py: BookingFastPath): the session row (``id``, ``account_id``) of a bearer
    token, or Unauthorized. ``token`` is the credentials of an ``Authorization: Bearer`` header, not empty."""
    settings = get_settings()
    key = token_hash(token)
    row = _cached_account(settings, key)
    if row is None:
        row = _look_up_account(session, get_db(), settings, key)
    return row


def current_staff(request: Request, session: SessionDep, db: DbDep, settings: SettingsDep,
                  creds: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]) -> StaffCtx:
    begin_read(session)  # a token check never waits for the SQLite write lock
    row = session.execute(select(StaffSession).where(StaffSession.token_hash == token_hash(_token(creds)))
                          ).scalar_one_or_none()
    if not _live(row, settings.staff_session_idle_s):
        raise Unauthorized("session_expired", "登录已超时，请重新登录")
    staff = session.get(Staff, row.staff_id)
    if staff is None or not staff.active:
        raise Unauthorized("session_expired", "登录已超时，请重新登录")
    # End the look-up's read transaction, so that a writer route begins its own write transaction.
    session.commit()
    if _touch_due(row, settings.staff_session_idle_s):
        _touch_later(db, StaffSession, row.id)
    return StaffCtx(staff, row.id, Actor("staff", staff.id, role=staff.role, client=client_address(request)))


CurrentAccount = Annotated[AccountCtx, Depends(current_account)]
CurrentStaff = Annotated[StaffCtx, Depends(current_staff)]


def require_roles(*roles: str) -> Callable[[StaffCtx], Any]:
    async def check(ctx: CurrentStaff) -> StaffCtx:
        if ctx.staff.role not in roles:
            raise Forbidden("role_forbidden", "您的岗位无权执行此操作")
        return ctx

    check.staff_roles = roles  # type: ignore[attr-defined]  # read by server.app into the OpenAPI document
    return check


DoctorStaff = Annotated[StaffCtx, Depends(require_roles("doctor"))]
AdminStaff = Annotated[StaffCtx, Depends(require_roles("admin"))]
ClerkStaff = Annotated[StaffCtx, Depends(require_roles("clerk", "admin"))]
PharmacistStaff = Annotated[StaffCtx, Depends(require_roles("pharmacist", "admin"))]
