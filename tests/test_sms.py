"""SMS codes through the live server: body, throttles, expiry, single use, wrong tries, storage, outbox."""
from __future__ import annotations

import base64
import hashlib
import random
import re
import secrets
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine, text

from tests.conftest import LiveServer, start_server, stop_server
from tests.helpers import auth, last_sms_code, new_mobile, register_account

CODES = "/api/v1/sms/codes"
CODE_BODY = re.compile(r"^【北京大学人民医院互联网医院】您的验证码为(\d{6})，5分钟内有效。请勿泄露。$")


@pytest.fixture()
def api(live_server: LiveServer) -> Iterator[httpx.Client]:
    """A client with its own address (as seen through the loopback proxy header), so the per-address hourly cap
    of the shared server is not spent by this module's many code requests."""
    ip = f"10.{random.randint(0, 255)}.{random.randint(0, 255)}.{random.randint(1, 254)}"
    with live_server.client(headers={"X-Forwarded-For": ip}) as client:
        yield client


def outbox(api: httpx.Client, mobile: str, limit: int = 20) -> list[dict]:
    r = api.get("/api/v1/dev/sms", params={"mobile": mobile, "limit": limit})
    assert r.status_code == 200, r.text
    return r.json()


def ask(api: httpx.Client, mobile: str, purpose: str = "register") -> httpx.Response:
    return api.post(CODES, json={"mobile": mobile, "purpose": purpose})


def backdate_codes(engine: Engine, mobile: str, seconds: int) -> None:
    """Move the number's codes into the past, as if ``seconds`` had gone by."""
    with engine.begin() as c:
        if engine.dialect.name == "sqlite":
            c.execute(text("UPDATE sms_codes SET created_at = datetime(created_at, :d), "
                           "expires_at = datetime(expires_at, :d) WHERE mobile = :m"),
                      {"d": f"-{seconds} seconds", "m": mobile})
        else:
            c.execute(text("UPDATE sms_codes SET created_at = created_at - make_interval(secs => :s), "
                           "expires_at = expires_at - make_interval(secs => :s) WHERE mobile = :m"),
                      {"s": seconds, "m": mobile})


def register(api: httpx.Client, mobile: str, code: str) -> httpx.Response:
    return api.post("/api/v1/auth/register", json={"mobile": mobile, "code": code, "password": "abc12345",
                                                   "password_confirm": "abc12345", "name": "李四"})


def test_code_sms_is_chinese_with_six_digits(api: httpx.Client) -> None:
    m = new_mobile()
    r = ask(api, m)
    assert r.status_code == 202, r.text
    assert r.json() == {"expires_in_s": 300, "resend_after_s": 60}
    [msg] = outbox(api, m)
    assert msg["kind"] == "code" and msg["mobile"] == m
    assert CODE_BODY.match(msg["body"]), msg["body"]
    assert msg["created_at"].endswith("+08:00")


def test_code_is_stored_only_as_keyed_digest(api: httpx.Client, db_engine: Engine) -> None:
    m = new_mobile()
    assert ask(api, m).status_code == 202
    code = last_sms_code(api, m)
    with db_engine.connect() as c:
        rows = c.execute(text("SELECT * FROM sms_codes WHERE mobile = :m"), {"m": m}).mappings().all()
    assert len(rows) == 1
    stored = " ".join(str(v) for v in rows[0].values())
    assert code not in stored
    assert hashlib.sha256(code.encode()).hexdigest() not in stored
    assert hashlib.sha256(f"{m}{code}".encode()).hexdigest() not in stored


def test_resend_within_interval_refused_then_allowed(api: httpx.Client, db_engine: Engine) -> None:
    m = new_mobile()
    assert ask(api, m).status_code == 202
    r = ask(api, m)
    assert r.status_code == 429
    body = r.json()
    assert body["code"] == "sms_too_frequent"
    assert 1 <= body["details"]["retry_after_s"] <= 60
    assert f"{body['details']['retry_after_s']}秒" in body["message"]
    assert len(outbox(api, m)) == 1  # the refused request sent nothing
    # another purpose is its own stream; a login code needs a registered number, so it is refused differently
    assert ask(api, m, "login").json()["code"] == "mobile_not_registered"
    backdate_codes(db_engine, m, 61)
    assert ask(api, m).status_code == 202
    assert len(outbox(api, m)) == 2


