"""The refund clerk's window against a real backend: a patient's application appears in the queue live and is
approved (the order then shows 已退费 once the sandbox gateway settles) or rejected with a preset reason and a
text; orders are found by mobile, ID number and appointment number; a window refund and a drug-fee refund are
made from the search, and a double click never refunds twice; a refund the gateway refuses lands on the
exception list live and is sent again; the day's reconciliation shows the totals and exports the CSV; the refund
receipt opens in the print preview.

Everything is arranged through the real APIs (admin makes the staff and schedules, the patient books, pays
through the sandbox gateway and applies; the doctor calls, the patient consents, the doctor prescribes, the
pharmacist approves); only what no route can do is arranged in the database: patients with known HIS visits,
and moving an appointment into the past.
"""
from __future__ import annotations

import csv
import datetime as dt
import io
import secrets
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from PySide6.QtCore import QCoreApplication, QTimer
from PySide6.QtWidgets import QApplication
from sqlalchemy.engine import Engine

from tests.booking_helpers import (
    accept_notice,
    book,
    db_account,
    db_patient,
    db_visit,
    id_digest,
    make_doctor,
    make_schedule,
    move_appointment,
    new_card,
    now,
    soon_start,
    wait_for,
)
from tests.conftest import LiveServer
from tests.workstation.test_ui_pharmacist import consented_visit, finish, login, pay_for, signed_rx
from tests.workstation.ui_support import Controllers, controllers, doctor_clinic, new_staff
from tests.workstation_helpers import V1, new_key
from workstation.models.money import yuan, yuan_text
from workstation.services.refund_export import HEADERS
from workstation.ui.clerk import TAB_EXCEPTIONS, TAB_RECONCILIATION, TAB_SEARCH, ClerkWindow
from workstation.ui.print_preview import PrintPreviewDialog
from workstation.ui.refunds.dialogs import ConfirmDialog, RefundReasonDialog, RejectDialog

__all__ = ["controllers"]

pytestmark = pytest.mark.integration
T = 15000
ID_NUMBER = "11010519491231002X"
CLERK_NAME = "李收费"


# --- arranging through the real APIs ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def clerk(live_server: LiveServer, admin: dict[str, str]) -> dict[str, Any]:
    """A clerk of this module's own (the window signs in as them; the tests read refunds with their token)."""
    with live_server.client() as api:
        username = new_staff(api, admin, role="clerk", name=CLERK_NAME)
        return {"username": username, "headers": login(api, username)}


def clinic(api: httpx.Client, admin: dict[str, str], *, start: dt.datetime | None = None,
           capacity: int = 4) -> dict[str, Any]:
    """A doctor of the test's own with a 30-minute session (soon, unless ``start``)."""
    doc = make_doctor(api, admin, department_code="endocrinology", name=f"医生{secrets.token_hex(2)}")
    schedule = make_schedule(api, admin, doctor_id=doc["id"], start=start or soon_start(), minutes=30,
                             slot_minutes=15, capacity=capacity)
    return {"id": doc["id"], "name": doc["name"], "slots": [s["id"] for s in schedule["slots"]]}


def paid_booking(api: httpx.Client, db_engine: Engine, live_server: LiveServer, where: dict[str, Any], *,
                 name: str, slot: int = 0, id_number: str | None = None) -> dict[str, Any]:
    """A patient (with a HIS visit, so eligible) books and pays through the sandbox gateway."""
    acc = db_account(db_engine)
    notice = accept_notice(api, acc["headers"])
    card = new_card()
    db_visit(db_engine, department_code="endocrinology", days_ago=30, name=name, card_no=card)
    patient = db_patient(db_engine, acc["account_id"], name=name, card_no=card,
                         digest=id_digest(live_server, id_number) if id_number else None)
    r = book(api, acc["headers"], patient_id=patient, slot_id=where["slots"][slot], notice_version=notice)
    assert r.status_code == 201, r.text
    appt = r.json()
    r = api.post(f"{V1}/appointments/{appt['id']}/payment", headers={**acc["headers"], "Idempotency-Key": new_key()})
    assert r.status_code in (200, 201), r.text
    pay = r.json()
    r = api.post(f"{V1}/sandbox/pay/{pay['prepay_id']}/confirm", params={"delay_ms": 0})
    assert r.status_code == 200, r.text
    wait_for(lambda: patient_view(api, acc, appt["id"])["status"] == "booked", what="the booking to be paid")
    return {"acc": acc, "id": appt["id"], "number": appt["number"], "out_trade_no": pay["out_trade_no"],
            "mobile": acc["mobile"], "name": name, "fee": pay["amount_fen"]}


