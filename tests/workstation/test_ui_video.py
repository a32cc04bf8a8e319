"""The video visit from the doctor's window, against the real backend and a simulated patient's phone (aiortc in a
thread of its own, as ``clinic-server simulate`` runs it): the call set up with frames decoded both ways, a screen
share and back, prescription consent, a dropped line seen as "interrupted" (panel and queue) within 5 s and
re-invited, and signalling refused to anyone but the two parties."""
from __future__ import annotations

import time
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine

from server.patient_call import PatientCallThread, decode_marker
from tests.conftest import LiveServer
from tests.workstation.ui_support import Controllers, controllers, doctor_clinic
from tests.workstation_helpers import V1, holder, waiting
from workstation.services.call import CONNECTED, ENDED, INTERRUPTED
from workstation.ui.doctor.main_window import DoctorWindow

__all__ = ["controllers"]

pytestmark = pytest.mark.integration
T = 20000


def token_of(acc: dict[str, Any]) -> str:
    return acc["headers"]["Authorization"].split(" ", 1)[1]


@pytest.fixture()
def doctor_window(live_server: LiveServer, controllers: Controllers, qtbot: Any, api: httpx.Client,
                  admin: dict[str, str]) -> tuple[DoctorWindow, dict[str, Any]]:
    clinic = doctor_clinic(api, admin)
    c = controllers.new(server_url=live_server.base_url)
    c.settings.video_source = "test_pattern"
    c.settings.audio_source = "tone"
    w = controllers.sign_in(c, clinic["username"])
    assert isinstance(w, DoctorWindow)
    w.resize(1400, 900)
    w.show()
    qtbot.waitUntil(lambda: w.connection.state == "live", timeout=T)
    return w, clinic


def size_of(phone: PatientCallThread) -> tuple[int | None, int | None]:
    video = phone.stats()["video"]
    return video["width"], video["height"]


def patient_phone(live_server: LiveServer, acc: dict[str, Any], appt: int) -> PatientCallThread:
    phone = PatientCallThread(live_server.base_url, appt, token_of(acc), agree=True, consent_delay_s=0.3,
                              reconnect_delay_s=0.2)
    return phone.start()


