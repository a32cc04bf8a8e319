"""The OpenAPI document is honest: schemathesis fuzzes every route of a live server against it.

Each run must end with no server error and no response that the document does not describe (status code, content
type, body schema), and with every malformed request refused. The runs act as nobody, as an account holder, as an
admin and as a doctor (the four at once), on a server of their own (fuzzing logs out, deactivates, locks and
deletes: the session server of the other tests must not see any of that), filled with the demo data plus a few
real objects of the fuzzing accounts (patients, appointments in several states, files of each purpose, payments)
so that generated requests reach the code behind the "not found" answers too: every id parameter is drawn half of
the time from those real ids (a schemathesis dictionary), the other half from the whole range. Every other string
and integer is now and then replaced by a nasty value (NUL and other control characters, integers past 64 bits):
those break storage rather than validation, and mostly only on PostgreSQL. Because luck decides whether the
fuzzing meets such a value in the right state, a static audit of the document below makes sure no request string
accepts control characters unless listed with its reason.

Deeper local runs: ``CLINIC_SCHEMATHESIS_EXAMPLES=100 CLINIC_SCHEMATHESIS_SEED=<n>`` (the default is a fixed seed
and a few examples per operation, to stay within CI's time).

Checks left out, and why:
- ``positive_data_acceptance``: a request that fits the schema is often rightly refused by a business rule
  (wrong SMS code, slot full, notice not accepted, not your patient), which that check would report;
- ``object_level_authorization`` needs two identities in one run: tests/test_ownership.py does that systematically;
- ``ignored_auth``: checked by test_every_protected_route_refuses_a_missing_or_bad_token below, which is cheaper.
"""
from __future__ import annotations

import datetime as dt
import io
import os
import re
import secrets
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image
from sqlalchemy import create_engine, text

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
from tests.conftest import LiveServer, start_server, stop_server
from tests.helpers import auth, register_account, staff_login

V1 = "/api/v1"
SCHEMATHESIS = Path(sys.executable).with_name("schemathesis")
HOOKS = Path(__file__).with_name("schemathesis_hooks.py")

# The SSE streams never end: a request to them would only time out (tests/test_events.py and
# tests/test_video_signalling.py cover them).
EXCLUDED_PATHS = ["/api/v1/staff/events", "/api/v1/appointments/{appointment_id}/call/events"]
# Logging the run's own token out would leave the rest of the authenticated run answering 401.
EXCLUDED_WHEN_LOGGED_IN = ["/api/v1/auth/logout", "/api/v1/staff/auth/logout"]

CHECKS = ("not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance,"
          "response_headers_conformance,negative_data_rejection,missing_required_header,unsupported_method,"
          "use_after_free,ensure_resource_availability")
SEED = int(os.environ.get("CLINIC_SCHEMATHESIS_SEED", "20260101"))
MAX_EXAMPLES = int(os.environ.get("CLINIC_SCHEMATHESIS_EXAMPLES", "12"))
ADMIN_PASSWORD = "Fuzz-admin-2026"


# --- a server of the runs' own, with real objects to aim at -----------------------------------------------------


def _png(colour: tuple[int, int, int]) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (16, 16), colour).save(buf, format="PNG")
    return buf.getvalue()


def _upload(api: httpx.Client, headers: dict[str, str], purpose: str) -> int:
    r = api.post(f"{V1}/files", headers=headers, files={"file": (f"{purpose}.png", _png((30, 90, 200)), "image/png")},
                 data={"purpose": purpose})
    assert r.status_code == 201, r.text
    return r.json()["id"]


def _pay(api: httpx.Client, headers: dict[str, str], appointment_id: int, *, confirm: bool) -> dict[str, Any]:
    r = api.post(f"{V1}/appointments/{appointment_id}/payment", headers=headers)
    assert r.status_code == 201, r.text
    prepay = r.json()
    if confirm:
        r = api.post(f"{V1}/sandbox/pay/{prepay['prepay_id']}/confirm")
        assert r.status_code == 200, r.text

        def booked() -> bool:
            return api.get(f"{V1}/appointments/{appointment_id}", headers=headers).json()["status"] == "booked"

        wait_for(booked, what=f"appointment {appointment_id} to be booked")
    return prepay