def patient_view(api: httpx.Client, acc: dict[str, Any], appointment_id: int) -> dict[str, Any]:
    r = api.get(f"{V1}/appointments/{appointment_id}", headers=acc["headers"])
    assert r.status_code == 200, r.text
    return r.json()


def apply_for_refund(api: httpx.Client, db_engine: Engine, booking: dict[str, Any], reason: str) -> None:
    """The visit's time has passed without a call; the patient applies for the fee back."""
    move_appointment(db_engine, booking["id"], starts_at=now() - dt.timedelta(hours=2))
    r = api.post(f"{V1}/appointments/{booking['id']}/refund-application",
                 headers={**booking["acc"]["headers"], "Idempotency-Key": new_key()}, json={"reason": reason})
    assert r.status_code == 201 and r.json()["refund_status"] == "reviewing", r.text


def refunds_of(api: httpx.Client, clerk: dict[str, Any], **params: Any) -> list[dict[str, Any]]:
    r = api.get(f"{V1}/staff/refunds", headers=clerk["headers"], params=params)
    assert r.status_code == 200, r.text
    return r.json()


def plan(api: httpx.Client, out_trade_no: str, outcomes: list[str]) -> None:
    r = api.post(f"{V1}/sandbox/refund-plan", json={"out_trade_no": out_trade_no, "outcomes": outcomes})
    assert r.status_code == 200, r.text


# --- driving the window ---------------------------------------------------------------------------------------------


def open_clerk(live_server: LiveServer, controllers: Controllers, qtbot: Any, username: str) -> ClerkWindow:
    c = controllers.new(server_url=live_server.base_url)
    window = controllers.sign_in(c, username)
    assert isinstance(window, ClerkWindow)
    qtbot.waitUntil(lambda: window.connection.state == "live", timeout=T)
    qtbot.waitUntil(lambda: bool(window.reject_reasons), timeout=T)
    return window


def visible(cls: type) -> Any:
    return next((w for w in QApplication.topLevelWidgets() if isinstance(w, cls) and w.isVisible()), None)


def while_modal(cls: type, act: Callable[[Any], None], seen: dict[str, Any]) -> None:
    """Run ``act`` on the dialog of ``cls`` once it is up (it runs modally; the test's click waits for it)."""
    def go() -> None:
        dialog = visible(cls)
        if dialog is None:
            QTimer.singleShot(50, go)
            return
        try:
            act(dialog)
        except Exception as exc:  # noqa: BLE001 - reported by the test, not lost in the event loop
            seen["error"] = exc
        finally:
            if dialog.isVisible():
                dialog.reject()
        seen["done"] = True

    QTimer.singleShot(50, go)


def confirm_yes(seen: dict[str, Any]) -> None:
    def act(d: ConfirmDialog) -> None:
        seen["text"] = d.text() + "\n" + d.informativeText()
        seen["yes"] = d.btn_yes.text()
        d.btn_yes.click()

    while_modal(ConfirmDialog, act, seen)


def search(w: ClerkWindow, qtbot: Any, query: str) -> list[dict[str, Any]]:
    w.tabs.setCurrentIndex(TAB_SEARCH)
    with qtbot.waitSignal(w.search_page.sig_searched, timeout=T):
        w.search_page.ed_query.setText(query)
        w.search_page.btn_search.click()
    return w.search_page.model.rows()


def order_row(w: ClerkWindow, appointment_id: int, kind: str = "consultation") -> dict[str, Any] | None:
    return next((r for r in w.search_page.model.rows()
                 if r["appointment_id"] == appointment_id and r["kind"] == kind), None)


# --- the tests ---------------------------------------------------------------------------------------------------


