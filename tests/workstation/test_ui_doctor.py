"""The doctor's window against a real backend: a patient appears live after checking in, the chart fills
(attachments included), accept → notes → an ICD-10 diagnosis from the picker → finish, mark missed, the
filter and the waiting clock, the clinic stop from its dialog, and a refused action shown with its reason."""
from __future__ import annotations

import datetime as dt
from typing import Any

import httpx
import pytest
from sqlalchemy.engine import Engine

from tests.booking_helpers import appointment_row
from tests.conftest import LiveServer
from tests.workstation.ui_support import Controllers, controllers, doctor_clinic
from tests.workstation_helpers import V1, booked, checked_in, upload
from workstation.models.queue import QueueModel
from workstation.ui.doctor.clinic_stop_dialog import TZ, _to_qdatetime
from workstation.ui.doctor.image_viewer import ImageViewer
from workstation.ui.doctor.main_window import DoctorWindow

__all__ = ["controllers"]

pytestmark = pytest.mark.integration
T = 15000


def open_doctor(live_server: LiveServer, controllers: Controllers, qtbot: Any, username: str) -> DoctorWindow:
    c = controllers.new(server_url=live_server.base_url)
    c.settings.sounds = True
    window = controllers.sign_in(c, username)
    assert isinstance(window, DoctorWindow)
    qtbot.waitUntil(lambda: window.connection.state == "live", timeout=T)
    return window


def describe(api: httpx.Client, acc: dict[str, Any], appt: int, *, text: str, with_file: bool = False) -> list[int]:
    files = [upload(api, acc["headers"])["id"]] if with_file else []
    r = api.post(f"{V1}/appointments/{appt}/description", headers=acc["headers"],
                 json={"text": text, "file_ids": files})
    assert r.status_code == 200, r.text
    return files


