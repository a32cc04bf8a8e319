"""Demo data (``clinic-server demo-data``) and the simulator (``clinic-server simulate``)."""
from __future__ import annotations

import datetime as dt
import io
import json
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from PIL import Image
from sqlalchemy import Engine, text
from stdnum.cn import ric

from server import demo_catalogue as cat
from server import simulate
from tests.conftest import LiveServer
from tests.helpers import DEMO_STAFF_PASSWORD, staff_login

ROOT = Path(__file__).resolve().parents[1]
TZ = simulate.TZ
TABLES = ("departments", "doctors", "schedules", "slots", "notices", "drugs", "staff", "his_visits", "events",
          "audit_log")


def _counts(engine: Engine) -> dict[str, int]:
    with engine.connect() as c:
        return {t: c.execute(text(f"SELECT count(*) FROM {t}")).scalar_one() for t in TABLES}


# --- the static data ---------------------------------------------------------------------------------------


def test_demo_his_patients_have_valid_distinct_id_numbers() -> None:
    assert len(cat.DEMO_HIS_PATIENTS) >= 40
    seen_ids, seen_cards = set(), set()
    for p in cat.DEMO_HIS_PATIENTS:
        assert ric.validate(p.id_number) == p.id_number, p.name
        assert ric.get_birth_date(p.id_number) == p.birth_date, p.name
        assert (int(p.id_number[16]) % 2 == 1) == (p.sex == "male"), p.name
        assert re.fullmatch(r"[0-9A-Z]{6,20}", p.card[1]), p.card
        assert p.id_number not in seen_ids and p.card not in seen_cards
        seen_ids.add(p.id_number)
        seen_cards.add(p.card)
        assert 1 <= len(p.visits) <= 3 and 1 <= len(p.department_codes) <= 2
        doctors = {d.name for d in cat.DOCTORS}
        for v in p.visits:
            assert v.department_code in {d.code for d in cat.DEPARTMENTS}
            assert 1 <= v.days_ago <= 150  # inside the six-month window whatever day the demo is loaded
            assert v.doctor_name in doctors and v.diagnosis


def test_drug_catalogue_is_complete() -> None:
    from server.prescriptions.catalogue import drugs_from_file

    drugs = drugs_from_file()
    assert len(drugs) >= 120
    assert len({d.code for d in drugs}) == len(drugs)
    control = {d.generic_name: d.control for d in drugs}
    assert control["硫酸吗啡缓释片"] == "narcotic" and control["盐酸羟考酮缓释片"] == "narcotic"
    assert control["地西泮片"] == "psychotropic_2" and control["阿普唑仑片"] == "psychotropic_2"
    assert control["盐酸哌甲酯片"] == "psychotropic_1"
    assert all(d.price_fen > 0 and d.form and d.strength and d.unit and d.dose_per_unit > 0 for d in drugs)


def test_simulator_plan_and_images() -> None:
    holders = simulate.plan(patients=45, seed=3)
    assert len({h.mobile for h in holders}) == 45
    assert all(re.fullmatch(r"1[3-9]\d{9}", h.mobile) for h in holders)
    assert all(re.fullmatch(r"[A-Za-z0-9]{6,18}", h.password) for h in holders)
    first = holders[:len(cat.DEMO_HIS_PATIENTS)]
    assert len({h.patient.id_number for h in first}) == len(first)  # distinct while the demo patients last
    assert simulate.plan(patients=3, seed=3) == holders[:3]  # the seed decides
    p = holders[0].patient
    for data in (simulate.id_card_image(p, side="front"), simulate.id_card_image(p, side="back"),
                 simulate.report_image(p, title="血常规化验单", rng=simulate.random.Random(1))):
        assert data[:3] == b"\xff\xd8\xff" and len(data) < 200_000
        assert Image.open(io.BytesIO(data)).format == "JPEG"


# --- demo-data against the live database -----------------------------------------------------------------------