def _new_staff(api: httpx.Client, admin: dict[str, str], *, role: str, password: str,
               doctor_id: int | None = None) -> dict[str, Any]:
    r = api.post(f"{V1}/staff/admin/staff", headers=admin,
                 json={"username": f"fz{role[:3]}{secrets.token_hex(3)}", "name": "模糊测试", "role": role,
                       "password": password, "doctor_id": doctor_id})
    assert r.status_code == 201, r.text
    return r.json()


def arrange(server: LiveServer) -> dict[str, Any]:
    """The run's accounts and the objects they own, made through the API where it can (patients in the database:
    adding one through the API needs the HIS and an SMS check, which tests/test_patients.py covers)."""
    engine = create_engine(server.database_url)
    try:
        with server.client() as api:
            demo_admin = staff_login(api, "admin")
            admin_row = _new_staff(api, demo_admin, role="admin", password=ADMIN_PASSWORD)
            admin = staff_login(api, admin_row["username"], ADMIN_PASSWORD)
            doctor = make_doctor(api, admin, department_code="endocrinology", fee_fen=2500)
            doctor_row = _new_staff(api, admin, role="doctor", password=ADMIN_PASSWORD, doctor_id=doctor["id"])
            doctor_headers = staff_login(api, doctor_row["username"], ADMIN_PASSWORD)
            soon = make_schedule(api, admin, doctor_id=doctor["id"], start=soon_start(lead_minutes=5),
                                 minutes=30, slot_minutes=15, capacity=4)
            later = make_schedule(api, admin, doctor_id=doctor["id"], start=future_start(days=3, hour=14),
                                  minutes=60, slot_minutes=15, capacity=4)

            holder = register_account(api)
            headers = holder["headers"]
            version = accept_notice(api, headers)
            patients = [eligible_patient(engine, holder["account"]["id"], department_code="endocrinology",
                                         name=name) for name in ("周一", "吴二", "郑三", "王四", "冯五")]
            files = {p: _upload(api, headers, p) for p in ("id_photo", "description", "feedback")}

            def booking(patient_id: int, slot_id: int) -> int:
                r = book(api, headers, patient_id=patient_id, slot_id=slot_id, notice_version=version)
                assert r.status_code == 201, r.text
                return r.json()["id"]

            soon_slot = soon["slots"][0]["id"]
            waiting = booking(patients[0], soon_slot)      # paid, checked in, description with a file
            booked = booking(patients[1], soon_slot)       # paid: the fuzzer may check it in
            unpaid = booking(patients[2], later["slots"][0]["id"])  # pending payment with an open payment
            visiting = booking(patients[3], soon_slot)     # in consultation with the doctor
            late = booking(patients[4], soon_slot)         # paid, its time passed: a refund application
            paid = _pay(api, headers, waiting, confirm=True)
            for appointment in (booked, visiting, late):
                _pay(api, headers, appointment, confirm=True)
            open_payment = _pay(api, headers, unpaid, confirm=False)
            for appointment in (waiting, visiting):
                r = api.post(f"{V1}/appointments/{appointment}/check-in", headers=headers)
                assert r.status_code == 200, r.text
                r = api.post(f"{V1}/appointments/{appointment}/description", headers=headers,
                             json={"text": "血糖控制不佳，近一周空腹血糖8左右", "file_ids": [files["description"]]})
                assert r.status_code == 200, r.text
            r = api.post(f"{V1}/staff/appointments/{visiting}/accept", headers=doctor_headers)
            assert r.status_code == 200, r.text
            # the visit's consent, then a draft prescription for the prescription routes to aim at
            staff_url = f"{V1}/staff/appointments/{visiting}"
            r = api.post(f"{staff_url}/call", headers=doctor_headers)
            assert r.status_code == 201, r.text
            r = api.post(f"{staff_url}/call/state", headers=doctor_headers,
                         json={"segment_id": r.json()["segment"]["id"], "state": "connected"})
            assert r.status_code == 200, r.text
            req = api.post(f"{staff_url}/consent-requests", headers=doctor_headers).json()
            r = api.post(f"{V1}/appointments/{visiting}/consent", headers=headers,
                         json={"request_id": req["id"], "version": req["version"], "agree": True})
            assert r.status_code == 200, r.text
            r = api.post(f"{staff_url}/prescriptions", headers=doctor_headers,
                         json={"diagnosis": {"code": "E11.9", "name": "2型糖尿病"},
                               "lines": [{"drug_code": "EN001", "dose": 500, "route": "po", "frequency": "bid",
                                          "days": 7}]})
            assert r.status_code == 201, r.text
            rx_id = r.json()["id"]
            with engine.begin() as c:  # no route moves an appointment's time
                c.execute(text("UPDATE appointments SET starts_at = :t WHERE id = :i"),
                          {"t": dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5), "i": late})
            r = api.post(f"{V1}/appointments/{late}/refund-application", headers=headers,
                         json={"reason": "临时有事未能按时就诊"})
            assert r.status_code == 201, r.text
            r = api.get(f"{V1}/staff/refunds", headers=admin, params={"appointment_id": late})
            assert r.status_code == 200 and len(r.json()) == 1, r.text
            refund_id = r.json()[0]["id"]
            r = api.get(f"{V1}/staff/admin/staff", headers=admin)
            assert r.status_code == 200, r.text
            staff_ids = [s["id"] for s in r.json()]
            departments = [d["id"] for d in api.get(f"{V1}/departments").json()]
    finally:
        engine.dispose()
    protected = [admin_row["id"], doctor_row["id"]]
    return {
        "tokens": {"account": headers["Authorization"], "admin": admin["Authorization"],
                   "doctor": doctor_headers["Authorization"]},
        "protected_staff_ids": protected,
        "ids": {
            "patient_id": patients,
            "appointment_id": [waiting, booked, unpaid, visiting, late],
            "file_id": list(files.values()),
            "file_ids": list(files.values()),
            "doctor_id": [doctor["id"]],
            "schedule_id": [later["id"]],
            "staff_id": [i for i in staff_ids if i not in protected],
            "slot_id": [s["id"] for s in later["slots"]],
            "department_id": departments,
            "out_trade_no": [paid["out_trade_no"], open_payment["out_trade_no"]],
            "prepay_id": [open_payment["prepay_id"]],
            "rx_id": [rx_id],
            "refund_id": [refund_id],
            "version": [version],
        },
    }