def test_a_patient_appears_live_and_the_visit_runs_from_accept_to_finish(
        live_server: LiveServer, api: httpx.Client, admin: dict[str, str], db_engine: Engine,
        controllers: Controllers, qtbot: Any) -> None:
    clinic = doctor_clinic(api, admin)
    w = open_doctor(live_server, controllers, qtbot, clinic["username"])
    model, panel, chart = w.model, w.consult_panel, w.chart_panel
    qtbot.waitUntil(lambda: w.queue_view.lbl_empty.isVisibleTo(w), timeout=T)
    assert model.rowCount() == 0 and "还没有患者签到" in w.queue_view.lbl_empty.text()

    # the patient checks in on the phone: the row appears by itself (the event stream, no reload)
    acc, appt = checked_in(api, db_engine, clinic)
    qtbot.waitUntil(lambda: model.row_of(appt) is not None, timeout=T)
    qtbot.waitUntil(lambda: model.entry_by_id(appt).sex == "female", timeout=T)  # type: ignore[union-attr]
    row = model.row_of(appt)
    assert row is not None
    assert model.index(row, QueueModel.COL_STATUS).data() == "已签到"

    # the description with a lab report: waiting, and the banner says so (the chime rang)
    files = describe(api, acc, appt, text="空腹血糖8.5，近一周头晕。", with_file=True)
    qtbot.waitUntil(lambda: model.entry_by_id(appt).status == "waiting", timeout=T)  # type: ignore[union-attr]
    qtbot.waitUntil(lambda: w.alert.isVisibleTo(w) and "李患者" in w.alert.lbl_text.text(), timeout=T)
    assert w.alert.chime.played >= 1
    assert model.index(model.row_of(appt), QueueModel.COL_STATUS).data() == "候诊"  # type: ignore[arg-type]

    # the chart
    assert w.queue_view.select(appt)
    qtbot.waitUntil(lambda: chart.appointment_id == appt, timeout=T)
    assert chart.lbl_name.text() == "李患者" and "女" in chart.lbl_demographics.text()
    assert "*" in chart.header_fields.values["id_number"].text()
    assert chart.header_fields.values["card"].text().startswith("就诊卡 T")
    assert chart.eligibility_fields.values["department"].text() == "内分泌科"
    assert chart.eligibility_fields.values["diagnosis"].text() == "2型糖尿病"
    assert chart.lbl_description.text() == "空腹血糖8.5，近一周头晕。"
    assert chart.badge.text == "候诊"
    qtbot.waitUntil(lambda: chart.loaded_files == 1, timeout=T)
    viewer = chart.open_file(files[0])
    assert isinstance(viewer, ImageViewer) and len(viewer._images) == 1 and not viewer._images[0].image.isNull()
    viewer.btn_rotate_right.click()
    assert viewer.view.rotation == 90
    viewer.close()

    # accept: through the outbox to the server, and back through the stream
    qtbot.waitUntil(lambda: panel.appointment_id == appt, timeout=T)  # after the draft lookup
    assert panel.stack.currentWidget() is panel.page_call and panel.btn_accept.isEnabled()
    panel.btn_accept.click()
    assert panel.pending == "accept" and not panel.btn_accept.isEnabled()
    qtbot.waitUntil(lambda: panel.status == "in_consultation", timeout=T)
    assert panel.stack.currentWidget() is panel.page_visit and panel.pending is None
    qtbot.waitUntil(lambda: w.alert.quiet or not w.alert.isVisibleTo(w), timeout=T)

    # notes and diagnosis; finishing without a picked diagnosis is stopped at the form
    panel.ed_notes.setPlainText("头晕一周，空腹血糖偏高。建议调整降糖方案，两周后复查。")
    panel.ask = lambda *_a: True
    panel.btn_finish.click()
    assert "请先从 ICD-10 列表中选择诊断" in panel.lbl_error.text() and panel.pending is None
    qtbot.waitUntil(lambda: panel.icd.ready, timeout=T)
    assert panel.icd.search_now("tnb") > 0  # pinyin initials of 糖尿病
    assert panel.icd.search_now("E11") > 0
    panel.icd.pick_row(0)
    picked = panel.icd.selected()
    assert picked is not None and picked[0].startswith("E11") and "糖尿病" in picked[1]
    qtbot.waitUntil(lambda: "草稿已于" in panel.lbl_draft.text(), timeout=T)  # autosaved on this computer

    asked: list[str] = []
    panel.ask = lambda _title, text, _ok: asked.append(text) or True
    panel.btn_finish.click()
    assert asked and picked[0] in asked[0]
    qtbot.waitUntil(lambda: panel.status == "completed", timeout=T)
    assert panel.stack.currentWidget() is panel.page_done
    assert panel.lbl_done_diagnosis.text() == f"{picked[0]} {picked[1]}"
    row_after = appointment_row(db_engine, appt)
    assert row_after["status"] == "completed" and row_after["diagnosis_code"] == picked[0]
    assert "两周后复查" in row_after["notes"]
    qtbot.waitUntil(lambda: model.entry_by_id(appt).state == "finished", timeout=T)  # type: ignore[union-attr]

    # the same action again is refused by the server: the doctor reads why, in the panel and the outbox
    w._finish(appt, panel.form())
    qtbot.waitUntil(lambda: "请勿重复操作" in panel.lbl_error.text(), timeout=T)
    qtbot.waitUntil(lambda: w.outbox_indicator.failed == 1, timeout=T)
    assert w.outbox_indicator.text() == "发送失败 1 项，点击查看原因"
    dialog = w.open_outbox()
    assert dialog is not None
    qtbot.waitUntil(lambda: dialog.tree.topLevelItemCount() == 1, timeout=T)
    item = dialog.tree.topLevelItem(0)
    assert item.text(1) == "结束就诊" and item.text(2) == "李患者" and item.text(3) == "失败"
    assert "请勿重复操作" in item.text(5)
    dialog.tree.setCurrentItem(item)
    assert dialog.btn_dismiss.isEnabled()
    dialog.btn_dismiss.click()
    qtbot.waitUntil(lambda: dialog.tree.topLevelItemCount() == 0, timeout=T)
    qtbot.waitUntil(lambda: w.outbox_indicator.failed == 0, timeout=T)
    dialog.close()


