"""查询与退费: find an order by the patient's mobile, ID number or name, or by an order, appointment or refund
number; see what was paid, refunded and is still refundable, with the order's refunds; refund at the window
(窗口退费…), refund a paid, not dispensed prescription (退药费…), print a refund receipt.

The page searches (``GET /staff/orders?q=``) and shows; the window confirms and sends the refunds through the
outbox. Money events about a shown order repeat the search quietly, so a refund moves from 退费中 to 已退费
while the clerk looks at it.
"""
from __future__ import annotations

import logging
from typing import Any

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from workstation.models.money import yuan
from workstation.models.refunds import (
    ORDER_REFUND_COLUMNS,
    RECEIPT_STATUSES,
    OrderListModel,
    RecordsModel,
    full_time,
    order_key,
    order_refund_label,
    order_status_text,
    purpose_label,
)
from workstation.services.ops import Op
from workstation.ui import theme
from workstation.ui.i18n import LanguageAware
from workstation.ui.record_table import RecordTable
from workstation.ui.widgets import FieldGrid

log = logging.getLogger(__name__)

ORDER_FIELDS = ("appointment", "visit", "status", "trade_no", "paid", "refunded", "id_number", "mobile")
REFRESH_DELAY_MS = 300


def action_target(row: dict[str, Any], action: str) -> str:
    """The outbox target of a search row's action (what the window's pending map is keyed by)."""
    if action == "drug_refund":
        return f"prescription:{int(row.get('prescription_id') or 0)}"
    return f"appointment:{int(row.get('appointment_id') or 0)}"


