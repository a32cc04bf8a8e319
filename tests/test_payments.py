"""Payments through the live server and its sandbox gateway (WeChat Pay v3's shape).

Notifications are crafted here independently of ``server.payments.wechatpay`` (plain ``cryptography``), so a
mistake in the server's wire format cannot cancel itself out between sender and receiver.

The appointment to pay is arranged directly in the database (department, doctor, slot, patient, appointment in
``pending_payment``): the booking routes belong to another slice, and this module tests what happens after.
"""
from __future__ import annotations

import base64
import datetime as dt
import json
import random
import secrets
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import create_engine, text, update
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

import server.models  # noqa: F401 - every table known, for the rows arranged below
from tests.conftest import LiveServer, start_server, stop_server
from tests.helpers import register_account

V1 = "/api/v1"
TZ = dt.timezone(dt.timedelta(hours=8))
MCHID = "1900000109"
APPID = "wx8888888888888888"
DEADLINE_S = 15


# ---- fixtures ------------------------------------------------------------------------------------------------

@pytest.fixture()
def api(live_server: LiveServer) -> Iterator[httpx.Client]:
    """A client with its own address (loopback proxy header), so registrations do not spend the shared cap."""
    ip = f"10.{random.randint(0, 255)}.{random.randint(0, 255)}.{random.randint(1, 254)}"
    with live_server.client(headers={"X-Forwarded-For": ip}) as client:
        yield client


@pytest.fixture(scope="module")
def gateway_keys(live_server: LiveServer) -> dict[str, Any]:
    """The sandbox platform's keys as the server keeps them (generated on first use, mode 600)."""
    # any notification makes the server load (and so create) its sandbox keys
    httpx.post(f"{live_server.base_url}{V1}/payments/notify", content=b"{}", timeout=10)
    d = live_server.data_dir / "sandbox_gateway"
    private = serialization.load_pem_private_key((d / "platform_private_key.pem").read_bytes(), password=None)
    assert isinstance(private, rsa.RSAPrivateKey)
    return {"private": private, "serial": (d / "serial").read_text().strip(),
            "apiv3": (d / "apiv3_key").read_bytes().strip(), "dir": d}


def make_clinic_rows(engine: Engine, *, capacity: int = 1000) -> dict[str, int]:
    from server.catalogue.models import Department, Doctor, Schedule, Slot

    start = (dt.datetime.now(TZ) + dt.timedelta(days=2)).replace(hour=9, minute=0, second=0, microsecond=0)
    with Session(engine) as s, s.begin():
        dep = Department(code=f"pay_{secrets.token_hex(4)}", name="支付测试科", sort=99)
        s.add(dep)
        s.flush()
        doc = Doctor(department_id=dep.id, name="支付测试医生", title="主治医师", fee_fen=5000)
        s.add(doc)
        s.flush()
        sch = Schedule(doctor_id=doc.id, day=start.date(), starts_at=start, ends_at=start + dt.timedelta(hours=4))
        s.add(sch)
        s.flush()
        slot = Slot(schedule_id=sch.id, doctor_id=doc.id, starts_at=start, ends_at=start + dt.timedelta(minutes=15),
                    capacity=capacity, booked=0)
        s.add(slot)
        s.flush()
        return {"department_id": dep.id, "doctor_id": doc.id, "slot_id": slot.id}


def make_appointment(engine: Engine, clinic: dict[str, int], account: dict, *, fee_fen: int = 5000,
                     hold_minutes: float = 15, status: str = "pending_payment") -> int:
    from server.appointments.models import Appointment
    from server.catalogue.models import Slot
    from server.patients.models import Patient

    t = dt.datetime.now(TZ)
    with Session(engine) as s, s.begin():
        patient = Patient(account_id=account["account"]["id"], kind="first_visit", name="李四", sex="male",
                          id_type="resident_id", id_number_enc="x", id_number_digest=secrets.token_hex(32),
                          id_number_masked="1101**********0011")
        s.add(patient)
        slot = s.get(Slot, clinic["slot_id"])
        assert slot is not None
        slot.booked += 1
        s.flush()
        appt = Appointment(number=f"A{secrets.token_hex(8)}", account_id=account["account"]["id"],
                           patient_id=patient.id, doctor_id=clinic["doctor_id"],
                           department_id=clinic["department_id"], slot_id=slot.id,
                           starts_at=slot.starts_at, ends_at=slot.ends_at, fee_fen=fee_fen, status=status,
                           notice_version=1, hold_expires_at=t + dt.timedelta(minutes=hold_minutes))
        s.add(appt)
        s.flush()
        return appt.id


@pytest.fixture(scope="module")
def clinic_rows(db_engine: Engine) -> dict[str, int]:
    """A department, doctor, schedule and roomy slot of this module's own (the booking slice is not needed)."""
    return make_clinic_rows(db_engine)


Booker = Callable[..., int]


@pytest.fixture()
def book(db_engine: Engine, clinic_rows: dict[str, int]) -> Booker:
    """An appointment of ``account`` in ``pending_payment`` with a live hold; returns its id."""

    def make(account: dict, **kw: Any) -> int:
        return make_appointment(db_engine, clinic_rows, account, **kw)

    return make


