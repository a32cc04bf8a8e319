"""The doctor's main window: a shell that lays out the features and wires them to the services.

Left the queue (with the "patient waiting" banner above it), centre the chart, right the consultation panel.
Each feature lives in its own module; this window only connects signals: a selection loads a chart, a request
from the consultation panel goes to the outbox, a change from the hub redraws what it names. It subscribes on
open and unsubscribes in ``detach`` (on close and on sign-out).
"""
from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QMessageBox, QSplitter, QTabWidget, QVBoxLayout, QWidget

from workstation.models.formulary import CACHE_KEY as FORMULARY_CACHE
from workstation.models.formulary import Formulary
from workstation.models.icd10 import default_catalog
from workstation.models.queue import QueueModel
from workstation.services.api import NetworkError
from workstation.services.call import CallSession
from workstation.services.changes import Change
from workstation.services.drafts import DraftKeeper
from workstation.services.ops import Op
from workstation.services.queue_feed import QueueFeed
from workstation.ui.alerts import WaitingAlert
from workstation.ui.base_window import StaffWindow
from workstation.ui.doctor.chart_panel import ChartPanel
from workstation.ui.doctor.clinic_stop_dialog import ClinicStopDialog
from workstation.ui.doctor.consult_panel import ConsultPanel
from workstation.ui.doctor.prescription_editor import PrescriptionEditor
from workstation.ui.doctor.queue_view import QueueView
from workstation.ui.doctor.video_panel import VideoPanel
from workstation.ui.outbox_dialog import OutboxDialog

CHART_CACHE = "chart:{}"