def test_newer_code_voids_older_one(api: httpx.Client, db_engine: Engine) -> None:
    m = new_mobile()
    assert ask(api, m).status_code == 202
    old = last_sms_code(api, m)
    backdate_codes(db_engine, m, 61)
    assert ask(api, m).status_code == 202
    new = last_sms_code(api, m)
    if new == old:  # one chance in a million: the test would prove nothing
        pytest.skip("the two random codes happen to be equal")
    r = register(api, m, old)
    assert r.status_code == 400 and r.json()["code"] == "code_invalid", r.text
    assert register(api, m, new).status_code == 201


def test_expired_code_refused(api: httpx.Client, db_engine: Engine) -> None:
    m = new_mobile()
    assert ask(api, m).status_code == 202
    code = last_sms_code(api, m)
    with db_engine.begin() as c:
        c.execute(text("UPDATE sms_codes SET expires_at = created_at WHERE mobile = :m"), {"m": m})
    r = register(api, m, code)
    assert r.status_code == 400
    assert r.json()["code"] == "code_expired"
    assert "过期" in r.json()["message"]
    with db_engine.connect() as c:
        assert c.execute(text("SELECT count(*) FROM accounts WHERE mobile = :m"), {"m": m}).scalar() == 0


def test_code_is_single_use(api: httpx.Client) -> None:
    acc = register_account(api)
    assert ask(api, acc["mobile"], "login").status_code == 202
    code = last_sms_code(api, acc["mobile"])
    r = api.post("/api/v1/auth/login/sms", json={"mobile": acc["mobile"], "code": code})
    assert r.status_code == 200, r.text
    r = api.post("/api/v1/auth/login/sms", json={"mobile": acc["mobile"], "code": code})
    assert r.status_code == 400
    assert r.json()["code"] == "code_invalid"


def test_code_bound_to_purpose(api: httpx.Client) -> None:
    acc = register_account(api)
    r = api.post("/api/v1/me/sms/codes", json={"purpose": "change_password"}, headers=acc["headers"])
    assert r.status_code == 202, r.text
    code = last_sms_code(api, acc["mobile"])
    r = api.post("/api/v1/auth/login/sms", json={"mobile": acc["mobile"], "code": code})
    assert r.status_code == 400 and r.json()["code"] == "code_invalid"
    r = api.post("/api/v1/me/password/verify", json={"code": code}, headers=acc["headers"])
    assert r.status_code == 200, r.text


def test_five_wrong_tries_void_the_code(api: httpx.Client, db_engine: Engine) -> None:
    m = new_mobile()
    assert ask(api, m).status_code == 202
    code = last_sms_code(api, m)
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    for left in (4, 3, 2, 1):
        r = register(api, m, wrong)
        assert r.status_code == 400, r.text
        assert r.json()["code"] == "code_invalid"
        assert r.json()["details"]["remaining_attempts"] == left
        assert f"还可尝试{left}次" in r.json()["message"]
    r = register(api, m, wrong)
    assert r.json()["code"] == "code_voided"
    # even the right code no longer works: the tries were counted although every request failed
    r = register(api, m, code)
    assert r.status_code == 400 and r.json()["code"] == "code_voided"
    with db_engine.connect() as c:
        row = c.execute(text("SELECT attempts, void_reason, used_at FROM sms_codes WHERE mobile = :m"),
                        {"m": m}).one()
        assert (row.attempts, row.void_reason, row.used_at) == (5, "attempts", None)
        assert c.execute(text("SELECT count(*) FROM accounts WHERE mobile = :m"), {"m": m}).scalar() == 0


def test_wrong_try_counts_without_breaking_a_later_right_one(api: httpx.Client) -> None:
    m = new_mobile()
    assert ask(api, m).status_code == 202
    code = last_sms_code(api, m)
    wrong = f"{(int(code) + 7) % 1_000_000:06d}"
    assert register(api, m, wrong).json()["code"] == "code_invalid"
    assert register(api, m, code).status_code == 201


def test_no_code_requested(api: httpx.Client) -> None:
    r = register(api, new_mobile(), "123456")
    assert r.status_code == 400 and r.json()["code"] == "code_invalid"


@pytest.mark.parametrize("mobile", ["12345678901", "1380013800", "138001380001", "23800138000", "1380013800a",
                                    "13800138000\n", "１３８００１３８０００"])
def test_bad_mobile_refused_in_chinese(api: httpx.Client, mobile: str) -> None:
    r = ask(api, mobile)
    assert r.status_code == 422
    assert r.json()["code"] == "validation_error"
    assert "手机号" in r.json()["message"]