@pytest.fixture()
def account(api: httpx.Client) -> dict:
    return register_account(api)


@pytest.fixture()
def other(api: httpx.Client) -> dict:
    return register_account(api, name="王五")


# ---- helpers -------------------------------------------------------------------------------------------------

def rows(engine: Engine, sql: str, **params: object) -> list[dict[str, Any]]:
    with engine.connect() as c:
        return [dict(r) for r in c.execute(text(sql), params).mappings()]


def as_dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else json.loads(value)


def wait_for(condition: Callable[[], Any], *, what: str, deadline_s: float = DEADLINE_S) -> Any:
    end = time.monotonic() + deadline_s
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > end:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def pay(api: httpx.Client, account: dict, appointment_id: int) -> dict[str, Any]:
    r = api.post(f"{V1}/appointments/{appointment_id}/payment", headers=account["headers"])
    assert r.status_code in (200, 201), r.text
    return r.json()


def payment_row(engine: Engine, out_trade_no: str) -> dict[str, Any]:
    return rows(engine, "SELECT * FROM payments WHERE out_trade_no = :n", n=out_trade_no)[0]


def appointment_status(engine: Engine, appointment_id: int) -> str:
    return rows(engine, "SELECT status FROM appointments WHERE id = :i", i=appointment_id)[0]["status"]


def events_for(engine: Engine, kind: str, payment_id: int) -> list[dict[str, Any]]:
    return rows(engine, "SELECT * FROM events WHERE kind = :k AND object_type = 'payment' AND object_id = :i",
                k=kind, i=payment_id)


def audits(engine: Engine, action: str) -> list[dict[str, Any]]:
    return [r | {"details": as_dict(r["details"])}
            for r in rows(engine, "SELECT * FROM audit_log WHERE action = :a ORDER BY id", a=action)]


def refusals_of(engine: Engine, out_trade_no: str) -> list[dict[str, Any]]:
    return [a for a in audits(engine, "payment.notification_refused")
            if a["details"].get("out_trade_no") == out_trade_no]


def transaction_resource(out_trade_no: str, total: int, **over: Any) -> dict[str, Any]:
    res = {"mchid": MCHID, "appid": APPID, "out_trade_no": out_trade_no,
           "transaction_id": "4200" + "".join(random.choice("0123456789") for _ in range(24)),
           "trade_type": "JSAPI", "trade_state": "SUCCESS", "trade_state_desc": "支付成功", "bank_type": "OTHERS",
           "attach": "", "success_time": dt.datetime.now(TZ).replace(microsecond=0).isoformat(),
           "payer": {"openid": "oTest"}, "amount": {"total": total, "payer_total": total, "currency": "CNY",
                                                     "payer_currency": "CNY"}}
    res.update(over)
    return res


def notification_body(apiv3: bytes, resource: dict[str, Any], *, notification_id: str | None = None,
                      event_type: str = "TRANSACTION.SUCCESS") -> bytes:
    nonce = secrets.token_hex(6)  # 12 characters
    ciphertext = AESGCM(apiv3).encrypt(nonce.encode(), json.dumps(resource).encode(), b"transaction")
    return json.dumps({
        "id": notification_id or f"EV-{secrets.token_hex(10)}",
        "create_time": dt.datetime.now(TZ).replace(microsecond=0).isoformat(),
        "resource_type": "encrypt-resource", "event_type": event_type, "summary": "支付成功",
        "resource": {"algorithm": "AEAD_AES_256_GCM", "ciphertext": base64.b64encode(ciphertext).decode(),
                     "nonce": nonce, "associated_data": "transaction", "original_type": "transaction"},
    }).encode()


def signed_headers(private: rsa.RSAPrivateKey, serial: str, body: bytes, *,
                   timestamp: int | None = None) -> dict[str, str]:
    ts = str(int(time.time()) if timestamp is None else timestamp)
    nonce = secrets.token_hex(16)
    message = f"{ts}\n{nonce}\n".encode() + body + b"\n"
    signature = base64.b64encode(private.sign(message, padding.PKCS1v15(), hashes.SHA256())).decode()
    return {"Wechatpay-Timestamp": ts, "Wechatpay-Nonce": nonce, "Wechatpay-Signature": signature,
            "Wechatpay-Serial": serial, "Wechatpay-Signature-Type": "WECHATPAY2-SHA256-RSA2048",
            "Content-Type": "application/json"}


def post_notify(api: httpx.Client, body: bytes, headers: dict[str, str]) -> httpx.Response:
    return api.post(f"{V1}/payments/notify", content=body, headers=headers)


def wait_paid(api: httpx.Client, account: dict, out_trade_no: str) -> dict[str, Any]:
    def paid() -> dict[str, Any] | None:
        r = api.get(f"{V1}/payments/{out_trade_no}", headers=account["headers"])
        assert r.status_code == 200, r.text
        return r.json() if r.json()["status"] == "paid" else None

    return wait_for(paid, what=f"payment {out_trade_no} to be paid")