class DoctorWindow(StaffWindow):
    def __init__(self, *, session: Any, settings: Any, parent: QWidget | None = None) -> None:
        super().__init__(staff=session.staff, parent=parent)
        self.setObjectName("DoctorWindow")
        self.session = session
        self.settings = settings
        self.hub = session.hub
        self._chart_seq = 0

        # --- the features -------------------------------------------------------------------------------------
        self.model = QueueModel(parent=self)
        self.feed = QueueFeed(model=self.model, api=session.api, hub=self.hub, store=session.store, parent=self)
        self.drafts = DraftKeeper(session.store, parent=self) if session.store is not None else None
        self.queue_view = QueueView(model=self.model, parent=self)
        self.alert = WaitingAlert(sounds_enabled=lambda: bool(getattr(self.settings, "sounds", True)), parent=self)
        api = session.api
        self.chart_panel = ChartPanel(fetch_file=lambda file_id: api.file_bytes(file_id), parent=self)
        self.consult_panel = ConsultPanel(parent=self)

        left = QWidget(self)
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(10, 10, 4, 6)
        left_layout.setSpacing(8)
        left_layout.addWidget(self.alert)
        left_layout.addWidget(self.queue_view, 1)
        centre = QWidget(self)
        centre_layout = QVBoxLayout(centre)
        centre_layout.setContentsMargins(4, 10, 4, 6)
        # the video panel goes above the chart while there is a call
        self.centre_split = QSplitter(Qt.Orientation.Vertical, centre)
        self.centre_split.setChildrenCollapsible(False)
        self.centre_split.addWidget(self.chart_panel)
        centre_layout.addWidget(self.centre_split)
        self.call: CallSession | None = None
        self.video_panel: VideoPanel | None = None
        right = QWidget(self)
        right_layout = QVBoxLayout(right)
        right_layout.setContentsMargins(4, 10, 10, 6)
        right_layout.addWidget(self.consult_panel)

        # the prescription editor needs the width of chart and consultation together: a tab beside the visit
        self.rx_editor = PrescriptionEditor(api=session.api, hub=self.hub, store=session.store, parent=self)
        self.rx_editor.call_live = self._call_connected
        self.rx_editor.visit_diagnosis = self.consult_panel.icd.selected
        self.chart_panel.sig_renew_requested.connect(self.renew_prescription)
        rx_page = QWidget(self)
        rx_layout = QVBoxLayout(rx_page)
        rx_layout.setContentsMargins(8, 8, 8, 6)
        # the doctor prescribes while the patient is on the call: the video panel follows to this tab
        self.rx_split = QSplitter(Qt.Orientation.Vertical, rx_page)
        self.rx_split.setChildrenCollapsible(False)
        self.rx_split.addWidget(self.rx_editor)
        rx_layout.addWidget(self.rx_split)
        self.visit_split = QSplitter(Qt.Orientation.Horizontal, self)
        self.visit_split.setChildrenCollapsible(False)
        for w, minimum in ((centre, 420), (right, 340)):
            w.setMinimumWidth(minimum)
            self.visit_split.addWidget(w)
        self.visit_split.setStretchFactor(0, 4)
        self.visit_split.setStretchFactor(1, 3)
        self.workspace = QTabWidget(self)
        self.workspace.setObjectName("DoctorWorkspace")
        self.workspace.setDocumentMode(True)
        self.workspace.addTab(self.visit_split, "")
        self.workspace.addTab(rx_page, "")
        self.workspace.currentChanged.connect(lambda _index: self._place_video())

        self.splitter = QSplitter(Qt.Orientation.Horizontal, self)
        self.splitter.setChildrenCollapsible(False)
        left.setMinimumWidth(380)
        self.workspace.setMinimumWidth(780)
        self.splitter.addWidget(left)
        self.splitter.addWidget(self.workspace)
        self.splitter.setStretchFactor(0, 3)
        self.splitter.setStretchFactor(1, 7)
        self.splitter.setSizes([470, 930])
        self.visit_split.setSizes([530, 400])
        self.setCentralWidget(self.splitter)

        # --- menus ----------------------------------------------------------------------------------------------
        self.menu_clinic = self.add_work_menu(refresh=self.feed.reload, open_outbox=self.open_outbox)
        self.act_clinic_stop = QAction(self)
        self.menu_clinic.addSeparator()
        self.menu_clinic.addAction(self.act_clinic_stop)
        self.act_clinic_stop.triggered.connect(self.open_clinic_stop)

        # --- wiring inside the window ---------------------------------------------------------------------------
        self.feed.sig_loaded.connect(self._queue_loaded)
        self.queue_view.sig_selected.connect(self._on_selected)
        self.queue_view.sig_cleared.connect(self._on_cleared)
        self.alert.sig_show_requested.connect(self.queue_view.select)
        self.consult_panel.sig_accept_requested.connect(self.open_call)
        self.consult_panel.sig_call_requested.connect(self.open_call)
        self.queue_view.sig_call_requested.connect(self.open_call)
        self.consult_panel.sig_missed_requested.connect(self._missed)
        self.consult_panel.sig_save_requested.connect(self._save_record)
        self.consult_panel.sig_finish_requested.connect(self._finish)
        self.consult_panel.sig_form_changed.connect(self._form_changed)
        if self.drafts is not None:
            self.drafts.sig_draft_saved.connect(self._draft_saved)
        self.rx_editor.sig_consent_requested.connect(self._ask_consent)
        self.rx_editor.sig_summary_changed.connect(lambda _s: self._title_rx_tab())
        self._alert_timer = QTimer(self)
        self._alert_timer.setSingleShot(True)
        self._alert_timer.setInterval(150)  # a burst of events: one alert check
        self._alert_timer.timeout.connect(self._update_alert)
        for sig in (self.model.rowsInserted, self.model.rowsRemoved, self.model.modelReset, self.model.dataChanged):
            sig.connect(self._schedule_alert)
        self.retranslate()

    # --- life -------------------------------------------------------------------------------------------------

    def start(self) -> None:
        """Subscribe, then load the queue and start the stream from the cursor read before the snapshot, so no
        event falls between the two."""
        self.attach()
        Op(default_catalog, parent=self, pool="db").success(self._icd_loaded).run()
        self.load_formulary()
        self.start_live(self.session, self.feed)

    def hub_connections(self) -> list[tuple[Any, Any]]:
        return [(self.hub.sig_appointment_changed, self._on_appointment_changed),
                (self.hub.sig_outbox_item, self._on_outbox_item),
                (self.hub.sig_change, self._on_change),
                (self.hub.sig_events, self._on_events)]

    def detach(self) -> None:
        self.close_call()
        attached = self._attached
        super().detach()  # the hub's signals and the queue feed
        if not attached:
            return
        self.queue_view.stop()
        self.rx_editor.detach()
        if self.drafts is not None:
            self.drafts.stop()

    # --- selection → chart --------------------------------------------------------------------------------------

    def selected_id(self) -> int | None:
        return self.queue_view.selected_id()

    def _on_selected(self, appointment_id: int) -> None:
        if self.chart_panel.appointment_id != appointment_id:
            self.chart_panel.show_empty()
            self.chart_panel.show_loading()
            self.consult_panel.show_chart(None)
        self.load_chart(appointment_id)
        self._schedule_alert()

    def _on_cleared(self) -> None:
        self.chart_panel.show_empty()
        self.consult_panel.show_chart(None)
        self.rx_editor.show_chart(None)

    def load_chart(self, appointment_id: int) -> None:
        self._chart_seq += 1
        seq = self._chart_seq
        api, store = self.session.api, self.session.store

        def fetch() -> tuple[dict[str, Any], bool]:
            try:
                chart = api.chart(appointment_id)
            except NetworkError:
                cached = store.cache_get(CHART_CACHE.format(appointment_id)) if store is not None else None
                if cached is None:
                    raise
                return cached, True
            if store is not None:
                store.cache_put(CHART_CACHE.format(appointment_id), chart)
            return chart, False

        Op(fetch, parent=self).success(lambda res: self._chart_loaded(seq, *res)) \
            .failure(lambda exc: self._chart_failed(seq, exc)).run()

    def _chart_loaded(self, seq: int, chart: dict[str, Any], _offline: bool) -> None:
        if seq != self._chart_seq or chart.get("appointment_id") != self.selected_id():
            return
        self.chart_panel.show_chart(chart)
        self.rx_editor.show_chart(chart)
        aid = int(chart["appointment_id"])
        if chart.get("status") == "completed":
            if "rating" in chart:
                self.consult_panel.set_rating(chart.get("rating"))
            else:
                self._load_rating(aid)
        if self.consult_panel.appointment_id == aid or self.drafts is None:
            self.consult_panel.show_chart(chart)
        else:
            self.drafts.restore(aid, lambda draft: self._with_draft(chart, draft))
        if chart.get("status") in ("completed", "missed") and self.drafts is not None:
            self.drafts.discard(aid)
        self._schedule_alert()

    def _with_draft(self, chart: dict[str, Any], draft: Any) -> None:
        if chart.get("appointment_id") == self.selected_id():
            use = draft if isinstance(draft, dict) and chart.get("status") == "in_consultation" else None
            self.consult_panel.show_chart(chart, draft=use)

    def _chart_failed(self, seq: int, exc: BaseException) -> None:
        if seq == self._chart_seq:
            self.chart_panel.show_error(getattr(exc, "message", None) or str(exc))

    def _on_appointment_changed(self, appointment_id: int) -> None:
        if appointment_id == self.selected_id():
            self.load_chart(appointment_id)

    def _on_change(self, change: Change) -> None:
        # a queue event about the selected patient (status moved on the server): refresh its chart
        if change.kind == "queue":
            sel = self.selected_id()
            entry = self.model.entry_by_id(sel) if sel is not None else None
            if entry is not None and self.consult_panel.appointment_id == sel \
                    and entry.status != self.consult_panel.status:
                self.load_chart(sel)

    # --- prescriptions, consent, rating ---------------------------------------------------------------------------

    def _icd_loaded(self, catalog: Any) -> None:
        self.consult_panel.icd.set_catalog(catalog)
        self.rx_editor.set_icd_catalog(catalog)

    def load_formulary(self) -> None:
        """The cached catalogue at once (also offline), then the server's when it changed (ETag)."""
        api, store = self.session.api, self.session.store

        def cached() -> Any:
            return store.cache_get(FORMULARY_CACHE) if store is not None else None

        def revalidate(entry: Any) -> None:
            if isinstance(entry, dict) and entry.get("data") and self.rx_editor.formulary is None:
                self.rx_editor.set_formulary(Formulary(entry["data"]))
            etag = entry.get("etag") if isinstance(entry, dict) else None
            Op(lambda: api.formulary(etag=etag), parent=self).success(fresh).failure(
                lambda exc: self.statusBar().showMessage(
                    self.tr("The formulary could not be loaded: %1").replace("%1", getattr(exc, "message", str(exc))),
                    8000)).run()

        def fresh(answer: tuple[Any, Any]) -> None:
            data, etag = answer
            if data is None:
                return  # 304: the cached copy is current
            self.rx_editor.set_formulary(Formulary(data))
            if store is not None:
                Op(lambda: store.cache_put(FORMULARY_CACHE, {"etag": etag, "data": data}), parent=self,
                   pool="db").run()

        Op(cached, parent=self, pool="db").success(revalidate).failure(lambda _e: revalidate(None)).run()

    def _call_connected(self) -> bool:
        call = self.call
        return call is not None and call.state == "connected" and call.appointment_id == self.rx_editor.appointment_id

    def _ask_consent(self, appointment_id: int) -> None:
        if self.call is not None and self.call.appointment_id == appointment_id and self.call.live():
            self.call.request_consent()
        else:
            self.statusBar().showMessage(self.tr("Start the video call first: consent is asked on the call."), 6000)

    def _on_events(self, batch: list[dict[str, Any]]) -> None:
        sel = self.selected_id()
        for event in batch:
            kind, payload = event.get("kind"), event.get("payload") or {}
            if kind == "appointment.rated" and payload.get("appointment_id") == sel:
                assert sel is not None
                self._load_rating(sel)
            elif kind == "prescription.returned":
                # said wherever the doctor is looking: the prescription's banner has the details
                self.statusBar().showMessage(
                    self.tr("Prescription %1 of %2 was returned by the pharmacist: %3")
                    .replace("%1", str(payload.get("no") or "")).replace("%2", str(payload.get("patient_name") or ""))
                    .replace("%3", str(payload.get("reason") or "")), 20000)

    def _load_rating(self, appointment_id: int) -> None:
        api = self.session.api

        def shown(appt: dict[str, Any]) -> None:
            if appointment_id == self.consult_panel.appointment_id and "rating" in appt:
                self.consult_panel.set_rating(appt.get("rating"))

        Op(lambda: api.appointment(appointment_id), parent=self).success(shown).failure(lambda _e: None).run()

    # --- consultation requests → outbox -------------------------------------------------------------------------

    def _outbox(self) -> Any:
        return self.session.outbox

    # --- the video call ------------------------------------------------------------------------------------------

    def open_call(self, appointment_id: int) -> CallSession | None:
        """Call the patient (this also accepts a waiting one), or invite again. A live call with another patient
        is ended first, after asking."""
        if self.call is not None and self.call.appointment_id == appointment_id:
            if not self.call.live():
                self.call.start()
            return self.call
        if self.call is not None and self.call.live():
            other = self.video_panel.patient_name if self.video_panel is not None else ""
            text = self.tr("The call with %1 is still on. End it and call the next patient?").replace("%1", other)
            if not self.consult_panel.ask(self.tr("Video call"), text, self.tr("End and call")):
                self.consult_panel.set_pending(None)
                return None
        self.close_call()
        entry = self.model.entry_by_id(appointment_id)
        name = entry.patient_name if entry is not None else self.consult_panel._patient()
        call = CallSession(api=self.session.api, hub=self.hub, appointment_id=appointment_id,
                           video_source=getattr(self.settings, "video_source", "auto"),
                           audio_source=getattr(self.settings, "audio_source", "auto"), parent=self)
        panel = VideoPanel(session=call, patient_name=name, parent=self)
        panel.setMinimumHeight(330)
        panel.sig_close_requested.connect(self.close_call)
        call.sig_state.connect(lambda state, reason: self._call_state(call, state, reason))
        call.sig_notice.connect(lambda text: self._call_notice(call, text))
        self.call, self.video_panel = call, panel
        self._place_video()
        call.start()
        return call

    def renew_prescription(self, rx: dict[str, Any]) -> int:
        """续方 from the chart: the prescription tab, with the earlier prescription's lines copied in (or the reason
        nothing could be: no consent yet, or a signed prescription on screen)."""
        self.workspace.setCurrentIndex(1)
        added = self.rx_editor.renew_from(rx)
        if not added and self.rx_editor.locked:
            self.statusBar().showMessage(self.tr("Renewing needs the patient's consent on the video call first."),
                                         8000)
        elif not added and not self.rx_editor.editable:
            self.statusBar().showMessage(self.tr("This prescription is signed: start a new one to renew into."),
                                         8000)
        return added

    def _place_video(self) -> None:
        """The video panel above the chart on the visit tab, above the editor on the prescription tab: the patient
        stays in sight whichever the doctor works in."""
        panel = self.video_panel
        if panel is None:
            return
        on_rx = self.workspace.currentIndex() == 1
        split, share = (self.rx_split, 0.4) if on_rx else (self.centre_split, 0.62)
        if panel.parentWidget() is split:
            return
        panel.set_compact(on_rx)
        split.insertWidget(0, panel)
        panel.show()
        total = max(split.height(), 600)
        split.setSizes([int(total * share), total - int(total * share)])

    def close_call(self) -> None:
        call, panel = self.call, self.video_panel
        self.call = self.video_panel = None
        if call is not None:
            call.close()
            call.setParent(None)
            call.deleteLater()
        if panel is not None:
            panel.hide()
            panel.setParent(None)
            panel.deleteLater()
        self.consult_panel.set_call_live(False)

    def _call_state(self, call: CallSession, state: str, reason: str) -> None:
        if call is not self.call:
            return
        self.consult_panel.set_call_live(call.live() and self.consult_panel.appointment_id == call.appointment_id)
        self.rx_editor.retranslate()  # the consent button needs a connected call
        if state == "ended" and reason == "refused":
            self.consult_panel.set_pending(None)
        self._schedule_alert()

    def _call_notice(self, call: CallSession, text: str) -> None:
        """The video panel shows every notice of its call; a call that could not even start is also said where
        the doctor clicked (the consultation panel)."""
        if call is self.call and call.state == "ended" and call.reason == "refused" \
                and self.consult_panel.appointment_id == call.appointment_id:
            self.consult_panel.show_action_error(text)

    def _missed(self, appointment_id: int, reason: str) -> None:
        self._outbox().mark_missed(appointment_id, reason, initiator=self)

    def _save_record(self, appointment_id: int, record: dict[str, Any]) -> None:
        self._outbox().save_record(appointment_id, record, initiator=self)
        self.statusBar().showMessage(self.tr("The record is queued to be saved on the server."), 4000)

    def _finish(self, appointment_id: int, record: dict[str, Any]) -> None:
        if self.drafts is not None:
            self.drafts.changed(appointment_id, record)
            self.drafts.flush()
        self._outbox().finish(appointment_id, record, initiator=self)

    def _form_changed(self, appointment_id: int, record: dict[str, Any]) -> None:
        if self.drafts is not None:
            self.drafts.changed(appointment_id, record)

    def _draft_saved(self, appointment_id: int) -> None:
        if appointment_id == self.consult_panel.appointment_id:
            self.consult_panel.draft_saved()

    def _on_outbox_item(self, item: Any) -> None:
        if item.state == "failed":
            if item.appointment_id is not None and item.appointment_id == self.consult_panel.appointment_id:
                self.consult_panel.show_action_error(item.last_error)
            self.statusBar().showMessage(self.tr("The server refused an action: %1").replace("%1", item.last_error),
                                         10000)
        elif item.kind == "clinic_stop" and item.state == "sent":
            n = (item.response or {}).get("cancelled_appointments", 0)
            self.statusBar().showMessage(
                self.tr("Clinic stop declared; %n appointment(s) cancelled.", "", int(n)), 10000)

    # --- alert ------------------------------------------------------------------------------------------------

    def _schedule_alert(self, *_: object) -> None:
        # not restarted while pending: under a steady stream of events the banner still updates
        if not self._alert_timer.isActive():
            self._alert_timer.start()

    def _queue_loaded(self) -> None:
        """The snapshot is in: who waits now was waiting before the window opened — shown, not rung."""
        if not self.alert.primed:
            self.alert.prime(self._waiting())
        self._schedule_alert()

    def _waiting(self) -> list[tuple[int, str]]:
        return [(e.appointment_id, e.patient_name) for e in self.model.entries() if e.status == "waiting"]

    def _update_alert(self) -> None:
        waiting = self._waiting()
        sel = self.selected_id()
        entry = self.model.entry_by_id(sel) if sel is not None else None
        in_call = self.call is not None and self.call.live()
        self.alert.update_waiting(waiting, in_consultation=in_call or (entry is not None
                                                                       and entry.status == "in_consultation"))

    # --- dialogs ----------------------------------------------------------------------------------------------

    def open_outbox(self) -> OutboxDialog | None:
        if self.session.outbox is None:
            return None

        def name(appointment_id: int) -> str:
            entry = self.model.entry_by_id(appointment_id)
            return entry.patient_name if entry is not None else f"#{appointment_id}"

        dialog = OutboxDialog(outbox=self.session.outbox, hub=self.hub, patient_name=name, parent=self)
        dialog.show()
        return dialog

    def clinic_stop_dialog(self) -> ClinicStopDialog:
        api = self.session.api
        preview = getattr(api, "clinic_stop_preview", None)

        def count(starts_at: Any, ends_at: Any) -> int:
            assert preview is not None
            return int(preview(starts_at.isoformat(), ends_at.isoformat())["appointments"])

        return ClinicStopDialog(preview=count if preview is not None else None, parent=self)

    def open_clinic_stop(self) -> None:
        dialog = self.clinic_stop_dialog()
        if dialog.exec() == ClinicStopDialog.DialogCode.Accepted:
            self.submit_clinic_stop(dialog)
        dialog.deleteLater()

    def submit_clinic_stop(self, dialog: ClinicStopDialog) -> None:
        self._outbox().clinic_stop(dialog.request().as_payload(), initiator=self)
        self.statusBar().showMessage(self.tr("The clinic stop is queued; the status bar shows when it is sent."),
                                     6000)

    # --- texts -------------------------------------------------------------------------------------------------

    def retranslate(self) -> None:
        super().retranslate()
        self.setWindowTitle(self.window_title_for(self.tr("Online revisit clinic")))
        self.menu_clinic.setTitle(self.tr("&Clinic"))
        self.act_refresh.setText(self.tr("&Reload queue"))
        self.act_outbox.setText(self.tr("&Outbox…"))
        self.act_clinic_stop.setText(self.tr("&Stop clinic…"))
        self.workspace.setTabText(0, self.tr("Visit"))
        self._title_rx_tab()

    def _title_rx_tab(self) -> None:
        summary = self.rx_editor._summary
        title = self.tr("Prescription")
        self.workspace.setTabText(1, f"{title} · {summary}" if summary else title)

    def about_to_sign_out(self) -> bool:
        """Warn when actions are still waiting to be sent (they stay for the next sign-in of this user)."""
        pending, _failed = self.hub.outbox_counts
        if not pending:
            return True
        box = QMessageBox(QMessageBox.Icon.Warning, self.tr("Sign out"),
                          self.tr("%n action(s) have not reached the server yet. They are kept on this computer "
                                  "and sent the next time you sign in. Sign out now?", "", pending),
                          QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No, self)
        return box.exec() == QMessageBox.StandardButton.Yes
