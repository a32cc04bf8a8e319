"""Refunds part 2: path 2 (the patient applies after the time, a clerk approves or rejects) and path 3 (the
window refund), through the live server: appointments booked and paid through the real routes and the sandbox
gateway, moved in time in the database where no route can (tests/booking_helpers.py: move_appointment), missed
by the scheduler. Every refusal is checked to have changed nothing: no refund row, no status change, no SMS,
no event."""
from __future__ import annotations

import datetime as dt
import threading
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine

from tests.booking_helpers import (
    V1,
    admin_headers,
    book,
    db_staff,
    mark_paid,
    move_appointment,
    now,
    sms_to,
)
from tests.test_ownership import pay
from tests.test_payments import rows, wait_for
from tests.test_refunds import patient_view, refunds_of, wait_refund
from tests.workstation_helpers import doctor_today, holder, new_key

APPLY = "/appointments/{}/refund-application"
WINDOW = "/staff/appointments/{}/window-refund"


# ---- arranging ---------------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def clerk(live_server: Any, db_engine: Engine) -> dict[str, Any]:
    headers = db_staff(db_engine, role="clerk")
    with live_server.client() as c:
        me = c.get(f"{V1}/staff/me", headers=headers).json()
    return {"headers": headers, "id": me["id"]}


@pytest.fixture()
def clinic(api: httpx.Client, db_engine: Engine) -> dict[str, Any]:
    """A doctor of the test's own: a session starting in a few minutes (check-in is open), two slots."""
    return doctor_today(api, admin_headers(api, db_engine), db_engine)


def paid(api: httpx.Client, db_engine: Engine, clinic: dict[str, Any], *, slot: int = 0) -> dict[str, Any]:
    """A booking of a new holder on the clinic's ``slot``-th slot, paid through the sandbox gateway."""
    acc = holder(api, db_engine)
    r = book(api, acc["headers"], patient_id=acc["patient_id"], slot_id=clinic["slots"][slot],
             notice_version=acc["notice"])
    assert r.status_code == 201, r.text
    appt = r.json()["id"]
    prepay = pay(api, acc["headers"], appt, confirm=True)
    return {"acc": acc, "id": appt, "slot_id": clinic["slots"][slot], "out_trade_no": prepay["out_trade_no"],
            "fee": prepay["amount_fen"]}


def hold(api: httpx.Client, db_engine: Engine, clinic: dict[str, Any], *, slot: int = 0) -> dict[str, Any]:
    """A booking of a new holder, not paid (pending_payment)."""
    acc = holder(api, db_engine)
    r = book(api, acc["headers"], patient_id=acc["patient_id"], slot_id=clinic["slots"][slot],
             notice_version=acc["notice"])
    assert r.status_code == 201, r.text
    return {"acc": acc, "id": r.json()["id"]}


def to_waiting(api: httpx.Client, p: dict[str, Any]) -> None:
    h = p["acc"]["headers"]
    assert api.post(f"{V1}/appointments/{p['id']}/check-in", headers=h).status_code == 200
    r = api.post(f"{V1}/appointments/{p['id']}/description", headers=h, json={"text": "头晕一周", "file_ids": []})
    assert r.status_code == 200, r.text


def into_the_past(db_engine: Engine, p: dict[str, Any], *, minutes: int = 5) -> None:
    """The appointment (and its own slot) began ``minutes`` ago."""
    move_appointment(db_engine, p["id"], starts_at=now().replace(microsecond=0) - dt.timedelta(minutes=minutes))


def status_of(api: httpx.Client, p: dict[str, Any]) -> str:
    r = api.get(f"{V1}/appointments/{p['id']}", headers=p["acc"]["headers"])
    assert r.status_code == 200, r.text
    return r.json()["status"]


def remaining(api: httpx.Client, db_engine: Engine, doctor_id: int, slot_id: int) -> int:
    """The slot's free places as the public catalogue shows them (on the slot's day, wherever it was moved)."""
    at = rows(db_engine, "SELECT starts_at FROM slots WHERE id = :i", i=slot_id)[0]["starts_at"]
    if isinstance(at, str):  # SQLite keeps UTC text
        at = dt.datetime.fromisoformat(at)
    day = (at if at.tzinfo else at.replace(tzinfo=dt.UTC)).astimezone(now().tzinfo).date().isoformat()
    r = api.get(f"{V1}/doctors/{doctor_id}/slots", params={"date_from": day, "date_to": day})
    assert r.status_code == 200, r.text
    return next(s["remaining"] for s in r.json() if s["id"] == slot_id)