def test_demo_data_first_run_printed_staff_passwords(live_server: LiveServer) -> None:
    out = live_server.demo_output
    assert "demo-data: added" in out
    for username in ("admin", "clerk", "pharmacist", "doctor1", "doctor12"):
        assert re.search(rf"^\s+{username}\s+\S+\s+\S+\s+{re.escape(DEMO_STAFF_PASSWORD)}\s*$", out, re.MULTILINE), out


def test_demo_data_twice_adds_nothing(live_server: LiveServer, db_engine: Engine) -> None:
    day = dt.datetime.now(TZ).date()
    before = _counts(db_engine)
    result = live_server.cli("demo-data")
    after = _counts(db_engine)
    if dt.datetime.now(TZ).date() != day:
        pytest.skip("midnight passed during the test: the new day's sessions are rightly added")
    assert after == before, result.stdout
    assert "nothing to add" in result.stdout
    assert DEMO_STAFF_PASSWORD not in result.stdout and "password" not in result.stdout.lower()


def test_demo_data_contents(live_server: LiveServer, db_engine: Engine) -> None:
    with db_engine.connect() as c:
        deps = dict(c.execute(text("SELECT code, introduction FROM departments")).all())
        assert set(deps) >= {"bone_tumor", "neurology", "endocrinology", "hematology"}
        assert all(deps[d.code] for d in cat.DEPARTMENTS)
        fees = dict(c.execute(text("SELECT name, fee_fen FROM doctors")).all())
        for d in cat.DOCTORS:
            assert fees[d.name] == cat.TITLE_FEES_FEN[d.title]
        drugs = {code: (json.loads(initials) if isinstance(initials, str) else initials, control)
                 for code, initials, control in c.execute(text("SELECT code, initials, control FROM drugs")).all()}
        assert len(drugs) >= 120  # the formulary of resources/catalogues/drugs.csv
        assert drugs["NE001"] == (["ASPLCRP", "BASPL"], "ordinary")
        assert drugs["NE033"] == (["DXPP"], "psychotropic_2")
        staff = dict(c.execute(text(
            "SELECT s.username, d.name FROM staff s JOIN doctors d ON d.id = s.doctor_id")).all())
        first_doctor = c.execute(text("SELECT name FROM doctors ORDER BY id LIMIT 1")).scalar_one()
        assert staff["doctor1"] == first_doctor and len(staff) >= 12
        roles = dict(c.execute(text("SELECT username, role FROM staff WHERE doctor_id IS NULL")).all())
        assert roles["admin"] == "admin" and roles["clerk"] == "clerk" and roles["pharmacist"] == "pharmacist"
        visits = c.execute(text("SELECT count(*), count(id_number_digest), count(card_no) FROM his_visits "
                                "WHERE source = 'demo'")).one()
        assert visits[0] == sum(len(p.visits) for p in cat.DEMO_HIS_PATIENTS) == visits[1] == visits[2]
        notice = c.execute(text("SELECT body FROM notices WHERE version = 1")).scalar_one()
        assert "六个月" in notice and "退费" in notice


def test_every_department_has_a_slot_to_check_in_to_soon(api: httpx.Client) -> None:
    """Whatever the hour, the simulator can book a slot whose check-in window is open or opens within 30 min."""
    t = dt.datetime.now(TZ)
    deps = api.get("/api/v1/departments").json()
    assert {d["code"] for d in deps} >= {d.code for d in cat.DEPARTMENTS}
    for dep in deps:
        if dep["code"] not in {d.code for d in cat.DEPARTMENTS}:
            continue
        soon = []
        for doc in api.get("/api/v1/doctors", params={"department_id": dep["id"]}).json():
            slots = api.get(f"/api/v1/doctors/{doc['id']}/slots",
                            params={"date_from": t.date().isoformat(),
                                    "date_to": (t + dt.timedelta(days=1)).date().isoformat()}).json()
            soon += [s for s in slots if s["bookable"]
                     and dt.datetime.fromisoformat(s["starts_at"]) <= t + dt.timedelta(minutes=61)]
        assert soon, dep["name"]


