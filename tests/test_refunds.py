"""Refunds (issue 6, first part): the sandbox gateway's WeChat Pay v3 refund semantics, the service applying its
word once, the reconciler, the clerk's exception list and retry, path 1 (cancel before the time) and path 4
(clinic stop) through the live server."""
from __future__ import annotations

import base64
import datetime as dt
import json
import random
import secrets
import threading
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy.engine import Engine

from tests.booking_helpers import (
    admin_headers,
    book,
    db_staff,
    future_start,
    make_doctor,
    make_schedule,
    sms_to,
)
from tests.conftest import LiveServer
from tests.helpers import register_account
from tests.test_payments import (
    MCHID,
    TZ,
    make_appointment,
    make_clinic_rows,
    post_notify,
    rows,
    signed_headers,
    wait_for,
    wait_paid,
)
from tests.workstation_helpers import holder, new_key

V1 = "/api/v1"


# ---- helpers -------------------------------------------------------------------------------------------------

def paid_appointment(api: httpx.Client, db_engine: Engine, clinic: dict[str, int], *, fee_fen: int = 5000,
                     outcomes: list[str] | None = None) -> dict[str, Any]:
    """A booked appointment paid through the sandbox (confirm + signed notification); its refund outcome
    planned at the gateway when ``outcomes`` is given."""
    acc = register_account(api)
    appt = make_appointment(db_engine, clinic, acc, fee_fen=fee_fen)
    r = api.post(f"{V1}/appointments/{appt}/payment", headers=acc["headers"])
    assert r.status_code == 201, r.text
    prepay = r.json()
    assert api.post(f"{V1}/sandbox/pay/{prepay['prepay_id']}/confirm").status_code == 200
    wait_paid(api, acc, prepay["out_trade_no"])
    if outcomes:
        r = api.post(f"{V1}/sandbox/refund-plan", json={"out_trade_no": prepay["out_trade_no"],
                                                         "outcomes": outcomes})
        assert r.status_code == 200, r.text
    return {"acc": acc, "id": appt, "out_trade_no": prepay["out_trade_no"], "fee": fee_fen}


def cancel(api: httpx.Client, p: dict[str, Any], *, key: str | None = None, confirm: bool = True,
           appointment_id: int | None = None) -> httpx.Response:
    headers = dict(p["acc"]["headers"])
    headers["Idempotency-Key"] = key or new_key()
    return api.post(f"{V1}/appointments/{appointment_id or p['id']}/cancel", headers=headers,
                    json={"confirm": confirm})


def refunds_of(db_engine: Engine, appointment_id: int) -> list[dict[str, Any]]:
    return rows(db_engine, "SELECT * FROM refunds WHERE appointment_id = :a ORDER BY id", a=appointment_id)


def refunded_fen(db_engine: Engine, out_trade_no: str) -> int:
    return rows(db_engine, "SELECT refunded_fen FROM payments WHERE out_trade_no = :n", n=out_trade_no)[0][
        "refunded_fen"]


def wait_refund(db_engine: Engine, appointment_id: int, status: str, *, index: int = -1) -> dict[str, Any]:
    def got() -> dict[str, Any] | None:
        rs = refunds_of(db_engine, appointment_id)
        return rs[index] if rs and rs[index]["status"] == status else None

    return wait_for(got, what=f"refund of appointment {appointment_id} to be {status}")


def patient_view(api: httpx.Client, p: dict[str, Any]) -> tuple[str | None, str | None]:
    r = api.get(f"{V1}/appointments/{p['id']}", headers=p["acc"]["headers"])
    assert r.status_code == 200, r.text
    listed = [a for a in api.get(f"{V1}/appointments", headers=p["acc"]["headers"]).json() if a["id"] == p["id"]]
    assert listed and (listed[0]["refund_status"], listed[0]["refund_status_label"]) == (
        r.json()["refund_status"], r.json()["refund_status_label"])
    return r.json()["refund_status"], r.json()["refund_status_label"]