def trace(api: httpx.Client, db_engine: Engine, p: dict[str, Any]) -> tuple[Any, ...]:
    """What a refused request must leave alone: refund rows, the appointment's status, the holder's SMS and
    events (the scheduler's reminder before the time comes whenever it comes: left out)."""
    acc = p["acc"]["account_id"]
    events = [e["kind"] for e in rows(db_engine, "SELECT kind FROM events WHERE account_id = :a ORDER BY id", a=acc)
              if e["kind"] != "appointment.reminder_sent"]
    sms = [m["kind"] for m in sms_to(api, p["acc"]["mobile"]) if m["kind"] != "reminder"]
    return len(refunds_of(db_engine, p["id"])), status_of(api, p), sms, events


def apply(api: httpx.Client, p: dict[str, Any], reason: str = "路上堵车，没赶上视频问诊", *,
          key: str | None = None, headers: dict[str, str] | None = None) -> httpx.Response:
    h = {**(headers or p["acc"]["headers"]), "Idempotency-Key": key or new_key()}
    return api.post(V1 + APPLY.format(p["id"]), headers=h, json={"reason": reason})


def clerk_post(api: httpx.Client, clerk: dict[str, Any], path: str, body: dict[str, Any] | None = None, *,
               key: str | None = None) -> httpx.Response:
    return api.post(V1 + path, headers={**clerk["headers"], "Idempotency-Key": key or new_key()}, json=body)


def money_events(db_engine: Engine, refund_id: int) -> list[str]:
    return [e["kind"] for e in rows(db_engine, "SELECT kind FROM events WHERE object_type = 'refund' AND "
                                               "object_id = :i AND topic = 'money' ORDER BY id", i=refund_id)]


def refusal(r: httpx.Response, status: int, code: str) -> None:
    assert (r.status_code, r.json()["code"]) == (status, code), r.text
    assert r.json()["message"], r.text


# ---- path 2: the application -----------------------------------------------------------------------------------

def test_an_application_after_the_time_is_approved_and_refunded(
        api: httpx.Client, db_engine: Engine, clinic: dict[str, Any], clerk: dict[str, Any]) -> None:
    p = paid(api, db_engine, clinic)
    into_the_past(db_engine, p)
    places = remaining(api, db_engine, clinic["id"], p["slot_id"])
    key = new_key()
    r = apply(api, p, "  路上堵车，没赶上视频问诊  ", key=key)
    assert r.status_code == 201, r.text
    detail = r.json()
    assert detail["status"] == "booked" and detail["refund_note"] is None
    assert (detail["refund_status"], detail["refund_status_label"]) == ("reviewing", "退号申请审核中")
    assert patient_view(api, p) == ("reviewing", "退号申请审核中")
    again = apply(api, p, "  路上堵车，没赶上视频问诊  ", key=key)
    assert (again.status_code, again.json()) == (201, detail)
    assert again.headers.get("Idempotent-Replayed") == "true"
    # the clerk's queue
    r = api.get(f"{V1}/staff/refunds", headers=clerk["headers"], params={"status": "requested",
                                                                         "path": "application"})
    assert r.status_code == 200, r.text
    queued = next(x for x in r.json() if x["appointment_id"] == p["id"])
    assert (queued["reason"], queued["status_label"], queued["path_label"]) == ("路上堵车，没赶上视频问诊", "待审核",
                                                                                "退号申请")
    assert (queued["amount_fen"], queued["reviewer_id"], queued["appointment_status"]) == (p["fee"], None, "booked")
    assert money_events(db_engine, queued["id"]) == ["refund.requested"]
    # approved: the appointment is cancelled, the money goes back (its time has passed: the place stays taken)
    key = new_key()
    r = clerk_post(api, clerk, f"/staff/refunds/{queued['id']}/approve", key=key)
    assert r.status_code == 200, r.text
    approved = r.json()
    assert (approved["status"], approved["reviewer_id"], approved["appointment_status"]) == (
        "processing", clerk["id"], "cancelled")
    assert approved["reviewer_name"] == "测试员工"
    replay = clerk_post(api, clerk, f"/staff/refunds/{queued['id']}/approve", key=key)
    assert replay.json() == approved and replay.headers.get("Idempotent-Replayed") == "true"
    refusal(clerk_post(api, clerk, f"/staff/refunds/{queued['id']}/approve"), 409, "refund_not_pending")
    done = wait_refund(db_engine, p["id"], "refunded")
    assert (done["id"], done["path"], done["reviewer_id"]) == (queued["id"], "application", clerk["id"])
    assert len(refunds_of(db_engine, p["id"])) == 1
    wait_for(lambda: patient_view(api, p) == ("refunded", "已退费"), what="the patient to see 已退费")
    assert money_events(db_engine, queued["id"])[:3] == ["refund.requested", "refund.approved", "refund.processing"]
    sms = sms_to(api, p["acc"]["mobile"], kind="refund_approved")
    assert len(sms) == 1 and f"{p['fee'] // 100}.00元" in sms[0]["body"] and "1-15个工作日" in sms[0]["body"]
    assert remaining(api, db_engine, clinic["id"], p["slot_id"]) == places


