"""The sign-in window against a real backend: each role lands in its own window, and every refusal is said
plainly in Chinese (wrong password, locked account with the unlock time, unreachable server); the embedded
start signs in by itself; an expired session brings sign-in back over the open window, which carries on."""
from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import httpx
import pytest
import shiboken6

from tests.conftest import LiveServer, free_port
from tests.helpers import DEMO_STAFF_PASSWORD
from tests.workstation.ui_support import PASSWORD, Controllers, controllers, doctor_clinic, new_staff
from tests.workstation_helpers import V1
from workstation.services.embedded import EmbeddedInfo
from workstation.services.ops import Op
from workstation.ui.admin import AdminWindow
from workstation.ui.clerk import ClerkWindow
from workstation.ui.doctor.main_window import DoctorWindow
from workstation.ui.pharmacist import PharmacistWindow

__all__ = ["controllers"]  # the fixture, re-exported for pytest

pytestmark = pytest.mark.integration


@pytest.mark.parametrize(("username", "window_type", "title"), [
    ("doctor1", DoctorWindow, "在线复诊工作台"),
    ("pharmacist", PharmacistWindow, "处方审核"),
    ("clerk", ClerkWindow, "窗口退费"),
    ("admin", AdminWindow, "系统管理"),
])
def test_each_role_opens_its_own_window(live_server: LiveServer, controllers: Controllers, username: str,
                                        window_type: type, title: str) -> None:
    c = controllers.new(server_url=live_server.base_url)
    c.start()
    assert c.signin is not None and live_server.base_url in c.signin.lbl_server.text()
    window = controllers.sign_in(c, username, DEMO_STAFF_PASSWORD)
    assert type(window) is window_type
    assert window.staff["username"] == username
    assert title in window.windowTitle() and window.staff["name"] in window.windowTitle()
    assert window.staff["name"] in window.lbl_user.text()
    assert [a.text() for a in window.menu_file.actions() if a.text()] == ["设置(&S)…", "退出登录(&O)", "退出(&Q)"]


def test_sign_out_returns_to_the_sign_in_window(live_server: LiveServer, controllers: Controllers,
                                                qtbot: Any) -> None:
    c = controllers.new(server_url=live_server.base_url)
    window = controllers.sign_in(c, "clerk", DEMO_STAFF_PASSWORD)
    window.act_sign_out.trigger()  # 工作站 → 退出登录 (every role's window has it)
    qtbot.waitUntil(lambda: c.signin is not None and c.window is None, timeout=10000)
    assert not shiboken6.isValid(window) or not window.isVisible()


def test_wrong_password_and_locked_account_are_explained(live_server: LiveServer, api: httpx.Client,
                                                         admin: dict[str, str], controllers: Controllers,
                                                         qtbot: Any) -> None:
    username = new_staff(api, admin, role="clerk")
    c = controllers.new(server_url=live_server.base_url)
    c.start()
    dialog = c.signin
    assert dialog is not None
    dialog.ed_username.setText(username)
    dialog.ed_password.setText("not-the-password-1")
    dialog.btn_sign_in.click()
    qtbot.waitUntil(lambda: "用户名或密码错误" in dialog.lbl_message.text(), timeout=10000)
    assert dialog.lbl_message.isVisibleTo(dialog) and c.window is None
    assert dialog.btn_sign_in.isEnabled()

    # empty fields are caught before anything is sent
    dialog.ed_password.clear()
    dialog.btn_sign_in.click()
    assert dialog.lbl_message.text() == "请输入用户名和密码。"

    # four more failures lock the account (server: 5): the message gives the time it unlocks
    for _ in range(4):
        r = api.post(f"{V1}/staff/auth/login", json={"username": username, "password": "still-wrong-12"})
        assert r.status_code in (401, 423), r.text
    dialog.ed_password.setText(PASSWORD)  # even the right password is refused while locked
    dialog.btn_sign_in.click()
    qtbot.waitUntil(lambda: "账号已锁定" in dialog.lbl_message.text(), timeout=10000)
    assert re.search(r"请于 \d{2}:\d{2} 后重试", dialog.lbl_message.text()), dialog.lbl_message.text()
    assert c.window is None


