"""The sign-in window: username, password, the server in use, settings; clear messages for every refusal.

The dialog never talks HTTP itself: it is handed a blocking ``sign_in(username, password)`` callable (a service
method) and runs it on a worker through ``Op``. It is used three ways: the first sign-in, the re-sign-in after a
session expired (username fixed, the open window stays underneath) and the embedded start (a progress line
while the local server starts, then an automatic sign-in).
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QCoreApplication, Qt, Signal
from PySide6.QtWidgets import (
    QDialog,
    QFormLayout,
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from workstation.services.api import ApiError, NetworkError
from workstation.services.ops import Op
from workstation.ui.i18n import LanguageAware

SignInFn = Callable[[str, str], Any]


def _locked_until_text(details: object) -> str | None:
    if isinstance(details, dict) and isinstance(details.get("locked_until"), str):
        try:
            until = dt.datetime.fromisoformat(details["locked_until"])
        except ValueError:
            return None
        # rounded up to the minute, like the server's own message: never a minute early
        until = (until + dt.timedelta(seconds=59)).replace(second=0, microsecond=0)
        return f"{until:%H:%M}"
    return None


class SignInDialog(LanguageAware, QDialog):
    """Emits ``sig_signed_in(result)`` with whatever ``sign_in`` returned, then accepts."""

    sig_signed_in = Signal(object)
    sig_settings_requested = Signal()

    def __init__(self, *, sign_in: SignInFn, server_text: Callable[[], str], username: str = "",
                 reauth: bool = False, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("SignInDialog")
        self._sign_in = sign_in
        self._server_text = server_text
        self._reauth = reauth
        self._busy = False
        self._message_kind: tuple[str, tuple[str, ...]] | None = None
        self._progress_kind: str | None = None
        self.setMinimumWidth(460)

        self.lbl_title = QLabel(self)
        self.lbl_title.setObjectName("AppTitle")
        self.lbl_subtitle = QLabel(self)
        self.lbl_subtitle.setObjectName("AppSubtitle")
        self.lbl_subtitle.setWordWrap(True)

        card = QFrame(self)
        card.setObjectName("Card")
        self.ed_username = QLineEdit(card)
        self.ed_username.setText(username)
        self.ed_username.setReadOnly(reauth and bool(username))
        self.ed_password = QLineEdit(card)
        self.ed_password.setEchoMode(QLineEdit.EchoMode.Password)
        self.lbl_username = QLabel(card)
        self.lbl_password = QLabel(card)
        self.lbl_server_name = QLabel(card)
        self.lbl_server_name.setObjectName("FieldName")
        self.lbl_server = QLabel(card)
        self.lbl_server.setObjectName("Muted")
        self.lbl_server.setWordWrap(True)
        self.lbl_server.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.btn_settings = QPushButton(card)
        self.btn_settings.setObjectName("Link")
        self.btn_settings.setCursor(Qt.CursorShape.PointingHandCursor)

        form = QFormLayout()
        form.setLabelAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        form.setHorizontalSpacing(12)
        form.setVerticalSpacing(10)
        form.addRow(self.lbl_username, self.ed_username)
        form.addRow(self.lbl_password, self.ed_password)
        server_row = QHBoxLayout()
        server_row.addWidget(self.lbl_server, 1)
        server_row.addWidget(self.btn_settings, 0, Qt.AlignmentFlag.AlignTop)
        form.addRow(self.lbl_server_name, server_row)

        self.lbl_message = QLabel(card)
        self.lbl_message.setObjectName("ErrorText")
        self.lbl_message.setWordWrap(True)
        self.lbl_message.hide()
        self.progress = QProgressBar(card)
        self.progress.setRange(0, 0)
        self.progress.setTextVisible(False)
        self.progress.setMaximumHeight(6)
        self.progress.hide()
        self.lbl_progress = QLabel(card)
        self.lbl_progress.setObjectName("InfoText")
        self.lbl_progress.setWordWrap(True)
        self.lbl_progress.hide()

        self.btn_sign_in = QPushButton(card)
        self.btn_sign_in.setObjectName("Primary")
        self.btn_sign_in.setDefault(True)
        self.btn_sign_in.setMinimumHeight(34)
        self.btn_cancel = QPushButton(card)

        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(self.btn_cancel)
        buttons.addWidget(self.btn_sign_in)

        card_layout = QVBoxLayout(card)
        card_layout.setContentsMargins(24, 20, 24, 20)
        card_layout.setSpacing(12)
        card_layout.addLayout(form)
        card_layout.addWidget(self.lbl_progress)
        card_layout.addWidget(self.progress)
        card_layout.addWidget(self.lbl_message)
        card_layout.addLayout(buttons)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(28, 24, 28, 24)
        layout.setSpacing(14)
        layout.addWidget(self.lbl_title)
        layout.addWidget(self.lbl_subtitle)
        layout.addWidget(card)

        self.btn_sign_in.clicked.connect(self.submit)
        self.btn_cancel.clicked.connect(self.reject)
        self.btn_settings.clicked.connect(self.sig_settings_requested)
        self.ed_password.returnPressed.connect(self.submit)
        self.ed_username.returnPressed.connect(self.ed_password.setFocus)
        self.retranslate()
        (self.ed_password if username else self.ed_username).setFocus()

    @staticmethod
    def tr_embedded(url: str) -> str:
        if url:
            return QCoreApplication.translate("SignInDialog", "Built-in demo server on this computer (%1)") \
                .replace("%1", url)
        return QCoreApplication.translate("SignInDialog", "Built-in demo server on this computer (starting)")

    # --- texts -----------------------------------------------------------------------------------------------

    def retranslate(self) -> None:
        self.setWindowTitle(self.tr("Sign in again") if self._reauth else self.tr("Sign in — Clinic workstation"))
        self.lbl_title.setText(self.tr("Internet hospital workstation"))
        if self._reauth:
            self.lbl_subtitle.setText(self.tr("Your session has ended. Sign in again to continue; "
                                              "open work and drafts are kept."))
        else:
            self.lbl_subtitle.setText(self.tr("Online revisit service · staff sign-in"))
        self.lbl_username.setText(self.tr("Username"))
        self.lbl_password.setText(self.tr("Password"))
        self.ed_username.setPlaceholderText(self.tr("e.g. doctor1"))
        self.ed_password.setPlaceholderText(self.tr("Password"))
        self.lbl_server_name.setText(self.tr("Server"))
        self.btn_settings.setText(self.tr("Settings…"))
        self.btn_settings.setToolTip(self.tr("Server address, language and sounds"))
        self.btn_sign_in.setText(self.tr("Signing in…") if self._busy else self.tr("Sign in"))
        self.btn_cancel.setText(self.tr("Quit") if not self._reauth else self.tr("Cancel"))
        self.refresh_server()
        self._render_message()
        self._render_progress()

    def refresh_server(self) -> None:
        self.lbl_server.setText(self._server_text())

    # --- messages (kept as kinds, so a language switch re-renders them) ------------------------------------

    def _render_message(self) -> None:
        if self._message_kind is None:
            self.lbl_message.hide()
            return
        kind, args = self._message_kind
        texts = {
            "empty": self.tr("Enter your username and password."),
            "bad_credentials": self.tr("Wrong username or password. Check them and try again "
                                       "(the account locks after repeated failures)."),
            "locked_until": self.tr("This account is locked after too many failed attempts. "
                                    "Try again after %1, or ask the administrator to unlock it."),
            "locked": self.tr("This account is locked after too many failed attempts. "
                              "Try again later, or ask the administrator to unlock it."),
            "disabled": self.tr("This account is disabled. Please contact the administrator."),
            "unreachable": self.tr("Cannot reach the server %1. Check the network connection and the server "
                                   "address in Settings."),
            "embedded_failed": self.tr("The built-in demo server could not start: %1"),
            "server": self.tr("The server refused the sign-in: %1"),
        }
        text = texts.get(kind, kind)
        for i, arg in enumerate(args, start=1):
            text = text.replace(f"%{i}", arg)
        self.lbl_message.setText(text)
        self.lbl_message.show()

    def show_message(self, kind: str, *args: str) -> None:
        self._message_kind = (kind, args)
        self._render_message()

    def clear_message(self) -> None:
        self._message_kind = None
        self._render_message()

    @property
    def message_text(self) -> str:
        return self.lbl_message.text() if self.lbl_message.isVisible() or self._message_kind else ""

    def show_error(self, exc: BaseException) -> None:
        """Turn a failed sign-in into a message a doctor understands."""
        if isinstance(exc, NetworkError):
            self.show_message("unreachable", self._server_text())
        elif isinstance(exc, ApiError):
            if exc.code == "bad_credentials" or exc.status == 401:
                self.show_message("bad_credentials")
            elif exc.code == "account_locked" or exc.status == 423:
                until = _locked_until_text(exc.details)
                if until:
                    self.show_message("locked_until", until)
                else:
                    self.show_message("locked")
            elif exc.code == "account_disabled":
                self.show_message("disabled")
            else:
                self.show_message("server", exc.message or exc.code)
        else:
            self.show_message("server", str(exc))

    # --- embedded start progress ------------------------------------------------------------------------

    def _render_progress(self) -> None:
        texts = {
            "starting": self.tr("Starting the built-in demo server on this computer…"),
            "signing_in": self.tr("Signing in to the demo server as doctor1…"),
        }
        if self._progress_kind is None:
            self.lbl_progress.hide()
            self.progress.hide()
        else:
            self.lbl_progress.setText(texts.get(self._progress_kind, self._progress_kind))
            self.lbl_progress.show()
            self.progress.show()

    def show_progress(self, kind: str | None) -> None:
        self._progress_kind = kind
        self._render_progress()
        busy = kind is not None
        for w in (self.ed_username, self.ed_password, self.btn_sign_in, self.btn_settings):
            w.setEnabled(not busy)

    # --- signing in ----------------------------------------------------------------------------------------

    def set_busy(self, busy: bool) -> None:
        self._busy = busy
        for w in (self.ed_username, self.ed_password, self.btn_sign_in, self.btn_settings):
            w.setEnabled(not busy)
        if not self._reauth or not self.ed_username.text():
            self.ed_username.setReadOnly(False)
        self.retranslate()

    def submit(self) -> None:
        if self._busy:
            return
        username, password = self.ed_username.text().strip(), self.ed_password.text()
        if not username or not password:
            self.show_message("empty")
            return
        self.clear_message()
        self.sign_in_with(username, password)

    def sign_in_with(self, username: str, password: str) -> None:
        self.set_busy(True)
        Op(lambda: self._sign_in(username, password), parent=self) \
            .success(self._on_success).failure(self._on_failure).run()

    def _on_success(self, result: object) -> None:
        self.set_busy(False)
        self.show_progress(None)
        self.ed_password.clear()
        self.sig_signed_in.emit(result)
        self.accept()

    def _on_failure(self, exc: BaseException) -> None:
        self.set_busy(False)
        self.show_progress(None)
        self.show_error(exc)
        self.ed_password.selectAll()
        self.ed_password.setFocus()