def refund_notification(keys: dict[str, Any], refund: dict[str, Any], out_trade_no: str, total: int, status: str,
                        *, amount: int | None = None, notification_id: str | None = None) -> bytes:
    resource: dict[str, Any] = {
        "mchid": MCHID, "out_trade_no": out_trade_no, "transaction_id": "4200" + "1" * 24,
        "out_refund_no": refund["out_refund_no"], "refund_id": "50" + "2" * 27, "refund_status": status,
        "user_received_account": "支付用户零钱",
        "amount": {"total": total, "refund": amount if amount is not None else refund["amount_fen"],
                   "payer_total": total, "payer_refund": refund["amount_fen"]}}
    if status == "SUCCESS":
        resource["success_time"] = dt.datetime.now(TZ).replace(microsecond=0).isoformat()
    nonce = secrets.token_hex(6)
    ciphertext = AESGCM(keys["apiv3"]).encrypt(nonce.encode(), json.dumps(resource).encode(), b"refund")
    return json.dumps({
        "id": notification_id or f"EV-{secrets.token_hex(10)}",
        "create_time": dt.datetime.now(TZ).replace(microsecond=0).isoformat(),
        "resource_type": "encrypt-resource", "event_type": f"REFUND.{status}", "summary": "退款",
        "resource": {"algorithm": "AEAD_AES_256_GCM", "ciphertext": base64.b64encode(ciphertext).decode(),
                     "nonce": nonce, "associated_data": "refund", "original_type": "refund"},
    }).encode()


def send(api: httpx.Client, keys: dict[str, Any], body: bytes) -> httpx.Response:
    return post_notify(api, body, signed_headers(keys["private"], keys["serial"], body))


@pytest.fixture()
def api(live_server: LiveServer) -> Iterator[httpx.Client]:
    """A client with its own address (loopback proxy header), so registrations do not spend the shared cap."""
    ip = f"10.{random.randint(0, 255)}.{random.randint(0, 255)}.{random.randint(1, 254)}"
    with live_server.client(headers={"X-Forwarded-For": ip}) as client:
        yield client


@pytest.fixture(scope="module")
def clinic_rows(db_engine: Engine) -> dict[str, int]:
    return make_clinic_rows(db_engine)


@pytest.fixture(scope="module")
def gateway_keys(live_server: LiveServer) -> dict[str, Any]:
    """The sandbox platform's keys as the server keeps them (made on its first notification)."""
    httpx.post(f"{live_server.base_url}{V1}/payments/notify", content=b"{}", timeout=10)
    d = live_server.data_dir / "sandbox_gateway"
    private = serialization.load_pem_private_key((d / "platform_private_key.pem").read_bytes(), password=None)
    assert isinstance(private, rsa.RSAPrivateKey)
    return {"private": private, "serial": (d / "serial").read_text().strip(),
            "apiv3": (d / "apiv3_key").read_bytes().strip()}


@pytest.fixture(scope="module")
def clerk(db_engine: Engine) -> dict[str, str]:
    return db_staff(db_engine, role="clerk")


# ---- path 1, idempotency, the happy gateway ----------------------------------------------------------------

def test_cancel_before_the_time_refunds_and_the_patient_sees_refunding_then_refunded(
        api: httpx.Client, db_engine: Engine, clinic_rows: dict[str, int]) -> None:
    p = paid_appointment(api, db_engine, clinic_rows)
    # the confirmation is required
    r = cancel(api, p, confirm=False)
    assert r.status_code == 422 and r.json()["code"] == "confirm_required"
    assert patient_view(api, p) == (None, None)
    key = new_key()
    r = cancel(api, p, key=key)
    assert r.status_code == 200, r.text
    first = r.json()
    assert first["status"] == "cancelled" and first["refund_status"] == "refunding"
    assert first["refund_status_label"] == "退费中"
    # a retry with the same key answers the first answer again, without running again
    again = cancel(api, p, key=key)
    assert again.status_code == 200 and again.json() == first
    assert again.headers.get("Idempotent-Replayed") == "true"
    # the same key on another request is refused
    other = paid_appointment(api, db_engine, clinic_rows)
    other["acc"] = p["acc"]
    reused = cancel(api, other, key=key, appointment_id=other["id"])
    assert reused.status_code == 422 and reused.json()["code"] == "idempotency_key_reused"
    # a second cancellation with a new key is refused: the appointment is cancelled already
    second = cancel(api, p)
    assert second.status_code == 409 and second.json()["code"] == "appointment_not_cancellable"
    refund = wait_refund(db_engine, p["id"], "refunded")
    assert len(refunds_of(db_engine, p["id"])) == 1
    assert (refund["path"], refund["amount_fen"], refund["gateway_status"]) == ("cancel", p["fee"], "SUCCESS")
    assert patient_view(api, p) == ("refunded", "已退费")
    assert refunded_fen(db_engine, p["out_trade_no"]) == p["fee"]
    # the place went back to the slot
    slot = rows(db_engine, "SELECT booked FROM slots WHERE id = :i", i=clinic_rows["slot_id"])[0]
    assert slot["booked"] >= 0


