"""The refund clerk's window with real data from a real backend (docs/screenshots/clerk_*.png).

    xvfb-run -a -s "-screen 0 1920x1080x24" .venv/bin/python scripts/clerk_screenshot.py [--lang zh_CN] [--out DIR]
             [--size 1600x1000]

Starts its own backend (scripts/workstation_screenshots.py's: temporary SQLite, demo data), and brings patients
to it the way they come, through the public API (server/simulate.py's journeys): they register, add a patient,
book and pay through the sandbox gateway. Then:

- four patients whose visit time passed without a call apply for their fee back (申请退号) with a reason; one is
  approved by the clerk beforehand, so today's reconciliation has a refunded application;
- one patient has a full visit with a prescription whose drug fee is paid (not yet dispensed), and a second
  booking cancelled before its time and refunded — the order the search shows;
- two bookings are cancelled while the sandbox gateway is told to refuse (ABNORMAL) or close (CLOSED) their
  refunds — the exception list.

What no route can do is arranged in the database, as the tests do: the applicants' visits are moved into the
past (a visit's time cannot pass in a screenshot script's minute), and their applications backdated so the
queue's waiting clock shows realistic times. Then it signs in as ``clerk`` and saves one picture per tab —
clerk_applications.png, clerk_search.png, clerk_exceptions.png, clerk_reconciliation.png — and the print preview
of the searched refund's receipt (clerk_receipt_preview.png).
"""
from __future__ import annotations

import argparse
import datetime as dt
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

import httpx
from workstation_screenshots import PASSWORD, Shooter, soon_clinics, start_backend, steered_sim

TZ = ZoneInfo("Asia/Shanghai")
# (doctor, reason, minutes since the application, minutes the visit was before it)
APPLICANTS = [
    (2, "临时有事未能按时就诊，申请退号", 185, 40),
    (1, "网络信号差，没有接到医生的视频呼叫，家里宽带当天在维修", 52, 25),
    (1, "家中老人突发不适，陪同去急诊，未能签到", 14, 60),
    (2, "记错了就诊时间，未能签到", 3, 20),
]
APPROVED_FIRST = 3  # the clerk approved this one earlier today