def test_account_codes_go_to_registered_number(api: httpx.Client) -> None:
    acc = register_account(api)
    r = api.post("/api/v1/me/sms/codes", json={"purpose": "add_patient", "mobile": new_mobile()},
                 headers=acc["headers"])
    assert r.status_code == 422 and r.json()["code"] == "mobile_mismatch"
    r = api.post("/api/v1/me/sms/codes", json={"purpose": "add_patient", "mobile": acc["mobile"]},
                 headers=acc["headers"])
    assert r.status_code == 202, r.text
    assert CODE_BODY.match(outbox(api, acc["mobile"])[0]["body"])
    r = api.post("/api/v1/me/sms/codes", json={"purpose": "register"}, headers=acc["headers"])
    assert r.status_code == 422
    r = api.post("/api/v1/me/sms/codes", json={"purpose": "add_patient"})
    assert r.status_code == 401


def test_dev_outbox_newest_first_and_limited(api: httpx.Client, db_engine: Engine) -> None:
    m = new_mobile()
    for _ in range(3):
        assert ask(api, m).status_code == 202
        backdate_codes(db_engine, m, 61)
    msgs = outbox(api, m, limit=2)
    assert len(msgs) == 2
    assert msgs[0]["id"] > msgs[1]["id"]
    assert len(outbox(api, m)) == 3
    assert api.get("/api/v1/dev/sms", params={"limit": 0}).status_code == 422


def test_outbox_cli_prints_a_table(api: httpx.Client, live_server: LiveServer) -> None:
    m = new_mobile()
    assert ask(api, m).status_code == 202
    code = last_sms_code(api, m)
    out = live_server.cli("sms-outbox", "--mobile", m).stdout
    lines = out.splitlines()
    assert lines[0].split() == ["id", "time", "mobile", "kind", "status", "message"]
    assert len(lines) == 2
    assert m in lines[1] and "code" in lines[1] and "sent" in lines[1]
    assert f"【北京大学人民医院互联网医院】您的验证码为{code}，5分钟内有效。请勿泄露。" in lines[1]
    out = live_server.cli("sms-outbox", "--mobile", new_mobile()).stdout
    assert out.startswith("no messages")


@pytest.fixture(scope="module")
def capped_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """A server of its own with tiny hourly caps and no resend interval, so the caps are reached quickly."""
    server = start_server(tmp_path_factory.mktemp("capped"), extra_env={
        "CLINIC_SMS_HOURLY_CAP_PER_MOBILE": "2", "CLINIC_SMS_HOURLY_CAP_PER_CLIENT": "3",
        "CLINIC_SMS_RESEND_INTERVAL_S": "0", "CLINIC_SMS_CODE_TTL_S": "120"})
    yield server
    stop_server(server)


def test_hourly_caps_per_number_and_per_client(capped_server: LiveServer, tmp_path: Path) -> None:
    with capped_server.client() as c:
        m1, m2, m3 = new_mobile(), new_mobile(), new_mobile()
        r = ask(c, m1)
        assert r.status_code == 202 and r.json() == {"expires_in_s": 120, "resend_after_s": 0}
        assert "2分钟内有效" in c.get("/api/v1/dev/sms", params={"mobile": m1}).json()[0]["body"]
        assert ask(c, m1).status_code == 202
        r = ask(c, m1)
        assert r.status_code == 429
        assert r.json()["code"] == "sms_hourly_cap" and r.json()["details"]["scope"] == "mobile"
        assert "该手机号" in r.json()["message"]
        assert ask(c, m2).status_code == 202  # the client's third code
        r = ask(c, m3)
        assert r.status_code == 429
        assert r.json()["code"] == "sms_hourly_cap" and r.json()["details"]["scope"] == "client"
        assert 3000 < r.json()["details"]["retry_after_s"] <= 3600
        assert c.get("/api/v1/dev/sms", params={"mobile": m3}).json() == []
    # another address is not held back by this one's cap
    with capped_server.client(headers={"X-Forwarded-For": "10.9.8.7"}) as other:
        assert ask(other, m3).status_code == 202


def test_register_helper_token_works(api: httpx.Client) -> None:
    acc = register_account(api)
    assert api.get("/api/v1/me", headers=auth(acc["token"])).json()["mobile"] == acc["mobile"]


def test_dev_outbox_absent_in_production(tmp_path: Path) -> None:
    key = base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()
    server = start_server(tmp_path, extra_env={"CLINIC_ENVIRONMENT": "production", "CLINIC_ENCRYPTION_KEY": key})
    try:
        with server.client() as c:
            assert c.get("/api/v1/dev/sms").status_code == 404
            assert "/api/v1/dev/sms" not in c.get("/openapi.json").json()["paths"]
            m = new_mobile()
            assert ask(c, m).status_code == 202  # codes are sent in production; only the reading route is gone
        assert m in server.cli("sms-outbox", "--mobile", m).stdout
    finally:
        stop_server(server)
