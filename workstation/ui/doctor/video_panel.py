"""The video panel: the patient large, the doctor's own picture small, and the call's controls.

A thin layer over :class:`workstation.services.call.CallSession`: it shows what the session reports (state,
pictures, line quality, consent) and turns buttons into session calls. The picture widget draws only the newest
frame it was handed; ``on_presented`` (when set) is told each time a patient frame reaches the screen — the
glass-to-glass measurement of the ``video_call`` benchmark hooks in there.
"""
from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QRectF, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QFont, QPainter, QPainterPath, QPaintEvent, QPen
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QMenu,
    QPushButton,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from workstation.services.call import CONNECTED, ENDED, INTERRUPTED, CallSession, Quality
from workstation.services.media.remote import Picture
from workstation.services.media.sources import share_targets
from workstation.ui.i18n import LanguageAware

VIEW_BG = QColor("#101820")
SELF_VIEW_FRACTION = 0.24


class VideoView(QWidget):
    """Paints the newest patient picture (aspect kept, dark bars), the self view in the bottom-right corner and a
    message over the picture when there is something to say."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("VideoView")
        self.setMinimumSize(320, 240)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)
        self.remote: Picture | None = None
        self.local: Picture | None = None
        self.message = ""
        self.self_label = ""
        self.on_presented: Callable[[Picture, float], None] | None = None
        self.presented = 0
        self._unpresented = False

    def sizeHint(self) -> QSize:
        return QSize(640, 480)

    def set_remote(self, picture: Picture | None) -> None:
        self.remote = picture
        self._unpresented = picture is not None
        self.update()

    def set_local(self, picture: Picture | None) -> None:
        self.local = picture
        self.update(self._self_rect().toAlignedRect())

    def set_message(self, text: str) -> None:
        if text != self.message:
            self.message = text
            self.update()

    def _picture_rect(self, size: QSize, box: QRectF) -> QRectF:
        w, h = size.width(), size.height()
        scale = min(box.width() / max(w, 1), box.height() / max(h, 1))
        pw, ph = w * scale, h * scale
        return QRectF(box.x() + (box.width() - pw) / 2, box.y() + (box.height() - ph) / 2, pw, ph)

    def _self_rect(self) -> QRectF:
        w = max(96.0, self.width() * SELF_VIEW_FRACTION)
        h = w * 3 / 4
        if self.local is not None:
            h = w * self.local.image.height() / max(self.local.image.width(), 1)
        margin = 10.0
        return QRectF(self.width() - w - margin, self.height() - h - margin, w, h)

    def paintEvent(self, _event: QPaintEvent) -> None:
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        p.fillRect(self.rect(), VIEW_BG)
        remote = self.remote
        if remote is not None:
            p.drawImage(self._picture_rect(remote.image.size(), QRectF(self.rect())), remote.image)
        if self.message:
            self._paint_message(p)
        local = self.local
        r = self._self_rect()
        if local is not None:
            path = QPainterPath()
            path.addRoundedRect(r, 6, 6)
            p.save()
            p.setClipPath(path)
            p.drawImage(r, local.image)
            p.restore()
            p.setPen(QPen(QColor(255, 255, 255, 200), 1.5))
            p.drawRoundedRect(r, 6, 6)
            if self.self_label:
                f = QFont(self.font())
                f.setPointSizeF(f.pointSizeF() * 0.85)
                p.setFont(f)
                fm = p.fontMetrics()
                tag = QRectF(r.x() + 6, r.y() + 6, fm.horizontalAdvance(self.self_label) + 12, fm.height() + 4)
                p.setPen(Qt.PenStyle.NoPen)
                p.setBrush(QColor(0, 0, 0, 150))  # readable on any picture
                p.drawRoundedRect(tag, 4, 4)
                p.setPen(QColor("#ffffff"))
                p.drawText(tag, Qt.AlignmentFlag.AlignCenter, self.self_label)
        p.end()
        if remote is not None and self._unpresented:
            self._unpresented = False
            self.presented += 1
            if self.on_presented is not None:
                self.on_presented(remote, time.time())

    def _paint_message(self, p: QPainter) -> None:
        f = QFont(self.font())
        f.setPointSizeF(f.pointSizeF() * 1.25)
        p.setFont(f)
        fm = p.fontMetrics()
        width = min(self.width() - 40, fm.horizontalAdvance(self.message) + 40)
        box = QRectF((self.width() - width) / 2, self.height() / 2 - fm.height(), width, fm.height() * 2)
        p.setPen(Qt.PenStyle.NoPen)
        p.setBrush(QColor(0, 0, 0, 150))
        p.drawRoundedRect(box, 8, 8)
        p.setPen(QColor("#ffffff"))
        p.drawText(box, Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap, self.message)


class VideoPanel(LanguageAware, QFrame):
    """The call with one patient. ``sig_close_requested``: the doctor closed an ended call's panel."""

    sig_close_requested = Signal()

    def __init__(self, *, session: CallSession, patient_name: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("VideoPanel")
        self.session = session
        self.patient_name = patient_name
        self._quality = Quality()
        self._consent: dict[str, Any] | None = None
        self._notice = ""
        self._compact = False

        self.lbl_name = QLabel(self)
        self.lbl_name.setObjectName("CardTitle")
        self.lbl_state = QLabel(self)
        self.lbl_state.setObjectName("CallState")
        self.lbl_duration = QLabel(self)
        self.lbl_duration.setObjectName("Muted")
        self.lbl_quality = QLabel(self)
        self.lbl_quality.setObjectName("Muted")
        head = QHBoxLayout()
        head.setSpacing(10)
        head.addWidget(self.lbl_name)
        head.addWidget(self.lbl_state)
        head.addStretch(1)
        head.addWidget(self.lbl_duration)

        self.view = VideoView(self)
        self.lbl_notice = QLabel(self)
        self.lbl_notice.setObjectName("Muted")
        self.lbl_notice.setWordWrap(True)
        self.lbl_notice.hide()

        self.btn_mute = QPushButton(self)
        self.btn_mute.setCheckable(True)
        self.btn_camera = QPushButton(self)
        self.btn_camera.setCheckable(True)
        self.btn_share = QPushButton(self)
        self.share_menu = QMenu(self)
        self.btn_share.clicked.connect(self._share_clicked)
        self.btn_consent = QPushButton(self)
        self.lbl_consent = QLabel(self)
        self.lbl_consent.setObjectName("Muted")
        self.btn_reinvite = QPushButton(self)
        self.btn_reinvite.setObjectName("Primary")
        self.btn_end = QPushButton(self)
        self.btn_end.setObjectName("EndCall")
        self.btn_close = QPushButton(self)
        controls = QHBoxLayout()  # the line: media on the left, the call itself on the right
        controls.setSpacing(6)
        for b in (self.btn_mute, self.btn_camera, self.btn_share):
            controls.addWidget(b)
        controls.addStretch(1)
        for b in (self.btn_reinvite, self.btn_end, self.btn_close):
            controls.addWidget(b)
        consent = QHBoxLayout()  # the prescription consent and its answer
        consent.setSpacing(8)
        consent.addWidget(self.btn_consent)
        consent.addWidget(self.lbl_consent, 1)
        self.lbl_consent.setWordWrap(True)
        for b in (self.btn_mute, self.btn_camera, self.btn_share, self.btn_consent, self.btn_reinvite, self.btn_end,
                  self.btn_close):
            b.setSizePolicy(QSizePolicy.Policy.Minimum, QSizePolicy.Policy.Fixed)  # never cut a label short

        layout = QVBoxLayout(self)
        layout.setContentsMargins(12, 10, 12, 10)
        layout.setSpacing(8)
        layout.addLayout(head)
        layout.addWidget(self.lbl_quality)
        layout.addWidget(self.view, 1)
        layout.addWidget(self.lbl_notice)
        layout.addLayout(controls)
        layout.addLayout(consent)

        self.btn_mute.toggled.connect(session.set_muted)
        self.btn_camera.toggled.connect(session.set_camera_off)
        self.btn_consent.clicked.connect(session.request_consent)
        self.btn_reinvite.clicked.connect(session.start)
        self.btn_end.clicked.connect(session.hang_up)
        self.btn_close.clicked.connect(self.sig_close_requested)
        session.sig_state.connect(self._state_changed)
        session.sig_remote_picture.connect(self.view.set_remote)
        session.sig_local_picture.connect(self.view.set_local)
        session.sig_quality.connect(self._quality_changed)
        session.sig_consent.connect(self._consent_changed)
        session.sig_notice.connect(self._notice_changed)
        session.sig_sharing.connect(lambda _on: self.retranslate())
        self._clock = QTimer(self)
        self._clock.setInterval(1000)
        self._clock.timeout.connect(self._render_duration)
        self._clock.start()
        self.retranslate()

    # --- what the session says --------------------------------------------------------------------------------

    def _state_changed(self, state: str, _reason: str) -> None:
        if state in (INTERRUPTED, ENDED):
            self.view.set_remote(None)
            self.view.set_local(None)  # the camera is off between calls
        self.retranslate()

    def _quality_changed(self, q: Quality) -> None:
        self._quality = q
        self._render_quality()

    def _consent_changed(self, consent: dict[str, Any]) -> None:
        self._consent = consent
        self.retranslate()

    def _notice_changed(self, text: str) -> None:
        self._notice = text
        self.lbl_notice.setText(text)
        self.lbl_notice.setVisible(bool(text) and not self._compact)

    def set_compact(self, compact: bool) -> None:
        """Above the prescription editor: the picture a little smaller, without the source notice and the consent
        row (the consent is given by then, and the editor shows it), so the editor keeps its room."""
        self._compact = compact
        self.view.setMinimumSize(320, 180 if compact else 240)
        self.lbl_notice.setVisible(bool(self._notice) and not compact)
        self.btn_consent.setVisible(not compact)
        self.lbl_consent.setVisible(not compact)

    def _share_clicked(self) -> None:
        if self.session.sharing is not None:
            self.session.share(None)
            return
        self.share_menu.clear()
        for target in share_targets():
            label = self.tr("Screen: %1").replace("%1", target.title) if target.window is None \
                else self.tr("Window: %1").replace("%1", target.title)
            action = self.share_menu.addAction(label)
            action.triggered.connect(lambda _=False, t=target: self.session.share(t))
        self.share_menu.popup(self.btn_share.mapToGlobal(self.btn_share.rect().bottomLeft()))

    # --- texts -------------------------------------------------------------------------------------------------

    def state_text(self) -> str:
        s = self.session.state
        texts = {
            "idle": self.tr("Not called yet"),
            "calling": self.tr("Calling…"),
            "ringing": self.tr("Ringing — waiting for the patient to answer"),
            "connecting": self.tr("Connecting…"),
            "connected": self.tr("In call"),
            "interrupted": self.tr("Interrupted"),
            "ended": self.tr("Call ended"),
        }
        return texts.get(s, s)

    def reason_text(self) -> str:
        reasons = {
            "patient_left": self.tr("The patient left the video page."),
            "line_dropped": self.tr("The connection to the patient was lost."),
            "failed": self.tr("The connection could not be established."),
            "patient_hung_up": self.tr("The patient hung up."),
            "no_answer": self.tr("The patient did not answer."),
            "doctor_ended": self.tr("You ended the call."),
            "visit_finished": self.tr("The visit is finished."),
            "refused": self.tr("The call could not be started."),
            "window_refund": self.tr("The refund window refunded this visit's fee."),
            "reinvited": self.tr("A new call to the patient replaced this one."),
        }
        return reasons.get(self.session.reason, "")

    def retranslate(self) -> None:
        s = self.session
        state = s.state
        self.lbl_name.setText(self.tr("Video visit · %1").replace("%1", self.patient_name))
        self.lbl_state.setText(self.state_text())
        self.lbl_state.setProperty("state", state)
        self.lbl_state.style().unpolish(self.lbl_state)
        self.lbl_state.style().polish(self.lbl_state)
        live = s.live()
        self.btn_mute.setText(self.tr("Unmute") if s.muted else self.tr("Mute"))
        self.btn_camera.setText(self.tr("Camera on") if s.camera_off else self.tr("Camera off"))
        self.btn_share.setText(self.tr("Stop sharing") if s.sharing is not None else self.tr("Share screen…"))
        self.btn_consent.setText(self.tr("Ask for prescription consent"))
        self.btn_reinvite.setText(self.tr("Invite again"))
        self.btn_end.setText(self.tr("End call"))
        self.btn_close.setText(self.tr("Close"))
        for b in (self.btn_mute, self.btn_camera, self.btn_share):
            b.setEnabled(live)
        pending = (self._consent or {}).get("state") == "requested"
        self.btn_consent.setEnabled(state == CONNECTED and not pending
                                    and (self._consent or {}).get("state") != "consented")
        # a visit finished or refunded cannot be called again: the server would refuse it
        self.btn_reinvite.setVisible(state in (INTERRUPTED, ENDED) and s.reason not in ("visit_finished",
                                                                                      "window_refund"))
        self.btn_end.setVisible(live)
        self.btn_close.setVisible(state in (INTERRUPTED, ENDED))
        self.lbl_consent.setText(self.consent_text())
        self.view.self_label = self.tr("Me (screen)") if s.sharing is not None else self.tr("Me")
        if state == CONNECTED:
            self.view.set_message("" if self.view.remote is not None or s.remote.received
                                  else self.tr("Waiting for the patient's picture…"))
        elif state in (INTERRUPTED, ENDED):
            reason = self.reason_text()
            headline = self.tr("Call interrupted") if state == INTERRUPTED else self.tr("Call ended")
            self.view.set_message(f"{headline}　{reason}".strip())
        else:
            self.view.set_message(self.state_text())
        self._render_duration()
        self._render_quality()

    def consent_text(self) -> str:
        c = self._consent
        if not c:
            return self.tr("Prescription consent: not asked")
        when = str(c.get("answered_at") or "")[11:16]
        state = c.get("state")
        if state == "consented":
            return self.tr("Consent given %1 (text v%2)").replace("%1", when).replace("%2", str(c.get("version")))
        if state == "declined":
            return self.tr("Consent declined %1").replace("%1", when)
        return self.tr("Consent asked — waiting for the patient")

    def _render_duration(self) -> None:
        secs = int(self.session.connected_seconds())
        self.lbl_duration.setText(f"{secs // 60:02d}:{secs % 60:02d}" if secs or self.session.state == CONNECTED
                                  else "")
        if self.session.state == CONNECTED and not self.view.message and self.view.remote is None:
            self.view.set_message(self.tr("Waiting for the patient's picture…"))
        elif self.session.state == CONNECTED and self.view.remote is not None and self.view.message:
            self.view.set_message("")

    def _render_quality(self) -> None:
        q = self._quality
        if self.session.state != CONNECTED or q.level == "unknown":
            self.lbl_quality.setText("")
            self.lbl_quality.hide()
            return
        self.lbl_quality.show()
        level = {"good": self.tr("Good"), "fair": self.tr("Fair"), "poor": self.tr("Poor")}[q.level]
        parts = [self.tr("Line: %1").replace("%1", level)]
        if q.rtt_ms is not None:
            parts.append(self.tr("round trip %1 ms").replace("%1", f"{q.rtt_ms:.0f}"))
        parts.append(self.tr("%1 fps").replace("%1", f"{q.fps_in:.0f}"))
        if q.loss_pct is not None:
            parts.append(self.tr("loss %1%").replace("%1", f"{q.loss_pct:.1f}"))
        self.lbl_quality.setText(" · ".join(parts))
        self.lbl_quality.setProperty("level", q.level)
