"""The refund-window clerk's window (退费窗口): a shell that lays out the parts and wires them to the services.

Four tabs: 退号申请 — the live queue of patients' refund applications, oldest first with the waiting clock, the
selected one in full with 同意退费 and 拒绝…; 查询与退费 — find an order, see its refunds, refund at the window
or refund a drug fee, print a receipt; 退款异常 — refunds the payment gateway refused or closed, 重新发起; 对账 —
the day's payments, refunds and exceptions with their totals and a CSV export.

Every action that moves money goes through the outbox (stored first, sent exactly once with an idempotency
key): a dropped network keeps it and sends it again, and the server's answer for that key makes a second send
count once. While an action is on its way its buttons are disabled and a second one for the same refund,
appointment or prescription is refused here, so a double click never pays anything twice. The answers and the
money events keep every tab current, so an application approved at another desk disappears here by itself.
"""
from __future__ import annotations

import logging
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QFrame, QLabel, QMessageBox, QSplitter, QTabWidget, QVBoxLayout, QWidget

from workstation.models.money import yuan
from workstation.models.refunds import APPLICATIONS, EXCEPTIONS, RefundListModel, full_time, refund_amount_of
from workstation.services import api as api_mod
from workstation.services.ops import Op
from workstation.services.refund_feed import RefundFeed
from workstation.ui.base_window import StaffWindow
from workstation.ui.outbox_dialog import OutboxDialog
from workstation.ui.refunds.dialogs import ConfirmDialog, RefundReasonDialog, RejectDialog
from workstation.ui.refunds.printing import receipt_printing
from workstation.ui.refunds.reconciliation_page import ReconciliationPage
from workstation.ui.refunds.refund_detail import RefundDetailPanel
from workstation.ui.refunds.search_page import SearchPage, action_target
from workstation.ui.record_table import RecordTable

log = logging.getLogger(__name__)

TAB_APPLICATIONS, TAB_SEARCH, TAB_EXCEPTIONS, TAB_RECONCILIATION = range(4)


def refund_target(refund_id: int) -> str:
    return f"refund:{refund_id}"