class OrderDetail(LanguageAware, QFrame):
    """The selected order: its facts, its refunds, and the actions its ``actions`` allow."""

    sig_window_refund_requested = Signal(object)  # the OrderRow
    sig_drug_refund_requested = Signal(object)
    sig_print_requested = Signal(object)  # the RefundPublic to print

    def __init__(self, *, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("Card")
        self.row: dict[str, Any] | None = None
        self.pending: str | None = None
        self.can_print = False

        self.lbl_name = QLabel(self)
        self.lbl_name.setObjectName("PatientName")
        self.lbl_kind = QLabel(self)
        self.lbl_kind.setObjectName("Muted")
        self.lbl_refund = QLabel(self)
        self.lbl_refund.setObjectName("RefundStatus")
        self.lbl_refundable = QLabel(self)
        self.lbl_refundable.setObjectName("Refundable")
        self.grid = FieldGrid(self, list(ORDER_FIELDS))
        self.lbl_refunds = QLabel(self)
        self.lbl_refunds.setObjectName("SectionTitle")
        self.refunds_model = RecordsModel(ORDER_REFUND_COLUMNS, parent=self)
        self.refunds = RecordTable(model=self.refunds_model, id_role=RecordsModel.IdRole, row_height=30,
                                   empty_text=lambda: self.tr("No refunds on this order."),
                                   widths={0: 96, 1: 180, 2: 100, 3: 80, 4: 80, 5: 96, 6: 80},
                                   object_name="OrderRefunds", parent=self)
        self.lbl_empty = QLabel(self)
        self.lbl_empty.setObjectName("Placeholder")
        self.lbl_empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.lbl_empty.setWordWrap(True)
        self.lbl_action = QLabel(self)
        self.lbl_action.setWordWrap(True)
        self.lbl_action.setObjectName("InfoText")
        self.lbl_action.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.lbl_action.hide()
        self.btn_window = QPushButton(self)
        self.btn_window.setObjectName("Primary")
        self.btn_drug = QPushButton(self)
        self.btn_drug.setObjectName("Primary")
        self.btn_print = QPushButton(self)
        self.btn_window.clicked.connect(lambda: self._emit(self.sig_window_refund_requested, "window_refund"))
        self.btn_drug.clicked.connect(lambda: self._emit(self.sig_drug_refund_requested, "drug_refund"))
        self.btn_print.clicked.connect(self._print)
        self.refunds.sig_selected.connect(lambda _id: self._update_buttons())
        self.refunds.sig_cleared.connect(self._update_buttons)
        self.refunds.sig_activated.connect(lambda _id: self._print())

        head = QHBoxLayout()
        head.setSpacing(12)
        head.addWidget(self.lbl_name)
        head.addWidget(self.lbl_kind)
        head.addStretch(1)
        head.addWidget(self.lbl_refundable)
        head.addWidget(self.lbl_refund)
        self.facts = QWidget(self)
        facts_layout = QVBoxLayout(self.facts)
        facts_layout.setContentsMargins(0, 0, 0, 0)
        facts_layout.addWidget(self.grid)
        facts_layout.addStretch(1)
        self.refunds_box = QWidget(self)
        refunds_layout = QVBoxLayout(self.refunds_box)
        refunds_layout.setContentsMargins(0, 0, 0, 0)
        refunds_layout.setSpacing(4)
        refunds_layout.addWidget(self.lbl_refunds)
        refunds_layout.addWidget(self.refunds, 1)
        body = QHBoxLayout()
        body.setSpacing(18)
        body.addWidget(self.facts, 4)
        body.addWidget(self.refunds_box, 6)
        actions = QHBoxLayout()
        actions.setSpacing(10)
        actions.addWidget(self.btn_print)
        actions.addStretch(1)
        actions.addWidget(self.btn_drug)
        actions.addWidget(self.btn_window)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(18, 12, 18, 12)
        layout.setSpacing(8)
        layout.addLayout(head)
        layout.addLayout(body, 1)
        layout.addWidget(self.lbl_empty, 1)
        layout.addWidget(self.lbl_action)
        layout.addLayout(actions)
        self.retranslate()
        self.show_row(None)

    @property
    def key(self) -> str | None:
        return None if self.row is None else order_key(self.row)

    def show_row(self, row: dict[str, Any] | None, *, pending: str | None = None) -> None:
        same = row is not None and self.row is not None and order_key(row) == order_key(self.row)
        kept = self.refunds.selected_id() if same else None
        self.row = row
        self.pending = pending
        has = row is not None
        for w in (self.lbl_name, self.lbl_kind, self.lbl_refund, self.lbl_refundable, self.facts, self.refunds_box):
            w.setVisible(has)
        self.lbl_empty.setVisible(not has)
        if not same:
            self.lbl_action.hide()
        if row is None:
            self.refunds_model.load([])
            self._update_buttons()
            return
        r = row
        self.lbl_name.setText(str(r.get("patient_name") or ""))
        self.lbl_kind.setText(purpose_label("drug" if r.get("kind") == "drug" else "consultation"))
        label = order_refund_label(r.get("refund_status"), str(r.get("refund_status_label") or ""))
        self.lbl_refund.setText(label)
        self.lbl_refund.setVisible(bool(label))
        colours = {"refunded": ("#dff3e4", "#1c6b35"), "refunding": ("#dcebff", "#1849a9"),
                   "reviewing": ("#fff1d6", "#8a4b00"), "rejected": ("#ececec", "#555d66")}
        bg, fg = colours.get(str(r.get("refund_status")), ("#eef2f6", "#40515f"))
        self.lbl_refund.setStyleSheet(f"background: {bg}; color: {fg}; border-radius: 10px; padding: 2px 12px;"
                                      "font-weight: bold;")
        refundable = int(r.get("refundable_fen") or 0)
        self.lbl_refundable.setText(self.tr("Refundable %1").replace("%1", yuan(refundable)))
        self.lbl_refundable.setStyleSheet(f"font-weight: bold; color: {theme.ACCENT_DARK if refundable else '#8a949e'};")
        refunded, refunding = int(r.get("refunded_fen") or 0), int(r.get("refunding_fen") or 0)
        refunded_text = yuan(refunded)
        if refunding:
            refunded_text += "  " + self.tr("(%1 on the way)").replace("%1", yuan(refunding))
        paid = yuan(r.get("paid_fen")) if r.get("payment_id") else self.tr("Not paid")
        if r.get("paid_at"):
            paid = self.tr("%1 (paid %2)").replace("%1", paid).replace("%2", full_time(r.get("paid_at")))
        self.grid.set_values({
            "appointment": str(r.get("appointment_number") or ""),
            "visit": " · ".join(str(x) for x in (full_time(r.get("starts_at")), r.get("doctor_name"),
                                                 r.get("department_name")) if x),
            "status": order_status_text(r),
            "trade_no": str(r.get("out_trade_no") or ""),
            "paid": paid,
            "refunded": refunded_text,
            "id_number": str(r.get("id_number_masked") or ""),
            "mobile": str(r.get("mobile_masked") or ""),
        })
        refunds = sorted(r.get("refunds") or [], key=lambda x: (str(x.get("created_at") or ""), int(x["id"])),
                         reverse=True)
        self.refunds_model.load(refunds)
        if kept is not None:
            self.refunds.select(kept)
        elif refunds and any(x.get("status") in RECEIPT_STATUSES for x in refunds):
            first = next(i for i, x in enumerate(refunds) if x.get("status") in RECEIPT_STATUSES)
            self.refunds.select_row(first)
        self.lbl_refunds.setText(self.tr("Refunds of this order (%1)").replace("%1", str(len(refunds))))
        self._update_buttons()

    def selected_refund(self) -> dict[str, Any] | None:
        refund_id = self.refunds.selected_id()
        if refund_id is None:
            return None
        row = self.refunds.row_of(refund_id)
        return None if row is None else self.refunds_model.row_at(row)

    def set_pending(self, action: str | None) -> None:
        if action is None and self.pending is not None:
            self.lbl_action.hide()
        self.pending = action
        self._update_buttons()

    def show_action_error(self, text: str) -> None:
        self.lbl_action.setStyleSheet(f"color: {theme.DANGER}; background: #fdecea; border: 1px solid #f5c2bc;"
                                      " border-radius: 4px; padding: 6px 8px;")
        self.lbl_action.setText(text)
        self.lbl_action.setVisible(bool(text))

    def show_info(self, text: str) -> None:
        self.lbl_action.setStyleSheet("")
        self.lbl_action.setText(text)
        self.lbl_action.setVisible(bool(text))

    def _emit(self, sig: Any, action: str) -> None:
        if self.row is not None and self.pending is None and action in (self.row.get("actions") or []):
            sig.emit(self.row)

    def _print(self) -> None:
        refund = self.selected_refund()
        if refund is not None and self.can_print and refund.get("status") in RECEIPT_STATUSES:
            self.sig_print_requested.emit(refund)

    def _update_buttons(self) -> None:
        actions = set((self.row or {}).get("actions") or [])
        idle = self.pending is None
        drug = (self.row or {}).get("kind") == "drug"
        self.btn_window.setVisible(self.row is not None and not drug)
        self.btn_drug.setVisible(self.row is not None and drug)
        self.btn_window.setEnabled(idle and "window_refund" in actions)
        self.btn_drug.setEnabled(idle and "drug_refund" in actions)
        self.btn_window.setToolTip("" if "window_refund" in actions or self.row is None else self._why_not())
        self.btn_drug.setToolTip("" if "drug_refund" in actions or self.row is None else self._why_not())
        refund = self.selected_refund()
        self.btn_print.setVisible(self.row is not None)
        self.btn_print.setEnabled(self.can_print and refund is not None and refund.get("status") in RECEIPT_STATUSES)
        if not self.can_print:
            self.btn_print.setToolTip(self.tr("Receipt printing arrives with a later release."))
        elif refund is None:
            self.btn_print.setToolTip(self.tr("Select a refund in the list to print its receipt."))
        else:
            self.btn_print.setToolTip("")
        if not idle:
            self.show_info(self.tr("Sending the refund… it is kept and sent again if the network drops, and counts "
                                   "once."))

    def _why_not(self) -> str:
        r = self.row or {}
        if not r.get("payment_id"):
            return self.tr("Nothing was paid on this order.")
        if int(r.get("refundable_fen") or 0) <= 0:
            return self.tr("Nothing is left to refund on this order.")
        if r.get("kind") == "drug":
            return self.tr("Only a paid prescription that has not been dispensed or shipped can be refunded here.")
        return self.tr("This appointment cannot be refunded at the window in its current state.")

    def retranslate(self) -> None:
        self.btn_window.setText(self.tr("Window refund…"))
        self.btn_drug.setText(self.tr("Refund drug fee…"))
        self.btn_print.setText(self.tr("Print refund receipt…"))
        self.grid.set_names({
            "appointment": self.tr("Appointment no."), "visit": self.tr("Visit"), "status": self.tr("Status"),
            "trade_no": self.tr("Order no."), "paid": self.tr("Paid"), "refunded": self.tr("Refunded"),
            "id_number": self.tr("ID number"), "mobile": self.tr("Mobile"),
        })
        self.lbl_empty.setText(self.tr("Select an order above to see its payment and refunds."))
        if self.row is not None:
            self.show_row(self.row, pending=self.pending)
        else:
            self._update_buttons()


class SearchPage(LanguageAware, QWidget):
    """The search box, the results, the selected order."""

    sig_searched = Signal(str, int)  # the query, the number of rows

    def __init__(self, *, api: Any, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("SearchPage")
        self.api = api
        self.acting: dict[str, str] = {}  # outbox target → action of this desk on its way (the window keeps it)
        self._seq = 0
        self._searching = False
        self.model = OrderListModel(parent=self)
        self.ed_query = QLineEdit(self)
        self.ed_query.setObjectName("OrderSearch")
        self.ed_query.setClearButtonEnabled(True)
        self.ed_query.setMaxLength(64)
        self.ed_query.setMinimumWidth(360)
        self.btn_search = QPushButton(self)
        self.btn_search.setObjectName("Primary")
        self.lbl_hint = QLabel(self)
        self.lbl_hint.setObjectName("Muted")
        self.lbl_error = QLabel(self)
        self.lbl_error.setObjectName("ErrorText")
        self.lbl_error.setWordWrap(True)
        self.lbl_error.hide()
        self.results = RecordTable(model=self.model, id_role=OrderListModel.KeyRole,
                                   empty_text=self._empty_text, object_name="OrderResults",
                                   widths={0: 92, 1: 112, 2: 96, 3: 190, 4: 160, 5: 110, 6: 140, 7: 84, 8: 84,
                                           9: 84, 10: 150}, parent=self)
        self.detail = OrderDetail(parent=self)
        self._refresh = QTimer(self)
        self._refresh.setSingleShot(True)
        self._refresh.setInterval(REFRESH_DELAY_MS)
        self._refresh.timeout.connect(self.refresh)

        bar = QHBoxLayout()
        bar.setSpacing(8)
        bar.addWidget(self.ed_query, 2)
        bar.addWidget(self.btn_search)
        bar.addWidget(self.lbl_hint, 3)
        top = QWidget(self)
        top_layout = QVBoxLayout(top)
        top_layout.setContentsMargins(0, 0, 0, 0)
        top_layout.setSpacing(6)
        top_layout.addLayout(bar)
        top_layout.addWidget(self.lbl_error)
        top_layout.addWidget(self.results, 1)
        self.splitter = QSplitter(Qt.Orientation.Vertical, self)
        self.splitter.setChildrenCollapsible(False)
        top.setMinimumHeight(170)
        self.detail.setMinimumHeight(250)
        self.splitter.addWidget(top)
        self.splitter.addWidget(self.detail)
        self.splitter.setStretchFactor(0, 4)
        self.splitter.setStretchFactor(1, 5)
        self.splitter.setSizes([400, 500])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(10, 10, 10, 6)
        layout.addWidget(self.splitter)

        self.ed_query.returnPressed.connect(self.search_typed)
        self.btn_search.clicked.connect(self.search_typed)
        self.results.sig_selected.connect(self._selected)
        self.results.sig_cleared.connect(lambda: self.detail.show_row(None))
        self.retranslate()

    # --- searching -----------------------------------------------------------------------------------------------

    def _empty_text(self) -> str:
        if self.model.query:
            return self.tr("Nothing found for “%1”.").replace("%1", self.model.query)
        return self.tr("Type a mobile number, ID number, name, order, appointment or refund number and press Enter.")

    def search_typed(self) -> None:
        self.search(self.ed_query.text())

    def search(self, query: str) -> None:
        q = query.strip()
        if not q:
            self.show_error(self.tr("Type what to search for."))
            return
        self.ed_query.setText(q)
        self._run(q, quiet=False)

    def refresh(self) -> None:
        """The same search again (after an action or a money event); the selection stays."""
        if self.model.query:
            self._run(self.model.query, quiet=True)

    def refresh_soon(self) -> None:
        self._refresh.start()

    def _run(self, q: str, *, quiet: bool) -> None:
        self._seq += 1
        seq = self._seq
        api = self.api
        if not quiet:
            self._searching = True
            self.btn_search.setEnabled(False)
            self.lbl_error.hide()

        def done(rows: list[dict[str, Any]]) -> None:
            if seq != self._seq:
                return
            self._searching = False
            self.btn_search.setEnabled(True)
            if quiet and q == self.model.query:
                self.model.update_rows(rows)
                self._selected(self.results.selected_id())
            else:
                self.model.load(q, rows)
                self.results.retranslate()
                if rows:
                    self.results.select_row(0)
                else:
                    self.detail.show_row(None)
            self.sig_searched.emit(q, len(rows))

        def failed(exc: BaseException) -> None:
            if seq != self._seq:
                return
            self._searching = False
            self.btn_search.setEnabled(True)
            if not quiet:
                self.show_error(getattr(exc, "message", None) or str(exc))
            else:
                log.info("order search not refreshed: %s", exc)

        Op(lambda: api.orders(q), parent=self).success(done).failure(failed).run()

    def show_error(self, text: str) -> None:
        self.lbl_error.setText(text)
        self.lbl_error.setVisible(bool(text))

    # --- the selection -------------------------------------------------------------------------------------------

    def selected_row(self) -> dict[str, Any] | None:
        key = self.results.selected_id()
        return None if key is None else self.model.by_key(str(key))

    def _selected(self, key: Any) -> None:
        row = None if key is None else self.model.by_key(str(key))
        self.detail.show_row(row, pending=self.pending_of(row))

    def pending_of(self, row: dict[str, Any] | None) -> str | None:
        if row is None:
            return None
        for action in ("window_refund", "drug_refund"):
            if action_target(row, action) in self.acting:
                return self.acting[action_target(row, action)]
        return None

    def update_pending(self) -> None:
        self.detail.set_pending(self.pending_of(self.detail.row))

    def on_money_events(self, events: list[dict[str, Any]]) -> None:
        if any(self.model.touched_by(e) for e in events):
            self.refresh_soon()

    def retranslate(self) -> None:
        self.ed_query.setPlaceholderText(self.tr("Mobile, ID number, name, order / appointment / refund number"))
        self.btn_search.setText(self.tr("Search"))
        self.lbl_hint.setText(self.tr("Enter searches. A name finds every patient whose name contains it."))
        self.results.retranslate()
