"""The video visit through the live server: the doctor's call, signalling both ways through the streams,
the state the doctor's client reports, prescription consent, presence on the waiting page, ``no_answer``."""
from __future__ import annotations

import datetime as dt
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from tests.booking_helpers import admin_headers, appointment_row, db_staff, wait_for
from tests.conftest import LiveServer
from tests.test_events import StreamReader, events_only, open_stream
from tests.workstation_helpers import (
    ABSENT,
    V1,
    booked,
    doctor_today,
    events_of,
    in_consultation,
    new_key,
    now,
    waiting,
)

SDP_OFFER = ("v=0\r\no=- 4611731400430051336 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 0\r\n"
             "m=video 9 UDP/TLS/RTP/SAVPF 96\r\nc=IN IP4 0.0.0.0\r\na=mid:0\r\na=sendrecv\r\n")
SDP_ANSWER = SDP_OFFER.replace("a=sendrecv", "a=recvonly")
OFFER = {"type": "offer", "sdp": SDP_OFFER}
ANSWER = {"type": "answer", "sdp": SDP_ANSWER}
CANDIDATE = {"candidate": "candidate:1 1 udp 2122260223 192.168.1.20 54400 typ host", "sdpMid": "0",
             "sdpMLineIndex": 0}
RECORD = {"diagnosis_code": "E11.9", "diagnosis_name": "2型糖尿病", "notes": "视频复诊，继续原方案。"}


@pytest.fixture(scope="module")
def admin(live_server: LiveServer, db_engine: Engine) -> dict[str, str]:
    with live_server.client() as api:
        return admin_headers(api, db_engine)


@pytest.fixture()
def clinic(api: httpx.Client, admin: dict[str, str], db_engine: Engine) -> dict[str, Any]:
    return doctor_today(api, admin, db_engine)


# --- helpers ---------------------------------------------------------------------------------------------------


def staff_url(appt: int, action: str) -> str:
    return f"{V1}/staff/appointments/{appt}/{action}"


def patient_url(appt: int, action: str) -> str:
    return f"{V1}/appointments/{appt}/{action}"


@contextmanager
def call_stream(server: LiveServer, headers: dict[str, str], appt: int, *, after: int | None = None
                ) -> Iterator[StreamReader]:
    """The patient's waiting-page stream; leaving the block closes the connection (the patient leaves)."""
    params = {"after": after} if after is not None else {}
    with httpx.Client(base_url=server.base_url, timeout=httpx.Timeout(10, read=10)) as client, \
            client.stream("GET", patient_url(appt, "call/events"), headers=headers, params=params) as response:
        assert response.status_code == 200, response.read()
        assert response.headers["content-type"].startswith("text/event-stream")
        yield StreamReader(response)


def kind_is(kind: str, **payload: Any) -> Any:
    return lambda f: f.event == kind and all(f.data["payload"].get(k) == v for k, v in payload.items())


def call(api: httpx.Client, clinic: dict[str, Any], appt: int, **kw: Any) -> dict[str, Any]:
    r = api.post(staff_url(appt, "call"), headers=clinic["headers"], **kw)
    assert r.status_code == 201, r.text
    return r.json()


def doctor_signal(api: httpx.Client, clinic: dict[str, Any], appt: int, body: dict[str, Any]) -> httpx.Response:
    return api.post(staff_url(appt, "call/signals"), headers=clinic["headers"], json=body)


def report(api: httpx.Client, clinic: dict[str, Any], appt: int, segment_id: int, state: str,
           reason: str | None = None) -> httpx.Response:
    return api.post(staff_url(appt, "call/state"), headers=clinic["headers"],
                    json={"segment_id": segment_id, "state": state, "reason": reason})


def call_of(api: httpx.Client, clinic: dict[str, Any], appt: int) -> dict[str, Any]:
    r = api.get(staff_url(appt, "call"), headers=clinic["headers"])
    assert r.status_code == 200, r.text
    return r.json()


def newest_state(api: httpx.Client, clinic: dict[str, Any], appt: int) -> tuple[str, str | None]:
    seg = call_of(api, clinic, appt)["segment"]
    return seg["state"], seg["end_reason"]


