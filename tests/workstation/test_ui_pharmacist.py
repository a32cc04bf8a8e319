"""The pharmacist's window against a real backend: a doctor's signed prescription appears in the queue live (with
the override mark and the doctor's reason), approving it issues it to the patient, returning it with a reason
shows that reason to the doctor and drops it from the queue, a paid one is dispensed from the to-dispense tab,
and one approved at another pharmacist's desk disappears by itself.

Everything is arranged through the real APIs: admin makes the staff, the patient books and describes, the doctor
calls, the patient consents on the call, the doctor writes and signs, the patient chooses a pharmacy and pays
through the sandbox gateway."""
from __future__ import annotations

import time
from typing import Any

import httpx
import pytest
from PySide6.QtCore import QTimer
from sqlalchemy.engine import Engine

from tests.conftest import LiveServer
from tests.workstation.ui_support import PASSWORD, Controllers, controllers, doctor_clinic, new_staff
from tests.workstation_helpers import V1, waiting
from workstation.models.review import OVERRIDE_FLAG, ReviewListModel
from workstation.ui.pharmacist import PharmacistWindow
from workstation.ui.print_preview import PrintPreviewDialog
from workstation.ui.review.return_dialog import ReturnDialog

__all__ = ["controllers"]

pytestmark = pytest.mark.integration
T = 15000
OVERRIDE_REASON = "患者长期耐受，内分泌科会诊意见"
RECORD = {"diagnosis_code": "E11.9", "diagnosis_name": "2型糖尿病", "notes": "视频复诊，继续原方案。"}


# --- arranging through the real APIs ------------------------------------------------------------------------------


def login(api: httpx.Client, username: str) -> dict[str, str]:
    r = api.post(f"{V1}/staff/auth/login", json={"username": username, "password": PASSWORD})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['token']}"}


def consented_visit(api: httpx.Client, db_engine: Engine, clinic: dict[str, Any], doc: dict[str, str], *,
                    name: str, acc: dict[str, Any] | None = None) -> tuple[dict[str, Any], int]:
    """A patient in consultation on a connected call who consented to a prescription (the real path); ``acc``: an
    existing holder and patient (a revisit), else a new one."""
    acc, appt = waiting(api, db_engine, clinic, name=name, acc=acc)
    staff = f"{V1}/staff/appointments/{appt}"
    r = api.post(f"{staff}/call", headers=doc)
    assert r.status_code == 201, r.text
    seg = r.json()["segment"]["id"]
    r = api.post(f"{staff}/call/signals", headers=doc,
                 json={"segment_id": seg, "type": "offer", "description": {"type": "offer", "sdp": "v=0\r\n"}})
    assert r.status_code == 202, r.text
    r = api.post(f"{V1}/appointments/{appt}/call/signals", headers=acc["headers"],
                 json={"segment_id": seg, "type": "answer", "description": {"type": "answer", "sdp": "v=0\r\n"}})
    assert r.status_code == 202, r.text
    r = api.post(f"{staff}/call/state", headers=doc, json={"segment_id": seg, "state": "connected"})
    assert r.status_code == 200, r.text
    r = api.post(f"{staff}/consent-requests", headers=doc)
    assert r.status_code == 201, r.text
    req = r.json()
    r = api.post(f"{V1}/appointments/{appt}/consent", headers=acc["headers"],
                 json={"request_id": req["id"], "version": req["version"], "agree": True})
    assert r.status_code == 200 and r.json()["state"] == "consented", r.text
    return acc, appt


