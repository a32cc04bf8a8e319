"""Not yours answers exactly like absent: every route with an id in its path, probed with two of everything.

The route list comes from the live OpenAPI document. Each ``{id}`` route is either probed — the object made for
account A (or doctor A), asked for by account B, the other doctor, the clerk, the pharmacist, a token of the wrong
kind and nobody, each answer compared in status and ``code`` with the answer to an absent id — or listed in
``NOT_OWNER_SCOPED`` with the reason. A new id route in neither place fails
``test_every_id_route_is_probed_or_listed``, so no future route skips the check.

Ids the caller supplies in a body or a query (a patient to book for, files to attach) get the same treatment in
the tests after the table.
"""
from __future__ import annotations

import datetime as dt
import io
import random
import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from PIL import Image
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session
from stdnum.cn.ric import calc_check_digit

import server.models  # noqa: F401  (every table, so foreign keys resolve in this process)
from tests.booking_helpers import (
    accept_notice,
    book,
    eligible_patient,
    future_start,
    make_doctor,
    make_schedule,
    soon_start,
    wait_for,
)
from tests.conftest import LiveServer
from tests.helpers import auth, last_sms_code, register_account

V1 = "/api/v1"
ABSENT = 2**31          # a valid id no row has (ids are small in a test database)
ABSENT_TRADE_NO = "P" + "9" * 20


# --- the cast ----------------------------------------------------------------------------------------------------


def staff_session(engine: Engine, *, role: str, doctor_id: int | None = None,
                  password: str | None = None) -> dict[str, Any]:
    """A staff member with a live workstation session, made in the database (logins have lockouts);
    ``password`` for one who signs prescriptions."""
    from server.ids import token_hash
    from server.security import hash_password
    from server.staff.models import Staff, StaffSession

    token = secrets.token_urlsafe(32)
    t = dt.datetime.now(dt.UTC)
    with Session(engine) as s, s.begin():
        staff = Staff(username=f"own{secrets.token_hex(5)}", name="越权测试", role=role,
                      password_hash=hash_password(password) if password else "!",
                      doctor_id=doctor_id, active=True)
        s.add(staff)
        s.flush()
        s.add(StaffSession(staff_id=staff.id, token_hash=token_hash(token), last_seen_at=t,
                           expires_at=t + dt.timedelta(hours=2)))
        return {"id": staff.id, "headers": auth(token)}


def _png(colour: tuple[int, int, int]) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (24, 16), colour).save(buf, format="PNG")
    return buf.getvalue()


def upload(api: httpx.Client, headers: dict[str, str], purpose: str) -> int:
    r = api.post(f"{V1}/files", headers=headers, data={"purpose": purpose},
                 files={"file": (f"{purpose}.png", _png((random.randrange(256), 80, 160)), "image/png")})
    assert r.status_code == 201, r.text
    return r.json()["id"]


def resident_id() -> str:
    body = "110105" + "19800214" + f"{random.randint(0, 99):02d}" + random.choice("13579")
    return body + calc_check_digit(body + "0")


def add_patient(api: httpx.Client, who: dict[str, Any]) -> int:
    """A first-visit patient through the whole API path: ID photos, the SMS check, the form."""
    front, back = upload(api, who["headers"], "id_photo"), upload(api, who["headers"], "id_photo")
    r = api.post(f"{V1}/me/sms/codes", json={"purpose": "add_patient"}, headers=who["headers"])
    assert r.status_code == 202, r.text
    r = api.post(f"{V1}/patients", headers=who["headers"], json={
        "kind": "first_visit", "name": "王越权", "sex": "male", "nationality": "中国", "ethnicity": "汉族",
        "id_type": "resident_id", "id_number": resident_id(), "id_front_file_id": front, "id_back_file_id": back,
        "relation": "self", "code": last_sms_code(api, who["mobile"])})
    assert r.status_code == 201, r.text
    return r.json()["id"]


def pay(api: httpx.Client, headers: dict[str, str], appointment_id: int, *, confirm: bool) -> dict[str, Any]:
    """Through the payment route and the sandbox gateway, as the mini-program would."""
    r = api.post(f"{V1}/appointments/{appointment_id}/payment", headers=headers)
    assert r.status_code == 201, r.text
    prepay = r.json()
    if confirm:
        r = api.post(f"{V1}/sandbox/pay/{prepay['prepay_id']}/confirm")
        assert r.status_code == 200, r.text
        wait_for(lambda: api.get(f"{V1}/appointments/{appointment_id}", headers=headers).json()["status"]
                 == "booked", what=f"appointment {appointment_id} to be paid")
    return prepay