# ---- the whole path ------------------------------------------------------------------------------------------

def test_pay_confirm_notify_books_the_appointment(api: httpx.Client, account: dict, book: Booker,
                                                  db_engine: Engine) -> None:
    appt_id = book(account, fee_fen=5000)
    prepay = pay(api, account, appt_id)
    assert prepay["amount_fen"] == 5000
    assert prepay["out_trade_no"].startswith("P") and prepay["prepay_id"]
    assert prepay["sandbox_url"].endswith(f"/sandbox/pay/{prepay['prepay_id']}")

    sheet = api.get(prepay["sandbox_url"]).json()
    assert sheet["amount_fen"] == 5000 and sheet["trade_state"] == "NOTPAY"
    assert sheet["out_trade_no"] == prepay["out_trade_no"] and sheet["merchant"]
    page = api.get(prepay["sandbox_url"], headers={"Accept": "text/html"})
    assert page.headers["content-type"].startswith("text/html") and "¥50.00" in page.text

    before = api.get(f"{V1}/payments/{prepay['out_trade_no']}", headers=account["headers"]).json()
    assert before["status"] == "created" and before["appointment_id"] == appt_id

    r = api.post(f"{prepay['sandbox_url']}/confirm", params={"delay_ms": 50})
    assert r.status_code == 200, r.text
    assert r.json()["trade_state"] == "SUCCESS" and r.json()["notifications_scheduled"] == 1

    paid = wait_paid(api, account, prepay["out_trade_no"])
    assert paid["transaction_id"] == r.json()["transaction_id"]
    assert paid["paid_at"] is not None
    wait_for(lambda: appointment_status(db_engine, appt_id) == "booked", what="appointment booked")
    got = api.get(f"{V1}/appointments/{appt_id}", headers=account["headers"])
    assert got.status_code == 200 and got.json()["status"] == "booked", got.text

    pid = payment_row(db_engine, prepay["out_trade_no"])["id"]
    for kind in ("payment.created", "payment.paid"):
        (event,) = events_for(db_engine, kind, pid)
        payload = as_dict(event["payload"])
        assert event["topic"] == "money" and event["account_id"] == account["account"]["id"]
        assert payload["out_trade_no"] == prepay["out_trade_no"] and payload["amount_fen"] == 5000
        assert payload["appointment_number"]
    query = api.get(f"{V1}/sandbox/v3/pay/transactions/out-trade-no/{prepay['out_trade_no']}").json()
    assert query["trade_state"] == "SUCCESS" and query["amount"]["total"] == 5000

    # paying again is refused: the appointment is paid
    r = api.post(f"{V1}/appointments/{appt_id}/payment", headers=account["headers"])
    assert r.status_code == 409 and r.json()["code"] == "already_paid"


def test_duplicate_deliveries_apply_once(api: httpx.Client, account: dict, book: Booker,
                                         db_engine: Engine) -> None:
    prepay = pay(api, account, book(account))
    r = api.post(f"{prepay['sandbox_url']}/confirm", params={"duplicates": 3, "delay_ms": 0})
    assert r.status_code == 200 and r.json()["notifications_scheduled"] == 3
    wait_paid(api, account, prepay["out_trade_no"])

    def all_delivered() -> list[dict[str, Any]]:
        got = rows(db_engine, "SELECT * FROM gateway_notifications WHERE out_trade_no = :n",
                   n=prepay["out_trade_no"])
        return got if got and got[0]["deliveries"] == 3 else []

    (note,) = wait_for(all_delivered, what="three deliveries counted")
    assert note["outcome"] == "applied" and note["dedupe_key"] == note["notification_id"]
    pid = payment_row(db_engine, prepay["out_trade_no"])["id"]
    assert len(events_for(db_engine, "payment.paid", pid)) == 1
    assert len([a for a in audits(db_engine, "payment.paid") if a["object_id"] == pid]) == 1


