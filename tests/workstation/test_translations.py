"""Every visible string of the zh_CN build is Chinese.

Three checks: the translation sources are complete (no ``unfinished`` entry, nothing in the code that lupdate
would add), the shipped .qm files are what lrelease makes of them, and — against a real backend — every window
and dialog, filled with real data in the states a doctor sees, is walked widget by widget (texts, tool tips,
placeholders, titles, menus, table headers and cells): no English source text may show, and no Latin word
outside a short list (PDF, ICD, …) may appear in anything but data.
"""
from __future__ import annotations

import re
import shutil
import subprocess
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from PySide6.QtCore import QModelIndex, Qt
from PySide6.QtGui import QColor, QImage
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractItemView,
    QComboBox,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMainWindow,
    QMenu,
    QPlainTextEdit,
    QTreeWidget,
    QWidget,
)
from sqlalchemy.engine import Engine

from tests.conftest import LiveServer
from tests.helpers import DEMO_STAFF_PASSWORD
from tests.workstation.test_ui_widgets import pdf_bytes
from tests.workstation.ui_support import Controllers, controllers, doctor_clinic
from tests.workstation_helpers import V1, checked_in, upload
from workstation.ui.doctor.consult_panel import MissedDialog
from workstation.ui.doctor.image_viewer import ImageViewer, ViewerImage
from workstation.ui.doctor.pdf_viewer import PdfViewer
from workstation.ui.i18n import I18N_DIR
from workstation.ui.settings_dialog import SettingsDialog, SettingsValues

__all__ = ["controllers"]

ROOT = Path(__file__).resolve().parents[2]
TS = I18N_DIR / "workstation_zh_CN.ts"
BIN = ROOT / ".venv" / "bin"
# Latin words that are right in Chinese too: file types, standards, key names, and each language's own name
ALLOWED_WORDS = {"PDF", "ICD", "Ctrl", "English", "http", "https", "tnb"}
_TAGS = re.compile(r"<[^>]+>")
_DATA_TOKEN = re.compile(r"\S*\d\S*")  # anything with a digit is data: numbers, codes, times, usernames
_LATIN_WORD = re.compile(r"[A-Za-z]{3,}")
_UNIT = re.compile(r"(?<=\d )[A-Za-z]{1,2}\b")  # "31 y", "5 h": an English unit after a number


def messages(path: Path) -> list[ET.Element]:
    return list(ET.parse(path).getroot().iter("message"))


def tool(name: str) -> str:
    path = BIN / name
    return str(path) if path.exists() else (shutil.which(name) or name)


# --- the sources ---------------------------------------------------------------------------------------------


def test_the_chinese_translation_is_complete() -> None:
    msgs = messages(TS)
    assert len(msgs) > 200
    unfinished = [m.findtext("source") for m in msgs
                  if m.find("translation").get("type") in ("unfinished", "obsolete", "vanished")]  # type: ignore[union-attr]
    assert not unfinished, f"untranslated in {TS.name}: {unfinished}"
    for m in msgs:
        tr = m.find("translation")
        assert tr is not None
        text = "".join(tr.itertext()).strip()
        assert text, f"empty translation of {m.findtext('source')!r}"
        if "%1" in (m.findtext("source") or ""):
            assert "%1" in text, f"the translation of {m.findtext('source')!r} lost its %1"
        if m.get("numerus") == "yes":
            assert all("%n" in (f.text or "") for f in tr.iter("numerusform")), m.findtext("source")


def test_no_string_in_the_code_is_missing_from_the_sources(tmp_path: Path) -> None:
    """lupdate over the code finds nothing new: a string added without its translation fails here."""
    copy = tmp_path / TS.name
    shutil.copy(TS, copy)
    sources = sorted(str(p) for d in ("workstation/ui", "workstation/models", "workstation/services/media")
                     for p in (ROOT / d).rglob("*.py"))
    subprocess.run([tool("pyside6-lupdate"), "-no-obsolete", "-locations", "none", *sources, "-ts", str(copy)],
                   check=True, capture_output=True, cwd=ROOT, timeout=120)
    new = [m.findtext("source") for m in messages(copy)
           if m.find("translation").get("type") == "unfinished"]  # type: ignore[union-attr]
    assert not new, f"not in {TS.name} yet (run scripts/i18n.sh and translate): {new}"


