"""One of the pharmacist's lists as a table: the rows of a :class:`ReviewListModel` in a :class:`RecordTable`
(an empty state inside the table, the selection kept across live inserts, removals and reloads)."""
from __future__ import annotations

from typing import Any

from PySide6.QtWidgets import QWidget

from workstation.models.review import ReviewListModel
from workstation.ui.record_table import RecordTable


class RxListView(RecordTable):
    """``sig_selected`` carries the prescription's id."""

    def __init__(self, *, model: ReviewListModel, empty_text: Any, parent: QWidget | None = None) -> None:
        m = ReviewListModel
        super().__init__(model=model, id_role=m.IdRole, empty_text=empty_text, row_height=36, min_section=28,
                         widths={m.COL_FLAG: 32, m.COL_DOCTOR: 86, m.COL_DEPARTMENT: 96, m.COL_SIGNED: 96,
                                 m.COL_WAITING: 80 if model.review else 120},
                         fixed=(m.COL_FLAG,), stretch=(m.COL_PATIENT,), object_name="ReviewTable", parent=parent)
