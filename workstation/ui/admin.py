"""The administrator's window. A placeholder until the administration issue fills it."""
from __future__ import annotations

from typing import Any

from PySide6.QtWidgets import QWidget

from workstation.ui.placeholder import PlaceholderWindow


class AdminWindow(PlaceholderWindow):
    def __init__(self, *, staff: dict[str, Any], parent: QWidget | None = None) -> None:
        super().__init__(staff=staff, parent=parent)
        self.setObjectName("AdminWindow")
        self.retranslate()

    def heading(self) -> str:
        return self.tr("Administration")

    def body(self) -> str:
        return self.tr("Staff accounts, doctors' schedules and slots, the drug catalogue and fees.")
