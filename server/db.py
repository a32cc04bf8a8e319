"""Database engine, sessions and the declarative base.

SQLite runs in WAL mode with a busy timeout; write transactions start with ``BEGIN IMMEDIATE`` so two writers
queue on the lock instead of failing on a read-to-write upgrade, and before that they queue in
:class:`_WriterQueue`. PostgreSQL uses psycopg 3.

Reader sessions (and :func:`begin_read`) run without a transaction: no ``BEGIN``/``COMMIT`` (on PostgreSQL two
round trips) around a request's reads. Each statement reads the newest committed state, which is what PostgreSQL's
default READ COMMITTED gives inside a transaction too, so every read path is already right under it. A reader
session must not write.
"""
from __future__ import annotations

import datetime as dt
import os
import threading
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import DateTime, Engine, MetaData, create_engine, event
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.types import TypeDecorator

from server.config import Settings, get_settings
from server.timeutil import TZ

try:
    import fcntl
except ImportError:  # Windows: the writers of other processes meet SQLite's busy handler
    fcntl = None  # type: ignore[assignment]

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class TZDateTime(TypeDecorator):
    """An aware timestamp: stored as UTC (``timestamptz`` on PostgreSQL), read back in Asia/Shanghai.

    Naive values are refused: a time without a zone is a bug waiting to happen.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime stored; use server.timeutil.now()")
        value = value.astimezone(dt.UTC)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            value = value.replace(tzinfo=dt.UTC)
        return value.astimezone(TZ)


SQLITE_BUSY_TIMEOUT_S = 30


class _WriterQueue:
    """The queue SQLite writers wait in: a write transaction holds it from its ``BEGIN IMMEDIATE`` until its
    connection goes back to the pool (right after the commit or rollback).

    SQLite's own busy handler makes a waiting writer sleep and retry (1, 2, 5 … up to 100 ms a try), so under
    concurrent writes the lock goes to whoever happens to retry at the right moment, and a writer that keeps
    missing it waits for seconds. Here the writers of this process queue on a thread lock, and the processes on
    the same database (server workers, the CLI) on an ``flock`` of a file next to it, which the kernel hands over
    as soon as it is released. Measured with bookings from two processes on one file: 262/s, p95 406 ms with the
    busy handler between the processes; 385/s, p95 148 ms with the ``flock`` (a development measurement; the
    saturation p99 in docs/benchmarks.md went from 4.5 s to 0.22 s with this queue and the rest of that pass).

    A writer that waited longer than the busy timeout for the thread lock goes on without it, to the busy
    handler. The ``flock`` has no timeout: it is held only while its holder holds SQLite's write lock, so a
    writer stuck there blocks the others here instead of failing them after the busy timeout. Without ``fcntl``
    (Windows) only the thread lock queues.
    """

    KEY = "holds_writer_lock"

    def __init__(self, lock_path: str | None) -> None:
        self._lock = threading.Lock()
        self._fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600) if lock_path and fcntl else None

    def acquire(self, info: dict[str, Any]) -> None:
        if not self._lock.acquire(timeout=SQLITE_BUSY_TIMEOUT_S):
            return
        if self._fd is not None:
            try:
                fcntl.flock(self._fd, fcntl.LOCK_EX)
            except BaseException:
                self._lock.release()
                raise
        info[self.KEY] = True

    def release(self, info: dict[str, Any]) -> None:
        if info.pop(self.KEY, False):
            if self._fd is not None:
                fcntl.flock(self._fd, fcntl.LOCK_UN)
            self._lock.release()

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


def _sqlite_setup(engine: Engine) -> None:
    path = engine.url.database
    writers = _WriterQueue(f"{path}-writer.lock" if path and path != ":memory:" else None)
    weakref.finalize(engine, writers.close)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Let SQLAlchemy (not pysqlite) emit BEGIN, so we can choose IMMEDIATE for writers.
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_S * 1000}")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        if conn.get_execution_options().get("write"):
            # conn.info belongs to the pooled DBAPI connection, which the check-in below sees again
            writers.acquire(conn.info)
            try:
                conn.exec_driver_sql("BEGIN IMMEDIATE")
            except BaseException:
                writers.release(conn.info)
                raise
        # readers: no BEGIN (see the module's docstring); pysqlite's commit and rollback are then no-ops

    @event.listens_for(engine, "checkin")
    def _on_checkin(_dbapi_conn: Any, record: Any) -> None:
        # after the pool's reset (a rollback of anything left open), also for an invalidated connection
        writers.release(record.info)


def make_engine(settings: Settings | None = None, *, url: str | None = None) -> Engine:
    settings = settings or get_settings()
    url = url or settings.effective_database_url
    if url.startswith("sqlite"):
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        # As many pooled connections as the thread pool has threads (anyio's default, 40): a connection opened
        # beyond the pool's size is closed again at check-in, and opening one (its PRAGMAs) cost more than the
        # request that needed it. Idle SQLite connections cost a file handle and a small page cache.
        engine = create_engine(url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_S, "check_same_thread": False},
                               pool_size=40, max_overflow=10)
        _sqlite_setup(engine)
        return engine
    # No pre-ping: it costs a round trip per check-out, and a request checks out twice (authentication, route).
    # A connection the server dropped fails one request; SQLAlchemy then recycles the whole pool. Recycling
    # hourly keeps connections from outliving server-side idle limits. 20 kept per worker: a new PostgreSQL
    # connection (a server process) costs milliseconds, so concurrent requests should rarely need one.
    return create_engine(url, pool_size=20, max_overflow=10, pool_recycle=3600)


class Database:
    """One engine and its two session factories: readers and writers."""

    def __init__(self, settings: Settings | None = None, *, url: str | None = None) -> None:
        self.settings = settings or get_settings()
        self.engine = make_engine(self.settings, url=url)
        self.dialect = self.engine.dialect.name
        reader = self.engine.execution_options(**_read_options(self.dialect))
        self._read = sessionmaker(reader, expire_on_commit=False)
        self._write = sessionmaker(self.engine.execution_options(write=True), expire_on_commit=False)

    def session(self, *, write: bool = True) -> Session:
        return (self._write if write else self._read)()

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """A write transaction: committed at the end, rolled back on any exception."""
        with self.session(write=True) as session, session.begin():
            yield session

    def dispose(self) -> None:
        self.engine.dispose()


def _read_options(dialect: str) -> dict[str, Any]:
    """How a reader runs without a transaction (module docstring); SQLite readers get no BEGIN (_sqlite_setup)."""
    if dialect == "postgresql":
        return {"write": False, "isolation_level": "AUTOCOMMIT"}
    return {"write": False}


def begin_read(session: Session) -> None:
    """Run the session's next statements as a reader (module docstring), even in a writer session: checks that
    only read must not queue for, or hold, SQLite's single write lock. End it with ``session.commit()``; the
    session's next transaction is a writer again. No-op inside a transaction."""
    if not session.in_transaction():
        session.connection(execution_options=_read_options(session.get_bind().dialect.name))


_db: Database | None = None


def get_db() -> Database:
    global _db
    if _db is None:
        _db = Database()
    return _db


def set_db(db: Database | None) -> None:
    global _db
    _db = db


@event.listens_for(Session, "after_transaction_end")
def _reset_transaction_info(session: Session, transaction: Any) -> None:
    if transaction.parent is None:
        session.info.pop("chain_locked", None)
        session.info.pop("notified", None)


@event.listens_for(Session, "after_commit")
def _wake_streams(session: Session) -> None:
    if session.info.pop("events_written", False):
        from server.events import bus

        bus.wake()


@event.listens_for(Session, "after_rollback")
def _forget_events(session: Session) -> None:
    session.info.pop("events_written", None)
