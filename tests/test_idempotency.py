"""``Idempotency-Key``: the workstation's outbox may send an action twice, or twice at once; it happens
once."""
from __future__ import annotations

import datetime as dt
import threading
from collections import Counter
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy import select, update
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from tests.booking_helpers import admin_headers, appointment_row
from tests.workstation_helpers import (
    V1,
    doctor_today,
    events_of,
    in_consultation,
    new_key,
    now,
    waiting,
)

RECORD = {"diagnosis_code": "I10", "diagnosis_name": "高血压", "notes": "继续服药"}


@pytest.fixture(scope="module")
def admin(live_server: Any, db_engine: Engine) -> dict[str, str]:
    with live_server.client() as api:
        return admin_headers(api, db_engine)


@pytest.fixture()
def clinic(api: httpx.Client, admin: dict[str, str], db_engine: Engine) -> dict[str, Any]:
    return doctor_today(api, admin, db_engine, capacity=10)


@pytest.fixture(scope="module")
def service_db(live_server: Any) -> Iterator[Any]:
    from server.config import Settings
    from server.db import Database

    db = Database(Settings(data_dir=live_server.data_dir, database_url=live_server.database_url))
    yield db
    db.dispose()


def _keys(db_engine: Engine, key: str) -> list[Any]:
    from server.idempotency import IdempotencyKey

    with Session(db_engine) as s:
        return list(s.execute(select(IdempotencyKey).where(IdempotencyKey.key == key)).scalars())


def _completed(db_engine: Engine, appt: int) -> int:
    return len(events_of(db_engine, object_type="appointment", object_id=appt, kind="appointment.completed"))


def test_a_retry_with_the_same_key_gets_the_first_answer_without_running_again(
        api: httpx.Client, db_engine: Engine, clinic: dict[str, Any]) -> None:
    doc, key = clinic["headers"], new_key()
    _, appt = waiting(api, db_engine, clinic)
    url = f"{V1}/staff/appointments/{appt}/accept"
    first = api.post(url, headers={**doc, "Idempotency-Key": key})
    assert first.status_code == 200, first.text
    assert "Idempotent-Replayed" not in first.headers
    second = api.post(url, headers={**doc, "Idempotency-Key": key})
    assert second.status_code == 200 and second.json() == first.json()
    assert second.headers["Idempotent-Replayed"] == "true"
    assert len(events_of(db_engine, object_type="appointment", object_id=appt,
                         kind="appointment.in_consultation")) == 1
    # without the key the same action really runs again, and is refused: the replay did not run it
    assert api.post(url, headers=doc).status_code == 409
    rows = _keys(db_engine, key)
    assert len(rows) == 1 and rows[0].principal.startswith("staff:") and rows[0].status_code == 200
    assert rows[0].target == f"POST {url}"

    # finish: the body's key order and spacing do not matter, only its content
    fin = f"{V1}/staff/appointments/{appt}/finish"
    key2 = new_key()
    a = api.post(fin, headers={**doc, "Idempotency-Key": key2}, json=RECORD)
    assert a.status_code == 200 and a.json()["status"] == "completed"
    b = api.post(fin, headers={**doc, "Idempotency-Key": key2, "Content-Type": "application/json"},
                 content='{ "notes": "继续服药", "diagnosis_name": "高血压", "diagnosis_code": "I10" }'.encode())
    assert b.status_code == 200 and b.json() == a.json()
    assert _completed(db_engine, appt) == 1


def test_the_same_key_for_another_body_or_route_is_refused(api: httpx.Client, db_engine: Engine,
                                                           clinic: dict[str, Any]) -> None:
    doc, key = clinic["headers"], new_key()
    _, appt = in_consultation(api, db_engine, clinic)
    rec = f"{V1}/staff/appointments/{appt}/record"
    assert api.put(rec, headers={**doc, "Idempotency-Key": key}, json={"notes": "第一稿"}).status_code == 200
    other_body = api.put(rec, headers={**doc, "Idempotency-Key": key}, json={"notes": "第二稿"})
    assert other_body.status_code == 422
    assert other_body.json()["code"] == "idempotency_key_reused"
    assert other_body.json()["message"] == "该请求编号已用于其他操作"
    other_route = api.post(f"{V1}/staff/appointments/{appt}/finish", headers={**doc, "Idempotency-Key": key},
                           json={"notes": "第一稿"})
    assert other_route.status_code == 422 and other_route.json()["code"] == "idempotency_key_reused"
    row = appointment_row(db_engine, appt)
    assert row["notes"] == "第一稿" and row["status"] == "in_consultation"


def test_a_refused_request_stores_nothing_and_keys_belong_to_one_caller(
        api: httpx.Client, db_engine: Engine, admin: dict[str, str], clinic: dict[str, Any]) -> None:
    doc, key = clinic["headers"], new_key()
    _, appt = in_consultation(api, db_engine, clinic)
    fin = f"{V1}/staff/appointments/{appt}/finish"
    refused = api.post(fin, headers={**doc, "Idempotency-Key": key}, json={"notes": "忘了诊断"})
    assert refused.status_code == 422 and refused.json()["code"] == "diagnosis_required"
    assert _keys(db_engine, key) == []
    # the corrected request may use the same number: nothing was stored for it
    ok = api.post(fin, headers={**doc, "Idempotency-Key": key}, json=RECORD)
    assert ok.status_code == 200 and ok.json()["status"] == "completed"

    # another doctor's identical number is theirs alone
    other = doctor_today(api, admin, db_engine)
    _, theirs = waiting(api, db_engine, other)
    r = api.post(f"{V1}/staff/appointments/{theirs}/accept",
                 headers={**other["headers"], "Idempotency-Key": key})
    assert r.status_code == 200 and r.json()["id"] == theirs
    assert len(_keys(db_engine, key)) == 2


