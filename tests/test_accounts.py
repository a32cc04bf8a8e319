"""Account holders through the live server: register, log in, sessions, mobile and password change, feedback."""
from __future__ import annotations

import io
import json
import random
import threading
from collections.abc import Iterator

import httpx
import pytest
from sqlalchemy import Engine, text

from tests.conftest import LiveServer
from tests.helpers import auth, last_sms_code, new_mobile, register_account

V1 = "/api/v1"


@pytest.fixture()
def api(live_server: LiveServer) -> Iterator[httpx.Client]:
    """A client with its own address (through the loopback proxy header): see tests/test_sms.py."""
    ip = f"10.{random.randint(0, 255)}.{random.randint(0, 255)}.{random.randint(1, 254)}"
    with live_server.client(headers={"X-Forwarded-For": ip}) as client:
        yield client


def send_code(api: httpx.Client, mobile: str, purpose: str) -> str:
    r = api.post(f"{V1}/sms/codes", json={"mobile": mobile, "purpose": purpose})
    assert r.status_code == 202, r.text
    return last_sms_code(api, mobile)


def my_code(api: httpx.Client, acc: dict, purpose: str, mobile: str | None = None) -> str:
    body = {"purpose": purpose} | ({"mobile": mobile} if mobile else {})
    r = api.post(f"{V1}/me/sms/codes", json=body, headers=acc["headers"])
    assert r.status_code == 202, r.text
    return last_sms_code(api, mobile or acc["mobile"])


def login_pw(api: httpx.Client, mobile: str, password: str) -> httpx.Response:
    return api.post(f"{V1}/auth/login/password", json={"mobile": mobile, "password": password})


def rows(engine: Engine, sql: str, **params: object) -> list:
    with engine.connect() as c:
        return list(c.execute(text(sql), params).mappings())


def details(row: dict) -> dict:
    d = row["details"]
    return d if isinstance(d, dict) else json.loads(d)


# --- registration ---------------------------------------------------------------------------------------------


def test_register_returns_token_and_account(api: httpx.Client, db_engine: Engine) -> None:
    m = new_mobile()
    code = send_code(api, m, "register")
    r = api.post(f"{V1}/auth/register", json={"mobile": m, "code": code, "password": "Abc123",
                                              "password_confirm": "Abc123", "name": "  王小明 "})
    assert r.status_code == 201, r.text
    body = r.json()
    assert set(body["account"]) == {"id", "mobile", "name", "created_at"}
    assert body["account"]["mobile"] == m and body["account"]["name"] == "王小明"
    assert body["account"]["created_at"].endswith("+08:00")
    me = api.get(f"{V1}/me", headers=auth(body["token"]))
    assert me.status_code == 200 and me.json() == body["account"]
    [acc_row] = rows(db_engine, "SELECT password_hash FROM accounts WHERE mobile = :m", m=m)
    assert acc_row["password_hash"].startswith("$argon2id$")
    [tok] = rows(db_engine, "SELECT token_hash FROM account_sessions WHERE account_id = :a",
                 a=body["account"]["id"])
    assert body["token"] not in tok["token_hash"]
    events = rows(db_engine, "SELECT topic FROM events WHERE kind = 'account.registered' AND object_id = :a",
                  a=body["account"]["id"])
    assert [e["topic"] for e in events] == ["admin"]


def test_registered_number_told_to_log_in(api: httpx.Client) -> None:
    acc = register_account(api)
    r = api.post(f"{V1}/sms/codes", json={"mobile": acc["mobile"], "purpose": "register"})
    assert r.status_code == 409
    assert r.json() == {"code": "mobile_registered", "message": "手机号已注册请直接登录", "details": None}
    r = api.post(f"{V1}/auth/register", json={"mobile": acc["mobile"], "code": "123456", "password": "abc12345",
                                              "password_confirm": "abc12345", "name": "张三"})
    assert r.status_code == 409
    assert r.json()["message"] == "手机号已注册请直接登录"


