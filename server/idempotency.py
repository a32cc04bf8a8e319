"""Exactly-once POST/PUT under retries: the ``Idempotency-Key`` header.

The workstation queues its actions in an outbox and replays them after a crash or a dropped connection, so
the same request may arrive twice (or twice at once). A route that takes the key runs its effect once; a
retry with the same key and body gets the first answer back, the same JSON, without running again.

The stored answer is written in the SAME transaction as the effect (the route calls :meth:`Claim.store` before
its ``session.commit()``), so a crash can never leave the effect without its key or a key without its effect.
A failed request stores nothing: it changed nothing, and its retry simply runs again.

Two copies of one request at the same moment: on PostgreSQL the first takes a transaction-scoped advisory lock
on (principal, key) and the second, finding it taken, answers ``409 request_in_progress`` at once (retry later
to get the stored answer); on SQLite writers are already serialised, so the second waits for the first to
commit and then replays its answer. The unique index on (principal, key) is the last line: a duplicate
insert fails the second transaction, effect included.

Keys live 24 hours: an expired key is treated as unused (and deleted) when it comes again, and
:func:`prune_expired` removes the rest from a background task.

Use in a route::

    with idempotent(session, key=idempotency_key, principal=staff_principal(ctx), request=request,
                    body=body) as claim:
        if claim.replay is not None:
            return claim.replay
        result = service.do_it(session=session, ...)
        claim.store(200, result)
        session.commit()
        return result

or, the same in one call (:func:`run_once`)::

    return run_once(session, key=idempotency_key, principal=staff_principal(ctx), request=request, body=body,
                    status_code=200, work=lambda: service.do_it(session=session, ...))
"""
from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import hashlib
import json
import logging
from collections.abc import Callable, Iterator
from typing import Annotated, Any, TypeVar

from fastapi import Header, Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy import JSON, Index, String, UniqueConstraint, delete, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column

from server import lifecycle
from server.db import Base, Database, TZDateTime, get_db
from server.errors import AppError, Conflict
from server.ids import pk
from server.timeutil import now

log = logging.getLogger(__name__)

TTL = dt.timedelta(hours=24)
KEY_PATTERN = r"^[A-Za-z0-9_-]{16,64}$"
REPLAYED_HEADER = "Idempotent-Replayed"
PRUNE_INTERVAL_S = 3600.0
# the audit chain's advisory lock uses a single bigint key; never hand out the same one
_RESERVED_LOCK_KEYS = frozenset({7_277_001})

IdempotencyKeyHeader = Annotated[
    str | None,
    Header(alias="Idempotency-Key", min_length=16, max_length=64, pattern=KEY_PATTERN,
           description="Optional. A client-made request number (a UUID, or 16–64 of A–Z a–z 0–9 _ -): "
                       "a retry with the same number and body gets the first answer back without running "
                       "again; the same number with another body or route is refused (422 "
                       "idempotency_key_reused). Numbers are kept 24 hours."),
]


class IdempotencyKey(Base):
    """One answered request: who sent it, to which route, the body's digest, and the answer given."""

    __tablename__ = "idempotency_keys"
    __table_args__ = (UniqueConstraint("principal", "key"),
                      Index("ix_idempotency_keys_created_at", "created_at"))

    id: Mapped[int] = pk()
    principal: Mapped[str] = mapped_column(String(40))  # staff:<id> | account:<id>
    key: Mapped[str] = mapped_column(String(64))
    target: Mapped[str] = mapped_column(String(300))  # "<METHOD> <path>"
    request_hash: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int] = mapped_column()
    response_body: Mapped[Any] = mapped_column(JSON)
    created_at: Mapped[dt.datetime] = mapped_column(TZDateTime(), default=now)


def staff_principal(ctx: Any) -> str:
    return f"staff:{ctx.staff.id}"


def account_principal(ctx: Any) -> str:
    return f"account:{ctx.account_id}"


