"""The local store: what must survive a dropped network, a server restart or a crash of the workstation.

SQLite through SQLAlchemy 2, one file per server and user (two doctors on one computer never see each other's
drafts). Four tables: ``cache`` (the queue and the charts the doctor has seen, for a start without network),
``drafts`` (the consultation form, autosaved), ``outbox`` (every outgoing action, written BEFORE it is sent, with
the idempotency key the server deduplicates on) and ``meta`` (the stream's last event id, …).

Every method blocks on disk: call them on the ``db`` pool (``Op(..., pool="db")`` / ``run_in("db", ...)``), the
single thread that also serialises them. Results are plain values and dataclasses, never ORM objects, because
they travel to other threads.
"""
from __future__ import annotations

import hashlib
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import JSON, Integer, String, create_engine, delete, event, func, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, sessionmaker

from workstation.services.api import ActionRequest, new_idempotency_key
from workstation.services.ops import ensure_off_gui_loop
from workstation.services.settings import data_dir

PENDING, SENT, FAILED = "pending", "sent", "failed"
OUTBOX_STATES = (PENDING, SENT, FAILED)
LAST_EVENT_ID = "last_event_id"


class Base(DeclarativeBase):
    pass


class CacheRow(Base):
    __tablename__ = "cache"
    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    value: Mapped[Any] = mapped_column("json", JSON)
    updated_at: Mapped[float] = mapped_column()


class DraftRow(Base):
    __tablename__ = "drafts"
    appointment_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    payload: Mapped[Any] = mapped_column(JSON)
    updated_at: Mapped[float] = mapped_column()


class OutboxRow(Base):
    __tablename__ = "outbox"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    idempotency_key: Mapped[str] = mapped_column(String(64), unique=True)
    kind: Mapped[str] = mapped_column(String(40))
    method: Mapped[str] = mapped_column(String(10))
    path: Mapped[str] = mapped_column(String(300))
    body: Mapped[Any] = mapped_column(JSON, nullable=True)
    appointment_id: Mapped[int | None] = mapped_column(nullable=True)
    created_at: Mapped[float] = mapped_column()
    attempts: Mapped[int] = mapped_column(default=0)
    state: Mapped[str] = mapped_column(String(10), default=PENDING, index=True)
    last_error: Mapped[str] = mapped_column(String(500), default="")
    last_status: Mapped[int | None] = mapped_column(nullable=True)
    response: Mapped[Any] = mapped_column(JSON, nullable=True)
    done_at: Mapped[float | None] = mapped_column(nullable=True)


class MetaRow(Base):
    __tablename__ = "meta"
    key: Mapped[str] = mapped_column(String(100), primary_key=True)
    value: Mapped[Any] = mapped_column(JSON)


@dataclass(frozen=True, slots=True)
class OutboxItem:
    id: int
    idempotency_key: str
    kind: str
    method: str
    path: str
    body: Any
    appointment_id: int | None
    created_at: float
    attempts: int
    state: str
    last_error: str
    last_status: int | None
    response: Any
    done_at: float | None

    @property
    def request(self) -> ActionRequest:
        return ActionRequest(self.method, self.path, self.body, self.kind, self.appointment_id)


def _item(row: OutboxRow) -> OutboxItem:
    return OutboxItem(row.id, row.idempotency_key, row.kind, row.method, row.path, row.body, row.appointment_id,
                      row.created_at, row.attempts, row.state, row.last_error, row.last_status, row.response,
                      row.done_at)


def store_path(*, server_url: str, username: str, base_dir: Path | None = None) -> Path:
    """``<data dir>/stores/<host>_<port>-<user>-<hash>.sqlite3``: readable, and unique per server URL and user."""
    parts = urlsplit(server_url)
    host = re.sub(r"[^A-Za-z0-9.-]", "_", f"{parts.hostname or 'server'}_{parts.port or ''}")
    user = re.sub(r"[^A-Za-z0-9_.-]", "_", username)[:40]
    digest = hashlib.sha256(f"{server_url.rstrip('/')}|{username}".encode()).hexdigest()[:8]
    return (base_dir or data_dir()) / "stores" / f"{host}-{user}-{digest}.sqlite3"


