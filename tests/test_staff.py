"""Staff accounts through the live server: login, lockout, sessions and idle expiry, the admin's account routes."""
from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Iterator

import httpx
import pytest
from sqlalchemy import text

import server.models  # noqa: F401 - every table, so in-process writes resolve their foreign keys
from server.actor import SYSTEM
from server.catalogue.models import Department, Doctor
from server.config import Settings
from server.db import Database
from server.staff.service import create_staff
from tests.conftest import LiveServer, start_server, stop_server
from tests.helpers import auth, register_account

V1 = "/api/v1"
PASSWORD = "Right-pass-2026"


# --- arranging: accounts and doctors written in-process on the server's database ----------------------------------


def server_database(server: LiveServer) -> Database:
    return Database(Settings(database_url=server.database_url, data_dir=server.data_dir))


def uname(prefix: str = "t") -> str:
    return f"{prefix}{secrets.token_hex(4)}"


def make_staff(db: Database, *, role: str, doctor_id: int | None = None, password: str = PASSWORD,
               username: str | None = None) -> dict:
    username = username or uname(role[:3])
    with db.transaction() as s:
        staff = create_staff(s, username=username, name=f"测试{role}", role=role, password=password,
                             doctor_id=doctor_id, actor=SYSTEM)
        return {"id": staff.id, "username": username, "password": password, "doctor_id": doctor_id}


def make_doctor(db: Database) -> int:
    with db.transaction() as s:
        dept = Department(code=uname("d"), name="测试科")
        s.add(dept)
        s.flush()
        doctor = Doctor(department_id=dept.id, name="测试医生", title="主治医师", fee_fen=1000)
        s.add(doctor)
        s.flush()
        return doctor.id


def login(api: httpx.Client, username: str, password: str = PASSWORD) -> httpx.Response:
    return api.post(f"{V1}/staff/auth/login", json={"username": username, "password": password})


def login_headers(api: httpx.Client, staff: dict) -> dict[str, str]:
    r = login(api, staff["username"], staff["password"])
    assert r.status_code == 200, r.text
    return auth(r.json()["token"])


@pytest.fixture(scope="module")
def sdb(live_server: LiveServer) -> Iterator[Database]:
    db = server_database(live_server)
    yield db
    db.dispose()


@pytest.fixture(scope="module")
def admin(live_server: LiveServer, sdb: Database) -> dict:
    staff = make_staff(sdb, role="admin")
    with live_server.client() as c:
        staff["headers"] = login_headers(c, staff)
    return staff


def new_clerk(api: httpx.Client, admin: dict, **extra: object) -> dict:
    body = {"username": uname("c"), "name": "王收费", "role": "clerk", "password": PASSWORD} | extra
    r = api.post(f"{V1}/staff/admin/staff", json=body, headers=admin["headers"])
    assert r.status_code == 201, r.text
    return r.json() | {"password": body["password"]}


def audit_rows(engine, staff_id: int, action: str) -> list:
    with engine.connect() as c:
        return list(c.execute(text("SELECT result, details FROM audit_log WHERE action = :a AND object_id = :i "
                                   "ORDER BY id"), {"a": action, "i": staff_id}).mappings())


# --- login ---------------------------------------------------------------------------------------------------------


def test_login_returns_token_profile_and_timeouts(api: httpx.Client, admin: dict, db_engine) -> None:
    clerk = new_clerk(api, admin)
    r = login(api, clerk["username"])
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["staff"] == {"id": clerk["id"], "username": clerk["username"], "name": "王收费", "role": "clerk",
                             "doctor_id": None}
    assert body["idle_timeout_s"] == 30 * 60
    assert body["expires_at"].endswith("+08:00")
    me = api.get(f"{V1}/staff/me", headers=auth(body["token"]))
    assert me.status_code == 200 and me.json() == body["staff"]
    assert [r["result"] for r in audit_rows(db_engine, clerk["id"], "staff.login")] == ["ok"]