@pytest.mark.parametrize(("field", "value", "fragment"), [
    ("password", "abc12", "6-18位"),
    ("password", "abc1234567890123456", "6-18位"),
    ("password", "abc 12345", "6-18位"),
    ("password", "密码abc123", "6-18位"),
    ("name", "   ", "姓名"),
    ("name", "张" * 33, "姓名"),
    ("name", "张\x00三", "字符"),
    ("code", "12345", "验证码"),
    ("mobile", "10012345678", "手机号"),
])
def test_register_bad_input_refused_before_anything(api: httpx.Client, db_engine: Engine, field: str, value: str,
                                                    fragment: str) -> None:
    m = new_mobile()
    code = send_code(api, m, "register")
    good = {"mobile": m, "code": code, "password": "abc12345", "password_confirm": "abc12345", "name": "张三"}
    bad = good | {field: value} | ({"password_confirm": value} if field == "password" else {})
    r = api.post(f"{V1}/auth/register", json=bad)
    assert r.status_code == 422, r.text
    assert fragment in r.json()["message"]
    # nothing was spent: the same code still registers
    r = api.post(f"{V1}/auth/register", json=good)
    assert r.status_code == 201, r.text
    [row] = rows(db_engine, "SELECT attempts FROM sms_codes WHERE mobile = :m", m=m)
    assert row["attempts"] == 0


def test_password_mismatch(api: httpx.Client) -> None:
    m = new_mobile()
    code = send_code(api, m, "register")
    r = api.post(f"{V1}/auth/register", json={"mobile": m, "code": code, "password": "abc12345",
                                              "password_confirm": "abc12346", "name": "张三"})
    assert r.status_code == 422
    assert r.json()["code"] == "password_mismatch"
    assert r.json()["message"] == "两次输入的密码不一致"
    r = api.post(f"{V1}/auth/register", json={"mobile": m, "code": code, "password": "abc12345",
                                              "password_confirm": "abc12345", "name": "张三"})
    assert r.status_code == 201


