"""What every role's main window shares: title with the signed-in user, the File menu (settings, sign out,
quit), Help, and the status bar. Role windows add their own central widget and menus."""
from __future__ import annotations

from typing import Any

from PySide6.QtCore import QCoreApplication, Signal
from PySide6.QtGui import QAction, QCloseEvent, QKeySequence
from PySide6.QtWidgets import QLabel, QMainWindow, QMenu, QMessageBox, QPushButton, QWidget

from workstation.services.ops import Op
from workstation.ui.i18n import LanguageAware
from workstation.ui.statusbar import ConnectionIndicator, OutboxIndicator

DEFAULT_SIZE = (1400, 860)


def role_name(role: str) -> str:
    names = {
        "doctor": QCoreApplication.translate("Roles", "Doctor"),
        "pharmacist": QCoreApplication.translate("Roles", "Pharmacist"),
        "clerk": QCoreApplication.translate("Roles", "Refund window clerk"),
        "admin": QCoreApplication.translate("Roles", "Administrator"),
    }
    return names.get(role, role)


class StaffWindow(LanguageAware, QMainWindow):
    """Base of the role windows. ``staff`` is the signed-in staff dict (id, username, name, role, doctor_id)."""

    sig_sign_out_requested = Signal()
    sig_settings_requested = Signal()
    sig_quit_requested = Signal()
    sig_reauth_requested = Signal()

    def __init__(self, *, staff: dict[str, Any], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.staff = staff
        self._closing_for_sign_out = False
        self._attached = False
        self.resize(*DEFAULT_SIZE)

        self.menu_file = self.menuBar().addMenu("")
        self.act_settings = QAction(self)
        self.act_sign_out = QAction(self)
        self.act_quit = QAction(self)
        self.act_quit.setShortcut(QKeySequence.StandardKey.Quit)
        self.menu_file.addAction(self.act_settings)
        self.menu_file.addSeparator()
        self.menu_file.addAction(self.act_sign_out)
        self.menu_file.addAction(self.act_quit)
        self.menu_help = self.menuBar().addMenu("")
        self.act_about = QAction(self)
        self.menu_help.addAction(self.act_about)

        self.act_settings.triggered.connect(self.sig_settings_requested)
        self.act_sign_out.triggered.connect(self.sig_sign_out_requested)
        self.act_quit.triggered.connect(self.sig_quit_requested)
        self.act_about.triggered.connect(self.show_about)

        self.lbl_user = QLabel(self)
        self.btn_reauth = QPushButton(self)
        self.btn_reauth.setObjectName("Link")
        self.btn_reauth.setStyleSheet("color: #b42318; font-weight: bold;")
        self.btn_reauth.hide()
        self.btn_reauth.clicked.connect(self.sig_reauth_requested)
        self.statusBar().addPermanentWidget(self.btn_reauth)
        self.connection = ConnectionIndicator(parent=self)
        self.outbox_indicator = OutboxIndicator(parent=self)
        self.statusBar().addPermanentWidget(self.outbox_indicator)
        self.statusBar().addPermanentWidget(self.connection)
        self.statusBar().addPermanentWidget(self.lbl_user)
        self.statusBar().setSizeGripEnabled(True)

    def window_title_for(self, title: str) -> str:
        return f"{title} — {self.staff.get('name') or self.staff.get('username', '')}" \
               f"（{role_name(str(self.staff.get('role', '')))}）"

    def retranslate(self) -> None:
        self.menu_file.setTitle(self.tr("&Workstation"))
        self.act_settings.setText(self.tr("&Settings…"))
        self.act_sign_out.setText(self.tr("Sign &out"))
        self.act_quit.setText(self.tr("&Quit"))
        self.menu_help.setTitle(self.tr("&Help"))
        self.act_about.setText(self.tr("&About"))
        self.btn_reauth.setText(self.tr("Session ended — sign in again"))
        self.lbl_user.setText(self.tr("Signed in: %1 (%2)")
                              .replace("%1", str(self.staff.get("name") or self.staff.get("username", "")))
                              .replace("%2", role_name(str(self.staff.get("role", "")))))

    def set_session_expired(self, expired: bool) -> None:
        """While signed out by the server the window stays (nothing is lost); a status-bar button signs in."""
        self.btn_reauth.setVisible(expired)

    def show_about(self) -> None:
        QMessageBox.about(self, self.tr("About"),
                          self.tr("Internet hospital workstation — online revisit service.\n"
                                  "Queue, patient chart and consultation for doctors; prescription review, "
                                  "refunds and administration for the other roles."))

    def add_work_menu(self, *, refresh: Any, open_outbox: Any) -> QMenu:
        """The role's own menu before Help, opening with Refresh (F5) and the outbox (also opened from the status
        bar's outbox indicator); the role adds its own actions after them."""
        menu = self.menuBar().addMenu("")
        self.menuBar().insertMenu(self.menu_help.menuAction(), menu)
        self.act_refresh = QAction(self)
        self.act_refresh.setShortcut(QKeySequence.StandardKey.Refresh)
        self.act_outbox = QAction(self)
        menu.addAction(self.act_refresh)
        menu.addAction(self.act_outbox)
        self.act_refresh.triggered.connect(refresh)
        self.act_outbox.triggered.connect(open_outbox)
        self.outbox_indicator.sig_open_requested.connect(open_outbox)
        return menu

    def attach_indicators(self, hub: Any) -> None:
        """The status bar's connection and outbox indicators follow the session's hub; until the stream reports,
        the window is connecting (not "offline": nothing has failed yet)."""
        self.connection.attach(hub)
        self.connection.set_state(hub.connection if hub.connection != "offline" else "connecting")
        self.outbox_indicator.attach(hub)
        self.outbox_indicator.set_counts(*hub.outbox_counts)

    def start_live(self, session: Any, feed: Any) -> None:
        """Read the stream's cursor, then load the feed's snapshot and start the stream from that cursor: no event
        falls between the two (the feed buffers what arrives while its snapshot loads)."""
        def go(cursor: int | None) -> None:
            feed.start()
            session.start_stream(after=cursor)

        Op(session.api.events_cursor, parent=self).success(go).failure(lambda _e: go(None)).run()

    def hub_connections(self) -> list[tuple[Any, Any]]:
        """The (hub signal, slot) pairs the window listens to while attached; role windows name theirs."""
        return []

    def attach(self) -> None:
        """Follow the session's hub: the status bar's indicators and :meth:`hub_connections`, once."""
        if self._attached:
            return
        self._attached = True
        self.attach_indicators(self.hub)  # type: ignore[attr-defined]
        for signal, slot in self.hub_connections():
            signal.connect(slot)

    def detach(self) -> None:
        """Disconnect from every service signal and stop the window's live feed; subclasses extend it. Called
        before the window closes."""
        self.connection.detach()
        self.outbox_indicator.detach()
        if not self._attached:
            return
        self._attached = False
        for signal, slot in self.hub_connections():
            try:
                signal.disconnect(slot)
            except (RuntimeError, TypeError):
                pass
        feed = getattr(self, "feed", None)
        if feed is not None:
            feed.stop()

    def close_for_sign_out(self) -> None:
        self._closing_for_sign_out = True
        self.close()

    def closeEvent(self, event: QCloseEvent) -> None:
        self.detach()
        super().closeEvent(event)
        if not self._closing_for_sign_out:
            self.sig_quit_requested.emit()