RX_PASSWORD = "Sign-pass-2026"


def prescriptions(api: httpx.Client, holder: dict[str, Any], doctor: dict[str, Any], pharmacist: dict[str, Any],
                  appointment_id: int) -> tuple[int, int]:
    """A's appointment through the visit to consent, then doctor A's draft and an issued prescription."""
    pay(api, holder["headers"], appointment_id, confirm=True)
    r = api.post(f"{V1}/appointments/{appointment_id}/check-in", headers=holder["headers"])
    assert r.status_code == 200, r.text
    r = api.post(f"{V1}/appointments/{appointment_id}/description", headers=holder["headers"],
                 json={"text": "复查", "file_ids": []})
    assert r.status_code == 200, r.text
    staff = f"{V1}/staff/appointments/{appointment_id}"
    r = api.post(f"{staff}/call", headers=doctor["headers"])
    assert r.status_code == 201, r.text
    r = api.post(f"{staff}/call/state", headers=doctor["headers"],
                 json={"segment_id": r.json()["segment"]["id"], "state": "connected"})
    assert r.status_code == 200, r.text
    req = api.post(f"{staff}/consent-requests", headers=doctor["headers"]).json()
    r = api.post(f"{V1}/appointments/{appointment_id}/consent", headers=holder["headers"],
                 json={"request_id": req["id"], "version": req["version"], "agree": True})
    assert r.status_code == 200, r.text
    body = {"diagnosis": {"code": "D50.9", "name": "缺铁性贫血"},
            "lines": [{"drug_code": "HE001", "dose": 100, "route": "po", "frequency": "tid", "days": 7}]}
    made = [api.post(f"{staff}/prescriptions", headers=doctor["headers"], json=body).json() for _ in range(2)]
    r = api.post(f"{V1}/staff/prescriptions/{made[1]['id']}/sign", headers=doctor["headers"],
                 json={"password": RX_PASSWORD, "revision": made[1]["revision"]})
    assert r.status_code == 200, r.text
    r = api.post(f"{V1}/staff/prescriptions/{made[1]['id']}/approve", headers=pharmacist["headers"])
    assert r.status_code == 200 and r.json()["status"] == "issued", r.text
    return made[0]["id"], made[1]["id"]


@dataclass
class World:
    a: dict[str, Any]
    b: dict[str, Any]
    doctor_a: dict[str, Any]
    doctor_b: dict[str, Any]
    clerk: dict[str, Any]
    pharmacist: dict[str, Any]
    admin: dict[str, Any]
    patient: int                      # A's patient, added through the API
    files: dict[str, int]             # A's files by purpose; the description one is attached to ``waiting``
    waiting: int                      # A's appointment with doctor A: paid, checked in, described
    booked: int                       # A's appointment with doctor A: paid, not checked in
    unpaid: int                       # A's appointment with doctor A: pending payment, payment open
    out_trade_no: str
    doctor_id: int                    # doctor A's catalogue id
    schedule_id: int                  # a future schedule of doctor A's with nothing booked
    draft_rx: int = 0                 # doctor A's draft prescription for A's patient (consented visit)
    issued_rx: int = 0                # doctor A's prescription, signed and approved: A's to see and pay
    other: dict[str, Any] = field(default_factory=dict)