def test_a_video_visit_with_share_consent_drop_and_reinvite(
        live_server: LiveServer, api: httpx.Client, db_engine: Engine, doctor_window: Any, qtbot: Any) -> None:
    w, clinic = doctor_window
    acc, appt = waiting(api, db_engine, clinic)
    phone = patient_phone(live_server, acc, appt)
    try:
        qtbot.waitUntil(lambda: phone.stats()["stream_open"], timeout=T)
        qtbot.waitUntil(lambda: w.model.row_of(appt) is not None, timeout=T)
        assert w.queue_view.select(appt)
        qtbot.waitUntil(lambda: w.consult_panel.appointment_id == appt, timeout=T)

        # the doctor calls from the consultation panel: the video panel opens above the chart
        w.consult_panel.btn_accept.click()
        call, panel = w.call, w.video_panel
        assert call is not None and panel is not None and panel.isVisibleTo(w)
        qtbot.waitUntil(lambda: call.state == CONNECTED, timeout=T)
        qtbot.waitUntil(lambda: w.consult_panel.status == "in_consultation", timeout=T)

        # frames both ways, decoded: the patient's marker frames reach the doctor's screen, the doctor's test
        # pattern reaches the phone
        presented: list[tuple[int, float]] = []
        panel.view.on_presented = lambda picture, at: presented.append(
            (m.counter, at - m.sent_us / 1e6) if (m := decode_marker(picture.rgb)) else (-1, 0.0))
        qtbot.waitUntil(lambda: len([c for c, _ in presented if c >= 0]) >= 30, timeout=T)
        counters = [c for c, _ in presented if c >= 0]
        assert counters == sorted(counters) and len(set(counters)) == len(counters)
        qtbot.waitUntil(lambda: phone.stats()["video"]["frames"] >= 30, timeout=T)
        assert size_of(phone) == (640, 480)
        assert phone.stats()["audio"]["frames"] > 0 and phone.stats()["echoes"] > 0
        assert panel.view.local is not None  # the doctor's own picture, small
        qtbot.waitUntil(lambda: panel.lbl_quality.text() != "", timeout=T)  # the line's quality is shown
        assert "帧/秒" in panel.lbl_quality.text() or "fps" in panel.lbl_quality.text()
        qtbot.waitUntil(lambda: panel.lbl_duration.text() not in ("", "00:00"), timeout=T)

        # screen share: the sender's track is swapped for the screen, the call goes on, and back
        from workstation.services.media.sources import share_targets
        screen = next(t for t in share_targets() if t.window is None)
        call.share(screen)
        geometry = screen.screen().geometry()
        size = (geometry.width(), geometry.height())
        qtbot.waitUntil(lambda: size_of(phone) not in ((640, 480), (None, None)), timeout=T)
        shared = size_of(phone)
        assert abs(shared[0] / shared[1] - size[0] / size[1]) < 0.02  # the screen's shape, not the camera's
        assert call.state == CONNECTED and panel.btn_share.text() == "停止共享"
        panel.btn_share.click()  # stop sharing
        qtbot.waitUntil(lambda: size_of(phone) == (640, 480), timeout=T)
        assert call.state == CONNECTED and len(phone.stats()["segments"]) == 1

        # prescription consent: asked during the call, answered on the phone, recorded with time and version
        assert panel.btn_consent.isEnabled()
        panel.btn_consent.click()
        qtbot.waitUntil(lambda: (call.consent or {}).get("state") == "consented", timeout=T)
        assert "已同意" in panel.lbl_consent.text()
        with db_engine.connect() as conn:
            row = conn.execute(text("SELECT state, version, answered_at FROM consent_requests "
                                    "WHERE appointment_id = :a"), {"a": appt}).mappings().one()
        assert row["state"] == "consented" and row["version"] == call.consent["version"] \
            and row["answered_at"] is not None

        # the line drops (the phone goes out of coverage): "interrupted" on the panel and in the queue within 5 s
        dropped_at = time.monotonic()
        phone.drop(offline_s=None)
        qtbot.waitUntil(lambda: call.state == INTERRUPTED, timeout=5000)
        qtbot.waitUntil(lambda: w.model.entry_by_id(appt).state == "interrupted", timeout=5000)  # type: ignore
        assert time.monotonic() - dropped_at < 5.0
        assert panel.btn_reinvite.isVisibleTo(w) and "中断" in panel.view.message

        # the phone is back; the doctor invites again: a second segment, connected
        phone.reconnect()
        qtbot.waitUntil(lambda: phone.stats()["stream_open"], timeout=T)
        panel.btn_reinvite.click()
        qtbot.waitUntil(lambda: call.state == CONNECTED, timeout=T)
        qtbot.waitUntil(lambda: w.model.entry_by_id(appt).state == "in_consultation", timeout=T)  # type: ignore
        before = phone.stats()["video"]["frames"]
        qtbot.waitUntil(lambda: phone.stats()["video"]["frames"] > before + 15, timeout=T)

        # the doctor ends the call: the visit keeps every segment, with how each ended
        panel.btn_end.click()
        qtbot.waitUntil(lambda: call.state == ENDED, timeout=T)
        qtbot.waitUntil(lambda: len((call.call_info or {}).get("segments") or []) == 2
                        and call.call_info["segments"][-1]["state"] == "ended", timeout=T)
        first, second = call.call_info["segments"]
        assert first["connected_at"] and first["interrupted_at"] and first["ended_at"]
        assert first["end_reason"] in ("patient_left", "line_dropped")
        assert second["connected_at"] and second["end_reason"] == "doctor_ended"
    finally:
        phone.stop()


