"""One refund as the clerk decides on it: who, which appointment, what was paid and what goes back, the patient's
reason (an application) or the gateway's answer (an exception), and the actions its status allows — 同意退费 and
拒绝… for an application waiting for review, 重新发起 for a failed or closed refund.

Pure display: the panel emits ``sig_*_requested`` and the window confirms and sends them through the outbox.
"""
from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from workstation.models.money import yuan
from workstation.models.refunds import (
    APPLICATIONS,
    appointment_status_label,
    full_time,
    gateway_status_label,
    purpose_label,
    refund_path_label,
    refund_status_label,
)
from workstation.ui import theme
from workstation.ui.i18n import LanguageAware
from workstation.ui.widgets import FieldGrid

FIELDS = ("amount", "paid", "id_number", "mobile", "appointment_status", "trade_no", "created", "refund_no",
          "path", "reviewer", "submitted", "refunded_at", "gateway", "attempts")

# badge colours of a refund status (background, text)
STATUS_COLORS = {
    "requested": ("#fff1d6", "#8a4b00"), "approved": ("#dcebff", "#1849a9"), "processing": ("#dcebff", "#1849a9"),
    "refunded": ("#dff3e4", "#1c6b35"), "rejected": ("#ececec", "#555d66"), "failed": ("#fde4e1", "#b42318"),
    "closed": ("#fde4e1", "#b42318"),
}


def status_style(status: str) -> str:
    bg, fg = STATUS_COLORS.get(status, ("#eef2f6", "#40515f"))
    return f"background: {bg}; color: {fg}; border-radius: 10px; padding: 2px 12px; font-weight: bold;"