@pytest.fixture(scope="module")
def world(live_server: LiveServer, db_engine: Engine) -> World:
    ip = f"10.{random.randint(0, 255)}.{random.randint(0, 255)}.{random.randint(1, 254)}"
    with live_server.client(headers={"X-Forwarded-For": ip}) as api:
        admin = staff_session(db_engine, role="admin")
        doc_a = make_doctor(api, admin["headers"], department_code="hematology", name="甲医生")
        doc_b = make_doctor(api, admin["headers"], department_code="hematology", name="乙医生")
        soon = make_schedule(api, admin["headers"], doctor_id=doc_a["id"], start=soon_start(lead_minutes=5),
                             minutes=30, slot_minutes=15, capacity=3)
        later = make_schedule(api, admin["headers"], doctor_id=doc_a["id"], start=future_start(days=3, hour=10),
                              minutes=30, slot_minutes=15, capacity=3)
        spare = make_schedule(api, admin["headers"], doctor_id=doc_a["id"], start=future_start(days=4, hour=10),
                              minutes=30, slot_minutes=15, capacity=3)
        a, b = register_account(api, name="甲用户"), register_account(api, name="乙用户")
        version = accept_notice(api, a["headers"])
        accept_notice(api, b["headers"])
        patient = add_patient(api, a)
        files = {p: upload(api, a["headers"], p) for p in ("id_photo", "description", "feedback")}
        eligible = [eligible_patient(db_engine, a["account"]["id"], department_code="hematology", name=n)
                    for n in ("甲一", "甲二", "甲三", "甲四")]

        def booking(patient_id: int, slot_id: int) -> int:
            r = book(api, a["headers"], patient_id=patient_id, slot_id=slot_id, notice_version=version)
            assert r.status_code == 201, r.text
            return r.json()["id"]

        waiting = booking(eligible[0], soon["slots"][0]["id"])
        booked = booking(eligible[1], soon["slots"][0]["id"])
        unpaid = booking(eligible[2], later["slots"][0]["id"])
        pay(api, a["headers"], waiting, confirm=True)
        pay(api, a["headers"], booked, confirm=True)
        prepay = pay(api, a["headers"], unpaid, confirm=False)
        r = api.post(f"{V1}/appointments/{waiting}/check-in", headers=a["headers"])
        assert r.status_code == 200, r.text
        r = api.post(f"{V1}/appointments/{waiting}/description", headers=a["headers"],
                     json={"text": "乏力两周，复查血常规", "file_ids": [files["description"]]})
        assert r.status_code == 200 and r.json()["status"] == "waiting", r.text
        doctor_a = staff_session(db_engine, role="doctor", doctor_id=doc_a["id"], password=RX_PASSWORD)
        pharmacist = staff_session(db_engine, role="pharmacist")
        draft_rx, issued_rx = prescriptions(api, a, doctor_a, pharmacist,
                                            booking(eligible[3], soon["slots"][1]["id"]))
    return World(
        a=a, b=b, admin=admin, doctor_a=doctor_a, draft_rx=draft_rx, issued_rx=issued_rx,
        doctor_b=staff_session(db_engine, role="doctor", doctor_id=doc_b["id"]),
        clerk=staff_session(db_engine, role="clerk"), pharmacist=pharmacist,
        patient=patient, files=files, waiting=waiting, booked=booked, unpaid=unpaid,
        out_trade_no=prepay["out_trade_no"], doctor_id=doc_a["id"], schedule_id=spare["id"])


@pytest.fixture()
def api(live_server: LiveServer) -> Iterator[httpx.Client]:
    with live_server.client() as client:
        yield client


# --- the table ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Probe:
    """Ask for ``real`` and for ``absent`` as ``who``: the answers must agree in status and code."""

    who: str
    real: str
    absent: str
    body: dict[str, Any] | None = None
    # the owner's answer, to show ``real`` is really there (only for reads: a write would change it)
    owner: str | None = None


Maker = Callable[[World], list[Probe]]

# who asks, by name: the caller's headers come from the world
NOBODY, FORGED = "nobody", "forged token"


def headers_of(world: World, who: str) -> dict[str, str]:
    if who == NOBODY:
        return {}
    if who == FORGED:
        return auth(secrets.token_urlsafe(32))
    person = {"account A": world.a, "account B": world.b, "doctor A": world.doctor_a, "doctor B": world.doctor_b,
              "clerk": world.clerk, "pharmacist": world.pharmacist, "admin": world.admin}[who]
    return person["headers"]


ACCOUNTS_OTHERS = ["account B", "doctor A", NOBODY, FORGED]   # for an account holder's object
STAFF_OTHERS = ["doctor B", "pharmacist", "account A", NOBODY, FORGED]   # for doctor A's clinical object
NOT_ADMINS = ["doctor A", "doctor B", "clerk", "pharmacist", "account A", NOBODY]   # for admin-only routes
DOCTOR_ROUTES = ["doctor B", "clerk", "pharmacist", "admin", "account A", NOBODY]   # doctor-only actions


def each(whos: list[str], real: str, absent: str, *, body: dict[str, Any] | None = None,
         owner: str | None = None) -> list[Probe]:
    return [Probe(w, real, absent, body, owner) for w in whos]


def _patient(path: str, body: dict[str, Any] | None = None, read: bool = False) -> Maker:
    return lambda w: each(ACCOUNTS_OTHERS, path.format(w.patient), path.format(ABSENT), body=body,
                          owner="account A" if read else None)


