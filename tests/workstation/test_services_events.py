"""EventStream against the real backend: a check-in arrives; a server killed and restarted on the same port and
database loses no event and repeats none; ``resync`` and the end of the session are handled."""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine, select
from sqlalchemy.engine import Engine

import server.models  # noqa: F401 - every table, for writing the server's database in-process
from tests import conftest
from tests.booking_helpers import admin_headers
from tests.conftest import LiveServer, start_server, stop_server
from tests.helpers import DEMO_STAFF_PASSWORD
from tests.workstation_helpers import V1, checked_in, doctor_today
from workstation.services.api import ApiClient
from workstation.services.changes import LIVE, OFFLINE, ChangeHub
from workstation.services.events import EventStream, parse_sse
from workstation.services.store import Store

pytestmark = pytest.mark.integration

QUICK = {"CLINIC_EVENTS_HEARTBEAT_S": "0.5", "CLINIC_EVENTS_POLL_S": "0.3"}


def token_of(headers: dict[str, str]) -> str:
    return headers["Authorization"].split()[1]


class Collector:
    """What the stream delivered, in order (``on_event`` runs on the stream thread; list.append is atomic)."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []

    def __call__(self, event: dict[str, Any]) -> None:
        self.events.append(event)

    def ids(self) -> list[int]:
        return [e["id"] for e in self.events if "id" in e]

    def has(self, kind: str, object_id: int) -> bool:
        return any(e.get("kind") == kind and e.get("object_id") == object_id for e in self.events)


@pytest.fixture()
def stream_factory(tmp_path: Path) -> Iterator[Any]:
    streams: list[EventStream] = []

    def make(**kw: Any) -> EventStream:
        kw.setdefault("backoff_initial_s", 0.1)
        kw.setdefault("backoff_max_s", 0.5)
        s = EventStream(**kw)
        streams.append(s)
        return s

    yield make
    for s in streams:
        s.stop()


def test_parse_sse_frames() -> None:
    chunks = [b"retry: 3000\n\nid: 5\nevent: appoint", b"ment.waiting\ndata: {\"id\": 5}\n\n: keep-alive\n\n",
              b"event: session_expired\ndata: {}\r\n\r\n"]
    frames = list(parse_sse(iter(chunks)))
    assert frames[0] is not None and (frames[0].event, frames[0].id, frames[0].data) == \
        ("appointment.waiting", "5", '{"id": 5}')
    assert frames[1] is None  # the keep-alive
    assert frames[2] is not None and frames[2].event == "session_expired"


def test_a_check_in_reaches_the_stream(live_server: LiveServer, api: httpx.Client, admin: dict[str, str],
                                       db_engine: Engine, qtbot: Any, hub: ChangeHub, stream_factory: Any,
                                       tmp_path: Path) -> None:
    clinic = doctor_today(api, admin, db_engine)
    got = Collector()
    store = Store(tmp_path / "s.sqlite3")
    stream = stream_factory(base_url=live_server.base_url, token=token_of(clinic["headers"]), hub=hub,
                            store=store, on_event=got)
    with qtbot.waitSignal(hub.sig_connection_changed, check_params_cb=lambda s: s == LIVE, timeout=10000):
        stream.start()
    qtbot.waitUntil(lambda: stream.last_id is not None, timeout=10000)  # the first cursor frame
    with qtbot.waitSignal(hub.sig_event, timeout=10000,
                          check_params_cb=lambda e: e["kind"] == "appointment.checked_in") as blocker:
        _, appt = checked_in(api, db_engine, clinic)
    event = blocker.args[0]
    assert event["object_id"] == appt and event["payload"]["status"] == "checked_in"
    assert event["payload"]["patient_name"] == "李患者" and set(event) >= {"id", "kind", "at", "payload"}
    # on_event runs on the stream thread just after the hand-over to the hub: it may come a moment later
    qtbot.waitUntil(lambda: got.has("appointment.checked_in", appt), timeout=10000)
    qtbot.waitUntil(lambda: store.last_event_id == event["id"], timeout=5000)  # remembered for a restart


def test_resync_when_the_cursor_is_unknown(live_server: LiveServer, qtbot: Any, hub: ChangeHub,
                                           stream_factory: Any) -> None:
    client = ApiClient(live_server.base_url)
    client.login("doctor1", DEMO_STAFF_PASSWORD)
    newest = client.events_cursor()
    stream = stream_factory(base_url=live_server.base_url, token=client.token, hub=hub,
                            after=newest + 1000)  # a cursor from another database
    with qtbot.waitSignal(hub.sig_resync_needed, timeout=10000):
        stream.start()
    qtbot.waitUntil(lambda: stream.last_id is not None and stream.last_id <= newest + 999, timeout=5000)
    assert stream.last_id is not None and stream.last_id >= newest


def test_an_ended_session_stops_the_stream_until_a_new_login(live_server: LiveServer, qtbot: Any,
                                                              hub: ChangeHub, stream_factory: Any) -> None:
    client = ApiClient(live_server.base_url)
    client.login("doctor1", DEMO_STAFF_PASSWORD)
    old = client.token
    client.logout()
    stream = stream_factory(base_url=live_server.base_url, token=old, hub=hub)
    with qtbot.waitSignal(hub.sig_session_expired, timeout=10000):
        stream.start()
    assert stream.expired and stream.connects == 0
    client.login("doctor1", DEMO_STAFF_PASSWORD)
    with qtbot.waitSignal(hub.sig_connection_changed, check_params_cb=lambda s: s == LIVE, timeout=10000):
        stream.set_token(client.token)
    assert not stream.expired and stream.connects == 1


# --- a server of the test's own, stopped and started again on the same port and database -------------------------


def server_db(srv: LiveServer) -> Any:
    from server.config import Settings
    from server.db import Database

    return Database(Settings(database_url=srv.database_url, data_dir=srv.data_dir))


def ensure_departments(srv: LiveServer) -> None:
    """A fresh server has no departments until demo data (slow) or this."""
    from server.catalogue.service import ensure_departments as ensure

    db = server_db(srv)
    try:
        with db.transaction() as s:
            ensure(s)
    finally:
        db.dispose()


def write_hidden_and_visible_events(srv: LiveServer, *, doctor_id: int) -> list[int]:
    """Changes made while the server is down (another process writes the database): two the doctor may see and
    one of another doctor's, which the stream must skip."""
    from server.actor import SYSTEM
    from server.events.service import record_change

    db = server_db(srv)
    try:
        ids = []
        with db.transaction() as s:
            for i, doc in enumerate((doctor_id, doctor_id + 10**6, doctor_id)):
                e = record_change(s, actor=SYSTEM, kind="test.offline", object_type="test", object_id=i + 1,
                                  topic="clinical", doctor_id=doc, payload={"i": i})
                if doc == doctor_id:
                    ids.append(e.id)
        return ids
    finally:
        db.dispose()


