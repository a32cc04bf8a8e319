"""The application: QApplication on a qasync loop, look and language, sign-in, then the role's window.

``AppController`` is the composition root. It owns the change hub and the user session, shows the sign-in
dialog (starting the embedded demo server first when no server is configured), opens the window the role
calls for, brings the sign-in back over the open window when the session expires (nothing is lost: drafts and
the outbox stay, and the same window carries on), and handles settings, sign-out and quit.
"""
from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Sequence
from typing import Any

from PySide6.QtCore import QCoreApplication, QObject, Qt, Signal
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QApplication, QWidget

from workstation.services.changes import ChangeHub
from workstation.services.gc_guard import MainThreadGarbageCollector
from workstation.services.ops import Op, shutdown_pools
from workstation.services.session import UserSession
from workstation.services.settings import LANGUAGES, WorkstationSettings
from workstation.ui import theme
from workstation.ui.admin import AdminWindow
from workstation.ui.base_window import StaffWindow
from workstation.ui.clerk import ClerkWindow
from workstation.ui.i18n import install_language
from workstation.ui.pharmacist import PharmacistWindow
from workstation.ui.settings_dialog import SettingsDialog, SettingsValues
from workstation.ui.signin import SignInDialog

log = logging.getLogger(__name__)

APP_NAME = "clinic-workstation"
ORGANIZATION = "Internet hospital"


def window_class(role: str) -> type[StaffWindow]:
    from workstation.ui.doctor.main_window import DoctorWindow

    return {"doctor": DoctorWindow, "pharmacist": PharmacistWindow, "clerk": ClerkWindow,
            "admin": AdminWindow}.get(role, AdminWindow)