def test_an_application_appears_live_and_is_approved_or_rejected(
        live_server: LiveServer, api: httpx.Client, db_engine: Engine, admin: dict[str, str],
        clerk: dict[str, Any], controllers: Controllers, qtbot: Any) -> None:
    where = clinic(api, admin)
    first = paid_booking(api, db_engine, live_server, where, name="王建国")
    second = paid_booking(api, db_engine, live_server, where, name="陈思", slot=1)
    third = paid_booking(api, db_engine, live_server, where, name="赵敏")
    w = open_clerk(live_server, controllers, qtbot, clerk["username"])
    queue = w.applications_model

    # the patients apply: each appears in the queue by the stream, no reload, with the reason
    apply_for_refund(api, db_engine, first, "临时出差未能参加视频问诊，申请退还诊费")
    applied = time.monotonic()
    qtbot.waitUntil(lambda: any(e.appointment_id == first["id"] for e in queue.entries()), timeout=T)
    assert time.monotonic() - applied < 3.0
    apply_for_refund(api, db_engine, second, "孩子发烧去了急诊")
    qtbot.waitUntil(lambda: any(e.appointment_id == second["id"] and e.complete for e in queue.entries()),
                    timeout=T)
    a = next(e for e in queue.entries() if e.appointment_id == first["id"])
    b = next(e for e in queue.entries() if e.appointment_id == second["id"])
    qtbot.waitUntil(lambda: a.complete, timeout=T)
    assert a.patient_name == "王建国" and a.reason == "临时出差未能参加视频问诊，申请退还诊费"
    assert a.amount_fen == first["fee"] and a.doctor_name == where["name"]
    assert queue.row_of(a.refund_id) < queue.row_of(b.refund_id)  # type: ignore[operator]  # oldest first
    assert w.tabs.tabText(0).endswith((f"({queue.rowCount()})", f"（{queue.rowCount()}）"))  # en / zh_CN brackets

    # approve: the confirmation names the money; the row leaves; the next one is shown
    assert w.applications_view.select(a.refund_id)
    qtbot.waitUntil(lambda: w.application_detail.refund_id == a.refund_id, timeout=T)
    assert "临时出差" in w.application_detail.lbl_note.text()
    assert w.application_detail.btn_approve.isEnabled()
    seen: dict[str, Any] = {}
    confirm_yes(seen)
    w.application_detail.btn_approve.click()
    assert "error" not in seen and seen.get("done"), seen
    assert yuan(first["fee"]) in seen["yes"] and yuan(first["fee"]) in seen["text"]
    qtbot.waitUntil(lambda: queue.row_of(a.refund_id) is None, timeout=T)
    got = refunds_of(api, clerk, appointment_id=first["id"])[0]
    assert got["status"] in ("processing", "refunded") and got["reviewer_name"] == CLERK_NAME

    # the order shows 已退费 once the sandbox settles, without a click
    rows = search(w, qtbot, first["number"])
    assert [r["appointment_id"] for r in rows] == [first["id"]]
    qtbot.waitUntil(lambda: (order_row(w, first["id"]) or {}).get("refund_status") == "refunded", timeout=T)
    qtbot.waitUntil(lambda: w.search_page.detail.refunds_model.rowCount() == 1
                    and w.search_page.detail.refunds_model.row_at(0)["status"] == "refunded", timeout=T)
    assert patient_view(api, first["acc"], first["id"])["refund_status"] == "refunded"

    # reject the other with a preset reason and a text (the text is required for "other")
    w.tabs.setCurrentIndex(0)
    assert w.applications_view.select(b.refund_id)
    qtbot.waitUntil(lambda: w.application_detail.refund_id == b.refund_id, timeout=T)
    seen = {}

    def fill(d: RejectDialog) -> None:
        seen["codes"] = [d.combo.itemData(i) for i in range(d.combo.count())]
        seen["empty_ok"] = d.btn_ok.isEnabled()
        d.select_reason("other")
        seen["other_without_text_ok"] = d.btn_ok.isEnabled()
        d.ed_text.setPlainText("医生已于就诊时间内多次呼叫，患者未接听")
        seen["label"] = d.reason_label()
        d.btn_ok.click()

    while_modal(RejectDialog, fill, seen)
    w.application_detail.btn_reject.click()
    assert "error" not in seen and seen.get("done"), seen
    assert {"consulted", "insufficient", "policy", "duplicate", "other"} <= set(seen["codes"])
    assert seen["empty_ok"] is False and seen["other_without_text_ok"] is False
    qtbot.waitUntil(lambda: queue.row_of(b.refund_id) is None, timeout=T)
    got = refunds_of(api, clerk, appointment_id=second["id"])[0]
    assert got["status"] == "rejected"
    assert got["reject_reason"] == f"{seen['label']}：医生已于就诊时间内多次呼叫，患者未接听"
    seen_by_patient = patient_view(api, second["acc"], second["id"])
    assert seen_by_patient["refund_status"] == "rejected" and "多次呼叫" in seen_by_patient["refund_note"]

    # a patient under review comes to the window: the window refund approves the application (its amount is held)
    apply_for_refund(api, db_engine, third, "到医院窗口当面申请退费")
    qtbot.waitUntil(lambda: any(e.appointment_id == third["id"] for e in queue.entries()), timeout=T)
    search(w, qtbot, third["number"])
    row = order_row(w, third["id"])
    assert row is not None and row["refund_status"] == "reviewing" and "window_refund" in row["actions"]
    seen = {}

    def window(d: RefundReasonDialog) -> None:
        seen["amount"] = d.amount_fen
        d.set_reason("患者到窗口办理")
        d.btn_ok.click()

    while_modal(RefundReasonDialog, window, seen)
    w.search_page.detail.btn_window.click()
    assert "error" not in seen and seen.get("done") and seen["amount"] == third["fee"], seen
    qtbot.waitUntil(lambda: not any(e.appointment_id == third["id"] for e in queue.entries()), timeout=T)
    got = refunds_of(api, clerk, appointment_id=third["id"])
    assert len(got) == 1 and got[0]["path"] == "application" and got[0]["status"] in ("processing", "refunded")


