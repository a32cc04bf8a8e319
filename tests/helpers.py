"""Small factories over the public API, shared by the test modules.

They go through HTTP only, like the mini-program and the workstation would.
"""
from __future__ import annotations

import random
import re

import httpx

DEMO_STAFF_PASSWORD = "Demo-pass-2026"

_used_mobiles: set[str] = set()


def new_mobile() -> str:
    while True:
        m = "1" + random.choice("3456789") + "".join(random.choice("0123456789") for _ in range(9))
        if m not in _used_mobiles:
            _used_mobiles.add(m)
            return m


def last_sms_code(api: httpx.Client, mobile: str) -> str:
    """The newest 6-digit code sent to ``mobile``, read from the development SMS outbox."""
    r = api.get("/api/v1/dev/sms", params={"mobile": mobile, "limit": 5})
    r.raise_for_status()
    for msg in r.json():
        m = re.search(r"(?<!\d)(\d{6})(?!\d)", msg["body"])
        if m:
            return m.group(1)
    raise AssertionError(f"no code sent to {mobile}: {r.json()}")


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def register_account(api: httpx.Client, *, mobile: str | None = None, password: str = "abc12345",
                     name: str = "张三") -> dict:
    """Register a new account; returns {"mobile", "password", "token", "headers", "account"}."""
    mobile = mobile or new_mobile()
    r = api.post("/api/v1/sms/codes", json={"mobile": mobile, "purpose": "register"})
    assert r.status_code in (200, 201, 202), r.text
    code = last_sms_code(api, mobile)
    r = api.post("/api/v1/auth/register", json={"mobile": mobile, "code": code, "password": password,
                                                 "password_confirm": password, "name": name})
    assert r.status_code == 201, r.text
    body = r.json()
    return {"mobile": mobile, "password": password, "token": body["token"], "headers": auth(body["token"]),
            "account": body["account"]}


def staff_login(api: httpx.Client, username: str, password: str = DEMO_STAFF_PASSWORD) -> dict[str, str]:
    r = api.post("/api/v1/staff/auth/login", json={"username": username, "password": password})
    assert r.status_code == 200, r.text
    return auth(r.json()["token"])