def counts(db_engine: Engine, appt: int) -> tuple[int, int, int]:
    """(call segments, consent requests, events) of the appointment: what a refused request must not change."""
    from server.events.models import Event
    from server.video.models import CallSegment, ConsentRequest

    with Session(db_engine) as s:
        return tuple(s.execute(select(func.count()).select_from(model).where(col == appt)).scalar_one()
                     for model, col in ((CallSegment, CallSegment.appointment_id),
                                        (ConsentRequest, ConsentRequest.appointment_id),
                                        (Event, Event.object_id)))  # type: ignore[return-value]


def audited(db_engine: Engine, appt: int, action: str) -> int:
    from server.audit.models import AuditEntry

    with Session(db_engine) as s:
        return s.execute(select(func.count()).select_from(AuditEntry)
                         .where(AuditEntry.object_type == "appointment", AuditEntry.object_id == appt,
                                AuditEntry.action == action)).scalar_one()


# --- the whole visit -------------------------------------------------------------------------------------------


def test_a_video_visit_from_the_call_to_consent(live_server: LiveServer, api: httpx.Client, db_engine: Engine,
                                                clinic: dict[str, Any]) -> None:
    doc = clinic["headers"]
    acc, appt = waiting(api, db_engine, clinic)
    pat = acc["headers"]
    with open_stream(live_server, doc) as staff, call_stream(live_server, pat, appt) as page:
        staff.live()
        page.live()

        # the queue's "call" accepts the waiting patient and rings
        started = call(api, clinic, appt)
        seg = started["segment"]
        assert started["appointment_id"] == appt and started["state"] == "invited"
        assert seg["seq"] == 1 and seg["state"] == "invited" and seg["offer"] is None
        assert seg["invited_at"].endswith("+08:00") and seg["end_reason"] is None
        assert started["segments"] == [seg] and started["ice_servers"] == []
        assert appointment_row(db_engine, appt)["status"] == "in_consultation"
        queue = {row["id"]: row for row in api.get(f"{V1}/staff/queue", headers=doc).json()}
        assert queue[appt]["call_state"] == "invited" and queue[appt]["status"] == "in_consultation"

        # the offer reaches the waiting page (and a reloaded page finds it on the call)
        r = doctor_signal(api, clinic, appt, {"segment_id": seg["id"], "type": "offer", "description": OFFER})
        assert r.status_code == 202 and r.json()["id"] > 0, r.text
        frames = page.until(kind_is("call.signal", type="offer"))
        kinds = [f.event for f in events_only(frames)]
        assert kinds == ["call.invited", "call.signal"], kinds  # nothing else of the appointment's
        invited, offer = events_only(frames)
        assert invited.data["payload"] == {"appointment_id": appt, "segment_id": seg["id"], "seq": 1,
                                           "state": "invited", "reason": None}
        assert offer.id == r.json()["id"]
        assert offer.data["payload"] == {"appointment_id": appt, "segment_id": seg["id"], "from": "doctor",
                                         "type": "offer", "description": OFFER, "candidate": None}
        found = api.get(patient_url(appt, "call"), headers=pat)
        assert found.status_code == 200 and found.json()["segment"]["offer"] == OFFER

        # the answer and the patient's candidates reach the doctor, never the doctor's own signals
        r = api.post(patient_url(appt, "call/signals"), headers=pat,
                     json={"segment_id": seg["id"], "type": "answer", "description": ANSWER})
        assert r.status_code == 202, r.text
        for candidate in (CANDIDATE, None):
            c = api.post(patient_url(appt, "call/signals"), headers=pat,
                         json={"segment_id": seg["id"], "type": "candidate", "candidate": candidate})
            assert c.status_code == 202, c.text
        frames = events_only(staff.until(lambda f: f.event == "call.signal" and f.data["payload"]["type"]
                                         == "candidate" and f.data["payload"]["candidate"] is None))
        signals = [f.data["payload"] for f in frames if f.event == "call.signal"]
        assert [(s["from"], s["type"]) for s in signals] == [("patient", "answer"), ("patient", "candidate"),
                                                             ("patient", "candidate")]
        assert signals[0]["description"] == ANSWER and signals[1]["candidate"] == CANDIDATE
        assert "call.invited" in [f.event for f in frames]
        # an answer alone does not connect: the doctor's client says when media flows
        assert newest_state(api, clinic, appt) == ("invited", None)

        r = report(api, clinic, appt, seg["id"], "connected")
        assert r.status_code == 200 and r.json()["state"] == "connected", r.text
        assert r.json()["segment"]["connected_at"] is not None
        staff.until(kind_is("call.connected", segment_id=seg["id"]))
        page.until(kind_is("call.connected", segment_id=seg["id"]))
        before = counts(db_engine, appt)
        again = report(api, clinic, appt, seg["id"], "connected")
        assert again.status_code == 200 and again.json() == r.json()
        assert counts(db_engine, appt) == before  # the same state again: nothing written

        # prescription consent, asked once, answered once with the version shown
        asked = api.post(staff_url(appt, "consent-requests"), headers=doc)
        assert asked.status_code == 201, asked.text
        request = asked.json()
        assert request["state"] == "requested" and request["answered_at"] is None
        assert "处方" in request["text"] and request["version"] >= 1
        twice = api.post(staff_url(appt, "consent-requests"), headers=doc)
        assert twice.status_code == 200 and twice.json() == request
        requested = page.until(kind_is("consent.requested"))[-1]
        assert requested.data["payload"] == {"appointment_id": appt, "request_id": request["id"],
                                             "version": request["version"]}
        shown = api.get(patient_url(appt, "consent"), headers=pat)
        assert shown.status_code == 200 and shown.json() == request

        before = counts(db_engine, appt)
        wrong = api.post(patient_url(appt, "consent"), headers=pat,
                         json={"request_id": request["id"], "version": request["version"] + 1, "agree": True})
        assert wrong.status_code == 409 and wrong.json()["code"] == "consent_version_mismatch", wrong.text
        assert "同意书" in wrong.json()["message"]
        assert counts(db_engine, appt) == before
        assert api.get(patient_url(appt, "consent"), headers=pat).json()["state"] == "requested"

        t0 = now()
        yes = api.post(patient_url(appt, "consent"), headers=pat,
                       json={"request_id": request["id"], "version": request["version"], "agree": True})
        assert yes.status_code == 200, yes.text
        answered = yes.json()
        assert answered["state"] == "consented" and answered["version"] == request["version"]
        assert dt.datetime.fromisoformat(answered["answered_at"]) >= t0 - dt.timedelta(seconds=1)
        assert answered["answered_at"].endswith("+08:00")
        late = api.post(patient_url(appt, "consent"), headers=pat,
                        json={"request_id": request["id"], "version": request["version"], "agree": False})
        assert late.status_code == 409 and late.json()["code"] == "consent_already_answered"
        staff_view = api.get(staff_url(appt, "consent"), headers=doc)
        assert staff_view.status_code == 200 and staff_view.json() == answered
        got = staff.until(kind_is("consent.answered"))[-1].data["payload"]
        assert got == {"appointment_id": appt, "request_id": request["id"], "version": request["version"],
                       "agree": True, "answered_at": got["answered_at"]}

        # finishing the visit closes the call
        done = api.post(staff_url(appt, "finish"), headers=doc, json=RECORD)
        assert done.status_code == 200, done.text
        page.until(kind_is("call.ended", reason="visit_finished"))
    assert newest_state(api, clinic, appt) == ("ended", "visit_finished")

    # state changes are audited, signalling is not
    for action in ("call.invited", "call.connected", "call.ended", "consent.requested", "consent.answered"):
        assert audited(db_engine, appt, action) == 1, action
    assert audited(db_engine, appt, "call.signal") == 0
    signal_events = events_of(db_engine, object_type="appointment", object_id=appt, kind="call.signal")
    assert len(signal_events) == 4
    # each signal is addressed to the other side only
    assert {(e.payload["from"], e.doctor_id, e.account_id) for e in signal_events} == {
        ("doctor", None, acc["account_id"]), ("patient", clinic["id"], None)}


