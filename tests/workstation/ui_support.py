"""Shared pieces of the workstation UI tests: staff with passwords made through the admin API, the app
controller signed in through its real sign-in dialog, and clean-up that stops every thread a test started."""
from __future__ import annotations

import secrets
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import shiboken6

from tests.booking_helpers import make_doctor, make_schedule, soon_start
from tests.workstation_helpers import V1
from workstation.services.settings import WorkstationSettings
from workstation.ui import theme
from workstation.ui.app import AppController
from workstation.ui.i18n import install_language

PASSWORD = "Ui-test-pass-2026"


def new_staff(api: httpx.Client, admin: dict[str, str], *, role: str, doctor_id: int | None = None,
              name: str | None = None) -> str:
    """A staff account of the test's own (so failed logins never lock a shared demo account)."""
    username = f"ui{role[:3]}{secrets.token_hex(4)}"
    body: dict[str, Any] = {"username": username, "name": name or f"测试{secrets.token_hex(2)}", "role": role,
                            "password": PASSWORD}
    if doctor_id is not None:
        body["doctor_id"] = doctor_id
    r = api.post(f"{V1}/staff/admin/staff", headers=admin, json=body)
    assert r.status_code == 201, r.text
    return username


def doctor_clinic(api: httpx.Client, admin: dict[str, str], *, capacity: int = 6) -> dict[str, Any]:
    """A doctor with a session starting in a few minutes (check-in open) and a workstation login."""
    doc = make_doctor(api, admin, department_code="endocrinology", name=f"医生{secrets.token_hex(2)}")
    schedule = make_schedule(api, admin, doctor_id=doc["id"], start=soon_start(), minutes=30, slot_minutes=15,
                             capacity=capacity)
    username = new_staff(api, admin, role="doctor", doctor_id=doc["id"], name=doc["name"])
    return {"id": doc["id"], "name": doc["name"], "slots": [s["id"] for s in schedule["slots"]],
            "username": username}


class Controllers:
    """Makes ``AppController``s and, at the end of the test, closes their windows and stops their sessions."""

    def __init__(self, qtbot: Any) -> None:
        self.qtbot = qtbot
        self.made: list[AppController] = []

    def new(self, *, server_url: str | None, language: str = "zh_CN", embedded: Any = None,
            settings: WorkstationSettings | None = None) -> AppController:
        install_language(language)
        c = AppController(settings=settings or WorkstationSettings(language=language, sounds=False),
                          server_url=server_url, embedded=embedded, persist_settings=False)
        self.made.append(c)
        return c

    def sign_in(self, c: AppController, username: str, password: str = PASSWORD) -> Any:
        """Type into the real sign-in dialog and wait for the role's window."""
        if c.signin is None:
            c.start()
        dialog = c.signin
        assert dialog is not None
        dialog.ed_username.setText(username)
        dialog.ed_password.setText(password)
        with self.qtbot.waitSignal(c.sig_window_opened, timeout=20000) as blocker:
            dialog.btn_sign_in.click()
        return blocker.args[0]

    def close(self) -> None:
        for c in self.made:
            if c.window is not None and shiboken6.isValid(c.window):
                c.window.detach()
                c.window.close_for_sign_out()
                c.window.deleteLater()
            for dialog in (c.signin, c.reauth):
                if dialog is not None and shiboken6.isValid(dialog):
                    dialog.close()
                    dialog.deleteLater()
            if c.session is not None:
                c.session.close()  # blocking: the stream and outbox threads end here
        self.made.clear()


@pytest.fixture()
def controllers(qtbot: Any, qapp: Any, qasync_loop: Any) -> Iterator[Controllers]:
    theme.apply_theme(qapp)
    made = Controllers(qtbot)
    try:
        yield made
    finally:
        made.close()
        install_language("zh_CN")
