"""The hash-chained audit log.

Writers serialise on one lock per transaction (``pg_advisory_xact_lock`` on PostgreSQL; SQLite's write lock is
already exclusive), so the chain's order is the commit order and two writers never fork it. The same lock makes
event ids commit in order, which is what lets a stream reader resume from a cursor without missing a row.
"""
from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from typing import Any

from sqlalchemy import insert, select, text
from sqlalchemy.orm import Session

from server.actor import Actor
from server.audit.models import AuditEntry
from server.timeutil import now

GENESIS = "0" * 64
CHAIN_LOCK_KEY = 7_277_001


_CHAIN_LOCK = text("SELECT pg_advisory_xact_lock(:k)")


def take_chain_lock(session: Session) -> None:
    if session.info.get("chain_locked"):
        return
    if session.get_bind().dialect.name == "postgresql":
        session.execute(_CHAIN_LOCK, {"k": CHAIN_LOCK_KEY})
    session.info["chain_locked"] = True


def _canonical(entry: Any) -> bytes:
    """The hashed form of an entry: an AuditEntry, or anything with its attributes (server/appointments'
    SQLite write section hashes a row it inserts without the ORM)."""
    body = {
        "at": entry.at.isoformat(timespec="microseconds"),
        "actor_type": entry.actor_type,
        "actor_id": entry.actor_id,
        "action": entry.action,
        "object_type": entry.object_type,
        "object_id": entry.object_id,
        "result": entry.result,
        "details": entry.details,
        "client": entry.client,
    }
    return json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str).encode()


def entry_hash(prev_hash: str, entry: Any) -> str:
    return hashlib.sha256(prev_hash.encode() + b"|" + _canonical(entry)).hexdigest()


_AUDIT = AuditEntry.__table__
_LAST_HASH = select(_AUDIT.c.hash).order_by(_AUDIT.c.id.desc()).limit(1)
_INSERT = insert(_AUDIT)


def audit(session: Session, *, actor: Actor, action: str, object_type: str = "", object_id: int | None = None,
          result: str = "ok", details: dict[str, Any] | None = None) -> AuditEntry:
    """Append one entry in the caller's transaction. Returns the row written (not attached to the session)."""
    take_chain_lock(session)
    session.flush()
    last = session.execute(_LAST_HASH).scalar()
    # microsecond precision survives both databases, so the hash recomputes identically after a round trip
    entry = AuditEntry(at=now(), actor_type=actor.type, actor_id=actor.id, action=action,
                       object_type=object_type, object_id=object_id, result=result,
                       details=details or {}, client=actor.client[:64], prev_hash=last or GENESIS)
    entry.hash = entry_hash(entry.prev_hash, entry)
    # one prebuilt INSERT: the ORM's unit of work (or a new statement each time) costs several times as much, on
    # every state change
    entry.id = session.execute(_INSERT, {
        "at": entry.at, "actor_type": entry.actor_type, "actor_id": entry.actor_id, "action": entry.action,
        "object_type": entry.object_type, "object_id": entry.object_id, "result": entry.result,
        "details": entry.details, "client": entry.client, "prev_hash": entry.prev_hash, "hash": entry.hash,
    }).inserted_primary_key[0]
    return entry


def audit_many(session: Session, entries: list[dict[str, Any]]) -> None:
    """Append entries in the caller's transaction, in list order, as :func:`audit` called once for each would
    (the same chain, each entry's own ``at``): one read of the chain's end and one INSERT for them all. Each dict
    has ``at``, ``actor``, ``action``, ``object_type``, ``object_id`` and ``details``."""
    if not entries:
        return
    take_chain_lock(session)
    session.flush()
    last = session.execute(_LAST_HASH).scalar() or GENESIS
    rows = []
    for e in entries:
        actor: Actor = e["actor"]
        entry = AuditEntry(at=e["at"], actor_type=actor.type, actor_id=actor.id, action=e["action"],
                           object_type=e["object_type"], object_id=e["object_id"], result="ok",
                           details=e["details"] or {}, client=actor.client[:64], prev_hash=last)
        last = entry_hash(entry.prev_hash, entry)
        rows.append({"at": entry.at, "actor_type": entry.actor_type, "actor_id": entry.actor_id,
                     "action": entry.action, "object_type": entry.object_type, "object_id": entry.object_id,
                     "result": entry.result, "details": entry.details, "client": entry.client,
                     "prev_hash": entry.prev_hash, "hash": last})
    session.execute(_INSERT, rows)


def audit_refusal(db: Any, *, actor: Actor, action: str, object_type: str = "", object_id: int | None = None,
                  details: dict[str, Any] | None = None) -> None:
    """Record a refused attempt in its own transaction (the refused one is rolled back)."""
    with db.transaction() as session:
        audit(session, actor=actor, action=action, object_type=object_type, object_id=object_id,
              result="refused", details=details)


def verify(session: Session, *, batch: int = 5000) -> Iterator[str]:
    """Yield a line per problem: a changed row, a deleted row (a gap in the links), a forged link."""
    prev = GENESIS
    last_id = 0
    while True:
        rows = session.execute(select(AuditEntry).where(AuditEntry.id > last_id)
                               .order_by(AuditEntry.id).limit(batch)).scalars().all()
        if not rows:
            return
        for row in rows:
            if row.prev_hash != prev:
                yield f"audit entry {row.id}: link broken (an earlier entry was changed or deleted)"
            if entry_hash(row.prev_hash, row) != row.hash:
                yield f"audit entry {row.id}: content does not match its hash (edited)"
            prev = row.hash
            last_id = row.id
        session.expunge_all()
