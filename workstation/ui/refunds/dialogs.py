"""The clerk's dialogs: rejecting an application (a preset reason from the server plus a text), a window refund
or a drug-fee refund (a reason, what happens to the appointment or prescription, the amount on the button), and
the confirmations of approving and sending a refund again — each shows the money it moves."""
from __future__ import annotations

import datetime as dt
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QLabel,
    QMessageBox,
    QPlainTextEdit,
    QVBoxLayout,
    QWidget,
)

from workstation.models.money import yuan
from workstation.models.queue import TZ, parse_time
from workstation.models.refunds import full_time, refund_amount_of
from workstation.ui import theme
from workstation.ui.i18n import LanguageAware

MAX_REASON = 200
MAX_REJECT_TEXT = 180  # the server's limit of the clerk's text (the label and "：" come before it)
MIN_REASON = 2


def squeeze(text: str) -> str:
    return " ".join(text.split())


class RejectDialog(LanguageAware, QDialog):
    """Reject an application: one of the server's preset reasons (``GET /staff/refunds/reject-reasons``) and a
    text, required for ``other``. The patient reads "<label>：<text>" in a text message and may apply again."""

    def __init__(self, *, refund: dict[str, Any], reasons: list[dict[str, Any]],
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("RejectDialog")
        self.refund = refund
        self.reasons = [r for r in reasons if r.get("code")]
        self.setMinimumWidth(540)
        self.lbl_intro = QLabel(self)
        self.lbl_intro.setWordWrap(True)
        self.lbl_reason = QLabel(self)
        self.lbl_reason.setObjectName("FieldName")
        self.combo = QComboBox(self)
        self.combo.setObjectName("RejectReasons")
        for r in self.reasons:
            self.combo.addItem(str(r.get("label") or r["code"]), str(r["code"]))
        self.combo.setCurrentIndex(-1)
        self.lbl_text = QLabel(self)
        self.lbl_text.setObjectName("FieldName")
        self.ed_text = QPlainTextEdit(self)
        self.ed_text.setObjectName("RejectText")
        self.ed_text.setFixedHeight(84)
        self.lbl_count = QLabel(self)
        self.lbl_count.setObjectName("Muted")
        self.lbl_count.setAlignment(Qt.AlignmentFlag.AlignRight)
        self.lbl_error = QLabel(self)
        self.lbl_error.setObjectName("ErrorText")
        self.lbl_error.setWordWrap(True)
        self.lbl_error.hide()
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel,
                                        self)
        self.btn_ok = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        theme.set_style_name(self.btn_ok, "Danger")
        self.btn_ok.setDefault(False)
        self.buttons.button(QDialogButtonBox.StandardButton.Cancel).setDefault(True)
        self.buttons.accepted.connect(self._try_accept)
        self.buttons.rejected.connect(self.reject)
        self.combo.currentIndexChanged.connect(lambda _i: self._validate())
        self.ed_text.textChanged.connect(self._validate)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(20, 18, 20, 16)
        layout.setSpacing(8)
        layout.addWidget(self.lbl_intro)
        layout.addSpacing(4)
        layout.addWidget(self.lbl_reason)
        layout.addWidget(self.combo)
        layout.addWidget(self.lbl_text)
        layout.addWidget(self.ed_text)
        layout.addWidget(self.lbl_count)
        layout.addWidget(self.lbl_error)
        layout.addWidget(self.buttons)
        self.retranslate()
        self._validate()

    # --- values --------------------------------------------------------------------------------------------------

    def select_reason(self, code: str) -> bool:
        i = self.combo.findData(code)
        if i >= 0:
            self.combo.setCurrentIndex(i)
        return i >= 0

    def reason_code(self) -> str | None:
        data = self.combo.currentData()
        return None if data is None else str(data)

    def reason_label(self) -> str:
        return self.combo.currentText() if self.combo.currentIndex() >= 0 else ""

    def text(self) -> str:
        return squeeze(self.ed_text.toPlainText())

    def room(self) -> int:
        """Characters left for the text: the patient reads "<label>：<text>", at most 200 in all."""
        label = self.reason_label()
        return min(MAX_REJECT_TEXT, MAX_REASON - (len(label) + 1 if label else 0))

    def problem(self) -> str | None:
        if not self.reasons:
            return self.tr("The reasons could not be loaded from the server. Close this and try again.")
        code = self.reason_code()
        if code is None:
            return self.tr("Choose why the application is rejected.")
        if code == "other" and len(self.text()) < MIN_REASON:
            return self.tr("“Other” needs an explanation for the patient (at least 2 characters).")
        if len(self.text()) > self.room():
            return self.tr("The explanation is too long.")
        return None

    def _validate(self) -> None:
        n, room = len(self.text()), self.room()
        self.lbl_count.setText(f"{n}/{room}")
        self.lbl_count.setStyleSheet(f"color: {theme.DANGER};" if n > room else "")
        required = self.reason_code() == "other"
        self.lbl_text.setText(self.tr("Explanation for the patient (required)") if required
                              else self.tr("Explanation for the patient (optional)"))
        self.btn_ok.setEnabled(self.problem() is None)
        self.lbl_error.hide()

    def _try_accept(self) -> None:
        problem = self.problem()
        if problem is not None:
            self.lbl_error.setText(problem)
            self.lbl_error.show()
            return
        self.accept()

    def retranslate(self) -> None:
        r = self.refund
        self.setWindowTitle(self.tr("Reject refund application"))
        self.lbl_intro.setText(
            self.tr("Reject %1's application to return appointment %2 (%3)? The fee of %4 stays paid. The patient "
                    "reads your reason in a text message and may apply again.")
            .replace("%1", str(r.get("patient_name") or "")).replace("%2", str(r.get("appointment_number") or ""))
            .replace("%3", " · ".join(str(x) for x in (r.get("doctor_name"), full_time(r.get("starts_at"))) if x))
            .replace("%4", yuan(r.get("amount_fen"))))
        self.lbl_reason.setText(self.tr("Reason"))
        self.ed_text.setPlaceholderText(self.tr("e.g. the doctor had already seen the patient at 09:20"))
        self.btn_ok.setText(self.tr("Reject application"))
        self.buttons.button(QDialogButtonBox.StandardButton.Cancel).setText(self.tr("Cancel"))
        self._validate()