def test_a_reinvite_ends_the_open_segment_and_keeps_them_all(api: httpx.Client, db_engine: Engine,
                                                             clinic: dict[str, Any]) -> None:
    acc, appt = in_consultation(api, db_engine, clinic)
    first = call(api, clinic, appt)["segment"]
    second = call(api, clinic, appt)
    assert [(s["seq"], s["state"], s["end_reason"]) for s in second["segments"]] == [
        (1, "ended", "reinvited"), (2, "invited", None)]
    seg2 = second["segment"]
    r = report(api, clinic, appt, seg2["id"], "interrupted", "failed")
    assert r.status_code == 200 and r.json()["segment"]["end_reason"] == "failed"
    assert r.json()["segment"]["interrupted_at"] is not None
    third = call(api, clinic, appt)
    # an interrupted segment ends with its interruption's reason
    assert [(s["seq"], s["state"], s["end_reason"]) for s in third["segments"]] == [
        (1, "ended", "reinvited"), (2, "ended", "failed"), (3, "invited", None)]
    assert third["segments"][0]["id"] == first["id"]
    assert api.get(patient_url(appt, "call"), headers=acc["headers"]).json()["segments"] == third["segments"]
    # the old segments take no more signalling
    before = counts(db_engine, appt)
    for seg_id in (first["id"], seg2["id"]):
        r = doctor_signal(api, clinic, appt, {"segment_id": seg_id, "type": "candidate", "candidate": CANDIDATE})
        assert r.status_code == 409 and r.json()["code"] == "call_segment_closed", r.text
        r = api.post(patient_url(appt, "call/signals"), headers=acc["headers"],
                     json={"segment_id": seg_id, "type": "answer", "description": ANSWER})
        assert r.status_code == 409 and r.json()["code"] == "call_segment_closed"
    assert counts(db_engine, appt) == before
    # the patient hangs up the ringing one
    r = api.post(patient_url(appt, "call/signals"), headers=acc["headers"],
                 json={"segment_id": third["segment"]["id"], "type": "hangup"})
    assert r.status_code == 202, r.text
    assert newest_state(api, clinic, appt) == ("ended", "patient_hung_up")
    # the doctor reports what it saw, and hangs up a connected one
    seg4 = call(api, clinic, appt)["segment"]
    assert report(api, clinic, appt, seg4["id"], "connected").status_code == 200
    r = report(api, clinic, appt, seg4["id"], "interrupted")
    assert r.status_code == 200 and r.json()["segment"]["end_reason"] == "line_dropped"
    again = report(api, clinic, appt, seg4["id"], "connected")
    assert again.status_code == 409 and again.json()["code"] == "invalid_state", again.text
    r = doctor_signal(api, clinic, appt, {"segment_id": seg4["id"], "type": "hangup"})
    assert r.status_code == 202
    assert newest_state(api, clinic, appt) == ("ended", "line_dropped")
    seg5 = call(api, clinic, appt)["segment"]
    assert doctor_signal(api, clinic, appt, {"segment_id": seg5["id"], "type": "hangup"}).status_code == 202
    assert newest_state(api, clinic, appt) == ("ended", "doctor_ended")
    assert [s["seq"] for s in call_of(api, clinic, appt)["segments"]] == [1, 2, 3, 4, 5]


