"""The pharmacist's window (审方 and dispensing): a shell that lays out the parts and wires them to the services.

Left the lists in tabs — the live review queue (signed prescriptions, oldest first, with the waiting clock and a
mark where the doctor overrode a check), the paid ones to dispense, and today's done work; right the selected
prescription in full with the actions its status allows. Approve, return and dispense go through the outbox
(stored first, sent exactly once with an idempotency key); their answers and the event stream keep the lists
current, so one approved at another desk disappears here within a second.
"""
from __future__ import annotations

import logging
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import QFrame, QLabel, QMessageBox, QSplitter, QTabWidget, QVBoxLayout, QWidget

from workstation.models.review import DISPENSE_STATUSES, DONE_STATUSES, REVIEW_STATUSES, ReviewListModel
from workstation.services import api as api_mod
from workstation.services.ops import Op
from workstation.services.review_feed import ReviewFeed
from workstation.ui.base_window import StaffWindow
from workstation.ui.outbox_dialog import OutboxDialog
from workstation.ui.review.detail_panel import DetailPanel
from workstation.ui.review.list_view import RxListView
from workstation.ui.review.return_dialog import ReturnDialog

log = logging.getLogger(__name__)


def slip_printing() -> Any:
    """``open_slip_preview(slip_data, parent=)`` when the slip printing is in this build, else None."""
    try:
        from workstation.ui.print_preview import open_slip_preview
    except ImportError:
        return None
    return open_slip_preview