def test_concurrent_registrations_make_one_account(api: httpx.Client, live_server: LiveServer,
                                                   db_engine) -> None:
    m = new_mobile()
    code = send_code(api, m, "register")
    results: list[httpx.Response] = []
    barrier = threading.Barrier(6)

    def go(i: int) -> None:
        with live_server.client() as c:
            barrier.wait()
            results.append(c.post(f"{V1}/auth/register", json={
                "mobile": m, "code": code, "password": f"abc1234{i}", "password_confirm": f"abc1234{i}",
                "name": f"用户{i}"}))

    threads = [threading.Thread(target=go, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    statuses = sorted(r.status_code for r in results)
    assert statuses == [201, 409, 409, 409, 409, 409], [r.text for r in results]
    assert all(r.json()["code"] == "mobile_registered" for r in results if r.status_code == 409)
    assert rows(db_engine, "SELECT count(*) AS n FROM accounts WHERE mobile = :m", m=m)[0]["n"] == 1


# --- login -----------------------------------------------------------------------------------------------------


def test_login_by_password_and_by_code(api: httpx.Client, db_engine: Engine) -> None:
    acc = register_account(api, password="Pass1234")
    r = login_pw(api, acc["mobile"], "Pass1234")
    assert r.status_code == 200, r.text
    assert r.json()["account"]["id"] == acc["account"]["id"]
    assert api.get(f"{V1}/me", headers=auth(r.json()["token"])).status_code == 200
    code = send_code(api, acc["mobile"], "login")
    r = api.post(f"{V1}/auth/login/sms", json={"mobile": acc["mobile"], "code": code})
    assert r.status_code == 200, r.text
    assert api.get(f"{V1}/me", headers=auth(r.json()["token"])).json()["mobile"] == acc["mobile"]
    logins = [details(a) for a in rows(db_engine, "SELECT details FROM audit_log WHERE action = 'account.login' "
                                                  "AND result = 'ok' AND object_id = :a",
                                       a=acc["account"]["id"])]
    assert sorted(d["method"] for d in logins) == ["password", "sms"]


def test_wrong_password_and_unknown_number_answer_alike(api: httpx.Client, db_engine: Engine) -> None:
    acc = register_account(api)
    wrong = login_pw(api, acc["mobile"], "nope12345")
    unknown_mobile = new_mobile()
    unknown = login_pw(api, unknown_mobile, "nope12345")
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json() == unknown.json() == {"code": "bad_credentials", "message": "手机号或密码错误",
                                              "details": None}
    refused = [details(a) for a in rows(db_engine, "SELECT details FROM audit_log "
                                                   "WHERE action = 'account.login' AND result = 'refused'")]
    assert {"method": "password", "mobile": unknown_mobile, "reason": "bad_credentials"} in refused
    assert {"method": "password", "mobile": acc["mobile"], "reason": "bad_credentials"} in refused


def test_password_guessing_is_throttled(api: httpx.Client) -> None:
    acc = register_account(api, password="Right123")
    for _ in range(10):
        assert login_pw(api, acc["mobile"], "Wrong123").status_code == 401
    r = login_pw(api, acc["mobile"], "Right123")
    assert r.status_code == 429
    assert r.json()["code"] == "too_many_failures"
    assert "验证码登录" in r.json()["message"]
    # the number's holder can still get in with an SMS code
    code = send_code(api, acc["mobile"], "login")
    assert api.post(f"{V1}/auth/login/sms", json={"mobile": acc["mobile"], "code": code}).status_code == 200


def test_sms_login_refusals(api: httpx.Client, db_engine: Engine) -> None:
    m = new_mobile()
    r = api.post(f"{V1}/sms/codes", json={"mobile": m, "purpose": "login"})
    assert r.status_code == 404 and r.json()["code"] == "mobile_not_registered"
    acc = register_account(api)
    code = send_code(api, acc["mobile"], "login")
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    r = api.post(f"{V1}/auth/login/sms", json={"mobile": acc["mobile"], "code": wrong})
    assert r.status_code == 400 and r.json()["code"] == "code_invalid"
    refused = [details(a) for a in rows(db_engine, "SELECT details FROM audit_log "
                                                   "WHERE action = 'account.login' AND result = 'refused'")]
    assert {"method": "sms", "mobile": acc["mobile"], "reason": "code_invalid"} in refused
    r = api.post(f"{V1}/auth/login/sms", json={"mobile": acc["mobile"], "code": code})
    assert r.status_code == 200


# --- sessions --------------------------------------------------------------------------------------------------


def test_logout_revokes_only_this_session(api: httpx.Client, db_engine: Engine) -> None:
    acc = register_account(api)
    other = login_pw(api, acc["mobile"], acc["password"]).json()["token"]
    r = api.post(f"{V1}/auth/logout", headers=acc["headers"])
    assert r.status_code == 204
    r = api.get(f"{V1}/me", headers=acc["headers"])
    assert r.status_code == 401 and r.json()["code"] == "session_expired"
    assert api.post(f"{V1}/auth/logout", headers=acc["headers"]).status_code == 401
    assert api.get(f"{V1}/me", headers=auth(other)).status_code == 200
    assert rows(db_engine, "SELECT topic FROM events WHERE kind = 'account.logged_out' AND object_id = :a",
                a=acc["account"]["id"])[0]["topic"] == "admin"


def test_unknown_token_and_expired_session(api: httpx.Client, db_engine: Engine) -> None:
    assert api.get(f"{V1}/me", headers=auth("x" * 43)).status_code == 401
    assert api.get(f"{V1}/me").status_code == 401
    acc = register_account(api)
    with db_engine.begin() as c:
        c.execute(text("UPDATE account_sessions SET expires_at = created_at WHERE account_id = :a"),
                  {"a": acc["account"]["id"]})
    r = api.get(f"{V1}/me", headers=acc["headers"])
    assert r.status_code == 401 and r.json()["code"] == "session_expired"


# --- password change -------------------------------------------------------------------------------------------


def test_password_change_revokes_other_sessions(api: httpx.Client, db_engine: Engine) -> None:
    acc = register_account(api, password="Old12345")
    other = login_pw(api, acc["mobile"], "Old12345").json()["token"]
    code = my_code(api, acc, "change_password")
    r = api.post(f"{V1}/me/password/verify", json={"code": code}, headers=acc["headers"])
    assert r.status_code == 200, r.text
    ticket = r.json()["ticket"]
    assert r.json()["expires_in_s"] == 600
    r = api.post(f"{V1}/me/password", json={"ticket": ticket, "password": "New12345",
                                            "password_confirm": "New1234"}, headers=acc["headers"])
    assert r.status_code == 422 and r.json()["code"] == "password_mismatch"
    r = api.post(f"{V1}/me/password", json={"ticket": ticket, "password": "New12345",
                                            "password_confirm": "New12345"}, headers=acc["headers"])
    assert r.status_code == 204, r.text
    assert api.get(f"{V1}/me", headers=auth(other)).status_code == 401
    assert api.get(f"{V1}/me", headers=acc["headers"]).status_code == 200
    assert login_pw(api, acc["mobile"], "Old12345").status_code == 401
    assert login_pw(api, acc["mobile"], "New12345").status_code == 200
    # the ticket was spent
    r = api.post(f"{V1}/me/password", json={"ticket": ticket, "password": "Again123",
                                            "password_confirm": "Again123"}, headers=acc["headers"])
    assert r.status_code == 400 and r.json()["code"] == "ticket_invalid"
    assert rows(db_engine, "SELECT topic FROM events WHERE kind = 'account.password_changed' AND object_id = :a",
                a=acc["account"]["id"])[0]["topic"] == "admin"


def test_password_ticket_needs_right_code_and_owner(api: httpx.Client, db_engine: Engine) -> None:
    a, b = register_account(api), register_account(api)
    code = my_code(api, a, "change_password")
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    r = api.post(f"{V1}/me/password/verify", json={"code": wrong}, headers=a["headers"])
    assert r.status_code == 400 and r.json()["code"] == "code_invalid"
    # B cannot spend A's code: codes are bound to the number they were sent to
    r = api.post(f"{V1}/me/password/verify", json={"code": code}, headers=b["headers"])
    assert r.status_code == 400 and r.json()["code"] == "code_invalid"
    ticket = api.post(f"{V1}/me/password/verify", json={"code": code}, headers=a["headers"]).json()["ticket"]
    body = {"ticket": ticket, "password": "Steal123", "password_confirm": "Steal123"}
    foreign = api.post(f"{V1}/me/password", json=body, headers=b["headers"])
    absent = api.post(f"{V1}/me/password", json=body | {"ticket": "no-such-ticket"}, headers=b["headers"])
    assert foreign.status_code == absent.status_code == 400
    assert foreign.json() == absent.json()
    with db_engine.begin() as c:
        c.execute(text("UPDATE account_tickets SET expires_at = created_at WHERE account_id = :a"),
                  {"a": a["account"]["id"]})
    r = api.post(f"{V1}/me/password", json=body, headers=a["headers"])
    assert r.status_code == 400 and r.json()["code"] == "ticket_invalid"


# --- mobile change ---------------------------------------------------------------------------------------------


def test_mobile_change_end_to_end(api: httpx.Client, db_engine: Engine) -> None:
    acc = register_account(api, password="Pass1234")
    old = acc["mobile"]
    other = login_pw(api, old, "Pass1234").json()["token"]
    new = new_mobile()
    taken = register_account(api)["mobile"]
    # the new number gets a code only after the current one has been checked
    r = api.post(f"{V1}/me/sms/codes", json={"purpose": "change_mobile_new", "mobile": new},
                 headers=acc["headers"])
    assert r.status_code == 409 and r.json()["code"] == "verification_required"

    code = my_code(api, acc, "change_mobile_old")
    r = api.post(f"{V1}/me/mobile/verify", json={"code": code}, headers=acc["headers"])
    assert r.status_code == 200, r.text
    ticket = r.json()["ticket"]

    r = api.post(f"{V1}/me/sms/codes", json={"purpose": "change_mobile_new", "mobile": taken},
                 headers=acc["headers"])
    assert r.status_code == 409 and r.json()["code"] == "mobile_registered"
    r = api.post(f"{V1}/me/sms/codes", json={"purpose": "change_mobile_new", "mobile": old},
                 headers=acc["headers"])
    assert r.status_code == 422 and r.json()["code"] == "mobile_unchanged"
    r = api.post(f"{V1}/me/sms/codes", json={"purpose": "change_mobile_new"}, headers=acc["headers"])
    assert r.status_code == 422 and r.json()["code"] == "mobile_required"

    new_code = my_code(api, acc, "change_mobile_new", mobile=new)
    wrong = f"{(int(new_code) + 1) % 1_000_000:06d}"
    r = api.post(f"{V1}/me/mobile", json={"ticket": ticket, "new_mobile": new, "code": wrong},
                 headers=acc["headers"])
    assert r.status_code == 400 and r.json()["code"] == "code_invalid"
    r = api.post(f"{V1}/me/mobile", json={"ticket": ticket, "new_mobile": new, "code": new_code},
                 headers=acc["headers"])
    assert r.status_code == 200, r.text
    assert r.json()["mobile"] == new and r.json()["id"] == acc["account"]["id"]

    assert api.get(f"{V1}/me", headers=acc["headers"]).json()["mobile"] == new
    assert api.get(f"{V1}/me", headers=auth(other)).status_code == 401
    assert login_pw(api, new, "Pass1234").status_code == 200
    assert login_pw(api, old, "Pass1234").status_code == 401
    notice = api.get(f"{V1}/dev/sms", params={"mobile": old, "limit": 1}).json()[0]
    assert notice["kind"] == "notice" and new[-4:] in notice["body"] and new not in notice["body"]
    # the old number is no longer an account's
    r = api.post(f"{V1}/sms/codes", json={"mobile": old, "purpose": "login"})
    assert r.status_code == 404 and r.json()["code"] == "mobile_not_registered"
    # ticket spent
    r = api.post(f"{V1}/me/mobile", json={"ticket": ticket, "new_mobile": new_mobile(), "code": new_code},
                 headers=acc["headers"])
    assert r.status_code == 400 and r.json()["code"] == "ticket_invalid"
    ev = rows(db_engine, "SELECT topic, payload FROM events WHERE kind = 'account.mobile_changed' "
                         "AND object_id = :a", a=acc["account"]["id"])
    assert len(ev) == 1 and ev[0]["topic"] == "admin"
    assert new not in json.dumps(ev[0]["payload"] if isinstance(ev[0]["payload"], dict)
                                 else json.loads(ev[0]["payload"]))


def test_mobile_change_to_number_registered_meanwhile(api: httpx.Client) -> None:
    acc = register_account(api)
    new = new_mobile()
    ticket = api.post(f"{V1}/me/mobile/verify", json={"code": my_code(api, acc, "change_mobile_old")},
                      headers=acc["headers"]).json()["ticket"]
    new_code = my_code(api, acc, "change_mobile_new", mobile=new)
    register_account(api, mobile=new)
    r = api.post(f"{V1}/me/mobile", json={"ticket": ticket, "new_mobile": new, "code": new_code},
                 headers=acc["headers"])
    assert r.status_code == 409 and r.json()["code"] == "mobile_registered"
    assert api.get(f"{V1}/me", headers=acc["headers"]).json()["mobile"] == acc["mobile"]


def test_mobile_ticket_of_another_account_refused(api: httpx.Client) -> None:
    a, b = register_account(api), register_account(api)
    ticket = api.post(f"{V1}/me/mobile/verify", json={"code": my_code(api, a, "change_mobile_old")},
                      headers=a["headers"]).json()["ticket"]
    new = new_mobile()
    # B has no ticket of its own, so it cannot get a code for a new number either
    r = api.post(f"{V1}/me/sms/codes", json={"purpose": "change_mobile_new", "mobile": new},
                 headers=b["headers"])
    assert r.status_code == 409
    new_code = my_code(api, a, "change_mobile_new", mobile=new)
    foreign = api.post(f"{V1}/me/mobile", json={"ticket": ticket, "new_mobile": new, "code": new_code},
                       headers=b["headers"])
    absent = api.post(f"{V1}/me/mobile", json={"ticket": "x" * 43, "new_mobile": new, "code": new_code},
                      headers=b["headers"])
    assert foreign.status_code == absent.status_code == 400
    assert foreign.json() == absent.json()
    assert api.get(f"{V1}/me", headers=b["headers"]).json()["mobile"] == b["mobile"]


# --- feedback --------------------------------------------------------------------------------------------------


def _png() -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (4, 4), (200, 30, 30)).save(buf, format="PNG")
    return buf.getvalue()


def feedback_file(api: httpx.Client, db_engine: Engine, acc: dict, purpose: str = "feedback") -> int:
    """A picture uploaded by ``acc``: through ``POST /files`` when the files slice serves it, else the row the
    upload would write (so this module does not depend on the other slice being present)."""
    r = api.post(f"{V1}/files", files={"file": ("p.png", _png(), "image/png")}, data={"purpose": purpose},
                 headers=acc["headers"])
    if r.status_code == 201:
        return r.json()["id"]
    assert r.status_code in (404, 405), r.text
    with db_engine.begin() as c:
        name = f"test-{random.getrandbits(64):016x}"
        now_sql = "CURRENT_TIMESTAMP"
        return c.execute(text(
            "INSERT INTO files (account_id, purpose, content_type, size, sha256, storage_name, encrypted, "
            f"original_name, created_at) VALUES (:a, :p, 'image/png', 10, :h, :n, false, 'p.png', {now_sql}) "
            "RETURNING id"), {"a": acc["account"]["id"], "p": purpose, "h": "0" * 64, "n": name}).scalar_one()


def test_feedback_text_and_pictures(api: httpx.Client, db_engine: Engine) -> None:
    acc = register_account(api)
    r = api.post(f"{V1}/me/feedback", json={"text": "  候诊时视频没有声音。 "}, headers=acc["headers"])
    assert r.status_code == 201, r.text
    assert r.json()["text"] == "候诊时视频没有声音。" and r.json()["file_ids"] == []
    ids = [feedback_file(api, db_engine, acc) for _ in range(2)]
    r = api.post(f"{V1}/me/feedback", json={"file_ids": ids}, headers=acc["headers"])
    assert r.status_code == 201, r.text
    assert r.json()["file_ids"] == ids and r.json()["text"] == ""
    listed = api.get(f"{V1}/me/feedback", headers=acc["headers"]).json()
    assert [f["file_ids"] for f in listed] == [ids, []]
    assert rows(db_engine, "SELECT topic FROM events WHERE kind = 'feedback.created' AND account_id = :a",
                a=acc["account"]["id"])[0]["topic"] == "admin"


@pytest.mark.parametrize("body", [
    {},
    {"text": "   "},
    {"text": "x" * 501},
    {"text": "好", "file_ids": list(range(1, 11))},
    {"text": "好", "file_ids": [5, 5]},
    {"text": "好", "file_ids": [0]},
    {"text": "好", "file_ids": [2**60]},
    {"text": "a\x00b"},
])
def test_feedback_bad_input(api: httpx.Client, body: dict) -> None:
    acc = register_account(api)
    r = api.post(f"{V1}/me/feedback", json=body, headers=acc["headers"])
    assert r.status_code == 422, r.text
    assert api.get(f"{V1}/me/feedback", headers=acc["headers"]).json() == []


def test_feedback_with_foreign_or_absent_file_refused(api: httpx.Client, db_engine: Engine) -> None:
    a, b = register_account(api), register_account(api)
    mine = feedback_file(api, db_engine, a)
    theirs = feedback_file(api, db_engine, b)
    foreign = api.post(f"{V1}/me/feedback", json={"text": "看图", "file_ids": [mine, theirs]},
                       headers=a["headers"])
    absent = api.post(f"{V1}/me/feedback", json={"text": "看图", "file_ids": [mine, 2**53]},
                      headers=a["headers"])
    assert foreign.status_code == absent.status_code == 404
    assert foreign.json() == absent.json()
    assert foreign.json()["code"] == "file_not_found"
    photo = feedback_file(api, db_engine, a, purpose="id_photo")
    r = api.post(f"{V1}/me/feedback", json={"text": "看图", "file_ids": [photo]}, headers=a["headers"])
    assert r.status_code == 404 and r.json() == absent.json()
    assert api.get(f"{V1}/me/feedback", headers=a["headers"]).json() == []
    # B's own list does not show A's feedback
    assert api.post(f"{V1}/me/feedback", json={"text": "A的意见"}, headers=a["headers"]).status_code == 201
    assert api.get(f"{V1}/me/feedback", headers=b["headers"]).json() == []


def test_activity_keeps_a_session_alive_and_silence_ends_it(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Idle expiry (seed 2.1 sessions): each request refreshes the session's last use (off the request path, at
    most every quarter of the idle time), so a patient who keeps using the app stays signed in past the idle
    time, and one who stops is signed out once it has passed."""
    import time

    from tests.booking_helpers import db_account
    from tests.conftest import start_server, stop_server
    from tests.test_staff import server_database

    server = start_server(tmp_path_factory.mktemp("idle"), extra_env={"CLINIC_SESSION_IDLE_S": "4"})
    db = server_database(server)
    try:
        acc = db_account(db.engine)
        with server.client() as api:
            until = time.monotonic() + 7  # well past the 4 s idle time
            while time.monotonic() < until:
                r = api.get("/api/v1/appointments", headers=acc["headers"])
                assert r.status_code == 200, r.text
                time.sleep(0.4)
            time.sleep(5.5)  # silence longer than the idle time
            r = api.get("/api/v1/appointments", headers=acc["headers"])
            assert (r.status_code, r.json()["code"]) == (401, "session_expired"), r.text
    finally:
        db.dispose()
        stop_server(server)