def _sqlite_pragmas(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")  # a reader never waits for the writer
        cur.execute("PRAGMA synchronous=FULL")  # an outbox row written is an outbox row kept, power cut or not
        cur.execute("PRAGMA busy_timeout=5000")
        cur.close()


class Store:
    def __init__(self, path: Path | str) -> None:
        """Opens (and creates) the file: disk work, so on a worker too."""
        ensure_off_gui_loop("opening the local store")
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.engine = create_engine(f"sqlite:///{self.path}")
        _sqlite_pragmas(self.engine)
        Base.metadata.create_all(self.engine)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)

    @classmethod
    def for_user(cls, *, server_url: str, username: str, base_dir: Path | None = None) -> Store:
        return cls(store_path(server_url=server_url, username=username, base_dir=base_dir))

    def close(self) -> None:
        self.engine.dispose()

    def _tx(self) -> Any:
        ensure_off_gui_loop("local store access")
        return self._sessions.begin()

    # --- cache ------------------------------------------------------------------------------------------------

    def cache_put(self, key: str, value: Any) -> None:
        with self._tx() as s:
            s.merge(CacheRow(key=key, value=value, updated_at=time.time()))

    def cache_get(self, key: str) -> Any | None:
        with self._tx() as s:
            row = s.get(CacheRow, key)
            return None if row is None else row.value

    def cache_age(self, key: str) -> float | None:
        """Seconds since ``key`` was written (the window says how old an offline view is)."""
        with self._tx() as s:
            row = s.get(CacheRow, key)
            return None if row is None else time.time() - row.updated_at

    # --- drafts -----------------------------------------------------------------------------------------------

    def draft_save(self, appointment_id: int, payload: Any) -> None:
        with self._tx() as s:
            s.merge(DraftRow(appointment_id=appointment_id, payload=payload, updated_at=time.time()))

    def draft_get(self, appointment_id: int) -> Any | None:
        with self._tx() as s:
            row = s.get(DraftRow, appointment_id)
            return None if row is None else row.payload

    def draft_delete(self, appointment_id: int) -> None:
        with self._tx() as s:
            s.execute(delete(DraftRow).where(DraftRow.appointment_id == appointment_id))

    def draft_ids(self) -> list[int]:
        with self._tx() as s:
            return list(s.execute(select(DraftRow.appointment_id).order_by(DraftRow.appointment_id)).scalars())

    # --- outbox -----------------------------------------------------------------------------------------------

    def outbox_add(self, action: ActionRequest, *, key: str | None = None) -> OutboxItem:
        """Write the action with a fresh idempotency key; committed (and synced) before this returns."""
        with self._tx() as s:
            row = OutboxRow(idempotency_key=key or new_idempotency_key(), kind=action.kind or action.path,
                            method=action.method, path=action.path, body=action.body,
                            appointment_id=action.appointment_id, created_at=time.time(), attempts=0,
                            state=PENDING, last_error="")
            s.add(row)
            s.flush()
            return _item(row)

    def outbox_get(self, item_id: int) -> OutboxItem | None:
        with self._tx() as s:
            row = s.get(OutboxRow, item_id)
            return None if row is None else _item(row)

    def outbox_items(self, *, states: tuple[str, ...] = OUTBOX_STATES, limit: int = 1000) -> list[OutboxItem]:
        """In the order they were made (the order they are sent)."""
        with self._tx() as s:
            rows = s.execute(select(OutboxRow).where(OutboxRow.state.in_(states)).order_by(OutboxRow.id)
                             .limit(limit)).scalars()
            return [_item(r) for r in rows]

    def outbox_pending(self) -> list[OutboxItem]:
        return self.outbox_items(states=(PENDING,))

    def outbox_note_attempt(self, item_id: int, *, error: str, status: int | None = None) -> None:
        """A try that did not reach a verdict (network down, server busy): stays pending."""
        with self._tx() as s:
            s.execute(update(OutboxRow).where(OutboxRow.id == item_id, OutboxRow.state == PENDING)
                      .values(attempts=OutboxRow.attempts + 1, last_error=error[:500], last_status=status))

    def outbox_mark_sent(self, item_id: int, *, response: Any, status: int | None = 200) -> None:
        with self._tx() as s:
            s.execute(update(OutboxRow).where(OutboxRow.id == item_id)
                      .values(state=SENT, attempts=OutboxRow.attempts + 1, response=response, last_error="",
                              last_status=status, done_at=time.time()))

    def outbox_mark_failed(self, item_id: int, *, error: str, status: int | None, details: Any = None) -> None:
        """Refused by the server (4xx): kept with its reason for the doctor to read; never sent again by itself."""
        with self._tx() as s:
            s.execute(update(OutboxRow).where(OutboxRow.id == item_id)
                      .values(state=FAILED, attempts=OutboxRow.attempts + 1, last_error=error[:500],
                              last_status=status, response=details, done_at=time.time()))

    def outbox_retry(self, item_id: int) -> None:
        """The doctor asks to send a failed action again (same key: if it did take effect, it still counts once)."""
        with self._tx() as s:
            s.execute(update(OutboxRow).where(OutboxRow.id == item_id, OutboxRow.state == FAILED)
                      .values(state=PENDING, done_at=None))

    def outbox_dismiss(self, item_id: int) -> None:
        """The doctor has read why a failed action failed: remove it from the list."""
        with self._tx() as s:
            s.execute(delete(OutboxRow).where(OutboxRow.id == item_id, OutboxRow.state == FAILED))

    def outbox_counts(self) -> tuple[int, int]:
        """(pending, failed)."""
        with self._tx() as s:
            rows = dict(s.execute(select(OutboxRow.state, func.count()).group_by(OutboxRow.state)).all())
            return int(rows.get(PENDING, 0)), int(rows.get(FAILED, 0))

    def outbox_prune_sent(self, *, older_than_s: float = 7 * 24 * 3600) -> int:
        with self._tx() as s:
            res = s.execute(delete(OutboxRow).where(OutboxRow.state == SENT,
                                                    OutboxRow.done_at < time.time() - older_than_s))
            return int(res.rowcount or 0)

    # --- meta -------------------------------------------------------------------------------------------------

    def meta_get(self, key: str, default: Any = None) -> Any:
        with self._tx() as s:
            row = s.get(MetaRow, key)
            return default if row is None else row.value

    def meta_set(self, key: str, value: Any) -> None:
        with self._tx() as s:
            s.merge(MetaRow(key=key, value=value))

    @property
    def last_event_id(self) -> int | None:
        value = self.meta_get(LAST_EVENT_ID)
        return None if value is None else int(value)

    def set_last_event_id(self, value: int) -> None:
        self.meta_set(LAST_EVENT_ID, int(value))