def center(widget: QWidget) -> None:
    screen = QGuiApplication.primaryScreen()
    if screen is None:
        return
    geo = screen.availableGeometry()
    size = widget.size().boundedTo(geo.size())
    widget.resize(size)
    widget.move(geo.x() + (geo.width() - size.width()) // 2, geo.y() + (geo.height() - size.height()) // 2)


class AppController(QObject):
    sig_window_opened = Signal(object)  # the role window (tests wait on it)
    sig_quit = Signal()

    def __init__(self, *, settings: WorkstationSettings, server_url: str | None = None,
                 embedded: Any = None, persist_settings: bool = True, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.settings = settings
        self.server_url = (server_url or settings.server_url or "").rstrip("/") or None
        self.persist_settings = persist_settings
        self.hub = ChangeHub(parent=self)
        self.session: UserSession | None = None
        self.window: StaffWindow | None = None
        self.signin: SignInDialog | None = None
        self.reauth: SignInDialog | None = None
        self._embedded = embedded
        self.embedded_info: Any = None
        self._quitting = False

    # --- where we sign in ------------------------------------------------------------------------------------

    @property
    def base_url(self) -> str | None:
        if self.server_url:
            return self.server_url
        return self.embedded_info.url if self.embedded_info is not None else None

    def server_text(self) -> str:
        if self.server_url:
            return self.server_url
        if self.embedded_info is not None:
            return SignInDialog.tr_embedded(self.embedded_info.url)
        return SignInDialog.tr_embedded("")

    def _new_session(self) -> UserSession:
        if self.session is not None:
            self.session.deleteLater()
        assert self.base_url is not None
        self.session = UserSession(base_url=self.base_url, hub=self.hub, parent=self)
        self.session.sig_expired.connect(self._on_expired)
        return self.session

    def _sign_in(self, username: str, password: str) -> Any:
        """Blocking (worker): sign in against the current server."""
        session = self.session
        if session is None or session.base_url != self.base_url:
            raise RuntimeError("no server")  # the dialog shows it; cannot happen once a server is known
        return session.sign_in(username, password)

    # --- start --------------------------------------------------------------------------------------------------

    def start(self) -> None:
        self.show_sign_in()
        if self.server_url is None:
            self.start_embedded()

    def show_sign_in(self) -> SignInDialog:
        if self.base_url is not None:
            self._new_session()
        dialog = SignInDialog(sign_in=self._sign_in, server_text=self.server_text,
                              username=self.settings.last_username)
        dialog.sig_signed_in.connect(self._signed_in)
        dialog.sig_settings_requested.connect(lambda: self.open_settings(parent=dialog))
        dialog.rejected.connect(self._sign_in_cancelled)
        self.signin = dialog
        dialog.show()
        dialog.raise_()
        dialog.activateWindow()
        return dialog

    def embedded_server(self) -> Any:
        if self._embedded is None:
            from workstation.services.embedded import EmbeddedServer

            self._embedded = EmbeddedServer()
        return self._embedded

    def start_embedded(self) -> None:
        """No server configured: start the built-in one in the background, then sign in as doctor1."""
        dialog = self.signin
        assert dialog is not None
        dialog.show_progress("starting")
        server = self.embedded_server()
        Op(server.start, parent=dialog).success(self._embedded_started).failure(self._embedded_failed).run()

    def _embedded_started(self, info: Any) -> None:
        self.embedded_info = info
        self._new_session()
        dialog = self.signin
        if dialog is None:
            return
        dialog.refresh_server()
        dialog.show_progress("signing_in")
        dialog.ed_username.setText(info.username)
        dialog.sign_in_with(info.username, info.password)

    def _embedded_failed(self, exc: BaseException) -> None:
        log.error("embedded server failed: %s", exc)
        if self.signin is not None:
            self.signin.show_progress(None)
            self.signin.show_message("embedded_failed", str(exc))

    def _sign_in_cancelled(self) -> None:
        if self.window is None:
            self.quit()

    # --- signed in ----------------------------------------------------------------------------------------------

    def _signed_in(self, staff: dict[str, Any]) -> None:
        assert self.session is not None
        self.signin = None
        if staff.get("username") and not self.embedded_info:
            self.settings.last_username = str(staff["username"])
            self.save_settings()
        cls = window_class(str(staff.get("role", "")))
        if cls.__name__ == "DoctorWindow" or getattr(cls, "USES_SESSION", False):
            window: StaffWindow = cls(session=self.session, settings=self.settings)  # type: ignore[call-arg]
        else:
            window = cls(staff=staff)
            window.connection.hide()
            window.outbox_indicator.hide()
        window.sig_sign_out_requested.connect(self.sign_out)
        window.sig_settings_requested.connect(lambda: self.open_settings(parent=window))
        window.sig_quit_requested.connect(self.quit)
        window.sig_reauth_requested.connect(self._on_expired)
        self.window = window
        center(window)
        window.show()
        if hasattr(window, "start"):
            window.start()
        self.sig_window_opened.emit(window)

    # --- expiry: sign in again over the open window ------------------------------------------------------------

    def _on_expired(self) -> None:
        if self.session is None or self.window is None or self.reauth is not None:
            return
        self.window.set_session_expired(True)
        session = self.session
        dialog = SignInDialog(sign_in=lambda _u, password: session.resume(password), server_text=self.server_text,
                              username=session.username or "", reauth=True, parent=self.window)
        dialog.setWindowModality(Qt.WindowModality.WindowModal)
        dialog.sig_signed_in.connect(self._resumed)
        dialog.finished.connect(self._reauth_closed)
        self.reauth = dialog
        dialog.show()

    def _resumed(self, _staff: Any) -> None:
        if self.window is not None:
            self.window.set_session_expired(False)
            self.window.statusBar().showMessage(
                QCoreApplication.translate("AppController", "Signed in again; your work continues."), 5000)

    def _reauth_closed(self, _result: int) -> None:
        if self.reauth is not None:
            self.reauth.deleteLater()
        self.reauth = None

    # --- settings ---------------------------------------------------------------------------------------------

    def open_settings(self, *, parent: QWidget | None = None) -> SettingsDialog:
        values = SettingsValues(server_url=self.server_url or "", language=self.settings.language,
                                sounds=self.settings.sounds, video_source=self.settings.video_source,
                                audio_source=self.settings.audio_source)
        dialog = SettingsDialog(values, parent=parent)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.accepted.connect(lambda: self.apply_settings(dialog.values()))
        dialog.open()
        return dialog

    def apply_settings(self, values: SettingsValues) -> None:
        if values.language != self.settings.language:
            self.settings.language = values.language
            install_language(values.language)  # every window retranslates itself
        self.settings.sounds = values.sounds
        self.settings.video_source, self.settings.audio_source = values.video_source, values.audio_source
        new_url = values.server_url.rstrip("/") or None
        if new_url != self.server_url:
            self.settings.server_url = new_url
            if self.window is None and self.signin is not None:
                # still at sign-in: switch servers now
                self.server_url = new_url
                if new_url is None and self.embedded_info is None:
                    self.start_embedded()
                elif self.base_url is not None:
                    self._new_session()
                self.signin.refresh_server()
            elif self.window is not None:
                self.window.statusBar().showMessage(
                    QCoreApplication.translate("AppController", "The new server address is used at the next "
                                                                "sign-in."), 8000)
        self.save_settings()

    def save_settings(self) -> None:
        if self.persist_settings:
            settings = self.settings
            Op(settings.save, pool="db").failure(lambda exc: log.warning("settings not saved: %s", exc)).run()

    # --- sign out, quit ---------------------------------------------------------------------------------------

    def sign_out(self) -> None:
        window = self.window
        if window is None or self.session is None:
            return
        check = getattr(window, "about_to_sign_out", None)
        if check is not None and not check():
            return
        window.detach()
        session = self.session
        self.window = None

        def done(_r: object = None) -> None:
            window.close_for_sign_out()
            window.deleteLater()
            self.show_sign_in()

        Op(session.sign_out, parent=self).success(done).failure(lambda _e: done()).run()

    def quit(self) -> None:
        if self._quitting:
            return
        self._quitting = True
        if self.window is not None:
            self.window.detach()
        if self.session is not None:
            session = self.session
            Op(session.close, parent=self).success(lambda _r: self._finish_quit()) \
                .failure(lambda _e: self._finish_quit()).run()
        else:
            self._finish_quit()

    def _finish_quit(self) -> None:
        if self._embedded is not None:
            Op(self._embedded.stop).run()
        self.sig_quit.emit()
        app = QApplication.instance()
        if app is not None:
            app.quit()


# --- the entry point --------------------------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="clinic-workstation",
                                     description="Staff workstation of the internet hospital's online revisit "
                                                 "service")
    parser.add_argument("--server", metavar="URL", help="the backend to use (default: settings, else the built-in "
                                                        "demo server)")
    parser.add_argument("--lang", choices=LANGUAGES, help="language of this run (default: settings, zh_CN)")
    return parser.parse_args(list(argv) if argv is not None else None)


def create_application(argv: Sequence[str] | None = None, *, language: str = "zh_CN") -> QApplication:
    app = QApplication.instance() or QApplication(list(argv or sys.argv[:1]))
    assert isinstance(app, QApplication)
    app.setApplicationName(APP_NAME)
    app.setApplicationDisplayName("")
    app.setOrganizationName(ORGANIZATION)
    app.setQuitOnLastWindowClosed(False)  # windows are swapped at sign-in / sign-out; quitting is explicit
    theme.apply_theme(app)
    install_language(language)
    if not any(isinstance(c, MainThreadGarbageCollector) for c in app.children()):
        MainThreadGarbageCollector(app)  # cyclic garbage (Qt objects included) is freed on this thread only
    return app


def main(argv: Sequence[str] | None = None) -> int:
    import qasync

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    args = parse_args(argv)
    settings = WorkstationSettings.load()
    app = create_application(sys.argv[:1], language=args.lang or settings.language)
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    controller = AppController(settings=settings, server_url=args.server)
    done = asyncio.Event()
    controller.sig_quit.connect(done.set)
    app.aboutToQuit.connect(done.set)
    controller.start()
    with loop:
        loop.run_until_complete(done.wait())
        # a video call still open is hung up and its peer connection closed while the loop still runs: aiortc's
        # decoder threads are not daemons, and the process would never exit with them left waiting
        close_call = getattr(controller.window, "close_call", None)
        if close_call is not None:
            close_call()
        pending = [t for t in asyncio.all_tasks(loop) if not t.done()]
        if pending:
            loop.run_until_complete(asyncio.wait(pending, timeout=3))
    shutdown_pools(wait=True)
    return 0