def test_application_refusals_change_nothing(api: httpx.Client, db_engine: Engine,
                                              clinic: dict[str, Any]) -> None:
    ahead = paid(api, db_engine, clinic, slot=1)
    late, spent = paid(api, db_engine, clinic), paid(api, db_engine, clinic)
    unpaid, marked = (hold(api, db_engine, clinic) for _ in range(2))
    mark_paid(db_engine, marked["id"])  # booked without a payment row
    for p in (late, spent, unpaid, marked):
        into_the_past(db_engine, p)

    before = trace(api, db_engine, ahead)
    refusal(apply(api, ahead), 409, "appointment_not_started")
    refusal(apply(api, late, " 堵 "), 422, "reason_required")
    refusal(apply(api, late, headers=holder(api, db_engine)["headers"]), 404, "not_found")
    assert trace(api, db_engine, ahead) == before

    assert apply(api, late).status_code == 201
    before = trace(api, db_engine, late)
    refusal(apply(api, late, "再申请一次"), 409, "refund_application_exists")
    assert trace(api, db_engine, late) == before

    # nothing left to refund (the payment refunded already, arranged in the database)
    with db_engine.begin() as c:
        c.execute(text("UPDATE payments SET refunded_fen = amount_fen WHERE out_trade_no = :n"),
                  {"n": spent["out_trade_no"]})
    # a hold never paid; a booking marked paid without a payment
    for p, code in ((spent, "refund_exceeds_paid"), (unpaid, "appointment_not_refundable"),
                    (marked, "payment_not_paid")):
        before = trace(api, db_engine, p)
        refusal(apply(api, p), 409, code)
        assert trace(api, db_engine, p) == before, code