class Seeder:
    def __init__(self, base_url: str, database_url: str) -> None:
        from sqlalchemy import create_engine

        self.base_url = base_url
        self.staff = httpx.Client(base_url=base_url + "/api/v1", timeout=30)
        self.engine = create_engine(database_url)
        self.stop = threading.Event()
        self.headers: dict[str, dict[str, str]] = {}
        self.index = 70

    def login(self, username: str) -> dict[str, str]:
        if username not in self.headers:
            r = self.staff.post("/staff/auth/login", json={"username": username, "password": PASSWORD})
            r.raise_for_status()
            self.headers[username] = {"Authorization": f"Bearer {r.json()['token']}"}
        return self.headers[username]

    def patient(self, p: Any, doctor_id: int) -> Any:
        """A simulated patient who registers and adds the demo patient ``p``."""
        self.index += 1
        s = steered_sim(self.base_url, self.index, p, [doctor_id], self.stop)
        s.register()
        s.add_patient()
        return s

    def paid(self, s: Any, doctor_id: int, version: int | None = None) -> Any:
        s.wanted = [doctor_id]
        b = s.book(version if version is not None else s.accept_notice())
        s.pay(b)
        return b

    def order_of(self, s: Any, appointment_id: int) -> dict[str, Any]:
        number = s.api.get(f"/appointments/{appointment_id}")["number"]
        rows = self.staff.get("/staff/orders", params={"q": number}, headers=self.login("clerk")).json()
        return next(r for r in rows if r["appointment_id"] == appointment_id and r["kind"] == "consultation")

    # --- database arrangements (what no route can do) --------------------------------------------------------

    def move_into_past(self, appointment_id: int, minutes_ago: int) -> None:
        from sqlalchemy import update
        from sqlalchemy.orm import Session

        from server.appointments.models import Appointment

        starts = (dt.datetime.now(TZ) - dt.timedelta(minutes=minutes_ago)).replace(second=0, microsecond=0)
        with Session(self.engine) as s, s.begin():
            s.execute(update(Appointment).where(Appointment.id == appointment_id)
                      .values(starts_at=starts, ends_at=starts + dt.timedelta(minutes=15)))

    def backdate_application(self, appointment_id: int, minutes_ago: int) -> None:
        from sqlalchemy import update
        from sqlalchemy.orm import Session

        from server.refunds.models import Refund

        at = dt.datetime.now(TZ) - dt.timedelta(minutes=minutes_ago)
        with Session(self.engine) as s, s.begin():
            s.execute(update(Refund).where(Refund.appointment_id == appointment_id, Refund.path == "application")
                      .values(created_at=at, updated_at=at))

    # --- the day ---------------------------------------------------------------------------------------------

    def applications(self, bone: list[Any]) -> None:
        for i, (doctor_id, reason, waited, before) in enumerate(APPLICANTS):
            s = self.patient(bone[i], doctor_id)
            b = self.paid(s, doctor_id)
            self.move_into_past(b.id, waited + before)
            s.api.post(f"/appointments/{b.id}/refund-application", {"reason": reason})
            self.backdate_application(b.id, waited)
            if i == APPROVED_FIRST:
                refund = self.staff.get("/staff/refunds", params={"appointment_id": b.id},
                                        headers=self.login("clerk")).json()[0]
                self.staff.post(f"/staff/refunds/{refund['id']}/approve", json={},
                                headers=self.login("clerk")).raise_for_status()

    def searched_patient(self, p: Any) -> str:
        """A visit with a paid prescription (drug fee refundable), and a second booking cancelled and refunded."""
        s = self.patient(p, 1)
        version = s.accept_notice()
        b = self.paid(s, 1, version)
        s.check_in(b)
        s.describe(b)
        doc = self.login("doctor1")
        appt = f"/staff/appointments/{b.id}"
        seg = self.staff.post(f"{appt}/call", headers=doc).raise_for_status().json()["segment"]["id"]
        self.staff.post(f"{appt}/call/signals", headers=doc, json={
            "segment_id": seg, "type": "offer", "description": {"type": "offer", "sdp": "v=0\r\n"}}).raise_for_status()
        s.api.post(f"/appointments/{b.id}/call/signals", {"segment_id": seg, "type": "answer",
                                                          "description": {"type": "answer", "sdp": "v=0\r\n"}})
        self.staff.post(f"{appt}/call/state", headers=doc,
                        json={"segment_id": seg, "state": "connected"}).raise_for_status()
        req = self.staff.post(f"{appt}/consent-requests", headers=doc).raise_for_status().json()
        s.api.post(f"/appointments/{b.id}/consent", {"request_id": req["id"], "version": req["version"],
                                                     "agree": True})
        draft = {"diagnosis": {"code": "M81.0", "name": "绝经后骨质疏松"}, "fee_category": "self_pay",
                 "allergies": [], "chronic_reason": "骨质疏松症需长期规律用药，病情稳定", "validity_days": 1,
                 "validity_note": "", "notes": "", "overrides": [],
                 "lines": [{"drug_code": "BT012", "dose": 70, "route": "po", "frequency": "qw", "days": 28,
                            "quantity": None, "notes": "晨起空腹"},
                           {"drug_code": "BT016", "dose": 600, "route": "po", "frequency": "qd", "days": 28,
                            "quantity": None, "notes": ""}]}
        rx = self.staff.post(f"{appt}/prescriptions", headers=doc, json=draft).raise_for_status().json()
        self.staff.post(f"/staff/prescriptions/{rx['id']}/sign", headers=doc,
                        json={"password": PASSWORD, "revision": rx["revision"]}).raise_for_status()
        self.staff.post(f"{appt}/finish", headers=doc, json={
            "diagnosis_code": "M81.0", "diagnosis_name": "绝经后骨质疏松", "notes": "视频复诊，继续原方案。"}
        ).raise_for_status()
        self.staff.post(f"/staff/prescriptions/{rx['id']}/approve", headers=self.login("pharmacist")
                        ).raise_for_status()
        pharmacy = s.api.get("/pharmacies")[0]
        s.api.post(f"/prescriptions/{rx['id']}/fulfilment", {"method": "pickup", "pharmacy_id": pharmacy["id"]})
        pay = s.api.post(f"/prescriptions/{rx['id']}/payment")
        s.api.post(f"/sandbox/pay/{pay['prepay_id']}/confirm")
        # and a booking with doctor2 for later, cancelled by the patient: refunded by itself
        later = self.paid(s, 2, version)
        s.api.post(f"/appointments/{later.id}/cancel", {"confirm": True})
        return str(s.holder.mobile)

    def exceptions(self, bone: list[Any]) -> None:
        for p, outcome, doctor_id in ((bone[0], "ABNORMAL", 2), (bone[1], "CLOSED", 1)):
            s = self.patient(p, doctor_id)
            b = self.paid(s, doctor_id)
            order = self.order_of(s, b.id)
            self.staff.post("/sandbox/refund-plan", json={"out_trade_no": order["out_trade_no"],
                                                          "outcomes": [outcome]}).raise_for_status()
            s.api.post(f"/appointments/{b.id}/cancel", {"confirm": True})

    def settle(self, what: str, ready: Any, seconds: float = 30) -> None:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            if ready():
                return
            time.sleep(0.3)
        print(f"screenshot: {what} not settled in {seconds:.0f}s", flush=True)


def prepare(base_url: str, database_url: str) -> dict[str, Any]:
    from server import demo_catalogue as cat

    seeder = Seeder(base_url, database_url)
    soon_clinics(seeder.staff, seeder.login("admin"), [2, 1])
    pool = [p for p in cat.DEMO_HIS_PATIENTS if "bone_tumor" in p.department_codes]
    seeder.applications(pool[:len(APPLICANTS)])
    mobile = seeder.searched_patient(pool[len(APPLICANTS)])
    seeder.exceptions(pool[len(APPLICANTS) + 1:len(APPLICANTS) + 3])
    clerk = seeder.login("clerk")
    seeder.settle("the exceptions", lambda: len(seeder.staff.get("/staff/refunds/exceptions",
                                                                  headers=clerk).json()) >= 2)
    seeder.settle("the search's refunds", lambda: any(
        r["refund_status"] == "refunded" for r in seeder.staff.get("/staff/orders", params={"q": mobile},
                                                                    headers=clerk).json()))
    return {"mobile": mobile}