def test_calling_is_the_accept_and_needs_a_patient_who_checked_in(api: httpx.Client, db_engine: Engine,
                                                                  clinic: dict[str, Any]) -> None:
    _, not_in = booked(api, db_engine, clinic)
    before = counts(db_engine, not_in)
    r = api.post(staff_url(not_in, "call"), headers=clinic["headers"])
    assert r.status_code == 409 and r.json()["code"] == "invalid_state" and "签到" in r.json()["message"]
    assert counts(db_engine, not_in) == before and appointment_row(db_engine, not_in)["status"] == "booked"
    r = api.get(staff_url(not_in, "call"), headers=clinic["headers"])
    assert r.status_code == 404 and r.json()["code"] == "no_call"
    _, appt = waiting(api, db_engine, clinic)
    call(api, clinic, appt)
    queue = {row["id"]: row for row in api.get(f"{V1}/staff/queue", headers=clinic["headers"]).json()}
    assert queue[appt]["call_state"] == "invited" and queue.get(not_in) is None


def test_an_idempotent_call_rings_once(api: httpx.Client, db_engine: Engine, clinic: dict[str, Any]) -> None:
    _, appt = waiting(api, db_engine, clinic)
    key = new_key()
    first = api.post(staff_url(appt, "call"), headers={**clinic["headers"], "Idempotency-Key": key})
    assert first.status_code == 201, first.text
    replay = api.post(staff_url(appt, "call"), headers={**clinic["headers"], "Idempotency-Key": key})
    assert replay.status_code == 201 and replay.headers.get("Idempotent-Replayed") == "true"
    assert replay.json() == first.json()
    assert len(call_of(api, clinic, appt)["segments"]) == 1
    assert len(events_of(db_engine, object_type="appointment", object_id=appt, kind="call.invited")) == 1
    # a signal retried with its key is delivered once
    seg = first.json()["segment"]["id"]
    body = {"segment_id": seg, "type": "offer", "description": OFFER}
    sent = [doctor_signal(api, clinic, appt, body)]
    headers = {**clinic["headers"], "Idempotency-Key": new_key()}
    sent += [api.post(staff_url(appt, "call/signals"), headers=headers, json=body) for _ in range(2)]
    assert [r.status_code for r in sent] == [202, 202, 202] and sent[1].json() == sent[2].json()
    assert len(events_of(db_engine, object_type="appointment", object_id=appt, kind="call.signal")) == 2