class ClerkWindow(StaffWindow):
    USES_SESSION = True

    def __init__(self, *, session: Any, settings: Any = None, parent: QWidget | None = None) -> None:
        super().__init__(staff=session.staff, parent=parent)
        self.setObjectName("ClerkWindow")
        self.session = session
        self.settings = settings
        self.hub = session.hub
        self._detail_seq = 0
        self._acting: dict[str, str] = {}  # outbox target ("refund:12", "appointment:5") → action on its way
        self.reject_reasons: list[dict[str, Any]] = []
        self.printing = receipt_printing()
        self.preview_op: Any = None

        # --- the parts --------------------------------------------------------------------------------------------
        self.applications_model = RefundListModel(kind=APPLICATIONS, parent=self)
        self.exceptions_model = RefundListModel(kind=EXCEPTIONS, parent=self)
        self.models = (self.applications_model, self.exceptions_model)
        self.feed = RefundFeed(models=list(self.models), api=session.api, hub=self.hub, parent=self)

        am = self.applications_model
        self.applications_view = RecordTable(
            model=am, id_role=RefundListModel.IdRole, object_name="ApplicationsTable", parent=self,
            empty_text=lambda: self.tr("No refund applications are waiting. A patient's application appears here "
                                       "as soon as it is made."),
            widths={am.col("waiting"): 100, am.col("patient"): 84, am.col("appointment"): 186,
                    am.col("doctor"): 150, am.col("visit"): 96, am.col("amount"): 78},
            stretch=(am.col("reason"),))
        self.application_detail = RefundDetailPanel(kind=APPLICATIONS, parent=self)
        self.lbl_applications = QLabel(self)
        self.lbl_applications.setObjectName("CardTitle")
        self.lbl_applications_sum = QLabel(self)
        self.lbl_applications_sum.setObjectName("Muted")
        self.applications_page = self._split_page(self.lbl_applications, self.lbl_applications_sum,
                                                  self.applications_view, self.application_detail)

        self.search_page = SearchPage(api=session.api, parent=self)
        self.search_page.detail.can_print = self.printing is not None
        self.search_page.detail.retranslate()

        em = self.exceptions_model
        self.exceptions_view = RecordTable(
            model=em, id_role=RefundListModel.IdRole, object_name="ExceptionsTable", parent=self,
            empty_text=lambda: self.tr("No refund exceptions. A refund the payment gateway refuses or closes "
                                       "appears here to be sent again."),
            widths={em.col("changed"): 96, em.col("patient"): 84, em.col("refund_no"): 180, em.col("path"): 110,
                    em.col("amount"): 78, em.col("status"): 96},
            stretch=(em.col("error"),))
        self.exception_detail = RefundDetailPanel(kind=EXCEPTIONS, parent=self)
        self.lbl_exceptions = QLabel(self)
        self.lbl_exceptions.setObjectName("CardTitle")
        self.lbl_exceptions_sum = QLabel(self)
        self.lbl_exceptions_sum.setObjectName("Muted")
        self.exceptions_page = self._split_page(self.lbl_exceptions, self.lbl_exceptions_sum, self.exceptions_view,
                                                self.exception_detail)

        self.reconciliation_page = ReconciliationPage(api=session.api, parent=self)

        self.tabs = QTabWidget(self)
        self.tabs.setObjectName("ClerkTabs")
        self.tabs.setDocumentMode(True)
        for page in (self.applications_page, self.search_page, self.exceptions_page, self.reconciliation_page):
            self.tabs.addTab(page, "")
        self.setCentralWidget(self.tabs)

        # --- menus ----------------------------------------------------------------------------------------------
        self.menu_refunds = self.add_work_menu(refresh=self.reload_all, open_outbox=self.open_outbox)
        self.act_find = QAction(self)
        self.act_find.setShortcut(QKeySequence.StandardKey.Find)
        self.act_find.triggered.connect(self.focus_search)
        self.menu_refunds.addSeparator()
        self.menu_refunds.addAction(self.act_find)

        # --- wiring -----------------------------------------------------------------------------------------------
        self.applications_view.sig_selected.connect(lambda rid: self._on_selected(APPLICATIONS, int(rid)))
        self.applications_view.sig_cleared.connect(lambda: self.application_detail.show_refund(None))
        self.exceptions_view.sig_selected.connect(lambda rid: self._on_selected(EXCEPTIONS, int(rid)))
        self.exceptions_view.sig_cleared.connect(lambda: self.exception_detail.show_refund(None))
        for model in self.models:
            model.sig_count_changed.connect(lambda _n: self._update_counts())
            model.rowsAboutToBeRemoved.connect(lambda _p, first, _last, m=model: self._row_leaving(m, first))
        self.applications_model.rowsInserted.connect(self._arrived)
        self.tabs.currentChanged.connect(self._tab_changed)
        self.feed.sig_refund_changed.connect(self._on_refund_changed)
        self.feed.sig_refund_loaded.connect(self._on_refund_loaded)
        self.feed.sig_money_events.connect(self.search_page.on_money_events)
        self.feed.sig_money_events.connect(self.reconciliation_page.on_money_events)
        self.feed.sig_load_failed.connect(self._load_failed)
        self.application_detail.sig_approve_requested.connect(self.ask_approve)
        self.application_detail.sig_reject_requested.connect(self.ask_reject)
        self.exception_detail.sig_retry_requested.connect(self.ask_retry)
        self.search_page.detail.sig_window_refund_requested.connect(self.ask_window_refund)
        self.search_page.detail.sig_drug_refund_requested.connect(self.ask_drug_refund)
        self.search_page.detail.sig_print_requested.connect(self.print_receipt)
        self.retranslate()

    def _split_page(self, title: QLabel, summary: QLabel, table: RecordTable, detail: QWidget) -> QSplitter:
        left = QWidget(self)
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(10, 10, 4, 6)
        left_layout.setSpacing(6)
        left_layout.addWidget(title)
        left_layout.addWidget(summary)
        left_layout.addWidget(table, 1)
        card = QFrame(self)
        card.setObjectName("Card")
        card_layout = QVBoxLayout(card)
        card_layout.setContentsMargins(18, 14, 18, 14)
        card_layout.addWidget(detail)
        right = QWidget(self)
        right_layout = QVBoxLayout(right)
        right_layout.setContentsMargins(4, 10, 10, 6)
        right_layout.addWidget(card)
        splitter = QSplitter(Qt.Orientation.Horizontal, self)
        splitter.setChildrenCollapsible(False)
        left.setMinimumWidth(480)
        right.setMinimumWidth(440)
        splitter.addWidget(left)
        splitter.addWidget(right)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 2)
        splitter.setSizes([900, 560])
        return splitter

    # --- life -------------------------------------------------------------------------------------------------

    def start(self) -> None:
        """Subscribe, then load the lists and start the stream from the cursor read before the snapshots."""
        self.attach()
        self.start_live(self.session, self.feed)
        self.load_reject_reasons()
        self.reconciliation_page.reload()
        self._mark_queued_actions()

    def hub_connections(self) -> list[tuple[Any, Any]]:
        return [(self.hub.sig_outbox_item, self._on_outbox_item)]

    def reload_all(self) -> None:
        self.feed.reload()
        self.search_page.refresh()
        self.reconciliation_page.reload()
        if not self.reject_reasons:
            self.load_reject_reasons()

    def load_reject_reasons(self, then: Any = None) -> None:
        api = self.session.api

        def done(reasons: list[dict[str, Any]]) -> None:
            self.reject_reasons = list(reasons or [])
            if then is not None:
                then()

        def failed(exc: BaseException) -> None:
            log.info("reject reasons not loaded: %s", exc)
            if then is not None:
                then()

        Op(api.reject_reasons, parent=self).success(done).failure(failed).run()

    def _mark_queued_actions(self) -> None:
        """Actions of an earlier run still in the outbox (a crash, a restart): their buttons stay disabled until
        the server has answered them."""
        outbox = self.session.outbox
        if outbox is None:
            return

        def mark(items: list[Any]) -> None:
            for item in items:
                if item.kind not in api_mod.REFUND_ACTION_KINDS:
                    continue
                target = api_mod.refund_action_target(item.kind, item.path)
                if target is not None:
                    self._set_pending(f"{target[0]}:{target[1]}", self._action_of(item.kind))

        Op(lambda: outbox.items(states=("pending",)).result(), parent=self).success(mark) \
            .failure(lambda exc: log.info("outbox not read: %s", exc)).run()

    # --- selection → the refund in full ------------------------------------------------------------------------

    def view_of(self, kind: str) -> RecordTable:
        return self.applications_view if kind == APPLICATIONS else self.exceptions_view

    def detail_of(self, kind: str) -> RefundDetailPanel:
        return self.application_detail if kind == APPLICATIONS else self.exception_detail

    def model_of(self, kind: str) -> RefundListModel:
        return self.applications_model if kind == APPLICATIONS else self.exceptions_model

    def _tab_changed(self, index: int) -> None:
        if index == TAB_RECONCILIATION and self.reconciliation_page.data is None:
            self.reconciliation_page.reload()
        if index == TAB_SEARCH:
            self.search_page.ed_query.setFocus()

    def _on_selected(self, kind: str, refund_id: int) -> None:
        entry = self.model_of(kind).entry_by_id(refund_id)
        detail = self.detail_of(kind)
        pending = self._acting.get(refund_target(refund_id))
        if entry is not None and entry.refund is not None:
            detail.show_refund(entry.refund, pending=pending)
        elif detail.refund_id != refund_id:
            detail.show_refund(None)
        self.load_detail(refund_id)

    def load_detail(self, refund_id: int) -> None:
        """The refund as the server has it now (the list's copy may be a snapshot's)."""
        self._detail_seq += 1
        seq = self._detail_seq
        api = self.session.api

        def done(refund: dict[str, Any]) -> None:
            if seq == self._detail_seq:
                self._on_refund_loaded(refund)

        def failed(exc: BaseException) -> None:
            if seq != self._detail_seq:
                return
            for kind in (APPLICATIONS, EXCEPTIONS):
                if self.view_of(kind).selected_id() == refund_id:
                    self.detail_of(kind).show_action_error(getattr(exc, "message", None) or str(exc))

        Op(lambda: api.refund(refund_id), parent=self).success(done).failure(failed).run()

    def _on_refund_loaded(self, refund: dict[str, Any]) -> None:
        refund_id = int(refund["id"])
        for kind in (APPLICATIONS, EXCEPTIONS):
            if self.view_of(kind).selected_id() == refund_id:
                self.detail_of(kind).show_refund(refund, pending=self._acting.get(refund_target(refund_id)))

    def _on_refund_changed(self, refund_id: int) -> None:
        for kind in (APPLICATIONS, EXCEPTIONS):
            if self.detail_of(kind).refund_id == refund_id and self.view_of(kind).selected_id() == refund_id:
                self.load_detail(refund_id)
                return

    def _row_leaving(self, model: RefundListModel, row: int) -> None:
        """The shown refund left its list: by this desk's action, or dealt with at another desk (say so)."""
        entry = model.entry_at(row)
        view = self.view_of(model.kind)
        if entry is None or entry.refund_id != view.selected_id():
            return
        if refund_target(entry.refund_id) not in self._acting:
            if model.kind == APPLICATIONS:
                text = self.tr("%1's application was dealt with at another desk.")
            else:
                text = self.tr("%1's refund was sent again at another desk.")
            self.statusBar().showMessage(text.replace("%1", entry.patient_name or entry.out_refund_no), 10000)

    def _arrived(self, _parent: Any, first: int, last: int) -> None:
        """A new application (live, not a reload): said in the status bar, whichever tab is open."""
        n = last - first + 1
        self.statusBar().showMessage(
            self.tr("%n new refund application(s) to review.", "", n), 8000)

    # --- actions → outbox ----------------------------------------------------------------------------------------

    @staticmethod
    def _action_of(kind: str) -> str:
        return {"refund_approve": "approve", "refund_reject": "reject", "refund_retry": "retry"}.get(kind, kind)

    def is_acting(self, target: str) -> bool:
        return target in self._acting

    def _set_pending(self, target: str, action: str | None) -> None:
        if action is None:
            self._acting.pop(target, None)
        else:
            self._acting[target] = action
        kind, _, ident = target.partition(":")
        if kind == "refund":
            refund_id = int(ident)
            for model in self.models:
                model.set_pending(refund_id, action)
            for detail in (self.application_detail, self.exception_detail):
                if detail.refund_id == refund_id:
                    detail.set_pending(action)
        self.search_page.acting = dict(self._acting)
        self.search_page.update_pending()

    def _submit(self, target: str, action: str, request: api_mod.ActionRequest) -> bool:
        """Queue a money action once: refused while one for the same target is on its way."""
        outbox = self.session.outbox
        if outbox is None:
            return False
        if target in self._acting:
            self.statusBar().showMessage(self.tr("This refund is already being sent; wait for the server's answer."),
                                         5000)
            return False
        self._set_pending(target, action)
        outbox.submit(request, initiator=self)
        return True

    def _refund_for(self, refund_id: int) -> dict[str, Any] | None:
        for detail in (self.application_detail, self.exception_detail):
            if detail.refund_id == refund_id and detail.refund is not None:
                return detail.refund
        for model in self.models:
            entry = model.entry_by_id(refund_id)
            if entry is not None and entry.refund is not None:
                return entry.refund
        return None

    def ask_approve(self, refund_id: int) -> None:
        refund = self._refund_for(refund_id)
        if refund is None or self.is_acting(refund_target(refund_id)):
            return
        amount = yuan(refund.get("amount_fen"))
        dialog = ConfirmDialog(
            title=self.tr("Approve refund application"),
            text=self.tr("Approve %1's application and refund %2?")
            .replace("%1", str(refund.get("patient_name") or "")).replace("%2", amount),
            info=self.tr("Appointment %1 (%2) is cancelled. The fee goes back the way it was paid (1–15 working "
                         "days) and the patient is told by text message.")
            .replace("%1", str(refund.get("appointment_number") or ""))
            .replace("%2", " · ".join(str(x) for x in (refund.get("doctor_name"), full_time(refund.get("starts_at")))
                                      if x)),
            yes=self.tr("Approve and refund %1").replace("%1", amount), no=self.tr("Cancel"), parent=self)
        if dialog.ask():
            self.approve(refund_id)
        dialog.deleteLater()

    def approve(self, refund_id: int) -> None:
        if self._submit(refund_target(refund_id), "approve", api_mod.approve_refund_request(refund_id)):
            self.statusBar().showMessage(self.tr("Approval queued; the refund starts as soon as the server has it."),
                                         5000)
            self._select_next_after(refund_id)

    def ask_reject(self, refund_id: int) -> None:
        if self.is_acting(refund_target(refund_id)):
            return
        if not self.reject_reasons:
            self.load_reject_reasons(then=lambda: self._open_reject(refund_id))
            return
        self._open_reject(refund_id)

    def reject_dialog(self, refund_id: int) -> RejectDialog | None:
        refund = self._refund_for(refund_id)
        if refund is None:
            return None
        return RejectDialog(refund=refund, reasons=self.reject_reasons, parent=self)

    def _open_reject(self, refund_id: int) -> None:
        dialog = self.reject_dialog(refund_id)
        if dialog is None:
            return
        if dialog.exec() == RejectDialog.DialogCode.Accepted:
            self.reject(refund_id, dialog.reason_code() or "", dialog.text())
        dialog.deleteLater()

    def reject(self, refund_id: int, reason_code: str, text: str) -> None:
        if self._submit(refund_target(refund_id), "reject",
                        api_mod.reject_refund_request(refund_id, reason_code, text)):
            self.statusBar().showMessage(self.tr("Rejection queued; the patient is told by text message."), 5000)
            self._select_next_after(refund_id)

    def ask_retry(self, refund_id: int) -> None:
        refund = self._refund_for(refund_id)
        if refund is None or self.is_acting(refund_target(refund_id)):
            return
        amount = yuan(refund.get("amount_fen"))
        closed = refund.get("status") == "closed"
        info = (self.tr("The gateway closed refund %1, so its number cannot be used again: a new refund of %2 is "
                        "created under a new number.") if closed else
                self.tr("Refund %1 is sent again under the same number: the gateway pays it at most once, however "
                        "often it is sent."))
        dialog = ConfirmDialog(
            title=self.tr("Send refund again"),
            text=self.tr("Send %1's refund of %2 again?").replace("%1", str(refund.get("patient_name") or ""))
            .replace("%2", amount),
            info=info.replace("%1", str(refund.get("out_refund_no") or "")).replace("%2", amount),
            yes=self.tr("Send %1 again").replace("%1", amount), no=self.tr("Cancel"), parent=self)
        if dialog.ask():
            self.retry(refund_id)
        dialog.deleteLater()

    def retry(self, refund_id: int) -> None:
        if self._submit(refund_target(refund_id), "retry", api_mod.retry_refund_request(refund_id)):
            self.statusBar().showMessage(self.tr("Sending the refund again…"), 5000)

    def refund_dialog(self, kind: str, row: dict[str, Any]) -> RefundReasonDialog:
        return RefundReasonDialog(kind=kind, row=row, parent=self)

    def ask_window_refund(self, row: dict[str, Any]) -> None:
        self._ask_order_refund("window", row)

    def ask_drug_refund(self, row: dict[str, Any]) -> None:
        self._ask_order_refund("drug", row)

    def _ask_order_refund(self, kind: str, row: dict[str, Any]) -> None:
        action = "drug_refund" if kind == "drug" else "window_refund"
        if self.is_acting(action_target(row, action)):
            return
        dialog = self.refund_dialog(kind, row)
        if dialog.exec() == RefundReasonDialog.DialogCode.Accepted:
            self.order_refund(kind, row, dialog.reason())
        dialog.deleteLater()

    def order_refund(self, kind: str, row: dict[str, Any], reason: str) -> None:
        if kind == "drug":
            request = api_mod.drug_refund_request(int(row["prescription_id"]), reason)
            action = "drug_refund"
        else:
            request = api_mod.window_refund_request(int(row["appointment_id"]), reason)
            action = "window_refund"
        if self._submit(action_target(row, action), action, request):
            self.statusBar().showMessage(self.tr("Refund of %1 queued.").replace("%1", yuan(refund_amount_of(row))),
                                         5000)

    def _select_next_after(self, refund_id: int) -> None:
        """After acting on one, the next in the queue is shown (the pending one stays greyed until it leaves)."""
        model = self.applications_model
        row = model.row_of(refund_id)
        if row is None:
            return
        for r in list(range(row + 1, model.rowCount())) + list(range(row)):
            entry = model.entry_at(r)
            if entry is not None and refund_target(entry.refund_id) not in self._acting:
                self.applications_view.select(entry.refund_id)
                return

    def _on_outbox_item(self, item: Any) -> None:
        if item.kind not in api_mod.REFUND_ACTION_KINDS:
            return
        found = api_mod.refund_action_target(item.kind, item.path)
        if found is None:
            return
        target = f"{found[0]}:{found[1]}"
        if item.state == "sent":
            response = item.response if isinstance(item.response, dict) else None
            if response is not None and "id" in response and "status" in response:
                self.feed.apply_refund(response)  # the answer first, while the action still counts as ours
            self._set_pending(target, None)
            self.statusBar().showMessage(self._sent_text(item.kind, response), 8000)
            self.search_page.refresh()
            self.reconciliation_page.reload_soon()
            if found[0] == "refund":
                self._on_refund_changed(found[1])
        elif item.state == "failed":
            self._set_pending(target, None)
            message = item.last_error or self.tr("The server refused the action.")
            self.statusBar().showMessage(self.tr("The server refused: %1").replace("%1", message), 12000)
            if found[0] == "refund":
                for detail in (self.application_detail, self.exception_detail):
                    if detail.refund_id == found[1]:
                        detail.show_action_error(message)
                self.feed.fetch_details(found[1])
            else:
                row = self.search_page.detail.row
                if row is not None and action_target(row, item.kind) == target:
                    self.search_page.detail.show_action_error(message)
                self.search_page.refresh()

    def _sent_text(self, kind: str, response: dict[str, Any] | None) -> str:
        r = response or {}
        amount, name = yuan(r.get("amount_fen")), str(r.get("patient_name") or "")
        texts = {
            "refund_approve": self.tr("Approved: %1 goes back to %2."),
            "refund_reject": self.tr("Rejected %2's application; the patient is told by text message."),
            "refund_retry": self.tr("Sent again: %1 to %2."),
            "window_refund": self.tr("Window refund started: %1 goes back to %2."),
            "drug_refund": self.tr("Drug fee refund started: %1 goes back to %2."),
        }
        return texts.get(kind, "").replace("%1", amount).replace("%2", name)

    # --- the receipt ---------------------------------------------------------------------------------------------

    def print_receipt(self, refund: dict[str, Any]) -> None:
        """The refund as the server has it now, then the receipt renderer and the print preview (on a worker)."""
        open_preview = self.printing
        if open_preview is None:
            return
        api = self.session.api
        refund_id = int(refund["id"])
        clerk = str(self.staff.get("name") or self.staff.get("username") or "")

        detail = self.search_page.detail

        def show(fresh: dict[str, Any]) -> None:
            self.preview_op = open_preview(fresh, clerk=clerk, hospital=self.hospital_name(), parent=self,
                                           on_error=detail.show_action_error)

        Op(lambda: api.refund(refund_id), parent=self).success(show).failure(
            lambda exc: detail.show_action_error(getattr(exc, "message", None) or str(exc))).run()

    def hospital_name(self) -> str:
        """The hospital printed on the receipt: the server's name for it, told at sign-in."""
        return str(getattr(self.session, "hospital", "") or "")

    # --- dialogs and states ----------------------------------------------------------------------------------------

    def focus_search(self) -> None:
        self.tabs.setCurrentIndex(TAB_SEARCH)
        self.search_page.ed_query.setFocus()
        self.search_page.ed_query.selectAll()

    def _load_failed(self, exc: BaseException) -> None:
        self.statusBar().showMessage(self.tr("The refund lists could not be loaded: %1")
                                     .replace("%1", getattr(exc, "message", None) or str(exc)), 10000)

    def open_outbox(self) -> OutboxDialog | None:
        if self.session.outbox is None:
            return None
        dialog = OutboxDialog(outbox=self.session.outbox, hub=self.hub, who=self.patient_of_action, parent=self)
        dialog.show()
        return dialog

    def patient_of_action(self, item: Any) -> str:
        """The patient an outbox action is about, from what the console has on screen (empty if not shown)."""
        found = api_mod.refund_action_target(item.kind, item.path)
        if found is None:
            return ""
        what, ident = found
        if what == "refund":
            for model in (self.applications_model, self.exceptions_model):
                for entry in model.entries():
                    if entry.refund_id == ident:
                        return entry.patient_name
            return ""
        field = "appointment_id" if what == "appointment" else "prescription_id"
        for row in self.search_page.model.rows():
            if row.get(field) == ident:
                return str(row.get("patient_name") or "")
        return ""

    def _update_counts(self) -> None:
        apps, excs = self.applications_model.rowCount(), self.exceptions_model.rowCount()
        self.tabs.setTabText(TAB_APPLICATIONS, self.tr("Refund applications (%1)").replace("%1", str(apps)))
        self.tabs.setTabText(TAB_EXCEPTIONS, self.tr("Refund exceptions (%1)").replace("%1", str(excs)))
        self.lbl_applications_sum.setText(
            self.tr("%n waiting, oldest first", "", apps) + "  ·  "
            + self.tr("%1 held for review").replace("%1", yuan(self.applications_model.total_fen())))
        self.lbl_exceptions_sum.setText(
            self.tr("%n to send again, newest first", "", excs) + "  ·  "
            + self.tr("%1 not yet back with the patients").replace("%1", yuan(self.exceptions_model.total_fen())))

    def retranslate(self) -> None:
        super().retranslate()
        self.setWindowTitle(self.window_title_for(self.tr("Refund window")))
        self.menu_refunds.setTitle(self.tr("&Refunds"))
        self.act_refresh.setText(self.tr("&Reload"))
        self.act_outbox.setText(self.tr("&Outbox…"))
        self.act_find.setText(self.tr("&Find order…"))
        self.lbl_applications.setText(self.tr("Refund applications"))
        self.lbl_exceptions.setText(self.tr("Refund exceptions"))
        self.tabs.setTabText(TAB_SEARCH, self.tr("Search and refund"))
        self.tabs.setTabText(TAB_RECONCILIATION, self.tr("Reconciliation"))
        self._update_counts()

    def about_to_sign_out(self) -> bool:
        pending, _failed = self.hub.outbox_counts
        if not pending:
            return True
        box = QMessageBox(QMessageBox.Icon.Warning, self.tr("Sign out"),
                          self.tr("%n action(s) have not reached the server yet. They are kept on this computer "
                                  "and sent the next time you sign in. Sign out now?", "", pending),
                          QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No, self)
        return box.exec() == QMessageBox.StandardButton.Yes