# --- the simulator against the live server ---------------------------------------------------------------------


def test_simulator_reaches_waiting(live_server: LiveServer, db_engine: Engine,
                                   tmp_path: Path) -> None:
    seed = 20260
    holders = simulate.plan(patients=2, seed=seed)
    mobiles = [h.mobile for h in holders]
    log_path = tmp_path / "simulate.log"
    with log_path.open("wb") as log:
        proc = subprocess.Popen([sys.executable, "-m", "server.cli", "simulate", "--base-url", live_server.base_url,
                                 "--patients", "2", "--rounds", "1", "--pace", "0", "--cancel-rate", "0", "--seed", str(seed)],
                                env=live_server.env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 90
        waiting: list[tuple[int, int, str]] = []
        while time.monotonic() < deadline and proc.poll() is None:
            with db_engine.connect() as c:
                waiting = list(c.execute(text(
                    "SELECT a.id, a.doctor_id, p.name FROM appointments a JOIN accounts ac ON ac.id = a.account_id "
                    "JOIN patients p ON p.id = a.patient_id WHERE a.status = 'waiting' AND ac.mobile IN (:m1, :m2)"),
                    {"m1": mobiles[0], "m2": mobiles[1]}).all())
            if len({name for _, _, name in waiting}) == 2:
                break
            time.sleep(0.5)
        output = log_path.read_text(errors="replace")
        assert {name for _, _, name in waiting} == {h.patient.name for h in holders}, output
        assert "[sim 1]" in output and "checked in to" in output

        # the doctors see them in their queues
        with live_server.client() as api:
            for appt_id, doctor_id, _name in waiting:
                with db_engine.connect() as c:
                    username = c.execute(text("SELECT username FROM staff WHERE doctor_id = :d"),
                                         {"d": doctor_id}).scalar_one()
                headers = staff_login(api, username, DEMO_STAFF_PASSWORD)
                r = api.get("/api/v1/staff/queue", headers=headers)
                assert r.status_code == 200, r.text
                body = r.json()
                items = body.get("items", body) if isinstance(body, dict) else body
                ids = {item.get("id", item.get("appointment_id")) for item in items}
                assert appt_id in ids, body
                api.post("/api/v1/staff/auth/logout", headers=headers)

        # Ctrl-C stops it cleanly
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=30)
        output = log_path.read_text(errors="replace")
        assert proc.returncode == 130, output
        assert "Traceback" not in output and "unexpected error" not in output, output
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_simulator_for_one_doctor_keeps_bringing_new_patients(live_server: LiveServer, db_engine: Engine,
                                                              tmp_path: Path) -> None:
    """``simulate --doctor`` (what ``make run`` uses): a patient books a doctor once a day, so after each journey
    the next patient comes with an account of their own and the doctor's queue keeps growing."""
    with db_engine.connect() as c:
        doctor_id = c.execute(text("SELECT doctor_id FROM staff WHERE username = 'doctor1'")).scalar_one()
    log_path = tmp_path / "simulate.log"

    def waiting_accounts() -> list[tuple[int, int]]:
        with db_engine.connect() as c:
            return [tuple(r) for r in c.execute(text(
                "SELECT id, account_id FROM appointments WHERE doctor_id = :d AND status = 'waiting' ORDER BY id"),
                {"d": doctor_id})]

    seen: list[tuple[int, int]] = []
    with log_path.open("wb") as log, live_server.client() as api:
        headers = staff_login(api, "doctor1", DEMO_STAFF_PASSWORD)
        already = {a for a, _ in waiting_accounts()}
        proc = subprocess.Popen([sys.executable, "-m", "server.cli", "simulate", "--base-url", live_server.base_url,
                                 "--patients", "1", "--rounds", "2", "--pace", "0", "--cancel-rate", "0", "--review-wait", "0", "--seed", "77",
                                 "--doctor", str(doctor_id)],
                                env=live_server.env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + 150
            while len(seen) < 2 and time.monotonic() < deadline and proc.poll() is None:
                for appt_id, account_id in waiting_accounts():
                    if appt_id in already:
                        continue
                    already.add(appt_id)
                    seen.append((appt_id, account_id))
                    # the doctor calls, nobody answers: the journey ends and the next patient comes
                    r = api.post(f"/api/v1/staff/appointments/{appt_id}/missed", headers=headers, json={})
                    assert r.status_code == 200, r.text
                time.sleep(0.3)
            proc.wait(timeout=60)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    output = log_path.read_text(errors="replace")
    assert len(seen) == 2, output
    assert seen[0][1] != seen[1][1], output  # two account holders, both booked the same doctor today
    assert "a new patient arrives" in output, output
    assert proc.returncode == 0, output


def test_simulated_patient_who_cancels_sees_the_refund_through(live_server: LiveServer, db_engine: Engine) -> None:
    """``--cancel-rate 1``: every paid booking is cancelled before its time and the patient follows the fee back
    (退费中 → 已退费) on the appointment, the path the seed gives first."""
    seed = 31337
    mobile = simulate.plan(patients=1, seed=seed)[0].mobile
    r = live_server.cli("simulate", "--base-url", live_server.base_url, "--patients", "1", "--rounds", "1",
                        "--pace", "0", "--no-video", "--cancel-rate", "1", "--seed", str(seed), timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "cancelled appointment" in r.stdout and "已退费" in r.stdout, r.stdout
    with db_engine.connect() as c:
        got = c.execute(text(
            "SELECT a.status, p.amount_fen, p.refunded_fen, f.status FROM appointments a "
            "JOIN accounts ac ON ac.id = a.account_id JOIN payments p ON p.appointment_id = a.id "
            "JOIN refunds f ON f.payment_id = p.id WHERE ac.mobile = :m"), {"m": mobile}).all()
    assert len(got) == 1, got
    status, paid, refunded, refund_status = got[0]
    assert (status, refund_status) == ("cancelled", "refunded") and refunded == paid > 0


def test_simulated_patient_not_seen_applies_and_follows_the_clerks_decision(live_server: LiveServer,
                                                                           db_engine: Engine, tmp_path: Path) -> None:
    """The doctor calls, nobody answers (过号): the simulated patient applies for the fee back with a reason (申请退号),
    a clerk approves it, and the patient sees 退号申请审核中 → 已退费."""
    with db_engine.connect() as c:
        doctor_id = c.execute(text("SELECT doctor_id FROM staff WHERE username = 'doctor1'")).scalar_one()
    log_path = tmp_path / "simulate.log"
    with log_path.open("wb") as log, live_server.client() as api:
        doctor = staff_login(api, "doctor1", DEMO_STAFF_PASSWORD)
        clerk = staff_login(api, "clerk", DEMO_STAFF_PASSWORD)
        with db_engine.connect() as c:
            before = set(c.execute(text("SELECT id FROM appointments WHERE doctor_id = :d"), {"d": doctor_id}).scalars())
        proc = subprocess.Popen([sys.executable, "-m", "server.cli", "simulate", "--base-url", live_server.base_url,
                                 "--patients", "1", "--rounds", "1", "--pace", "0", "--cancel-rate", "0",
                                 "--no-video", "--seed", "515", "--doctor", str(doctor_id)],
                                env=live_server.env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
        try:
            deadline, appt_id, refund = time.monotonic() + 120, None, None
            while refund is None and time.monotonic() < deadline and proc.poll() is None:
                with db_engine.connect() as c:
                    waiting = [a for a in c.execute(text(
                        "SELECT id FROM appointments WHERE doctor_id = :d AND status = 'waiting'"),
                        {"d": doctor_id}).scalars() if a not in before]
                if waiting and appt_id is None:
                    appt_id = waiting[0]
                    r = api.post(f"/api/v1/staff/appointments/{appt_id}/missed", headers=doctor, json={})
                    assert r.status_code == 200, r.text
                if appt_id is not None:
                    got = api.get("/api/v1/staff/refunds", headers=clerk,
                                  params={"appointment_id": appt_id, "status": "requested"}).json()
                    refund = got[0] if got else None
                time.sleep(0.3)
            output = log_path.read_text(errors="replace")
            assert refund is not None and refund["path"] == "application", output
            assert refund["reason"] in simulate.APPLICATION_REASONS
            r = api.post(f"/api/v1/staff/refunds/{refund['id']}/approve", headers=clerk, json={})
            assert r.status_code == 200, r.text
            proc.wait(timeout=90)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    output = log_path.read_text(errors="replace")
    assert proc.returncode == 0, output
    assert "申请退号" in output and "退号申请审核中" in output and "已退费" in output, output


def test_simulator_refuses_bad_arguments(live_server: LiveServer) -> None:
    r = live_server.cli("simulate", "--base-url", live_server.base_url, "--patients", "0", check=False)
    assert r.returncode == 2 and "--patients" in r.stderr
    r = live_server.cli("simulate", "--base-url", "http://127.0.0.1:9", "--patients", "1", check=False)
    assert r.returncode == 2 and "does not answer" in r.stderr
    r = live_server.cli("simulate", "--base-url", live_server.base_url, "--cancel-rate", "1.5", check=False)
    assert r.returncode == 2 and "--cancel-rate" in r.stderr



def test_after_a_prescribed_visit_the_simulated_patient_fulfils_pays_and_rates(
        live_server: LiveServer, api: httpx.Client, db_engine: Engine) -> None:
    """The simulator's patient after a visit with a consent: waits for the issued prescription, picks it up at a
    pharmacy or has it delivered, pays the drug fee through the sandbox gateway, and rates the visit."""
    import random
    import threading
    from types import SimpleNamespace

    from tests.booking_helpers import admin_headers
    from tests.workstation.test_ui_pharmacist import consented_visit, finish, login, signed_rx
    from tests.workstation.ui_support import doctor_clinic, new_staff
    from tests.workstation_helpers import V1

    admin = admin_headers(api, db_engine)
    clinic = doctor_clinic(api, admin)
    doc = login(api, clinic["username"])
    acc, appt = consented_visit(api, db_engine, clinic, doc, name="邵明远")
    rx = signed_rx(api, doc, appt)
    finish(api, doc, appt)
    pharmacist = login(api, new_staff(api, admin, role="pharmacist"))
    assert api.post(f"{V1}/staff/prescriptions/{rx['id']}/approve", headers=pharmacist).status_code == 200

    holder = simulate.Holder(index=0, mobile=acc["mobile"], password="", name="邵明远", relation="self",
                             patient=cat.DEMO_HIS_PATIENTS[0])
    sim = simulate.Sim(holder, live_server.base_url, 0.0, 1, threading.Event(), simulate.Log(), random.Random(7),
                       video=False)
    sim.api.token = acc["headers"]["Authorization"].split()[1]
    try:
        sim.after_visit(SimpleNamespace(id=appt))
    finally:
        sim.api.close()

    deadline = time.monotonic() + 20
    while True:  # the gateway's notification confirms the payment a moment later
        status = api.get(f"{V1}/prescriptions/{rx['id']}", headers=acc["headers"]).json()["status"]
        if status == "paid" or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert status == "paid"
    got = api.get(f"{V1}/prescriptions/{rx['id']}", headers=acc["headers"]).json()
    assert got["fulfilment"]["method"] in ("pickup", "delivery")
    rating = api.get(f"{V1}/staff/appointments/{appt}", headers=doc).json()["rating"]
    assert rating is not None and 1 <= rating["stars"] <= 5