def test_bad_signals_and_reports_are_refused_and_change_nothing(api: httpx.Client, db_engine: Engine,
                                                                clinic: dict[str, Any]) -> None:
    acc, appt = in_consultation(api, db_engine, clinic)
    pat = acc["headers"]
    seg = call(api, clinic, appt)["segment"]["id"]
    before = counts(db_engine, appt)
    validation = [  # refused by the schema
        {"segment_id": seg, "type": "ring"},
        {"segment_id": seg, "type": "answer", "description": ANSWER},  # the doctor never answers
        {"segment_id": seg, "type": "offer", "description": {"type": "pranswer", "sdp": SDP_OFFER}},
        {"segment_id": seg, "type": "offer", "description": {"type": "offer", "sdp": "v=0\x00"}},
        {"segment_id": seg, "type": "offer", "description": {"type": "offer", "sdp": "x" * 100_001}},
        {"segment_id": 0, "type": "hangup"},
        {"type": "hangup"},
    ]
    for body in validation:
        r = doctor_signal(api, clinic, appt, body)
        assert r.status_code == 422 and r.json()["code"] == "validation_error", (body, r.text)
    incomplete = [
        {"segment_id": seg, "type": "offer"},
        {"segment_id": seg, "type": "offer", "description": ANSWER},
        {"segment_id": seg, "type": "candidate"},
        {"segment_id": seg, "type": "hangup", "candidate": CANDIDATE},
        {"segment_id": seg, "type": "candidate", "candidate": CANDIDATE, "description": OFFER},
    ]
    for body in incomplete:
        r = doctor_signal(api, clinic, appt, body)
        assert r.status_code == 422 and r.json()["code"] == "signal_invalid", (body, r.text)
        assert r.json()["message"]
    r = api.post(patient_url(appt, "call/signals"), headers=pat, json={"segment_id": seg, "type": "offer",
                                                                      "description": OFFER})
    assert r.status_code == 422  # the patient never offers
    r = api.post(patient_url(appt, "call/signals"), headers=pat, json={"segment_id": seg, "type": "answer"})
    assert r.status_code == 422 and r.json()["code"] == "signal_invalid"
    # a segment of another appointment answers like an absent one
    _, other = in_consultation(api, db_engine, clinic)
    theirs = call(api, clinic, other)["segment"]["id"]
    for seg_id in (theirs, ABSENT):
        r = doctor_signal(api, clinic, appt, {"segment_id": seg_id, "type": "hangup"})
        assert r.status_code == 404 and r.json()["code"] == "not_found", r.text
    for body in ({"segment_id": seg, "state": "ended"}, {"segment_id": seg, "state": "interrupted",
                                                         "reason": "patient_left"}):
        r = api.post(staff_url(appt, "call/state"), headers=clinic["headers"], json=body)
        assert r.status_code == 422, (body, r.text)
    r = api.post(staff_url(appt, "consent-requests"), headers=clinic["headers"])
    assert r.status_code == 409 and r.json()["code"] == "call_not_connected", r.text
    r = api.get(staff_url(appt, "consent"), headers=clinic["headers"])
    assert r.status_code == 404 and r.json()["code"] == "no_consent"
    assert counts(db_engine, appt) == before
    # a candidate on a closed segment
    assert doctor_signal(api, clinic, appt, {"segment_id": seg, "type": "hangup"}).status_code == 202
    before = counts(db_engine, appt)
    r = doctor_signal(api, clinic, appt, {"segment_id": seg, "type": "candidate", "candidate": CANDIDATE})
    assert r.status_code == 409 and r.json()["code"] == "call_segment_closed"
    assert r.json()["details"] == {"segment_id": seg, "state": "ended"}
    r = report(api, clinic, appt, seg, "connected")
    assert r.status_code == 409 and r.json()["code"] == "invalid_state"
    r = doctor_signal(api, clinic, appt, {"segment_id": seg, "type": "hangup"})
    assert r.status_code == 409 and r.json()["code"] == "call_segment_closed"
    assert counts(db_engine, appt) == before


