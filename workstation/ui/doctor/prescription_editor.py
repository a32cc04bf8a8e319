"""The doctor's prescription editor: a tab of the doctor's window for the selected appointment.

Locked until the patient consented on the video call (the server refuses too); then a drug search (name, brand,
pinyin initials, code), the lines, the diagnosis and the slip's fields. The server runs every check: its
``findings`` come back with each autosave and are shown here, coloured by severity, with "Override…" where a
written reason may override. Signing asks for the password again; a signed prescription is read-only and its
status follows the stream's ``prescription.*`` events (returned ones become editable again, with the
pharmacist's reason in a banner).

The widget collects input and shows answers; the autosave lives in :class:`PrescriptionSync`, the catalogue and
its search in :mod:`workstation.models.formulary`, the table in :mod:`workstation.models.prescription`.
"""
from __future__ import annotations

import copy
import datetime as dt
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QAbstractItemModel, QModelIndex, QPersistentModelIndex, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QCompleter,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QSpinBox,
    QStackedWidget,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from workstation.models.formulary import Formulary, fen_text
from workstation.models.icd10 import Icd10Catalog
from workstation.models.prescription import (
    EDITABLE_STATUSES,
    MAX_LINES,
    SLIP_STATUSES,
    VOIDABLE_STATUSES,
    DrugSearchModel,
    LinesModel,
    draft_of,
    empty_draft,
    status_text,
)
from workstation.models.queue import TZ
from workstation.services.api import ApiError, NetworkError, new_idempotency_key
from workstation.services.ops import Op
from workstation.services.rx_drafts import PrescriptionSync, local_key
from workstation.ui import theme
from workstation.ui.doctor.icd_picker import IcdPicker
from workstation.ui.i18n import LanguageAware
from workstation.ui.widgets import card

OPEN_STATUSES = ("in_consultation", "completed")
_Index = QModelIndex | QPersistentModelIndex

STYLE = f"""
QLabel#RxBanner {{ background: {theme.WARNING_BG}; color: {theme.WARNING_TEXT}; border: 1px solid #f3c27a;
                   border-radius: 4px; padding: 6px 10px; font-weight: bold; }}
QLabel#RxStatus {{ border-radius: 9px; padding: 2px 10px; font-weight: bold; background: #eef2f6; color: #40515f; }}
QLabel#RxStatus[tone="ok"] {{ background: #dff3e4; color: #1c6b35; }}
QLabel#RxStatus[tone="busy"] {{ background: #dcebff; color: #1849a9; }}
QLabel#RxStatus[tone="bad"] {{ background: #fde4e1; color: {theme.DANGER}; }}
QLabel#RxTotal {{ font-size: 12pt; font-weight: bold; color: {theme.TEXT}; }}
QFrame#Finding {{ border-radius: 4px; border: 1px solid #f5c2bc; background: #fdecea; }}
QFrame#Finding[severity="warn"] {{ border-color: #f3c27a; background: {theme.WARNING_BG}; }}
QFrame#Finding[severity="done"] {{ border-color: #b9dfc4; background: #eef8f1; }}
QLabel#FindingTag {{ font-weight: bold; color: {theme.DANGER}; }}
QLabel#FindingTag[severity="warn"] {{ color: {theme.WARNING_TEXT}; }}
QLabel#FindingTag[severity="done"] {{ color: #1c6b35; }}
QFrame#RxLocked {{ background: {theme.ACCENT_LIGHT}; border-radius: 6px; }}
QLabel#RxLockedText {{ font-size: 12pt; font-weight: bold; color: {theme.ACCENT_DARK}; }}
"""


# --- small dialogs --------------------------------------------------------------------------------------------


class ReasonDialog(LanguageAware, QDialog):
    """A written reason (2–200 characters): overriding a check, voiding a prescription."""

    def __init__(self, *, title: str, text: str, confirm: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("ReasonDialog")
        self.setWindowTitle(title)
        self.setMinimumWidth(480)
        self.lbl_text = QLabel(text, self)
        self.lbl_text.setWordWrap(True)
        self.ed_reason = QPlainTextEdit(self)
        self.ed_reason.setFixedHeight(90)
        self.lbl_hint = QLabel(self)
        self.lbl_hint.setObjectName("Muted")
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel,
                                        self)
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setText(confirm)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.lbl_text)
        layout.addWidget(self.ed_reason)
        layout.addWidget(self.lbl_hint)
        layout.addWidget(self.buttons)
        self.ed_reason.textChanged.connect(self._check)
        self.retranslate()
        self._check()

    def retranslate(self) -> None:
        self.lbl_hint.setText(self.tr("2 to 200 characters; kept in the audit trail."))
        self.buttons.button(QDialogButtonBox.StandardButton.Cancel).setText(self.tr("Cancel"))

    def _check(self) -> None:
        n = len(self.reason())
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setEnabled(2 <= n <= 200)

    def reason(self) -> str:
        return self.ed_reason.toPlainText().strip()


class PasswordDialog(LanguageAware, QDialog):
    """Signing: the doctor types the sign-in password again."""

    def __init__(self, *, summary: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("SignDialog")
        self.setMinimumWidth(460)
        self.lbl_text = QLabel(summary, self)
        self.lbl_text.setWordWrap(True)
        self.lbl_password = QLabel(self)
        self.ed_password = QLineEdit(self)
        self.ed_password.setEchoMode(QLineEdit.EchoMode.Password)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel,
                                        self)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        row = QHBoxLayout()
        row.addWidget(self.lbl_password)
        row.addWidget(self.ed_password, 1)
        layout = QVBoxLayout(self)
        layout.addWidget(self.lbl_text)
        layout.addLayout(row)
        layout.addWidget(self.buttons)
        self.retranslate()

    def retranslate(self) -> None:
        self.setWindowTitle(self.tr("Sign prescription"))
        self.lbl_password.setText(self.tr("Password"))
        self.ed_password.setPlaceholderText(self.tr("Your sign-in password"))
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setText(self.tr("Sign"))
        self.buttons.button(QDialogButtonBox.StandardButton.Cancel).setText(self.tr("Cancel"))


# --- the lines table's editors ----------------------------------------------------------------------------------