class RefundDetailPanel(LanguageAware, QWidget):
    sig_approve_requested = Signal(int)
    sig_reject_requested = Signal(int)
    sig_retry_requested = Signal(int)

    def __init__(self, *, kind: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.kind = kind
        self.setObjectName("RefundDetail")
        self.refund: dict[str, Any] | None = None
        self.pending: str | None = None

        self.lbl_name = QLabel(self)
        self.lbl_name.setObjectName("PatientName")
        self.lbl_status = QLabel(self)
        self.lbl_status.setObjectName("RefundStatus")
        self.lbl_meta = QLabel(self)
        self.lbl_meta.setObjectName("Muted")
        self.lbl_meta.setWordWrap(True)
        self.lbl_meta.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        # the patient's reason (an application) or the gateway's answer (an exception), framed to stand out
        self.note = QFrame(self)
        self.note.setObjectName("RefundNote")
        self.lbl_note_title = QLabel(self.note)
        self.lbl_note_title.setObjectName("SectionTitle")
        self.lbl_note = QLabel(self.note)
        self.lbl_note.setObjectName("RefundNoteText")
        self.lbl_note.setWordWrap(True)
        self.lbl_note.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        note_layout = QVBoxLayout(self.note)
        note_layout.setContentsMargins(14, 8, 14, 10)
        note_layout.setSpacing(2)
        note_layout.addWidget(self.lbl_note_title)
        note_layout.addWidget(self.lbl_note)

        self.grid = FieldGrid(self, list(FIELDS))
        self.lbl_empty = QLabel(self)
        self.lbl_empty.setObjectName("Placeholder")
        self.lbl_empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.lbl_empty.setWordWrap(True)
        self.lbl_action = QLabel(self)
        self.lbl_action.setWordWrap(True)
        self.lbl_action.setObjectName("InfoText")
        self.lbl_action.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        self.btn_approve = QPushButton(self)
        self.btn_approve.setObjectName("Primary")
        self.btn_approve.setMinimumWidth(150)
        self.btn_reject = QPushButton(self)
        self.btn_reject.setObjectName("Danger")
        self.btn_retry = QPushButton(self)
        self.btn_retry.setObjectName("Primary")
        self.btn_retry.setMinimumWidth(120)
        self.btn_approve.clicked.connect(lambda: self._emit(self.sig_approve_requested))
        self.btn_reject.clicked.connect(lambda: self._emit(self.sig_reject_requested))
        self.btn_retry.clicked.connect(lambda: self._emit(self.sig_retry_requested))

        head = QHBoxLayout()
        head.setSpacing(12)
        head.addWidget(self.lbl_name)
        head.addStretch(1)
        head.addWidget(self.lbl_status)
        actions = QHBoxLayout()
        actions.setSpacing(10)
        actions.addStretch(1)
        actions.addWidget(self.btn_reject)
        actions.addWidget(self.btn_approve)
        actions.addWidget(self.btn_retry)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(10)
        layout.addLayout(head)
        layout.addWidget(self.lbl_meta)
        layout.addWidget(self.note)
        layout.addWidget(self.grid)
        layout.addStretch(1)
        layout.addWidget(self.lbl_empty, 1)
        layout.addWidget(self.lbl_action)
        layout.addLayout(actions)
        self.retranslate()
        self.show_refund(None)

    # --- showing -------------------------------------------------------------------------------------------------

    @property
    def refund_id(self) -> int | None:
        return None if self.refund is None else int(self.refund["id"])

    @property
    def status(self) -> str | None:
        return None if self.refund is None else str(self.refund.get("status") or "")

    def show_refund(self, refund: dict[str, Any] | None, *, pending: str | None = None) -> None:
        same = refund is not None and self.refund is not None and refund.get("id") == self.refund.get("id")
        self.refund = refund
        self.pending = pending
        has = refund is not None
        for w in (self.lbl_name, self.lbl_status, self.lbl_meta, self.grid):
            w.setVisible(has)
        self.lbl_empty.setVisible(not has)
        if not same:
            self.lbl_action.clear()
            self.lbl_action.hide()
        if refund is None:
            self.note.hide()
            self._update_buttons()
            return
        r = refund
        status = str(r.get("status") or "")
        self.lbl_name.setText(str(r.get("patient_name") or "") or self.tr("(patient unknown)"))
        self.lbl_status.setText(refund_status_label(status, str(r.get("status_label") or "")))
        self.lbl_status.setStyleSheet(status_style(status))
        meta = [str(r.get("appointment_number") or ""),
                " · ".join(str(x) for x in (r.get("doctor_name"), r.get("department_name")) if x),
                full_time(r.get("starts_at"))]
        self.lbl_meta.setText("  ·  ".join(m for m in meta if m))
        self._show_note(r, status)
        paid = yuan(r.get("paid_fen"))
        if r.get("paid_at"):
            paid = self.tr("%1 (paid %2)").replace("%1", paid).replace("%2", full_time(r.get("paid_at")))
        fee = purpose_label(str(r.get("purpose") or ""))
        amount = yuan(r.get("amount_fen"))
        self.grid.set_values({
            "amount": f"{amount}　{fee}" if fee else amount,
            "paid": paid,
            "id_number": str(r.get("id_number_masked") or ""),
            "mobile": str(r.get("mobile_masked") or ""),
            "appointment_status": appointment_status_label(str(r.get("appointment_status") or ""),
                                                           str(r.get("appointment_status_label") or "")),
            "trade_no": str(r.get("out_trade_no") or ""),
            "created": full_time(r.get("created_at")),
            "refund_no": str(r.get("out_refund_no") or ""),
            "path": refund_path_label(str(r.get("path") or ""), str(r.get("path_label") or "")),
            "reviewer": str(r.get("reviewer_name") or "") or "—",
            "submitted": full_time(r.get("submitted_at")) or "—",
            "refunded_at": full_time(r.get("refunded_at")) or "—",
            "gateway": gateway_status_label(str(r.get("gateway_status") or "")),
            "attempts": str(int(r.get("query_attempts") or 0)),
        })
        # what the gateway did means nothing before a refund was sent
        sent = status not in ("requested", "rejected")
        for key in ("submitted", "refunded_at", "gateway", "attempts"):
            self.grid.names[key].setVisible(sent)
            self.grid.values[key].setVisible(sent)
        self._update_buttons()

    def _show_note(self, r: dict[str, Any], status: str) -> None:
        if status in ("failed", "closed"):
            title = self.tr("What the payment gateway said")
            text = str(r.get("last_error") or "")
            if not text:
                text = (self.tr("The gateway closed this refund (for example the patient's account was closed). "
                                "Sending it again creates a new refund number.")
                        if status == "closed" else
                        self.tr("The gateway could not pay the money back. Sending it again uses the same refund "
                                "number, so it can never be paid twice."))
            self.note.setStyleSheet("QFrame#RefundNote { background: #fdecea; border: 1px solid #f5c2bc;"
                                    " border-radius: 6px; } QLabel#RefundNoteText { color: #8f1c13; }")
        elif status == "rejected" and r.get("reject_reason"):
            title = self.tr("Rejected because")
            text = str(r.get("reject_reason") or "")
            self.note.setStyleSheet("QFrame#RefundNote { background: #f3f5f7; border: 1px solid #dfe4e9;"
                                    " border-radius: 6px; }")
        else:
            title = self.tr("The patient's reason") if r.get("path") == "application" else self.tr("Reason")
            text = str(r.get("reason") or "")
            self.note.setStyleSheet(f"QFrame#RefundNote {{ background: {theme.WARNING_BG}; border: 1px solid"
                                    " #f3c27a; border-radius: 6px; } QLabel#RefundNoteText { font-size: 11pt; }")
        self.lbl_note_title.setText(title)
        self.lbl_note.setText(text)
        self.note.setVisible(bool(text))

    def set_pending(self, action: str | None) -> None:
        if action is None and self.pending is not None:
            self.lbl_action.clear()
            self.lbl_action.hide()
        self.pending = action
        self._update_buttons()

    def show_action_error(self, text: str) -> None:
        self.lbl_action.setObjectName("ErrorText")
        self.lbl_action.setStyleSheet(f"color: {theme.DANGER}; background: #fdecea; border: 1px solid #f5c2bc;"
                                      " border-radius: 4px; padding: 6px 8px;")
        self.lbl_action.setText(text)
        self.lbl_action.setVisible(bool(text))

    def _emit(self, sig: Any) -> None:
        if self.refund_id is not None and self.pending is None:
            sig.emit(self.refund_id)

    def _update_buttons(self) -> None:
        status = self.status
        idle = self.pending is None
        review = status == "requested" and self.kind == APPLICATIONS
        retry = status in ("failed", "closed") and self.kind != APPLICATIONS
        self.btn_approve.setVisible(review)
        self.btn_reject.setVisible(review)
        self.btn_retry.setVisible(retry)
        self.btn_approve.setEnabled(review and idle)
        self.btn_reject.setEnabled(review and idle)
        self.btn_retry.setEnabled(retry and idle)
        if self.refund is not None:
            amount = yuan(self.refund.get("amount_fen"))
            self.btn_approve.setText(self.tr("Approve and refund %1").replace("%1", amount))
        if not idle:
            self.lbl_action.setStyleSheet("")
            self.lbl_action.show()
            self.lbl_action.setText({
                "approve": self.tr("Approving… the refund starts as soon as the server has it."),
                "reject": self.tr("Rejecting… the patient is told by text message."),
                "retry": self.tr("Sending the refund again…"),
            }.get(self.pending or "", ""))

    # --- texts -------------------------------------------------------------------------------------------------

    def retranslate(self) -> None:
        self.btn_approve.setText(self.tr("Approve and refund"))
        self.btn_reject.setText(self.tr("Reject…"))
        self.btn_retry.setText(self.tr("Send again…"))
        self.btn_retry.setToolTip(self.tr("A failed refund is sent again under the same refund number; a closed one "
                                          "under a new number"))
        self.grid.set_names({
            "amount": self.tr("Refund"), "paid": self.tr("Paid"), "id_number": self.tr("ID number"),
            "mobile": self.tr("Mobile"), "appointment_status": self.tr("Appointment"),
            "trade_no": self.tr("Order no."), "created": self.tr("Created"), "refund_no": self.tr("Refund no."),
            "path": self.tr("Refund type"), "reviewer": self.tr("Handled by"),
            "submitted": self.tr("Sent to gateway"), "refunded_at": self.tr("Money back"),
            "gateway": self.tr("Gateway status"), "attempts": self.tr("Gateway queries"),
        })
        if self.kind == APPLICATIONS:
            self.lbl_empty.setText(self.tr("Select an application on the left to review it."))
        else:
            self.lbl_empty.setText(self.tr("Select a refund on the left to see what went wrong."))
        if self.refund is not None:
            self.show_refund(self.refund, pending=self.pending)