def shoot(base_url: str, out: Path, *, language: str, mobile: str, size: tuple[int, int], suffix: str) -> None:
    from workstation.services.settings import WorkstationSettings
    from workstation.ui.app import AppController
    from workstation.ui.clerk import TAB_EXCEPTIONS, TAB_RECONCILIATION, TAB_SEARCH
    from workstation.ui.i18n import install_language

    install_language(language)
    sh = Shooter(out)
    c = AppController(settings=WorkstationSettings(language=language), server_url=base_url, persist_settings=False)
    c.start()
    sh.spin(0.5)
    c.signin.ed_username.setText("clerk")
    c.signin.ed_password.setText(PASSWORD)
    c.signin.submit()
    sh.spin(15, lambda: c.window is not None)
    w = c.window
    w.showNormal()
    w.move(0, 0)
    w.resize(*size)
    sh.spin(15, lambda: w.applications_model.rowCount() >= len(APPLICANTS) - 1
            and all(e.complete for e in w.applications_model.entries())
            and w.exceptions_model.rowCount() >= 2 and w.connection.state == "live")
    w.applications_view.select_row(0)
    sh.spin(5, lambda: w.application_detail.refund_id is not None)
    sh.save(w, f"clerk_applications{suffix}.png")

    w.tabs.setCurrentIndex(TAB_SEARCH)
    w.search_page.search(mobile)
    sh.spin(10, lambda: w.search_page.model.rowCount() >= 3)
    refunded = next((i for i, r in enumerate(w.search_page.model.rows()) if r.get("refunds")), 0)
    w.search_page.results.select_row(refunded)
    sh.spin(3, lambda: w.search_page.detail.selected_refund() is not None)
    sh.save(w, f"clerk_search{suffix}.png")
    if w.search_page.detail.btn_print.isEnabled():  # the refund receipt, as the clerk hands it over
        from workstation.ui.print_preview import PrintPreviewDialog

        w.search_page.detail.btn_print.click()
        sh.spin(10, lambda: any(d.isVisible() and d.page_total for d in w.findChildren(PrintPreviewDialog)))
        preview = next(d for d in w.findChildren(PrintPreviewDialog) if d.isVisible())
        sh.save(preview, f"clerk_receipt_preview{suffix}.png")
        preview.close()

    # the outbox with an action the server refused (a window refund of an order already refunded): it names the
    # patient it was for
    from workstation.services import api as api_mod

    done = next((r for r in w.search_page.model.rows() if r.get("refund_status") == "refunded"), None)
    if done is not None and w.session.outbox is not None:
        w.session.outbox.submit(api_mod.window_refund_request(done["appointment_id"], "患者再次到窗口要求退费"))
        sh.spin(10, lambda: w.session.outbox.items(states=("failed",)).result())
        dialog = w.open_outbox()
        sh.spin(5, lambda: dialog.tree.topLevelItemCount() > 0)
        sh.spin(0.5)
        sh.save(dialog, f"clerk_outbox{suffix}.png")
        dialog.close()

    w.tabs.setCurrentIndex(TAB_EXCEPTIONS)
    w.exceptions_view.select_row(0)
    sh.spin(5, lambda: w.exception_detail.refund_id is not None)
    sh.save(w, f"clerk_exceptions{suffix}.png")

    w.tabs.setCurrentIndex(TAB_RECONCILIATION)
    w.reconciliation_page.reload()
    sh.spin(10, lambda: w.reconciliation_page.data is not None)
    w.reconciliation_page.tables.setCurrentIndex(1)
    sh.save(w, f"clerk_reconciliation{suffix}.png")
    c.quit()
    sh.spin(3)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    parser.add_argument("--lang", default="zh_CN")
    parser.add_argument("--size", default="1600x1000", help="window size, e.g. 1366x768")
    parser.add_argument("--suffix", default=None, help="added to the file names (default: _<lang> for English)")
    args = parser.parse_args()
    width, height = (int(x) for x in args.size.lower().split("x"))
    suffix = args.suffix if args.suffix is not None else ("" if args.lang == "zh_CN" else f"_{args.lang}")
    from PySide6.QtWidgets import QApplication

    from workstation.ui import theme

    app = QApplication(sys.argv[:1])
    theme.apply_theme(app)
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="clerk-shot-") as tmp:
        url, proc = start_backend(Path(tmp))
        try:
            seeded = prepare(url, f"sqlite:///{Path(tmp) / 'clinic.sqlite3'}")
            shoot(url, args.out.resolve(), language=args.lang, mobile=seeded["mobile"], size=(width, height),
                  suffix=suffix)
        finally:
            proc.terminate()
            proc.wait(10)
    return 0


if __name__ == "__main__":
    sys.exit(main())