def signed_rx(api: httpx.Client, doc: dict[str, str], appt: int, *, override: bool = False) -> dict[str, Any]:
    """The doctor writes and signs: metformin (1 g three times a day exceeds its 2.55 g daily maximum when
    ``override``, and the doctor overrides that with a reason) and amlodipine."""
    draft: dict[str, Any] = {
        "diagnosis": {"code": "E11.9", "name": "2型糖尿病"}, "fee_category": "self_pay", "allergies": ["青霉素类"],
        "chronic_reason": "", "validity_days": 1, "validity_note": "", "notes": "",
        "lines": [{"drug_code": "EN001", "dose": 1000 if override else 500, "route": "po", "frequency": "tid",
                   "days": 7, "quantity": None, "notes": ""},
                  {"drug_code": "GN036", "dose": 5, "route": "po", "frequency": "qd", "days": 7, "quantity": None,
                   "notes": ""}],
        "overrides": [{"key": "max_daily_dose:EN001", "reason": OVERRIDE_REASON}] if override else []}
    r = api.post(f"{V1}/staff/appointments/{appt}/prescriptions", headers=doc, json=draft)
    assert r.status_code == 201, r.text
    rx = r.json()
    if override:
        assert any(f["key"] == "max_daily_dose:EN001" and f["overridden"] for f in rx["findings"]), rx["findings"]
    r = api.post(f"{V1}/staff/prescriptions/{rx['id']}/sign", headers=doc,
                 json={"password": PASSWORD, "revision": rx["revision"]})
    assert r.status_code == 200 and r.json()["status"] == "signed", r.text
    return r.json()


def finish(api: httpx.Client, doc: dict[str, str], appt: int) -> None:
    r = api.post(f"{V1}/staff/appointments/{appt}/finish", headers=doc, json=RECORD)
    assert r.status_code == 200, r.text


def staff_rx(api: httpx.Client, headers: dict[str, str], rx_id: int) -> dict[str, Any]:
    r = api.get(f"{V1}/staff/prescriptions/{rx_id}", headers=headers)
    assert r.status_code == 200, r.text
    return r.json()


def pay_for(api: httpx.Client, acc: dict[str, Any], rx_id: int) -> None:
    """The patient picks up at the nearest pharmacy and pays through the sandbox gateway."""
    r = api.get(f"{V1}/pharmacies", headers=acc["headers"])
    assert r.status_code == 200 and r.json(), r.text
    r = api.post(f"{V1}/prescriptions/{rx_id}/fulfilment", headers=acc["headers"],
                 json={"method": "pickup", "pharmacy_id": r.json()[0]["id"]})
    assert r.status_code == 200 and r.json()["status"] == "fulfilment_chosen", r.text
    r = api.post(f"{V1}/prescriptions/{rx_id}/payment", headers=acc["headers"])
    assert r.status_code in (200, 201), r.text
    r = api.post(f"{r.json()['sandbox_url']}/confirm", params={"delay_ms": 0})
    assert r.status_code == 200 and r.json()["trade_state"] == "SUCCESS", r.text


def open_pharmacist(live_server: LiveServer, controllers: Controllers, qtbot: Any, username: str
                    ) -> PharmacistWindow:
    c = controllers.new(server_url=live_server.base_url)
    window = controllers.sign_in(c, username)
    assert isinstance(window, PharmacistWindow)
    qtbot.waitUntil(lambda: window.connection.state == "live", timeout=T)
    return window


@pytest.fixture()
def desk(live_server: LiveServer, api: httpx.Client, admin: dict[str, str]) -> dict[str, Any]:
    clinic = doctor_clinic(api, admin)
    return {"clinic": clinic, "doc": login(api, clinic["username"]),
            "pharmacist": new_staff(api, admin, role="pharmacist", name="李药师")}


# --- the tests ---------------------------------------------------------------------------------------------------


