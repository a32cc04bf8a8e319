"""The consultation panel: call (accept) the selected patient, write notes and pick a diagnosis, finish the
visit — or mark the patient missed. It only collects input and asks for confirmation; the main window hands
the requests to the outbox (which sends them with idempotency keys) and the form to the draft keeper.

The video issue plugs its call controls into ``video_slot`` (a layout on the visit page).
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPlainTextEdit,
    QPushButton,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from workstation.models.queue import TZ
from workstation.ui.doctor.icd_picker import IcdPicker
from workstation.ui.i18n import LanguageAware
from workstation.ui.widgets import card

NOTES_MAX = 5000
CALLABLE = ("checked_in", "waiting", "interrupted")
MISSABLE = ("checked_in", "waiting", "interrupted", "booked")


class MissedDialog(LanguageAware, QDialog):
    """Asks why the patient is marked missed (shown to the patient and kept in the audit trail)."""

    def __init__(self, *, patient: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("MissedDialog")
        self._patient = patient
        self.setMinimumWidth(460)
        self.lbl_text = QLabel(self)
        self.lbl_text.setWordWrap(True)
        self.cb_reason = QComboBox(self)
        self.cb_reason.setEditable(True)
        self.lbl_reason = QLabel(self)
        form = QFormLayout()
        form.addRow(self.lbl_reason, self.cb_reason)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel,
                                        self)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.lbl_text)
        layout.addLayout(form)
        layout.addWidget(self.buttons)
        self.retranslate()

    def retranslate(self) -> None:
        self.setWindowTitle(self.tr("Mark as missed"))
        self.lbl_text.setText(self.tr("Mark %1 as missed? The appointment ends without a visit; the patient may "
                                      "apply for a refund.").replace("%1", self._patient))
        self.lbl_reason.setText(self.tr("Reason"))
        current = self.cb_reason.currentText()
        self.cb_reason.clear()
        self.cb_reason.addItems([self.tr("No answer after three calls"), self.tr("The patient left the waiting room"),
                                 self.tr("The patient did not come at the appointed time")])
        if current:
            self.cb_reason.setCurrentText(current)
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setText(self.tr("Mark as missed"))
        self.buttons.button(QDialogButtonBox.StandardButton.Cancel).setText(self.tr("Cancel"))

    def reason(self) -> str:
        return self.cb_reason.currentText().strip()[:200]


class ConsultPanel(LanguageAware, QWidget):
    sig_accept_requested = Signal(int)
    sig_call_requested = Signal(int)  # (re)start the video call of a patient already in consultation
    sig_missed_requested = Signal(int, str)
    sig_save_requested = Signal(int, dict)
    sig_finish_requested = Signal(int, dict)
    sig_form_changed = Signal(int, dict)

    def __init__(self, *, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("ConsultPanel")
        self._chart: dict[str, Any] | None = None
        self._pending: str | None = None  # the action sent and not yet confirmed
        self._error = ""
        self._draft_saved_at: dt.datetime | None = None
        self._loading_form = False
        # replaceable by tests: (title, text, confirm button) -> bool; (patient) -> reason | None
        self.ask: Callable[[str, str, str], bool] = self._ask
        self.ask_missed_reason: Callable[[str], str | None] = self._ask_missed_reason

        self.lbl_title = QLabel(self)
        self.lbl_title.setObjectName("CardTitle")
        self.lbl_status = QLabel(self)
        self.lbl_status.setWordWrap(True)
        self.lbl_error = QLabel(self)
        self.lbl_error.setObjectName("ErrorText")
        self.lbl_error.setWordWrap(True)
        self.lbl_error.hide()
        self.stack = QStackedWidget(self)

        # page 0: nothing selected
        self.page_none = QLabel(self)
        self.page_none.setObjectName("Muted")
        self.page_none.setWordWrap(True)
        self.page_none.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)

        # page 1: call the patient
        self.page_call = QWidget(self)
        self.btn_accept = QPushButton(self.page_call)
        self.btn_accept.setObjectName("Primary")
        self.btn_accept.setMinimumHeight(36)
        self.btn_missed = QPushButton(self.page_call)
        self.btn_missed.setObjectName("Danger")
        self.lbl_call_hint = QLabel(self.page_call)
        self.lbl_call_hint.setObjectName("Muted")
        self.lbl_call_hint.setWordWrap(True)
        call = QVBoxLayout(self.page_call)
        call.setContentsMargins(0, 0, 0, 0)
        row = QHBoxLayout()
        row.addWidget(self.btn_accept, 2)
        row.addWidget(self.btn_missed, 1)
        call.addLayout(row)
        call.addWidget(self.lbl_call_hint)
        call.addStretch(1)

        # page 2: the visit
        self.page_visit = QWidget(self)
        self.video_slot = QHBoxLayout()
        self.lbl_video = QLabel(self.page_visit)
        self.lbl_video.setObjectName("Muted")
        self.lbl_video.setWordWrap(True)
        self.btn_video = QPushButton(self.page_visit)
        self.video_slot.addWidget(self.lbl_video, 1)
        self.video_slot.addWidget(self.btn_video)
        self._call_live = False
        self.lbl_notes = QLabel(self.page_visit)
        self.lbl_notes.setObjectName("SectionTitle")
        self.ed_notes = QPlainTextEdit(self.page_visit)
        self.ed_notes.setMinimumHeight(140)
        self.lbl_diagnosis = QLabel(self.page_visit)
        self.lbl_diagnosis.setObjectName("SectionTitle")
        self.icd = IcdPicker(parent=self.page_visit)
        self.lbl_draft = QLabel(self.page_visit)
        self.lbl_draft.setObjectName("Muted")
        self.btn_save = QPushButton(self.page_visit)
        self.btn_finish = QPushButton(self.page_visit)
        self.btn_finish.setObjectName("Primary")
        self.btn_finish.setMinimumHeight(36)
        visit = QVBoxLayout(self.page_visit)
        visit.setContentsMargins(0, 0, 0, 0)
        visit.setSpacing(6)
        visit.addLayout(self.video_slot)
        visit.addWidget(self.lbl_notes)
        visit.addWidget(self.ed_notes, 1)
        visit.addWidget(self.lbl_diagnosis)
        visit.addWidget(self.icd)
        self.lbl_draft.setWordWrap(True)
        visit.addWidget(self.lbl_draft)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(self.btn_save)
        buttons.addWidget(self.btn_finish)
        visit.addSpacing(4)
        visit.addLayout(buttons)

        # page 3: done (finished, missed, cancelled): what was recorded
        self.page_done = QWidget(self)
        self.lbl_done_diagnosis = QLineEdit(self.page_done)
        self.lbl_done_diagnosis.setReadOnly(True)
        self.ed_done_notes = QPlainTextEdit(self.page_done)
        self.ed_done_notes.setReadOnly(True)
        self.lbl_done_diag_title = QLabel(self.page_done)
        self.lbl_done_diag_title.setObjectName("SectionTitle")
        self.lbl_done_notes_title = QLabel(self.page_done)
        self.lbl_done_notes_title.setObjectName("SectionTitle")
        done = QVBoxLayout(self.page_done)
        done.setContentsMargins(0, 0, 0, 0)
        done.addWidget(self.lbl_done_diag_title)
        done.addWidget(self.lbl_done_diagnosis)
        done.addWidget(self.lbl_done_notes_title)
        done.addWidget(self.ed_done_notes, 1)
        self.lbl_rating_title = QLabel(self.page_done)
        self.lbl_rating_title.setObjectName("SectionTitle")
        self.lbl_rating = QLabel(self.page_done)
        self.lbl_rating.setObjectName("Rating")
        self.lbl_rating.setWordWrap(True)
        self.lbl_rating.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        done.addWidget(self.lbl_rating_title)
        done.addWidget(self.lbl_rating)
        self._rating: dict[str, Any] | None = None

        for page in (self.page_none, self.page_call, self.page_visit, self.page_done):
            self.stack.addWidget(page)

        self.card = card(self, None, [self.lbl_title, self.lbl_status, self.lbl_error, self.stack])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.card)

        self.btn_accept.clicked.connect(self._accept_clicked)
        self.btn_video.clicked.connect(self._video_clicked)
        self.btn_missed.clicked.connect(self._missed_clicked)
        self.btn_save.clicked.connect(self._save_clicked)
        self.btn_finish.clicked.connect(self._finish_clicked)
        self.ed_notes.textChanged.connect(self._form_changed)
        self.icd.sig_selected.connect(lambda _c, _n: self._form_changed())
        self.icd.sig_cleared.connect(self._form_changed)
        self.retranslate()

    # --- what is shown ---------------------------------------------------------------------------------------

    @property
    def appointment_id(self) -> int | None:
        return int(self._chart["appointment_id"]) if self._chart else None

    @property
    def status(self) -> str:
        return str(self._chart.get("status", "")) if self._chart else ""

    @property
    def pending(self) -> str | None:
        return self._pending

    def show_chart(self, chart: dict[str, Any] | None, *, draft: dict[str, Any] | None = None) -> None:
        """Show the actions for this appointment. A new appointment resets the form (from the draft if there is
        one, else from what the server has); the same one keeps what the doctor is typing."""
        same = chart is not None and self._chart is not None and \
            chart.get("appointment_id") == self._chart.get("appointment_id")
        previous_status = self.status
        self._chart = chart
        if not same:
            self._pending, self._error = None, ""
            self._draft_saved_at = None
            self._rating = (chart or {}).get("rating")
            self.load_form(draft or chart or {})
        elif self._pending and self.status != previous_status:
            self._pending = None  # the server confirmed the change
        self.retranslate()

    def load_form(self, record: dict[str, Any]) -> None:
        self._loading_form = True
        try:
            self.ed_notes.setPlainText(str(record.get("notes") or ""))
            self.icd.set_selected(str(record.get("diagnosis_code") or ""), str(record.get("diagnosis_name") or ""))
        finally:
            self._loading_form = False

    def form(self) -> dict[str, Any]:
        picked = self.icd.selected()
        return {"diagnosis_code": picked[0] if picked else "", "diagnosis_name": picked[1] if picked else "",
                "notes": self.ed_notes.toPlainText()[:NOTES_MAX]}

    def set_pending(self, action: str | None) -> None:
        self._pending = action
        self.retranslate()

    def show_action_error(self, message: str) -> None:
        self._pending = None
        self._error = message
        self.retranslate()

    def set_rating(self, rating: dict[str, Any] | None) -> None:
        """The patient's rating of the visit (``{stars, text, rated_at}``), shown once the visit is finished."""
        self._rating = rating
        self.retranslate()

    def draft_saved(self) -> None:
        self._draft_saved_at = dt.datetime.now(TZ)  # the hospital's clock, like every other time shown
        self.retranslate()

    # --- actions (confirm, then ask the window) ------------------------------------------------------------

    def _patient(self) -> str:
        return str((self._chart or {}).get("patient", {}).get("name", ""))

    def _accept_clicked(self) -> None:
        if self.appointment_id is None:
            return
        self._error = ""
        self.set_pending("accept")
        self.sig_accept_requested.emit(self.appointment_id)

    def _video_clicked(self) -> None:
        if self.appointment_id is not None:
            self.sig_call_requested.emit(self.appointment_id)

    def set_call_live(self, live: bool) -> None:
        """Whether a video call with the shown patient is on (the panel above the chart has its controls)."""
        self._call_live = live
        self.retranslate()

    def _missed_clicked(self) -> None:
        if self.appointment_id is None:
            return
        reason = self.ask_missed_reason(self._patient())
        if reason is None:
            return
        self._error = ""
        self.set_pending("missed")
        self.sig_missed_requested.emit(self.appointment_id, reason)

    def _save_clicked(self) -> None:
        if self.appointment_id is None:
            return
        self.sig_save_requested.emit(self.appointment_id, self.form())

    def _finish_clicked(self) -> None:
        if self.appointment_id is None:
            return
        record = self.form()
        if not record["diagnosis_code"]:
            self._error = self.tr("Pick a diagnosis from the ICD-10 list before finishing the visit.")
            self.retranslate()
            self.icd.edit.setFocus()
            return
        text = self.tr("Finish the visit of %1 with the diagnosis %2 %3? The record cannot be changed afterwards.") \
            .replace("%1", self._patient()).replace("%2", record["diagnosis_code"]) \
            .replace("%3", record["diagnosis_name"])
        if not self.ask(self.tr("Finish visit"), text, self.tr("Finish visit")):
            return
        self._error = ""
        self.set_pending("finish")
        self.sig_finish_requested.emit(self.appointment_id, record)

    def _form_changed(self) -> None:
        if not self._loading_form and self.appointment_id is not None and self.status == "in_consultation":
            self.sig_form_changed.emit(self.appointment_id, self.form())

    def _ask(self, title: str, text: str, confirm: str) -> bool:
        box = QMessageBox(QMessageBox.Icon.Question, title, text,
                          QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No, self)
        box.button(QMessageBox.StandardButton.Yes).setText(confirm)
        box.button(QMessageBox.StandardButton.No).setText(self.tr("Go back"))
        box.setDefaultButton(QMessageBox.StandardButton.No)
        return box.exec() == QMessageBox.StandardButton.Yes

    def _ask_missed_reason(self, patient: str) -> str | None:
        dialog = MissedDialog(patient=patient, parent=self)
        try:
            return dialog.reason() if dialog.exec() == QDialog.DialogCode.Accepted else None
        finally:
            dialog.deleteLater()

    # --- texts -------------------------------------------------------------------------------------------------

    def retranslate(self) -> None:
        self.lbl_title.setText(self.tr("Consultation"))
        self.page_none.setText(self.tr("Select a patient in the queue. Accept a waiting patient to start the "
                                       "visit; write the notes and pick the diagnosis, then finish the visit."))
        self.btn_accept.setText(self.tr("Video call"))
        self.btn_accept.setToolTip(self.tr("Call the patient on video and start the visit"))
        self.btn_video.setText(self.tr("Video call"))
        self.btn_video.setToolTip(self.tr("Call the patient on video again"))
        self.lbl_video.setText(self.tr("Video: the call is on (controls above the chart).") if self._call_live
                               else self.tr("Video: no call at the moment. Call the patient again if the line "
                                            "dropped."))
        self.btn_video.setVisible(not self._call_live)
        self.btn_missed.setText(self.tr("Mark as missed…"))
        self.btn_missed.setToolTip(self.tr("The patient did not answer or did not come"))
        self.lbl_notes.setText(self.tr("Notes (complaint, findings, advice)"))
        self.ed_notes.setPlaceholderText(self.tr("Chief complaint, history, findings, advice…"))
        self.lbl_diagnosis.setText(self.tr("Diagnosis (ICD-10)"))
        self.btn_save.setText(self.tr("Save record"))
        self.btn_save.setToolTip(self.tr("Send the record to the server now (it is also kept on this computer "
                                         "automatically)"))
        self.btn_finish.setText(self.tr("Finish visit…"))
        self.lbl_done_diag_title.setText(self.tr("Diagnosis"))
        self.lbl_done_notes_title.setText(self.tr("Notes"))
        self.lbl_call_hint.setText(self.tr("The call starts the visit; the patient is waiting on the video page "
                                           "of the mini-program."))
        if self._draft_saved_at is not None:
            self.lbl_draft.setText(self.tr("Draft saved on this computer at %1")
                                   .replace("%1", self._draft_saved_at.strftime("%H:%M:%S")))
        else:
            self.lbl_draft.setText(self.tr("Drafts are saved on this computer automatically."))
        self._render_state()

    def _render_state(self) -> None:
        c = self._chart
        self.lbl_error.setText(self._error)
        self.lbl_error.setVisible(bool(self._error))
        if c is None:
            self.stack.setCurrentWidget(self.page_none)
            self.lbl_status.hide()
            return
        status = self.status
        name = self._patient()
        self.lbl_status.show()
        busy = self._pending is not None
        pending_texts = {
            "accept": self.tr("Calling %1… (waiting for the server)"),
            "missed": self.tr("Marking %1 as missed… (waiting for the server)"),
            "finish": self.tr("Finishing the visit of %1… (waiting for the server)"),
        }
        if status in CALLABLE or (status == "booked"):
            self.stack.setCurrentWidget(self.page_call)
            self.btn_accept.setEnabled(not busy and status in CALLABLE)
            self.btn_missed.setEnabled(not busy and status in MISSABLE)
            if busy:
                self.lbl_status.setText(pending_texts.get(self._pending or "", "").replace("%1", name))
            elif status == "checked_in":
                self.lbl_status.setText(self.tr("%1 has checked in and is describing the condition.")
                                        .replace("%1", name))
            elif status == "interrupted":
                self.lbl_status.setText(self.tr("The call with %1 was interrupted. Accept to call again.")
                                        .replace("%1", name))
            else:
                self.lbl_status.setText(self.tr("%1 is waiting for you.").replace("%1", name))
        elif status == "in_consultation":
            self.stack.setCurrentWidget(self.page_visit)
            for w in (self.ed_notes, self.icd, self.btn_save, self.btn_finish):
                w.setEnabled(not busy)
            if busy:
                self.lbl_status.setText(pending_texts.get(self._pending or "", "").replace("%1", name))
            else:
                self.lbl_status.setText(self.tr("In consultation with %1.").replace("%1", name))
        else:
            self.stack.setCurrentWidget(self.page_done)
            diag = " ".join(x for x in (c.get("diagnosis_code") or "", c.get("diagnosis_name") or "") if x)
            self.lbl_done_diagnosis.setText(diag or "—")
            self.ed_done_notes.setPlainText(str(c.get("notes") or ""))
            self.lbl_rating_title.setText(self.tr("Patient's rating"))
            r = self._rating
            if r:
                stars = max(0, min(5, int(r.get("stars") or 0)))
                text = "★" * stars + "☆" * (5 - stars)
                if r.get("text"):
                    text += "\n" + str(r["text"])
                self.lbl_rating.setText(text)
            else:
                self.lbl_rating.setText(self.tr("Not rated yet."))
            self.lbl_rating_title.setVisible(status == "completed")
            self.lbl_rating.setVisible(status == "completed")
            if status == "completed":
                self.lbl_status.setText(self.tr("The visit of %1 is finished.").replace("%1", name))
            elif status == "missed":
                self.lbl_status.setText(self.tr("%1 was marked as missed.").replace("%1", name))
            else:
                self.lbl_status.setText(self.tr("This appointment is closed (%1).")
                                        .replace("%1", str(c.get("status_label") or status)))