# Values that break storage or arithmetic rather than validation, mixed into every string and integer the runs
# generate: PostgreSQL refuses NUL in text, integers beyond 64 bits overflow its bigint, and so on.
NASTY_STRINGS = ["a\x00b", "\x00", "张三\x00", "\x00\x00", "x\x01y", "\x1b[31m", "\x7f", "%00", "\\u0000",
                 "\u202e", "\U0001f600", " ", "null", "NaN", "1e309", "'; DROP TABLE accounts; --", "\ufeff"]
NASTY_INTEGERS = [0, -1, 2**31 - 1, 2**31, 2**53, 2**53 + 1, 2**63 - 1, 2**63, 2**64]


def leaves(doc: dict[str, Any]) -> dict[str, str]:
    """Every string and integer parameter and field of the JSON request bodies, as schemathesis binding keys
    (``query.day``, ``body.a.b``, ``body.list[*]``): its type-wide dictionaries do not reach them all."""
    schemas = doc.get("components", {}).get("schemas", {})
    found: dict[str, str] = {}

    def walk(schema: Any, path: str, depth: int) -> None:
        if not isinstance(schema, dict) or depth > 6:
            return
        if "$ref" in schema:
            walk(schemas.get(schema["$ref"].rsplit("/", 1)[-1]), path, depth + 1)
            return
        for branch in schema.get("anyOf", []) + schema.get("oneOf", []) + schema.get("allOf", []):
            walk(branch, path, depth + 1)
        kind = schema.get("type")
        if kind == "object":
            for name, sub in schema.get("properties", {}).items():
                walk(sub, f"{path}.{name}", depth + 1)
        elif kind == "array":
            walk(schema.get("items"), f"{path}[*]", depth + 1)
        elif kind in ("string", "integer") and path != "body":
            found[path] = kind

    for item in doc.get("paths", {}).values():
        for op in item.values():
            if not isinstance(op, dict):
                continue
            content = op.get("requestBody", {}).get("content", {})
            walk(content.get("application/json", {}).get("schema"), "body", 0)
            for param in op.get("parameters", []):
                if param.get("in") in ("path", "query"):
                    walk(param.get("schema"), f"{param['in']}.{param['name']}", 0)
    return found


