"""A list of records as a table (the clerk's refunds and orders, the pharmacist's prescriptions): rows of a model,
an empty state inside the table, and the selection kept (by id) across live inserts, removals and reloads."""
from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from PySide6.QtCore import QAbstractItemModel, QModelIndex, Qt, Signal
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QLabel, QTableView, QVBoxLayout, QWidget

from workstation.ui.i18n import LanguageAware


class RecordTable(LanguageAware, QWidget):
    """``id_role``: the model's role giving a row's identity (a refund id, an order key, a prescription id).
    ``widths``: columns' first widths (the user may drag them), ``fixed`` among them the ones that stay so,
    ``stretch``: the columns that take the room left."""

    sig_selected = Signal(object)  # the row's id
    sig_cleared = Signal()
    sig_activated = Signal(object)  # double click / Enter on a row

    def __init__(self, *, model: QAbstractItemModel, id_role: int, empty_text: Callable[[], str],
                 widths: dict[int, int] | None = None, stretch: Sequence[int] = (), fixed: Sequence[int] = (),
                 row_height: int = 34, min_section: int = 40, object_name: str = "RefundTable",
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model = model
        self.id_role = id_role
        self._empty_text = empty_text
        self.table = QTableView(self)
        self.table.setObjectName(object_name)
        self.table.setModel(model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setAlternatingRowColors(True)
        self.table.setShowGrid(False)
        self.table.setWordWrap(False)
        self.table.setTextElideMode(Qt.TextElideMode.ElideRight)
        self.table.verticalHeader().hide()
        self.table.verticalHeader().setDefaultSectionSize(row_height)
        self.table.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        header = self.table.horizontalHeader()
        header.setHighlightSections(False)
        header.setDefaultAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        header.setMinimumSectionSize(min_section)
        header.setStretchLastSection(False)
        for col in range(model.columnCount()):
            header.setSectionResizeMode(col, QHeaderView.ResizeMode.Interactive)
        for col, width in (widths or {}).items():
            header.resizeSection(col, width)
        for col in fixed:
            header.setSectionResizeMode(col, QHeaderView.ResizeMode.Fixed)
        for col in stretch:
            header.setSectionResizeMode(col, QHeaderView.ResizeMode.Stretch)
        header.setStretchLastSection(not stretch)  # no empty band to the right of the last column
        self.table.selectionModel().currentRowChanged.connect(self._current_changed)
        self.table.activated.connect(self._activated)
        self._kept: Any = None
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
        value = current.data(self.id_role) if current.isValid() else None
        if value is not None:
            self.sig_selected.emit(value)
        else:
            self.sig_cleared.emit()

    def _activated(self, index: QModelIndex) -> None:
        value = index.data(self.id_role) if index.isValid() else None
        if value is not None:
            self.sig_activated.emit(value)

    def _remember(self) -> None:
        self._kept = self.selected_id()

    def _restore(self) -> None:
        if self._kept is not None and not self.select(self._kept):
            self.sig_cleared.emit()
        self._kept = None

    def _update_empty(self, *_: Any) -> None:
        self.lbl_empty.setVisible(self.model.rowCount() == 0)

    def set_empty_text(self, empty_text: Callable[[], str]) -> None:
        self._empty_text = empty_text
        self.retranslate()

    def selected_id(self) -> Any:
        sm = self.table.selectionModel()
        idx = sm.currentIndex()
        if not idx.isValid() or not sm.isRowSelected(idx.row(), QModelIndex()):
            return None
        return idx.data(self.id_role)

    def row_of(self, row_id: Any) -> int | None:
        for row in range(self.model.rowCount()):
            if self.model.index(row, 0).data(self.id_role) == row_id:
                return row
        return None

    def select(self, row_id: Any) -> bool:
        row = self.row_of(row_id)
        if row is None:
            return False
        self.select_row(row)
        return True

    def select_row(self, row: int) -> bool:
        if not 0 <= row < self.model.rowCount():
            return False
        index = self.model.index(row, 0)
        self.table.selectRow(row)
        self.table.setCurrentIndex(index)
        self.table.scrollTo(index)
        return True

    def clear_selection(self) -> None:
        self.table.clearSelection()
        self.table.selectionModel().setCurrentIndex(QModelIndex(), self.table.selectionModel().SelectionFlag.Clear)

    def retranslate(self) -> None:
        self.lbl_empty.setText(self._empty_text())