def _appointment(path: str, which: str, body: dict[str, Any] | None = None, read: bool = False) -> Maker:
    return lambda w: each(ACCOUNTS_OTHERS, path.format(getattr(w, which)), path.format(ABSENT), body=body,
                          owner="account A" if read else None)


def _my_files(w: World) -> list[Probe]:
    return [p for fid in w.files.values()
            for p in each(ACCOUNTS_OTHERS, f"/files/{fid}", f"/files/{ABSENT}", owner="account A")]


def _staff_files(w: World) -> list[Probe]:
    described = w.files["description"]
    # the attachment of doctor A's appointment: the other doctor, clerk, pharmacist, the owner's patient token
    probes = each(STAFF_OTHERS + ["clerk"], f"/staff/files/{described}", f"/staff/files/{ABSENT}",
                  owner="doctor A")
    # files not attached to any appointment (ID photos, feedback pictures): not even doctor A may read them
    for purpose in ("id_photo", "feedback"):
        probes += each(["doctor A", "doctor B", "clerk", "pharmacist"], f"/staff/files/{w.files[purpose]}",
                       f"/staff/files/{ABSENT}", owner="admin")
    return probes


def _staff_appointment(suffix: str, whos: list[str], *, body: dict[str, Any] | None = None,
                       read: bool = False) -> Maker:
    return lambda w: each(whos, f"/staff/appointments/{w.waiting}{suffix}", f"/staff/appointments/{ABSENT}{suffix}",
                          body=body, owner="doctor A" if read else None)


def _admin(path: str, attr: str, body: dict[str, Any] | None = None) -> Maker:
    def make(w: World) -> list[Probe]:
        real = w.doctor_a["id"] if attr == "staff" else getattr(w, attr)
        return each(NOT_ADMINS, path.format(real), path.format(ABSENT), body=body)
    return make


RECORD = {"diagnosis_code": "D50", "diagnosis_name": "缺铁性贫血", "notes": "越权探测"}
RX_DRAFT = {"diagnosis": {"code": "D50.9", "name": "越权探测"}, "revision": 1}
PHARMACIST_ROUTES = ["doctor A", "doctor B", "clerk", "account A", NOBODY]   # pharmacist actions
RX_STAFF_OTHERS = ["doctor B", "pharmacist", "clerk", "account A", NOBODY, FORGED]   # doctor A's draft


def _rx(suffix: str, whos: list[str], *, which: str = "draft_rx", body: dict[str, Any] | None = None,
        read: bool = False) -> Maker:
    return lambda w: each(whos, f"/staff/prescriptions/{getattr(w, which)}{suffix}",
                          f"/staff/prescriptions/{ABSENT}{suffix}", body=body, owner="doctor A" if read else None)


def _my_rx(suffix: str, body: dict[str, Any] | None = None, read: bool = False) -> Maker:
    def make(w: World) -> list[Probe]:
        probes = each(ACCOUNTS_OTHERS, f"/prescriptions/{w.issued_rx}{suffix}", f"/prescriptions/{ABSENT}{suffix}",
                      body=body, owner="account A" if read else None)
        # the holder's own prescription before the pharmacist approved it: not there yet
        return probes + [Probe("account A", f"/prescriptions/{w.draft_rx}{suffix}",
                               f"/prescriptions/{ABSENT}{suffix}", body)]
    return make