def test_a_rejected_application_tells_the_patient_why_and_can_be_made_again(
        api: httpx.Client, db_engine: Engine, clinic: dict[str, Any], clerk: dict[str, Any]) -> None:
    p = paid(api, db_engine, clinic)
    into_the_past(db_engine, p, minutes=120)  # its check-in window closed: the scheduler marks it missed
    wait_for(lambda: status_of(api, p) == "missed", what="the scheduler to mark the appointment missed")
    assert apply(api, p).status_code == 201
    refund = refunds_of(db_engine, p["id"])[0]
    r = api.get(f"{V1}/staff/refunds/reject-reasons", headers=clerk["headers"])
    assert r.status_code == 200 and [x["code"] for x in r.json()] == ["consulted", "insufficient", "policy",
                                                                      "duplicate", "other"]
    before = trace(api, db_engine, p)
    for body in ({"reason_code": "bored", "text": "x"}, {"reason_code": "other", "text": "  "},
                 {"reason_code": "", "text": ""}):
        refusal(clerk_post(api, clerk, f"/staff/refunds/{refund['id']}/reject", body), 422,
                "reject_reason_required")
    assert trace(api, db_engine, p) == before
    assert patient_view(api, p) == ("reviewing", "退号申请审核中")

    key, body = new_key(), {"reason_code": "insufficient", "text": "请写明未能就诊的原因"}
    r = clerk_post(api, clerk, f"/staff/refunds/{refund['id']}/reject", body, key=key)
    assert r.status_code == 200, r.text
    rejected = r.json()
    assert (rejected["status"], rejected["status_label"], rejected["reviewer_id"]) == ("rejected", "已拒绝",
                                                                                      clerk["id"])
    assert rejected["reject_reason"] == "退号理由不充分：请写明未能就诊的原因"
    # the same key with another body is refused; the same request again answers the same
    refusal(clerk_post(api, clerk, f"/staff/refunds/{refund['id']}/reject",
                       {"reason_code": "policy", "text": ""}, key=key), 422, "idempotency_key_reused")
    assert clerk_post(api, clerk, f"/staff/refunds/{refund['id']}/reject", body, key=key).json() == rejected
    refusal(clerk_post(api, clerk, f"/staff/refunds/{refund['id']}/approve"), 409, "refund_not_pending")
    r = clerk_post(api, clerk, f"/staff/refunds/{refund['id']}/reject", {"reason_code": "policy", "text": ""})
    refusal(r, 409, "refund_not_pending")
    assert r.json()["details"] == {"status": "rejected"}
    assert money_events(db_engine, refund["id"]) == ["refund.requested", "refund.rejected"]
    detail = api.get(f"{V1}/appointments/{p['id']}", headers=p["acc"]["headers"]).json()
    assert (detail["status"], detail["refund_status"], detail["refund_status_label"]) == (
        "missed", "rejected", "退费申请未通过")
    assert detail["refund_note"] == "退号理由不充分：请写明未能就诊的原因"
    sms = sms_to(api, p["acc"]["mobile"], kind="refund_rejected")
    assert len(sms) == 1 and "退号理由不充分：请写明未能就诊的原因" in sms[0]["body"]

    # the held amount is free again: a new application, approved; a missed visit's place is not given back
    places = remaining(api, db_engine, clinic["id"], p["slot_id"])
    r = apply(api, p, "当天突发高烧，无法参加视频问诊")
    assert r.status_code == 201 and r.json()["refund_status"] == "reviewing" and r.json()["refund_note"] is None
    second = refunds_of(db_engine, p["id"])[-1]
    r = clerk_post(api, clerk, f"/staff/refunds/{second['id']}/approve")
    assert r.status_code == 200 and r.json()["appointment_status"] == "cancelled", r.text
    wait_refund(db_engine, p["id"], "refunded")
    wait_for(lambda: patient_view(api, p) == ("refunded", "已退费"), what="the patient to see 已退费")
    assert api.get(f"{V1}/appointments/{p['id']}", headers=p["acc"]["headers"]).json()["refund_note"] is None
    assert remaining(api, db_engine, clinic["id"], p["slot_id"]) == places


def test_an_application_is_not_approved_once_the_doctor_saw_the_patient(
        api: httpx.Client, db_engine: Engine, clinic: dict[str, Any], clerk: dict[str, Any]) -> None:
    p = paid(api, db_engine, clinic)
    to_waiting(api, p)
    into_the_past(db_engine, p)
    assert apply(api, p).status_code == 201
    refund = refunds_of(db_engine, p["id"])[0]
    r = api.post(f"{V1}/staff/appointments/{p['id']}/accept", headers=clinic["headers"])
    assert r.status_code == 200, r.text
    before = trace(api, db_engine, p)
    r = clerk_post(api, clerk, f"/staff/refunds/{refund['id']}/approve")
    refusal(r, 409, "appointment_seen")
    assert r.json()["details"] == {"status": "in_consultation"}
    assert trace(api, db_engine, p) == before
    assert refunds_of(db_engine, p["id"])[0]["status"] == "requested"
    r = clerk_post(api, clerk, f"/staff/refunds/{refund['id']}/reject", {"reason_code": "consulted", "text": ""})
    assert r.status_code == 200 and r.json()["reject_reason"] == "患者已就诊或医生已接诊", r.text
    # and a patient in consultation cannot apply
    before = trace(api, db_engine, p)
    refusal(apply(api, p), 409, "appointment_not_refundable")
    assert trace(api, db_engine, p) == before


# ---- path 3: the window -----------------------------------------------------------------------------------------