def test_search_and_a_window_refund_that_a_double_click_cannot_repeat(
        live_server: LiveServer, api: httpx.Client, db_engine: Engine, admin: dict[str, str],
        clerk: dict[str, Any], controllers: Controllers, qtbot: Any, tmp_path: Path) -> None:
    where = clinic(api, admin)
    b = paid_booking(api, db_engine, live_server, where, name=f"周{secrets.token_hex(2)}梅", id_number=ID_NUMBER)
    w = open_clerk(live_server, controllers, qtbot, clerk["username"])

    # by mobile, by ID number, by appointment number, by name
    for query in (b["mobile"], ID_NUMBER, b["number"], b["name"]):
        rows = search(w, qtbot, query)
        assert b["id"] in [r["appointment_id"] for r in rows], query
    w.search_page.ed_query.setText("  ")  # nothing typed: said, not sent
    w.search_page.btn_search.click()
    assert w.search_page.lbl_error.isVisibleTo(w)
    search(w, qtbot, b["number"])
    row = order_row(w, b["id"])
    assert row is not None and row["refundable_fen"] == b["fee"] and "window_refund" in row["actions"]
    qtbot.waitUntil(lambda: w.search_page.detail.key is not None, timeout=T)
    detail = w.search_page.detail
    assert detail.btn_window.isVisibleTo(w) and detail.btn_window.isEnabled()

    # 窗口退费…: a reason is required; the dialog says what happens and shows the amount on its button
    seen: dict[str, Any] = {}

    def fill(d: RefundReasonDialog) -> None:
        seen["empty_ok"] = d.btn_ok.isEnabled()
        seen["effects"] = d.effects()
        d.set_reason("患者到窗口要求退号")
        seen["button"] = d.btn_ok.text()
        d.btn_ok.click()

    while_modal(RefundReasonDialog, fill, seen)
    detail.btn_window.click()
    assert "error" not in seen and seen.get("done"), seen
    assert seen["empty_ok"] is False and yuan(b["fee"]) in seen["button"]
    released = QCoreApplication.translate(
        "RefundReasonDialog", "The appointment is cancelled and its place goes back to the schedule for other patients.")
    assert released in seen["effects"]  # the time is still ahead: the dialog said the place is released
    # a second click while it is on its way does nothing
    assert w.is_acting(f"appointment:{b['id']}") and not detail.btn_window.isEnabled()
    w.order_refund("window", row, "重复点击")
    qtbot.waitUntil(lambda: (order_row(w, b["id"]) or {}).get("refund_status") == "refunded", timeout=T)
    refunds = refunds_of(api, clerk, appointment_id=b["id"])
    assert len(refunds) == 1 and refunds[0]["path"] == "window" and refunds[0]["amount_fen"] == b["fee"]
    assert refunds[0]["reason"] == "患者到窗口要求退号" and refunds[0]["reviewer_name"] == CLERK_NAME
    assert patient_view(api, b["acc"], b["id"])["status"] == "cancelled"
    assert not w.search_page.detail.btn_window.isEnabled()  # nothing left to refund
    # and the stored action sent again with its idempotency key (a lost answer, a restart) counts once
    store = w.session.store
    assert store is not None
    sent = [i for i in store.outbox_items(states=("sent",)) if i.kind == "window_refund"
            and i.path.endswith(f"/appointments/{b['id']}/window-refund")]
    assert len(sent) == 1
    replay = w.session.api.send(sent[0].request, key=sent[0].idempotency_key)
    assert replay["id"] == refunds[0]["id"]
    assert len(refunds_of(api, clerk, appointment_id=b["id"])) == 1
    # the outbox names the patient the window refund was for
    assert w.patient_of_action(sent[0]) == b["name"]
    dialog = w.open_outbox()
    assert dialog is not None
    dialog._loaded([sent[0]])  # as it lists a pending or failed one (a sent one is not listed)
    assert dialog.tree.topLevelItem(0).text(2) == b["name"]
    dialog.close()

    # the receipt of the refund opens in the print preview, with the hospital's name from the server
    assert w.printing is not None and w.hospital_name()
    qtbot.waitUntil(lambda: w.search_page.detail.selected_refund() is not None, timeout=T)
    assert w.search_page.detail.btn_print.isEnabled()
    w.search_page.detail.btn_print.click()
    qtbot.waitUntil(lambda: visible(PrintPreviewDialog) is not None, timeout=T)
    preview = visible(PrintPreviewDialog)
    assert refunds[0]["out_refund_no"] in preview.windowTitle()
    qtbot.waitUntil(lambda: preview.page_total == 1, timeout=T)
    preview.close()