PROBES: dict[tuple[str, str], Maker] = {
    # the account holder's own things
    ("GET", "/api/v1/patients/{patient_id}"): _patient("/patients/{}", read=True),
    ("PATCH", "/api/v1/patients/{patient_id}"): _patient("/patients/{}", {"occupation": "教师"}),
    ("DELETE", "/api/v1/patients/{patient_id}"): _patient("/patients/{}"),
    ("GET", "/api/v1/files/{file_id}"): _my_files,
    ("GET", "/api/v1/appointments/{appointment_id}"): _appointment("/appointments/{}", "waiting", read=True),
    # ``booked`` can be checked in and is not yet described: a leak would answer with a state error instead
    ("POST", "/api/v1/appointments/{appointment_id}/check-in"): _appointment("/appointments/{}/check-in", "booked"),
    ("POST", "/api/v1/appointments/{appointment_id}/description"):
        _appointment("/appointments/{}/description", "booked", {"text": "越权探测", "file_ids": []}),
    ("POST", "/api/v1/appointments/{appointment_id}/payment"): _appointment("/appointments/{}/payment", "unpaid"),
    # a leak would cancel and refund someone else's booking (or answer appointment_started / not_cancellable)
    ("POST", "/api/v1/appointments/{appointment_id}/cancel"):
        _appointment("/appointments/{}/cancel", "booked", {"confirm": True}),
    # a leak would apply for someone else's refund (or answer appointment_not_started / not_refundable)
    ("POST", "/api/v1/appointments/{appointment_id}/refund-application"):
        _appointment("/appointments/{}/refund-application", "booked", {"reason": "越权探测退号"}),
    ("GET", "/api/v1/payments/{out_trade_no}"):
        lambda w: each(ACCOUNTS_OTHERS, f"/payments/{w.out_trade_no}", f"/payments/{ABSENT_TRADE_NO}",
                       owner="account A"),
    # the workstation: doctor A's patient (the clerk reads appointments without clinical fields: not probed
    # with the clerk on that route, see test_clerk_reads_appointments_without_clinical_fields)
    ("GET", "/api/v1/staff/files/{file_id}"): _staff_files,
    ("GET", "/api/v1/staff/appointments/{appointment_id}"): _staff_appointment("", STAFF_OTHERS, read=True),
    ("GET", "/api/v1/staff/appointments/{appointment_id}/chart"):
        _staff_appointment("/chart", STAFF_OTHERS + ["clerk"], read=True),
    ("POST", "/api/v1/staff/appointments/{appointment_id}/accept"): _staff_appointment("/accept", DOCTOR_ROUTES),
    ("PUT", "/api/v1/staff/appointments/{appointment_id}/record"):
        _staff_appointment("/record", DOCTOR_ROUTES, body=RECORD),
    ("POST", "/api/v1/staff/appointments/{appointment_id}/finish"):
        _staff_appointment("/finish", DOCTOR_ROUTES, body=RECORD),
    ("POST", "/api/v1/staff/appointments/{appointment_id}/missed"):
        _staff_appointment("/missed", DOCTOR_ROUTES, body={"reason": "越权探测"}),
    # the refund window's (any clerk refunds any appointment): everyone else is refused alike, doctor A too
    ("POST", "/api/v1/staff/appointments/{appointment_id}/window-refund"):
        _staff_appointment("/window-refund", ["doctor A", "doctor B", "pharmacist", "account A", NOBODY, FORGED],
                           body={"reason": "越权探测退费"}),
    # the video visit: doctor A's call of A's waiting patient (never called: a leak would answer no_call, or
    # ring), and the holder's side of it (the stream answers 404 before it starts; the owner's would not end)
    ("POST", "/api/v1/staff/appointments/{appointment_id}/call"): _staff_appointment("/call", DOCTOR_ROUTES),
    ("GET", "/api/v1/staff/appointments/{appointment_id}/call"): _staff_appointment("/call", DOCTOR_ROUTES),
    ("POST", "/api/v1/staff/appointments/{appointment_id}/call/signals"):
        _staff_appointment("/call/signals", DOCTOR_ROUTES, body={"segment_id": 1, "type": "hangup"}),
    ("POST", "/api/v1/staff/appointments/{appointment_id}/call/state"):
        _staff_appointment("/call/state", DOCTOR_ROUTES, body={"segment_id": 1, "state": "connected"}),
    ("POST", "/api/v1/staff/appointments/{appointment_id}/consent-requests"):
        _staff_appointment("/consent-requests", DOCTOR_ROUTES),
    ("GET", "/api/v1/staff/appointments/{appointment_id}/consent"): _staff_appointment("/consent", DOCTOR_ROUTES),
    ("GET", "/api/v1/appointments/{appointment_id}/call"): _appointment("/appointments/{}/call", "waiting"),
    ("GET", "/api/v1/appointments/{appointment_id}/call/events"):
        _appointment("/appointments/{}/call/events", "waiting"),
    ("POST", "/api/v1/appointments/{appointment_id}/call/signals"):
        _appointment("/appointments/{}/call/signals", "waiting", {"segment_id": 1, "type": "hangup"}),
    ("GET", "/api/v1/appointments/{appointment_id}/consent"): _appointment("/appointments/{}/consent", "waiting"),
    ("POST", "/api/v1/appointments/{appointment_id}/consent"):
        _appointment("/appointments/{}/consent", "waiting", {"request_id": 1, "version": 1, "agree": True}),
    # prescriptions: doctor A's (a draft: the pharmacist never sees drafts, so even a pharmacist's approve,
    # return or dispense answers like absent), and the holder's side of an issued one
    ("GET", "/api/v1/staff/appointments/{appointment_id}/prescriptions"):
        _staff_appointment("/prescriptions", DOCTOR_ROUTES, read=True),
    ("POST", "/api/v1/staff/appointments/{appointment_id}/prescriptions"):
        _staff_appointment("/prescriptions", DOCTOR_ROUTES, body={}),
    ("GET", "/api/v1/staff/prescriptions/{rx_id}"): _rx("", RX_STAFF_OTHERS, read=True),
    ("PUT", "/api/v1/staff/prescriptions/{rx_id}"): _rx("", DOCTOR_ROUTES, body=RX_DRAFT),
    ("POST", "/api/v1/staff/prescriptions/{rx_id}/sign"):
        _rx("/sign", DOCTOR_ROUTES, body={"password": RX_PASSWORD, "revision": 1}),
    ("POST", "/api/v1/staff/prescriptions/{rx_id}/void"): _rx("/void", DOCTOR_ROUTES, body={"reason": "越权探测"}),
    ("GET", "/api/v1/staff/prescriptions/{rx_id}/slip"): _rx("/slip", RX_STAFF_OTHERS),
    ("POST", "/api/v1/staff/prescriptions/{rx_id}/approve"): _rx("/approve", PHARMACIST_ROUTES + ["pharmacist"]),
    ("POST", "/api/v1/staff/prescriptions/{rx_id}/return"):
        _rx("/return", PHARMACIST_ROUTES + ["pharmacist"], body={"reason": "越权探测"}),
    ("POST", "/api/v1/staff/prescriptions/{rx_id}/dispense"): _rx("/dispense", PHARMACIST_ROUTES + ["pharmacist"]),
    # the refund window's drug fee (any clerk refunds any prescription): everyone else is refused alike
    ("POST", "/api/v1/staff/prescriptions/{rx_id}/refund"):
        _rx("/refund", ["doctor A", "doctor B", "pharmacist", "account A", NOBODY, FORGED], which="issued_rx",
            body={"reason": "越权探测退费"}),
    ("GET", "/api/v1/prescriptions/{rx_id}"): _my_rx("", read=True),
    ("POST", "/api/v1/prescriptions/{rx_id}/fulfilment"):
        _my_rx("/fulfilment", {"method": "pickup", "pharmacy_id": 1}),
    ("POST", "/api/v1/prescriptions/{rx_id}/payment"): _my_rx("/payment"),
    ("POST", "/api/v1/appointments/{appointment_id}/rating"):
        _appointment("/appointments/{}/rating", "waiting", {"stars": 5, "text": "越权探测"}),
    # the admin's: everyone else answers alike whether the id exists or not
    ("PATCH", "/api/v1/staff/admin/doctors/{doctor_id}"): _admin("/staff/admin/doctors/{}", "doctor_id",
                                                                {"title": "主任医师"}),
    ("DELETE", "/api/v1/staff/admin/schedules/{schedule_id}"): _admin("/staff/admin/schedules/{}", "schedule_id"),
    ("PATCH", "/api/v1/staff/admin/staff/{staff_id}"): _admin("/staff/admin/staff/{}", "staff", {"name": "改名"}),
}

