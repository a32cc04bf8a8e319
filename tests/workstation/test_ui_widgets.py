"""Widgets on their own (no server needed): the image and PDF viewers, the waiting alert, the ICD-10 picker,
the settings and clinic-stop dialogs, the label grid that never cuts a value, and live language switching."""
from __future__ import annotations

import datetime as dt
import io
from collections.abc import Iterator
from typing import Any

import pytest
from PIL import Image, ImageDraw
from PySide6.QtGui import QColor, QImage

from workstation.models.icd10 import default_catalog
from workstation.ui import theme
from workstation.ui.alerts import Chime, WaitingAlert, chime_wav
from workstation.ui.doctor.clinic_stop_dialog import TZ, ClinicStopDialog
from workstation.ui.doctor.consult_panel import ConsultPanel
from workstation.ui.doctor.icd_picker import IcdPicker
from workstation.ui.doctor.image_viewer import ImageViewer, ViewerImage
from workstation.ui.doctor.pdf_viewer import PdfViewer
from workstation.ui.i18n import install_language
from workstation.ui.settings_dialog import SettingsDialog, SettingsValues, valid_server_url
from workstation.ui.signin import SignInDialog
from workstation.ui.widgets import FieldGrid

pytestmark = pytest.mark.db_independent


@pytest.fixture(autouse=True)
def _zh(qapp: Any) -> Iterator[None]:
    theme.apply_theme(qapp)
    install_language("zh_CN")
    yield
    install_language("zh_CN")


def pdf_bytes(pages: int = 3) -> bytes:
    images = []
    for i in range(pages):
        img = Image.new("RGB", (595, 842), "white")
        ImageDraw.Draw(img).rectangle((50, 50 + i * 40, 300, 120 + i * 40), fill=(40, 90, 160))
        images.append(img)
    buf = io.BytesIO()
    images[0].save(buf, "PDF", save_all=True, append_images=images[1:])
    return buf.getvalue()


def test_pdf_viewer_renders_every_page_and_navigates(qtbot: Any) -> None:
    viewer = PdfViewer(pdf_bytes(3), title="李患者 · PDF 文件 1")
    qtbot.addWidget(viewer)
    viewer.resize(900, 700)
    viewer.show()
    qtbot.waitUntil(lambda: viewer.page_total == 3 and viewer.rendered_pages == 3, timeout=10000)
    assert viewer.lbl_status.text() == "" and "共 3 页" in viewer.lbl_page.text()
    assert viewer.windowTitle() == "PDF 查看 — 李患者 · PDF 文件 1"
    viewer.go_to_page(2)
    assert viewer.current_page() == 2 and viewer.lbl_page.text() == "第 3 页，共 3 页"
    before = viewer.view.zoom
    viewer.btn_zoom_in.click()
    assert viewer.view.zoom > before and viewer.lbl_zoom.text().endswith("%")
    viewer.btn_rotate_right.click()
    assert viewer.view.rotation == 90


def test_pdf_viewer_says_when_a_file_is_not_a_pdf(qtbot: Any) -> None:
    viewer = PdfViewer(b"%PDF-1.4 broken", title="x")
    qtbot.addWidget(viewer)
    qtbot.waitUntil(lambda: viewer.lbl_status.text() == "无法打开此 PDF 文件。", timeout=10000)


def test_image_viewer_zooms_rotates_and_pages(qtbot: Any) -> None:
    images = []
    for color in ("#c00", "#0c0"):
        img = QImage(400, 300, QImage.Format.Format_RGB32)
        img.fill(QColor(color))
        images.append(ViewerImage(f"图片 {len(images) + 1}", img))
    viewer = ImageViewer(images, index=1)
    qtbot.addWidget(viewer)
    viewer.show()
    assert viewer.lbl_position.text() == "第 2 张，共 2 张" and viewer.windowTitle() == "图片查看 — 图片 2"
    fitted = viewer.view.zoom
    viewer.btn_zoom_in.click()
    viewer.btn_zoom_in.click()
    assert viewer.view.zoom == pytest.approx(fitted * 1.25 * 1.25)
    viewer.btn_actual.click()
    assert viewer.view.zoom == 1.0 and viewer.lbl_zoom.text() == "100%"
    viewer.btn_rotate_left.click()
    assert viewer.view.rotation == 270
    viewer.btn_next.click()
    assert viewer.lbl_position.text() == "第 1 张，共 2 张"


