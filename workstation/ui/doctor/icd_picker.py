"""The diagnosis field: type a code (E11), Chinese (糖尿病) or pinyin initials (tnb) and pick from the popup.

The catalogue and its search are the model's (``workstation/models/icd10.py``: in memory, well under a
millisecond per keystroke); this widget shows ``Icd10SearchModel`` in a ``QCompleter`` popup. The catalogue is
read from disk on a worker by the window and handed over with ``set_catalog``.
"""
from __future__ import annotations

from PySide6.QtCore import QModelIndex, QTimer, Signal
from PySide6.QtWidgets import QCompleter, QHBoxLayout, QLabel, QLineEdit, QPushButton, QWidget

from workstation.models.icd10 import Icd10Catalog, Icd10SearchModel
from workstation.ui.i18n import LanguageAware

MAX_RESULTS = 30


class IcdPicker(LanguageAware, QWidget):
    """``selected()`` → (code, name) or None. Typing after a pick clears the pick: only a chosen entry counts."""

    sig_selected = Signal(str, str)
    sig_cleared = Signal()

    def __init__(self, *, catalog: Icd10Catalog | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("IcdPicker")
        self._selected: tuple[str, str] | None = None
        self.model: Icd10SearchModel | None = None
        self.edit = QLineEdit(self)
        self.edit.setClearButtonEnabled(True)
        self.completer = QCompleter(self)
        self.completer.setCompletionMode(QCompleter.CompletionMode.UnfilteredPopupCompletion)
        self.completer.setMaxVisibleItems(12)
        self.completer.setWidget(self.edit)
        self.completer.activated[QModelIndex].connect(self._picked)
        self.completer.popup().setObjectName("IcdPopup")
        self.completer.popup().setStyleSheet("QListView#IcdPopup::item { padding: 5px 8px; }")
        self.lbl_code = QLabel(self)
        self.lbl_code.setObjectName("InfoText")
        self.lbl_code.hide()
        self.btn_clear = QPushButton(self)
        self.btn_clear.setObjectName("Link")
        self.btn_clear.clicked.connect(self.clear)
        self.btn_clear.hide()
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.edit, 1)
        layout.addWidget(self.lbl_code)
        layout.addWidget(self.btn_clear)
        self._debounce = QTimer(self)
        self._debounce.setSingleShot(True)
        self._debounce.setInterval(60)
        self._debounce.timeout.connect(self._run_search)
        self.edit.textEdited.connect(self._edited)
        if catalog is not None:
            self.set_catalog(catalog)
        self.retranslate()

    def set_catalog(self, catalog: Icd10Catalog, *, department: str | None = None) -> None:
        self.model = Icd10SearchModel(catalog, department=department, limit=MAX_RESULTS, parent=self)
        self.completer.setModel(self.model)
        self.retranslate()

    @property
    def ready(self) -> bool:
        return self.model is not None

    def retranslate(self) -> None:
        if self.model is None:
            self.edit.setPlaceholderText(self.tr("Loading the ICD-10 list…"))
        else:
            self.edit.setPlaceholderText(self.tr("Type an ICD-10 code, Chinese name or pinyin initials"))
        self.edit.setToolTip(self.tr("For example E11, 糖尿病 or tnb; then pick an entry from the list"))
        self.btn_clear.setText(self.tr("Change"))
        self.btn_clear.setToolTip(self.tr("Choose another diagnosis"))

    # --- searching ----------------------------------------------------------------------------------------------

    def _edited(self, _text: str) -> None:
        if self._selected is not None:
            self._selected = None
            self.lbl_code.hide()
            self.btn_clear.hide()
            self.sig_cleared.emit()
        self._debounce.start()

    def _run_search(self) -> None:
        if self.model is None:
            return
        text = self.edit.text().strip()
        self.model.set_query(text)
        if text and self.model.rowCount():
            self.completer.complete()
        else:
            self.completer.popup().hide()

    def search_now(self, text: str) -> int:
        """Type ``text`` and search at once (tests, and pasting); returns the number of results."""
        self.edit.setText(text)
        self._edited(text)
        self._debounce.stop()
        self._run_search()
        return self.model.rowCount() if self.model is not None else 0

    def pick_row(self, row: int) -> None:
        if self.model is not None:
            self._picked(self.model.index(row, 0))

    def _picked(self, index: QModelIndex) -> None:
        code = index.data(Icd10SearchModel.CodeRole)
        name = index.data(Icd10SearchModel.NameRole)
        if code:
            self.set_selected(str(code), str(name))
            self.sig_selected.emit(str(code), str(name))

    # --- value ------------------------------------------------------------------------------------------------

    def set_selected(self, code: str, name: str) -> None:
        self._selected = (code, name) if code and name else None
        self.completer.popup().hide()
        self.edit.setText(name if self._selected else "")
        self.edit.setCursorPosition(0)
        self.lbl_code.setText(code)
        self.lbl_code.setVisible(self._selected is not None)
        self.btn_clear.setVisible(self._selected is not None)

    def clear(self) -> None:
        self.set_selected("", "")
        self.sig_cleared.emit()
        self.edit.setFocus()

    def selected(self) -> tuple[str, str] | None:
        return self._selected