def body_hash(body: Any) -> str:
    """The digest of the validated body: key order and whitespace of the JSON sent do not matter."""
    if isinstance(body, BaseModel):
        body = body.model_dump(mode="json")
    canonical = json.dumps(jsonable_encoder(body), sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def _lock_key(principal: str, key: str) -> int:
    raw = int.from_bytes(hashlib.sha256(f"idem|{principal}|{key}".encode()).digest()[:8], "big", signed=True)
    return raw ^ 1 if raw in _RESERVED_LOCK_KEYS else raw


def _in_progress() -> AppError:
    return Conflict("request_in_progress", "该请求正在处理中，请稍后刷新查看结果，不要重复提交")


class Claim:
    """The route's hold on one key: either a stored answer to replay, or the duty to store the new one."""

    def __init__(self, session: Session | None, *, principal: str = "", key: str | None = None,
                 target: str = "", request_hash: str = "", replay: JSONResponse | None = None) -> None:
        self._session = session
        self.principal = principal
        self.key = key
        self.target = target
        self.request_hash = request_hash
        self.replay = replay
        self.stored = False

    @property
    def active(self) -> bool:
        """A key came with the request and this is its first run: the answer must be stored."""
        return self.key is not None and self.replay is None

    def store(self, status_code: int, body: Any) -> Any:
        """Keep the answer in the caller's transaction; call it just before ``session.commit()``.

        Returns the JSON that was stored (what a replay will send).
        """
        content = jsonable_encoder(body)
        if self.active and not self.stored:
            assert self._session is not None
            self._session.add(IdempotencyKey(principal=self.principal, key=self.key, target=self.target,
                                             request_hash=self.request_hash, status_code=status_code,
                                             response_body=content, created_at=now()))
            try:
                self._session.flush()
            except IntegrityError as exc:  # a twin got there first: ours must not take effect as well
                raise _in_progress() from exc
        self.stored = True
        return content


def claim(session: Session, *, key: str | None, principal: str, request: Request, body: Any = None) -> Claim:
    """Look the key up (and, on PostgreSQL, hold it for this transaction). Without a key: a no-op claim."""
    if key is None:
        return Claim(None)
    target = f"{request.method} {request.url.path}"[:300]
    digest = body_hash(body)
    if session.get_bind().dialect.name == "postgresql":
        got = session.execute(text("SELECT pg_try_advisory_xact_lock(:k)"),
                              {"k": _lock_key(principal, key)}).scalar()
        if not got:
            raise _in_progress()
    row = session.execute(select(IdempotencyKey).where(IdempotencyKey.principal == principal,
                                                       IdempotencyKey.key == key)).scalar_one_or_none()
    if row is not None and row.created_at <= now() - TTL:
        session.delete(row)
        session.flush()
        row = None
    if row is not None:
        if row.target != target or row.request_hash != digest:
            raise AppError("idempotency_key_reused", "该请求编号已用于其他操作", status=422,
                           details={"key": key})
        return Claim(session, principal=principal, key=key, target=target, request_hash=digest,
                     replay=JSONResponse(row.response_body, status_code=row.status_code,
                                         headers={REPLAYED_HEADER: "true"}))
    return Claim(session, principal=principal, key=key, target=target, request_hash=digest)


@contextlib.contextmanager
def idempotent(session: Session, *, key: str | None, principal: str, request: Request,
               body: Any = None) -> Iterator[Claim]:
    """:func:`claim` as a block that checks the route stored its answer (a forgotten store is a bug)."""
    c = claim(session, key=key, principal=principal, request=request, body=body)
    yield c
    if c.active and not c.stored:
        raise RuntimeError(f"idempotent route {c.target} returned without storing its answer")


T = TypeVar("T")


def run_once(session: Session, *, key: str | None, principal: str, request: Request, body: Any = None,
             status_code: int = 200, work: Callable[[], T]) -> T | JSONResponse:
    """The whole idempotent block of a route: the stored answer when the key was answered before, else
    ``work()`` (the effect and its answer), the answer stored with ``status_code`` and the transaction
    committed. Anything ``work`` raises leaves nothing stored or committed.

    What must happen after the commit (a gateway call) is the route's, after this returns; a replay did it
    the first time, so ``work`` can note it in a closure that a replay never runs.
    """
    with idempotent(session, key=key, principal=principal, request=request, body=body) as c:
        if c.replay is not None:
            return c.replay
        result = work()
        c.store(status_code, result)
        session.commit()
        return result


# --- expiry -------------------------------------------------------------------------------------------------


def prune_expired(db: Database, *, at: dt.datetime | None = None, batch: int = 5000) -> int:
    """Delete keys older than 24 hours, a batch per transaction so writers are not held up."""
    cutoff = (at or now()) - TTL
    removed = 0
    while True:
        with db.transaction() as session:
            ids = list(session.execute(select(IdempotencyKey.id).where(IdempotencyKey.created_at <= cutoff)
                                       .order_by(IdempotencyKey.id).limit(batch)).scalars())
            if ids:
                session.execute(delete(IdempotencyKey).where(IdempotencyKey.id.in_(ids)))
        removed += len(ids)
        if len(ids) < batch:
            return removed


_task: asyncio.Task[None] | None = None


async def _loop() -> None:
    while True:
        try:
            removed = await asyncio.to_thread(prune_expired, get_db())
            if removed:
                log.info("idempotency: pruned %d expired keys", removed)
        except asyncio.CancelledError:
            raise
        except Exception:  # the next round retries; expired keys are ignored meanwhile anyway
            log.exception("idempotency prune failed")
        await asyncio.sleep(PRUNE_INTERVAL_S)


async def _start(_app: Any) -> None:
    global _task
    if not get_db().settings.scheduler_enabled or _task is not None:
        return
    _task = asyncio.create_task(_loop(), name="idempotency-prune")


async def _stop(_app: Any) -> None:
    global _task
    task, _task = _task, None
    if task is not None:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


lifecycle.register(start=_start, stop=_stop)