def test_cancel_after_the_time_is_refused(api: httpx.Client, db_engine: Engine,
                                          clinic_rows: dict[str, int]) -> None:
    p = paid_appointment(api, db_engine, clinic_rows)
    with db_engine.begin() as c:
        from sqlalchemy import text

        c.execute(text("UPDATE appointments SET starts_at = :t WHERE id = :i"),
                  {"t": dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1), "i": p["id"]})
    r = cancel(api, p)
    assert r.status_code == 409 and r.json()["code"] == "appointment_started"
    assert refunds_of(db_engine, p["id"]) == []


# ---- the gateway's other outcomes -------------------------------------------------------------------------

def test_abnormal_lands_on_the_exception_list_and_a_retry_sends_the_same_number(
        api: httpx.Client, db_engine: Engine, clinic_rows: dict[str, int], clerk: dict[str, str]) -> None:
    p = paid_appointment(api, db_engine, clinic_rows, outcomes=["ABNORMAL"])
    assert cancel(api, p).status_code == 200
    failed = wait_refund(db_engine, p["id"], "failed")
    assert failed["gateway_status"] == "ABNORMAL"
    assert patient_view(api, p) == ("refunding", "退费中")
    listed = api.get(f"{V1}/staff/refunds/exceptions", headers=clerk).json()
    assert failed["out_refund_no"] in [r["out_refund_no"] for r in listed]
    # patients and other roles may not see the clerk's list, read or retry a refund
    assert api.get(f"{V1}/staff/refunds/exceptions", headers=p["acc"]["headers"]).status_code == 401
    for role in ("doctor", "pharmacist"):
        other = db_staff(db_engine, role=role)
        assert api.get(f"{V1}/staff/refunds/exceptions", headers=other).status_code == 403
        assert api.get(f"{V1}/staff/refunds/{failed['id']}", headers=other).status_code == 403
        assert api.post(f"{V1}/staff/refunds/{failed['id']}/retry",
                        headers={**other, "Idempotency-Key": new_key()}).status_code == 403
    r = api.post(f"{V1}/staff/refunds/{failed['id']}/retry", headers={**clerk, "Idempotency-Key": new_key()})
    assert r.status_code == 200, r.text
    assert r.json()["out_refund_no"] == failed["out_refund_no"] and r.json()["status"] == "processing"
    done = wait_refund(db_engine, p["id"], "refunded")
    assert done["id"] == failed["id"] and len(refunds_of(db_engine, p["id"])) == 1
    assert refunded_fen(db_engine, p["out_trade_no"]) == p["fee"]
    assert patient_view(api, p) == ("refunded", "已退费")
    listed = api.get(f"{V1}/staff/refunds/exceptions", headers=clerk).json()
    assert failed["out_refund_no"] not in [r["out_refund_no"] for r in listed]


def test_closed_needs_a_new_refund_number(api: httpx.Client, db_engine: Engine, clinic_rows: dict[str, int],
                                          clerk: dict[str, str]) -> None:
    p = paid_appointment(api, db_engine, clinic_rows, outcomes=["CLOSED"])
    assert cancel(api, p).status_code == 200
    closed = wait_refund(db_engine, p["id"], "closed")
    assert patient_view(api, p) == ("refunding", "退费中")
    assert closed["out_refund_no"] in [r["out_refund_no"] for r in
                                       api.get(f"{V1}/staff/refunds/exceptions", headers=clerk).json()]
    key = new_key()
    r = api.post(f"{V1}/staff/refunds/{closed['id']}/retry", headers={**clerk, "Idempotency-Key": key})
    assert r.status_code == 200, r.text
    fresh = r.json()
    assert fresh["out_refund_no"] != closed["out_refund_no"] and fresh["retry_of_id"] == closed["id"]
    replay = api.post(f"{V1}/staff/refunds/{closed['id']}/retry", headers={**clerk, "Idempotency-Key": key})
    assert replay.status_code == 200 and replay.json() == fresh
    assert api.post(f"{V1}/staff/refunds/{closed['id']}/retry",
                    headers={**clerk, "Idempotency-Key": new_key()}).json()["code"] == "refund_already_retried"
    wait_refund(db_engine, p["id"], "refunded")
    assert [r["status"] for r in refunds_of(db_engine, p["id"])] == ["closed", "refunded"]
    assert refunded_fen(db_engine, p["out_trade_no"]) == p["fee"]
    assert patient_view(api, p) == ("refunded", "已退费")
    one = api.get(f"{V1}/staff/refunds/{fresh['id']}", headers=clerk).json()
    assert one["status"] == "refunded" and one["out_trade_no"] == p["out_trade_no"]


