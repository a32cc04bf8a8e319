"""The doctor's prescription editor against the real backend: locked until the patient consented on the call (the
server refuses too) and unlocked live by the answer; the drug search by initials, brand and code; lines with the
computed quantity; a blocking finding overridden with a written reason; signing with a wrong then the right
password; a signed prescription read-only; returned by a pharmacist (reason in a banner, editable again); voided
with a reason; the patient's rating shown; a draft that survives a crash (a new controller on the same store).

Consent goes the real way without a media stack: the doctor's call is opened and reported connected through the
staff API (what the call service does), the consent asked through the staff API and answered through the
patient's API, as the mini-program does."""
from __future__ import annotations

import datetime as dt
from typing import Any

import httpx
import pytest
from PySide6.QtCore import Qt
from sqlalchemy.engine import Engine

from tests.conftest import LiveServer
from tests.workstation.ui_support import PASSWORD, Controllers, controllers, doctor_clinic, new_staff
from tests.workstation_helpers import V1, waiting
from workstation.models.formulary import Drug, default_quantity
from workstation.models.prescription import LinesModel
from workstation.services.rx_drafts import local_key
from workstation.ui.doctor.main_window import DoctorWindow

__all__ = ["controllers"]

pytestmark = pytest.mark.integration
T = 20000


def open_doctor(live_server: LiveServer, controllers: Controllers, qtbot: Any, username: str) -> DoctorWindow:
    c = controllers.new(server_url=live_server.base_url)
    w = controllers.sign_in(c, username)
    assert isinstance(w, DoctorWindow)
    w.resize(1600, 1000)
    w.show()
    qtbot.waitUntil(lambda: w.connection.state == "live", timeout=T)
    qtbot.waitUntil(lambda: w.rx_editor.formulary is not None, timeout=T)
    return w


def doctor_headers(w: DoctorWindow) -> dict[str, str]:
    return {"Authorization": f"Bearer {w.session.api.token}"}


def staff_login(api: httpx.Client, username: str) -> dict[str, str]:
    r = api.post(f"{V1}/staff/auth/login", json={"username": username, "password": PASSWORD})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['token']}"}


def accept(api: httpx.Client, doc: dict[str, str], appt: int) -> None:
    r = api.post(f"{V1}/staff/appointments/{appt}/accept", headers=doc)
    assert r.status_code == 200, r.text


def consent(api: httpx.Client, doc: dict[str, str], acc: dict[str, Any], appt: int) -> None:
    """The call connected, consent asked by the doctor and given on the patient's phone."""
    r = api.post(f"{V1}/staff/appointments/{appt}/call", headers=doc)
    assert r.status_code == 201, r.text
    segment = r.json()["segment"]["id"]
    r = api.post(f"{V1}/staff/appointments/{appt}/call/state", headers=doc,
                 json={"segment_id": segment, "state": "connected"})
    assert r.status_code == 200, r.text
    r = api.post(f"{V1}/staff/appointments/{appt}/consent-requests", headers=doc)
    assert r.status_code in (200, 201), r.text
    request = r.json()
    r = api.post(f"{V1}/appointments/{appt}/consent", headers=acc["headers"],
                 json={"request_id": request["id"], "version": request["version"], "agree": True})
    assert r.status_code == 200, r.text


def select(w: DoctorWindow, qtbot: Any, appt: int, status: str = "in_consultation") -> None:
    qtbot.waitUntil(lambda: w.model.row_of(appt) is not None, timeout=T)
    assert w.queue_view.select(appt)
    qtbot.waitUntil(lambda: w.consult_panel.appointment_id == appt and w.consult_panel.status == status,
                    timeout=T)
    w.workspace.setCurrentIndex(1)
    qtbot.waitUntil(lambda: w.rx_editor.appointment_id == appt and w.rx_editor.sync is not None, timeout=T)


def ordinary_drug_with_max(w: DoctorWindow) -> Drug:
    f = w.rx_editor.formulary
    assert f is not None
    for d in f.drugs:
        if not d.controlled and d.max_daily_dose and d.brand_name and d.initials and \
                (fr := f.frequency(d.default_frequency)) is not None and fr.per_day:
            return d
    raise AssertionError("the catalogue has no ordinary drug with a maximum daily dose")