NOT_OWNER_SCOPED: dict[tuple[str, str], str] = {
    # the public catalogue: every visitor of the mini-program may read any doctor, photo and slot list
    ("GET", "/api/v1/doctors/{doctor_id}"): "public catalogue",
    ("GET", "/api/v1/doctors/{doctor_id}/photo"): "public catalogue",
    ("GET", "/api/v1/doctors/{doctor_id}/slots"): "public catalogue",
    # the sandbox plays the payment gateway (WeChat's payment sheet and its order query API), is absent in
    # production (tests/test_payments.py), and is keyed by the gateway's own ids, not by our accounts
    ("GET", "/api/v1/sandbox/pay/{prepay_id}"): "sandbox gateway (development only)",
    ("POST", "/api/v1/sandbox/pay/{prepay_id}/confirm"): "sandbox gateway (development only)",
    ("GET", "/api/v1/sandbox/v3/pay/transactions/out-trade-no/{out_trade_no}"): "sandbox gateway (development only)",
    ("GET", "/api/v1/sandbox/v3/refund/domestic/refunds/{out_refund_no}"): "sandbox gateway (development only)",
    ("POST", "/api/v1/sandbox/refunds/{out_refund_no}/settle"): "sandbox gateway (development only)",
    # refunds are the hospital's money, not a staff member's object: every clerk (and admin) handles every
    # refund, and other roles are refused by role (tests/test_refunds.py)
    ("GET", "/api/v1/staff/refunds/{refund_id}"): "clerk console: role-gated, not owner-scoped",
    ("POST", "/api/v1/staff/refunds/{refund_id}/retry"): "clerk console: role-gated, not owner-scoped",
    ("POST", "/api/v1/staff/refunds/{refund_id}/approve"): "clerk console: role-gated, not owner-scoped",
    ("POST", "/api/v1/staff/refunds/{refund_id}/reject"): "clerk console: role-gated, not owner-scoped",
    # the printed slip's QR code: anyone holding the slip may check it; the token is an HMAC of the number
    # and the answer names the patient masked (tests/test_prescriptions.py)
    ("GET", "/api/v1/rx/verify/{token}"): "public verification of a printed slip",
}