def test_notifications_duplicated_reordered_and_forged(api: httpx.Client, db_engine: Engine,
                                                       clinic_rows: dict[str, int], gateway_keys: dict[str, Any],
                                                       live_server: LiveServer) -> None:
    p = paid_appointment(api, db_engine, clinic_rows, outcomes=["HOLD"])
    assert cancel(api, p).status_code == 200
    refund = wait_for(lambda: [r for r in refunds_of(db_engine, p["id"]) if r["gateway_status"] == "PROCESSING"],
                      what="the gateway to accept the refund")[0]
    total = p["fee"]
    # forged: signed by another key, or a body tampered after signing; a wrong amount under a good signature
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    body = refund_notification(gateway_keys, refund, p["out_trade_no"], total, "SUCCESS")
    forged = post_notify(api, body, signed_headers(other, gateway_keys["serial"], body))
    assert forged.status_code == 401 and forged.json()["code"] == "FAIL"
    tampered = post_notify(api, body.replace(b"REFUND.SUCCESS", b"REFUND.CLOSED"),
                           signed_headers(gateway_keys["private"], gateway_keys["serial"], body))
    assert tampered.status_code == 401
    wrong = send(api, gateway_keys, refund_notification(gateway_keys, refund, p["out_trade_no"], total, "SUCCESS",
                                                        amount=1))
    assert wrong.status_code == 400
    assert refunds_of(db_engine, p["id"])[0]["status"] == "processing"
    assert refunded_fen(db_engine, p["out_trade_no"]) == 0
    # the genuine SUCCESS, delivered four times at once, then a stale ABNORMAL and a CLOSED arriving late
    good = refund_notification(gateway_keys, refund, p["out_trade_no"], total, "SUCCESS")
    answers: list[int] = []

    def deliver() -> None:
        with live_server.client() as c:
            answers.append(send(c, gateway_keys, good).status_code)

    threads = [threading.Thread(target=deliver) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert answers == [200] * 4
    for status in ("ABNORMAL", "CLOSED"):
        assert send(api, gateway_keys, refund_notification(gateway_keys, refund, p["out_trade_no"], total,
                                                           status)).status_code == 200
    assert send(api, gateway_keys, good).status_code == 200
    after = refunds_of(db_engine, p["id"])
    assert [r["status"] for r in after] == ["refunded"]
    assert refunded_fen(db_engine, p["out_trade_no"]) == total
    events = rows(db_engine, "SELECT kind FROM events WHERE object_type = 'refund' AND object_id = :i",
                  i=refund["id"])
    assert [e["kind"] for e in events].count("refund.refunded") == 1
    assert patient_view(api, p) == ("refunded", "已退费")


def test_the_reconciler_backs_off_and_settles_a_refund_whose_notification_was_lost(
        api: httpx.Client, db_engine: Engine, clinic_rows: dict[str, int]) -> None:
    p = paid_appointment(api, db_engine, clinic_rows, outcomes=["HOLD"])
    assert cancel(api, p).status_code == 200
    # the scheduler asks again and again while the gateway says PROCESSING, waiting longer each time
    held = wait_for(lambda: [r for r in refunds_of(db_engine, p["id"]) if r["query_attempts"] >= 2],
                    what="the reconciler to query twice")[0]
    assert held["status"] == "processing" and held["gateway_status"] == "PROCESSING"
    r = api.post(f"{V1}/sandbox/refunds/{held['out_refund_no']}/settle", params={"status": "SUCCESS",
                                                                                "notify": "false"})
    assert r.status_code == 200 and r.json()["notifications_scheduled"] == 0
    done = wait_refund(db_engine, p["id"], "refunded")
    assert done["query_attempts"] <= 6  # back-off: base 0.5 s doubling, not every 0.5 s pass
    assert refunded_fen(db_engine, p["out_trade_no"]) == p["fee"]


def test_the_sandbox_refunds_one_number_once_and_never_more_than_paid(
        api: httpx.Client, db_engine: Engine, clinic_rows: dict[str, int], live_server: LiveServer) -> None:
    from server.config import Settings
    from server.db import Database
    from server.payments.gateway import GatewayError, SandboxGateway
    from server.refunds import sandbox

    p = paid_appointment(api, db_engine, clinic_rows, fee_fen=3000)
    db = Database(Settings(data_dir=live_server.data_dir, sandbox_refund_delay_ms=0),
                  url=live_server.database_url)
    try:
        sandbox.plan(p["out_trade_no"], ["HOLD", "HOLD", "HOLD"])
        gw = SandboxGateway(db=db, settings=db.settings)
        first = gw.refund(out_trade_no=p["out_trade_no"], out_refund_no="RTEST" + secrets.token_hex(6),
                          amount=2000, total=3000)
        assert first.status == "PROCESSING"
        again = gw.refund(out_trade_no=p["out_trade_no"], out_refund_no=first.out_refund_no, amount=2000, total=3000)
        assert again == first
        with pytest.raises(GatewayError) as exc:
            gw.refund(out_trade_no=p["out_trade_no"], out_refund_no=first.out_refund_no, amount=1000, total=3000)
        assert exc.value.code == "INVALID_REQUEST"
        with pytest.raises(GatewayError) as exc:
            gw.refund(out_trade_no=p["out_trade_no"], out_refund_no="RTEST" + secrets.token_hex(6), amount=1001,
                      total=3000)
        assert exc.value.code == "NOT_ENOUGH"
        rest = gw.refund(out_trade_no=p["out_trade_no"], out_refund_no="RTEST" + secrets.token_hex(6), amount=1000,
                         total=3000)
        assert rest.status == "PROCESSING" and gw.query_refund(rest.out_refund_no) == rest
        assert gw.query_refund("RTEST-none") is None
    finally:
        db.engine.dispose()


# ---- path 4: the clinic stop ------------------------------------------------------------------------------

def test_a_clinic_stop_refunds_every_paid_booking_and_texts_each_patient(
        api: httpx.Client, db_engine: Engine, live_server: LiveServer) -> None:
    admin = admin_headers(api, db_engine)
    doc = make_doctor(api, admin, fee_fen=2500, name="退费停诊医生")
    start = future_start(days=3, hour=14)
    slots = [s["id"] for s in make_schedule(api, admin, doctor_id=doc["id"], start=start, minutes=60,
                                            capacity=2)["slots"]]
    paid = []
    for slot in slots[:2]:
        acc = holder(api, db_engine)
        r = book(api, acc["headers"], patient_id=acc["patient_id"], slot_id=slot, notice_version=acc["notice"])
        assert r.status_code == 201, r.text
        appt = r.json()["id"]
        r = api.post(f"{V1}/appointments/{appt}/payment", headers=acc["headers"])
        assert r.status_code == 201, r.text
        assert api.post(f"{V1}/sandbox/pay/{r.json()['prepay_id']}/confirm").status_code == 200
        wait_paid(api, acc, r.json()["out_trade_no"])
        paid.append({"acc": acc, "id": appt, "out_trade_no": r.json()["out_trade_no"]})
    body = {"doctor_id": doc["id"], "starts_at": start.isoformat(),
            "ends_at": (start + dt.timedelta(hours=1)).isoformat(), "reason": "临时手术"}
    r = api.post(f"{V1}/staff/clinic-stops", headers={**admin, "Idempotency-Key": new_key()}, json=body)
    assert r.status_code == 201, r.text
    assert r.json()["cancelled_appointments"] == 2
    for p in paid:
        refund = wait_refund(db_engine, p["id"], "refunded")
        assert (refund["path"], refund["amount_fen"]) == ("clinic_stop", 2500)
        assert refunded_fen(db_engine, p["out_trade_no"]) == 2500
        assert patient_view(api, p) == ("refunded", "已退费")
        assert sms_to(api, p["acc"]["mobile"], kind="clinic_stop")


def test_a_refund_the_gateway_refuses_goes_to_the_exception_list(api: httpx.Client, db_engine: Engine,
                                                                 clinic_rows: dict[str, int],
                                                                 clerk: dict[str, str]) -> None:
    """A paid order the gateway never saw (here: a payment row with no sandbox transaction): the refund is refused
    for good (RESOURCE_NOT_EXISTS), so it is not retried blindly but listed for a clerk."""
    from sqlalchemy.orm import Session

    from server.payments.models import Payment

    acc = register_account(api)
    appt = make_appointment(db_engine, clinic_rows, acc, status="booked")
    t = dt.datetime.now(TZ)
    with Session(db_engine) as s, s.begin():
        s.add(Payment(out_trade_no="P" + secrets.token_hex(8), account_id=acc["account"]["id"],
                      purpose="consultation", appointment_id=appt, amount_fen=5000, status="paid",
                      expires_at=t + dt.timedelta(minutes=15), paid_at=t))
    p = {"acc": acc, "id": appt}
    assert cancel(api, p).status_code == 200
    failed = wait_refund(db_engine, appt, "failed")
    assert failed["gateway_status"] == "" and failed["last_error"].startswith("RESOURCE_NOT_EXISTS")
    assert failed["id"] in [r["id"] for r in api.get(f"{V1}/staff/refunds/exceptions", headers=clerk).json()]
    assert patient_view(api, p) == ("refunding", "退费中")