def server_rx(api: httpx.Client, doc: dict[str, str], rx_id: int) -> dict[str, Any]:
    r = api.get(f"{V1}/staff/prescriptions/{rx_id}", headers=doc)
    assert r.status_code == 200, r.text
    return r.json()


def test_prescription_from_consent_to_sign_return_and_void(
        live_server: LiveServer, api: httpx.Client, admin: dict[str, str], db_engine: Engine,
        controllers: Controllers, qtbot: Any) -> None:
    clinic = doctor_clinic(api, admin)
    w = open_doctor(live_server, controllers, qtbot, clinic["username"])
    ed = w.rx_editor
    doc = doctor_headers(w)
    acc, appt = waiting(api, db_engine, clinic)
    accept(api, doc, appt)
    select(w, qtbot, appt)

    # locked: no consent yet, and the server refuses too
    assert ed.locked and ed.stack.currentWidget() is ed.page_locked
    assert not ed.btn_consent.isEnabled()  # no call on: consent is asked on the call
    r = api.post(f"{V1}/staff/appointments/{appt}/prescriptions", headers=doc, json={})
    assert r.status_code == 409 and r.json()["code"] == "consent_required", r.text

    # the visit's diagnosis, picked on the consultation panel, is the prescription's to start with
    qtbot.waitUntil(lambda: w.consult_panel.icd.ready, timeout=T)
    assert w.consult_panel.icd.search_now("E11.9") > 0
    w.consult_panel.icd.pick_row(0)
    diagnosis = w.consult_panel.icd.selected()
    assert diagnosis is not None

    # the patient consents on the phone: the editor unlocks by itself (consent.answered on the stream)
    consent(api, doc, acc, appt)
    qtbot.waitUntil(lambda: ed.stack.currentWidget() is ed.page_edit, timeout=T)
    assert ed.status == "new" and ed.editable
    assert ed.icd.selected() == diagnosis

    # the drug search: pinyin initials, brand name, code (prefix matches first)
    drug = ordinary_drug_with_max(w)
    assert ed.search_now(drug.initials[0]) > 0
    assert drug in [ed.search_model.drug(i) for i in range(ed.search_model.rowCount())]  # type: ignore[union-attr]
    assert ed.search_now(drug.brand_name) > 0
    assert drug in [ed.search_model.drug(i) for i in range(ed.search_model.rowCount())]  # type: ignore[union-attr]
    assert ed.search_now(drug.code.lower()) > 0 and ed.search_model.drug(0) == drug  # type: ignore[union-attr]

    # a line: the quantity is computed at once here, and the server agrees (a second one added and removed)
    ed.pick_row(0)
    assert ed.lines.rowCount() == 1
    other = next(d for d in ed.formulary.drugs if d.code != drug.code and not d.controlled)  # type: ignore[union-attr]
    ed.search_now(other.code)
    ed.pick_row(0)
    assert ed.lines.rowCount() == 2
    rect = ed.table.visualRect(ed.lines.index(1, LinesModel.COL_REMOVE))
    qtbot.mouseClick(ed.table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert ed.lines.rowCount() == 1 and ed.lines.lines[0]["drug_code"] == drug.code
    f = ed.formulary
    assert f is not None
    line = ed.lines.lines[0]
    local = default_quantity(drug, dose=float(line["dose"]), frequency=f.frequency(line["frequency"]),
                             days=int(line["days"]))
    assert ed.lines.quantity(0) == local
    qtbot.waitUntil(lambda: ed.prescription is not None and len(ed.prescription["lines"]) == 1, timeout=T)
    assert ed.prescription is not None
    rx_id = int(ed.prescription["id"])
    assert ed.prescription["status"] == "draft"
    assert ed.prescription["lines"][0]["quantity_computed"] == local
    assert ed.lines.quantity(0) == local and ed.lbl_total.text().endswith(f"{ed.prescription['amount_fen'] / 100:.2f}")

    # a quantity typed by hand, far above the computed one: a warning; 0 goes back to the computed quantity
    assert ed.lines.setData(ed.lines.index(0, LinesModel.COL_QTY), local * 3)
    qtbot.waitUntil(lambda: any(x["code"] == "quantity_mismatch" for x in ed._findings), timeout=T)
    assert next(x for x in ed._findings if x["code"] == "quantity_mismatch")["severity"] == "warn"
    assert ed.prescription["lines"][0]["quantity"] == local * 3  # type: ignore[index]
    assert ed.lines.setData(ed.lines.index(0, LinesModel.COL_QTY), 0)
    qtbot.waitUntil(lambda: not any(x["code"] == "quantity_mismatch" for x in ed._findings), timeout=T)
    assert ed.lines.lines[0]["quantity"] is None and ed.lines.quantity(0) == local

    # a dose above the maximum daily dose: a blocking finding, overridable with a reason
    per_day = f.frequency(line["frequency"]).per_day  # type: ignore[union-attr]
    assert per_day
    too_much = round(drug.max_daily_dose / per_day * 1.5, 3)  # type: ignore[operator]
    assert ed.lines.setData(ed.lines.index(0, LinesModel.COL_DOSE), too_much)
    key = f"max_daily_dose:{drug.code}"
    qtbot.waitUntil(lambda: key in ed.findings.rows, timeout=T)
    finding = next(x for x in ed._findings if x["key"] == key)
    assert finding["severity"] == "block" and finding["overridable"] and not finding["overridden"]
    assert ed.findings.rows[key].property("severity") == "block"

    # signing is refused while it stands: the server's reason is shown
    ed.ask_password = lambda _summary: PASSWORD
    ed.btn_sign.click()
    qtbot.waitUntil(lambda: ed._busy == "" and ed.lbl_error.isVisibleTo(w), timeout=T)
    assert ed.status == "draft"

    ed.ask_reason = lambda _t, _x, _c: "患者长期服用此剂量，耐受良好"
    ed.findings.rows[key].button.click()  # type: ignore[attr-defined]
    qtbot.waitUntil(lambda: any(x["key"] == key and x["overridden"] for x in ed._findings), timeout=T)
    assert ed.findings.rows[key].property("severity") == "done"
    blocks = [x for x in ed._findings if x["severity"] == "block" and not x["overridden"]]
    assert not blocks, blocks

    # a wrong password, then the right one
    ed.ask_password = lambda _summary: "not-my-password"
    ed.btn_sign.click()
    qtbot.waitUntil(lambda: ed._busy == "" and ed.lbl_error.isVisibleTo(w), timeout=T)
    assert ed.status == "draft" and ed.editable
    ed.ask_password = lambda _summary: PASSWORD
    ed.btn_sign.click()
    qtbot.waitUntil(lambda: ed.status == "signed", timeout=T)
    assert not ed.lbl_error.isVisibleTo(w)

    # signed: read-only here, immutable on the server
    assert not ed.editable and ed.lines.read_only and not ed.ed_search.isVisibleTo(w)
    assert not (ed.lines.flags(ed.lines.index(0, LinesModel.COL_DOSE)) & ed.lines.flags(ed.lines.index(0, 0)).ItemIsEditable)
    assert not ed.btn_sign.isVisibleTo(w) and ed.btn_void.isVisibleTo(w) and ed.btn_print.isVisibleTo(w)
    assert not ed.icd.isEnabled()
    r = api.put(f"{V1}/staff/prescriptions/{rx_id}", headers=doc,
                json={**ed.draft, "revision": ed.prescription["revision"]})  # type: ignore[index]
    assert r.status_code == 409 and r.json()["code"] == "prescription_immutable", r.text
    slips: list[dict[str, Any]] = []
    ed.show_slip = slips.append
    ed.btn_print.click()
    qtbot.waitUntil(lambda: bool(slips), timeout=T)
    assert slips[0]["no"] == ed.prescription["no"]  # type: ignore[index]
    # and the real thing: the slip renderer's PDF in the print preview
    from PySide6.QtWidgets import QApplication

    from workstation.ui.print_preview import PrintPreviewDialog

    ed.show_slip = ed._show_slip
    ed.btn_print.click()
    qtbot.waitUntil(lambda: any(isinstance(x, PrintPreviewDialog) and x.isVisible()
                                for x in QApplication.topLevelWidgets()), timeout=T)
    preview = next(x for x in QApplication.topLevelWidgets() if isinstance(x, PrintPreviewDialog))
    assert ed.prescription["no"] in preview.windowTitle()  # type: ignore[index]
    preview.close()

    # a pharmacist returns it: the doctor sees the reason live, and may edit again
    pharmacist = staff_login(api, new_staff(api, admin, role="pharmacist"))
    r = api.post(f"{V1}/staff/prescriptions/{rx_id}/return", headers=pharmacist,
                 json={"reason": "剂量偏大，请核对"})
    assert r.status_code == 200, r.text
    qtbot.waitUntil(lambda: ed.status == "returned", timeout=T)
    assert ed.lbl_banner.isVisibleTo(w) and "剂量偏大，请核对" in ed.lbl_banner.text()
    assert "剂量偏大，请核对" in ed.lbl_status.text()
    assert ed.editable and not ed.lines.read_only
    assert w.workspace.tabText(1) != "Prescription" and "剂量偏大，请核对" in w.statusBar().currentMessage()
    assert ed.lines.setData(ed.lines.index(0, LinesModel.COL_DOSE), drug.dose_per_unit)
    qtbot.waitUntil(lambda: server_rx(api, doc, rx_id)["status"] == "draft" and not ed.sync.busy,  # type: ignore
                    timeout=T)
    ed.btn_sign.click()
    qtbot.waitUntil(lambda: ed.status == "signed", timeout=T)

    # void, with a reason
    ed.ask_reason = lambda _t, _x, _c: "患者要求更换药品"
    ed.btn_void.click()
    qtbot.waitUntil(lambda: ed.status == "voided", timeout=T)
    assert "患者要求更换药品" in ed.lbl_banner.text()
    assert server_rx(api, doc, rx_id)["void_reason"] == "患者要求更换药品"
    assert not ed.btn_void.isVisibleTo(w) and ed.btn_new.isVisibleTo(w)

    # another one may be started
    ed.btn_new.click()
    assert ed.status == "new" and ed.editable and ed.lines.rowCount() == 0

    # the visit ends and the patient rates it: the consultation panel shows the stars
    r = api.post(f"{V1}/staff/appointments/{appt}/finish", headers=doc,
                 json={"diagnosis_code": "E11.9", "diagnosis_name": "2型糖尿病", "notes": "复诊"})
    assert r.status_code == 200, r.text
    qtbot.waitUntil(lambda: w.consult_panel.status == "completed", timeout=T)
    r = api.post(f"{V1}/appointments/{appt}/rating", headers=acc["headers"], json={"stars": 4, "text": "医生很耐心"})
    assert r.status_code == 201, r.text
    qtbot.waitUntil(lambda: "★★★★☆" in w.consult_panel.lbl_rating.text(), timeout=T)
    assert "医生很耐心" in w.consult_panel.lbl_rating.text()


def test_a_prescription_draft_survives_a_crash(
        live_server: LiveServer, api: httpx.Client, admin: dict[str, str], db_engine: Engine,
        controllers: Controllers, qtbot: Any) -> None:
    clinic = doctor_clinic(api, admin)
    w = open_doctor(live_server, controllers, qtbot, clinic["username"])
    ed = w.rx_editor
    doc = doctor_headers(w)
    acc, appt = waiting(api, db_engine, clinic)
    accept(api, doc, appt)
    consent(api, doc, acc, appt)
    select(w, qtbot, appt)
    qtbot.waitUntil(lambda: ed.stack.currentWidget() is ed.page_edit, timeout=T)
    drug = ordinary_drug_with_max(w)
    assert ed.search_now(drug.code) > 0
    ed.pick_row(0)
    qtbot.waitUntil(lambda: ed.prescription is not None and not ed.sync.busy, timeout=T)  # type: ignore[union-attr]
    assert ed.prescription is not None
    rx_id = int(ed.prescription["id"])

    # a change saved on this computer, then the process "dies" before the autosave reaches the server
    assert ed.lines.setData(ed.lines.index(0, LinesModel.COL_DAYS), 5)
    ed.ed_notes.setText("饭后服用")
    ed.ed_notes.textEdited.emit("饭后服用")
    ed.sync.stop()  # type: ignore[union-attr]  # nothing more goes out from this window
    store = w.session.store
    assert store is not None

    def saved_locally() -> bool:
        from workstation.services.ops import executor
        rec = executor("db").submit(store.cache_get, local_key(appt)).result()
        return isinstance(rec, dict) and rec.get("dirty") and rec["draft"]["notes"] == "饭后服用"

    qtbot.waitUntil(saved_locally, timeout=T)
    assert server_rx(api, doc, rx_id)["notes"] != "饭后服用"

    # a new controller on the same store (same server, same user): the draft comes back and goes out
    w2 = open_doctor(live_server, controllers, qtbot, clinic["username"])
    select(w2, qtbot, appt)
    ed2 = w2.rx_editor
    qtbot.waitUntil(lambda: ed2.stack.currentWidget() is ed2.page_edit and ed2.lines.rowCount() == 1, timeout=T)
    assert ed2.ed_notes.text() == "饭后服用" and ed2.lines.lines[0]["days"] == 5
    assert ed2.lbl_notice.isVisibleTo(w2)
    qtbot.waitUntil(lambda: server_rx(api, doc, rx_id)["notes"] == "饭后服用", timeout=T)
    got = server_rx(api, doc, rx_id)
    assert got["lines"][0]["days"] == 5 and got["status"] == "draft"
    assert dt.datetime.fromisoformat(got["created_at"]) is not None

    # the same prescription changed elsewhere (another computer): the next autosave meets 409 draft_conflict,
    # the editor shows the server's version and says so
    r = api.put(f"{V1}/staff/prescriptions/{rx_id}", headers=doc,
                json={**ed2.form(), "notes": "另一台电脑的修改", "revision": got["revision"]})
    assert r.status_code == 200, r.text
    assert ed2.lines.setData(ed2.lines.index(0, LinesModel.COL_DAYS), 6)
    qtbot.waitUntil(lambda: ed2.ed_notes.text() == "另一台电脑的修改", timeout=T)
    assert ed2.lbl_notice.isVisibleTo(w2) and ed2.lines.lines[0]["days"] == 5
    assert not ed2.sync.busy  # type: ignore[union-attr]


def test_the_locked_editor_asks_for_consent_on_the_live_call(
        live_server: LiveServer, api: httpx.Client, admin: dict[str, str], db_engine: Engine,
        controllers: Controllers, qtbot: Any) -> None:
    """The whole real path: the doctor calls, the phone answers (aiortc), the editor's own button asks for consent,
    the phone agrees, the editor unlocks."""
    from tests.workstation.test_ui_video import patient_phone
    from workstation.services.call import CONNECTED, ENDED

    clinic = doctor_clinic(api, admin)
    c = controllers.new(server_url=live_server.base_url)
    c.settings.video_source = "test_pattern"
    c.settings.audio_source = "tone"
    w = controllers.sign_in(c, clinic["username"])
    assert isinstance(w, DoctorWindow)
    w.resize(1600, 1000)
    w.show()
    qtbot.waitUntil(lambda: w.connection.state == "live", timeout=T)
    acc, appt = waiting(api, db_engine, clinic)
    phone = patient_phone(live_server, acc, appt)
    try:
        qtbot.waitUntil(lambda: phone.stats()["stream_open"], timeout=T)
        qtbot.waitUntil(lambda: w.model.row_of(appt) is not None, timeout=T)
        assert w.queue_view.select(appt)
        qtbot.waitUntil(lambda: w.consult_panel.appointment_id == appt, timeout=T)
        w.consult_panel.btn_accept.click()
        call = w.call
        assert call is not None
        qtbot.waitUntil(lambda: call.state == CONNECTED, timeout=T)
        ed = w.rx_editor
        w.workspace.setCurrentIndex(1)
        qtbot.waitUntil(lambda: ed.appointment_id == appt and ed.sync is not None, timeout=T)
        assert ed.stack.currentWidget() is ed.page_locked
        # the patient stays in sight on the prescription tab: the video panel came along, above the editor
        panel = w.video_panel
        assert panel is not None and panel.parentWidget() is w.rx_split and panel.isVisible()
        qtbot.waitUntil(ed.btn_consent.isEnabled, timeout=T)  # the call is on
        ed.btn_consent.click()
        qtbot.waitUntil(lambda: ed.stack.currentWidget() is ed.page_edit, timeout=T)
        assert (ed.consent or {}).get("state") == "consented" and ed.editable
        w.workspace.setCurrentIndex(0)
        assert panel.parentWidget() is w.centre_split and panel.isVisible()
        # hang up here, on the running loop: a call left open keeps aiortc's decoder threads (not daemons) alive
        # and the test process would never exit
        call.hang_up()
        qtbot.waitUntil(lambda: call.state == ENDED, timeout=T)
    finally:
        phone.stop()


def test_the_patients_steps_show_live_in_the_doctors_editor(
        live_server: LiveServer, api: httpx.Client, admin: dict[str, str], db_engine: Engine,
        controllers: Controllers, qtbot: Any) -> None:
    """Signed at the doctor's desk, approved at the pharmacy, chosen and paid on the patient's phone: the doctor's
    editor follows each step from the event stream, and once paid it no longer offers to void."""
    from tests.workstation.test_ui_pharmacist import consented_visit, pay_for, signed_rx
    from workstation.models.prescription import status_text

    clinic = doctor_clinic(api, admin)
    w = open_doctor(live_server, controllers, qtbot, clinic["username"])
    doc = doctor_headers(w)
    acc, appt = consented_visit(api, db_engine, clinic, doc, name="沈建华")
    rx = signed_rx(api, doc, appt)
    select(w, qtbot, appt)
    ed = w.rx_editor
    qtbot.waitUntil(lambda: ed.status == "signed" and ed.lbl_status.text() == status_text("signed"), timeout=T)
    assert ed.btn_void.isVisible()

    pharmacist = staff_login(api, new_staff(api, admin, role="pharmacist"))
    r = api.post(f"{V1}/staff/prescriptions/{rx['id']}/approve", headers=pharmacist)
    assert r.status_code == 200 and r.json()["status"] == "issued", r.text
    qtbot.waitUntil(lambda: ed.status == "issued" and ed.lbl_status.text() == status_text("issued"), timeout=T)

    pay_for(api, acc, rx["id"])  # pickup chosen, then paid through the sandbox gateway
    qtbot.waitUntil(lambda: ed.status == "paid" and ed.lbl_status.text() == status_text("paid"), timeout=T)
    assert not ed.btn_void.isVisible()  # paid: voiding is over, a refund is the pharmacy's business


def test_renew_an_earlier_prescription_from_the_chart(
        live_server: LiveServer, api: httpx.Client, admin: dict[str, str], db_engine: Engine,
        controllers: Controllers, qtbot: Any) -> None:
    """续方: the chart lists the patient's earlier prescription (another doctor's) with its lines; "Renew" copies
    drug, dose, route, frequency and days into the new draft with the diagnosis, the autosave takes it to the
    server, and renewing again adds nothing twice."""
    from tests.workstation.test_ui_pharmacist import consented_visit, signed_rx

    first = doctor_clinic(api, admin)
    doc1 = staff_login(api, first["username"])
    acc, appt1 = consented_visit(api, db_engine, first, doc1, name="陆文涛")
    old = signed_rx(api, doc1, appt1)

    second = doctor_clinic(api, admin)
    w = open_doctor(live_server, controllers, qtbot, second["username"])
    doc2 = doctor_headers(w)
    _acc, appt2 = consented_visit(api, db_engine, second, doc2, name="陆文涛", acc=acc)
    select(w, qtbot, appt2)
    ed = w.rx_editor
    qtbot.waitUntil(lambda: ed.stack.currentWidget() is ed.page_edit, timeout=T)  # consented: unlocked
    earlier = (w.chart_panel.chart or {}).get("previous_prescriptions") or []
    assert [r["id"] for r in earlier] == [old["id"]]
    shown = w.chart_panel.lbl_prescriptions.text()
    assert old["no"] in shown and "盐酸二甲双胍片" in shown and f"renew:{old['id']}" in shown

    w.workspace.setCurrentIndex(0)
    assert w.chart_panel.renew(old["id"])
    assert w.workspace.currentIndex() == 1
    def fields(lines: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
        return [(ln["drug_code"], float(ln["dose"]), ln["route"], ln["frequency"], ln["days"]) for ln in lines]

    assert fields(ed.lines.lines) == fields(old["lines"])
    assert ed.icd.selected() is not None and ed.icd.selected()[0] == "E11.9"

    def on_server() -> list[dict[str, Any]]:
        r = api.get(f"{V1}/staff/appointments/{appt2}/prescriptions", headers=doc2)
        assert r.status_code == 200, r.text
        return r.json()

    qtbot.waitUntil(lambda: bool(on_server()) and fields(on_server()[0]["lines"]) == fields(old["lines"]),
                    timeout=T)
    assert on_server()[0]["diagnosis"]["code"] == "E11.9" and on_server()[0]["status"] == "draft"
    assert ed.renew_from(earlier[0]) == 0 and len(ed.lines.lines) == len(old["lines"])  # nothing twice