def test_waiting_alert_rings_for_new_patients_but_not_during_a_consultation(qtbot: Any) -> None:
    sounds = {"on": True}
    alert = WaitingAlert(sounds_enabled=lambda: sounds["on"])
    qtbot.addWidget(alert)
    assert alert.update_waiting([(1, "张三")], in_consultation=False) == []  # not primed: the queue is loading
    alert.prime([(1, "张三")])
    assert alert.update_waiting([(1, "张三")], in_consultation=False) == [] and alert.chime.played == 0
    assert alert.update_waiting([(1, "张三"), (2, "李四")], in_consultation=False) == [2]
    assert alert.chime.played == 1 and "有 2 位患者正在候诊，最新：李四" == alert.lbl_text.text()
    assert alert.update_waiting([(1, "张三"), (2, "李四"), (3, "王五")], in_consultation=True) == [3]
    assert alert.chime.played == 1 and alert.quiet and alert.lbl_note.isVisibleTo(alert)
    sounds["on"] = False
    alert.update_waiting([(1, "张三"), (4, "赵六")], in_consultation=False)
    assert alert.chime.played == 1  # sounds off in settings
    alert.update_waiting([], in_consultation=False)
    assert not alert.isVisibleTo(alert.parentWidget() or alert)
    shown: list[int] = []
    alert.sig_show_requested.connect(shown.append)
    alert.update_waiting([(5, "钱七")], in_consultation=False)
    alert.btn_show.click()
    assert shown == [5]


def test_the_chime_is_a_short_wav_and_falls_back_to_a_beep(qapp: Any) -> None:
    data = chime_wav()
    assert data[:4] == b"RIFF" and data[8:12] == b"WAVE" and 10_000 < len(data) < 40_000
    chime = Chime()
    chime.play()
    assert chime.played == 1  # QtMultimedia when installed, else QApplication.beep()


def test_icd_picker_finds_by_code_chinese_and_initials_and_only_a_pick_counts(qtbot: Any) -> None:
    picker = IcdPicker(catalog=default_catalog())
    qtbot.addWidget(picker)
    assert picker.search_now("E11.9") >= 1 and picker.model.entry(0).code == "E11.9"
    assert picker.search_now("糖尿病") > 1
    assert picker.search_now("tnb") > 1
    picker.pick_row(0)
    code, name = picker.selected()  # type: ignore[misc]
    assert picker.edit.text() == name and picker.lbl_code.text() == code and picker.btn_clear.isVisibleTo(picker)
    picker.edit.setText(name + "x")
    picker.edit.textEdited.emit(name + "x")
    assert picker.selected() is None  # typed over: no diagnosis until one is picked again


def test_consult_panel_form_follows_the_status(qtbot: Any) -> None:
    panel = ConsultPanel()
    qtbot.addWidget(panel)
    panel.icd.set_catalog(default_catalog())
    assert panel.stack.currentWidget() is panel.page_none
    chart = {"appointment_id": 7, "status": "waiting", "patient": {"name": "张三"}, "notes": "",
             "diagnosis_code": "", "diagnosis_name": ""}
    panel.show_chart(chart)
    assert panel.stack.currentWidget() is panel.page_call and panel.lbl_status.text() == "张三 正在候诊。"
    requested: list[int] = []
    panel.sig_accept_requested.connect(requested.append)
    panel.btn_accept.click()
    assert requested == [7] and panel.lbl_status.text().startswith("正在呼叫 张三")
    panel.show_chart({**chart, "status": "in_consultation"},
                     draft={"notes": "草稿", "diagnosis_code": "E11.9", "diagnosis_name": "2型糖尿病不伴有并发症"})
    # the same appointment moved on: the visit page, and the form keeps what was there (no draft reload)
    assert panel.stack.currentWidget() is panel.page_visit and panel.ed_notes.toPlainText() == ""
    assert panel.pending is None  # the server confirmed the call
    panel2 = ConsultPanel()
    qtbot.addWidget(panel2)
    panel2.show_chart({**chart, "status": "in_consultation"},
                      draft={"notes": "草稿", "diagnosis_code": "E11.9", "diagnosis_name": "2型糖尿病不伴有并发症"})
    assert panel2.stack.currentWidget() is panel2.page_visit and panel2.ed_notes.toPlainText() == "草稿"
    assert panel2.form() == {"diagnosis_code": "E11.9", "diagnosis_name": "2型糖尿病不伴有并发症", "notes": "草稿"}
    changed: list[dict[str, Any]] = []
    panel2.sig_form_changed.connect(lambda _id, form: changed.append(form))
    panel2.ed_notes.setPlainText("草稿，续写")
    assert changed and changed[-1]["notes"] == "草稿，续写"
    finished: list[int] = []
    panel2.sig_finish_requested.connect(lambda i, _r: finished.append(i))
    panel2.ask = lambda *_a: False  # the doctor goes back
    panel2.btn_finish.click()
    assert finished == [] and panel2.pending is None
    panel2.show_action_error("本次就诊已结束，请勿重复操作")
    assert panel2.lbl_error.text() == "本次就诊已结束，请勿重复操作"