# --- who sees what -----------------------------------------------------------------------------------------------


def test_strangers_get_nothing_and_see_nothing(live_server: LiveServer, api: httpx.Client, db_engine: Engine,
                                               admin: dict[str, str], clinic: dict[str, Any]) -> None:
    acc, appt = in_consultation(api, db_engine, clinic)
    other_doctor = doctor_today(api, admin, db_engine)
    stranger, neighbour_appt = waiting(api, db_engine, clinic)  # same doctor, own appointment
    clerk, pharmacist = db_staff(db_engine, role="clerk"), db_staff(db_engine, role="pharmacist")
    seg = call(api, clinic, appt)["segment"]["id"]
    assert report(api, clinic, appt, seg, "connected").status_code == 200
    before = counts(db_engine, appt)

    staff_routes = [("POST", "call", None), ("GET", "call", None),
                    ("POST", "call/signals", {"segment_id": seg, "type": "hangup"}),
                    ("POST", "call/state", {"segment_id": seg, "state": "interrupted"}),
                    ("POST", "consent-requests", None), ("GET", "consent", None)]
    for method, action, body in staff_routes:
        theirs = api.request(method, staff_url(appt, action), headers=other_doctor["headers"], json=body)
        absent = api.request(method, staff_url(ABSENT, action), headers=other_doctor["headers"], json=body)
        assert theirs.status_code == absent.status_code == 404 and theirs.json() == absent.json(), action
        for headers in (clerk, pharmacist, admin):
            r = api.request(method, staff_url(appt, action), headers=headers, json=body)
            assert r.status_code == 403 and r.json()["code"] == "role_forbidden", (action, r.text)
        r = api.request(method, staff_url(appt, action), headers=acc["headers"], json=body)
        assert r.status_code == 401, action
    patient_routes = [("GET", "call", None), ("POST", "call/signals", {"segment_id": seg, "type": "hangup"}),
                      ("GET", "consent", None),
                      ("POST", "consent", {"request_id": 1, "version": 1, "agree": True}),
                      ("GET", "call/events", None)]
    for method, action, body in patient_routes:
        theirs = api.request(method, patient_url(appt, action), headers=stranger["headers"], json=body)
        absent = api.request(method, patient_url(ABSENT, action), headers=stranger["headers"], json=body)
        assert theirs.status_code == absent.status_code == 404 and theirs.json() == absent.json(), action
        assert api.request(method, patient_url(appt, action), headers=clinic["headers"],
                           json=body).status_code == 401
        assert api.request(method, patient_url(appt, action), json=body).status_code == 401
    assert counts(db_engine, appt) == before and newest_state(api, clinic, appt) == ("connected", None)

    # their streams: the other doctor, the neighbour's waiting page and the admin see none of the call's
    # signalling (the admin gets the state changes, as of every appointment)
    with open_stream(live_server, other_doctor["headers"]) as other_staff, \
            open_stream(live_server, admin) as admin_stream, \
            call_stream(live_server, stranger["headers"], neighbour_appt) as neighbour, \
            call_stream(live_server, acc["headers"], appt) as page:
        for s in (other_staff, admin_stream, neighbour, page):
            s.live()
        assert doctor_signal(api, clinic, appt, {"segment_id": seg, "type": "candidate",
                                                 "candidate": CANDIDATE}).status_code == 202
        r = api.post(patient_url(appt, "call/signals"), headers=acc["headers"],
                     json={"segment_id": seg, "type": "candidate", "candidate": CANDIDATE})
        assert r.status_code == 202
        assert api.post(staff_url(appt, "consent-requests"), headers=clinic["headers"]).status_code == 201
        # a marker on the other streams, written after the call's events: all the call's were read by then
        marker = call(api, other_doctor, in_consultation(api, db_engine, other_doctor)[1])["segment"]["id"]
        neighbour_marker = call(api, clinic, neighbour_appt)["segment"]["id"]
        page.until(kind_is("consent.requested"))
        mine = [f for f in events_only(other_staff.until(kind_is("call.invited", segment_id=marker)))
                if f.data["object_id"] == appt]
        assert mine == []
        seen = events_only(neighbour.until(kind_is("call.invited", segment_id=neighbour_marker)))
        assert [f for f in seen if f.data["object_id"] != neighbour_appt] == []
        seen = events_only(admin_stream.until(kind_is("call.invited", segment_id=neighbour_marker)))
        assert "consent.requested" in [f.event for f in seen if f.data["object_id"] == appt]
        assert [f for f in seen if f.event == "call.signal"] == []