def test_an_unreachable_server_is_named(controllers: Controllers, qtbot: Any) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    c = controllers.new(server_url=url)
    c.start()
    dialog = c.signin
    assert dialog is not None
    dialog.ed_username.setText("doctor1")
    dialog.ed_password.setText("whatever-123")
    dialog.btn_sign_in.click()
    qtbot.waitUntil(lambda: "无法连接服务器" in dialog.lbl_message.text(), timeout=15000)
    assert url in dialog.lbl_message.text() and "设置" in dialog.lbl_message.text()


class _RunningServer:
    """The embedded-server service's interface over the session's live backend: the UI path (progress, then an
    automatic sign-in as doctor1) is what is tested here; the service's own test starts the real one."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.started = 0

    def start(self) -> EmbeddedInfo:
        self.started += 1
        return EmbeddedInfo(url=self.url, username="doctor1", password=DEMO_STAFF_PASSWORD, data_dir=Path("."))

    def stop(self) -> None:
        pass


def test_with_no_server_configured_the_embedded_one_starts_and_signs_in(live_server: LiveServer,
                                                                         controllers: Controllers,
                                                                         qtbot: Any) -> None:
    embedded = _RunningServer(live_server.base_url)
    c = controllers.new(server_url=None, embedded=embedded)
    with qtbot.waitSignal(c.sig_window_opened, timeout=20000) as blocker:
        c.start()
        assert c.signin is not None and "本机内置演示服务器" in c.signin.lbl_server.text()
        assert "正在本机启动内置演示服务器" in c.signin.lbl_progress.text()
    window = blocker.args[0]
    assert isinstance(window, DoctorWindow) and window.staff["username"] == "doctor1"
    assert embedded.started == 1 and c.base_url == live_server.base_url


def test_an_expired_session_signs_in_again_over_the_open_window(live_server: LiveServer, api: httpx.Client,
                                                                 admin: dict[str, str], controllers: Controllers,
                                                                 qtbot: Any) -> None:
    clinic = doctor_clinic(api, admin)
    c = controllers.new(server_url=live_server.base_url)
    window = controllers.sign_in(c, clinic["username"])
    assert isinstance(window, DoctorWindow)
    session = c.session
    assert session is not None
    qtbot.waitUntil(lambda: window.connection.state == "live", timeout=15000)
    # some open work: a draft in the store
    assert window.drafts is not None
    window.drafts.changed(424242, {"notes": "未写完的病历", "diagnosis_code": "", "diagnosis_name": ""})
    window.drafts.flush().result(timeout=10)

    # the session ends on the server (an administrator, another sign-in, the idle timeout)
    assert api.post(f"{V1}/staff/auth/logout", headers=session.api.headers()).status_code == 204
    Op(session.api.me).failure(lambda _e: None).run()
    qtbot.waitUntil(lambda: c.reauth is not None, timeout=15000)
    reauth = c.reauth
    assert reauth is not None
    assert reauth.parent() is window and window.isVisible() and window.btn_reauth.isVisibleTo(window)
    assert reauth.ed_username.text() == clinic["username"] and reauth.ed_username.isReadOnly()
    assert "登录已过期" in reauth.lbl_subtitle.text()

    reauth.ed_password.setText(PASSWORD)
    reauth.btn_sign_in.click()
    qtbot.waitUntil(lambda: c.reauth is None and session.signed_in, timeout=15000)
    assert c.window is window and not window.btn_reauth.isVisibleTo(window)
    qtbot.waitUntil(lambda: window.connection.state == "live", timeout=15000)
    draft = window.drafts.load(424242).result(timeout=10)
    assert draft is not None and draft["notes"] == "未写完的病历"