def test_wrong_password_and_unknown_user_answer_alike(api: httpx.Client, admin: dict) -> None:
    clerk = new_clerk(api, admin)
    wrong = login(api, clerk["username"], "Wrong-pass-2026")
    unknown = login(api, uname("nobody"), "Wrong-pass-2026")
    for r in (wrong, unknown):
        assert r.status_code == 401
        assert r.json()["code"] == "bad_credentials"
        assert r.json()["message"] == "用户名或密码错误"


def test_lockout_refuses_even_the_right_password_until_an_admin_unlocks(api: httpx.Client, admin: dict,
                                                                          db_engine) -> None:
    clerk = new_clerk(api, admin)
    codes = [login(api, clerk["username"], f"Wrong-pass-{i}").json()["code"] for i in range(5)]
    assert codes == ["bad_credentials"] * 4 + ["account_locked"]

    r = login(api, clerk["username"])
    assert r.status_code == 423
    body = r.json()
    assert body["code"] == "account_locked"
    assert body["message"].startswith("账号已锁定，请于 ") and "后重试或联系管理员" in body["message"]
    locked_until = body["details"]["locked_until"]
    hhmm = body["message"].split("请于 ")[1][:5]
    assert hhmm[2] == ":" and hhmm.replace(":", "").isdigit()

    listed = {s["id"]: s for s in api.get(f"{V1}/staff/admin/staff", headers=admin["headers"]).json()}
    assert listed[clerk["id"]]["locked_until"] is not None
    assert locked_until.endswith("+08:00")

    refused = [r for r in audit_rows(db_engine, clerk["id"], "staff.login") if r["result"] == "refused"]
    assert len(refused) == 6  # five wrong passwords, one right one during the lock
    assert len(audit_rows(db_engine, clerk["id"], "staff.locked")) == 1

    r = api.patch(f"{V1}/staff/admin/staff/{clerk['id']}", json={"unlock": True}, headers=admin["headers"])
    assert r.status_code == 200 and r.json()["locked_until"] is None and r.json()["failed_logins"] == 0
    assert login(api, clerk["username"]).status_code == 200


def test_a_success_resets_the_failure_count(api: httpx.Client, admin: dict) -> None:
    clerk = new_clerk(api, admin)
    for _ in range(4):
        assert login(api, clerk["username"], "Wrong-pass-2026").status_code == 401
    assert login(api, clerk["username"]).status_code == 200
    for _ in range(4):
        assert login(api, clerk["username"], "Wrong-pass-2026").status_code == 401
    assert login(api, clerk["username"]).status_code == 200