def toml_value(value: Any) -> str:
    """A TOML literal of a string, an integer or a list of them (control characters escaped, the rest as is)."""
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, int):
        return str(value)
    out = []
    for ch in str(value):
        if ch in '"\\':
            out.append("\\" + ch)
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def config_toml(ids: dict[str, list[Any]], doc: dict[str, Any]) -> str:
    """Dictionaries of real ids, each drawn for its parameter (path, query or body) half of the time, and of nasty
    values for any other string or integer now and then."""
    lines = ["[dictionaries]",
             f"nasty_strings = {{ values = {toml_value(NASTY_STRINGS)} }}",
             f"nasty_integers = {{ values = {toml_value(NASTY_INTEGERS)} }}"]
    for name, values in ids.items():
        lines.append(f"{name} = {{ values = {toml_value(values)} }}")
    lines.append("")
    lines.append("[parameters]")
    for name in ids:
        keys = [f"path.{name}", f"query.{name}", f"body.{name}"]
        if name == "file_ids":
            keys = ["body.file_ids[*]"]
        for key in keys:
            lines.append(f'"{key}" = {{ dictionary = "{name}", probability = 0.5 }}')
    bound = {f"{where}.{name}" for name in ids for where in ("path", "query", "body")} | {"body.file_ids[*]"}
    for key, kind in sorted(leaves(doc).items()):
        if key not in bound:
            lines.append(f'"{key}" = {{ dictionary = "nasty_{kind}s", probability = 0.15 }}')
    return "\n".join(lines) + "\n"


@pytest.fixture(scope="module")
def fuzz_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LiveServer, dict[str, Any]]]:
    server = start_server(tmp_path_factory.mktemp("schemathesis"))
    try:
        server.cli("demo-data")
        yield server, arrange(server)
    finally:
        stop_server(server)


@dataclass
class Run:
    who: str
    token: str | None
    process: subprocess.Popen[bytes]
    output: Path
    junit: Path
    started: float


def start_schemathesis(server: LiveServer, world: dict[str, Any], tmp: Path, *, who: str) -> Run:
    """One schemathesis CLI run in the background, acting as ``who``."""
    tmp.mkdir(parents=True, exist_ok=True)
    token = None if who == "anonymous" else world["tokens"][who]
    config = tmp / "schemathesis.toml"
    doc = httpx.get(f"{server.base_url}/openapi.json", timeout=10).json()
    config.write_text(config_toml(world["ids"], doc), encoding="utf-8")
    junit = tmp / "junit.xml"
    cmd = [str(SCHEMATHESIS), "--config-file", str(config), "run", f"{server.base_url}/openapi.json",
           "--checks", CHECKS, "--max-examples", str(MAX_EXAMPLES), "--seed", str(SEED),
           "--generation-database", "none", "--request-timeout", "20", "--workers", "1", "--no-color",
           "--report", "junit", "--report-junit-path", str(junit), "--report-dir", str(tmp / "reports"),
           "--suppress-health-check", "all"]
    excluded = EXCLUDED_PATHS + (EXCLUDED_WHEN_LOGGED_IN if token else [])
    for path in excluded:
        cmd += ["--exclude-path", path]
    for operation_id in operations_for(doc, who):
        cmd += ["--include-operation-id", operation_id]
    if token:
        cmd += ["-H", f"Authorization: {token}"]
    env = {**os.environ, "SCHEMATHESIS_HOOKS": str(HOOKS),
           "CLINIC_ST_PROTECTED_STAFF_IDS": ",".join(map(str, world["protected_staff_ids"]))}
    output = tmp / "output.txt"
    with output.open("wb") as out:
        process = subprocess.Popen(cmd, cwd=tmp, env=env, stdout=out, stderr=subprocess.STDOUT)
    return Run(who, token, process, output, junit, time.monotonic())


WHO = ["anonymous", "account", "admin", "doctor"]


def operations_for(doc: dict[str, Any], who: str) -> list[str]:
    """The operations a run acting as ``who`` can get past the token of: the public ones for nobody, the account's
    for the account holder, the staff's for the admin and the doctor, each only where the document's
    ``x-staff-roles`` lets their role in. The rest would only answer 401/403, which
    test_every_protected_route_refuses_a_missing_or_bad_token and tests/test_roles.py check in a few requests
    instead of thousands."""
    chosen = []
    for path, item in doc["paths"].items():
        for op in item.values():
            if not isinstance(op, dict) or "operationId" not in op:
                continue
            protected, staff = bool(op.get("security")), path.startswith(f"{V1}/staff/")
            if who == "anonymous":
                fits = not protected
            elif who == "account":
                fits = protected and not staff
            else:
                fits = protected and staff and who in op.get("x-staff-roles", [who])
            if fits:
                chosen.append(op["operationId"])
    return chosen