def test_settings_dialog_checks_the_address(qtbot: Any) -> None:
    assert valid_server_url("") and valid_server_url("https://clinic.example.cn")
    assert not valid_server_url("clinic.example.cn") and not valid_server_url("https://")
    dialog = SettingsDialog(SettingsValues(server_url="", language="zh_CN", sounds=True))
    qtbot.addWidget(dialog)
    assert dialog.cb_language.currentText() == "简体中文" and dialog.chk_sounds.isChecked()
    dialog.ed_server.setText("clinic.example.cn")
    dialog.buttons.accepted.emit()
    assert dialog.lbl_error.isVisibleTo(dialog) and "http://" in dialog.lbl_error.text()
    assert dialog.result() == 0
    dialog.ed_server.setText("https://clinic.example.cn/")
    dialog.cb_language.setCurrentIndex(dialog.cb_language.findData("en"))
    dialog.chk_sounds.setChecked(False)
    assert dialog.values() == SettingsValues(server_url="https://clinic.example.cn", language="en", sounds=False)


def test_clinic_stop_dialog_refuses_a_bad_period_and_counts_the_booked(qtbot: Any) -> None:
    dialog = ClinicStopDialog(preview=lambda _s, _e: 3)
    qtbot.addWidget(dialog)
    qtbot.waitUntil(lambda: "3 位已预约患者" in dialog.lbl_affected.text(), timeout=5000)
    assert "3 位已预约患者" in dialog.confirmation_text()
    start, end = dialog.period()
    assert start.tzinfo is TZ and end > start > dt.datetime.now(TZ) - dt.timedelta(minutes=1)
    dialog.ed_end.setDateTime(dialog.ed_start.dateTime().addSecs(-3600))
    assert dialog.lbl_affected.text() == "结束时间必须晚于开始时间。"
    dialog.buttons.accepted.emit()  # refused at once, no confirmation asked
    assert dialog.lbl_error.text() == "结束时间必须晚于开始时间。" and dialog.result() == 0

    unknown = ClinicStopDialog(preview=None)
    qtbot.addWidget(unknown)
    assert "暂时无法查询" in unknown.lbl_affected.text()


def test_field_grid_uses_one_column_when_two_would_cut_values(qtbot: Any) -> None:
    grid = FieldGrid(None, ["a", "b", "c", "d"])  # type: ignore[arg-type]
    qtbot.addWidget(grid)
    grid.set_names({"a": "证件号码", "b": "就诊卡", "c": "预约号", "d": "预约时间"})
    grid.set_values({"a": "110***********0137", "b": "就诊卡 H100253757", "c": "A20261126033243c1ed1e",
                     "d": "2026-11-26 03:35–03:50"})
    grid.resize(1000, 200)
    grid.show()
    qtbot.waitUntil(lambda: grid.columns == 2, timeout=2000)
    grid.resize(300, 200)
    qtbot.waitUntil(lambda: grid.columns == 1, timeout=2000)


def test_switching_language_retranslates_open_windows(qtbot: Any) -> None:
    dialog = SignInDialog(sign_in=lambda _u, _p: None, server_text=lambda: "http://127.0.0.1:1")
    qtbot.addWidget(dialog)
    dialog.show_message("bad_credentials")
    assert dialog.btn_sign_in.text() == "登录" and "用户名或密码错误" in dialog.lbl_message.text()
    install_language("en")  # every widget gets a LanguageChange event and retranslates itself
    qtbot.waitUntil(lambda: dialog.btn_sign_in.text() == "Sign in", timeout=2000)
    assert dialog.lbl_message.text().startswith("Wrong username")
    assert dialog.windowTitle() == "Sign in — Clinic workstation"
    install_language("zh_CN")
    qtbot.waitUntil(lambda: dialog.lbl_title.text() == "互联网医院医生工作站", timeout=2000)


def test_queue_view_keeps_the_selected_patient_across_a_full_reload(qtbot: Any) -> None:
    from workstation.models.queue import QueueModel, synthetic_entries
    from workstation.ui.doctor.queue_view import QueueView

    model = QueueModel()
    view = QueueView(model=model)
    qtbot.addWidget(view)
    entries = synthetic_entries(20)
    model.set_entries(entries)
    target = entries[7].appointment_id
    selected: list[int] = []
    view.sig_selected.connect(selected.append)
    assert view.select(target) and selected[-1] == target
    model.set_entries(synthetic_entries(20))  # the same rows again, as a snapshot brings them
    assert view.selected_id() == target
    assert view.table.isColumnHidden(QueueModel.COL_DEPARTMENT)
    qtbot.waitUntil(lambda: "今日 20 人" in view.lbl_counts.text(), timeout=2000)
