"""One of the pharmacist's lists as a table: the rows of a :class:`ReviewListModel`, an empty state inside the
table, and the selection kept across live inserts and removals."""
from __future__ import annotations

from typing import Any

from PySide6.QtCore import QModelIndex, Qt, Signal
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QLabel, QTableView, QVBoxLayout, QWidget

from workstation.models.review import ReviewListModel
from workstation.ui.i18n import LanguageAware


class RxListView(LanguageAware, QWidget):
    sig_selected = Signal(int)  # rx id
    sig_cleared = Signal()

    def __init__(self, *, model: ReviewListModel, empty_text: Any, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model = model
        self._empty_text = empty_text  # a callable: the text in the current language
        self.table = QTableView(self)
        self.table.setObjectName("ReviewTable")
        self.table.setModel(model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setAlternatingRowColors(True)
        self.table.setShowGrid(False)
        self.table.setWordWrap(False)
        self.table.verticalHeader().hide()
        self.table.verticalHeader().setDefaultSectionSize(36)
        self.table.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        header = self.table.horizontalHeader()
        header.setHighlightSections(False)
        header.setDefaultAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        header.setMinimumSectionSize(28)
        for col in range(model.columnCount()):
            header.setSectionResizeMode(col, QHeaderView.ResizeMode.Interactive)
        header.setSectionResizeMode(ReviewListModel.COL_PATIENT, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(ReviewListModel.COL_FLAG, QHeaderView.ResizeMode.Fixed)
        header.resizeSection(ReviewListModel.COL_FLAG, 32)
        header.resizeSection(ReviewListModel.COL_DOCTOR, 86)
        header.resizeSection(ReviewListModel.COL_DEPARTMENT, 96)
        header.resizeSection(ReviewListModel.COL_SIGNED, 96)
        header.resizeSection(ReviewListModel.COL_WAITING, 80 if model.review else 120)
        self.table.selectionModel().currentRowChanged.connect(self._current_changed)
        self._kept: int | None = None
        model.modelAboutToBeReset.connect(self._remember)
        model.modelReset.connect(self._restore)
        for sig in (model.rowsInserted, model.rowsRemoved, model.modelReset):
            sig.connect(self._update_empty)

        self.lbl_empty = QLabel(self.table.viewport())
        self.lbl_empty.setObjectName("Placeholder")
        self.lbl_empty.setWordWrap(True)
        self.lbl_empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        empty = QVBoxLayout(self.table.viewport())
        empty.setContentsMargins(24, 24, 24, 24)
        empty.addWidget(self.lbl_empty)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.table)
        self.retranslate()
        self._update_empty()

    def _current_changed(self, current: QModelIndex, _previous: QModelIndex) -> None:
        rx_id = current.data(ReviewListModel.IdRole) if current.isValid() else None
        if rx_id is not None:
            self.sig_selected.emit(int(rx_id))
        else:
            self.sig_cleared.emit()

    def _remember(self) -> None:
        self._kept = self.selected_id()

    def _restore(self) -> None:
        if self._kept is not None:
            self.select(self._kept)

    def _update_empty(self, *_: Any) -> None:
        self.lbl_empty.setVisible(self.model.rowCount() == 0)

    def selected_id(self) -> int | None:
        idx = self.table.selectionModel().currentIndex()
        if not idx.isValid() or not self.table.selectionModel().isRowSelected(idx.row(), QModelIndex()):
            return None
        value = idx.data(ReviewListModel.IdRole)
        return None if value is None else int(value)

    def select(self, rx_id: int) -> bool:
        row = self.model.row_of(rx_id)
        if row is None:
            return False
        self.table.selectRow(row)
        self.table.setCurrentIndex(self.model.index(row, 0))
        self.table.scrollTo(self.model.index(row, 0))
        return True

    def select_row(self, row: int) -> bool:
        entry = self.model.entry_at(row)
        return False if entry is None else self.select(entry.rx_id)

    def clear_selection(self) -> None:
        self.table.clearSelection()
        self.table.selectionModel().setCurrentIndex(QModelIndex(), self.table.selectionModel().SelectionFlag.Clear)

    def retranslate(self) -> None:
        self.lbl_empty.setText(self._empty_text())