def test_a_window_refund_before_the_time_releases_the_place(
        api: httpx.Client, db_engine: Engine, clinic: dict[str, Any], clerk: dict[str, Any]) -> None:
    p = paid(api, db_engine, clinic, slot=1)
    places = remaining(api, db_engine, clinic["id"], p["slot_id"])
    before = trace(api, db_engine, p)
    # other roles may not; a reason is needed
    for role in ("doctor", "pharmacist"):
        h = {**db_staff(db_engine, role=role), "Idempotency-Key": new_key()}
        r = api.post(V1 + WINDOW.format(p["id"]), headers=h, json={"reason": "患者到窗口办理退费"})
        refusal(r, 403, "role_forbidden")
    r = api.post(V1 + WINDOW.format(p["id"]), headers=p["acc"]["headers"], json={"reason": "患者到窗口办理退费"})
    assert r.status_code == 401
    refusal(api.post(V1 + WINDOW.format(p["id"]), headers=clinic["headers"], json={"reason": "x"}), 403,
            "role_forbidden")
    refusal(clerk_post(api, clerk, WINDOW.format(p["id"]), {"reason": " 退 "}), 422, "reason_required")
    refusal(clerk_post(api, clerk, WINDOW.format(2**40), {"reason": "患者到窗口办理退费"}), 404, "not_found")
    assert trace(api, db_engine, p) == before

    key = new_key()
    r = clerk_post(api, clerk, WINDOW.format(p["id"]), {"reason": "患者到窗口办理退费"}, key=key)
    assert r.status_code == 201, r.text
    refund = r.json()
    assert (refund["path"], refund["path_label"], refund["status"], refund["amount_fen"]) == (
        "window", "窗口退费", "processing", p["fee"])
    assert (refund["reviewer_id"], refund["reviewer_name"], refund["appointment_status"]) == (
        clerk["id"], "测试员工", "cancelled")
    assert refund["out_trade_no"] == p["out_trade_no"] and refund["patient_name"]
    replay = clerk_post(api, clerk, WINDOW.format(p["id"]), {"reason": "患者到窗口办理退费"}, key=key)
    assert (replay.status_code, replay.json()) == (201, refund)
    assert replay.headers.get("Idempotent-Replayed") == "true"
    refusal(clerk_post(api, clerk, WINDOW.format(p["id"]), {"reason": "另一个原因"}, key=key), 422,
            "idempotency_key_reused")
    assert remaining(api, db_engine, clinic["id"], p["slot_id"]) == places + 1
    assert money_events(db_engine, refund["id"])[:2] == ["refund.approved", "refund.processing"]
    wait_refund(db_engine, p["id"], "refunded")
    assert len(refunds_of(db_engine, p["id"])) == 1
    wait_for(lambda: patient_view(api, p) == ("refunded", "已退费"), what="the patient to see 已退费")
    r = api.get(f"{V1}/staff/refunds", headers=clerk["headers"], params={"appointment_id": p["id"],
                                                                         "path": "window"})
    assert [x["id"] for x in r.json()] == [refund["id"]]
    assert api.get(f"{V1}/staff/refunds", headers=clerk["headers"],
                   params={"appointment_id": p["id"], "path": "application"}).json() == []
    assert api.get(f"{V1}/staff/refunds", headers=clerk["headers"],
                   params={"prescription_id": 2**40}).json() == []
    # once cancelled there is nothing more to refund at the window
    before = trace(api, db_engine, p)
    r = clerk_post(api, clerk, WINDOW.format(p["id"]), {"reason": "患者到窗口办理退费"})
    refusal(r, 409, "appointment_not_refundable")
    assert r.json()["details"] == {"status": "cancelled"} and trace(api, db_engine, p) == before