@pytest.fixture(scope="module")
def runs(fuzz_server: tuple[LiveServer, dict[str, Any]], tmp_path_factory: pytest.TempPathFactory
         ) -> Iterator[dict[str, Run]]:
    """The four runs at once: each spends much of its time waiting for answers, and the machine has cores."""
    server, world = fuzz_server
    base = tmp_path_factory.mktemp("runs")
    started = {who: start_schemathesis(server, world, base / who, who=who) for who in WHO}
    try:
        yield started
    finally:
        for run in started.values():
            if run.process.poll() is None:
                run.process.kill()
                run.process.wait()


# Public operations that answer 401 to anything a fuzzer can make up: a wrong password, an unsigned notification.
REFUSED_WHATEVER_IS_SENT = {"POST /api/v1/auth/login/password", "POST /api/v1/payments/notify"}


def only_refused(output: str) -> set[str]:
    """The operations schemathesis reports as answering nothing but 401/403 ("Authentication failed")."""
    found: set[str] = set()
    listing = False
    for line in output.splitlines():
        if re.match(r"\s*40[13] \w+ \(\d+ operations?\):", line):
            listing = True
        elif (m := re.match(r"\s*40[13] \w+ - (\S+ /\S*)", line)  # the form for a single operation
              ) or (listing and (m := re.match(r"\s*- (\S+ /\S*)", line))):
            found.add(m.group(1))
        else:
            listing = False
    if "Authentication failed" in output:
        assert found, "schemathesis's report changed: update only_refused()"
    return found


@pytest.mark.parametrize("who", WHO)
def test_schemathesis_finds_nothing(fuzz_server: tuple[LiveServer, dict[str, Any]], runs: dict[str, Run],
                                    who: str) -> None:
    server, _world = fuzz_server
    run = runs[who]
    try:
        code = run.process.wait(timeout=600)
    except subprocess.TimeoutExpired:
        run.process.kill()
        raise
    output = run.output.read_text(errors="replace")
    print(f"schemathesis as {who}: {time.monotonic() - run.started:.0f} s\n{output}")
    assert code == 0, (f"schemathesis as {who} failed (exit {code}):\n{output[-30000:]}\n"
                       f"--- server log (tail) ---\n{server.log()[-8000:]}")
    junit = run.junit.read_text() if run.junit.exists() else ""
    assert junit and "<failure" not in junit, junit[-5000:]
    # the run really exercised the API (a broken setup would pass vacuously), and only what its token opens
    assert "Test cases:" in output and "generated" in output, output[-3000:]
    assert only_refused(output) <= REFUSED_WHATEVER_IS_SENT, output[-3000:]
    if run.token:
        me = "/api/v1/me" if who == "account" else "/api/v1/staff/me"
        r = httpx.get(f"{server.base_url}{me}", headers={"Authorization": run.token}, timeout=10)
        assert r.status_code == 200, f"the run's own session ended during the run: {r.text}"
    # a request that failed inside the server (schemathesis sees the 500; this names the cause)
    for marker in ("unhandled error", "Exception in ASGI application"):
        assert marker not in server.log(), server.log()[-8000:]


def test_every_protected_route_refuses_a_missing_or_bad_token(fuzz_server: tuple[LiveServer, dict[str, Any]]
                                                               ) -> None:
    """Every operation whose document declares a bearer token answers 401 without one and with a forged one."""
    server, world = fuzz_server
    doc = httpx.get(f"{server.base_url}/openapi.json", timeout=10).json()
    checked = 0
    with server.client() as api:
        for path, item in doc["paths"].items():
            for method, op in item.items():
                if not op.get("security") or path in EXCLUDED_PATHS:
                    continue
                url = path
                for name in ("patient_id", "appointment_id", "file_id", "doctor_id", "schedule_id", "staff_id",
                             "out_trade_no", "prepay_id", "rx_id", "refund_id"):
                    url = url.replace("{" + name + "}", str(world["ids"][name][0]))
                assert "{" not in url, f"add the parameter of {path} above"
                for headers in ({}, auth(secrets.token_urlsafe(32))):
                    r = api.request(method.upper(), url, headers=headers)
                    assert r.status_code == 401, (method, path, headers, r.status_code, r.text)
                    assert r.json()["code"] in ("unauthenticated", "session_expired"), r.text
                    checked += 1
    assert checked > 40