def test_a_signed_prescription_appears_live_and_approving_issues_it_to_the_patient(
        live_server: LiveServer, api: httpx.Client, db_engine: Engine, desk: dict[str, Any],
        controllers: Controllers, qtbot: Any) -> None:
    w = open_pharmacist(live_server, controllers, qtbot, desk["pharmacist"])
    queue = w.queue_model
    assert w.queue_view.lbl_empty.isVisibleTo(w) or queue.rowCount() > 0

    acc, appt = consented_visit(api, db_engine, desk["clinic"], desk["doc"], name="王建国")
    rx = signed_rx(api, desk["doc"], appt, override=True)
    signed = time.monotonic()
    qtbot.waitUntil(lambda: queue.row_of(rx["id"]) is not None, timeout=T)  # the stream, no reload
    assert time.monotonic() - signed < 2.0
    qtbot.waitUntil(lambda: queue.entry_by_id(rx["id"]).complete, timeout=T)  # type: ignore[union-attr]
    entry = queue.entry_by_id(rx["id"])
    assert entry is not None and entry.patient_name == "王建国" and entry.overridden == 1
    assert entry.doctor_name == desk["clinic"]["name"]
    row = queue.row_of(rx["id"])
    assert queue.index(row, ReviewListModel.COL_FLAG).data() == OVERRIDE_FLAG  # type: ignore[arg-type]

    # the prescription in full: the override and the doctor's reason stand out
    assert w.queue_view.select(rx["id"])
    qtbot.waitUntil(lambda: w.detail.rx_id == rx["id"], timeout=T)
    body = w.detail.body.toPlainText()
    assert OVERRIDE_REASON in body and "青霉素类" in body and "E11.9" in body
    assert "盐酸二甲双胍片" in body and "苯磺酸氨氯地平片" in body
    assert w.detail.btn_approve.isVisibleTo(w) and w.detail.btn_approve.isEnabled()
    assert not w.detail.btn_dispense.isVisibleTo(w)

    # nothing for the patient before approval
    r = api.get(f"{V1}/prescriptions/{rx['id']}", headers=acc["headers"])
    assert r.status_code == 404, r.text

    w.detail.btn_approve.click()
    qtbot.waitUntil(lambda: queue.row_of(rx["id"]) is None, timeout=T)
    qtbot.waitUntil(lambda: w.done_model.row_of(rx["id"]) is not None, timeout=T)
    r = api.get(f"{V1}/prescriptions/{rx['id']}", headers=acc["headers"])
    assert r.status_code == 200 and r.json()["status"] == "issued", r.text
    assert "findings" not in r.json()
    got = staff_rx(api, desk["doc"], rx["id"])
    assert got["reviewed_by"]["name"] == "李药师" and got["approved_at"] and got["valid_until"]

    # the slip: the server's slip data through rx-slip's renderer into the print preview
    assert w.detail.can_print
    w.print_slip(rx["id"])
    qtbot.waitUntil(lambda: any(d.isVisible() for d in w.findChildren(PrintPreviewDialog)), timeout=T)
    preview = next(d for d in w.findChildren(PrintPreviewDialog) if d.isVisible())
    assert rx["no"] in preview.windowTitle()
    preview.close()
    finish(api, desk["doc"], appt)


