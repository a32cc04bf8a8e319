"""What is waiting to reach the server and what the server refused, with its reason; retry or dismiss.

Opened from the status bar's outbox count. Refreshes itself on every outbox change while open and unsubscribes
when it closes.
"""
from __future__ import annotations

import datetime as dt
from typing import Any

from PySide6.QtCore import QCoreApplication, Qt
from PySide6.QtGui import QCloseEvent, QColor
from PySide6.QtWidgets import (
    QDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from workstation.services.ops import Op
from workstation.ui.i18n import LanguageAware


def action_name(kind: str) -> str:
    names = {
        "accept": QCoreApplication.translate("Actions", "Accept patient"),
        "save_record": QCoreApplication.translate("Actions", "Save record"),
        "finish": QCoreApplication.translate("Actions", "Finish visit"),
        "missed": QCoreApplication.translate("Actions", "Mark as missed"),
        "clinic_stop": QCoreApplication.translate("Actions", "Stop clinic"),
        # prescriptions: pharmacist
        "rx_approve": QCoreApplication.translate("Actions", "Approve prescription"),
        "rx_return": QCoreApplication.translate("Actions", "Return prescription"),
        "rx_dispense": QCoreApplication.translate("Actions", "Dispense prescription"),
        # refunds: clerk
        "refund_approve": QCoreApplication.translate("Actions", "Approve refund application"),
        "refund_reject": QCoreApplication.translate("Actions", "Reject refund application"),
        "refund_retry": QCoreApplication.translate("Actions", "Send refund again"),
        "window_refund": QCoreApplication.translate("Actions", "Window refund"),
        "drug_refund": QCoreApplication.translate("Actions", "Refund drug fee"),
    }
    return names.get(kind, kind)


class OutboxDialog(LanguageAware, QDialog):
    def __init__(self, *, outbox: Any, hub: Any, patient_name: Any = None, who: Any = None,
                 parent: QWidget | None = None) -> None:
        """``patient_name(appointment_id)`` names the patient of an appointment's action; ``who(item)``, when
        given, names the patient of any action (the clerk's are about refunds and prescriptions too)."""
        super().__init__(parent)
        self.setObjectName("OutboxDialog")
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.resize(860, 420)
        self._outbox = outbox
        self._hub = hub
        named = patient_name or (lambda _id: "")
        self._who = who or (lambda item: named(item.appointment_id) if item.appointment_id else "")
        self._items: list[Any] = []
        self.lbl_intro = QLabel(self)
        self.lbl_intro.setWordWrap(True)
        self.tree = QTreeWidget(self)
        self.tree.setRootIsDecorated(False)
        self.tree.setAlternatingRowColors(True)
        self.tree.setColumnCount(6)
        self.tree.header().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.tree.header().setStretchLastSection(True)
        self.tree.itemSelectionChanged.connect(self._update_buttons)
        self.lbl_empty = QLabel(self)
        self.lbl_empty.setObjectName("Muted")
        self.btn_retry = QPushButton(self)
        self.btn_dismiss = QPushButton(self)
        self.btn_close = QPushButton(self)
        self.btn_retry.clicked.connect(self._retry)
        self.btn_dismiss.clicked.connect(self._dismiss)
        self.btn_close.clicked.connect(self.close)
        buttons = QHBoxLayout()
        buttons.addWidget(self.btn_retry)
        buttons.addWidget(self.btn_dismiss)
        buttons.addStretch(1)
        buttons.addWidget(self.btn_close)
        layout = QVBoxLayout(self)
        layout.addWidget(self.lbl_intro)
        layout.addWidget(self.tree, 1)
        layout.addWidget(self.lbl_empty)
        layout.addLayout(buttons)
        hub.sig_outbox_changed.connect(self._on_changed)
        self.retranslate()
        self.reload()

    def retranslate(self) -> None:
        self.setWindowTitle(self.tr("Outbox"))
        self.lbl_intro.setText(self.tr("Actions are kept on this computer until the server confirms them. Pending "
                                       "ones are sent automatically when the connection is back; failed ones "
                                       "were refused by the server — read the reason, then retry or dismiss."))
        self.tree.setHeaderLabels([self.tr("Time"), self.tr("Action"), self.tr("Patient"), self.tr("State"),
                                   self.tr("Attempts"), self.tr("Reason")])
        self.lbl_empty.setText(self.tr("Nothing is waiting: every action reached the server."))
        self.btn_retry.setText(self.tr("Retry"))
        self.btn_dismiss.setText(self.tr("Dismiss"))
        self.btn_close.setText(self.tr("Close"))
        self._fill()

    def _on_changed(self, _pending: int, _failed: int) -> None:
        self.reload()

    def reload(self) -> None:
        outbox = self._outbox
        Op(lambda: outbox.items().result(), parent=self).success(self._loaded).run()

    def _loaded(self, items: list[Any]) -> None:
        self._items = list(items)
        self._fill()

    def state_name(self, state: str) -> str:
        return {"pending": self.tr("Pending"), "failed": self.tr("Failed"), "sent": self.tr("Sent")}.get(state, state)

    def _fill(self) -> None:
        self.tree.clear()
        for item in self._items:
            when = dt.datetime.fromtimestamp(item.created_at).strftime("%H:%M:%S")
            who = self._who(item)
            row = QTreeWidgetItem([when, action_name(item.kind), who, self.state_name(item.state),
                                   str(item.attempts), item.last_error or ""])
            row.setData(0, Qt.ItemDataRole.UserRole, item.id)
            row.setData(3, Qt.ItemDataRole.UserRole, item.state)
            if item.state == "failed":
                for col in range(6):
                    row.setForeground(col, QColor("#b42318"))
            row.setToolTip(5, item.last_error or "")
            self.tree.addTopLevelItem(row)
        self.lbl_empty.setVisible(not self._items)
        self._update_buttons()

    def _selected(self) -> tuple[int, str] | None:
        rows = self.tree.selectedItems()
        if not rows:
            return None
        return int(rows[0].data(0, Qt.ItemDataRole.UserRole)), str(rows[0].data(3, Qt.ItemDataRole.UserRole))

    def _update_buttons(self) -> None:
        sel = self._selected()
        self.btn_retry.setEnabled(sel is not None and sel[1] == "failed")
        self.btn_dismiss.setEnabled(sel is not None and sel[1] == "failed")

    def _retry(self) -> None:
        sel = self._selected()
        if sel:
            outbox = self._outbox
            Op(lambda: outbox.retry(sel[0]).result(), parent=self).success(lambda _r: self.reload()).run()

    def _dismiss(self) -> None:
        sel = self._selected()
        if sel:
            outbox = self._outbox
            Op(lambda: outbox.dismiss(sel[0]).result(), parent=self).success(lambda _r: self.reload()).run()

    def closeEvent(self, event: QCloseEvent) -> None:
        try:
            self._hub.sig_outbox_changed.disconnect(self._on_changed)
        except (RuntimeError, TypeError):
            pass
        super().closeEvent(event)
