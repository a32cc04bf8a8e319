"""The prescription in full, as the pharmacist reviews it: who, allergies, diagnosis, the lines with directions,
quantities and amounts, every check the server ran with the doctor's override reasons standing out, the chronic
reason, validity; and the actions the status allows (approve, return, dispense, print the slip).

Pure display: the panel emits ``sig_*_requested`` and the window sends them through the outbox.
"""
from __future__ import annotations

import html
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QTextBrowser, QVBoxLayout, QWidget

from workstation.models.queue import TZ, parse_time
from workstation.models.review import sex_label, status_label
from workstation.ui import theme
from workstation.ui.i18n import LanguageAware

PRINTABLE = frozenset({"signed", "approved", "issued", "fulfilment_chosen", "paid", "dispensed", "shipped",
                       "expired"})


def yuan(fen: Any) -> str:
    return "" if fen is None else f"¥{int(fen) / 100:.2f}"


def when(value: Any) -> str:
    t = parse_time(value)
    return "" if t is None else t.astimezone(TZ).strftime("%Y-%m-%d %H:%M")


class DetailPanel(LanguageAware, QWidget):
    sig_approve_requested = Signal(int)
    sig_return_requested = Signal(int)
    sig_dispense_requested = Signal(int)
    sig_print_requested = Signal(int)

    def __init__(self, *, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("ReviewDetail")
        self.rx: dict[str, Any] | None = None
        self.pending: str | None = None
        self.can_print = True

        self.lbl_name = QLabel(self)
        self.lbl_name.setObjectName("PatientName")
        self.lbl_demo = QLabel(self)
        self.lbl_demo.setObjectName("Muted")
        self.lbl_status = QLabel(self)
        self.lbl_status.setObjectName("RxStatus")
        self.lbl_overrides = QLabel(self)
        self.lbl_overrides.setObjectName("RxOverrides")
        self.lbl_overrides.setStyleSheet(f"background: {theme.WARNING_BG}; color: #b45309; border-radius: 10px;"
                                         "padding: 2px 12px; font-weight: bold;")
        self.lbl_meta = QLabel(self)
        self.lbl_meta.setObjectName("Muted")
        self.lbl_meta.setWordWrap(True)
        self.lbl_meta.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.body = QTextBrowser(self)
        self.body.setObjectName("RxBody")
        self.body.setOpenLinks(False)
        self.body.document().setDocumentMargin(4)
        # the tables are 100% wide and wrap: a few pixels of cell spacing must not bring a scroll bar
        self.body.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)

        self.lbl_empty = QLabel(self)
        self.lbl_empty.setObjectName("Placeholder")
        self.lbl_empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.lbl_empty.setWordWrap(True)
        self.lbl_action = QLabel(self)
        self.lbl_action.setWordWrap(True)
        self.lbl_action.setObjectName("InfoText")

        self.btn_approve = QPushButton(self)
        self.btn_approve.setObjectName("Primary")
        self.btn_approve.setMinimumWidth(120)
        self.btn_return = QPushButton(self)
        self.btn_return.setObjectName("Danger")
        self.btn_dispense = QPushButton(self)
        self.btn_dispense.setObjectName("Primary")
        self.btn_print = QPushButton(self)
        self.btn_approve.clicked.connect(lambda: self._emit(self.sig_approve_requested))
        self.btn_return.clicked.connect(lambda: self._emit(self.sig_return_requested))
        self.btn_dispense.clicked.connect(lambda: self._emit(self.sig_dispense_requested))
        self.btn_print.clicked.connect(lambda: self._emit(self.sig_print_requested))

        head = QHBoxLayout()
        head.setSpacing(12)
        head.addWidget(self.lbl_name)
        head.addWidget(self.lbl_demo)
        head.addStretch(1)
        head.addWidget(self.lbl_overrides)
        head.addWidget(self.lbl_status)
        actions = QHBoxLayout()
        actions.setSpacing(10)
        actions.addWidget(self.btn_print)
        actions.addStretch(1)
        actions.addWidget(self.btn_return)
        actions.addWidget(self.btn_dispense)
        actions.addWidget(self.btn_approve)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(6)
        layout.addLayout(head)
        layout.addWidget(self.lbl_meta)
        layout.addWidget(self.body, 1)
        layout.addWidget(self.lbl_empty, 1)
        layout.addWidget(self.lbl_action)
        layout.addLayout(actions)
        self.retranslate()
        self.show_rx(None)

    # --- showing -------------------------------------------------------------------------------------------------

    @property
    def rx_id(self) -> int | None:
        return None if self.rx is None else int(self.rx["id"])

    @property
    def status(self) -> str | None:
        return None if self.rx is None else str(self.rx.get("status"))

    def show_rx(self, rx: dict[str, Any] | None, *, pending: str | None = None) -> None:
        self.rx = rx
        self.pending = pending
        has = rx is not None
        for w in (self.lbl_name, self.lbl_demo, self.lbl_status, self.lbl_meta, self.body):
            w.setVisible(has)
        self.lbl_empty.setVisible(not has)
        overridden = sum(1 for f in (rx or {}).get("findings") or [] if f.get("overridden"))
        self.lbl_overrides.setVisible(bool(overridden))
        self.lbl_overrides.setText("⚠ " + self.tr("%n check(s) overridden", "", overridden))
        self.lbl_action.clear()
        self.lbl_action.hide()
        if rx is None:
            self._update_buttons()
            return
        patient = rx.get("patient") or {}
        self.lbl_name.setText(str(patient.get("name") or ""))
        demo = [sex_label(patient.get("sex"))]
        if patient.get("age") is not None:
            demo.append(self.tr("%n years", "age", int(patient["age"])))
        self.lbl_demo.setText(" · ".join(d for d in demo if d))
        status = str(rx.get("status") or "")
        self.lbl_status.setText(status_label(status))
        colors = {"signed": ("#fff1d6", "#8a4b00"), "returned": ("#fde4e1", "#b42318"),
                  "voided": ("#ececec", "#555d66"), "expired": ("#ececec", "#555d66")}
        bg, fg = colors.get(status, ("#dff3e4", "#1c6b35"))
        self.lbl_status.setStyleSheet(f"background: {bg}; color: {fg}; border-radius: 10px; padding: 2px 12px;"
                                      "font-weight: bold;")
        doctor = (rx.get("doctor") or {}).get("name") or ""
        meta = [str(rx.get("no") or ""), self.tr("Dr %1").replace("%1", str(doctor)), str(rx.get("department") or "")]
        if rx.get("signed_at"):
            meta.append(self.tr("signed %1").replace("%1", when(rx.get("signed_at"))))
        self.lbl_meta.setText("  ·  ".join(m for m in meta if m))
        self.body.setHtml(self.body_html(rx))
        self._update_buttons()

    def set_pending(self, action: str | None) -> None:
        if action is None and self.pending is not None:
            self.lbl_action.clear()
            self.lbl_action.hide()
        self.pending = action
        self._update_buttons()

    def show_action_error(self, text: str) -> None:
        self.lbl_action.setStyleSheet(f"color: {theme.DANGER};")
        self.lbl_action.setText(text)
        self.lbl_action.setVisible(bool(text))

    def _emit(self, sig: Any) -> None:
        if self.rx_id is not None and self.pending is None:
            sig.emit(self.rx_id)

    def _update_buttons(self) -> None:
        status = self.status
        idle = self.pending is None
        review = status == "signed"
        dispense = status == "paid"
        self.btn_approve.setVisible(review)
        self.btn_return.setVisible(review)
        self.btn_dispense.setVisible(dispense)
        self.btn_approve.setEnabled(review and idle)
        self.btn_return.setEnabled(review and idle)
        self.btn_dispense.setEnabled(dispense and idle)
        self.btn_print.setVisible(status is not None)
        self.btn_print.setEnabled(self.can_print and status in PRINTABLE)
        if dispense and self.rx is not None:
            method = (self.rx.get("fulfilment") or {}).get("method")
            self.btn_dispense.setText(self.tr("Shipped") if method == "delivery" else self.tr("Dispense"))
        if not idle:
            self.lbl_action.setStyleSheet("")
            self.lbl_action.show()
            self.lbl_action.setText({"approve": self.tr("Approving… (sent when the server answers)"),
                                     "return": self.tr("Returning to the doctor…"),
                                     "dispense": self.tr("Recording the dispensing…")}.get(self.pending or "", ""))

    # --- the body --------------------------------------------------------------------------------------------------

    def body_html(self, rx: dict[str, Any]) -> str:
        e = html.escape
        out: list[str] = [
            ("<style>"
            "h3 { font-size: 11pt; color: #1f6f8b; margin: 14px 0 6px 0; }"
            "td { padding: 5px 8px; vertical-align: top; }"
            "th { padding: 5px 8px; text-align: left; color: #5f6b76; font-weight: normal;"
            " border-bottom: 1px solid #d5dbe1; }"
            ".k { color: #5f6b76; white-space: nowrap; padding-right: 14px; }"
            ".muted { color: #5f6b76; }"
            "</style>")
        ]

        # facts the pharmacist checks first: allergies, diagnosis, fee, validity, chronic reason
        allergies = [str(a) for a in rx.get("allergies") or []]
        none_reported = self.tr("None reported")  # no self.tr inside f-strings: lupdate does not see those
        allergy_html = (f"<span style='color:{theme.DANGER}; font-weight:bold'>{e('、'.join(allergies))}</span>"
                        if allergies else f"<span class='muted'>{e(none_reported)}</span>")
        diag = rx.get("diagnosis") or {}
        diag_text = " ".join(str(x) for x in (diag.get("code"), diag.get("name")) if x) or self.tr("(none)")
        fee = {"self_pay": self.tr("Self-pay"), "insurance": self.tr("Insurance")}.get(
            str(rx.get("fee_category") or ""), str(rx.get("fee_category") or ""))
        days = rx.get("validity_days")
        validity = self.tr("Valid %n day(s)", "", int(days)) if days else ""
        if rx.get("validity_note"):
            validity += f" — {rx['validity_note']}"
        if rx.get("valid_until"):
            validity += " " + self.tr("(until %1)").replace("%1", when(rx["valid_until"]))
        rows = [(self.tr("Allergies"), allergy_html), (self.tr("Diagnosis"), f"<b>{e(diag_text)}</b>"),
                (self.tr("Fee category"), e(fee)), (self.tr("Validity"), e(validity))]
        if rx.get("chronic_reason"):
            rows.append((self.tr("Long-term use"),
                         (f"<span style='background:{theme.WARNING_BG}; color:{theme.WARNING_TEXT}'>"
                         f"{e(str(rx['chronic_reason']))}</span>")))
        out.append("<table cellspacing='0'>")
        for k, v in rows:
            out.append(f"<tr><td class='k'>{e(k)}</td><td>{v}</td></tr>")
        out.append("</table>")

        # the lines
        medicines = self.tr("Medicines")
        heads = [e(h) for h in (self.tr("Medicine"), self.tr("Directions"), self.tr("Quantity"),
                                self.tr("Amount"))]
        out.append(f"<h3>{e(medicines)}</h3>")
        out.append("<table width='100%' cellspacing='0'>"
                   f"<tr><th>#</th><th>{heads[0]}</th><th>{heads[1]}</th>"
                   f"<th align='right'>{heads[2]}</th><th align='right'>{heads[3]}</th>"
                   "</tr>")
        flagged_lines = {f.get("line") for f in rx.get("findings") or [] if f.get("line") is not None}
        for i, line in enumerate(rx.get("lines") or []):
            drug = line.get("drug") or {}
            name = str(drug.get("generic_name") or line.get("drug_code") or "")
            brand = drug.get("brand_name")
            spec = " ".join(str(x) for x in (drug.get("strength"), drug.get("form")) if x)
            package = drug.get("package")
            mark = " <span style='color:#b45309'>⚠</span>" if i in flagged_lines else ""
            name_html = f"<b>{e(name)}</b>{mark}"
            if brand:
                name_html += f" <span class='muted'>（{e(str(brand))}）</span>"
            if spec or package:
                name_html += f"<br><span class='muted'>{e(spec)}{'　' + e(str(package)) if package else ''}</span>"
            directions = e(str(line.get("directions") or ""))
            if line.get("notes"):
                directions += f"<br><span class='muted'>{e(str(line['notes']))}</span>"
            qty = f"{line.get('quantity', '')} {drug.get('unit') or ''}".strip()
            if line.get("quantity_computed") is not None and line.get("quantity") != line.get("quantity_computed"):
                computed = self.tr("computed %1").replace("%1", str(line["quantity_computed"]))
                qty += f"<br><span class='muted'>{e(computed)}</span>"
            bg = " style='background:#f7f9fb'" if i % 2 else ""
            out.append(f"<tr{bg}><td class='muted'>{i + 1}</td><td>{name_html}</td><td>{directions}</td>"
                       f"<td align='right'>{qty}</td><td align='right'>{e(yuan(line.get('amount_fen')))}</td></tr>")
        total = self.tr("Total")
        out.append(f"<tr><td></td><td></td><td></td><td align='right' class='muted'>{e(total)}</td>"
                   f"<td align='right'><b>{e(yuan(rx.get('amount_fen')))}</b></td></tr></table>")

        # the checks, overridden ones first and highlighted with the doctor's reason
        findings = list(rx.get("findings") or [])
        findings.sort(key=lambda f: (not f.get("overridden"), f.get("severity") != "block"))
        checks, no_findings = self.tr("Checks"), self.tr("No findings: every automatic check passed.")
        overridden_by, doctors_reason = self.tr("Overridden by the doctor"), self.tr("Doctor’s reason:")
        out.append(f"<h3>{e(checks)}</h3>")
        if not findings:
            out.append(f"<p class='muted'>{e(no_findings)}</p>")
        for f in findings:
            line_no = f.get("line")
            where = self.tr("line %1").replace("%1", str(int(line_no) + 1)) if line_no is not None else ""
            message = e(str(f.get("message") or f.get("code") or ""))
            if f.get("overridden"):
                out.append(
                    "<table width='100%' cellspacing='0' style='margin-bottom:6px; background:#fff4e0;"
                    " border-left: 4px solid #d97706'><tr><td>"
                    f"<span style='color:#b45309; font-weight:bold'>⚠ {e(overridden_by)}"
                    f"</span> <span class='muted'>{e(where)}</span><br>{message}<br>"
                    f"<span style='color:#8a4b00'>{e(doctors_reason)} "
                    f"<b>{e(str(f.get('override_reason') or ''))}</b></span></td></tr></table>")
            else:
                colour = theme.DANGER if f.get("severity") == "block" else "#8a4b00"
                label = self.tr("Blocking") if f.get("severity") == "block" else self.tr("Warning")
                out.append(f"<p style='margin:4px 0'><span style='color:{colour}; font-weight:bold'>{e(label)}</span>"
                           f" <span class='muted'>{e(where)}</span> {message}</p>")

        if rx.get("notes"):
            doctors_notes = self.tr("Doctor’s notes")
            out.append(f"<h3>{e(doctors_notes)}</h3><p>{e(str(rx['notes']))}</p>")

        # the review and what followed
        history: list[tuple[str, str]] = []
        if rx.get("return_reason"):
            history.append((self.tr("Returned"), (f"<span style='color:{theme.DANGER}'>{e(str(rx['return_reason']))}"
                                                 f"</span> <span class='muted'>{e(when(rx.get('returned_at')))}"
                                                 "</span>")))
        reviewer = (rx.get("reviewed_by") or {}).get("name")
        if reviewer:
            history.append((self.tr("Reviewed by"), e(str(reviewer))))
        if rx.get("approved_at"):
            history.append((self.tr("Approved"), e(when(rx.get("approved_at")))))
        fulfilment = rx.get("fulfilment") or None
        if isinstance(fulfilment, dict):
            if fulfilment.get("method") == "delivery":
                addr = fulfilment.get("address") or {}
                text = self.tr("Delivery to %1").replace(
                    "%1", " ".join(str(addr.get(k) or "") for k in ("name", "mobile", "region", "detail")).strip())
            else:
                pharmacy = fulfilment.get("pharmacy") or {}
                text = self.tr("Pickup at %1").replace("%1", str(pharmacy.get("name") or ""))
            history.append((self.tr("Fulfilment"), e(text)))
        for key, label in (("paid_at", self.tr("Paid")), ("dispensed_at", self.tr("Dispensed")),
                           ("shipped_at", self.tr("Shipped")), ("voided_at", self.tr("Voided"))):
            if rx.get(key):
                history.append((label, e(when(rx.get(key)))))
        if history:
            review_and_fulfilment = self.tr("Review and fulfilment")
            out.append(f"<h3>{e(review_and_fulfilment)}</h3><table cellspacing='0'>")
            for k, v in history:
                out.append(f"<tr><td class='k'>{e(k)}</td><td>{v}</td></tr>")
            out.append("</table>")
        return "".join(out)

    # --- texts -------------------------------------------------------------------------------------------------

    def retranslate(self) -> None:
        self.btn_approve.setText(self.tr("Approve"))
        self.btn_return.setText(self.tr("Return…"))
        self.btn_dispense.setText(self.tr("Dispense"))
        self.btn_print.setText(self.tr("Print slip…"))
        self.btn_print.setToolTip("" if self.can_print else self.tr("Slip printing arrives with a later release."))
        self.lbl_empty.setText(self.tr("Select a prescription on the left to review it."))
        if self.rx is not None:
            self.show_rx(self.rx, pending=self.pending)
