"""The signed-in session with its queue feed, against the real backend: sign in, the queue kept live by the
stream (details fetched, the waiting cue), an action through the outbox, expiry and re-sign-in without losing
work, a resync, an offline start from the cache; plus the settings file and the embedded server."""
from __future__ import annotations

import json
import secrets
from pathlib import Path
from typing import Any

import httpx
import pytest
import requests
from sqlalchemy.engine import Engine

from tests.booking_helpers import make_doctor, make_schedule, soon_start
from tests.conftest import LiveServer, free_port
from tests.workstation_helpers import V1, checked_in
from workstation.models.queue import QueueModel
from workstation.services.api import ApiClient
from workstation.services.changes import LIVE, ChangeHub
from workstation.services.embedded import EmbeddedServer
from workstation.services.ops import Op
from workstation.services.queue_feed import QueueFeed
from workstation.services.session import UserSession
from workstation.services.settings import WorkstationSettings
from workstation.services.store import Store

PASSWORD = "Doctor-pass-2026"


def doctor_with_login(api: httpx.Client, admin: dict[str, str]) -> dict[str, Any]:
    """A doctor of the test's own, with a session starting in a few minutes and a staff login with a password."""
    doc = make_doctor(api, admin, department_code="endocrinology", name=f"医生{secrets.token_hex(2)}")
    schedule = make_schedule(api, admin, doctor_id=doc["id"], start=soon_start(), minutes=30, slot_minutes=15,
                             capacity=6)
    username = f"wsd{secrets.token_hex(4)}"
    r = api.post(f"{V1}/staff/admin/staff", headers=admin,
                 json={"username": username, "name": doc["name"], "role": "doctor", "password": PASSWORD,
                       "doctor_id": doc["id"]})
    assert r.status_code == 201, r.text
    return {"id": doc["id"], "slots": [s["id"] for s in schedule["slots"]], "username": username}


@pytest.mark.integration
def test_signed_in_doctor_sees_the_queue_live_and_keeps_work_across_expiry(
        live_server: LiveServer, api: httpx.Client, admin: dict[str, str], db_engine: Engine, tmp_path: Path,
        qtbot: Any, hub: ChangeHub) -> None:
    clinic = doctor_with_login(api, admin)
    session = UserSession(base_url=live_server.base_url, hub=hub, data_dir=tmp_path)
    try:
        staff = session.sign_in(clinic["username"], PASSWORD)
        assert staff["role"] == "doctor" and staff["doctor_id"] == clinic["id"] and session.signed_in
        assert session.store is not None and session.store.path.parent == tmp_path / "stores"
        model = QueueModel()
        feed = QueueFeed(model=model, api=session.api, hub=hub, store=session.store)
        cursor = session.api.events_cursor()
        with qtbot.waitSignal(feed.sig_loaded, timeout=10000):
            feed.start()
        assert model.rowCount() == 0
        with qtbot.waitSignal(hub.sig_connection_changed, check_params_cb=lambda s: s == LIVE, timeout=10000):
            session.start_stream(after=cursor)

        # a patient checks in: the row appears, then its details
        acc, appt = checked_in(api, db_engine, clinic)
        qtbot.waitUntil(lambda: model.row_of(appt) is not None, timeout=10000)
        qtbot.waitUntil(lambda: model.entry_by_id(appt).sex == "female", timeout=10000)  # type: ignore[union-attr]
        entry = model.entry_by_id(appt)
        assert entry is not None and entry.department_name == "内分泌科" and entry.age is not None
        with qtbot.waitSignal(model.sig_patient_waiting, check_params_cb=lambda i: i == appt, timeout=10000):
            r = api.post(f"{V1}/appointments/{appt}/description", headers=acc["headers"],
                         json={"text": "复查甲功", "file_ids": []})
            assert r.status_code == 200, r.text

        # the doctor accepts through the outbox; the stream brings the new state back
        assert session.outbox is not None
        session.outbox.accept(appt, initiator=feed).result(timeout=10)
        qtbot.waitUntil(lambda: model.entry_by_id(appt).status == "in_consultation",  # type: ignore[union-attr]
                        timeout=10000)

        # the session ends on the server; the next call finds out; work is kept and the outbox pauses
        assert api.post(f"{V1}/staff/auth/logout", headers=session.api.headers()).status_code == 204
        with qtbot.waitSignal(session.sig_expired, timeout=10000):
            Op(session.api.me).failure(lambda _e: None).run()
        assert session.expired and not session.signed_in and session.outbox.paused
        session.resume(PASSWORD)
        assert not session.expired and not session.outbox.paused
        with qtbot.waitSignal(hub.sig_connection_changed, check_params_cb=lambda s: s == LIVE, timeout=15000):
            pass
        assert session.api.me()["username"] == clinic["username"]

        # a resync reloads the whole queue
        with qtbot.waitSignal(feed.sig_loaded, timeout=10000):
            hub.resync_needed()
        assert model.entry_by_id(appt).status == "in_consultation"  # type: ignore[union-attr]
        feed.stop()
        store_path = session.store.path
    finally:
        session.sign_out()

    # started again without the server: the cached queue is shown
    cached_model = QueueModel()
    offline = QueueFeed(model=cached_model, api=ApiClient(f"http://127.0.0.1:{free_port()}", timeout=2), hub=hub,
                        store=Store(store_path))
    with qtbot.waitSignal(offline.sig_load_failed, timeout=10000):
        offline.start()
    qtbot.waitUntil(lambda: cached_model.row_of(appt) is not None, timeout=5000)
    offline.stop()


def test_settings_round_trip_and_a_damaged_file(tmp_path: Path) -> None:
    assert WorkstationSettings.load() == WorkstationSettings()  # nothing saved yet
    s = WorkstationSettings(server_url="https://clinic.example.cn", language="en", sounds=False,
                            last_username="doctor1")
    s.save()
    assert WorkstationSettings.path().is_relative_to(tmp_path)
    assert WorkstationSettings.load() == s
    WorkstationSettings.path().write_text("{not json", encoding="utf-8")
    assert WorkstationSettings.load() == WorkstationSettings()
    WorkstationSettings.path().write_text(json.dumps({"language": "fr", "server_url": " ", "extra": 1}),
                                          encoding="utf-8")
    loaded = WorkstationSettings.load()
    assert loaded.language == "zh_CN" and loaded.server_url is None


@pytest.mark.integration
@pytest.mark.slow
def test_embedded_server_starts_with_demo_data_and_stops(tmp_path: Path) -> None:
    embedded = EmbeddedServer(base_dir=tmp_path)
    try:
        info = embedded.start(timeout=120)
        assert info.username == "doctor1" and info.url.startswith("http://127.0.0.1:")
        assert info.password == embedded.password()  # kept for the next start
        client = ApiClient(info.url)
        assert client.login(info.username, info.password)["staff"]["role"] == "doctor"
        assert (tmp_path / "embedded" / "demo-loaded").exists()
    finally:
        embedded.stop()
    assert not embedded.running
    with pytest.raises(requests.ConnectionError):
        requests.get(f"{info.url}/healthz", timeout=2)