def test_concurrent_identical_notifications_apply_once(live_server: LiveServer, api: httpx.Client,
                                                       account: dict, book: Booker, db_engine: Engine,
                                                       gateway_keys: dict[str, Any]) -> None:
    prepay = pay(api, account, book(account, fee_fen=3300))
    body = notification_body(gateway_keys["apiv3"], transaction_resource(prepay["out_trade_no"], 3300))
    barrier = threading.Barrier(4)
    answers: list[int] = []

    def deliver() -> None:
        headers = signed_headers(gateway_keys["private"], gateway_keys["serial"], body)
        with live_server.client() as c:
            barrier.wait()
            answers.append(post_notify(c, body, headers).status_code)

    threads = [threading.Thread(target=deliver) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert answers == [200] * 4
    row = payment_row(db_engine, prepay["out_trade_no"])
    assert row["status"] == "paid"
    assert len(events_for(db_engine, "payment.paid", row["id"])) == 1
    (note,) = rows(db_engine, "SELECT * FROM gateway_notifications WHERE out_trade_no = :n",
                   n=prepay["out_trade_no"])
    assert note["deliveries"] == 4 and note["outcome"] == "applied"


# ---- refusals ------------------------------------------------------------------------------------------------

def assert_refused(r: httpx.Response, status: int) -> None:
    assert r.status_code == status, r.text
    assert r.json()["code"] == "FAIL" and r.json()["message"]


def assert_untouched(engine: Engine, out_trade_no: str) -> None:
    row = payment_row(engine, out_trade_no)
    assert row["status"] == "created" and row["transaction_id"] is None
    assert not events_for(engine, "payment.paid", row["id"])


def test_forged_notification_refused_and_audited(api: httpx.Client, account: dict, book: Booker,
                                                 db_engine: Engine, gateway_keys: dict[str, Any]) -> None:
    prepay = pay(api, account, book(account))
    forger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    nid = f"EV-forged-{secrets.token_hex(6)}"
    body = notification_body(gateway_keys["apiv3"], transaction_resource(prepay["out_trade_no"], 5000),
                             notification_id=nid)
    assert_refused(post_notify(api, body, signed_headers(forger, gateway_keys["serial"], body)), 401)
    assert_untouched(db_engine, prepay["out_trade_no"])
    (note,) = rows(db_engine, "SELECT * FROM gateway_notifications WHERE notification_id = :i", i=nid)
    assert note["outcome"] == "refused:bad_signature" and note["dedupe_key"] is None
    refused = [a for a in audits(db_engine, "payment.notification_refused")
               if a["details"].get("notification_id") == nid]
    assert len(refused) == 1 and refused[0]["result"] == "refused"
    assert refused[0]["details"]["reason"] == "bad_signature" and refused[0]["actor_type"] == "gateway"

    # the genuine notification carrying the same id is still applied: the forgery did not take its id
    good = signed_headers(gateway_keys["private"], gateway_keys["serial"], body)
    assert post_notify(api, body, good).status_code == 200
    assert payment_row(db_engine, prepay["out_trade_no"])["status"] == "paid"


def test_tampered_body_refused(api: httpx.Client, account: dict, book: Booker, db_engine: Engine,
                               gateway_keys: dict[str, Any]) -> None:
    prepay = pay(api, account, book(account))
    body = notification_body(gateway_keys["apiv3"], transaction_resource(prepay["out_trade_no"], 5000))
    headers = signed_headers(gateway_keys["private"], gateway_keys["serial"], body)
    doc = json.loads(body)
    doc["summary"] = "支付成功!"
    assert_refused(post_notify(api, json.dumps(doc).encode(), headers), 401)
    # a flipped bit in the ciphertext, re-signed: the signature is fine, the AEAD tag is not
    ct = bytearray(base64.b64decode(doc["resource"]["ciphertext"]))
    ct[3] ^= 1
    doc["summary"] = "支付成功"
    doc["resource"]["ciphertext"] = base64.b64encode(bytes(ct)).decode()
    tampered = json.dumps(doc).encode()
    assert_refused(post_notify(api, tampered, signed_headers(gateway_keys["private"], gateway_keys["serial"],
                                                             tampered)), 400)
    assert_untouched(db_engine, prepay["out_trade_no"])
    reasons = {a["details"]["reason"] for a in audits(db_engine, "payment.notification_refused")
               if a["details"].get("notification_id") == doc["id"]}
    assert reasons == {"bad_signature", "decrypt_failed"}


@pytest.mark.parametrize("missing", ["Wechatpay-Timestamp", "Wechatpay-Nonce", "Wechatpay-Signature",
                                     "Wechatpay-Serial", "all"])
def test_unsigned_notification_refused(api: httpx.Client, account: dict, book: Booker, db_engine: Engine,
                                       gateway_keys: dict[str, Any], missing: str) -> None:
    prepay = pay(api, account, book(account))
    nid = f"EV-unsigned-{secrets.token_hex(6)}"
    body = notification_body(gateway_keys["apiv3"], transaction_resource(prepay["out_trade_no"], 5000),
                             notification_id=nid)
    headers = signed_headers(gateway_keys["private"], gateway_keys["serial"], body)
    headers = {"Content-Type": "application/json"} if missing == "all" else \
        {k: v for k, v in headers.items() if k != missing}
    assert_refused(post_notify(api, body, headers), 401)
    assert_untouched(db_engine, prepay["out_trade_no"])
    (note,) = rows(db_engine, "SELECT * FROM gateway_notifications WHERE notification_id = :i", i=nid)
    assert note["outcome"] == "refused:missing_signature"


def test_unknown_serial_refused(api: httpx.Client, account: dict, book: Booker, db_engine: Engine,
                                gateway_keys: dict[str, Any]) -> None:
    prepay = pay(api, account, book(account))
    body = notification_body(gateway_keys["apiv3"], transaction_resource(prepay["out_trade_no"], 5000))
    assert_refused(post_notify(api, body, signed_headers(gateway_keys["private"], "0" * 40, body)), 401)
    assert_untouched(db_engine, prepay["out_trade_no"])


def test_wrong_amount_refused_and_audited(api: httpx.Client, account: dict, book: Booker, db_engine: Engine,
                                          gateway_keys: dict[str, Any]) -> None:
    prepay = pay(api, account, book(account, fee_fen=5000))
    body = notification_body(gateway_keys["apiv3"], transaction_resource(prepay["out_trade_no"], 4999))
    assert_refused(post_notify(api, body, signed_headers(gateway_keys["private"], gateway_keys["serial"], body)),
                   400)
    assert_untouched(db_engine, prepay["out_trade_no"])
    (refusal,) = refusals_of(db_engine, prepay["out_trade_no"])
    assert refusal["details"]["reason"] == "amount_mismatch" and refusal["details"]["notification_id"]
    (note,) = rows(db_engine, "SELECT * FROM gateway_notifications WHERE out_trade_no = :n",
                   n=prepay["out_trade_no"])
    assert note["outcome"] == "refused:amount_mismatch"


@pytest.mark.parametrize("over,reason", [
    ({"mchid": "1900000999"}, "wrong_merchant"),
    ({"appid": "wx0000000000000000"}, "wrong_merchant"),
    ({"amount": {"total": 5000, "payer_total": 5000, "currency": "USD"}}, "currency_mismatch"),
    ({"amount": {"total": "5000", "currency": "CNY"}}, "amount_mismatch"),
])
def test_resource_not_ours_refused(api: httpx.Client, account: dict, book: Booker, db_engine: Engine,
                                   gateway_keys: dict[str, Any], over: dict, reason: str) -> None:
    prepay = pay(api, account, book(account, fee_fen=5000))
    body = notification_body(gateway_keys["apiv3"], transaction_resource(prepay["out_trade_no"], 5000, **over))
    assert_refused(post_notify(api, body, signed_headers(gateway_keys["private"], gateway_keys["serial"], body)),
                   400)
    assert_untouched(db_engine, prepay["out_trade_no"])
    assert [r["details"]["reason"] for r in refusals_of(db_engine, prepay["out_trade_no"])] == [reason]


def test_unknown_order_refused(api: httpx.Client, db_engine: Engine, gateway_keys: dict[str, Any]) -> None:
    no = f"P{secrets.token_hex(8)}"
    body = notification_body(gateway_keys["apiv3"], transaction_resource(no, 100))
    assert_refused(post_notify(api, body, signed_headers(gateway_keys["private"], gateway_keys["serial"], body)),
                   400)
    assert [r["details"]["reason"] for r in refusals_of(db_engine, no)] == ["unknown_order"]


@pytest.mark.parametrize("skew_s", [-400, 400])
def test_stale_timestamp_refused(api: httpx.Client, account: dict, book: Booker, db_engine: Engine,
                                 gateway_keys: dict[str, Any], skew_s: int) -> None:
    prepay = pay(api, account, book(account))
    nid = f"EV-stale-{secrets.token_hex(6)}"
    body = notification_body(gateway_keys["apiv3"], transaction_resource(prepay["out_trade_no"], 5000),
                             notification_id=nid)
    headers = signed_headers(gateway_keys["private"], gateway_keys["serial"], body,
                             timestamp=int(time.time()) + skew_s)
    assert_refused(post_notify(api, body, headers), 401)
    assert_untouched(db_engine, prepay["out_trade_no"])
    (note,) = rows(db_engine, "SELECT * FROM gateway_notifications WHERE notification_id = :i", i=nid)
    assert note["outcome"] == "refused:stale_timestamp"


def test_garbage_bodies_refused_without_error(api: httpx.Client, gateway_keys: dict[str, Any]) -> None:
    for body in (b"", b"not json", b"[]", b'{"id": 5}', b'{"id": "x", "resource": "y"}', b"\xff\xfe" * 40):
        assert_refused(post_notify(api, body, {"Content-Type": "application/json"}), 401)
        # properly signed garbage is still garbage
        headers = signed_headers(gateway_keys["private"], gateway_keys["serial"], body)
        assert_refused(post_notify(api, body, headers), 400)


def test_other_event_types_are_acknowledged_and_change_nothing(api: httpx.Client, account: dict, book: Booker,
                                                               db_engine: Engine,
                                                               gateway_keys: dict[str, Any]) -> None:
    prepay = pay(api, account, book(account))
    body = notification_body(gateway_keys["apiv3"], transaction_resource(prepay["out_trade_no"], 5000),
                             event_type="TRANSACTION.CLOSED")
    r = post_notify(api, body, signed_headers(gateway_keys["private"], gateway_keys["serial"], body))
    assert r.status_code == 200 and r.json()["code"] == "SUCCESS"
    assert_untouched(db_engine, prepay["out_trade_no"])


# ---- out of order --------------------------------------------------------------------------------------------

def test_second_payment_for_a_paid_appointment_is_kept_as_orphan(api: httpx.Client, account: dict,
                                                                  book: Booker, db_engine: Engine,
                                                                  gateway_keys: dict[str, Any]) -> None:
    """Two orders paid for one appointment (say the patient paid a stale order in another window): the second
    money stays paid, is marked for refund, and the appointment changes once."""
    appt_id = book(account, fee_fen=2000)
    first = pay(api, account, appt_id)
    api.post(f"{first['sandbox_url']}/confirm", params={"delay_ms": 0})
    wait_paid(api, account, first["out_trade_no"])
    wait_for(lambda: appointment_status(db_engine, appt_id) == "booked", what="appointment booked")
    from server.payments.models import Payment

    no = f"P{secrets.token_hex(8)}"
    with Session(db_engine) as s, s.begin():
        s.add(Payment(out_trade_no=no, account_id=account["account"]["id"], purpose="consultation",
                      appointment_id=appt_id, amount_fen=2000, status="created",
                      expires_at=dt.datetime.now(TZ) + dt.timedelta(minutes=5)))
    body = notification_body(gateway_keys["apiv3"], transaction_resource(no, 2000))
    assert post_notify(api, body, signed_headers(gateway_keys["private"], gateway_keys["serial"], body)
                       ).status_code == 200
    row = payment_row(db_engine, no)
    assert row["status"] == "paid" and row["orphan_reason"] == "duplicate_payment"
    (orphaned,) = events_for(db_engine, "payment.orphaned", row["id"])
    assert as_dict(orphaned["payload"])["reason"] == "duplicate_payment"
    assert appointment_status(db_engine, appt_id) == "booked"

    # a different success notification for the same, already paid, order changes nothing more
    body2 = notification_body(gateway_keys["apiv3"], transaction_resource(no, 2000))
    assert post_notify(api, body2, signed_headers(gateway_keys["private"], gateway_keys["serial"], body2)
                       ).status_code == 200
    assert payment_row(db_engine, no)["transaction_id"] == row["transaction_id"]
    assert len(events_for(db_engine, "payment.paid", row["id"])) == 1
    notes = rows(db_engine, "SELECT outcome FROM gateway_notifications WHERE out_trade_no = :n ORDER BY id", n=no)
    assert [n["outcome"] for n in notes] == ["applied:orphaned", "ignored:already_paid"]


def test_success_after_close_is_kept_and_orphaned_when_the_slot_is_gone(api: httpx.Client, account: dict,
                                                                         db_engine: Engine,
                                                                         gateway_keys: dict[str, Any]) -> None:
    """The hold ran out, the order was closed, another patient took the last place, and then the gateway says
    the money arrived after all: the payment becomes paid once (late), stays with no appointment, and is marked
    for refund."""
    from server.appointments.models import Appointment
    from server.catalogue.models import Slot
    from server.payments.models import Payment

    clinic = make_clinic_rows(db_engine, capacity=1)
    appt_id = make_appointment(db_engine, clinic, account, fee_fen=1500)
    prepay = pay(api, account, appt_id)
    past = dt.datetime.now(TZ) - dt.timedelta(minutes=1)
    with Session(db_engine) as s, s.begin():  # expired, place released and taken by someone else, order closed
        appt = s.get(Appointment, appt_id)
        assert appt is not None
        appt.status, appt.hold_expires_at, appt.ended_at = "expired", past, past
        s.execute(update(Payment).where(Payment.out_trade_no == prepay["out_trade_no"])
                  .values(status="closed", closed_at=past, expires_at=past))
        slot = s.get(Slot, clinic["slot_id"])
        assert slot is not None and slot.booked == slot.capacity == 1
    body = notification_body(gateway_keys["apiv3"], transaction_resource(prepay["out_trade_no"], 1500))
    for _ in range(2):  # and once more: the second delivery changes nothing
        r = post_notify(api, body, signed_headers(gateway_keys["private"], gateway_keys["serial"], body))
        assert r.status_code == 200 and r.json()["code"] == "SUCCESS"
    row = payment_row(db_engine, prepay["out_trade_no"])
    assert row["status"] == "paid" and row["orphan_reason"] == "slot_lost_after_payment"
    (paid,) = events_for(db_engine, "payment.paid", row["id"])
    assert as_dict(paid["payload"])["late"] is True
    assert len(events_for(db_engine, "payment.orphaned", row["id"])) == 1
    assert appointment_status(db_engine, appt_id) == "expired"
    (note,) = rows(db_engine, "SELECT * FROM gateway_notifications WHERE out_trade_no = :n",
                   n=prepay["out_trade_no"])
    assert note["outcome"] == "applied:orphaned" and note["deliveries"] == 2


# ---- the reconciler ------------------------------------------------------------------------------------------

def _database(live_server: LiveServer) -> Any:
    from server.config import Settings
    from server.db import Database

    settings = Settings(data_dir=live_server.data_dir, database_url=live_server.database_url,
                        public_base_url=live_server.base_url)
    return Database(settings)


def test_reconciler_applies_lost_notification_and_closes_expired(live_server: LiveServer, api: httpx.Client,
                                                                 account: dict, book: Booker,
                                                                 db_engine: Engine) -> None:
    from server.payments.models import Payment
    from server.payments.service import reconcile_payments

    lost_appt = book(account)
    lost = pay(api, account, lost_appt)
    r = api.post(f"{lost['sandbox_url']}/confirm", params={"notify": "false"})
    assert r.status_code == 200 and r.json()["notifications_scheduled"] == 0
    unpaid = pay(api, account, book(account))
    with db_engine.begin() as c:  # the unpaid order's time ran out
        c.execute(update(Payment).where(Payment.out_trade_no == unpaid["out_trade_no"])
                  .values(expires_at=dt.datetime.now(TZ) - dt.timedelta(minutes=1)))
    assert payment_row(db_engine, lost["out_trade_no"])["status"] == "created"

    db = _database(live_server)
    try:
        result = reconcile_payments(db, min_age_s=0)
        again = reconcile_payments(db, min_age_s=0)
    finally:
        db.dispose()
    assert result.applied >= 1 and result.closed >= 1
    assert payment_row(db_engine, lost["out_trade_no"])["status"] == "paid"
    assert appointment_status(db_engine, lost_appt) == "booked"
    closed = payment_row(db_engine, unpaid["out_trade_no"])
    assert closed["status"] == "closed" and closed["closed_at"] is not None
    assert len(events_for(db_engine, "payment.closed", closed["id"])) == 1
    assert again.applied == 0 and again.closed == 0
    q = api.get(f"{V1}/sandbox/v3/pay/transactions/out-trade-no/{unpaid['out_trade_no']}").json()
    assert q["trade_state"] == "CLOSED"
    # the closed order can no longer be paid at the gateway
    assert api.post(f"{unpaid['sandbox_url']}/confirm").status_code == 409


# ---- opening a payment ---------------------------------------------------------------------------------------

def test_payment_is_idempotent_while_open(live_server: LiveServer, api: httpx.Client, account: dict,
                                          book: Booker, db_engine: Engine) -> None:
    appt_id = book(account)
    r1 = api.post(f"{V1}/appointments/{appt_id}/payment", headers=account["headers"])
    r2 = api.post(f"{V1}/appointments/{appt_id}/payment", headers=account["headers"])
    assert (r1.status_code, r2.status_code) == (201, 200)
    assert r1.json() == r2.json()

    # two taps at the same moment on a fresh appointment: one order
    appt2 = book(account)
    barrier = threading.Barrier(3)
    got: list[httpx.Response] = []

    def tap() -> None:
        with live_server.client() as c:
            barrier.wait()
            got.append(c.post(f"{V1}/appointments/{appt2}/payment", headers=account["headers"]))

    threads = [threading.Thread(target=tap) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sorted(r.status_code for r in got) == [200, 200, 201]
    assert len({r.json()["out_trade_no"] for r in got}) == 1
    assert len({r.json()["prepay_id"] for r in got}) == 1
    assert len(rows(db_engine, "SELECT id FROM payments WHERE appointment_id = :a", a=appt2)) == 1


def test_payment_takes_an_idempotency_key(api: httpx.Client, account: dict, book: Booker,
                                          db_engine: Engine) -> None:
    appt_id = book(account)
    key = {**account["headers"], "Idempotency-Key": "pay-key-0000000001"}
    r1 = api.post(f"{V1}/appointments/{appt_id}/payment", headers=key)
    r2 = api.post(f"{V1}/appointments/{appt_id}/payment", headers=key)
    assert (r1.status_code, r2.status_code) == (201, 201)  # the first answer, replayed
    assert r2.headers.get("Idempotent-Replayed") == "true" and r1.json() == r2.json()
    # the same key for another appointment is refused, and opens nothing there
    other = book(account)
    r3 = api.post(f"{V1}/appointments/{other}/payment", headers=key)
    assert r3.status_code == 422 and r3.json()["code"] == "idempotency_key_reused"
    assert rows(db_engine, "SELECT id FROM payments WHERE appointment_id = :a", a=other) == []
    assert len(rows(db_engine, "SELECT id FROM payments WHERE appointment_id = :a", a=appt_id)) == 1


def test_expired_hold_and_wrong_status_refused(api: httpx.Client, account: dict, book: Booker,
                                               db_engine: Engine) -> None:
    expired = book(account, hold_minutes=-1)
    r = api.post(f"{V1}/appointments/{expired}/payment", headers=account["headers"])
    assert r.status_code == 409 and r.json()["code"] == "hold_expired" and "重新预约" in r.json()["message"]
    cancelled = book(account, status="cancelled")
    r = api.post(f"{V1}/appointments/{cancelled}/payment", headers=account["headers"])
    assert r.status_code == 409 and r.json()["code"] == "appointment_not_payable"
    assert not rows(db_engine, "SELECT id FROM payments WHERE appointment_id IN (:a, :b)", a=expired, b=cancelled)


def test_payment_routes_need_login(api: httpx.Client, account: dict, book: Booker) -> None:
    appt_id = book(account)
    assert api.post(f"{V1}/appointments/{appt_id}/payment").status_code == 401
    assert api.get(f"{V1}/payments/P123").status_code == 401


def test_other_account_sees_neither_appointment_nor_payment(api: httpx.Client, account: dict, other: dict,
                                                            book: Booker, db_engine: Engine) -> None:
    appt_id = book(account)
    prepay = pay(api, account, appt_id)

    theirs = api.post(f"{V1}/appointments/{appt_id}/payment", headers=other["headers"])
    absent = api.post(f"{V1}/appointments/{2**53}/payment", headers=other["headers"])
    assert theirs.status_code == absent.status_code == 404
    assert theirs.json()["code"] == absent.json()["code"] == "not_found"

    theirs = api.get(f"{V1}/payments/{prepay['out_trade_no']}", headers=other["headers"])
    absent = api.get(f"{V1}/payments/P00000000000000000000", headers=other["headers"])
    assert theirs.status_code == absent.status_code == 404
    assert theirs.json() == absent.json()
    assert len(rows(db_engine, "SELECT id FROM payments WHERE appointment_id = :a", a=appt_id)) == 1


def test_sandbox_unknown_ids(api: httpx.Client) -> None:
    assert api.get(f"{V1}/sandbox/pay/wx-nothing").status_code == 404
    assert api.post(f"{V1}/sandbox/pay/wx-nothing/confirm").status_code == 404
    r = api.get(f"{V1}/sandbox/v3/pay/transactions/out-trade-no/P0")
    assert r.status_code == 404 and r.json()["code"] == "ORDER_NOT_EXIST"


# ---- the sandbox's delivery and production ---------------------------------------------------------------------

def test_delivery_retries_with_backoff_until_answered(tmp_path: Path) -> None:
    """The sandbox's sender against a receiver that fails twice: three tries, waiting 0.2 s then 0.5 s."""
    from server.payments import gateway, wechatpay

    keys = wechatpay.sandbox_keys(tmp_path)
    answers = iter([500, 503, 200])
    seen: list[httpx.Request] = []

    def receiver(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(next(answers))

    slept: list[float] = []
    with httpx.Client(transport=httpx.MockTransport(receiver)) as client:
        tries = gateway.deliver(client, "http://receiver/notify", keys, b'{"id":"EV-1"}', sleep=slept.append)
    assert tries == 3 and slept == [0.2, 0.5]
    assert len({r.headers["Wechatpay-Nonce"] for r in seen}) == 3  # each try signed afresh
    assert {r.content for r in seen} == {b'{"id":"EV-1"}'}
    assert oct((tmp_path / "sandbox_gateway" / "platform_private_key.pem").stat().st_mode & 0o777) == "0o600"

    with httpx.Client(transport=httpx.MockTransport(lambda _r: httpx.Response(500))) as client:
        slept.clear()
        assert gateway.deliver(client, "http://receiver/notify", keys, b"{}", sleep=slept.append) == 5
    assert slept == [0.2, 0.5, 1.0, 2.0]


def test_sandbox_routes_absent_in_production(tmp_path: Path) -> None:
    """Production has no sandbox, and verifies notifications with the configured platform key only."""
    platform = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = platform.public_key().public_bytes(serialization.Encoding.PEM,
                                             serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    apiv3 = secrets.token_hex(16).encode()
    key = base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()
    server = start_server(tmp_path, extra_env={
        "CLINIC_ENVIRONMENT": "production", "CLINIC_ENCRYPTION_KEY": key, "CLINIC_SCHEDULER_ENABLED": "false",
        "CLINIC_WECHATPAY_PLATFORM_PUBLIC_KEY": pem, "CLINIC_WECHATPAY_PLATFORM_SERIAL": "PLATFORM1",
        "CLINIC_WECHATPAY_APIV3_KEY": apiv3.decode()}, database_url=f"sqlite:///{tmp_path / 'prod.sqlite3'}")
    try:
        with server.client() as c:
            paths = c.get("/openapi.json").json()["paths"]
            assert f"{V1}/payments/notify" in paths
            assert not [p for p in paths if "/sandbox/" in p]
            assert c.get(f"{V1}/sandbox/pay/wx123").status_code == 404
            body = notification_body(apiv3, transaction_resource("P-none", 100))
            # signed by the configured platform key: verified, then refused only because the order is unknown
            r = post_notify(c, body, signed_headers(platform, "PLATFORM1", body))
            assert r.status_code == 400 and r.json() == {"code": "FAIL", "message": "商户订单号不存在"}
            forger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            r = post_notify(c, body, signed_headers(forger, "PLATFORM1", body))
            assert r.status_code == 401 and r.json()["code"] == "FAIL"
        assert not (server.data_dir / "sandbox_gateway").exists()
    finally:
        stop_server(server)


def test_sandbox_autopay(tmp_path: Path) -> None:
    """``CLINIC_SANDBOX_AUTOPAY``: the order is paid as soon as it exists, and the notification books it."""
    server = start_server(tmp_path, extra_env={"CLINIC_SANDBOX_AUTOPAY": "true",
                                               "CLINIC_SANDBOX_NOTIFY_DELAY_MS": "0"})
    engine = create_engine(server.database_url)
    try:
        with server.client() as c:
            acc = register_account(c)
            appt_id = make_appointment(engine, make_clinic_rows(engine), acc)
            prepay = pay(c, acc, appt_id)
            wait_paid(c, acc, prepay["out_trade_no"])
            wait_for(lambda: appointment_status(engine, appt_id) == "booked", what="appointment booked")
    finally:
        engine.dispose()
        stop_server(server)
