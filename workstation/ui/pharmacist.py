"""The pharmacist's window (prescription review, 审方). A placeholder until the prescription issue fills it."""
from __future__ import annotations

from typing import Any

from PySide6.QtWidgets import QWidget

from workstation.ui.placeholder import PlaceholderWindow


class PharmacistWindow(PlaceholderWindow):
    def __init__(self, *, staff: dict[str, Any], parent: QWidget | None = None) -> None:
        super().__init__(staff=staff, parent=parent)
        self.setObjectName("PharmacistWindow")
        self.retranslate()

    def heading(self) -> str:
        return self.tr("Prescription review")

    def body(self) -> str:
        return self.tr("Signed online prescriptions will be listed here for review: approve them, or return "
                       "them to the doctor with a reason.")