# --- presence ------------------------------------------------------------------------------------------------------


def test_leaving_the_waiting_page_interrupts_the_call_within_two_seconds(
        live_server: LiveServer, api: httpx.Client, db_engine: Engine, clinic: dict[str, Any]) -> None:
    acc, appt = in_consultation(api, db_engine, clinic)
    with open_stream(live_server, clinic["headers"]) as staff:
        staff.live()
        with call_stream(live_server, acc["headers"], appt) as page:
            page.live()
            seg = call(api, clinic, appt)["segment"]["id"]
            page.until(kind_is("call.invited", segment_id=seg))
            t0 = time.monotonic()
        wait_for(lambda: newest_state(api, clinic, appt) == ("interrupted", "patient_left"),
                 what="the call to be interrupted", deadline_s=5)
        assert time.monotonic() - t0 < 2.0
        frame = staff.until(kind_is("call.interrupted", segment_id=seg))[-1]
        assert frame.data["payload"] == {"appointment_id": appt, "segment_id": seg, "seq": 1,
                                         "state": "interrupted", "reason": "patient_left"}
    # leaving a page without a ringing or connected call changes nothing
    with call_stream(live_server, acc["headers"], appt) as page:
        page.live()
    time.sleep(0.5)
    assert newest_state(api, clinic, appt) == ("interrupted", "patient_left")
    assert len(events_of(db_engine, object_type="appointment", object_id=appt, kind="call.interrupted")) == 1


KILLED_CLIENT = """
import sys, httpx
with httpx.stream("GET", sys.argv[1], headers={"Authorization": sys.argv[2]}, timeout=None) as r:
    for line in r.iter_lines():
        if line == "event: cursor":
            print("open", flush=True)
"""


