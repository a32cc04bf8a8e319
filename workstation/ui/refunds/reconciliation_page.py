"""对账: a day's payments, refunds and refund exceptions (``GET /staff/reconciliation?day=``) with the totals an
accountant checks against the payment gateway's bill, and 导出CSV… (services/refund_export.py).

Today's figures follow the money events (reloaded a moment after a refund or payment changes); another day is
loaded when it is picked.
"""
from __future__ import annotations

import datetime as dt
import logging
from pathlib import Path
from typing import Any

from PySide6.QtCore import QDate, QStandardPaths, QTimer, Signal
from PySide6.QtWidgets import (
    QDateEdit,
    QFileDialog,
    QFrame,
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QPushButton,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from workstation.models.money import yuan
from workstation.models.queue import TZ
from workstation.models.refunds import DAY_REFUND_COLUMNS, EXCEPTION_COLUMNS, PAYMENT_COLUMNS, RecordsModel
from workstation.services.ops import Op
from workstation.services.refund_export import csv_filename, write_reconciliation_csv
from workstation.ui import theme
from workstation.ui.i18n import LanguageAware
from workstation.ui.record_table import RecordTable

log = logging.getLogger(__name__)

RELOAD_DELAY_MS = 800
TOTALS = ("paid", "refunded", "refunding", "exceptions", "net")


class Figure(QFrame):
    """One total: a caption, the amount large, the count small."""

    def __init__(self, *, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("Card")
        self.caption = QLabel(self)
        self.caption.setObjectName("FieldName")
        self.amount = QLabel(self)
        self.amount.setObjectName("FigureAmount")
        self.amount.setStyleSheet(f"font-size: 16pt; font-weight: bold; color: {theme.TEXT};")
        self.count = QLabel(self)
        self.count.setObjectName("Muted")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(14, 8, 14, 8)
        layout.setSpacing(2)
        layout.addWidget(self.caption)
        layout.addWidget(self.amount)
        layout.addWidget(self.count)

    def set(self, amount: str, count: str, *, colour: str | None = None) -> None:
        self.amount.setText(amount)
        self.count.setText(count)
        self.amount.setStyleSheet(f"font-size: 16pt; font-weight: bold; color: {colour or theme.TEXT};")


class ReconciliationPage(LanguageAware, QWidget):
    sig_loaded = Signal(object)  # the reconciliation dict
    sig_exported = Signal(str)  # the path written

    def __init__(self, *, api: Any, clock: Any = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("ReconciliationPage")
        self.api = api
        self._clock = clock or (lambda: dt.datetime.now(TZ))
        self.data: dict[str, Any] | None = None
        self._seq = 0
        self.lbl_day = QLabel(self)
        self.ed_day = QDateEdit(self)
        self.ed_day.setObjectName("ReconciliationDay")
        self.ed_day.setCalendarPopup(True)
        self.ed_day.setDisplayFormat("yyyy-MM-dd")
        self.ed_day.setMinimumWidth(130)
        self.btn_prev = QPushButton("‹", self)
        self.btn_next = QPushButton("›", self)
        for b in (self.btn_prev, self.btn_next):
            b.setFixedWidth(34)
        self.btn_today = QPushButton(self)
        self.btn_reload = QPushButton(self)
        self.btn_export = QPushButton(self)
        self.btn_export.setObjectName("Primary")
        self.btn_export.setEnabled(False)
        self.lbl_state = QLabel(self)
        self.lbl_state.setObjectName("Muted")
        self.lbl_error = QLabel(self)
        self.lbl_error.setObjectName("ErrorText")
        self.lbl_error.setWordWrap(True)
        self.lbl_error.hide()

        self.figures = {key: Figure(parent=self) for key in TOTALS}
        self.payments_model = RecordsModel(PAYMENT_COLUMNS, parent=self)
        self.refunds_model = RecordsModel(DAY_REFUND_COLUMNS, parent=self)
        self.exceptions_model = RecordsModel(EXCEPTION_COLUMNS, parent=self)
        self.payments = RecordTable(model=self.payments_model, id_role=RecordsModel.IdRole, row_height=30,
                                    empty_text=lambda: self.tr("No payments on this day."),
                                    widths={0: 150, 1: 210, 2: 80, 3: 100, 4: 190, 5: 90, 6: 90, 7: 110},
                                    object_name="ReconciliationPayments", parent=self)
        self.refunds = RecordTable(model=self.refunds_model, id_role=RecordsModel.IdRole, row_height=30,
                                   empty_text=lambda: self.tr("No refunds on this day."),
                                   widths={0: 150, 1: 210, 2: 90, 3: 210, 4: 150, 5: 90, 6: 110, 7: 150},
                                   object_name="ReconciliationRefunds", parent=self)
        self.exceptions = RecordTable(model=self.exceptions_model, id_role=RecordsModel.IdRole, row_height=30,
                                      empty_text=lambda: self.tr("No refund exceptions."),
                                      widths={0: 150, 1: 210, 2: 90, 3: 150, 4: 90, 5: 110},
                                      stretch=(6,), object_name="ReconciliationExceptions", parent=self)
        self.tables = QTabWidget(self)
        self.tables.setObjectName("ReconciliationTabs")
        self.tables.setDocumentMode(True)
        for table in (self.payments, self.refunds, self.exceptions):
            self.tables.addTab(table, "")

        bar = QHBoxLayout()
        bar.setSpacing(6)
        bar.addWidget(self.lbl_day)
        bar.addWidget(self.btn_prev)
        bar.addWidget(self.ed_day)
        bar.addWidget(self.btn_next)
        bar.addWidget(self.btn_today)
        bar.addSpacing(12)
        bar.addWidget(self.btn_reload)
        bar.addWidget(self.lbl_state, 1)
        bar.addWidget(self.btn_export)
        figures = QHBoxLayout()
        figures.setSpacing(10)
        for key in TOTALS:
            figures.addWidget(self.figures[key], 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(10, 10, 10, 6)
        layout.setSpacing(8)
        layout.addLayout(bar)
        layout.addWidget(self.lbl_error)
        layout.addLayout(figures)
        layout.addWidget(self.tables, 1)

        self._reload = QTimer(self)
        self._reload.setSingleShot(True)
        self._reload.setInterval(RELOAD_DELAY_MS)
        self._reload.timeout.connect(self.reload)
        today = self.today()
        self.ed_day.setMaximumDate(QDate(today.year, today.month, today.day))
        self.ed_day.setDate(QDate(today.year, today.month, today.day))
        self.ed_day.dateChanged.connect(lambda _d: self.reload())
        self.btn_prev.clicked.connect(lambda: self.ed_day.setDate(self.ed_day.date().addDays(-1)))
        self.btn_next.clicked.connect(lambda: self.ed_day.setDate(self.ed_day.date().addDays(1)))
        self.btn_today.clicked.connect(self.go_today)
        self.btn_reload.clicked.connect(self.reload)
        self.btn_export.clicked.connect(self.export_with_dialog)
        self.retranslate()
        self._show(None)

    # --- the day -----------------------------------------------------------------------------------------------

    def today(self) -> dt.date:
        return self._clock().astimezone(TZ).date()

    def day(self) -> dt.date:
        d = self.ed_day.date()
        return dt.date(d.year(), d.month(), d.day())

    def set_day(self, day: dt.date) -> None:
        self.ed_day.setDate(QDate(day.year, day.month, day.day))

    def go_today(self) -> None:
        today = self.today()
        self.ed_day.setMaximumDate(QDate(today.year, today.month, today.day))
        if self.day() == today:
            self.reload()
        else:
            self.set_day(today)

    def reload(self) -> None:
        self._seq += 1
        seq = self._seq
        day = self.day().isoformat()
        api = self.api
        self.lbl_state.setText(self.tr("Loading…"))
        self.btn_next.setEnabled(self.day() < self.today())

        def done(data: dict[str, Any]) -> None:
            if seq != self._seq:
                return
            self.lbl_error.hide()
            self._show(data)
            self.sig_loaded.emit(data)

        def failed(exc: BaseException) -> None:
            if seq != self._seq:
                return
            self.lbl_state.setText("")
            self.lbl_error.setText(self.tr("The reconciliation could not be loaded: %1")
                                   .replace("%1", getattr(exc, "message", None) or str(exc)))
            self.lbl_error.show()

        Op(lambda: api.reconciliation(day), parent=self).success(done).failure(failed).run()

    def on_money_events(self, events: list[dict[str, Any]]) -> None:
        """Today's figures follow the money (a refund settled, a payment made); another day's do not move."""
        if events:
            self.reload_soon()

    def reload_soon(self) -> None:
        """Reload a moment from now when today is shown (a burst of events costs one request)."""
        if self.day() == self.today():
            self._reload.start()

    # --- showing -------------------------------------------------------------------------------------------------

    def _show(self, data: dict[str, Any] | None) -> None:
        self.data = data
        d = data or {}
        self.payments_model.load(d.get("payments") or [])
        self.refunds_model.load(d.get("refunds") or [])
        self.exceptions_model.load(d.get("exceptions") or [])
        self.btn_export.setEnabled(data is not None)
        self._update_figures()
        self._update_tab_titles()
        if data is not None:
            now = self._clock().astimezone(TZ)
            self.lbl_state.setText(self.tr("Updated %1").replace("%1", now.strftime("%H:%M:%S")))

    def _update_figures(self) -> None:
        t = (self.data or {}).get("totals") or {}

        def n(key: str) -> int:
            return int(t.get(key) or 0)

        def count(key: str) -> str:
            return self.tr("%n transaction(s)", "", n(key))

        if self.data is None:
            for f in self.figures.values():
                f.set("—", "")
            return
        self.figures["paid"].set(yuan(n("paid_fen")), count("paid_count"))
        self.figures["refunded"].set(yuan(n("refunded_fen")), count("refunded_count"), colour="#1c6b35")
        self.figures["refunding"].set(yuan(n("refunding_fen")),
                                      self.tr("%n under review or on the way", "", n("refunding_count")),
                                      colour="#1849a9")
        self.figures["exceptions"].set(str(n("exception_count")), self.tr("to send again"),
                                       colour=theme.DANGER if n("exception_count") else None)
        self.figures["net"].set(yuan(n("net_fen")), self.tr("paid − refunded"), colour=theme.ACCENT_DARK)

    def _update_tab_titles(self) -> None:
        self.tables.setTabText(0, self.tr("Payments (%1)").replace("%1", str(self.payments_model.rowCount())))
        self.tables.setTabText(1, self.tr("Refunds (%1)").replace("%1", str(self.refunds_model.rowCount())))
        self.tables.setTabText(2, self.tr("Exceptions (%1)").replace("%1", str(self.exceptions_model.rowCount())))

    # --- export --------------------------------------------------------------------------------------------------

    def default_export_path(self) -> str:
        docs = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.DocumentsLocation) or str(Path.home())
        return str(Path(docs) / csv_filename(self.day_shown()))

    def day_shown(self) -> str:
        return str((self.data or {}).get("day") or self.day().isoformat())

    def export_with_dialog(self) -> None:
        if self.data is None:
            return
        path, _ = QFileDialog.getSaveFileName(self, self.tr("Export reconciliation"), self.default_export_path(),
                                              self.tr("CSV files (*.csv)"))
        if path:
            self.export_to(path)

    def export_to(self, path: str) -> Path | None:
        if self.data is None:
            return None
        try:
            written = write_reconciliation_csv(path, self.data)
        except OSError as exc:
            QMessageBox.warning(self, self.tr("Export reconciliation"),
                                self.tr("The file could not be written: %1").replace("%1", exc.strerror or str(exc)))
            return None
        self.lbl_state.setText(self.tr("Saved %1").replace("%1", written.name))
        self.sig_exported.emit(str(written))
        return written

    def retranslate(self) -> None:
        self.lbl_day.setText(self.tr("Day"))
        self.btn_prev.setToolTip(self.tr("The day before"))
        self.btn_next.setToolTip(self.tr("The day after"))
        self.btn_today.setText(self.tr("Today"))
        self.btn_reload.setText(self.tr("Reload"))
        self.btn_export.setText(self.tr("Export CSV…"))
        self.btn_export.setToolTip(self.tr("For the accountant: UTF-8 (opens in Excel), amounts in yuan"))
        captions = {"paid": self.tr("Payments received"), "refunded": self.tr("Refunded"),
                    "refunding": self.tr("Refunds not yet completed"), "exceptions": self.tr("Refund exceptions"),
                    "net": self.tr("Net received")}
        for key, text in captions.items():
            self.figures[key].caption.setText(text)
        self._update_figures()
        self._update_tab_titles()
        for table in (self.payments, self.refunds, self.exceptions):
            table.retranslate()