def test_concurrent_wrong_passwords_all_count(live_server: LiveServer, api: httpx.Client, admin: dict) -> None:
    """Ten simultaneous guesses: a lost update would leave the account unlocked."""
    clerk = new_clerk(api, admin)
    statuses: list[int] = []
    barrier = threading.Barrier(10)

    def guess(i: int) -> None:
        with live_server.client() as c:
            barrier.wait()
            statuses.append(login(c, clerk["username"], f"Wrong-pass-{i}").status_code)

    threads = [threading.Thread(target=guess, args=(i,)) for i in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(set(statuses)) == [401, 423]
    assert statuses.count(401) == 4
    assert login(api, clerk["username"]).status_code == 423


def test_deactivated_staff_cannot_log_in_and_their_sessions_end(api: httpx.Client, admin: dict) -> None:
    clerk = new_clerk(api, admin)
    headers = login_headers(api, clerk)
    r = api.patch(f"{V1}/staff/admin/staff/{clerk['id']}", json={"active": False}, headers=admin["headers"])
    assert r.status_code == 200 and r.json()["active"] is False

    r = api.get(f"{V1}/staff/me", headers=headers)
    assert r.status_code == 401 and r.json()["code"] == "session_expired"
    r = login(api, clerk["username"])
    assert r.status_code == 403 and r.json()["code"] == "account_disabled"
    assert login(api, clerk["username"], "Wrong-pass-2026").json()["code"] == "bad_credentials"

    api.patch(f"{V1}/staff/admin/staff/{clerk['id']}", json={"active": True}, headers=admin["headers"])
    assert login(api, clerk["username"]).status_code == 200


def test_logout_ends_the_session(api: httpx.Client, admin: dict) -> None:
    clerk = new_clerk(api, admin)
    headers = login_headers(api, clerk)
    other = login_headers(api, clerk)
    assert api.post(f"{V1}/staff/auth/logout", headers=headers).status_code == 204
    r = api.get(f"{V1}/staff/me", headers=headers)
    assert r.status_code == 401 and r.json()["code"] == "session_expired"
    assert api.get(f"{V1}/staff/me", headers=other).status_code == 200  # only this session


def test_login_input_is_checked(api: httpx.Client) -> None:
    for body in ({}, {"username": "", "password": "x"}, {"username": "a" * 65, "password": "x"},
                 {"username": "admin", "password": "x" * 129}):
        r = api.post(f"{V1}/staff/auth/login", json=body)
        assert r.status_code == 422, body
        assert r.json()["code"] == "validation_error"


def test_no_token_or_a_patient_token_is_refused(api: httpx.Client) -> None:
    assert api.get(f"{V1}/staff/me").status_code == 401
    r = api.get(f"{V1}/staff/me", headers=auth("not-a-token"))
    assert r.status_code == 401 and r.json()["code"] == "session_expired"
    patient = register_account(api)
    r = api.get(f"{V1}/staff/me", headers=patient["headers"])
    assert r.status_code == 401 and r.json()["code"] == "session_expired"


@pytest.fixture(scope="module")
def idle_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    server = start_server(tmp_path_factory.mktemp("idle"), extra_env={"CLINIC_STAFF_SESSION_IDLE_S": "2"})
    yield server
    stop_server(server)


def test_idle_session_expires_but_activity_keeps_it(idle_server: LiveServer) -> None:
    db = server_database(idle_server)
    try:
        clerk = make_staff(db, role="clerk")
    finally:
        db.dispose()
    with idle_server.client() as c:
        r = login(c, clerk["username"])
        assert r.json()["idle_timeout_s"] == 2
        headers = auth(r.json()["token"])
        # in use for longer than the idle timeout: still logged in
        end = time.monotonic() + 3
        while time.monotonic() < end:
            assert c.get(f"{V1}/staff/me", headers=headers).status_code == 200
            time.sleep(0.25)
        # a write request whose session is due a refresh (on SQLite this once waited on its own write lock)
        second = login_headers(c, clerk)
        time.sleep(0.6)
        t0 = time.monotonic()
        assert c.post(f"{V1}/staff/auth/logout", headers=second).status_code == 204
        assert time.monotonic() - t0 < 5
        # then left alone for longer than the timeout (nothing to poll: any request would count as use)
        time.sleep(2.5)
        r = c.get(f"{V1}/staff/me", headers=headers)
        assert r.status_code == 401 and r.json()["code"] == "session_expired"
        assert r.json()["message"] == "登录已超时，请重新登录"


# --- the admin's routes ----------------------------------------------------------------------------------------------


def test_other_roles_cannot_use_admin_routes(api: httpx.Client, admin: dict) -> None:
    clerk = new_clerk(api, admin)
    headers = login_headers(api, clerk)
    calls = [("GET", f"{V1}/staff/admin/staff", None),
             ("POST", f"{V1}/staff/admin/staff", {"username": uname(), "name": "某", "role": "clerk",
                                                  "password": PASSWORD}),
             ("PATCH", f"{V1}/staff/admin/staff/{admin['id']}", {"active": False}),
             ("PATCH", f"{V1}/staff/admin/staff/{2**52}", {"active": False})]
    for method, url, body in calls:
        r = api.request(method, url, json=body, headers=headers)
        assert r.status_code == 403, (method, url, r.text)
        assert r.json()["code"] == "role_forbidden"
        assert api.request(method, url, json=body).status_code == 401


def test_the_documents_staff_roles_are_the_ones_let_in(api: httpx.Client, sdb: Database) -> None:
    """``x-staff-roles`` in the OpenAPI document (the workstation and the API fuzzing read it) says which roles
    each staff operation lets in: every role it leaves out gets 403 ``role_forbidden``, every role it names (or
    any role, where it names none) gets past that check. Ids that exist nowhere and an empty body: nothing
    changes, whoever asks."""
    import re

    doc = api.get("/openapi.json").json()
    doctor = make_staff(sdb, role="doctor", doctor_id=make_doctor(sdb))
    headers = {role: login_headers(api, make_staff(sdb, role=role)) for role in ("admin", "clerk", "pharmacist")}
    headers["doctor"] = login_headers(api, doctor)
    checked = 0
    for path, item in doc["paths"].items():
        for method, op in item.items():
            if (not path.startswith(f"{V1}/staff/") or not op.get("security")
                    or path.endswith(("/events", "/logout"))):  # a stream never ends; logging out ends the session
                continue
            allowed = op.get("x-staff-roles", list(headers))
            assert set(allowed) <= set(headers), (method, path, allowed)
            url = re.sub(r"\{[^}]+\}", str(2**52), path)
            for role, h in headers.items():
                r = api.request(method.upper(), url, headers=h, json={} if method != "get" else None)
                forbidden = r.status_code == 403 and r.json().get("code") == "role_forbidden"
                assert forbidden == (role not in allowed), (role, method, path, r.status_code, r.text[:300])
                checked += 1
    assert checked > 150, checked


def test_admin_creates_lists_and_renames(api: httpx.Client, admin: dict, sdb: Database) -> None:
    doctor_id = make_doctor(sdb)
    username = uname("doc")
    r = api.post(f"{V1}/staff/admin/staff", headers=admin["headers"],
                 json={"username": username, "name": " 李医生 ", "role": "doctor", "password": "abcdef12345",
                       "doctor_id": doctor_id})
    assert r.status_code == 201, r.text
    created = r.json()
    assert created["name"] == "李医生" and created["doctor_id"] == doctor_id and created["active"] is True
    assert "password" not in created and "password_hash" not in created

    doctors = api.get(f"{V1}/staff/admin/staff", params={"role": "doctor"}, headers=admin["headers"]).json()
    assert created["id"] in [d["id"] for d in doctors] and {d["role"] for d in doctors} == {"doctor"}

    r = api.patch(f"{V1}/staff/admin/staff/{created['id']}", json={"name": "李大夫"}, headers=admin["headers"])
    assert r.status_code == 200 and r.json()["name"] == "李大夫"
    r = login(api, username, "abcdef12345")
    assert r.status_code == 200 and r.json()["staff"]["doctor_id"] == doctor_id


@pytest.mark.parametrize(("change", "field"), [
    ({"username": "Upper"}, "username"),
    ({"username": "ab"}, "username"),
    ({"username": "1abc"}, "username"),
    ({"username": "abc\n"}, "username"),
    ({"password": "short1"}, "password"),
    ({"password": "onlyletters"}, "password"),
    ({"password": "1234567890"}, "password"),
    ({"name": "   "}, "name"),
    ({"role": "nurse"}, "role"),
    ({"doctor_id": 1}, ""),
])
def test_bad_new_accounts_are_refused_before_any_write(api: httpx.Client, admin: dict, change: dict,
                                                        field: str) -> None:
    before = len(api.get(f"{V1}/staff/admin/staff", headers=admin["headers"]).json())
    body = {"username": uname(), "name": "某人", "role": "clerk", "password": PASSWORD} | change
    r = api.post(f"{V1}/staff/admin/staff", json=body, headers=admin["headers"])
    assert r.status_code == 422, r.text
    assert r.json()["code"] == "validation_error"
    assert r.json()["details"][0]["field"] == field
    assert len(api.get(f"{V1}/staff/admin/staff", headers=admin["headers"]).json()) == before


def test_doctor_accounts_need_an_existing_unlinked_doctor(api: httpx.Client, admin: dict, sdb: Database) -> None:
    def create(**extra: object) -> httpx.Response:
        body = {"username": uname("doc"), "name": "某医生", "role": "doctor", "password": PASSWORD} | extra
        return api.post(f"{V1}/staff/admin/staff", json=body, headers=admin["headers"])

    r = create()
    assert r.status_code == 422 and r.json()["message"].endswith("医生账号必须选择对应的医生")
    r = create(doctor_id=2**52)
    assert r.status_code == 422 and r.json()["code"] == "doctor_not_found"
    doctor_id = make_doctor(sdb)
    assert create(doctor_id=doctor_id).status_code == 201
    r = create(doctor_id=doctor_id)
    assert r.status_code == 409 and r.json()["code"] == "doctor_already_linked"


def test_usernames_are_unique(api: httpx.Client, admin: dict) -> None:
    clerk = new_clerk(api, admin)
    r = api.post(f"{V1}/staff/admin/staff", headers=admin["headers"],
                 json={"username": clerk["username"], "name": "另一人", "role": "pharmacist", "password": PASSWORD})
    assert r.status_code == 409 and r.json()["code"] == "username_taken"


def test_unknown_staff_id_is_not_found(api: httpx.Client, admin: dict) -> None:
    for staff_id in (2**52, 2**53):
        r = api.patch(f"{V1}/staff/admin/staff/{staff_id}", json={"name": "某"}, headers=admin["headers"])
        assert r.status_code == 404 and r.json()["code"] == "not_found"
    for bad in ("0", str(2**53 + 1), str(2**70), "x"):
        r = api.patch(f"{V1}/staff/admin/staff/{bad}", json={"name": "某"}, headers=admin["headers"])
        assert r.status_code == 422, bad


def test_password_reset_ends_sessions_and_lifts_a_lock(api: httpx.Client, admin: dict) -> None:
    clerk = new_clerk(api, admin)
    headers = login_headers(api, clerk)
    for i in range(5):
        login(api, clerk["username"], f"Wrong-pass-{i}")
    assert login(api, clerk["username"]).status_code == 423

    r = api.patch(f"{V1}/staff/admin/staff/{clerk['id']}", json={"password": "Fresh-pass-77"},
                  headers=admin["headers"])
    assert r.status_code == 200 and r.json()["locked_until"] is None
    assert api.get(f"{V1}/staff/me", headers=headers).status_code == 401
    assert login(api, clerk["username"]).status_code == 401
    assert login(api, clerk["username"], "Fresh-pass-77").status_code == 200
    r = api.patch(f"{V1}/staff/admin/staff/{clerk['id']}", json={"password": "weakpassword"},
                  headers=admin["headers"])
    assert r.status_code == 422


def test_an_admin_cannot_deactivate_themself(api: httpx.Client, admin: dict) -> None:
    r = api.patch(f"{V1}/staff/admin/staff/{admin['id']}", json={"active": False}, headers=admin["headers"])
    assert r.status_code == 409 and r.json()["code"] == "cannot_deactivate_self"
    assert api.get(f"{V1}/staff/me", headers=admin["headers"]).status_code == 200


def test_service_refuses_what_the_schema_would(sdb: Database) -> None:
    """demo-data calls the service directly; the same rules hold there."""
    from server.errors import AppError

    for kwargs, code in (({"username": "Bad"}, "invalid_username"), ({"password": "short"}, "weak_password"),
                         ({"role": "doctor"}, "doctor_required"), ({"role": "nurse"}, "invalid_role")):
        args = {"username": uname(), "name": "某", "role": "clerk", "password": PASSWORD} | kwargs
        with pytest.raises(AppError) as err, sdb.transaction() as s:
            create_staff(s, actor=SYSTEM, **args)
        assert err.value.code == code