def test_a_killed_client_is_noticed_at_once(live_server: LiveServer, api: httpx.Client, db_engine: Engine,
                                           clinic: dict[str, Any]) -> None:
    acc, appt = in_consultation(api, db_engine, clinic)
    seg = call(api, clinic, appt)["segment"]["id"]
    assert report(api, clinic, appt, seg, "connected").status_code == 200
    proc = subprocess.Popen([sys.executable, "-c", KILLED_CLIENT,
                             f"{live_server.base_url}{patient_url(appt, 'call/events')}",
                             acc["headers"]["Authorization"]], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "open"
        time.sleep(0.3)
        assert newest_state(api, clinic, appt) == ("connected", None)
        t0 = time.monotonic()
        proc.kill()
        proc.wait(timeout=10)
        wait_for(lambda: newest_state(api, clinic, appt) == ("interrupted", "patient_left"),
                 what="the call to be interrupted", deadline_s=5)
        assert time.monotonic() - t0 < 2.0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_a_reloaded_page_keeps_the_call_only_the_last_close_counts(
        live_server: LiveServer, api: httpx.Client, db_engine: Engine, clinic: dict[str, Any]) -> None:
    acc, appt = in_consultation(api, db_engine, clinic)
    with call_stream(live_server, acc["headers"], appt) as new_page:
        new_page.live()
        with call_stream(live_server, acc["headers"], appt) as old_page:
            old_page.live()
            seg = call(api, clinic, appt)["segment"]["id"]
            old_page.until(kind_is("call.invited", segment_id=seg))
        time.sleep(1.0)  # the old page's close was seen (the test above: well within 1 s) and counted nothing
        assert newest_state(api, clinic, appt) == ("invited", None)
        # the new page resumes from a cursor and finds the call's event
        new_page.until(kind_is("call.invited", segment_id=seg))
    wait_for(lambda: newest_state(api, clinic, appt) == ("interrupted", "patient_left"),
             what="the call to be interrupted", deadline_s=2)


def _lease(db_engine: Engine, appt: int, *, expires_in_s: float) -> None:
    from server.video.models import CallPresence

    with Session(db_engine) as s, s.begin():
        s.add(CallPresence(appointment_id=appt, opened_at=now(),
                           expires_at=now() + dt.timedelta(seconds=expires_in_s)))


def test_a_dead_workers_lease_lapses(live_server: LiveServer, api: httpx.Client, db_engine: Engine,
                                     clinic: dict[str, Any]) -> None:
    """A stream whose process died never closes: its lease is not renewed, counts until it lapses, and then
    the scheduler interrupts the call; a lapsed lease never keeps a patient present."""
    acc, appt = in_consultation(api, db_engine, clinic)
    seg = call(api, clinic, appt)["segment"]["id"]
    _lease(db_engine, appt, expires_in_s=2.5)  # a stream of a worker that was killed a moment ago
    time.sleep(1.5)
    assert newest_state(api, clinic, appt) == ("invited", None)
    wait_for(lambda: newest_state(api, clinic, appt) == ("interrupted", "patient_left"),
             what="the lapsed lease to be settled", deadline_s=5)
    from server.video.models import CallPresence

    with Session(db_engine) as s:
        assert s.execute(select(func.count()).select_from(CallPresence)
                         .where(CallPresence.appointment_id == appt)).scalar_one() == 0

    # an open page next to a lapsed lease: closing the page is leaving
    seg = call(api, clinic, appt)["segment"]["id"]
    with call_stream(live_server, acc["headers"], appt) as page:
        page.live()
        _lease(db_engine, appt, expires_in_s=-1)
    wait_for(lambda: newest_state(api, clinic, appt) == ("interrupted", "patient_left"),
             what="the call to be interrupted", deadline_s=2)
    assert call_of(api, clinic, appt)["segment"]["id"] == seg


# --- no answer --------------------------------------------------------------------------------------------------------


def test_a_call_nobody_answers_ends_with_no_answer(live_server: LiveServer, api: httpx.Client,
                                                   db_engine: Engine, clinic: dict[str, Any]) -> None:
    from server.video.models import CallSegment

    acc, appt = in_consultation(api, db_engine, clinic)
    with call_stream(live_server, acc["headers"], appt) as page:
        page.live()
        seg = call(api, clinic, appt)["segment"]["id"]
        time.sleep(1.0)  # a scheduler pass or two (every 0.5 s here): a fresh invitation keeps ringing
        assert newest_state(api, clinic, appt) == ("invited", None)
        with Session(db_engine) as s, s.begin():  # rang for the whole timeout
            s.execute(update(CallSegment).where(CallSegment.id == seg)
                      .values(invited_at=now() - dt.timedelta(seconds=61)))
        frame = page.until(kind_is("call.ended", segment_id=seg))[-1]
    assert frame.data["payload"]["reason"] == "no_answer"
    assert newest_state(api, clinic, appt) == ("ended", "no_answer")
    assert call_of(api, clinic, appt)["segment"]["ended_at"] is not None