def test_a_window_refund_after_a_completed_visit_keeps_the_place_counted(
        api: httpx.Client, db_engine: Engine, clinic: dict[str, Any], clerk: dict[str, Any]) -> None:
    p = paid(api, db_engine, clinic)
    to_waiting(api, p)
    assert api.post(f"{V1}/staff/appointments/{p['id']}/accept", headers=clinic["headers"]).status_code == 200
    r = api.post(f"{V1}/staff/appointments/{p['id']}/finish", headers=clinic["headers"],
                 json={"diagnosis_code": "E11.9", "diagnosis_name": "2型糖尿病"})
    assert r.status_code == 200 and r.json()["status"] == "completed", r.text
    into_the_past(db_engine, p, minutes=120)
    places = remaining(api, db_engine, clinic["id"], p["slot_id"])
    # the patient's own cancel still refuses a completed visit (only the window takes completed → cancelled)
    r = api.post(f"{V1}/appointments/{p['id']}/cancel", headers=p["acc"]["headers"], json={"confirm": True})
    refusal(r, 409, "appointment_not_cancellable")
    refusal(apply(api, p), 409, "appointment_not_refundable")
    r = clerk_post(api, clerk, WINDOW.format(p["id"]), {"reason": "患者对诊疗不满意，院方同意退费"})
    assert r.status_code == 201 and r.json()["appointment_status"] == "cancelled", r.text
    assert remaining(api, db_engine, clinic["id"], p["slot_id"]) == places
    wait_refund(db_engine, p["id"], "refunded")

    # a payment already refunded (arranged in the database): nothing left to give back
    q = paid(api, db_engine, clinic, slot=1)
    with db_engine.begin() as c:
        c.execute(text("UPDATE payments SET refunded_fen = amount_fen WHERE out_trade_no = :n"),
                  {"n": q["out_trade_no"]})
    before = trace(api, db_engine, q)
    refusal(clerk_post(api, clerk, WINDOW.format(q["id"]), {"reason": "患者到窗口办理退费"}), 409,
            "refund_exceeds_paid")
    assert trace(api, db_engine, q) == before
    # a hold never paid
    unpaid = hold(api, db_engine, clinic, slot=1)
    before = trace(api, db_engine, unpaid)
    r = clerk_post(api, clerk, WINDOW.format(unpaid["id"]), {"reason": "患者到窗口办理退费"})
    refusal(r, 409, "appointment_not_refundable")
    assert r.json()["details"] == {"status": "pending_payment"} and trace(api, db_engine, unpaid) == before


def test_a_window_refund_during_the_visit_ends_the_call(
        api: httpx.Client, db_engine: Engine, clinic: dict[str, Any], clerk: dict[str, Any]) -> None:
    p = paid(api, db_engine, clinic)
    to_waiting(api, p)
    staff = f"{V1}/staff/appointments/{p['id']}"
    r = api.post(f"{staff}/call", headers=clinic["headers"])
    assert r.status_code == 201, r.text
    seg = r.json()["segment"]
    r = api.post(f"{staff}/call/state", headers=clinic["headers"], json={"segment_id": seg["id"], "state": "connected"})
    assert r.status_code == 200, r.text
    assert status_of(api, p) == "in_consultation"
    r = api.post(f"{V1}/appointments/{p['id']}/cancel", headers=p["acc"]["headers"], json={"confirm": True})
    refusal(r, 409, "appointment_not_cancellable")

    r = clerk_post(api, clerk, WINDOW.format(p["id"]), {"reason": "视频无法接通，患者要求退费"})
    assert r.status_code == 201 and r.json()["appointment_status"] == "cancelled", r.text
    call = api.get(f"{staff}/call", headers=clinic["headers"]).json()["segment"]
    assert (call["id"], call["state"], call["end_reason"]) == (seg["id"], "ended", "window_refund")
    mine = api.get(f"{V1}/appointments/{p['id']}/call", headers=p["acc"]["headers"]).json()["segment"]
    assert mine["state"] == "ended"
    kinds = [e["kind"] for e in rows(db_engine, "SELECT kind FROM events WHERE object_type = 'appointment' AND "
                                                "object_id = :i ORDER BY id", i=p["id"])]
    assert kinds[-2:] == ["call.ended", "appointment.cancelled"], kinds
    queue = api.get(f"{V1}/staff/queue", headers=clinic["headers"]).json()
    assert p["id"] not in [a["id"] for a in queue]
    wait_refund(db_engine, p["id"], "refunded")


def test_a_window_refund_approves_a_waiting_application(
        api: httpx.Client, db_engine: Engine, clinic: dict[str, Any], clerk: dict[str, Any]) -> None:
    p = paid(api, db_engine, clinic)
    into_the_past(db_engine, p)
    assert apply(api, p).status_code == 201
    application = refunds_of(db_engine, p["id"])[0]
    r = clerk_post(api, clerk, WINDOW.format(p["id"]), {"reason": "患者到窗口催办"})
    assert r.status_code == 201, r.text
    got = r.json()
    assert (got["id"], got["path"], got["status"], got["reviewer_id"]) == (application["id"], "application",
                                                                           "processing", clerk["id"])
    assert got["appointment_status"] == "cancelled"
    assert len(refunds_of(db_engine, p["id"])) == 1
    assert money_events(db_engine, got["id"])[:3] == ["refund.requested", "refund.approved", "refund.processing"]
    assert len(sms_to(api, p["acc"]["mobile"], kind="refund_approved")) == 1
    wait_refund(db_engine, p["id"], "refunded")
    wait_for(lambda: patient_view(api, p) == ("refunded", "已退费"), what="the patient to see 已退费")