def test_a_drug_fee_refund_from_the_search(live_server: LiveServer, api: httpx.Client, db_engine: Engine,
                                           admin: dict[str, str], clerk: dict[str, Any],
                                           controllers: Controllers, qtbot: Any) -> None:
    c = doctor_clinic(api, admin)
    doc = login(api, c["username"])
    acc, appt = consented_visit(api, db_engine, c, doc, name=f"赵{secrets.token_hex(2)}")
    rx = signed_rx(api, doc, appt)
    pharmacist = login(api, new_staff(api, admin, role="pharmacist"))
    r = api.post(f"{V1}/staff/prescriptions/{rx['id']}/approve", headers=pharmacist)
    assert r.status_code == 200, r.text
    finish(api, doc, appt)
    pay_for(api, acc, rx["id"])
    w = open_clerk(live_server, controllers, qtbot, clerk["username"])

    rows = search(w, qtbot, acc["mobile"])
    drug = order_row(w, appt, "drug")
    assert drug is not None and drug["prescription_id"] == rx["id"] and "drug_refund" in drug["actions"]
    assert w.search_page.results.select(f"drug:{appt}:{rx['id']}")
    detail = w.search_page.detail
    qtbot.waitUntil(lambda: detail.key == f"drug:{appt}:{rx['id']}", timeout=T)
    assert detail.btn_drug.isVisibleTo(w) and detail.btn_drug.isEnabled() and not detail.btn_window.isVisibleTo(w)
    seen: dict[str, Any] = {}

    def fill(d: RefundReasonDialog) -> None:
        seen["effects"] = d.lbl_effects.text()
        d.set_reason(d.presets()[0])
        d.btn_ok.click()

    while_modal(RefundReasonDialog, fill, seen)
    detail.btn_drug.click()
    assert "error" not in seen and seen.get("done"), seen
    qtbot.waitUntil(lambda: (order_row(w, appt, "drug") or {}).get("refund_status") == "refunded", timeout=T)
    refunds = refunds_of(api, clerk, prescription_id=rx["id"])
    assert len(refunds) == 1 and refunds[0]["path"] == "drug" and refunds[0]["amount_fen"] == drug["paid_fen"]
    r = api.get(f"{V1}/staff/prescriptions/{rx['id']}", headers=doc)
    assert r.json()["status"] == "refunded"
    assert len(rows) >= 2  # the visit and its drug fee


