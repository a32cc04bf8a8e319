"""Screenshots of every workstation window with real data from a real backend (docs/screenshots/).

    xvfb-run -a -s "-screen 0 1600x1000x24" .venv/bin/python scripts/workstation_screenshots.py

Starts its own backend (a temporary SQLite database, demo data), then fills doctor1's queue the way patients
do it through the public API (server/simulate.py's journeys, steered to doctor1): one patient with a finished
earlier visit, a lab-report image and a two-page PDF, and a few more from the simulator. Then it drives the real
windows (sign-in, the doctor's window with that patient selected, the consultation with a diagnosis picked, the
image and PDF viewers, the clinic-stop dialog, the placeholders, the English doctor's window) and saves a PNG
of each. Under Xvfb popups are captured too (screen grabs); with QT_QPA_PLATFORM=offscreen only widget grabs.
"""
from __future__ import annotations

import argparse
import datetime as dt
import io
import os
import random
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import httpx
from PIL import Image, ImageDraw

PASSWORD = "Demo-pass-2026"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_backend(tmp: Path) -> tuple[str, subprocess.Popen[bytes]]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("CLINIC_")}
    env.update({"CLINIC_DATA_DIR": str(tmp), "CLINIC_DATABASE_URL": f"sqlite:///{tmp / 'clinic.sqlite3'}",
                "CLINIC_PUBLIC_BASE_URL": url, "CLINIC_DEMO_STAFF_PASSWORD": PASSWORD,
                "CLINIC_SMS_HOURLY_CAP_PER_CLIENT": "100000", "PYTHONUNBUFFERED": "1"})
    subprocess.run([sys.executable, "-m", "server.cli", "demo-data"], env=env, cwd=ROOT, check=True,
                   capture_output=True)
    log = (tmp / "server.log").open("wb")
    proc = subprocess.Popen([sys.executable, "-m", "server.cli", "serve", "--host", "127.0.0.1", "--port", str(port)],
                            env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
    for _ in range(300):
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                return url, proc
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError("backend did not start")


# --- patients --------------------------------------------------------------------------------------------------


def lab_pdf(name: str) -> bytes:
    """A two-page 'hospital report' PDF (PIL writes PDFs; the server checks them with pdfium)."""
    from server.simulate import _font

    pages = []
    for page, title in enumerate(("血常规检验报告单", "骨扫描检查报告")):
        img = Image.new("RGB", (1240, 1754), "white")
        d = ImageDraw.Draw(img)
        d.text((90, 80), "北京大学人民医院", font=_font(54), fill="#1f2a33")
        d.text((90, 160), title, font=_font(44), fill="#1f2a33")
        d.line((90, 240, 1150, 240), fill="#555", width=3)
        d.text((90, 270), f"姓名：{name}    科室：骨肿瘤科    第 {page + 1} 页 / 共 2 页", font=_font(30), fill="#333")
        rows = ([("白细胞计数", "6.2", "3.5-9.5 ×10^9/L"), ("血红蛋白", "128", "115-150 g/L"),
                 ("血小板计数", "231", "125-350 ×10^9/L"), ("碱性磷酸酶", "142 ↑", "45-125 U/L"),
                 ("乳酸脱氢酶", "198", "120-250 U/L")] if page == 0 else
                [("检查方法", "全身骨显像", ""), ("所见", "右股骨远端术区放射性略增高", ""),
                 ("", "余骨未见明显异常浓聚", ""), ("印象", "考虑术后改变，建议随访", "")])
        y = 360
        for a, b, c in rows:
            d.text((90, y), a, font=_font(32), fill="#222")
            d.text((430, y), b, font=_font(32), fill="#222")
            d.text((760, y), c, font=_font(28), fill="#555")
            y += 70
        d.text((90, 1600), "报告医师：王医生    审核医师：李医生", font=_font(28), fill="#555")
        pages.append(img)
    buf = io.BytesIO()
    pages[0].save(buf, "PDF", save_all=True, append_images=pages[1:], resolution=150)
    return buf.getvalue()


def steered_sim(base_url: str, index: int, patient: Any, doctor_ids: list[int], stop: threading.Event,
                *, extra_pdf: bool = False, complaint: str | None = None) -> Any:
    """A server.simulate journey that books only with the given doctors (doctor1 and, first, doctor2)."""
    from server import simulate as sim

    class Steered(sim.Sim):
        wanted: list[int] = doctor_ids

        def pick_slot(self, department_code: str) -> Any:
            t = sim.now()
            best = []
            for doctor_id in self.wanted[:1]:
                doc = self.api.get(f"/doctors/{doctor_id}")
                self._doctors[doctor_id] = doc
                for s in self.api.get(f"/doctors/{doctor_id}/slots", date_from=t.date().isoformat(),
                                      date_to=t.date().isoformat()):
                    starts = sim.parse_time(s["starts_at"])
                    if s.get("bookable") and s.get("remaining", 0) > 0 and starts > t:
                        best.append((starts, s, doc))
            best.sort(key=lambda x: x[0])
            return (best[0][1], best[0][2]) if best else None

        def describe(self, b: Any) -> None:
            if not extra_pdf:
                return super().describe(b)
            p = self.holder.patient
            img = self.api.upload(purpose="description", name="report.jpg",
                                  data=sim.report_image(p, title="X线检查报告", rng=self.rng))
            pdf = self.api.upload(purpose="description", name="report.pdf", data=lab_pdf(p.name))
            text = complaint or sim.random.choice(sim.cat.COMPLAINTS["bone_tumor"])
            self.api.post(f"/appointments/{b.id}/description", {"text": text, "file_ids": [img, pdf]})
            b.status = "waiting"

    rng = random.Random(index)
    mobile = "13" + "".join(rng.choice("0123456789") for _ in range(9))
    holder = sim.Holder(index, mobile, "abc12345xy", patient.name, "self", patient)
    return Steered(holder, base_url, 0.05, 1, stop, sim.Log(), rng)


def soon_clinics(staff: httpx.Client, admin: dict[str, str], doctor_ids: list[int]) -> None:
    """Replace the demo's session covering now with one starting in a few minutes (15-minute slots, roomy), so
    every simulated patient can check in at once whatever the time of day; doctor2's starts first, so its
    visit is "earlier" than doctor1's."""
    from zoneinfo import ZoneInfo

    tz = ZoneInfo("Asia/Shanghai")
    now = dt.datetime.now(tz)
    for lead, doctor_id in enumerate(doctor_ids, start=2):
        start = (now + dt.timedelta(minutes=lead)).replace(second=0, microsecond=0)
        if (start + dt.timedelta(minutes=90)).date() != start.date():
            start = start.replace(hour=22, minute=20)  # near midnight: a session that stays in the day
        end = start + dt.timedelta(minutes=90)
        for sched in staff.get("/staff/admin/schedules", headers=admin,
                               params={"doctor_id": doctor_id, "day": start.date().isoformat()}).json():
            s_start = dt.datetime.fromisoformat(sched["starts_at"]) if "starts_at" in sched else None
            s_end = dt.datetime.fromisoformat(sched["ends_at"]) if "ends_at" in sched else None
            if s_start is None or (s_start < end and s_end > start):
                staff.delete(f"/staff/admin/schedules/{sched['id']}", headers=admin).raise_for_status()
        staff.post("/staff/admin/schedules", headers=admin, json={
            "doctor_id": doctor_id, "day": start.date().isoformat(), "start": f"{start:%H:%M}",
            "end": f"{end:%H:%M}", "slot_minutes": 15, "capacity_per_slot": 12}).raise_for_status()


RICH: dict[str, Any] = {}  # the rich patient's account token (their phone answers the video call)


def fill_queue(base_url: str, *, extra: int) -> None:
    """doctor1's queue: one rich patient (earlier visit with doctor2, image + PDF), then ``extra`` simulated."""
    from server import demo_catalogue as cat

    bone = [p for p in cat.DEMO_HIS_PATIENTS if "bone_tumor" in p.department_codes]
    stop = threading.Event()
    staff = httpx.Client(base_url=base_url + "/api/v1", timeout=30)

    def staff_headers(username: str) -> dict[str, str]:
        r = staff.post("/staff/auth/login", json={"username": username, "password": PASSWORD})
        r.raise_for_status()
        return {"Authorization": f"Bearer {r.json()['token']}"}

    soon_clinics(staff, staff_headers("admin"), [2, 1])
    # the rich patient: first an earlier visit with doctor2 (id 2), finished with a diagnosis
    rich = steered_sim(base_url, 1, bone[0], [2], stop)
    rich.register()
    rich.add_patient()
    version = rich.accept_notice()
    first = rich.book(version)
    rich.pay(first)
    rich.check_in(first)
    rich.describe(first)
    d2 = staff_headers("doctor2")
    staff.post(f"/staff/appointments/{first.id}/accept", headers=d2).raise_for_status()
    staff.post(f"/staff/appointments/{first.id}/finish", headers=d2,
               json={"diagnosis_code": "C41.4", "diagnosis_name": "骨盆、骶骨和尾骨恶性肿瘤",
                     "notes": "术后复查，恢复良好。"}).raise_for_status()
    # then today's visit with doctor1, with an image and a PDF
    rich.wanted = [1]
    rich_pdf = steered_sim(base_url, 1, bone[0], [1], stop, extra_pdf=True,
                           complaint="保肢术后一年，近两周右膝关节活动后隐痛，夜间偶有加重，无发热。"
                                     "附X线片及近期化验、骨扫描报告，请医生评估是否需要调整随访方案。")
    rich_pdf.api, rich_pdf.patient_id = rich.api, rich.patient_id
    second = rich_pdf.book(version)
    rich_pdf.pay(second)
    rich_pdf.check_in(second)
    rich_pdf.describe(second)
    print(f"screenshots: rich patient {bone[0].name}: appointment #{second.id}", flush=True)
    RICH["token"] = rich.api.token

    def journey(i: int, p: Any) -> None:
        s = steered_sim(base_url, 10 + i, p, [1], stop)
        try:
            s.register()
            s.add_patient()
            b = s.book(s.accept_notice())
            s.pay(b)
            s.check_in(b)
            if i % 3 != 2:  # some are still describing their condition (checked in, not waiting yet)
                s.describe(b)
        except Exception as exc:  # noqa: BLE001 - a screenshot with one patient fewer is still fine
            print(f"screenshots: simulated patient {p.name} failed: {exc}", flush=True)

    threads = [threading.Thread(target=journey, args=(i, p)) for i, p in enumerate(bone[1:1 + extra])]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


# --- the windows ------------------------------------------------------------------------------------------------


class Shooter:
    def __init__(self, out: Path) -> None:
        from PySide6.QtCore import QEventLoop
        from PySide6.QtWidgets import QApplication

        self.out = out
        self.app = QApplication.instance()
        self.flags = QEventLoop.ProcessEventsFlag.AllEvents

    def spin(self, seconds: float, until: Any = None) -> bool:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            self.app.processEvents(self.flags, 50)
            if until is not None and until():
                return True
            time.sleep(0.01)
        return until is None

    def save(self, widget: Any, name: str, *, screen: bool = False) -> None:
        from PySide6.QtGui import QGuiApplication

        self.spin(0.4)
        if screen and os.environ.get("QT_QPA_PLATFORM") != "offscreen":
            geo = widget.frameGeometry()
            pix = QGuiApplication.primaryScreen().grabWindow(0, geo.x(), geo.y(), geo.width(), geo.height())
        else:
            pix = widget.grab()
        path = self.out / name
        pix.save(str(path))
        print(f"screenshots: {path.relative_to(ROOT)} {pix.width()}x{pix.height()}", flush=True)


def shoot(base_url: str, out: Path, *, language: str, rich_name: str, suffix: str = "") -> None:
    from workstation.services.settings import WorkstationSettings
    from workstation.ui.app import AppController
    from workstation.ui.i18n import install_language

    install_language(language)
    sh = Shooter(out)
    c = AppController(settings=WorkstationSettings(language=language), server_url=base_url, persist_settings=False)
    c.start()
    sh.spin(0.5)
    if not suffix:
        sh.save(c.signin, "signin.png")
        c.signin.ed_username.setText("doctor1")
        c.signin.ed_password.setText("wrong-password1")
        c.signin.submit()
        sh.spin(10, lambda: bool(c.signin.lbl_message.isVisible()))
        sh.save(c.signin, "signin_wrong_password.png")
    c.signin.ed_username.setText("doctor1")
    c.signin.ed_password.setText(PASSWORD)
    c.signin.submit()
    sh.spin(15, lambda: c.window is not None)
    w = c.window
    w.showNormal()
    w.resize(1400, 860)
    sh.spin(15, lambda: w.model.rowCount() > 0 and any(e.patient_name == rich_name for e in w.model.entries()))
    rich = next(e for e in w.model.entries() if e.patient_name == rich_name)
    if suffix:  # the second run shows a patient still waiting (the first one finished the rich patient's visit)
        rich = next((e for e in w.model.entries() if e.status == "waiting"), rich)
        w.queue_view.select(rich.appointment_id)
        sh.spin(15, lambda: w.chart_panel.chart is not None and w.chart_panel.loaded_files >= 1
                and w.consult_panel.appointment_id == rich.appointment_id)
        sh.spin(1.0)
        sh.save(w, f"doctor_main{suffix}.png")
        c.quit()
        sh.spin(3)
        return
    w.queue_view.select(rich.appointment_id)
    sh.spin(15, lambda: w.chart_panel.chart is not None and w.chart_panel.loaded_files >= 2
            and w.consult_panel.appointment_id == rich.appointment_id)
    sh.spin(1.0)
    sh.save(w, "doctor_main.png")

    # viewers
    files = w.chart_panel.chart["description"]["files"]
    image = next(f for f in files if f["content_type"] != "application/pdf")
    pdf = next(f for f in files if f["content_type"] == "application/pdf")
    viewer = w.chart_panel.open_file(int(image["id"]))
    viewer.resize(1100, 800)
    sh.spin(0.5)
    sh.save(viewer, "image_viewer.png")
    viewer.close()
    viewer = w.chart_panel.open_file(int(pdf["id"]))
    sh.spin(15, lambda: viewer.rendered_pages == viewer.page_total and viewer.page_total > 0)
    sh.save(viewer, "pdf_viewer.png")
    viewer.close()

    # the video visit: the patient's phone on the waiting page answers; consent; a dropped line; invited again
    from server.patient_call import PatientCallThread

    phone = PatientCallThread(base_url, rich.appointment_id, RICH["token"], agree=True, consent_delay_s=1.5,
                              reconnect_delay_s=0.3).start()
    sh.spin(15, lambda: phone.stats()["stream_open"])
    w.consult_panel.btn_accept.click()
    sh.spin(15, lambda: w.consult_panel.status == "in_consultation")
    sh.spin(20, lambda: w.call is not None and w.call.state == "connected" and w.video_panel.view.remote is not None)
    sh.spin(6, lambda: w.video_panel.lbl_quality.text() != "")
    sh.spin(1.5)
    sh.save(w, "doctor_video_call.png")
    w.video_panel.btn_consent.click()
    sh.spin(15, lambda: (w.call.consent or {}).get("state") == "consented")
    sh.spin(1.0)
    sh.save(w.video_panel, "video_panel_consent.png")
    # the consent unlocked the editor: prescribing with the patient still in sight
    w.workspace.setCurrentIndex(1)
    sh.spin(8, lambda: w.rx_editor.editable)
    sh.spin(1.0)
    sh.save(w, "doctor_prescription_during_call.png")
    w.workspace.setCurrentIndex(0)
    sh.spin(0.5)
    phone.drop()
    sh.spin(8, lambda: w.call.state == "interrupted")
    sh.spin(1.0)
    sh.save(w, "doctor_video_interrupted.png")
    phone.reconnect()
    sh.spin(10, lambda: phone.stats()["stream_open"])
    w.video_panel.btn_reinvite.click()
    sh.spin(20, lambda: w.call.state == "connected" and w.video_panel.view.remote is not None)

    w.consult_panel.ed_notes.setPlainText("主诉：保肢术后一年，右膝活动后隐痛两周。\n查体：右膝术区无红肿，活动度可。\n"
                                          "X线：假体位置良好，未见松动。\n处理：继续随访，三个月后复查X线及骨扫描。")
    sh.spin(8, lambda: w.consult_panel.icd.ready)
    w.consult_panel.icd.edit.setFocus()
    w.consult_panel.icd.search_now("xzcg")
    sh.spin(0.6)
    sh.save(w, "doctor_consultation_icd.png", screen=True)
    w.consult_panel.icd.pick_row(0)
    sh.spin(4, lambda: w.consult_panel.lbl_draft.text().count(":") >= 2)
    sh.save(w, "doctor_consultation.png")

    w.video_panel.btn_end.click()
    sh.spin(10, lambda: w.call.state == "ended")
    sh.save(w.video_panel, "video_panel_ended.png")
    phone.stop()
    w.close_call()

    # clinic stop
    dialog = w.clinic_stop_dialog()
    dialog.show()
    sh.spin(3)
    sh.save(dialog, "clinic_stop.png")
    dialog.close()
    # finish the visit, then the same action again: the server refuses it and the outbox shows why
    w.consult_panel.ask = lambda *_a: True
    w.consult_panel.btn_finish.click()
    sh.spin(15, lambda: w.consult_panel.status == "completed")
    w._finish(w.consult_panel.appointment_id, w.consult_panel.form())
    sh.spin(15, lambda: w.outbox_indicator.failed == 1)
    sh.save(w, "doctor_finished_refused.png")
    outbox = w.open_outbox()
    if outbox is not None:
        sh.spin(5, lambda: outbox.tree.topLevelItemCount() > 0)
        sh.spin(2)
        sh.save(outbox, "outbox.png")
        outbox.close()
    c.quit()
    sh.spin(3)

    # placeholders
    for username in ("pharmacist", "clerk", "admin"):
        c = AppController(settings=WorkstationSettings(language=language), server_url=base_url,
                          persist_settings=False)
        c.start()
        sh.spin(0.3)
        c.signin.ed_username.setText(username)
        c.signin.ed_password.setText(PASSWORD)
        c.signin.submit()
        sh.spin(15, lambda c=c: c.window is not None)
        c.window.resize(1400, 860)
        sh.save(c.window, f"{username}.png")
        c.quit()
        sh.spin(2)


def shoot_prescription(base_url: str, out: Path, *, rich_name: str) -> None:
    """The prescription editor (doctor_prescription_editor.png: lines and a finding) and a signed prescription
    (doctor_prescription_signed.png), for the rich patient, at 1600×1000. Consent goes the real way: when the
    video run did not give it already, the call is reported connected and the patient answers through the API."""
    from workstation.services.settings import WorkstationSettings
    from workstation.ui.app import AppController
    from workstation.ui.i18n import install_language

    install_language("zh_CN")
    sh = Shooter(out)
    c = AppController(settings=WorkstationSettings(language="zh_CN"), server_url=base_url, persist_settings=False)
    c.start()
    sh.spin(0.5)
    c.signin.ed_username.setText("doctor1")
    c.signin.ed_password.setText(PASSWORD)
    c.signin.submit()
    sh.spin(15, lambda: c.window is not None)
    w = c.window
    w.showNormal()
    w.resize(1600, 1000)
    sh.spin(15, lambda: any(e.patient_name == rich_name for e in w.model.entries()))
    rich = next(e for e in w.model.entries() if e.patient_name == rich_name)
    aid = rich.appointment_id
    doc = {"Authorization": f"Bearer {w.session.api.token}"}
    pat = {"Authorization": f"Bearer {RICH['token']}"}
    with httpx.Client(base_url=f"{base_url}/api/v1", timeout=10) as http:
        state = http.get(f"/staff/appointments/{aid}/consent", headers=doc)
        if state.status_code != 200 or state.json().get("state") != "consented":
            if rich.status != "in_consultation":
                http.post(f"/staff/appointments/{aid}/accept", headers=doc)
            seg = http.post(f"/staff/appointments/{aid}/call", headers=doc).json()["segment"]["id"]
            http.post(f"/staff/appointments/{aid}/call/state", headers=doc, json={"segment_id": seg,
                                                                                    "state": "connected"})
            req = http.post(f"/staff/appointments/{aid}/consent-requests", headers=doc).json()
            http.post(f"/appointments/{aid}/consent", headers=pat,
                      json={"request_id": req["id"], "version": req["version"], "agree": True})
    w.queue_view.select(aid)
    ed = w.rx_editor
    sh.spin(15, lambda: ed.appointment_id == aid and ed.sync is not None and ed.formulary is not None
            and w.consult_panel.icd.ready)
    w.workspace.setCurrentIndex(1)
    sh.spin(15, lambda: ed.stack.currentWidget() is ed.page_edit)
    if not ed.editable and ed.btn_new.isVisible():
        ed.btn_new.click()
    if ed.icd.selected() is None and ed.icd.ready:
        ed.icd.search_now("M89")
        if ed.icd.model is not None and ed.icd.model.rowCount():
            ed.icd.pick_row(0)
    f = ed.formulary
    wanted = [d for d in f.drugs if not d.controlled and d.max_daily_dose][:3]
    for d in wanted:
        ed.search_now(d.code)
        ed.pick_row(0)
    sh.spin(10, lambda: ed.prescription is not None and not ed.sync.busy)
    # the first drug at twice its maximum daily dose: a blocking, overridable finding
    first = wanted[0]
    freq = f.frequency(ed.lines.lines[0]["frequency"])
    if freq is not None and freq.per_day:
        ed.lines.setData(ed.lines.index(0, 1), round(first.max_daily_dose / freq.per_day * 2, 3))
    ed.lines.setData(ed.lines.index(1, 7), "饭后服用")
    ed.ed_allergies.setText("磺胺类")
    ed.ed_allergies.textEdited.emit("磺胺类")
    sh.spin(10, lambda: any(x.get("severity") == "block" and x.get("overridable") for x in ed._findings)
            and not ed.sync.busy)
    sh.spin(1.0)
    sh.save(w, "doctor_prescription_editor.png")
    w.resize(1366, 768)  # the small screen the editor must still fit
    sh.spin(1.0)
    sh.save(w, "doctor_prescription_editor_1366.png")
    w.resize(1600, 1000)

    # override every overridable block with a reason, then sign
    ed.ask_reason = lambda *_a: "患者既往长期服用此剂量，耐受良好，已告知风险"
    for x in list(ed._findings):
        if x.get("severity") == "block" and x.get("overridable") and not x.get("overridden"):
            ed.override(x["key"])
            sh.spin(10, lambda: not ed.sync.busy)
    ed.ask_password = lambda _summary: PASSWORD
    ed.sign()
    sh.spin(15, lambda: ed.status == "signed")
    sh.spin(1.0)
    sh.save(w, "doctor_prescription_signed.png")
    c.quit()
    sh.spin(3)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    parser.add_argument("--patients", type=int, default=6, help="simulated patients besides the rich one")
    parser.add_argument("--only", choices=["prescription"], help="only the prescription editor's screenshots")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix="ws-shots-"))
    os.environ["CLINIC_WS_CONFIG_DIR"] = str(tmp / "ws-config")
    os.environ["CLINIC_WS_DATA_DIR"] = str(tmp / "ws-data")
    url, proc = start_backend(tmp)
    try:
        fill_queue(url, extra=args.patients)
        from server import demo_catalogue as cat
        from workstation.ui.app import create_application

        rich = next(p for p in cat.DEMO_HIS_PATIENTS if "bone_tumor" in p.department_codes).name
        app = create_application(language="zh_CN")
        import asyncio

        import qasync

        # the video call's aiortc runs on the application's asyncio loop (qasync), as in workstation.ui.app; the
        # shooter drives Qt's loop itself, so the loop is marked running on it
        asyncio.set_event_loop(qasync.QEventLoop(app, already_running=True))
        if args.only != "prescription":
            shoot(url, args.out, language="zh_CN", rich_name=rich)
            shoot(url, args.out, language="en", rich_name=rich, suffix="_en")
        shoot_prescription(url, args.out, rich_name=rich)
    finally:
        proc.terminate()
        proc.wait(10)
    print(f"screenshots: done ({dt.datetime.now():%H:%M:%S})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