def test_signalling_is_refused_to_strangers(live_server: LiveServer, api: httpx.Client, db_engine: Engine,
                                            admin: dict[str, str], doctor_window: Any, qtbot: Any) -> None:
    """Only the appointment's doctor and account may signal: another doctor and another account get the same
    answer as for an appointment that does not exist, and nothing reaches the call."""
    w, clinic = doctor_window
    _acc, appt = waiting(api, db_engine, clinic)
    qtbot.waitUntil(lambda: w.model.row_of(appt) is not None, timeout=T)
    w.queue_view.select(appt)
    qtbot.waitUntil(lambda: w.consult_panel.appointment_id == appt, timeout=T)
    call = w.open_call(appt)
    assert call is not None
    qtbot.waitUntil(lambda: call.line is not None and call.state not in ("idle", "calling"), timeout=T)
    segment = call.line.segment_id
    fake_offer = {"segment_id": segment, "type": "answer", "description": {"type": "answer", "sdp": "v=0\r\n"}}

    other = doctor_clinic(api, admin)
    r = api.post(f"{V1}/staff/auth/login", json={"username": other["username"], "password": "Ui-test-pass-2026"})
    other_doctor = {"Authorization": f"Bearer {r.json()['token']}"}
    stranger = holder(api, db_engine, name="王路人")
    for headers, path in ((other_doctor, f"{V1}/staff/appointments/{appt}/call/signals"),
                          (stranger["headers"], f"{V1}/appointments/{appt}/call/signals"),
                          (stranger["headers"], f"{V1}/appointments/{appt}/call")):
        body = dict(fake_offer, type="offer") if "/staff/" in path else fake_offer
        r = api.post(path, headers=headers, json=body) if path.endswith("signals") else api.get(path, headers=headers)
        assert r.status_code == 404 and r.json()["code"] == "not_found", (path, r.text)
    with api.stream("GET", f"{V1}/appointments/{appt}/call/events", headers=stranger["headers"]) as r:
        assert r.status_code == 404
    time.sleep(0.5)
    assert call.state in ("ringing", "calling")  # no forged answer got through
    call.hang_up()
    qtbot.waitUntil(lambda: call.state == ENDED, timeout=T)


def test_media_lost_with_the_page_still_open_is_seen_by_the_heartbeat(
        live_server: LiveServer, api: httpx.Client, db_engine: Engine, doctor_window: Any, qtbot: Any) -> None:
    """The phone's page stays open (its call stream too) but the media path dies without a word: only the doctor's
    heartbeat and the missing pictures can tell. The segment is reported interrupted (``line_dropped``) within
    5 s and the queue shows it."""
    w, clinic = doctor_window
    acc, appt = waiting(api, db_engine, clinic)
    phone = patient_phone(live_server, acc, appt)
    try:
        qtbot.waitUntil(lambda: phone.stats()["stream_open"] and w.model.row_of(appt) is not None, timeout=T)
        w.queue_view.select(appt)
        qtbot.waitUntil(lambda: w.consult_panel.appointment_id == appt, timeout=T)
        menu = w.queue_view.call_menu(appt)  # the queue row's context menu calls too
        action = menu.actions()[0]
        assert action.text() == "视频呼叫" and action.isEnabled()
        action.trigger()
        call = w.call
        assert call is not None and call.appointment_id == appt
        qtbot.waitUntil(lambda: call.state == CONNECTED and call.remote.received > 10, timeout=T)
        lost_at = time.monotonic()
        phone._submit(lambda: phone.call._close_peer("media path lost", silent=True), 10)
        qtbot.waitUntil(lambda: call.state == INTERRUPTED, timeout=5000)
        assert call.reason == "line_dropped" and time.monotonic() - lost_at < 5.0
        qtbot.waitUntil(lambda: w.model.entry_by_id(appt).state == "interrupted", timeout=T)  # type: ignore
        assert phone.stats()["stream_open"]  # the page never closed: this was the heartbeat's catch
        qtbot.waitUntil(lambda: ((call.call_info or {}).get("segment") or {}).get("end_reason") == "line_dropped",
                        timeout=T)
    finally:
        phone.stop()
