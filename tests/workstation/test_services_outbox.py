"""Store, outbox and drafts against the real backend: every action takes effect exactly once, whether the server
was down when it was made or the workstation was killed between sending it and noting the answer."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine
from sqlalchemy.engine import Engine

from tests import conftest
from tests.booking_helpers import admin_headers
from tests.conftest import ROOT, LiveServer, start_server, stop_server
from tests.workstation.test_services_events import QUICK, ensure_departments, token_of
from tests.workstation_helpers import booked, doctor_today, events_of, waiting
from workstation.services.api import ApiClient, accept_request
from workstation.services.changes import ChangeHub
from workstation.services.drafts import DraftKeeper
from workstation.services.ops import executor
from workstation.services.outbox import Outbox
from workstation.services.store import FAILED, PENDING, SENT, Store

pytestmark = pytest.mark.integration


def db(fn: Any, *args: Any, **kwargs: Any) -> Any:
    """Store calls from the test go through the db pool, like the workstation's."""
    return executor("db").submit(fn, *args, **kwargs).result(timeout=10)


def accepted_events(engine: Engine, appt: int) -> int:
    return len(events_of(engine, object_type="appointment", object_id=appt, kind="appointment.in_consultation"))


def new_session(engine: Engine, *, doctor_id: int) -> str:
    """A second sign-in of the doctor's staff account (what the sign-in window would get)."""
    import datetime as dt
    import secrets

    from sqlalchemy import select
    from sqlalchemy.orm import Session

    from server.ids import token_hash
    from server.staff.models import Staff, StaffSession
    from tests.booking_helpers import now

    token = secrets.token_urlsafe(32)
    with Session(engine) as s, s.begin():
        staff = s.execute(select(Staff).where(Staff.doctor_id == doctor_id)).scalar_one()
        s.add(StaffSession(staff_id=staff.id, token_hash=token_hash(token), last_seen_at=now(),
                           expires_at=now() + dt.timedelta(hours=2)))
    return token


@pytest.fixture()
def outboxes() -> Iterator[list[Outbox]]:
    made: list[Outbox] = []
    yield made
    for o in made:
        o.stop()


def test_made_while_the_server_is_down_sent_once_when_it_is_back(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, qtbot: Any, hub: ChangeHub,
        outboxes: list[Outbox]) -> None:
    server = start_server(tmp_path / "srv", extra_env=QUICK)
    port = int(server.base_url.rsplit(":", 1)[1])
    engine = create_engine(server.database_url)
    try:
        ensure_departments(server)
        with server.client() as api:
            clinic = doctor_today(api, admin_headers(api, engine), engine)
            _, appt = waiting(api, engine, clinic)
        store = Store(tmp_path / "ws.sqlite3")
        outbox = Outbox(store=store, api=ApiClient(server.base_url, token=token_of(clinic["headers"]), timeout=3),
                        hub=hub, backoff_initial_s=0.1, backoff_max_s=0.5)
        outboxes.append(outbox)
        outbox.start()
        stop_server(server)

        item = outbox.accept(appt).result(timeout=10)  # the doctor clicks "accept" with the server gone
        assert item.state == PENDING and len(item.idempotency_key) == 32
        qtbot.waitUntil(lambda: db(store.outbox_get, item.id).attempts >= 2, timeout=15000)
        qtbot.waitUntil(lambda: hub.outbox_counts == (1, 0), timeout=5000)
        assert "无法连接服务器" in db(store.outbox_get, item.id).last_error

        monkeypatch.setattr(conftest, "free_port", lambda: port)
        server = start_server(tmp_path / "srv", extra_env=QUICK, database_url=server.database_url)
        with qtbot.waitSignal(hub.sig_outbox_item, timeout=20000,
                              check_params_cb=lambda it: it.id == item.id and it.state == SENT):
            pass
        assert hub.outbox_counts == (0, 0)
        assert db(store.outbox_get, item.id).response["status"] == "in_consultation"
        assert accepted_events(engine, appt) == 1
    finally:
        engine.dispose()
        stop_server(server)