class PharmacistWindow(StaffWindow):
    USES_SESSION = True

    def __init__(self, *, session: Any, settings: Any = None, parent: QWidget | None = None) -> None:
        super().__init__(staff=session.staff, parent=parent)
        self.setObjectName("PharmacistWindow")
        self.session = session
        self.settings = settings
        self.hub = session.hub
        self._detail_seq = 0
        self._acting: dict[int, str] = {}  # rx id → action of this desk on its way

        # --- the parts --------------------------------------------------------------------------------------------
        self.queue_model = ReviewListModel(statuses=REVIEW_STATUSES, parent=self)
        self.dispense_model = ReviewListModel(statuses=DISPENSE_STATUSES, parent=self)
        self.done_model = ReviewListModel(statuses=DONE_STATUSES, newest_first=True, today_only=True, parent=self)
        self.models = (self.queue_model, self.dispense_model, self.done_model)
        self.feed = ReviewFeed(models=list(self.models), api=session.api, hub=self.hub, parent=self)
        self.queue_view = RxListView(model=self.queue_model, parent=self, empty_text=lambda: self.tr(
            "No prescriptions are waiting for review. New ones appear here as soon as a doctor signs them."))
        self.dispense_view = RxListView(model=self.dispense_model, parent=self, empty_text=lambda: self.tr(
            "Nothing to dispense: paid prescriptions appear here."))
        self.done_view = RxListView(model=self.done_model, parent=self, empty_text=lambda: self.tr(
            "Nothing reviewed or dispensed today yet."))
        self.views = (self.queue_view, self.dispense_view, self.done_view)
        self.detail = DetailPanel(parent=self)
        self.printing = slip_printing()
        self.preview_op: Any = None
        self.detail.can_print = self.printing is not None
        self.detail.retranslate()

        self.lbl_title = QLabel(self)
        self.lbl_title.setObjectName("CardTitle")
        self.tabs = QTabWidget(self)
        self.tabs.setObjectName("ReviewTabs")
        self.tabs.setDocumentMode(True)
        for view in self.views:
            self.tabs.addTab(view, "")
        left = QWidget(self)
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(10, 10, 4, 6)
        left_layout.setSpacing(6)
        left_layout.addWidget(self.lbl_title)
        left_layout.addWidget(self.tabs, 1)
        right = QFrame(self)
        right.setObjectName("Card")
        right_layout = QVBoxLayout(right)
        right_layout.setContentsMargins(18, 14, 18, 14)
        right_layout.addWidget(self.detail)
        right_wrap = QWidget(self)
        wrap_layout = QVBoxLayout(right_wrap)
        wrap_layout.setContentsMargins(4, 10, 10, 6)
        wrap_layout.addWidget(right)

        self.splitter = QSplitter(Qt.Orientation.Horizontal, self)
        self.splitter.setChildrenCollapsible(False)
        left.setMinimumWidth(460)
        right_wrap.setMinimumWidth(520)
        self.splitter.addWidget(left)
        self.splitter.addWidget(right_wrap)
        self.splitter.setStretchFactor(0, 5)
        self.splitter.setStretchFactor(1, 6)
        self.splitter.setSizes([640, 760])
        self.setCentralWidget(self.splitter)

        # --- menus ----------------------------------------------------------------------------------------------
        self.menu_review = self.add_work_menu(refresh=self.feed.reload, open_outbox=self.open_outbox)

        # --- wiring -----------------------------------------------------------------------------------------------
        for view in self.views:
            view.sig_selected.connect(lambda rx_id, v=view: self._on_selected(v, rx_id))
            view.sig_cleared.connect(lambda v=view: self._on_cleared(v))
        for model in self.models:
            model.sig_count_changed.connect(lambda _n: self._update_tab_titles())
            model.rowsAboutToBeRemoved.connect(lambda _p, first, _last, m=model: self._row_leaving(m, first))
        self.tabs.currentChanged.connect(self._tab_changed)
        self.queue_model.rowsInserted.connect(self._arrived)
        self.feed.sig_prescription_changed.connect(self._on_prescription_changed)
        self.feed.sig_load_failed.connect(self._load_failed)
        self.detail.sig_approve_requested.connect(self.approve)
        self.detail.sig_return_requested.connect(self.ask_return)
        self.detail.sig_dispense_requested.connect(self.dispense)
        self.detail.sig_print_requested.connect(self.print_slip)
        self.detail.btn_approve.setShortcut(QKeySequence("Ctrl+Return"))
        self.retranslate()

    # --- life -------------------------------------------------------------------------------------------------

    def start(self) -> None:
        """Subscribe, then load the lists and start the stream from the cursor read before the snapshots."""
        self.attach()
        self.start_live(self.session, self.feed)

    def hub_connections(self) -> list[tuple[Any, Any]]:
        return [(self.hub.sig_outbox_item, self._on_outbox_item)]

    # --- selection → the prescription in full ------------------------------------------------------------------

    def current_view(self) -> RxListView:
        return self.views[self.tabs.currentIndex()]

    def selected_id(self) -> int | None:
        return self.current_view().selected_id()

    def _tab_changed(self, _index: int) -> None:
        rx_id = self.current_view().selected_id()
        if rx_id is None:
            self.detail.show_rx(None)
        else:
            self._on_selected(self.current_view(), rx_id)

    def _on_selected(self, view: RxListView, rx_id: int) -> None:
        if view is not self.current_view():
            return
        entry = view.model.entry_by_id(rx_id)
        if entry is not None and entry.rx is not None:
            self.detail.show_rx(entry.rx, pending=self._acting.get(rx_id))
        elif self.detail.rx_id != rx_id:
            self.detail.show_rx(None)
        self.load_detail(rx_id)

    def _on_cleared(self, view: RxListView) -> None:
        if view is self.current_view():
            self.detail.show_rx(None)

    def load_detail(self, rx_id: int) -> None:
        """The prescription as the server has it now (the list's copy may be a snapshot's)."""
        self._detail_seq += 1
        seq = self._detail_seq
        api = self.session.api

        def done(rx: dict[str, Any]) -> None:
            if seq != self._detail_seq or self.selected_id() != rx_id:
                return
            self.detail.show_rx(rx, pending=self._acting.get(rx_id))

        def failed(exc: BaseException) -> None:
            if seq == self._detail_seq and self.selected_id() == rx_id:
                self.detail.show_action_error(getattr(exc, "message", None) or str(exc))

        Op(lambda: api.prescription(rx_id), parent=self).success(done).failure(failed).run()

    def _on_prescription_changed(self, rx_id: int) -> None:
        if rx_id == self.detail.rx_id and rx_id == self.selected_id():
            self.load_detail(rx_id)

    def _row_leaving(self, model: ReviewListModel, row: int) -> None:
        """The shown prescription left the list: by this desk's action, or dealt with elsewhere (say so)."""
        entry = model.entry_at(row)
        view = self.views[self.models.index(model)]
        if entry is None or view is not self.current_view() or entry.rx_id != view.selected_id():
            return
        if entry.rx_id not in self._acting and model is self.queue_model:
            self.statusBar().showMessage(
                self.tr("%1's prescription %2 was dealt with at another desk or withdrawn by the doctor.")
                .replace("%1", entry.patient_name).replace("%2", entry.no), 10000)

    def _arrived(self, _parent: Any, first: int, last: int) -> None:
        """A newly signed prescription (live, not a reload): said in the status bar, whichever tab is open."""
        names = [e.patient_name for r in range(first, last + 1) if (e := self.queue_model.entry_at(r)) is not None]
        if names:
            self.statusBar().showMessage(self.tr("New prescription to review: %1").replace("%1", "、".join(names)),
                                         8000)

    # --- actions → outbox ----------------------------------------------------------------------------------------

    def _submit(self, rx_id: int, action: str, request: api_mod.ActionRequest) -> None:
        outbox = self.session.outbox
        if outbox is None:
            return
        self._acting[rx_id] = action
        for model in self.models:
            model.set_pending(rx_id, action)
        if self.detail.rx_id == rx_id:
            self.detail.set_pending(action)
        outbox.submit(request, initiator=self)

    def approve(self, rx_id: int) -> None:
        self._submit(rx_id, "approve", api_mod.approve_prescription_request(rx_id))
        self.statusBar().showMessage(self.tr("Approval queued; the patient is told as soon as the server has it."),
                                     5000)
        self._select_next_after(rx_id)

    def return_dialog(self, rx_id: int) -> ReturnDialog:
        rx = self.detail.rx if self.detail.rx_id == rx_id else None
        entry = self.queue_model.entry_by_id(rx_id)
        patient = ((rx or {}).get("patient") or {}).get("name") or (entry.patient_name if entry else "")
        no = (rx or {}).get("no") or (entry.no if entry else "")
        return ReturnDialog(patient=str(patient), no=str(no), parent=self)

    def ask_return(self, rx_id: int) -> None:
        dialog = self.return_dialog(rx_id)
        if dialog.exec() == ReturnDialog.DialogCode.Accepted:
            self.return_to_doctor(rx_id, dialog.reason())
        dialog.deleteLater()

    def return_to_doctor(self, rx_id: int, reason: str) -> None:
        self._submit(rx_id, "return", api_mod.return_prescription_request(rx_id, reason))
        self.statusBar().showMessage(self.tr("Returned to the doctor with the reason."), 5000)
        self._select_next_after(rx_id)

    def dispense(self, rx_id: int) -> None:
        self._submit(rx_id, "dispense", api_mod.dispense_prescription_request(rx_id))

    def _select_next_after(self, rx_id: int) -> None:
        """After acting on one, the next in the queue is shown (the pending one stays greyed until it leaves)."""
        model = self.queue_model
        row = model.row_of(rx_id)
        if row is None:
            return
        for r in list(range(row + 1, model.rowCount())) + list(range(row)):
            entry = model.entry_at(r)
            if entry is not None and entry.rx_id not in self._acting:
                self.queue_view.select(entry.rx_id)
                return

    def _on_outbox_item(self, item: Any) -> None:
        if item.kind not in api_mod.RX_ACTION_KINDS:
            return
        rx_id = api_mod.prescription_id_of(item.path)
        if rx_id is None:
            return
        if item.state == "sent":
            # the answer first (while the action still counts as this desk's: no "dealt with elsewhere" notice)
            if isinstance(item.response, dict) and item.response.get("id") == rx_id:
                self.feed.apply_rx(item.response)
            self._acting.pop(rx_id, None)
            for model in self.models:
                model.set_pending(rx_id, None)
            if self.detail.rx_id == rx_id:
                self.detail.set_pending(None)
                self.load_detail(rx_id)
            if item.kind == "rx_dispense":
                self.statusBar().showMessage(self.tr("Dispensing recorded."), 5000)
        elif item.state == "failed":
            self._acting.pop(rx_id, None)
            for model in self.models:
                model.set_pending(rx_id, None)
            self.statusBar().showMessage(self.tr("The server refused an action: %1").replace("%1", item.last_error),
                                         10000)
            if self.detail.rx_id == rx_id:
                self.detail.set_pending(None)
                self.detail.show_action_error(item.last_error)
            self.feed.fetch_details(rx_id)

    # --- the slip ---------------------------------------------------------------------------------------------

    def print_slip(self, rx_id: int) -> None:
        """The slip data from the server, then rx-slip's renderer and print preview (on a worker)."""
        open_preview = self.printing
        if open_preview is None:
            return
        api = self.session.api

        def show(slip: dict[str, Any]) -> None:
            self.preview_op = open_preview(slip, parent=self)

        Op(lambda: api.prescription_slip(rx_id), parent=self).success(show) \
            .failure(lambda exc: self.detail.show_action_error(getattr(exc, "message", None) or str(exc))).run()

    # --- dialogs and states ----------------------------------------------------------------------------------------

    def _load_failed(self, exc: BaseException) -> None:
        self.statusBar().showMessage(self.tr("The prescriptions could not be loaded: %1")
                                     .replace("%1", getattr(exc, "message", None) or str(exc)), 10000)

    def open_outbox(self) -> OutboxDialog | None:
        if self.session.outbox is None:
            return None
        dialog = OutboxDialog(outbox=self.session.outbox, hub=self.hub, patient_name=lambda _aid: "", parent=self)
        dialog.show()
        return dialog

    def _update_tab_titles(self) -> None:
        self.tabs.setTabText(0, self.tr("To review (%1)").replace("%1", str(self.queue_model.rowCount())))
        self.tabs.setTabText(1, self.tr("To dispense (%1)").replace("%1", str(self.dispense_model.rowCount())))
        self.tabs.setTabText(2, self.tr("Done today (%1)").replace("%1", str(self.done_model.rowCount())))

    def retranslate(self) -> None:
        super().retranslate()
        self.setWindowTitle(self.window_title_for(self.tr("Prescription review")))
        self.lbl_title.setText(self.tr("Prescriptions"))
        self.menu_review.setTitle(self.tr("&Review"))
        self.act_refresh.setText(self.tr("&Reload lists"))
        self.act_outbox.setText(self.tr("&Outbox…"))
        self._update_tab_titles()

    def about_to_sign_out(self) -> bool:
        pending, _failed = self.hub.outbox_counts
        if not pending:
            return True
        box = QMessageBox(QMessageBox.Icon.Warning, self.tr("Sign out"),
                          self.tr("%n action(s) have not reached the server yet. They are kept on this computer "
                                  "and sent the next time you sign in. Sign out now?", "", pending),
                          QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No, self)
        return box.exec() == QMessageBox.StandardButton.Yes