class RefundReasonDialog(LanguageAware, QDialog):
    """A window refund (``kind="window"``) or a drug-fee refund (``kind="drug"``) of a search result: what is
    refunded and what follows, a reason (required; presets or free text), and the amount on the button."""

    def __init__(self, *, kind: str, row: dict[str, Any], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("RefundReasonDialog")
        self.kind = kind
        self.row = row
        self.setMinimumWidth(560)
        self.lbl_summary = QLabel(self)
        self.lbl_summary.setWordWrap(True)
        self.lbl_summary.setTextFormat(Qt.TextFormat.RichText)
        self.lbl_effects = QLabel(self)
        self.lbl_effects.setObjectName("AlertText")
        self.lbl_effects.setWordWrap(True)
        self.lbl_effects.setTextFormat(Qt.TextFormat.RichText)
        self.lbl_effects.setStyleSheet(f"background: {theme.WARNING_BG}; border: 1px solid #f3c27a; "
                                       f"border-radius: 6px; padding: 8px 10px; color: {theme.WARNING_TEXT};"
                                       "font-weight: normal;")
        self.lbl_reason = QLabel(self)
        self.lbl_reason.setObjectName("FieldName")
        self.combo = QComboBox(self)
        self.combo.setObjectName("RefundReason")
        self.combo.setEditable(True)
        self.combo.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        self.combo.lineEdit().setMaxLength(MAX_REASON)
        self.lbl_error = QLabel(self)
        self.lbl_error.setObjectName("ErrorText")
        self.lbl_error.setWordWrap(True)
        self.lbl_error.hide()
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel,
                                        self)
        self.btn_ok = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        theme.set_style_name(self.btn_ok, "Primary")
        self.btn_ok.setDefault(False)
        self.buttons.accepted.connect(self._try_accept)
        self.buttons.rejected.connect(self.reject)
        self.combo.editTextChanged.connect(lambda _t: self._validate())

        layout = QVBoxLayout(self)
        layout.setContentsMargins(20, 18, 20, 16)
        layout.setSpacing(10)
        layout.addWidget(self.lbl_summary)
        layout.addWidget(self.lbl_effects)
        layout.addWidget(self.lbl_reason)
        layout.addWidget(self.combo)
        layout.addWidget(self.lbl_error)
        layout.addWidget(self.buttons)
        self.retranslate()
        self.combo.setCurrentIndex(-1)
        self.combo.setEditText("")
        self._validate()

    @property
    def amount_fen(self) -> int:
        return refund_amount_of(self.row)

    def presets(self) -> list[str]:
        if self.kind == "drug":
            return [self.tr("The patient no longer needs the medicine"),
                    self.tr("The pharmacy cannot supply the medicine"),
                    self.tr("The doctor changed the prescription")]
        return [self.tr("The patient asked at the window to cancel"),
                self.tr("The visit could not take place (system or network problem)"),
                self.tr("The doctor could not see the patient"),
                self.tr("Booked twice by mistake")]

    def reason(self) -> str:
        return squeeze(self.combo.currentText())[:MAX_REASON]

    def set_reason(self, text: str) -> None:
        self.combo.setEditText(text)

    def problem(self) -> str | None:
        if len(self.reason()) < MIN_REASON:
            return self.tr("Enter the reason for the refund (at least 2 characters).")
        if self.amount_fen <= 0:
            return self.tr("Nothing is left to refund on this order.")
        return None

    def _validate(self) -> None:
        self.btn_ok.setEnabled(self.problem() is None)
        self.lbl_error.hide()

    def _try_accept(self) -> None:
        problem = self.problem()
        if problem is not None:
            self.lbl_error.setText(problem)
            self.lbl_error.show()
            return
        self.accept()

    def effects(self) -> list[str]:
        if self.kind == "drug":
            return [self.tr("The prescription is marked refunded: the pharmacy will not dispense it."),
                    self.tr("The drug fee goes back the way it was paid (1–15 working days); the patient is told "
                            "by text message.")]
        return self.window_effects()

    def window_effects(self, *, now: dt.datetime | None = None) -> list[str]:
        """What a window refund does beyond the money, in the order the clerk tells the patient."""
        r = self.row
        out: list[str] = []
        if r.get("refund_status") == "reviewing":
            out.append(self.tr("The patient's application waiting for review is approved by this refund."))
        status = str(r.get("appointment_status") or "")
        starts = parse_time(r.get("starts_at"))
        now = now or dt.datetime.now(TZ)
        if status == "in_consultation":
            out.append(self.tr("The patient is in consultation now: the video call is ended and the appointment "
                               "cancelled."))
        elif starts is not None and starts > now:
            out.append(self.tr("The appointment is cancelled and its place goes back to the schedule for other "
                               "patients."))
        else:
            out.append(self.tr("The appointment is cancelled. Its time has passed, so the place is not released."))
        out.append(self.tr("The fee goes back the way it was paid (1–15 working days); the patient is told by text "
                           "message."))
        return out

    def retranslate(self) -> None:
        import html

        r = self.row
        e = html.escape
        amount = yuan(self.amount_fen)
        if self.kind == "drug":
            self.setWindowTitle(self.tr("Refund the drug fee"))
            what = self.tr("Drug fee of the prescription written at appointment %1") \
                .replace("%1", str(r.get("appointment_number") or ""))
        else:
            self.setWindowTitle(self.tr("Window refund"))
            what = self.tr("Consultation fee of appointment %1").replace("%1", str(r.get("appointment_number") or ""))
        visit = " · ".join(str(x) for x in (r.get("doctor_name"), r.get("department_name"),
                                             full_time(r.get("starts_at"))) if x)
        refund_label = self.tr("Refund")
        self.lbl_summary.setText(
            f"<p style='margin:0'><span style='font-size:13pt; font-weight:bold'>{e(str(r.get('patient_name') or ''))}"
            f"</span>&nbsp;&nbsp;<span style='color:{theme.TEXT_MUTED}'>{e(str(r.get('mobile_masked') or ''))}"
            f"</span></p><p style='margin:4px 0 0 0'>{e(what)}</p>"
            f"<p style='margin:2px 0 0 0; color:{theme.TEXT_MUTED}'>{e(visit)}</p>"
            f"<p style='margin:8px 0 0 0'>{e(refund_label)} <span style='font-size:16pt; font-weight:bold; "
            f"color:{theme.ACCENT_DARK}'>{e(amount)}</span></p>")
        self.lbl_effects.setText("<br>".join("• " + e(x) for x in self.effects()))
        self.lbl_reason.setText(self.tr("Reason (required; shown on the receipt and in the records)"))
        current = self.combo.currentText()
        self.combo.blockSignals(True)
        self.combo.clear()
        self.combo.addItems(self.presets())
        self.combo.setCurrentIndex(-1)
        self.combo.setEditText(current)
        self.combo.blockSignals(False)
        self.combo.lineEdit().setPlaceholderText(self.tr("Choose or type the reason"))
        self.btn_ok.setText(self.tr("Refund %1").replace("%1", amount))
        self.buttons.button(QDialogButtonBox.StandardButton.Cancel).setText(self.tr("Cancel"))


class ConfirmDialog(QMessageBox):
    """A yes/no question about money: the amount is in the text and on the yes button; No is the default, so
    an Enter pressed by habit refunds nothing."""

    def __init__(self, *, title: str, text: str, info: str, yes: str, no: str, parent: QWidget | None = None
                 ) -> None:
        super().__init__(QMessageBox.Icon.Question, title, text, QMessageBox.StandardButton.NoButton, parent)
        self.setObjectName("ConfirmDialog")
        self.setInformativeText(info)
        # room for a sentence about money on one or two lines, not a narrow column of five
        self.setStyleSheet("QLabel#qt_msgbox_label { min-width: 440px; font-weight: bold; }"
                           "QLabel#qt_msgbox_informativelabel { min-width: 440px; }")
        self.btn_yes = self.addButton(yes, QMessageBox.ButtonRole.AcceptRole)
        theme.set_style_name(self.btn_yes, "Primary")
        self.btn_no = self.addButton(no, QMessageBox.ButtonRole.RejectRole)
        self.setDefaultButton(self.btn_no)
        self.setEscapeButton(self.btn_no)

    def ask(self) -> bool:
        self.exec()
        return self.clickedButton() is self.btn_yes