def test_the_shipped_qm_files_are_compiled_from_the_sources(tmp_path: Path) -> None:
    for lang in ("zh_CN", "en"):
        qm = tmp_path / f"{lang}.qm"
        subprocess.run([tool("pyside6-lrelease"), str(I18N_DIR / f"workstation_{lang}.ts"), "-qm", str(qm)],
                       check=True, capture_output=True, timeout=60)
        shipped = I18N_DIR / f"workstation_{lang}.qm"
        assert shipped.exists() and shipped.read_bytes() == qm.read_bytes(), \
            f"{shipped.name} is stale: run scripts/i18n.sh --release"


# --- what the windows show ---------------------------------------------------------------------------------------


def _add(texts: dict[str, str], where: str, text: object) -> None:
    if isinstance(text, str) and text:
        texts[f"{where}: {text}"] = _TAGS.sub(" ", text).replace("&", "")


def _model_texts(texts: dict[str, str], where: str, view: QAbstractItemView) -> None:
    model = view.model()
    if model is None:
        return
    try:
        columns = model.columnCount()
    except TypeError:  # a list model: one column (its columnCount is private)
        columns = 1
    for col in range(columns):
        if getattr(view, "isColumnHidden", lambda _c: False)(col):
            continue
        if columns > 1:
            _add(texts, f"{where} header", model.headerData(col, Qt.Orientation.Horizontal))
        for row in range(min(model.rowCount(), 50)):
            value = model.index(row, col, QModelIndex()).data()
            if isinstance(value, str):
                _add(texts, f"{where} cell", value)


def visible_texts(top: QWidget) -> dict[str, str]:
    """Every string a user can see on ``top`` and its visible children (and its menus' actions)."""
    texts: dict[str, str] = {}
    _add(texts, type(top).__name__ + " title", top.windowTitle())
    widgets = [top, *top.findChildren(QWidget)]
    for w in widgets:
        if w is not top and not w.isVisibleTo(top) and not isinstance(w, QMenu):
            continue
        where = f"{type(top).__name__}/{type(w).__name__}"
        _add(texts, where + " tooltip", w.toolTip())
        if isinstance(w, (QLabel, QAbstractButton)):
            _add(texts, where, w.text())
        elif isinstance(w, (QLineEdit, QPlainTextEdit)):
            _add(texts, where + " placeholder", w.placeholderText())
        elif isinstance(w, QComboBox):
            for i in range(w.count()):
                _add(texts, where + " item", w.itemText(i))
        elif isinstance(w, QMenu):
            _add(texts, where + " menu", w.title())
            for a in w.actions():
                _add(texts, where + " action", a.text())
                _add(texts, where + " action tip", a.toolTip() if a.toolTip() != a.text().replace("&", "") else "")
        if isinstance(w, QTreeWidget):
            header = w.headerItem()
            for col in range(w.columnCount()):
                _add(texts, where + " header", header.text(col))
            for i in range(w.topLevelItemCount()):
                for col in range(w.columnCount()):
                    _add(texts, where + " cell", w.topLevelItem(i).text(col))
        elif isinstance(w, QAbstractItemView) and not isinstance(w, QHeaderView) and w.isVisibleTo(top):
            _model_texts(texts, where, w)
    if isinstance(top, QMainWindow):
        for a in top.menuBar().actions():
            _add(texts, "menu bar", a.text())
    return texts


def untranslated(texts: dict[str, str], sources: dict[str, str]) -> list[str]:
    """English left in a zh_CN window: a whole source text shown as is, or a Latin word outside data."""
    bad = []
    for where, text in texts.items():
        stripped = text.strip()
        if stripped in sources and sources[stripped] != stripped:
            bad.append(f"{where!r} (an untranslated source text)")
            continue
        words = set(_UNIT.findall(stripped))
        words |= set(_LATIN_WORD.findall(_DATA_TOKEN.sub(" ", re.sub(r"https?://\S+", " ", stripped))))
        words -= ALLOWED_WORDS
        if words:
            bad.append(f"{where!r} (English: {sorted(words)})")
    return bad


@pytest.fixture(scope="module")
def sources() -> dict[str, str]:
    out = {}
    for m in messages(TS):
        tr = m.find("translation")
        out[(m.findtext("source") or "").replace("&", "")] = "".join(tr.itertext()) if tr is not None else ""
    return out


@pytest.fixture()
def seen() -> Iterator[dict[str, str]]:
    texts: dict[str, str] = {}
    yield texts