# Request strings whose schema lets NUL and other control characters through, and why that is safe. Everything
# else must refuse them in the schema itself (a pattern, an enum, a format): PostgreSQL cannot store NUL, and a
# client should learn the rule from the document rather than from a 500.
CONTROL_CHARACTERS_ALLOWED: dict[str, str] = {
    "POST /api/v1/auth/login/password body.password": "compared with a hash, never stored or queried",
    "POST /api/v1/staff/auth/login body.password": "compared with a hash, never stored or queried",
    "POST /api/v1/staff/prescriptions/{rx_id}/sign body.password": "compared with a hash, never stored or queried",
    "POST /api/v1/staff/admin/staff body.password": "stored as its hash only",
    "PATCH /api/v1/staff/admin/staff/{staff_id} body.password": "stored as its hash only",
    "POST /api/v1/auth/register body.password_confirm": "only compared with the password",
    "POST /api/v1/me/password body.password_confirm": "only compared with the password",
    "POST /api/v1/me/password body.ticket": "looked up by its hash",
    "POST /api/v1/me/mobile body.ticket": "looked up by its hash",
    "POST /api/v1/auth/register body.name": "refused by a validator (category Cc) with a specific message",
    "POST /api/v1/staff/admin/staff body.name": "refused by a validator (not printable) with a specific message",
    "PATCH /api/v1/staff/admin/staff/{staff_id} body.name": "refused by the same validator",
    "POST /api/v1/me/feedback body.text": "refused by a validator (category Cc) with a specific message",
    "GET /api/v1/sandbox/v3/pay/transactions/out-trade-no/{out_trade_no} query.mchid": "compared in memory",
    # the gateway's signed bytes: verified before anything is read from them; a refused body is kept with NUL
    # replaced (payments.service.record_refusal)
    "POST /api/v1/payments/notify": "raw signed notification",
}


def test_no_request_string_lets_control_characters_through(fuzz_server: tuple[LiveServer, dict[str, Any]]
                                                           ) -> None:
    """A static audit of the document, so that a new text field cannot forget the rule (the fuzzing would find
    it only by luck, and only on PostgreSQL)."""
    import jsonschema_rs

    server, _world = fuzz_server
    doc = httpx.get(f"{server.base_url}/openapi.json", timeout=10).json()
    schemas = doc["components"]["schemas"]
    offenders: list[str] = []

    def walk(schema: Any, path: str, op: str, depth: int = 0) -> None:
        if not isinstance(schema, dict) or depth > 8:
            return
        if "$ref" in schema:
            walk(schemas[schema["$ref"].rsplit("/", 1)[-1]], path, op, depth + 1)
            return
        for branch in schema.get("anyOf", []) + schema.get("oneOf", []) + schema.get("allOf", []):
            walk(branch, path, op, depth + 1)
        kind = schema.get("type")
        if kind == "object":
            for name, sub in schema.get("properties", {}).items():
                walk(sub, f"{path}.{name}", op, depth + 1)
        elif kind == "array":
            walk(schema.get("items"), f"{path}[*]", op, depth + 1)
        elif kind == "string" and "format" not in schema:   # dates and times parse strictly
            value = "a" * max(schema.get("minLength", 1) - 1, 0) + "\x00"
            if jsonschema_rs.validator_for(schema).is_valid(value) and f"{op} {path}" not in \
                    CONTROL_CHARACTERS_ALLOWED and op not in CONTROL_CHARACTERS_ALLOWED:
                offenders.append(f"{op} {path}")

    for route, item in doc["paths"].items():
        for method, op in item.items():
            label = f"{method.upper()} {route}"
            content = op.get("requestBody", {}).get("content", {})
            walk(content.get("application/json", {}).get("schema"), "body", label)
            for param in op.get("parameters", []):
                walk(param.get("schema"), f"{param['in']}.{param['name']}", label)
    assert not offenders, ("request strings that accept control characters (give them a pattern such as "
                           "^[^\\x00-\\x1f\\x7f]*$): " + ", ".join(sorted(offenders)))

