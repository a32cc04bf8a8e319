"""ApiClient against the real backend: what each failure becomes (the words the sign-in window shows depend on
it), and the idempotency key on a mutation."""
from __future__ import annotations

import secrets
from typing import Any

import httpx
import pytest
from PySide6.QtCore import QTimer
from sqlalchemy.engine import Engine

from tests.conftest import LiveServer, free_port
from tests.helpers import DEMO_STAFF_PASSWORD
from tests.workstation_helpers import V1, doctor_today, events_of, waiting
from workstation.services.api import ApiClient, ApiError, NetworkError, SessionExpired, new_idempotency_key
from workstation.services.ops import BlockingCallOnGuiThread

pytestmark = pytest.mark.integration


def make_clerk(api: httpx.Client, admin: dict[str, str], *, password: str = "Clerk-pass-2026") -> dict[str, str]:
    username = f"wsc{secrets.token_hex(4)}"
    r = api.post(f"{V1}/staff/admin/staff", headers=admin,
                 json={"username": username, "name": "测试收费员", "role": "clerk", "password": password})
    assert r.status_code == 201, r.text
    return {"username": username, "password": password}


def test_login_me_and_queue_of_a_demo_doctor(live_server: LiveServer) -> None:
    client = ApiClient(live_server.base_url)
    body = client.login("doctor1", DEMO_STAFF_PASSWORD)
    assert client.token == body["token"]
    assert body["staff"]["username"] == "doctor1" and body["staff"]["role"] == "doctor"
    assert body["idle_timeout_s"] > 0
    assert client.me()["id"] == body["staff"]["id"]
    assert isinstance(client.queue(), list)
    assert client.events_cursor() >= 0
    page = client.events_since(0, 5)
    assert set(page) >= {"events", "next_after", "more", "resync"}


def test_wrong_password_then_lock(live_server: LiveServer, api: httpx.Client, admin: dict[str, str]) -> None:
    clerk = make_clerk(api, admin)
    client = ApiClient(live_server.base_url)
    with pytest.raises(ApiError) as wrong:
        client.login(clerk["username"], "not-the-password1")
    assert (wrong.value.status, wrong.value.code) == (401, "bad_credentials")
    assert not isinstance(wrong.value, SessionExpired)  # a wrong password is not an expired session
    assert wrong.value.message == "用户名或密码错误" and client.token is None
    locked = None
    for _ in range(10):
        try:
            client.login(clerk["username"], "not-the-password1")
        except ApiError as exc:
            if exc.code == "account_locked":
                locked = exc
                break
    assert locked is not None and locked.status == 423
    assert "locked_until" in locked.details and "锁定" in locked.message
    with pytest.raises(ApiError) as even_right:  # the right password while locked
        client.login(clerk["username"], clerk["password"])
    assert even_right.value.code == "account_locked"


def test_unreachable_server_is_a_network_error() -> None:
    client = ApiClient(f"http://127.0.0.1:{free_port()}", timeout=2)
    with pytest.raises(NetworkError) as exc:
        client.login("doctor1", "whatever1")
    assert "无法连接服务器" in str(exc.value)
    assert not isinstance(exc.value, ApiError)


def test_session_expiry_is_reported(live_server: LiveServer, api: httpx.Client, admin: dict[str, str]) -> None:
    clerk = make_clerk(api, admin)
    told: list[bool] = []
    client = ApiClient(live_server.base_url, on_session_expired=lambda: told.append(True))
    client.login(clerk["username"], clerk["password"])
    # the session ends elsewhere (another window logged out with the same token)
    assert api.post(f"{V1}/staff/auth/logout", headers=client.headers()).status_code == 204
    with pytest.raises(SessionExpired) as exc:
        client.me()
    assert exc.value.status == 401 and exc.value.code == "session_expired" and told == [True]
    client.logout()  # already over: no error, no second report
    assert client.token is None and told == [True]
    with pytest.raises(SessionExpired):  # no token at all
        client.me()


def test_not_found_and_refusals_keep_the_servers_words(live_server: LiveServer) -> None:
    client = ApiClient(live_server.base_url)
    client.login("doctor1", DEMO_STAFF_PASSWORD)
    with pytest.raises(ApiError) as absent:
        client.appointment(2**53)
    assert (absent.value.status, absent.value.code) == (404, "not_found") and not absent.value.transient
    with pytest.raises(ApiError) as bad:
        client.clinic_stop({"starts_at": "2020-01-01T09:00:00+08:00", "ends_at": "2020-01-01T10:00:00+08:00",
                            "reason": "会议"}, key=new_idempotency_key())
    assert bad.value.status == 422 and bad.value.message


def test_a_mutation_sent_twice_with_one_key_acts_once(live_server: LiveServer, api: httpx.Client,
                                                      admin: dict[str, str], db_engine: Engine) -> None:
    clinic = doctor_today(api, admin, db_engine)
    _, appt = waiting(api, db_engine, clinic)
    client = ApiClient(live_server.base_url, token=clinic["headers"]["Authorization"].split()[1])
    key = new_idempotency_key()
    first = client.accept(appt, key=key)
    second = client.accept(appt, key=key)  # the answer was "lost": the outbox sends again
    assert first == second and first["status"] == "in_consultation"
    assert len(events_of(db_engine, object_type="appointment", object_id=appt,
                         kind="appointment.in_consultation")) == 1
    with pytest.raises(ApiError) as again:  # a new key is a new action: refused by the state machine
        client.accept(appt, key=new_idempotency_key())
    assert again.value.code == "invalid_state"
    record = client.save_record(appt, {"diagnosis_code": "E11.9", "diagnosis_name": "2型糖尿病不伴有并发症",
                                       "notes": "血糖控制尚可"}, key=new_idempotency_key())
    assert record["diagnosis_code"] == "E11.9"
    chart = client.chart(appt)
    assert chart["appointment_id"] == appt and chart["notes"] == "血糖控制尚可"
    done = client.finish(appt, {"diagnosis_code": "E11.9", "diagnosis_name": "2型糖尿病不伴有并发症"},
                         key=new_idempotency_key())
    assert done["status"] == "completed"


def test_blocking_call_inside_the_gui_loop_is_refused(live_server: LiveServer, qtbot: Any) -> None:
    client = ApiClient(live_server.base_url)
    caught: list[BaseException] = []

    def in_loop() -> None:
        try:
            client.me()
        except BaseException as exc:  # noqa: BLE001
            caught.append(exc)

    QTimer.singleShot(0, in_loop)
    qtbot.waitUntil(lambda: bool(caught), timeout=5000)
    assert isinstance(caught[0], BlockingCallOnGuiThread)