@pytest.mark.integration
def test_every_visible_string_of_the_zh_build_is_translated(
        live_server: LiveServer, api: httpx.Client, admin: dict[str, str], db_engine: Engine,
        controllers: Controllers, qtbot: Any, sources: dict[str, str], seen: dict[str, str]) -> None:
    def look(widget: QWidget) -> None:
        seen.update(visible_texts(widget))

    clinic = doctor_clinic(api, admin)
    acc, appt = checked_in(api, db_engine, clinic, name="张三")
    files = [upload(api, acc["headers"])["id"]]
    assert api.post(f"{V1}/appointments/{appt}/description", headers=acc["headers"],
                    json={"text": "复查", "file_ids": files}).status_code == 200
    checked_in(api, db_engine, clinic, name="李四")  # one still describing

    # sign-in, with a refusal shown, and the settings dialog
    c = controllers.new(server_url=live_server.base_url)
    c.start()
    signin = c.signin
    assert signin is not None
    signin.show_message("bad_credentials")
    look(signin)
    signin.show_message("locked_until", "10:30")
    signin.show_progress("starting")
    look(signin)
    signin.show_progress(None)
    settings = SettingsDialog(SettingsValues(server_url="", language="zh_CN", sounds=True))
    qtbot.addWidget(settings)
    settings.show()
    look(settings)

    # the doctor's window: the queue, a selected waiting patient's chart, then the visit
    w = controllers.sign_in(c, clinic["username"])
    w.show()
    qtbot.waitUntil(lambda: w.model.rowCount() == 2 and w.connection.state == "live", timeout=15000)
    qtbot.waitUntil(lambda: all(e.sex for e in w.model.entries()), timeout=15000)
    w.queue_view.select(appt)
    qtbot.waitUntil(lambda: w.chart_panel.appointment_id == appt and w.chart_panel.loaded_files == 1, timeout=15000)
    qtbot.waitUntil(lambda: w.alert.isVisibleTo(w) and w.consult_panel.appointment_id == appt, timeout=15000)
    look(w)
    w.consult_panel.btn_accept.click()
    look(w)  # the call is on its way
    qtbot.waitUntil(lambda: w.consult_panel.status == "in_consultation", timeout=15000)
    qtbot.waitUntil(lambda: w.consult_panel.icd.ready, timeout=15000)
    w.consult_panel.ed_notes.setPlainText("复查")
    qtbot.waitUntil(lambda: "草稿已于" in w.consult_panel.lbl_draft.text(), timeout=15000)
    w.consult_panel.icd.search_now("E11")
    w.consult_panel.icd.pick_row(0)
    look(w)
    look(w.consult_panel.icd.completer.popup())

    viewer = w.chart_panel.open_file(files[0])
    assert viewer is not None
    look(viewer)
    viewer.close()
    pdf = PdfViewer(pdf_bytes(2), title="张三 · PDF 文件 2", parent=w)
    qtbot.waitUntil(lambda: pdf.rendered_pages == 2, timeout=10000)
    look(pdf)
    pdf.close()
    two = [ViewerImage("图片 1", QImage(10, 10, QImage.Format.Format_RGB32)),
           ViewerImage("图片 2", QImage(10, 10, QImage.Format.Format_RGB32))]
    two[0].image.fill(QColor("white"))
    gallery = ImageViewer(two, parent=w)
    gallery.show()
    look(gallery)
    gallery.close()
    missed = MissedDialog(patient="李四", parent=w)
    missed.show()
    look(missed)
    missed.close()
    stop = w.clinic_stop_dialog()
    stop.show()
    look(stop)
    stop.ed_end.setDateTime(stop.ed_start.dateTime().addSecs(-60))
    look(stop)
    stop.close()

    # a refused action: the panel, the status bar and the outbox dialog say why
    w.consult_panel.ask = lambda *_a: True
    w.consult_panel.btn_finish.click()
    qtbot.waitUntil(lambda: w.consult_panel.status == "completed", timeout=15000)
    w._finish(appt, w.consult_panel.form())
    qtbot.waitUntil(lambda: w.outbox_indicator.failed == 1, timeout=15000)
    look(w)
    outbox = w.open_outbox()
    assert outbox is not None
    qtbot.waitUntil(lambda: outbox.tree.topLevelItemCount() == 1, timeout=15000)
    look(outbox)
    outbox.close()
    w.set_session_expired(True)
    look(w)
    w.set_session_expired(False)
    w.connection.set_state("connecting")
    look(w)
    w.connection.set_state("offline")
    look(w)

    # the other roles' windows
    for username in ("pharmacist", "clerk", "admin"):
        other = controllers.new(server_url=live_server.base_url)
        window = controllers.sign_in(other, username, DEMO_STAFF_PASSWORD)
        look(window)

    bad = untranslated(seen, sources)
    assert not bad, "English in the zh_CN build:\n" + "\n".join(sorted(bad))
    assert len(seen) > 150  # the walk really saw the windows