class LineDelegate(QStyledItemDelegate):
    """Spin boxes for numbers, the formulary's routes and frequencies as combo boxes."""

    def __init__(self, lines: LinesModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.lines = lines

    def createEditor(self, parent: QWidget, option: QStyleOptionViewItem, index: _Index) -> QWidget:
        col = index.column()
        f = self.lines.formulary
        if col in (LinesModel.COL_ROUTE, LinesModel.COL_FREQ) and f is not None:
            combo = QComboBox(parent)
            items = f.routes if col == LinesModel.COL_ROUTE else f.frequencies
            for item in items:
                label = item.label_zh if col == LinesModel.COL_ROUTE else f"{item.code} {item.label_zh}"
                combo.addItem(label, item.code)
            combo.activated.connect(lambda _i, c=combo: self.commitData.emit(c))
            return combo
        if col == LinesModel.COL_DOSE:
            spin = QDoubleSpinBox(parent)
            spin.setDecimals(3)
            spin.setRange(0.001, 100000)
            drug = self.lines.drug(index.row())
            spin.setSuffix(f" {drug.dose_unit}" if drug else "")
            return spin
        if col in (LinesModel.COL_DAYS, LinesModel.COL_QTY):
            spin = QSpinBox(parent)
            spin.setRange(1 if col == LinesModel.COL_DAYS else 0, 84 if col == LinesModel.COL_DAYS else 9999)
            return spin
        return super().createEditor(parent, option, index)

    def setEditorData(self, editor: QWidget, index: _Index) -> None:
        value = index.data(Qt.ItemDataRole.EditRole)
        if isinstance(editor, QComboBox):
            i = editor.findData(value)
            editor.setCurrentIndex(max(i, 0))
        elif isinstance(editor, QDoubleSpinBox):
            editor.setValue(float(value or 0))
        elif isinstance(editor, QSpinBox):
            editor.setValue(int(value or 0))
        else:
            super().setEditorData(editor, index)

    def setModelData(self, editor: QWidget, model: QAbstractItemModel, index: _Index) -> None:
        if isinstance(editor, QComboBox):
            model.setData(index, editor.currentData())
        elif isinstance(editor, QDoubleSpinBox | QSpinBox):
            editor.interpretText()
            model.setData(index, editor.value())
        else:
            super().setModelData(editor, model, index)


# --- findings ---------------------------------------------------------------------------------------------------


class FindingsView(LanguageAware, QWidget):
    """The server's checks: one coloured row per finding; "Override…" where a written reason is allowed."""

    sig_override_requested = Signal(str)  # finding key
    sig_override_withdrawn = Signal(str)

    def __init__(self, *, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.findings: list[dict[str, Any]] = []
        self.editable = True
        self.rows: dict[str, QFrame] = {}
        self.lbl_none = QLabel(self)
        self.lbl_none.setObjectName("Muted")
        self._box = QVBoxLayout(self)
        self._box.setContentsMargins(0, 0, 0, 0)
        self._box.setSpacing(4)
        self._box.addWidget(self.lbl_none)
        self.retranslate()

    def set_findings(self, findings: list[dict[str, Any]], *, editable: bool) -> None:
        self.findings, self.editable = list(findings), editable
        self._rebuild()

    def _rebuild(self) -> None:
        for frame in self.rows.values():
            # deferred: the "Override…" button being clicked may be inside (its signal is still running)
            self._box.removeWidget(frame)
            frame.hide()
            frame.deleteLater()
        self.rows = {}
        order = {"block": 0, "warn": 1}
        for f in sorted(self.findings, key=lambda f: (bool(f.get("overridden")), order.get(f.get("severity"), 2))):
            frame = self._row(f)
            self.rows[str(f.get("key") or f.get("code"))] = frame
            self._box.addWidget(frame)
        self.lbl_none.setVisible(not self.findings)

    def _row(self, f: dict[str, Any]) -> QFrame:
        frame = QFrame(self)
        frame.setObjectName("Finding")
        severity = "done" if f.get("overridden") else str(f.get("severity") or "block")
        frame.setProperty("severity", severity)
        tag = QLabel(frame)
        tag.setObjectName("FindingTag")
        tag.setProperty("severity", severity)
        tag.setText({"block": self.tr("Blocks signing"), "warn": self.tr("Warning"),
                     "done": self.tr("Overridden")}[severity] if severity in ("block", "warn", "done") else severity)
        text = QLabel(frame)
        text.setWordWrap(True)
        msg = str(f.get("message") or f.get("code") or "")
        if f.get("line") is not None:
            msg = self.tr("Line %1: %2").replace("%1", str(int(f["line"]) + 1)).replace("%2", msg)
        if f.get("overridden"):
            msg += "\n" + self.tr("Reason: %1").replace("%1", str(f.get("override_reason") or ""))
        elif f.get("severity") == "block" and not f.get("overridable"):
            msg += "\n" + self.tr("This cannot be overridden: change the prescription.")
        text.setText(msg)
        text.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        row = QHBoxLayout(frame)
        row.setContentsMargins(10, 6, 8, 6)
        row.setSpacing(10)
        tag.setMinimumWidth(64)
        row.addWidget(tag, 0, Qt.AlignmentFlag.AlignTop)
        row.addWidget(text, 1)
        key = str(f.get("key") or "")
        if self.editable and f.get("overridable") and f.get("severity") == "block" and key:
            btn = QPushButton(frame)
            btn.setObjectName("Link")
            if f.get("overridden"):
                btn.setText(self.tr("Withdraw"))
                btn.clicked.connect(lambda _=False, k=key: self.sig_override_withdrawn.emit(k))
            else:
                btn.setText(self.tr("Override…"))
                btn.setToolTip(self.tr("Keep this line and write down why"))
                btn.clicked.connect(lambda _=False, k=key: self.sig_override_requested.emit(k))
            row.addWidget(btn, 0, Qt.AlignmentFlag.AlignTop)
            frame.button = btn  # type: ignore[attr-defined]
        return frame

    def retranslate(self) -> None:
        self.lbl_none.setText(self.tr("No findings: the checks found nothing to note."))
        if self.findings:
            self._rebuild()


# --- the editor ---------------------------------------------------------------------------------------------------


class PrescriptionEditor(LanguageAware, QWidget):
    """``show_chart(chart)`` when the selected appointment changes; the window hands over the formulary, the
    ICD-10 catalogue, the call (for asking consent) and the visit's diagnosis."""

    sig_consent_requested = Signal(int)
    sig_summary_changed = Signal(str)  # a short state for the tab's title ("" when there is nothing to say)

    def __init__(self, *, api: Any, hub: Any, store: Any | None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("PrescriptionEditor")
        self.setStyleSheet(STYLE)
        self.api, self.hub, self.store = api, hub, store
        self.formulary: Formulary | None = None
        self.chart: dict[str, Any] | None = None
        self.consent: dict[str, Any] | None = None
        self.prescription: dict[str, Any] | None = None  # the server's current one (None: a new draft)
        self.history: list[dict[str, Any]] = []
        self._findings: list[dict[str, Any]] = []
        self._summary = ""
        self.draft: dict[str, Any] = empty_draft()
        self.sync: PrescriptionSync | None = None
        self.call_live: Callable[[], bool] = lambda: False
        self.visit_diagnosis: Callable[[], tuple[str, str] | None] = lambda: None
        self._loading = False
        self._load_seq = 0
        self._error = ""
        self._notice = ""
        self._local_saved_at: float | None = None
        self._busy = ""  # "sign" | "void" | "" : an action waiting for the server
        self._fresh = False  # "new prescription": the current one stays in the history, this one is not sent yet
        # replaceable by tests: () -> password | None; (title, text, confirm) -> reason | None
        self.ask_password: Callable[[str], str | None] = self._ask_password
        self.ask_reason: Callable[[str, str, str], str | None] = self._ask_reason
        self.show_slip: Callable[[dict[str, Any]], Any] = self._show_slip

        # --- header
        self.lbl_title = QLabel(self)
        self.lbl_title.setObjectName("CardTitle")
        self.lbl_status = QLabel(self)
        self.lbl_status.setObjectName("RxStatus")
        self.lbl_no = QLabel(self)
        self.lbl_no.setObjectName("Muted")
        self.lbl_saved = QLabel(self)
        self.lbl_saved.setObjectName("Muted")
        head = QHBoxLayout()
        head.setSpacing(10)
        head.addWidget(self.lbl_title)
        head.addWidget(self.lbl_status)
        head.addWidget(self.lbl_no)
        head.addStretch(1)
        head.addWidget(self.lbl_saved)
        self.lbl_banner = QLabel(self)
        self.lbl_banner.setObjectName("RxBanner")
        self.lbl_banner.setWordWrap(True)
        self.lbl_banner.hide()
        self.lbl_error = QLabel(self)
        self.lbl_error.setObjectName("ErrorText")
        self.lbl_error.setWordWrap(True)
        self.lbl_error.hide()
        self.lbl_notice = QLabel(self)
        self.lbl_notice.setObjectName("InfoText")
        self.lbl_notice.setWordWrap(True)
        self.lbl_notice.hide()

        self.stack = QStackedWidget(self)
        # page: nothing to show (no patient, or the visit is not open)
        self.page_none = QLabel(self)
        self.page_none.setObjectName("Placeholder")
        self.page_none.setWordWrap(True)
        self.page_none.setAlignment(Qt.AlignmentFlag.AlignCenter)
        # page: locked until consent
        self.page_locked = QFrame(self)
        self.page_locked.setObjectName("RxLocked")
        self.lbl_locked = QLabel(self.page_locked)
        self.lbl_locked.setObjectName("RxLockedText")
        self.lbl_locked.setWordWrap(True)
        self.lbl_locked.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.lbl_locked_state = QLabel(self.page_locked)
        self.lbl_locked_state.setObjectName("Muted")
        self.lbl_locked_state.setWordWrap(True)
        self.lbl_locked_state.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.btn_consent = QPushButton(self.page_locked)
        self.btn_consent.setObjectName("Primary")
        self.btn_consent.setMinimumHeight(36)
        locked = QVBoxLayout(self.page_locked)
        locked.setContentsMargins(40, 40, 40, 40)
        locked.addStretch(1)
        locked.addWidget(self.lbl_locked)
        locked.addWidget(self.lbl_locked_state)
        crow = QHBoxLayout()
        crow.addStretch(1)
        crow.addWidget(self.btn_consent)
        crow.addStretch(1)
        locked.addSpacing(8)
        locked.addLayout(crow)
        locked.addStretch(2)

        # page: the editor
        self.page_edit = QWidget(self)
        self.lbl_diagnosis = QLabel(self.page_edit)
        self.icd = IcdPicker(parent=self.page_edit)
        self.lbl_fee = QLabel(self.page_edit)
        self.cb_fee = QComboBox(self.page_edit)
        self.lbl_allergies = QLabel(self.page_edit)
        self.ed_allergies = QLineEdit(self.page_edit)
        self.lbl_chronic = QLabel(self.page_edit)
        self.ed_chronic = QLineEdit(self.page_edit)
        self.ed_chronic.setMaxLength(200)
        self.lbl_validity = QLabel(self.page_edit)
        self.sp_validity = QSpinBox(self.page_edit)
        self.sp_validity.setRange(1, 3)
        self.sp_validity.setMinimumWidth(72)
        self.ed_validity_note = QLineEdit(self.page_edit)
        self.ed_validity_note.setMaxLength(200)
        self.lbl_notes = QLabel(self.page_edit)
        self.ed_notes = QLineEdit(self.page_edit)
        self.ed_notes.setMaxLength(500)
        validity = QHBoxLayout()
        validity.setSpacing(6)
        validity.addWidget(self.sp_validity)
        validity.addWidget(self.ed_validity_note, 1)
        grid = QGridLayout()
        grid.setHorizontalSpacing(10)
        grid.setVerticalSpacing(6)
        grid.addWidget(self.lbl_diagnosis, 0, 0)
        grid.addWidget(self.icd, 0, 1)
        grid.addWidget(self.lbl_fee, 0, 2)
        grid.addWidget(self.cb_fee, 0, 3)
        grid.addWidget(self.lbl_allergies, 1, 0)
        grid.addWidget(self.ed_allergies, 1, 1)
        grid.addWidget(self.lbl_validity, 1, 2)
        grid.addLayout(validity, 1, 3)
        grid.addWidget(self.lbl_chronic, 2, 0)
        grid.addWidget(self.ed_chronic, 2, 1)
        grid.addWidget(self.lbl_notes, 2, 2)
        grid.addWidget(self.ed_notes, 2, 3)
        grid.setColumnStretch(1, 3)
        grid.setColumnStretch(3, 2)
        for lbl in (self.lbl_diagnosis, self.lbl_fee, self.lbl_allergies, self.lbl_chronic, self.lbl_validity,
                    self.lbl_notes):
            lbl.setObjectName("FieldName")

        self.lbl_drugs = QLabel(self.page_edit)
        self.lbl_drugs.setObjectName("SectionTitle")
        self.ed_search = QLineEdit(self.page_edit)
        self.ed_search.setClearButtonEnabled(True)
        self.search_model: DrugSearchModel | None = None
        self.completer = QCompleter(self)
        self.completer.setCompletionMode(QCompleter.CompletionMode.UnfilteredPopupCompletion)
        self.completer.setMaxVisibleItems(12)
        self.completer.setWidget(self.ed_search)
        self.completer.activated[QModelIndex].connect(self._drug_picked)
        self.completer.popup().setObjectName("DrugPopup")
        self.completer.popup().setStyleSheet("QListView#DrugPopup::item { padding: 6px 8px; }")
        self._search_timer = QTimer(self)
        self._search_timer.setSingleShot(True)
        self._search_timer.setInterval(60)
        self._search_timer.timeout.connect(self._run_search)
        self.ed_search.textEdited.connect(lambda _t: self._search_timer.start())
        search_row = QHBoxLayout()
        search_row.setSpacing(10)
        search_row.addWidget(self.lbl_drugs)
        search_row.addWidget(self.ed_search, 1)

        self.lines = LinesModel(parent=self)
        self.table = QTableView(self.page_edit)
        self.table.setObjectName("RxLines")
        self.table.setModel(self.lines)
        self.table.setItemDelegate(LineDelegate(self.lines, self.table))
        self.table.verticalHeader().setVisible(False)
        self.table.setWordWrap(True)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.DoubleClicked
                                   | QAbstractItemView.EditTrigger.SelectedClicked
                                   | QAbstractItemView.EditTrigger.EditKeyPressed
                                   | QAbstractItemView.EditTrigger.AnyKeyPressed)
        self.table.setMinimumHeight(150)
        self.table.verticalHeader().setDefaultSectionSize(46)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setSectionResizeMode(LinesModel.COL_DRUG, QHeaderView.ResizeMode.Stretch)
        header.setStretchLastSection(False)
        for col, width in ((LinesModel.COL_DOSE, 88), (LinesModel.COL_ROUTE, 66), (LinesModel.COL_FREQ, 104),
                           (LinesModel.COL_DAYS, 48), (LinesModel.COL_QTY, 70), (LinesModel.COL_AMOUNT, 78),
                           (LinesModel.COL_NOTES, 104), (LinesModel.COL_REMOVE, 54)):
            self.table.setColumnWidth(col, width)
        self.table.clicked.connect(self._cell_clicked)

        self.lbl_findings = QLabel(self.page_edit)
        self.lbl_findings.setObjectName("SectionTitle")
        self.findings = FindingsView(parent=self.page_edit)
        self.findings_scroll = QScrollArea(self.page_edit)
        self.findings_scroll.setWidgetResizable(True)
        self.findings_scroll.setWidget(self.findings)
        self.findings_scroll.setFrameShape(QFrame.Shape.NoFrame)

        self.lbl_total = QLabel(self.page_edit)
        self.lbl_total.setObjectName("RxTotal")
        self.btn_void = QPushButton(self.page_edit)
        self.btn_void.setObjectName("Danger")
        self.btn_print = QPushButton(self.page_edit)
        self.btn_new = QPushButton(self.page_edit)
        self.btn_sign = QPushButton(self.page_edit)
        self.btn_sign.setObjectName("Primary")
        self.btn_sign.setMinimumHeight(34)
        for b in (self.btn_void, self.btn_print, self.btn_new, self.btn_sign):
            b.setSizePolicy(QSizePolicy.Policy.Minimum, QSizePolicy.Policy.Fixed)
        footer = QHBoxLayout()
        footer.setSpacing(8)
        footer.addWidget(self.lbl_total)
        footer.addStretch(1)
        for b in (self.btn_void, self.btn_print, self.btn_new, self.btn_sign):
            footer.addWidget(b)

        edit = QVBoxLayout(self.page_edit)
        edit.setContentsMargins(0, 0, 0, 0)
        edit.setSpacing(8)
        edit.addLayout(grid)
        edit.addLayout(search_row)
        edit.addWidget(self.table, 1)
        edit.addWidget(self.lbl_findings)
        edit.addWidget(self.findings_scroll)
        edit.addLayout(footer)

        for page in (self.page_none, self.page_locked, self.page_edit):
            self.stack.addWidget(page)
        self.card = card(self, None, [])
        self.card.body.addLayout(head)
        for w in (self.lbl_banner, self.lbl_error, self.lbl_notice):
            self.card.body.addWidget(w)
        self.card.body.addWidget(self.stack, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.card)

        # --- wiring
        self.btn_consent.clicked.connect(self._consent_clicked)
        self.btn_sign.clicked.connect(self.sign)
        self.btn_void.clicked.connect(self.void)
        self.btn_new.clicked.connect(self.new_prescription)
        self.btn_print.clicked.connect(self.print_slip)
        self.lines.sig_edited.connect(self._form_changed)
        self.icd.sig_selected.connect(lambda _c, _n: self._form_changed())
        self.icd.sig_cleared.connect(self._form_changed)
        self.cb_fee.currentIndexChanged.connect(lambda _i: self._form_changed())
        self.sp_validity.valueChanged.connect(lambda _v: self._form_changed())
        for ed in (self.ed_allergies, self.ed_chronic, self.ed_validity_note, self.ed_notes):
            ed.textEdited.connect(lambda _t: self._form_changed())
        self.findings.sig_override_requested.connect(self.override)
        self.findings.sig_override_withdrawn.connect(self.withdraw_override)
        hub.sig_events.connect(self._on_events)
        self.retranslate()

    # --- what the window hands over ----------------------------------------------------------------------------

    def set_formulary(self, formulary: Formulary) -> None:
        self.formulary = formulary
        self.search_model = DrugSearchModel(formulary, parent=self)
        self.completer.setModel(self.search_model)
        self.lines.set_formulary(formulary)
        self.retranslate()

    def set_icd_catalog(self, catalog: Icd10Catalog) -> None:
        self.icd.set_catalog(catalog)

    @property
    def appointment_id(self) -> int | None:
        return int(self.chart["appointment_id"]) if self.chart else None

    @property
    def status(self) -> str:
        if self._fresh or self.prescription is None:
            return "new"
        return str(self.prescription.get("status") or "")

    @property
    def editable(self) -> bool:
        return self.status in ("new",) + EDITABLE_STATUSES and not self._busy

    @property
    def locked(self) -> bool:
        """Nothing written yet and no consent: the editor waits for the patient's consent."""
        return self.status == "new" and (self.consent or {}).get("state") != "consented"

    def detach(self) -> None:
        try:
            self.hub.sig_events.disconnect(self._on_events)
        except (RuntimeError, TypeError):
            pass
        if self.sync is not None:
            self.sync.stop()

    # --- loading an appointment ----------------------------------------------------------------------------

    def show_chart(self, chart: dict[str, Any] | None) -> None:
        """The selected appointment (the chart's dict). The same one again only refreshes its status."""
        same = chart is not None and self.chart is not None and chart.get("appointment_id") == self.appointment_id
        self.chart = chart
        if same:
            self.retranslate()
            return
        if self.sync is not None:
            self.sync.push()  # what was typed for the previous patient goes out (the local copy is safe anyway)
            self.sync.stop()
        self.sync = None
        self.prescription, self.history, self.consent = None, [], None
        self._fresh = False
        self._error = self._notice = ""
        self._busy = ""
        self._local_saved_at = None
        self._set_form(empty_draft(), server_lines=[], findings=[])
        if chart is not None:
            self.reload()
        self.retranslate()

    def reload(self) -> None:
        """Consent, the appointment's prescriptions and the local copy, then decide what to show."""
        aid = self.appointment_id
        if aid is None:
            return
        self._load_seq += 1
        seq = self._load_seq
        api, store = self.api, self.store
        got: dict[str, Any] = {}

        def fetch() -> dict[str, Any]:
            try:
                consent = api.consent(aid)
            except ApiError as exc:
                if exc.code not in ("no_consent", "not_found"):
                    raise
                consent = None
            return {"consent": consent, "list": api.prescriptions_of(aid)}

        def both(part: dict[str, Any]) -> None:
            got.update(part)
            if "list" in got and "local" in got and seq == self._load_seq and aid == self.appointment_id:
                self._loaded(got["consent"], got["list"], got["local"])

        def failed(exc: BaseException) -> None:
            if seq == self._load_seq:
                self._error = getattr(exc, "message", None) or str(exc)
                self.retranslate()

        Op(fetch, parent=self).success(both).failure(failed).run()
        if store is not None:
            Op(lambda: store.cache_get(local_key(aid)), parent=self, pool="db") \
                .success(lambda local: both({"local": local})).run()
        else:
            got["local"] = None

    def _loaded(self, consent: dict[str, Any] | None, rxs: list[dict[str, Any]], local: Any) -> None:
        aid = self.appointment_id
        assert aid is not None
        self.consent = consent
        self.history = list(rxs)
        current = rxs[-1] if rxs else None
        sync = PrescriptionSync(api=self.api, store=self.store, appointment_id=aid, parent=self)
        sync.sig_saved.connect(self._saved)
        sync.sig_conflict.connect(self._conflict)
        sync.sig_failed.connect(self._save_failed)
        sync.sig_local_saved.connect(self._local_saved)
        sync.sig_idle.connect(self.retranslate)
        self.sync = sync
        usable = isinstance(local, dict) and local.get("dirty") and isinstance(local.get("draft"), dict)
        resumes = usable and (
            (local.get("rx_id") is None and (current is None or current.get("status") not in EDITABLE_STATUSES))
            or (current is not None and local.get("rx_id") == current.get("id")
                and current.get("status") in EDITABLE_STATUSES))
        if resumes:
            # the last run ended with changes the server had not seen: they win, and go out now
            self.prescription = current if local.get("rx_id") is not None else None
            self._fresh = local.get("rx_id") is None and current is not None
            self._set_form(local["draft"], server_lines=(current or {}).get("lines") or [] if not self._fresh else [],
                           findings=(current or {}).get("findings") or [] if not self._fresh else [])
            self._notice = self.tr("Restored the prescription you were writing (kept on this computer).")
            sync.resume(local)
        elif current is not None:
            self._adopt(current)
        else:
            self._new_draft()
        self.retranslate()

    def _new_draft(self) -> None:
        picked = self.visit_diagnosis()
        diagnosis = {"code": picked[0], "name": picked[1]} if picked else None
        if diagnosis is None and self.chart and self.chart.get("diagnosis_code"):
            diagnosis = {"code": str(self.chart["diagnosis_code"]), "name": str(self.chart.get("diagnosis_name"))}
        draft = empty_draft(diagnosis=diagnosis)
        last_signed = next((p for p in reversed(self.history) if p.get("signed_at")), None)
        if last_signed is not None:
            draft["allergies"] = list(last_signed.get("allergies") or [])
        if self.sync is not None:
            self.sync.adopt(None, draft)
        self._set_form(draft, server_lines=[], findings=[])

    def _adopt(self, prescription: dict[str, Any]) -> None:
        """Show the server's prescription (after a load, a save, a sign, an event)."""
        self.prescription = prescription
        self._fresh = False
        for i, p in enumerate(self.history):
            if p.get("id") == prescription.get("id"):
                self.history[i] = prescription
                break
        else:
            self.history.append(prescription)
        draft = draft_of(prescription)
        if self.sync is not None:
            self.sync.adopt(prescription, draft)
        self._set_form(draft, server_lines=prescription.get("lines") or [],
                       findings=prescription.get("findings") or [])

    # --- the form ---------------------------------------------------------------------------------------------

    def _set_form(self, draft: dict[str, Any], *, server_lines: list[dict[str, Any]],
                  findings: list[dict[str, Any]]) -> None:
        self._loading = True
        try:
            self.draft = copy.deepcopy(draft)
            diagnosis = draft.get("diagnosis") or {}
            self.icd.set_selected(str(diagnosis.get("code") or ""), str(diagnosis.get("name") or ""))
            self.cb_fee.setCurrentIndex(1 if draft.get("fee_category") == "insurance" else 0)
            self.ed_allergies.setText("，".join(draft.get("allergies") or []))
            self.ed_chronic.setText(str(draft.get("chronic_reason") or ""))
            self.sp_validity.setValue(int(draft.get("validity_days") or 1))
            self.ed_validity_note.setText(str(draft.get("validity_note") or ""))
            self.ed_notes.setText(str(draft.get("notes") or ""))
            self.lines.set_lines(self.draft["lines"], server_lines=server_lines)
            self._findings = findings
        finally:
            self._loading = False
        self._render_findings()

    def form(self) -> dict[str, Any]:
        """The draft as the form shows it now (``PrescriptionDraft``)."""
        d = self.draft
        picked = self.icd.selected()
        d["diagnosis"] = {"code": picked[0], "name": picked[1]} if picked else None
        d["fee_category"] = "insurance" if self.cb_fee.currentIndex() == 1 else "self_pay"
        text = self.ed_allergies.text()
        for sep in "，,、;；":
            text = text.replace(sep, ",")
        d["allergies"] = [a.strip() for a in text.split(",") if a.strip()][:10]
        d["chronic_reason"] = self.ed_chronic.text().strip()
        d["validity_days"] = self.sp_validity.value()
        d["validity_note"] = self.ed_validity_note.text().strip()
        d["notes"] = self.ed_notes.text().strip()
        d["lines"] = self.lines.lines
        return copy.deepcopy(d)

    def _form_changed(self) -> None:
        if self._loading or not self.editable or self.sync is None or self.chart is None:
            return
        self._error = ""
        self.sync.changed(self.form())
        self.retranslate()

    # --- drug search ----------------------------------------------------------------------------------------

    def _run_search(self) -> None:
        if self.search_model is None:
            return
        text = self.ed_search.text().strip()
        self.search_model.set_query(text)
        if text and self.search_model.rowCount():
            self.completer.complete()
        else:
            self.completer.popup().hide()

    def search_now(self, text: str) -> int:
        """Type ``text`` and search at once (tests, pasting); the number of drugs found."""
        self.ed_search.setText(text)
        self._search_timer.stop()
        self._run_search()
        return self.search_model.rowCount() if self.search_model is not None else 0

    def pick_row(self, row: int) -> None:
        if self.search_model is not None:
            self._drug_picked(self.search_model.index(row, 0))

    def _drug_picked(self, index: QModelIndex) -> None:
        drug = index.data(DrugSearchModel.DrugRole)
        self.completer.popup().hide()
        QTimer.singleShot(0, self.ed_search.clear)
        if drug is None or not self.editable:
            return
        if len(self.lines.lines) >= MAX_LINES:
            self._error = self.tr("A prescription holds at most %1 lines.").replace("%1", str(MAX_LINES))
            self.retranslate()
            return
        row = self.lines.add_drug(drug)
        self.table.selectRow(row)

    def renew_from(self, rx: dict[str, Any]) -> int:
        """续方: copy an earlier prescription's lines (drug, dose, route, frequency, days, notes) into this one, and its
        diagnosis when none is chosen yet; the checks then run on the result as on any edit. Drugs already on the
        prescription, no longer in the formulary, or beyond the line limit are left out (and named). Returns the
        number of lines added; 0 when the editor is locked or read-only."""
        if not self.editable or self.locked or self.formulary is None or self.sync is None:
            return 0
        have = {str(ln["drug_code"]) for ln in self.lines.lines}
        added, left_out = 0, []
        self._loading = True  # one autosave for the whole renewal, not one per line
        try:
            for line in rx.get("lines") or []:
                code = str(line.get("drug_code") or "")
                if code in have or self.formulary.drug(code) is None or len(self.lines.lines) >= MAX_LINES:
                    left_out.append(str(line.get("name") or code))
                    continue
                self.lines.add_copy(line)
                have.add(code)
                added += 1
            diagnosis = rx.get("diagnosis") or {}
            if self.icd.selected() is None and diagnosis.get("code"):
                self.icd.set_selected(str(diagnosis["code"]), str(diagnosis.get("name") or ""))
        finally:
            self._loading = False
        self._notice = self.tr("Renewed %1 drug(s) from prescription %2: check doses and days before signing.") \
            .replace("%1", str(added)).replace("%2", str(rx.get("no") or ""))
        if left_out:
            self._notice += " " + self.tr("Left out (already on it, no longer stocked, or over the line limit): %1.").replace("%1", "、".join(left_out))
        self._form_changed()
        return added

    def _cell_clicked(self, index: QModelIndex) -> None:
        """The "Remove" cell of a line (drawn by the model: no widgets inside the table)."""
        if index.column() == LinesModel.COL_REMOVE:
            self.remove_line(index.row())

    def remove_line(self, row: int) -> None:
        if self.editable:
            self.lines.remove(row)

    # --- overrides ------------------------------------------------------------------------------------------

    def override(self, key: str) -> None:
        finding = next((f for f in self._findings if f.get("key") == key), None)
        if finding is None or not self.editable:
            return
        reason = self.ask_reason(self.tr("Override a check"),
                                 self.tr("%1\n\nWhy is this prescription right for the patient anyway? The reason is "
                                         "signed with the prescription and read by the pharmacist.")
                                 .replace("%1", str(finding.get("message") or "")),
                                 self.tr("Override"))
        if reason is None:
            return
        overrides = [o for o in self.draft.get("overrides") or [] if o.get("key") != key]
        overrides.append({"key": key, "reason": reason[:200]})
        self.draft["overrides"] = overrides
        self._form_changed()

    def withdraw_override(self, key: str) -> None:
        if self.editable:
            self.draft["overrides"] = [o for o in self.draft.get("overrides") or [] if o.get("key") != key]
            self._form_changed()

    # --- the server's answers -------------------------------------------------------------------------------

    def _saved(self, prescription: dict[str, Any]) -> None:
        if self.sync is None or prescription.get("appointment_id") not in (None, self.appointment_id):
            return
        self.prescription = prescription
        self._fresh = False
        if prescription not in self.history:
            self.history = [p for p in self.history if p.get("id") != prescription.get("id")] + [prescription]
        self.lines.set_server_lines(prescription.get("lines") or [])
        self._findings = prescription.get("findings") or []
        if self._error and not self.sync.blocked:
            self._error = ""
        self._render_findings()
        self.retranslate()

    def _conflict(self, answer: dict[str, Any]) -> None:
        prescription = answer["prescription"]
        self._adopt(prescription)
        if answer["code"] == "draft_conflict":
            self._notice = self.tr("This prescription was changed elsewhere (another window or computer). The newest "
                                   "version is shown; check it and make your change again.")
        else:
            self._notice = self.tr("This prescription can no longer be changed: %1").replace("%1", answer["message"])
        self.retranslate()

    def _save_failed(self, exc: BaseException) -> None:
        if isinstance(exc, NetworkError):
            self._error = self.tr("Not sent to the server yet (no connection); it is kept on this computer and sent "
                                  "when the server answers.")
        else:
            self._error = getattr(exc, "message", None) or str(exc)
            if isinstance(exc, ApiError) and exc.code == "consent_required":
                self.consent = None
                self.reload()
        self.retranslate()

    def _local_saved(self, at: float) -> None:
        self._local_saved_at = at
        self._render_saved()

    def _on_events(self, batch: list[dict[str, Any]]) -> None:
        aid = self.appointment_id
        if aid is None:
            return
        reload = False
        for event in batch:
            kind = str(event.get("kind") or "")
            payload = event.get("payload") or {}
            if payload.get("appointment_id") != aid:
                continue
            if kind.startswith("prescription.") or kind in ("consent.answered", "consent.requested"):
                reload = True
        if reload:
            self.refresh()

    def refresh(self) -> None:
        """Consent and prescriptions again (an event): the draft being typed is kept."""
        aid, api, seq = self.appointment_id, self.api, self._load_seq
        if aid is None:
            return

        def fetch() -> dict[str, Any]:
            try:
                consent = api.consent(aid)
            except ApiError:
                consent = None
            return {"consent": consent, "list": api.prescriptions_of(aid)}

        Op(fetch, parent=self).success(lambda got: self._refreshed(seq, aid, got)).run()

    def _refreshed(self, seq: int, aid: int, got: dict[str, Any]) -> None:
        if seq != self._load_seq or aid != self.appointment_id or self.sync is None:
            return
        self.consent = got["consent"]
        self.history = got["list"]
        if self.prescription is not None and not self._fresh:
            mine = next((p for p in self.history if p.get("id") == self.prescription.get("id")), None)
            before = self.prescription.get("status")
            both_editable = before in EDITABLE_STATUSES and mine is not None \
                and mine.get("status") in EDITABLE_STATUSES
            if both_editable and self.sync.busy:
                pass  # returned → draft by this doctor's own autosave: its answer brings the new state
            elif mine is not None and (mine.get("status") != before or mine.get("status") not in EDITABLE_STATUSES):
                self._adopt(mine)
                self._notice = ""
        self.retranslate()

    # --- actions ----------------------------------------------------------------------------------------------

    def _consent_clicked(self) -> None:
        if self.appointment_id is not None:
            self.sig_consent_requested.emit(self.appointment_id)

    def new_prescription(self) -> None:
        """Start another prescription (the current one stays as it is)."""
        if self.sync is None or self.status in ("new",) + EDITABLE_STATUSES:
            return
        self._fresh = True
        self._error = self._notice = ""
        self._new_draft()
        self.retranslate()

    def sign(self) -> None:
        if self.sync is None or not self.editable or self._busy:
            return
        self._error = ""
        summary = self.tr("Sign the prescription for %1 (%2 drug(s), %3)? A signed prescription cannot be changed; "
                          "type your password to sign.").replace("%1", self._patient()) \
            .replace("%2", str(len(self.lines.lines))).replace("%3", fen_text(self.lines.total_fen()))
        password = self.ask_password(summary)
        if not password:
            return
        self._busy = "sign"
        self.retranslate()
        sync = self.sync
        sync.push()
        sync.when_idle(lambda: self._sign_now(sync, password))

    def _sign_now(self, sync: PrescriptionSync, password: str) -> None:
        if sync is not self.sync:
            return
        if sync.dirty or sync.rx_id is None:
            self._busy = ""
            if not self._error:
                self._error = self.tr("The prescription has not reached the server yet; try signing again in a "
                                      "moment.")
            self.retranslate()
            return
        api, rx_id, revision = self.api, sync.rx_id, int(sync.revision or 0)
        key = new_idempotency_key()
        Op(lambda: api.sign_prescription(rx_id, password=password, revision=revision, key=key), parent=self) \
            .success(self._signed).failure(self._action_failed).run()

    def _signed(self, prescription: dict[str, Any]) -> None:
        self._busy = ""
        self._notice = ""
        if self.sync is not None:
            self.sync.forget_local()
        self._adopt(prescription)
        self.retranslate()

    def _action_failed(self, exc: BaseException) -> None:
        self._busy = ""
        if isinstance(exc, ApiError) and exc.code == "signature_password_incorrect":
            self._error = self.tr("Not signed: %1").replace("%1", exc.message)
        elif isinstance(exc, ApiError) and exc.code == "checks_unresolved":
            details = exc.details if isinstance(exc.details, dict) else {}
            if isinstance(details.get("findings"), list):
                self._findings = details["findings"]
                self._render_findings()
            self._error = self.tr("Not signed: %1 Fix or override the checks marked in red below.") \
                .replace("%1", exc.message)
        elif isinstance(exc, ApiError) and exc.code in ("draft_conflict", "invalid_state", "prescription_immutable"):
            self._error = exc.message
            self.refresh()
        else:
            self._error = getattr(exc, "message", None) or str(exc)
        self.retranslate()

    def void(self) -> None:
        p = self.prescription
        if p is None or self._fresh or p.get("status") not in VOIDABLE_STATUSES or self._busy:
            return
        reason = self.ask_reason(self.tr("Void prescription"),
                                 self.tr("Void prescription %1? It cannot be used afterwards; if the patient was "
                                         "already told, an SMS says it was voided. Why?").replace("%1", str(p.get("no"))),
                                 self.tr("Void"))
        if reason is None:
            return
        self._busy = "void"
        self._error = ""
        self.retranslate()
        api, rx_id, key = self.api, int(p["id"]), new_idempotency_key()

        def voided(rx: dict[str, Any]) -> None:
            self._busy = ""
            if self.sync is not None:
                self.sync.forget_local()
            self._adopt(rx)
            self.retranslate()

        Op(lambda: api.void_prescription(rx_id, reason, key=key), parent=self).success(voided) \
            .failure(self._action_failed).run()

    def print_slip(self) -> None:
        p = self.prescription
        if p is None or p.get("status") not in SLIP_STATUSES:
            return
        api, rx_id = self.api, int(p["id"])
        Op(lambda: api.prescription_slip(rx_id), parent=self).success(self.show_slip) \
            .failure(self._action_failed).run()

    def _show_slip(self, slip: dict[str, Any]) -> Any:
        """The slip drawn by the printing feature, in its print preview (rendered on a worker)."""
        from workstation.ui.print_preview import open_slip_preview

        return open_slip_preview(slip, parent=self)

    def _ask_password(self, summary: str) -> str | None:
        dialog = PasswordDialog(summary=summary, parent=self)
        try:
            return dialog.ed_password.text() if dialog.exec() == QDialog.DialogCode.Accepted else None
        finally:
            dialog.deleteLater()

    def _ask_reason(self, title: str, text: str, confirm: str) -> str | None:
        dialog = ReasonDialog(title=title, text=text, confirm=confirm, parent=self)
        try:
            return dialog.reason() if dialog.exec() == QDialog.DialogCode.Accepted else None
        finally:
            dialog.deleteLater()

    # --- texts ----------------------------------------------------------------------------------------------

    def _patient(self) -> str:
        return str((self.chart or {}).get("patient", {}).get("name", ""))

    def _render_findings(self) -> None:
        findings = self._findings
        self.findings.set_findings(findings, editable=self.editable)
        self._fit_findings()
        QTimer.singleShot(0, self._fit_findings)  # again once the rows are laid out at their real width
        blocks = [f for f in findings if f.get("severity") == "block" and not f.get("overridden")]
        warns = [f for f in findings if f.get("severity") == "warn"]
        if not findings:
            self.lbl_findings.setText(self.tr("Checks"))
        elif not blocks and not warns:
            self.lbl_findings.setText(self.tr("Checks: all resolved"))
        else:
            self.lbl_findings.setText(self.tr("Checks: %1 blocking, %2 warning(s)")
                                      .replace("%1", str(len(blocks))).replace("%2", str(len(warns))))

    def _fit_findings(self) -> None:
        """The findings take the room they need (up to about five rows), the lines table the rest."""
        layout = self.findings.layout()
        layout.activate()
        width = max(self.findings_scroll.viewport().width(), 300)
        wanted = layout.heightForWidth(width) if layout.hasHeightForWidth() else -1
        if wanted <= 0:
            wanted = self.findings.sizeHint().height()
        self.findings_scroll.setFixedHeight(max(36, min(wanted + 4, 260)))

    def resizeEvent(self, event: Any) -> None:
        super().resizeEvent(event)
        self._fit_findings()

    def _render_saved(self) -> None:
        sync = self.sync
        if self.status not in ("new",) + EDITABLE_STATUSES or sync is None:
            self.lbl_saved.setText("")
        elif sync.busy and not sync.blocked:
            self.lbl_saved.setText(self.tr("Saved on this computer; checking on the server…"))
        elif self._local_saved_at is not None or (sync.rx_id is not None and not sync.dirty):
            at = dt.datetime.fromtimestamp(self._local_saved_at, TZ).strftime("%H:%M:%S") \
                if self._local_saved_at else ""
            self.lbl_saved.setText(self.tr("Draft saved %1").replace("%1", at).strip())
        else:
            self.lbl_saved.setText(self.tr("Drafts are saved automatically."))

    def retranslate(self) -> None:
        self.lbl_title.setText(self.tr("Prescription"))
        self.page_none.setText(self.tr("Select a patient in the queue. Prescriptions are written during the visit, "
                                       "after the patient consented on the video call."))
        self.lbl_locked.setText(self.tr("The patient must consent to a prescription on the video call before you "
                                        "can write one."))
        self.btn_consent.setText(self.tr("Ask for prescription consent"))
        self.lbl_diagnosis.setText(self.tr("Diagnosis"))
        self.lbl_fee.setText(self.tr("Fee"))
        current_fee = self.cb_fee.currentIndex()
        self._loading, was = True, self._loading
        self.cb_fee.clear()
        self.cb_fee.addItems([self.tr("Self-pay"), self.tr("Insurance")])
        self.cb_fee.setCurrentIndex(max(current_fee, 0))
        self._loading = was
        self.lbl_allergies.setText(self.tr("Allergies"))
        self.ed_allergies.setPlaceholderText(self.tr("None known; or e.g. 青霉素类, 磺胺类 (comma separated)"))
        self.lbl_chronic.setText(self.tr("Chronic disease"))
        self.ed_chronic.setPlaceholderText(self.tr("Reason for more than 7 days (up to 12 weeks)"))
        self.lbl_validity.setText(self.tr("Valid (days)"))
        self.ed_validity_note.setPlaceholderText(self.tr("Why longer than one day"))
        self.lbl_notes.setText(self.tr("Notes"))
        self.ed_notes.setPlaceholderText(self.tr("Advice for the patient and the pharmacist"))
        self.lbl_drugs.setText(self.tr("Add drug"))
        self.ed_search.setPlaceholderText(self.tr("Search by name, brand, pinyin initials (e.g. amxl) or code")
                                          if self.formulary is not None else self.tr("Loading the formulary…"))
        self.btn_sign.setText(self.tr("Signing…") if self._busy == "sign" else self.tr("Sign…"))
        self.btn_void.setText(self.tr("Voiding…") if self._busy == "void" else self.tr("Void…"))
        self.btn_print.setText(self.tr("Print slip…"))
        self.btn_new.setText(self.tr("New prescription"))
        self.lbl_total.setText(self.tr("Total %1").replace("%1", fen_text(self.lines.total_fen())))
        self._render_state()

    def _render_state(self) -> None:
        self.lbl_error.setText(self._error)
        self.lbl_error.setVisible(bool(self._error))
        self.lbl_notice.setText(self._notice)
        self.lbl_notice.setVisible(bool(self._notice))
        chart = self.chart
        if chart is None or (chart.get("status") not in OPEN_STATUSES and self.prescription is None
                             and self.sync is not None):
            self.stack.setCurrentWidget(self.page_none)
            if chart is not None:
                self.page_none.setText(self.tr("Prescriptions are written during the visit: accept the patient "
                                               "first."))
            self.lbl_status.hide()
            self.lbl_no.hide()
            self.lbl_banner.hide()
            self.lbl_saved.setText("")
            self._emit_summary("")
            return
        if self.sync is None:  # still loading
            self.stack.setCurrentWidget(self.page_none)
            self.page_none.setText(self.tr("Loading…"))
            self.lbl_status.hide()
            return
        if self.locked:
            self.stack.setCurrentWidget(self.page_locked)
            state = (self.consent or {}).get("state")
            if state == "requested":
                text = self.tr("Consent asked — waiting for the patient's answer on the phone.")
            elif state == "declined":
                text = self.tr("The patient declined. Explain on the call and ask again if the patient agrees.")
            elif self.call_live():
                text = self.tr("The call is on: ask the patient to consent now.")
            else:
                text = self.tr("Start the video call first; consent is asked on the call.")
            self.lbl_locked_state.setText(text)
            self.btn_consent.setEnabled(self.call_live() and state != "requested")
            self.lbl_status.hide()
            self.lbl_no.hide()
            self.lbl_banner.hide()
            self.lbl_saved.setText("")
            self._emit_summary("")
            return
        self.stack.setCurrentWidget(self.page_edit)
        status = self.status
        if status == "new" and not self.sync.busy and self.sync.rx_id is None and self.icd.selected() is None:
            picked = self.visit_diagnosis()  # the visit's diagnosis, picked since the editor opened
            if picked:
                self._loading = True
                self.icd.set_selected(*picked)
                self.draft["diagnosis"] = {"code": picked[0], "name": picked[1]}
                self._loading = False
        editable = self.editable
        p = self.prescription if not self._fresh else None
        self.lbl_status.setVisible(True)
        if status == "new":
            self.lbl_status.setText(self.tr("New prescription"))
            tone = "busy"
        else:
            self.lbl_status.setText(status_text(status, return_reason=str((p or {}).get("return_reason") or "")))
            tone = {"returned": "bad", "voided": "bad", "expired": "bad", "draft": "busy", "signed": "busy"} \
                .get(status, "ok")
        self.lbl_status.setProperty("tone", tone)
        self.lbl_status.style().unpolish(self.lbl_status)
        self.lbl_status.style().polish(self.lbl_status)
        no = str((p or {}).get("no") or "")
        if p is not None and p.get("signed_at") and status not in EDITABLE_STATUSES:
            no = self.tr("%1 · signed %2").replace("%1", no).replace("%2", str(p["signed_at"])[:16].replace("T", " "))
        self.lbl_no.setText(no)
        self.lbl_no.setVisible(bool(self.lbl_no.text()))
        banner = ""
        if p is not None and p.get("return_reason") and status in EDITABLE_STATUSES:
            banner = self.tr("Returned by the pharmacist %1: %2 — change the prescription and sign it again.") \
                .replace("%1", str((p.get("reviewed_by") or {}).get("name") or "")) \
                .replace("%2", str(p.get("return_reason")))
        elif status == "voided":
            banner = self.tr("Voided: %1").replace("%1", str((p or {}).get("void_reason") or ""))
        self.lbl_banner.setText(banner)
        self.lbl_banner.setVisible(bool(banner))
        read_only = not editable
        if self.lines.read_only != read_only:
            self.lines.read_only = read_only
            self.lines.layoutChanged.emit()
        self.table.setColumnHidden(LinesModel.COL_REMOVE, read_only)
        self.icd.btn_clear.setVisible(editable and self.icd.selected() is not None)
        for w in (self.icd, self.cb_fee, self.ed_allergies, self.ed_chronic, self.sp_validity,
                  self.ed_validity_note, self.ed_notes):
            w.setEnabled(editable)
        self.ed_search.setVisible(editable)
        self.lbl_drugs.setVisible(editable)
        self.ed_search.setEnabled(editable and self.formulary is not None)
        if self.findings.editable != editable:
            self._render_findings()
        self.btn_sign.setVisible(status in ("new",) + EDITABLE_STATUSES)
        self.btn_sign.setEnabled(editable and bool(self.lines.lines))
        self.btn_void.setVisible(p is not None and status in VOIDABLE_STATUSES)
        self.btn_void.setEnabled(not self._busy)
        self.btn_print.setVisible(p is not None and status in SLIP_STATUSES)
        self.btn_new.setVisible(status not in ("new",) + EDITABLE_STATUSES
                                and (chart or {}).get("status") in OPEN_STATUSES)
        self._render_saved()
        self._emit_summary(status)

    def _emit_summary(self, status: str) -> None:
        summary = ""
        if self.stack.currentWidget() is self.page_locked:
            summary = self.tr("waiting for consent")
        elif status == "new":
            summary = self.tr("new") if self.lines.lines else ""
        elif status:
            short = {"draft": self.tr("draft"), "signed": self.tr("signed"), "returned": self.tr("returned"),
                     "approved": self.tr("approved"), "issued": self.tr("sent"),
                     "fulfilment_chosen": self.tr("pickup/delivery chosen"), "paid": self.tr("paid"),
                     "dispensed": self.tr("dispensed"), "shipped": self.tr("shipped"), "voided": self.tr("voided"),
                     "expired": self.tr("expired")}
            summary = short.get(status, status)
        if summary != self._summary:
            self._summary = summary
            self.sig_summary_changed.emit(summary)