def test_filter_waiting_clock_and_mark_missed(live_server: LiveServer, api: httpx.Client, admin: dict[str, str],
                                              db_engine: Engine, controllers: Controllers, qtbot: Any) -> None:
    clinic = doctor_clinic(api, admin)
    acc1, a1 = checked_in(api, db_engine, clinic, name="张三")
    describe(api, acc1, a1, text="复查")
    acc2, a2 = checked_in(api, db_engine, clinic, name="王五")
    describe(api, acc2, a2, text="复查")
    w = open_doctor(live_server, controllers, qtbot, clinic["username"])
    model, view = w.model, w.queue_view
    qtbot.waitUntil(lambda: model.rowCount() == 2, timeout=T)  # the snapshot at sign-in
    qtbot.waitUntil(lambda: "候诊 2 人" in view.lbl_counts.text(), timeout=T)

    view.ed_filter.setText("zs")  # pinyin initials of 张三
    assert view.proxy.rowCount() == 1 and view.proxy.entry(0).patient_name == "张三"
    view.ed_filter.setText("没有这个人")
    assert view.proxy.rowCount() == 0 and "没有与“没有这个人”匹配的患者" in view.lbl_empty.text()
    view.ed_filter.clear()

    # the 30-second clock redraws the waiting column only: never a reset (the selection stays)
    assert view.select(a2)
    with qtbot.assertNotEmitted(model.modelReset), qtbot.waitSignal(model.dataChanged) as changed:
        view.clock.timeout.emit()
    assert {changed.args[0].column(), changed.args[1].column()} == {QueueModel.COL_WAITING}
    assert view.selected_id() == a2
    assert view.table.isColumnHidden(QueueModel.COL_DEPARTMENT)

    # 王五 does not answer: marked missed, with the reason chosen in the dialog
    qtbot.waitUntil(lambda: w.consult_panel.appointment_id == a2, timeout=T)
    reasons: list[str] = []
    w.consult_panel.ask_missed_reason = lambda name: reasons.append(name) or "呼叫三次未应答"
    w.consult_panel.btn_missed.click()
    assert reasons == ["王五"]
    qtbot.waitUntil(lambda: model.entry_by_id(a2).status == "missed", timeout=T)  # type: ignore[union-attr]
    qtbot.waitUntil(lambda: w.consult_panel.status == "missed", timeout=T)
    assert appointment_row(db_engine, a2)["end_reason"] == "呼叫三次未应答"
    assert "已标记为未到" in w.consult_panel.lbl_status.text()


def test_clinic_stop_from_its_dialog_reaches_the_server(live_server: LiveServer, api: httpx.Client,
                                                        admin: dict[str, str], db_engine: Engine,
                                                        controllers: Controllers, qtbot: Any) -> None:
    clinic = doctor_clinic(api, admin)
    w = open_doctor(live_server, controllers, qtbot, clinic["username"])
    assert [a.text() for a in w.menu_clinic.actions() if a.text()][-1] == "停诊(&S)…"
    booked(api, db_engine, clinic)  # one paid patient in the session starting in a few minutes
    dialog = w.clinic_stop_dialog()
    qtbot.addWidget(dialog)
    # the dialog asks the server (GET /staff/clinic-stops/preview) how many booked patients the period holds
    t = dt.datetime.now(TZ)
    dialog.ed_start.setDateTime(_to_qdatetime(t - dt.timedelta(minutes=1)))
    dialog.ed_end.setDateTime(_to_qdatetime(t + dt.timedelta(hours=2)))
    qtbot.waitUntil(lambda: dialog.lbl_affected.text() == "该时段内有 1 位已预约患者，停诊后将取消预约并退费。",
                    timeout=T)
    assert "1 位已预约患者" in dialog.confirmation_text()
    dialog.btn_tomorrow.click()
    qtbot.waitUntil(lambda: dialog.lbl_affected.text() == "该时段内没有已预约的患者。", timeout=T)
    dialog.ed_reason.setPlainText("外出参加学术会议")
    request = dialog.request()
    assert request.ends_at > request.starts_at and request.reason == "公务外出：外出参加学术会议"
    payload = request.as_payload()
    assert payload["starts_at"].endswith("+08:00") and set(payload) == {"starts_at", "ends_at", "reason"}
    assert "停诊" in dialog.confirmation_text()
    with qtbot.waitSignal(w.hub.sig_outbox_item, timeout=T,
                          check_params_cb=lambda item: item.kind == "clinic_stop") as sent:
        w.submit_clinic_stop(dialog)
    assert sent.args[0].state == "sent", sent.args[0].last_error
    stops = api.get(f"{V1}/staff/clinic-stops", headers=admin, params={"doctor_id": clinic["id"]}).json()
    assert stops and stops[0]["reason"] == "公务外出：外出参加学术会议"
    assert stops[0]["starts_at"] == request.starts_at.isoformat()
