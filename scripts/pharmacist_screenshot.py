"""The pharmacist's review window with real data from a real backend (docs/screenshots/pharmacist_review.png).

    xvfb-run -a -s "-screen 0 1600x1000x24" .venv/bin/python scripts/pharmacist_screenshot.py

Starts its own backend (scripts/workstation_screenshots.py's: temporary SQLite, demo data), brings a few
patients to doctor1 and doctor2 through the public API (server/simulate.py's journeys), and for each the doctor
calls, asks for prescription consent, the patient consents, and the doctor writes and signs a prescription — one
with a dose above the daily maximum that the doctor overrides with a reason. Then it signs in as ``pharmacist``,
selects that prescription and saves a 1600×1000 picture of the window.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import threading
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

import httpx
from workstation_screenshots import PASSWORD, Shooter, soon_clinics, start_backend, steered_sim

OVERRIDE_REASON = "术后疼痛评分6分，短期加量，3天后复诊评估"
# (doctor id, diagnosis, lines, overrides, chronic reason)
PLANS: list[tuple[int, dict[str, str], list[dict[str, Any]], list[dict[str, str]], str]] = [
    (1, {"code": "M25.5", "name": "关节痛（右膝）"},
     [{"drug_code": "BT005", "dose": 500, "route": "po", "frequency": "prn", "days": 5, "quantity": None,
       "notes": "疼痛时服用，两次间隔不少于4小时"}], [], ""),
    (1, {"code": "C40.2", "name": "下肢长骨恶性肿瘤（保肢术后）"},
     [{"drug_code": "BT003", "dose": 900, "route": "po", "frequency": "tid", "days": 3, "quantity": None,
       "notes": "饭后服用"},
      {"drug_code": "BT016", "dose": 600, "route": "po", "frequency": "qd", "days": 7, "quantity": None, "notes": ""},
      {"drug_code": "BT017", "dose": 0.25, "route": "po", "frequency": "qd", "days": 7, "quantity": None,
       "notes": ""}],
     [{"key": "max_daily_dose:BT003", "reason": OVERRIDE_REASON}], ""),
    (2, {"code": "M81.0", "name": "绝经后骨质疏松"},
     [{"drug_code": "BT012", "dose": 70, "route": "po", "frequency": "qw", "days": 28, "quantity": None,
       "notes": "晨起空腹，整片吞服，服后30分钟内勿躺下"},
      {"drug_code": "BT016", "dose": 600, "route": "po", "frequency": "qd", "days": 28, "quantity": None,
       "notes": ""}], [], "骨质疏松症需长期规律用药，病情稳定"),
    (1, {"code": "M54.5", "name": "下背痛"},
     [{"drug_code": "BT004", "dose": 7.5, "route": "po", "frequency": "qd", "days": 7, "quantity": None,
       "notes": ""}], [], ""),
]


def prepare(base_url: str) -> str:
    """Signed prescriptions waiting for review; returns the patient name of the one with the override."""
    from server import demo_catalogue as cat

    staff = httpx.Client(base_url=base_url + "/api/v1", timeout=30)

    def login(username: str) -> dict[str, str]:
        r = staff.post("/staff/auth/login", json={"username": username, "password": PASSWORD})
        r.raise_for_status()
        return {"Authorization": f"Bearer {r.json()['token']}"}

    soon_clinics(staff, login("admin"), [2, 1])
    doctors = {1: login("doctor1"), 2: login("doctor2")}
    bone = [p for p in cat.DEMO_HIS_PATIENTS if "bone_tumor" in p.department_codes]
    stop = threading.Event()
    flagged = ""
    for i, (doctor_id, diagnosis, lines, overrides, chronic) in enumerate(PLANS):
        p = bone[i + 1]
        s = steered_sim(base_url, 40 + i, p, [doctor_id], stop)
        s.register()
        s.add_patient()
        b = s.book(s.accept_notice())
        s.pay(b)
        s.check_in(b)
        s.describe(b)
        doc = doctors[doctor_id]
        appt = f"/staff/appointments/{b.id}"
        seg = staff.post(f"{appt}/call", headers=doc).raise_for_status().json()["segment"]["id"]
        staff.post(f"{appt}/call/signals", headers=doc, json={"segment_id": seg, "type": "offer",
                                                              "description": {"type": "offer", "sdp": "v=0\r\n"}}
                   ).raise_for_status()
        s.api.post(f"/appointments/{b.id}/call/signals", {"segment_id": seg, "type": "answer",
                                                          "description": {"type": "answer", "sdp": "v=0\r\n"}})
        staff.post(f"{appt}/call/state", headers=doc, json={"segment_id": seg, "state": "connected"}
                   ).raise_for_status()
        req = staff.post(f"{appt}/consent-requests", headers=doc).raise_for_status().json()
        s.api.post(f"/appointments/{b.id}/consent", {"request_id": req["id"], "version": req["version"],
                                                     "agree": True})
        draft = {"diagnosis": diagnosis, "fee_category": "self_pay",
                 "allergies": ["青霉素类"] if i % 2 else [], "chronic_reason": chronic,
                 "validity_days": 1, "validity_note": "", "notes": "", "lines": lines, "overrides": overrides}
        created = staff.post(f"{appt}/prescriptions", headers=doc, json=draft)
        if created.status_code != 201:
            raise RuntimeError(f"prescription refused: {created.text}")
        rx = created.json()
        signed = staff.post(f"/staff/prescriptions/{rx['id']}/sign", headers=doc,
                            json={"password": PASSWORD, "revision": rx["revision"]})
        if signed.status_code != 200:
            print(f"screenshot: sign refused: {signed.text}", flush=True)
        staff.post(f"{appt}/finish", headers=doc, json={"diagnosis_code": diagnosis["code"],
                                                        "diagnosis_name": diagnosis["name"],
                                                        "notes": "视频复诊，已开具处方。"}).raise_for_status()
        if overrides:
            flagged = p.name
        elif i == len(PLANS) - 1:  # the morning's first review is done: "done today" is not empty
            staff.post(f"/staff/prescriptions/{rx['id']}/approve", headers=login("pharmacist")).raise_for_status()
    return flagged


def shoot(base_url: str, out: Path, *, language: str, flagged: str, name: str | None = None) -> None:
    from workstation.services.settings import WorkstationSettings
    from workstation.ui.app import AppController
    from workstation.ui.i18n import install_language

    install_language(language)
    sh = Shooter(out)
    c = AppController(settings=WorkstationSettings(language=language), server_url=base_url, persist_settings=False)
    c.start()
    sh.spin(0.5)
    c.signin.ed_username.setText("pharmacist")
    c.signin.ed_password.setText(PASSWORD)
    c.signin.submit()
    sh.spin(15, lambda: c.window is not None)
    w = c.window
    w.showNormal()
    w.move(0, 0)
    w.resize(1600, 1000)
    sh.spin(15, lambda: w.queue_model.rowCount() >= len(PLANS) and all(e.complete for e in w.queue_model.entries()))
    entry = next(e for e in w.queue_model.entries() if e.patient_name == flagged)
    w.queue_view.select(entry.rx_id)
    sh.spin(10, lambda: w.detail.rx_id == entry.rx_id)
    sh.spin(1.0)
    sh.save(w, name or f"pharmacist_review{'' if language == 'zh_CN' else '_' + language}.png")
    c.quit()
    sh.spin(3)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    parser.add_argument("--lang", default="zh_CN")
    parser.add_argument("--name", help="file name (default pharmacist_review[_<lang>].png)")
    args = parser.parse_args()
    from PySide6.QtWidgets import QApplication

    from workstation.ui import theme

    app = QApplication(sys.argv[:1])
    theme.apply_theme(app)
    with tempfile.TemporaryDirectory(prefix="rx-shot-") as tmp:
        url, proc = start_backend(Path(tmp))
        try:
            flagged = prepare(url)
            shoot(url, args.out.resolve(), language=args.lang, flagged=flagged, name=args.name)
        finally:
            proc.terminate()
            proc.wait(10)
    return 0


if __name__ == "__main__":
    sys.exit(main())