KILLED_WORKSTATION = textwrap.dedent("""
    import sys
    from workstation.services.api import ApiClient, accept_request
    from workstation.services.store import Store

    path, base, token, first, second = sys.argv[1:6]
    store = Store(path)
    store.draft_save(int(first), {"notes": "主诉：头晕一周", "diagnosis_code": "E11.9"})
    store.outbox_add(accept_request(int(first)))            # queued, never sent
    sent = store.outbox_add(accept_request(int(second)))    # sent, the answer never noted
    ApiClient(base, token=token).send(sent.request, key=sent.idempotency_key)
    print("ready", flush=True)
    sys.stdin.read()                                        # until killed
""")


def test_a_killed_workstation_replays_exactly_once(live_server: LiveServer, api: httpx.Client,
                                                   admin: dict[str, str], db_engine: Engine, tmp_path: Path,
                                                   qtbot: Any, hub: ChangeHub, outboxes: list[Outbox]) -> None:
    clinic = doctor_today(api, admin, db_engine)
    _, first = waiting(api, db_engine, clinic)
    _, second = waiting(api, db_engine, clinic)
    path = tmp_path / "ws.sqlite3"
    token = token_of(clinic["headers"])
    proc = subprocess.Popen([sys.executable, "-c", KILLED_WORKSTATION, str(path), live_server.base_url, token,
                             str(first), str(second)], cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline() if proc.stdout else ""
        assert line.strip() == "ready", proc.stderr.read() if proc.stderr else ""
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(timeout=10)
    assert proc.returncode == -signal.SIGKILL
    assert accepted_events(db_engine, second) == 1 and accepted_events(db_engine, first) == 0

    store = Store(path)  # the workstation starts again
    pending = db(store.outbox_pending)
    assert [(p.kind, p.appointment_id) for p in pending] == [("accept", first), ("accept", second)]
    assert db(store.draft_get, first) == {"notes": "主诉：头晕一周", "diagnosis_code": "E11.9"}

    outbox = Outbox(store=store, api=ApiClient(live_server.base_url, token=token), hub=hub)
    outboxes.append(outbox)
    with qtbot.waitSignal(hub.sig_outbox_changed, check_params_cb=lambda p, f: (p, f) == (0, 0), timeout=15000):
        outbox.start()
    items = db(store.outbox_items)
    assert [(i.appointment_id, i.state) for i in items] == [(first, SENT), (second, SENT)]
    assert all(i.response["status"] == "in_consultation" for i in items)
    assert accepted_events(db_engine, first) == 1
    assert accepted_events(db_engine, second) == 1  # the replay was recognised, not run again


def test_a_refused_action_fails_with_the_servers_words_and_does_not_block(
        live_server: LiveServer, api: httpx.Client, admin: dict[str, str], db_engine: Engine, tmp_path: Path,
        qtbot: Any, hub: ChangeHub, outboxes: list[Outbox]) -> None:
    clinic = doctor_today(api, admin, db_engine)
    _, not_checked_in = booked(api, db_engine, clinic)
    _, ready = waiting(api, db_engine, clinic)
    store = Store(tmp_path / "ws.sqlite3")
    outbox = Outbox(store=store, api=ApiClient(live_server.base_url, token=token_of(clinic["headers"])), hub=hub)
    outboxes.append(outbox)
    outbox.start()
    done: list[Any] = []
    hub.sig_outbox_item.connect(done.append)
    bad = outbox.accept(not_checked_in).result(timeout=10)
    good = outbox.accept(ready).result(timeout=10)
    qtbot.waitUntil(lambda: len(done) == 2, timeout=15000)
    by_id = {i.id: i for i in done}
    assert by_id[bad.id].state == FAILED and by_id[bad.id].last_status == 409
    assert "尚未签到" in by_id[bad.id].last_error and by_id[bad.id].response["code"] == "invalid_state"
    assert by_id[good.id].state == SENT
    assert hub.outbox_counts == (0, 1)
    # the doctor retries (same key), it fails again; then dismisses it
    outbox.retry(bad.id).result(timeout=10)
    qtbot.waitUntil(lambda: len(done) == 3 and done[-1].state == FAILED and done[-1].attempts == 2,
                    timeout=15000)
    with qtbot.waitSignal(hub.sig_outbox_changed, check_params_cb=lambda p, f: (p, f) == (0, 0), timeout=5000):
        outbox.dismiss(bad.id).result(timeout=10)
    assert db(store.outbox_get, bad.id) is None


def test_an_expired_session_pauses_the_outbox_until_a_new_login(
        live_server: LiveServer, api: httpx.Client, admin: dict[str, str], db_engine: Engine, tmp_path: Path,
        qtbot: Any, hub: ChangeHub, outboxes: list[Outbox]) -> None:
    clinic = doctor_today(api, admin, db_engine)
    _, appt = waiting(api, db_engine, clinic)
    client = ApiClient(live_server.base_url, token=token_of(clinic["headers"]))
    assert api.post("/api/v1/staff/auth/logout", headers=clinic["headers"]).status_code == 204
    store = Store(tmp_path / "ws.sqlite3")
    outbox = Outbox(store=store, api=client, hub=hub, backoff_initial_s=0.1)
    outboxes.append(outbox)
    outbox.start()
    with qtbot.waitSignal(hub.sig_session_expired, timeout=10000):
        item = outbox.accept(appt).result(timeout=10)
    qtbot.waitUntil(lambda: outbox.paused, timeout=5000)
    assert db(store.outbox_get, item.id).state == PENDING and accepted_events(db_engine, appt) == 0
    # signed in again (a new session of the same doctor)
    client.token = new_session(db_engine, doctor_id=clinic["id"])
    with qtbot.waitSignal(hub.sig_outbox_item, check_params_cb=lambda it: it.state == SENT, timeout=15000):
        outbox.resume()
    assert accepted_events(db_engine, appt) == 1


def test_drafts_are_saved_as_typed_and_survive_a_new_process(tmp_path: Path, qtbot: Any) -> None:
    path = tmp_path / "ws.sqlite3"
    store = Store(path)
    keeper = DraftKeeper(store, interval_ms=60_000, debounce_ms=50)
    keeper.changed(7, {"notes": "头"})
    keeper.changed(7, {"notes": "头晕"})
    with qtbot.waitSignal(keeper.sig_draft_saved, check_params_cb=lambda i: i == 7, timeout=5000):
        keeper.changed(7, {"notes": "头晕一周", "diagnosis_code": "R42"})
    assert keeper.unsaved == set()
    other = Store(path)  # e.g. after a crash
    assert db(other.draft_get, 7) == {"notes": "头晕一周", "diagnosis_code": "R42"}
    restored: list[Any] = []
    DraftKeeper(other, parent=None).restore(7, restored.append)
    qtbot.waitUntil(lambda: bool(restored), timeout=5000)
    assert restored == [{"notes": "头晕一周", "diagnosis_code": "R42"}]
    # the periodic save covers typing that never pauses
    steady = DraftKeeper(store, interval_ms=100, debounce_ms=60_000)
    with qtbot.waitSignal(steady.sig_draft_saved, timeout=5000):
        steady.changed(8, {"notes": "持续输入"})
    keeper.discard(7).result(timeout=5)
    assert db(store.draft_get, 7) is None and db(store.draft_ids) == [8]
    keeper.stop()
    steady.stop()


def test_store_outbox_bookkeeping(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.sqlite3")
    a = db(store.outbox_add, accept_request(1))
    b = db(store.outbox_add, accept_request(2))
    assert a.idempotency_key != b.idempotency_key and a.id < b.id
    db(store.outbox_note_attempt, a.id, error="offline")
    db(store.outbox_mark_failed, b.id, error="不能接诊", status=409)
    assert db(store.outbox_counts) == (1, 1)
    db(store.outbox_mark_sent, a.id, response={"ok": True})
    assert db(store.outbox_counts) == (0, 1)
    db(store.cache_put, "queue", [{"id": 1}])
    assert db(store.cache_get, "queue") == [{"id": 1}] and db(store.cache_age, "queue") < 60
    db(store.set_last_event_id, 41)
    assert db(lambda: store.last_event_id) == 41