def test_a_clinic_stop_approves_a_waiting_application(
        api: httpx.Client, db_engine: Engine, clinic: dict[str, Any]) -> None:
    """Waiting past the time, the patient applied; before a clerk answers, the doctor stops the clinic: the
    application is approved by the stop (one refund, not a second one refused for want of money)."""
    p = paid(api, db_engine, clinic)
    to_waiting(api, p)
    into_the_past(db_engine, p)
    assert apply(api, p).status_code == 201
    application = refunds_of(db_engine, p["id"])[0]
    stop = {"doctor_id": clinic["id"], "starts_at": (now() - dt.timedelta(hours=1)).isoformat(),
            "ends_at": (now() + dt.timedelta(hours=2)).isoformat(), "reason": "临时手术"}
    r = api.post(f"{V1}/staff/clinic-stops", headers={**admin_headers(api, db_engine), "Idempotency-Key": new_key()},
                 json=stop)
    assert r.status_code == 201, r.text
    assert status_of(api, p) == "cancelled_by_hospital"
    (only,) = refunds_of(db_engine, p["id"])
    assert (only["id"], only["path"]) == (application["id"], "application")
    assert "refund.approved" in money_events(db_engine, only["id"])
    wait_refund(db_engine, p["id"], "refunded")
    wait_for(lambda: patient_view(api, p) == ("refunded", "已退费"), what="the patient to see 已退费")


def test_the_review_routes_are_the_clerks(api: httpx.Client, db_engine: Engine) -> None:
    some = 2**40
    for role in ("doctor", "pharmacist"):
        h = {**db_staff(db_engine, role=role), "Idempotency-Key": new_key()}
        for method, path, body in (("GET", "/staff/refunds/reject-reasons", None),
                                   ("GET", "/staff/refunds?path=application", None),
                                   ("POST", f"/staff/refunds/{some}/approve", None),
                                   ("POST", f"/staff/refunds/{some}/reject", {"reason_code": "policy", "text": ""})):
            r = api.request(method, V1 + path, headers=h, json=body)
            refusal(r, 403, "role_forbidden")
    assert api.get(f"{V1}/staff/refunds/reject-reasons").status_code == 401


def test_simultaneous_approvals_and_window_refunds_refund_once(
        api: httpx.Client, db_engine: Engine, clinic: dict[str, Any], clerk: dict[str, Any],
        live_server: Any) -> None:
    """Two clerks (ten times each) approve the application and refund at the window at the same moment: one
    succeeds, the rest are refused; one refund, the money back once."""
    p = paid(api, db_engine, clinic)
    into_the_past(db_engine, p)
    assert apply(api, p).status_code == 201
    application = refunds_of(db_engine, p["id"])[0]
    answers: list[tuple[int, str | None]] = []
    lock = threading.Lock()
    go = threading.Barrier(20)

    def one(path: str, body: dict[str, Any] | None) -> None:
        with live_server.client() as c:
            go.wait()
            r = c.post(V1 + path, json=body, headers={**clerk["headers"], "Idempotency-Key": new_key()})
            with lock:
                answers.append((r.status_code, None if r.status_code < 300 else r.json()["code"]))

    jobs = [(f"/staff/refunds/{application['id']}/approve", None), (WINDOW.format(p["id"]), {"reason": "窗口退费"})]
    threads = [threading.Thread(target=one, args=jobs[i % 2]) for i in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len([a for a in answers if a[0] < 300]) == 1, answers
    assert {a for a in answers if a[0] >= 300} <= {(409, "refund_not_pending"), (409, "appointment_not_refundable"),
                                                   (409, "invalid_state")}, answers
    wait_refund(db_engine, p["id"], "refunded")
    assert [r["id"] for r in refunds_of(db_engine, p["id"])] == [application["id"]]
    paid_row = rows(db_engine, "SELECT refunded_fen, amount_fen FROM payments WHERE out_trade_no = :n",
                    n=p["out_trade_no"])[0]
    assert paid_row["refunded_fen"] == paid_row["amount_fen"] == p["fee"]