def visible_ids(engine: Engine, *, doctor_id: int, after: int) -> list[int]:
    from server.events.models import Event

    with engine.connect() as c:
        return list(c.execute(select(Event.id).where(Event.id > after, Event.doctor_id == doctor_id,
                                                     Event.topic.in_(("clinical", "prescription")))
                              .order_by(Event.id)).scalars())


def test_resume_after_a_server_restart_misses_nothing_and_repeats_nothing(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, qtbot: Any, hub: ChangeHub, stream_factory: Any) -> None:
    server = start_server(tmp_path / "srv", extra_env=QUICK)
    port = int(server.base_url.rsplit(":", 1)[1])
    engine = create_engine(server.database_url)
    try:
        ensure_departments(server)
        with server.client() as api:
            admin = admin_headers(api, engine)
            clinic = doctor_today(api, admin, engine)
        got = Collector()
        stream = stream_factory(base_url=server.base_url, token=token_of(clinic["headers"]), hub=hub,
                                store=Store(tmp_path / "ws.sqlite3"), on_event=got)
        stream.start()
        qtbot.waitUntil(lambda: stream.state == LIVE and stream.last_id is not None, timeout=15000)
        start = stream.last_id
        with server.client() as api:
            acc, appt = checked_in(api, engine, clinic)
        qtbot.waitUntil(lambda: got.has("appointment.checked_in", appt), timeout=10000)

        server.process.kill()  # killed, not shut down: the stream just breaks
        server.process.wait(timeout=10)
        qtbot.waitUntil(lambda: hub.connection == OFFLINE, timeout=15000)
        offline = write_hidden_and_visible_events(server, doctor_id=clinic["id"])

        monkeypatch.setattr(conftest, "free_port", lambda: port)  # the same address as before
        server = start_server(tmp_path / "srv", extra_env=QUICK, database_url=server.database_url)
        assert server.base_url.endswith(f":{port}")
        qtbot.waitUntil(lambda: stream.connects >= 2 and all(i in got.ids() for i in offline), timeout=20000)
        with server.client() as api:
            r = api.post(f"{V1}/appointments/{appt}/description", headers=acc["headers"],
                         json={"text": "头晕三天", "file_ids": []})
            assert r.status_code == 200, r.text
        qtbot.waitUntil(lambda: got.has("appointment.waiting", appt), timeout=10000)

        expected = visible_ids(engine, doctor_id=clinic["id"], after=start)
        assert got.ids() == expected  # every event once, in order, none of another doctor's
        assert len(set(got.ids())) == len(got.ids())
        assert [e["kind"] for e in got.events][-1] == "appointment.waiting"

        # the login ends while streaming: the server says so within a heartbeat
        with server.client() as api, qtbot.waitSignal(hub.sig_session_expired, timeout=10000):
            assert api.post(f"{V1}/staff/auth/logout", headers=clinic["headers"]).status_code == 204
        qtbot.waitUntil(lambda: stream.expired, timeout=5000)
    finally:
        engine.dispose()
        stop_server(server)
