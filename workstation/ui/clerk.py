"""The refund-window clerk's window. A placeholder until the refund issue fills it."""
from __future__ import annotations

from typing import Any

from PySide6.QtWidgets import QWidget

from workstation.ui.placeholder import PlaceholderWindow


class ClerkWindow(PlaceholderWindow):
    def __init__(self, *, staff: dict[str, Any], parent: QWidget | None = None) -> None:
        super().__init__(staff=staff, parent=parent)
        self.setObjectName("ClerkWindow")
        self.retranslate()

    def heading(self) -> str:
        return self.tr("Refund window")

    def body(self) -> str:
        return self.tr("Find an appointment or an order, approve or reject refund applications, perform "
                       "window refunds and print refund receipts.")