def id_routes(live_server: LiveServer) -> set[tuple[str, str]]:
    doc = httpx.get(f"{live_server.base_url}/openapi.json", timeout=10).json()
    return {(method.upper(), path) for path, item in doc["paths"].items() if "{" in path for method in item}


def answer(r: httpx.Response) -> tuple[int, str | None]:
    try:
        body = r.json()
    except ValueError:
        return r.status_code, None
    return r.status_code, body.get("code") if isinstance(body, dict) else None


def test_every_id_route_is_probed_or_listed(live_server: LiveServer) -> None:
    routes = id_routes(live_server)
    unchecked = routes - PROBES.keys() - NOT_OWNER_SCOPED.keys()
    assert not unchecked, f"routes with an id that neither are probed nor say why not: {sorted(unchecked)}"
    stale = (PROBES.keys() | NOT_OWNER_SCOPED.keys()) - routes
    assert not stale, f"the table names routes that no longer exist: {sorted(stale)}"
    assert not PROBES.keys() & NOT_OWNER_SCOPED.keys()


@pytest.mark.parametrize("route", sorted(PROBES), ids=lambda r: f"{r[0]} {r[1].removeprefix(V1)}")
def test_not_yours_answers_like_absent(api: httpx.Client, world: World, route: tuple[str, str]) -> None:
    method = route[0]
    probes = PROBES[route](world)
    assert probes
    for p in probes:
        headers = headers_of(world, p.who)
        kw: dict[str, Any] = {"headers": headers} if p.body is None else {"headers": headers, "json": p.body}
        absent = answer(api.request(method, V1 + p.absent, **kw))
        real = answer(api.request(method, V1 + p.real, **kw))
        assert real == absent, f"{method} {p.real} as {p.who} answered {real}, an absent id {absent}"
        assert absent[0] in (401, 403, 404), (method, p.absent, p.who, absent)
        if p.owner is not None:
            mine = api.request(method, V1 + p.real, headers=headers_of(world, p.owner))
            assert mine.status_code == 200, f"{p.owner} could not read {p.real}: {mine.text}"


def test_the_probes_changed_nothing(api: httpx.Client, world: World) -> None:
    """Run after the probes (in file order): A's things are as they were."""
    h = world.a["headers"]
    assert api.get(f"{V1}/patients/{world.patient}", headers=h).json()["occupation"] != "教师"
    seen = {k: api.get(f"{V1}/appointments/{getattr(world, k)}", headers=h).json()
            for k in ("waiting", "booked", "unpaid")}
    assert {k: a["status"] for k, a in seen.items()} == {"waiting": "waiting", "booked": "booked",
                                                         "unpaid": "pending_payment"}
    assert {a["refund_status"] for a in seen.values()} == {None}  # no refund applied for or made
    r = api.get(f"{V1}/staff/appointments/{world.waiting}", headers=world.admin["headers"])
    assert r.status_code == 200 and r.json()["status"] == "waiting", r.text
    r = api.get(f"{V1}/staff/admin/staff", headers=world.admin["headers"])
    assert next(s for s in r.json() if s["id"] == world.doctor_a["id"])["name"] == "越权测试"
    r = api.get(f"{V1}/staff/admin/schedules", headers=world.admin["headers"],
                params={"doctor_id": world.doctor_id})
    assert {s["id"]: s["status"] for s in r.json()}.get(world.schedule_id) == "open", r.text
    rx = {k: api.get(f"{V1}/staff/prescriptions/{getattr(world, k)}", headers=world.admin["headers"]).json()
          for k in ("draft_rx", "issued_rx")}
    assert (rx["draft_rx"]["status"], rx["draft_rx"]["revision"]) == ("draft", 1)
    assert rx["issued_rx"]["status"] == "issued" and rx["issued_rx"]["fulfilment"] is None