def test_an_exception_is_sent_again_and_the_day_reconciles(
        live_server: LiveServer, api: httpx.Client, db_engine: Engine, admin: dict[str, str],
        clerk: dict[str, Any], controllers: Controllers, qtbot: Any, tmp_path: Path) -> None:
    where = clinic(api, admin)
    b = paid_booking(api, db_engine, live_server, where, name=f"孙{secrets.token_hex(2)}")
    plan(api, b["out_trade_no"], ["ABNORMAL"])
    w = open_clerk(live_server, controllers, qtbot, clerk["username"])
    exceptions = w.exceptions_model

    # another desk refunds at the window; the gateway refuses: the refund appears here live
    r = api.post(f"{V1}/staff/appointments/{b['id']}/window-refund",
                 headers={**clerk["headers"], "Idempotency-Key": new_key()}, json={"reason": "患者要求退号"})
    assert r.status_code == 201, r.text
    refund_id = r.json()["id"]
    qtbot.waitUntil(lambda: exceptions.row_of(refund_id) is not None, timeout=T)
    qtbot.waitUntil(lambda: exceptions.entry_by_id(refund_id).complete, timeout=T)  # type: ignore[union-attr]
    w.tabs.setCurrentIndex(TAB_EXCEPTIONS)
    assert w.exceptions_view.select(refund_id)
    qtbot.waitUntil(lambda: w.exception_detail.refund_id == refund_id, timeout=T)
    assert w.exception_detail.btn_retry.isVisibleTo(w) and w.exception_detail.btn_retry.isEnabled()
    assert not w.exception_detail.btn_approve.isVisibleTo(w)

    # 重新发起: the same refund number, and this time the gateway pays
    seen: dict[str, Any] = {}
    confirm_yes(seen)
    w.exception_detail.btn_retry.click()
    assert "error" not in seen and seen.get("done"), seen
    assert r.json()["out_refund_no"] in seen["text"]
    qtbot.waitUntil(lambda: exceptions.row_of(refund_id) is None, timeout=T)
    wait_for(lambda: refunds_of(api, clerk, appointment_id=b["id"])[0]["status"] == "refunded",
             what="the refund sent again to be refunded")
    again = refunds_of(api, clerk, appointment_id=b["id"])
    assert len(again) == 1 and again[0]["out_refund_no"] == r.json()["out_refund_no"]
    # a refund that needs nothing more: the server's refusal reaches the clerk in its own (Chinese) words
    qtbot.waitUntil(lambda: not w.is_acting(f"refund:{refund_id}"), timeout=T)  # the first retry's answer is in
    refused: list[Any] = []
    w.hub.sig_outbox_item.connect(lambda item: refused.append(item) if item.state == "failed" else None)
    w.retry(refund_id)
    qtbot.waitUntil(lambda: bool(refused), timeout=T)
    assert refused[0].kind == "refund_retry" and any("\u4e00" <= ch <= "\u9fff" for ch in refused[0].last_error)
    qtbot.waitUntil(lambda: refused[0].last_error in w.statusBar().currentMessage(), timeout=T)
    assert not w.is_acting(f"refund:{refund_id}")

    # 对账: today's payments and refunds with their totals, and the CSV read back
    w.tabs.setCurrentIndex(TAB_RECONCILIATION)
    page = w.reconciliation_page
    with qtbot.waitSignal(page.sig_loaded, timeout=T):
        page.go_today()
    data = page.data
    assert data is not None
    qtbot.waitUntil(lambda: any(x["id"] == refund_id and x["status"] == "refunded"
                                for x in (page.data or {}).get("refunds", [])), timeout=T)
    data = page.data
    totals = data["totals"]
    assert any(p["out_trade_no"] == b["out_trade_no"] for p in data["payments"])
    assert totals["net_fen"] == totals["paid_fen"] - totals["refunded_fen"]
    assert page.figures["net"].amount.text() == yuan(totals["net_fen"])
    assert page.payments_model.rowCount() == len(data["payments"])
    written = page.export_to(str(tmp_path / "对账"))
    assert written is not None and written.name == "对账.csv"
    raw = written.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    table = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    assert table[0] == list(HEADERS)
    h = {name: i for i, name in enumerate(HEADERS)}
    mine = [row for row in table if row[h["退款单号"]] == r.json()["out_refund_no"]]
    assert len(mine) == 1 and mine[0][h["类别"]] == "退款" and mine[0][h["退费方式"]] == "窗口退费"
    assert mine[0][h["退款金额(元)"]] == yuan_text(b["fee"]) and mine[0][h["经办人"]] == CLERK_NAME
    paid = [row for row in table if row[h["商户订单号"]] == b["out_trade_no"] and row[h["类别"]] == "收款"]
    assert len(paid) == 1 and paid[0][h["状态"]] == "已全额退款"
    net = next(row for row in table if row[0] == "合计" and row[1] == "净收款")
    assert net[h["收款金额(元)"]] == yuan_text(totals["net_fen"])


@pytest.fixture(autouse=True)
def _no_leftover_dialogs() -> Iterator[None]:
    yield
    for widget in QApplication.topLevelWidgets():
        if isinstance(widget, (ConfirmDialog, RejectDialog, RefundReasonDialog)) and widget.isVisible():
            widget.reject()