@pytest.mark.parametrize("bad", ["short", "x" * 65, "has space in it!!", "abc/def+ghi=jklmnop"])
def test_a_malformed_key_is_refused_before_anything_runs(api: httpx.Client, db_engine: Engine,
                                                         clinic: dict[str, Any], bad: str) -> None:
    _, appt = waiting(api, db_engine, clinic)
    r = api.post(f"{V1}/staff/appointments/{appt}/accept",
                 headers={**clinic["headers"], "Idempotency-Key": bad})
    assert r.status_code == 422 and r.json()["code"] == "validation_error"
    assert appointment_row(db_engine, appt)["status"] == "waiting"


def test_the_same_request_sent_at_once_takes_effect_once(api: httpx.Client, live_server: Any,
                                                         db_engine: Engine, clinic: dict[str, Any]) -> None:
    _, appt = in_consultation(api, db_engine, clinic)
    key = new_key()
    url = f"{V1}/staff/appointments/{appt}/finish"
    n = 8
    barrier = threading.Barrier(n)
    answers: list[httpx.Response] = []
    lock = threading.Lock()

    def send() -> None:
        with live_server.client() as c:
            barrier.wait()
            r = c.post(url, headers={**clinic["headers"], "Idempotency-Key": key}, json=RECORD)
        with lock:
            answers.append(r)

    threads = [threading.Thread(target=send) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    codes = Counter(r.status_code for r in answers)
    assert set(codes) <= {200, 409} and codes[200] >= 1, [(r.status_code, r.text) for r in answers]
    for r in answers:
        if r.status_code == 409:
            assert r.json()["code"] == "request_in_progress" and r.json()["message"]
    bodies = [r.json() for r in answers if r.status_code == 200]
    assert all(b == bodies[0] for b in bodies) and bodies[0]["status"] == "completed"
    assert _completed(db_engine, appt) == 1
    # once the first has committed, a late retry gets its answer
    late = api.post(url, headers={**clinic["headers"], "Idempotency-Key": key}, json=RECORD)
    assert late.status_code == 200 and late.json() == bodies[0]


def test_keys_expire_after_a_day(api: httpx.Client, db_engine: Engine, service_db: Any,
                                 clinic: dict[str, Any]) -> None:
    from server.idempotency import IdempotencyKey, prune_expired

    doc, key = clinic["headers"], new_key()
    _, appt = in_consultation(api, db_engine, clinic)
    rec = f"{V1}/staff/appointments/{appt}/record"
    assert api.put(rec, headers={**doc, "Idempotency-Key": key}, json={"notes": "一"}).status_code == 200
    with Session(db_engine) as s, s.begin():
        s.execute(update(IdempotencyKey).where(IdempotencyKey.key == key)
                  .values(created_at=now() - dt.timedelta(hours=25)))
    # an expired number is a new number: the other body runs instead of being refused
    r = api.put(rec, headers={**doc, "Idempotency-Key": key}, json={"notes": "二"})
    assert r.status_code == 200 and r.json()["notes"] == "二"
    rows = _keys(db_engine, key)
    assert len(rows) == 1 and rows[0].created_at > now() - dt.timedelta(minutes=5)

    # the background prune removes what is older than a day, and only that
    stale = new_key()
    assert api.put(rec, headers={**doc, "Idempotency-Key": stale}, json={"notes": "三"}).status_code == 200
    with Session(db_engine) as s, s.begin():
        s.execute(update(IdempotencyKey).where(IdempotencyKey.key == stale)
                  .values(created_at=now() - dt.timedelta(hours=24, minutes=1)))
    assert prune_expired(service_db) >= 1
    assert _keys(db_engine, stale) == [] and len(_keys(db_engine, key)) == 1


# every request that moves money (or decides whether it moves) takes the key: a new one without it fails here
MONEY_ROUTES = {
    ("post", "/appointments/{appointment_id}/payment"), ("post", "/prescriptions/{rx_id}/payment"),
    ("post", "/appointments/{appointment_id}/cancel"), ("post", "/appointments/{appointment_id}/refund-application"),
    ("post", "/staff/refunds/{refund_id}/approve"), ("post", "/staff/refunds/{refund_id}/reject"),
    ("post", "/staff/refunds/{refund_id}/retry"), ("post", "/staff/appointments/{appointment_id}/window-refund"),
    ("post", "/staff/prescriptions/{rx_id}/refund"), ("post", "/staff/clinic-stops"),
}
# the gateway's own calls (signed notifications, deduplicated by their id) and the sandbox standing in for it
GATEWAY_SIDE = ("/payments/notify", "/sandbox/")


def test_every_route_that_moves_money_takes_an_idempotency_key(api: httpx.Client) -> None:
    spec = api.get("/openapi.json").json()
    takes: dict[tuple[str, str], bool] = {}
    for path, ops in spec["paths"].items():
        short = path.removeprefix("/api/v1")
        for method, op in ops.items():
            if method in ("post", "put", "patch", "delete"):
                takes[(method, short)] = any(p.get("in") == "header" and p["name"].lower() == "idempotency-key"
                                             for p in op.get("parameters", []))
    missing = sorted(r for r in MONEY_ROUTES if not takes.get(r))
    assert not missing, f"money routes without Idempotency-Key: {missing}"
    assert MONEY_ROUTES <= takes.keys()
    # any other route that names money in its path must be listed above (or be the gateway's)
    moneyish = {r for r in takes if any(w in r[1] for w in ("refund", "payment", "cancel", "clinic-stop"))
                and not any(g in r[1] for g in GATEWAY_SIDE)}
    assert moneyish <= MONEY_ROUTES, f"unlisted money routes: {sorted(moneyish - MONEY_ROUTES)}"