def test_clerk_reads_appointments_without_clinical_fields(api: httpx.Client, world: World) -> None:
    """The refund window finds any order (so not owner-scoped for the clerk), but sees no clinical notes."""
    r = api.get(f"{V1}/staff/appointments/{world.waiting}", headers=world.clerk["headers"])
    assert r.status_code == 200, r.text
    assert "乏力两周" not in r.text and "乏力" not in r.text
    assert not r.json().get("description"), r.text


# --- ids in bodies and queries ---------------------------------------------------------------------------------


def test_booking_for_someone_elses_patient_answers_like_absent(api: httpx.Client, world: World) -> None:
    slot = api.get(f"{V1}/doctors/{world.doctor_id}/slots").json()
    slot_id = next(s["id"] for s in slot if s["bookable"])
    version = api.get(f"{V1}/notice").json()["version"]

    def try_book(patient_id: int) -> tuple[int, str | None]:
        return answer(book(api, world.b["headers"], patient_id=patient_id, slot_id=slot_id, notice_version=version))

    assert try_book(world.patient) == try_book(ABSENT)
    assert try_book(ABSENT)[0] == 404


@pytest.mark.parametrize("params", [{"patient_id": "{p}", "department_id": "{d}"}], ids=["eligibility"])
def test_eligibility_of_someone_elses_patient_answers_like_absent(api: httpx.Client, world: World,
                                                                  params: dict[str, str]) -> None:
    dep = api.get(f"{V1}/doctors/{world.doctor_id}").json()["department_id"]

    def ask(patient_id: int) -> tuple[int, str | None]:
        q = {k: v.format(p=patient_id, d=dep) for k, v in params.items()}
        return answer(api.get(f"{V1}/eligibility", params=q, headers=world.b["headers"]))

    assert ask(world.patient) == ask(ABSENT)
    assert ask(ABSENT)[0] == 404


def test_lists_filtered_by_someone_elses_patient_are_empty_like_absent(api: httpx.Client, world: World) -> None:
    for path in ("/appointments", "/records"):
        mine = api.get(V1 + path, params={"patient_id": world.patient}, headers=world.b["headers"])
        none = api.get(V1 + path, params={"patient_id": ABSENT}, headers=world.b["headers"])
        assert (mine.status_code, mine.json()) == (none.status_code, none.json()), path


def test_someone_elses_files_cannot_be_attached(api: httpx.Client, world: World) -> None:
    """ID photos for a patient, pictures for feedback: another account's file is refused like an absent one,
    and nothing is created."""
    b = world.b
    feedback_before = api.get(f"{V1}/me/feedback", headers=b["headers"]).json()

    def feedback(file_id: int) -> tuple[int, str | None]:
        return answer(api.post(f"{V1}/me/feedback", headers=b["headers"],
                               json={"text": "越权附件", "file_ids": [file_id]}))

    assert feedback(world.files["feedback"]) == feedback(ABSENT)
    assert feedback(ABSENT)[0] in (404, 409, 422)
    assert api.get(f"{V1}/me/feedback", headers=b["headers"]).json() == feedback_before

    patients_before = api.get(f"{V1}/patients", headers=b["headers"]).json()

    # one code for both tries: the photos are checked before the code, which a refusal leaves unspent
    r = api.post(f"{V1}/me/sms/codes", json={"purpose": "add_patient"}, headers=b["headers"])
    assert r.status_code == 202, r.text
    code, own_back = last_sms_code(api, b["mobile"]), upload(api, b["headers"], "id_photo")

    def patient(front: int) -> tuple[int, str | None]:
        return answer(api.post(f"{V1}/patients", headers=b["headers"], json={
            "kind": "first_visit", "name": "乙越权", "sex": "male", "nationality": "中国", "ethnicity": "汉族",
            "id_type": "resident_id", "id_number": resident_id(), "id_front_file_id": front,
            "id_back_file_id": own_back, "relation": "self", "code": code}))

    assert patient(world.files["id_photo"]) == patient(ABSENT)
    assert patient(ABSENT)[0] in (404, 409, 422)
    assert api.get(f"{V1}/patients", headers=b["headers"]).json() == patients_before
