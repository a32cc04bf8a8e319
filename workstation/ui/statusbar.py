"""Status-bar pieces: the event stream's connection state and the outbox's pending / failed count.

Both subscribe to the ``ChangeHub`` in ``attach`` and unsubscribe in ``detach`` (called when their window
closes), so no signal ever reaches a dead widget.
"""
from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QLabel, QPushButton, QWidget

from workstation.ui.i18n import LanguageAware

_DOT = "●"
_CONNECTION_COLORS = {"live": "#1c8a4a", "connecting": "#c27c0e", "offline": "#b42318"}


class ConnectionIndicator(LanguageAware, QLabel):
    """在线 / 重连中 / 离线 — from the hub's ``sig_connection_changed(str)``."""

    def __init__(self, *, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("ConnectionIndicator")
        self.state = "connecting"
        self._hub: Any = None
        self.setTextFormat(Qt.TextFormat.RichText)
        self.retranslate()

    def attach(self, hub: Any) -> None:
        self.detach()
        self._hub = hub
        hub.sig_connection_changed.connect(self.set_state)

    def detach(self) -> None:
        if self._hub is not None:
            try:
                self._hub.sig_connection_changed.disconnect(self.set_state)
            except (RuntimeError, TypeError):
                pass
            self._hub = None

    def set_state(self, state: str) -> None:
        self.state = state
        self.retranslate()

    def state_text(self) -> str:
        return {
            "live": self.tr("Online"),
            "connecting": self.tr("Reconnecting"),
            "offline": self.tr("Offline"),
        }.get(self.state, self.state)

    def retranslate(self) -> None:
        color = _CONNECTION_COLORS.get(self.state, "#5f6b76")
        self.setText(f'<span style="color:{color}">{_DOT}</span> {self.state_text()}')
        self.setToolTip({
            "live": self.tr("Connected: the queue updates live."),
            "connecting": self.tr("The connection to the server dropped; reconnecting. Nothing you do is lost."),
            "offline": self.tr("The server cannot be reached. Your actions are kept and sent when it is back."),
        }.get(self.state, ""))


class OutboxIndicator(LanguageAware, QPushButton):
    """Flat button: "N pending · M failed"; a click asks for the outbox dialog (``sig_open_requested``)."""

    sig_open_requested = Signal()

    def __init__(self, *, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("Link")
        self.setFlat(True)
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        self.pending = 0
        self.failed = 0
        self._hub: Any = None
        self.clicked.connect(self.sig_open_requested)
        self.retranslate()

    def attach(self, hub: Any) -> None:
        self.detach()
        self._hub = hub
        hub.sig_outbox_changed.connect(self.set_counts)

    def detach(self) -> None:
        if self._hub is not None:
            try:
                self._hub.sig_outbox_changed.disconnect(self.set_counts)
            except (RuntimeError, TypeError):
                pass
            self._hub = None

    def set_counts(self, pending: int, failed: int) -> None:
        self.pending, self.failed = pending, failed
        self.retranslate()

    def retranslate(self) -> None:
        if self.failed and self.pending:
            self.setText(self.tr("Outbox: %1 pending · %2 failed").replace("%1", str(self.pending))
                         .replace("%2", str(self.failed)))
            self.setStyleSheet("color: #b42318; font-weight: bold;")
        elif self.failed:
            self.setText(self.tr("Outbox: %1 failed, click to see why").replace("%1", str(self.failed)))
            self.setStyleSheet("color: #b42318; font-weight: bold;")
        elif self.pending:
            self.setText(self.tr("Outbox: %1 pending").replace("%1", str(self.pending)))
            self.setStyleSheet("color: #8a4b00;")
        else:
            self.setText(self.tr("Outbox: all sent"))
            self.setStyleSheet("")
        self.setToolTip(self.tr("Actions waiting to reach the server, and those the server refused. "
                                "Click for details."))