def test_return_with_a_reason_the_doctor_reads(live_server: LiveServer, api: httpx.Client, db_engine: Engine,
                                               desk: dict[str, Any], controllers: Controllers, qtbot: Any) -> None:
    w = open_pharmacist(live_server, controllers, qtbot, desk["pharmacist"])
    _acc, appt = consented_visit(api, db_engine, desk["clinic"], desk["doc"], name="陈思")
    rx = signed_rx(api, desk["doc"], appt)
    qtbot.waitUntil(lambda: w.queue_model.row_of(rx["id"]) is not None, timeout=T)
    assert w.queue_view.select(rx["id"])
    qtbot.waitUntil(lambda: w.detail.rx_id == rx["id"], timeout=T)

    # 退回…: the dialog asks for both a category and an explanation (filled while it runs modally)
    seen: dict[str, Any] = {}

    def fill() -> None:
        dialog = next(d for d in w.findChildren(ReturnDialog) if d.isVisible())
        try:
            seen["empty_ok"] = dialog.btn_ok.isEnabled()
            dialog.select_category("diagnosis")
            seen["category_only_ok"] = dialog.btn_ok.isEnabled()
            dialog.ed_text.setPlainText("氨氯地平与2型糖尿病诊断不符，请补充高血压诊断")
            seen["reason"] = dialog.reason()
            dialog.btn_ok.click()
        finally:
            if dialog.isVisible():
                dialog.reject()

    QTimer.singleShot(300, fill)
    w.detail.btn_return.click()  # runs the dialog until fill() accepts it
    assert seen["empty_ok"] is False and seen["category_only_ok"] is False
    reason = seen["reason"]
    assert reason.endswith("氨氯地平与2型糖尿病诊断不符，请补充高血压诊断") and len(reason) <= 200

    qtbot.waitUntil(lambda: w.queue_model.row_of(rx["id"]) is None, timeout=T)
    got = staff_rx(api, desk["doc"], rx["id"])  # as the doctor
    assert got["status"] == "returned" and got["return_reason"] == reason and got["returned_at"]
    qtbot.waitUntil(lambda: w.done_model.row_of(rx["id"]) is not None, timeout=T)
    finish(api, desk["doc"], appt)


def test_a_paid_prescription_is_dispensed(live_server: LiveServer, api: httpx.Client, db_engine: Engine,
                                          desk: dict[str, Any], controllers: Controllers, qtbot: Any) -> None:
    w = open_pharmacist(live_server, controllers, qtbot, desk["pharmacist"])
    acc, appt = consented_visit(api, db_engine, desk["clinic"], desk["doc"], name="周小梅")
    rx = signed_rx(api, desk["doc"], appt)
    qtbot.waitUntil(lambda: w.queue_model.row_of(rx["id"]) is not None, timeout=T)
    w.approve(rx["id"])
    qtbot.waitUntil(lambda: w.queue_model.row_of(rx["id"]) is None, timeout=T)

    pay_for(api, acc, rx["id"])
    qtbot.waitUntil(lambda: w.dispense_model.row_of(rx["id"]) is not None, timeout=T)
    w.tabs.setCurrentWidget(w.dispense_view)
    assert w.dispense_view.select(rx["id"])
    qtbot.waitUntil(lambda: w.detail.rx_id == rx["id"] and w.detail.status == "paid", timeout=T)
    assert w.detail.btn_dispense.isVisibleTo(w) and not w.detail.btn_approve.isVisibleTo(w)
    w.detail.btn_dispense.click()
    qtbot.waitUntil(lambda: w.dispense_model.row_of(rx["id"]) is None, timeout=T)
    got = staff_rx(api, desk["doc"], rx["id"])
    assert got["status"] == "dispensed" and got["dispensed_at"]
    finish(api, desk["doc"], appt)


def test_approved_at_another_desk_disappears(live_server: LiveServer, api: httpx.Client, db_engine: Engine,
                                             admin: dict[str, str], desk: dict[str, Any], controllers: Controllers,
                                             qtbot: Any) -> None:
    w = open_pharmacist(live_server, controllers, qtbot, desk["pharmacist"])
    other = login(api, new_staff(api, admin, role="pharmacist"))
    _acc, appt = consented_visit(api, db_engine, desk["clinic"], desk["doc"], name="赵明")
    rx = signed_rx(api, desk["doc"], appt)
    qtbot.waitUntil(lambda: w.queue_model.row_of(rx["id"]) is not None, timeout=T)
    assert w.queue_view.select(rx["id"])

    r = api.post(f"{V1}/staff/prescriptions/{rx['id']}/approve", headers=other)
    assert r.status_code == 200 and r.json()["status"] == "issued", r.text
    qtbot.waitUntil(lambda: w.queue_model.row_of(rx["id"]) is None, timeout=T)
    assert w.detail.rx_id != rx["id"] or w.detail.status != "signed"
    finish(api, desk["doc"], appt)
