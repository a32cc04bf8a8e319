"""The audit log's hash chain detects an edited row and a deleted row (in-process, on the test database)."""
from __future__ import annotations

import os
from pathlib import Path

import pytest
from sqlalchemy import delete, update

from server.actor import Actor
from server.audit.models import AuditEntry
from server.audit.service import audit, verify
from server.config import Settings
from server.db import Database
from server.migrations import upgrade
from tests.conftest import fresh_postgres


@pytest.fixture()
def database(tmp_path: Path) -> Database:
    pg = os.environ.get("CLINIC_TEST_DATABASE_URL")
    url = fresh_postgres(pg) if pg else f"sqlite:///{tmp_path / 'a.sqlite3'}"
    upgrade(url)
    db = Database(Settings(data_dir=tmp_path, database_url=url))
    yield db
    db.dispose()


def _fill(db: Database, n: int) -> None:
    for i in range(n):
        with db.transaction() as s:
            audit(s, actor=Actor("staff", 1), action="test.step", object_type="thing", object_id=i,
                  details={"i": i, "text": "中文"})


def test_intact_chain_verifies(database: Database) -> None:
    _fill(database, 5)
    with database.session(write=False) as s:
        assert list(verify(s)) == []


def test_edited_row_is_detected(database: Database) -> None:
    _fill(database, 5)
    with database.transaction() as s:
        s.execute(update(AuditEntry).where(AuditEntry.object_id == 2).values(details={"i": 99}))
    with database.session(write=False) as s:
        problems = list(verify(s))
    assert problems and "edited" in problems[0]


def test_deleted_row_is_detected(database: Database) -> None:
    _fill(database, 5)
    with database.transaction() as s:
        s.execute(delete(AuditEntry).where(AuditEntry.object_id == 2))
    with database.session(write=False) as s:
        problems = list(verify(s))
    assert problems and "link broken" in problems[0]
