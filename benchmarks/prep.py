"""Setting up the data a benchmark needs: through the public HTTP API, with direct database writes only for bulk.

The API path (register with an SMS code, upload the ID photos, add a returning patient with an ``add_patient`` SMS
code, accept the notice) is what a real account holder does; it costs an argon2 hash and a handful of round trips
per account, which is fine for a few hundred accounts. Thousands of bookers (``booking_throughput``) are cloned in
the database from one account and patient made through the API, so every clone is exactly what the API would have
written. Past outpatient visits (the HIS side of eligibility) are always written directly: they come from the
hospital's HIS, not from the API.
"""
from __future__ import annotations

import datetime as dt
import io
import random
import re
import secrets
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import httpx
from sqlalchemy import func, insert, select

from benchmarks.harness import API, STAFF_PASSWORD, Server, log

SH = dt.timezone(dt.timedelta(hours=8))
PASSWORD = "bench1234"


def now() -> dt.datetime:
    return dt.datetime.now(SH)


def check(r: httpx.Response, *expected: int) -> dict | list:
    if r.status_code not in expected:
        raise RuntimeError(f"{r.request.method} {r.request.url.path} answered {r.status_code}: {r.text[:500]}")
    return r.json() if r.content else {}


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


# ---------------------------------------------------------------------------------------------------- identities

_used: set[str] = set()


def new_mobile(rng: random.Random) -> str:
    while True:
        m = "1" + rng.choice("3456789") + "".join(rng.choice("0123456789") for _ in range(9))
        if m not in _used:
            _used.add(m)
            return m


def resident_id(n: int) -> str:
    """A valid 18-digit resident ID number (GB 11643 check digit), different for every ``n``."""
    birth = dt.date(1950, 1, 1) + dt.timedelta(days=n % 20000)
    body = f"110101{birth:%Y%m%d}{(n // 20000) % 1000:03d}"
    from stdnum.cn import ric

    return body + ric.calc_check_digit(body + "0")


def card_no(n: int) -> str:
    return f"B{n:09d}"


_CN_DIGITS = "零一二三四五六七八九"


def person_name(n: int) -> str:
    """A name without digits (names are letters only): 压测 + the number in Chinese numerals."""
    return "压测" + "".join(_CN_DIGITS[int(d)] for d in str(n))


# ---------------------------------------------------------------------------------------------------- API steps

def sms_code(api: httpx.Client, mobile: str) -> str:
    r = api.get(f"{API}/dev/sms", params={"mobile": mobile, "limit": 5})
    for msg in check(r, 200):
        m = re.search(r"(?<!\d)(\d{6})(?!\d)", msg["body"])
        if m:
            return m.group(1)
    raise RuntimeError(f"no SMS code for {mobile}")


def register(api: httpx.Client, mobile: str, name: str) -> dict:
    check(api.post(f"{API}/sms/codes", json={"mobile": mobile, "purpose": "register"}), 200, 201, 202)
    code = sms_code(api, mobile)
    body = check(api.post(f"{API}/auth/register", json={"mobile": mobile, "code": code, "password": PASSWORD,
                                                         "password_confirm": PASSWORD, "name": name}), 201)
    return {"mobile": mobile, "token": body["token"], "account_id": body["account"]["id"]}


def staff_login(api: httpx.Client, username: str) -> dict[str, str]:
    body = check(api.post(f"{API}/staff/auth/login", json={"username": username, "password": STAFF_PASSWORD}), 200)
    return auth(body["token"])


_PHOTO: bytes | None = None


def id_photo() -> bytes:
    global _PHOTO
    if _PHOTO is None:
        from PIL import Image, ImageDraw

        img = Image.new("RGB", (320, 200), (235, 240, 245))
        d = ImageDraw.Draw(img)
        d.rectangle((10, 10, 310, 190), outline=(40, 60, 90), width=3)
        d.rectangle((20, 30, 100, 130), fill=(180, 190, 200))
        buf = io.BytesIO()
        img.save(buf, "JPEG", quality=80)
        _PHOTO = buf.getvalue()
    return _PHOTO


def upload_photo(api: httpx.Client, headers: dict[str, str]) -> int:
    r = api.post(f"{API}/files", headers=headers, data={"purpose": "id_photo"},
                 files={"file": ("id.jpg", id_photo(), "image/jpeg")})
    return check(r, 201)["id"]


def add_returning_patient(api: httpx.Client, acct: dict, *, n: int, name: str) -> int:
    """A returning patient bound to a hospital card, as the seed's 2.2 form fills it."""
    h = auth(acct["token"])
    front, back = upload_photo(api, h), upload_photo(api, h)
    check(api.post(f"{API}/me/sms/codes", headers=h, json={"purpose": "add_patient"}), 200, 201, 202)
    code = sms_code(api, acct["mobile"])
    payload = {
        "kind": "returning",
        "name": name,
        "id_type": "resident_id",
        "id_number": resident_id(n),
        "card_type": "hospital",
        "card_no": card_no(n),
        "id_front_file_id": front,
        "id_back_file_id": back,
        "came_to_beijing": False,
        "residence_region": "北京市东城区",
        "residence_address": "东华门街道1号",
        "beijing_region": "北京市东城区",
        "beijing_address": "东华门街道1号",
        "visit_type": "self_pay",
        "employer": "无",
        "contact_name": "李四",
        "contact_id_number": resident_id(n + 7_000_000),
        "contact_mobile": "13900000000",
        "occupation": "职员",
        "marital_status": "married",
        "relation": "self",
        "code": code,
    }
    return check(api.post(f"{API}/patients", headers=h, json=payload), 201)["id"]


def notice_version(api: httpx.Client) -> int:
    return check(api.get(f"{API}/notice"), 200)["version"]


def accept_notice(api: httpx.Client, token: str, version: int) -> None:
    check(api.post(f"{API}/notice/accept", headers=auth(token), json={"version": version}), 200, 201, 204)


# ---------------------------------------------------------------------------------------------------- direct writes

def departments(server: Server) -> list[tuple[int, str]]:
    from server.catalogue.models import Department

    with server.engine.connect() as c:
        return [tuple(r) for r in c.execute(select(Department.id, Department.code).order_by(Department.id))]


def doctors(server: Server) -> list[tuple[int, int, str]]:
    """(doctor id, department id, department code) of every active doctor."""
    from server.catalogue.models import Department, Doctor

    with server.engine.connect() as c:
        rows = c.execute(select(Doctor.id, Doctor.department_id, Department.code)
                         .join(Department, Department.id == Doctor.department_id)
                         .where(Doctor.active.is_(True)).order_by(Doctor.id))
        return [tuple(r) for r in rows]


def add_his_visits(server: Server, numbers: list[int], department_codes: list[str]) -> None:
    """Past visits for hospital cards ``card_no(n)``: one per department, a month ago (the HIS's side)."""
    from server.catalogue.models import HisVisit

    day = (now() - dt.timedelta(days=30)).date()
    rows = [{"card_type": "hospital", "card_no": card_no(n), "id_number_digest": None, "patient_name": person_name(n),
             "department_code": code, "visit_date": day, "doctor_name": "", "diagnosis": "复诊",
             "source": "import"} for n in numbers for code in department_codes]
    with server.engine.begin() as c:
        for i in range(0, len(rows), 5000):
            c.execute(insert(HisVisit), rows[i:i + 5000])


def add_slots(server: Server, *, count: int, capacity: int = 1, doctor_ids: list[int],
              first_day: int = 8, per_schedule: int = 96) -> list[tuple[int, int]]:
    """``count`` new open slots spread over the given doctors, in new schedules from ``first_day`` days on
    (after the week of slots demo-data makes, so no two sessions of a doctor overlap).

    Returns (slot id, doctor id) in creation order. Slots are written directly: an administrator's schedule API
    call per few hundred slots would be set-up time, not the figure being measured.
    """
    from server.catalogue.models import Schedule, Slot

    per_schedule = min(per_schedule, 96)  # 10-minute slots from 08:00 to 24:00
    out: list[tuple[int, int]] = []
    with server.engine.begin() as c:
        made = 0
        day_offset = first_day
        while made < count:
            for doctor_id in doctor_ids:
                if made >= count:
                    break
                day = (now() + dt.timedelta(days=day_offset)).date()
                start = dt.datetime.combine(day, dt.time(8, 0), SH)
                n = min(per_schedule, count - made)
                sid = c.execute(insert(Schedule).values(doctor_id=doctor_id, day=day, starts_at=start,
                                                        ends_at=start + dt.timedelta(minutes=10 * n),
                                                        status="open", created_at=now())
                                .returning(Schedule.id)).scalar_one()
                rows = [{"schedule_id": sid, "doctor_id": doctor_id,
                         "starts_at": start + dt.timedelta(minutes=10 * k),
                         "ends_at": start + dt.timedelta(minutes=10 * (k + 1)),
                         "capacity": capacity, "booked": 0, "status": "open"} for k in range(n)]
                c.execute(insert(Slot), rows)
                ids = c.execute(select(Slot.id).where(Slot.schedule_id == sid).order_by(Slot.id)).scalars().all()
                out.extend((i, doctor_id) for i in ids)
                made += n
            day_offset += 1
    return out


def slot_state(server: Server, slot_id: int) -> tuple[int, int]:
    """(booked, number of live appointments) of a slot, read from the database."""
    from server.appointments.models import Appointment
    from server.catalogue.models import Slot

    with server.engine.connect() as c:
        booked = c.execute(select(Slot.booked).where(Slot.id == slot_id)).scalar_one()
        n = c.execute(select(func.count()).select_from(Appointment).where(
            Appointment.slot_id == slot_id,
            Appointment.status.notin_(("expired", "cancelled", "cancelled_by_hospital")))).scalar_one()
    return booked, n


# ---------------------------------------------------------------------------------------------------- bookers

@dataclass(frozen=True)
class Booker:
    """An account holder ready to book: logged in, notice accepted, with an eligible returning patient."""

    account_id: int
    token: str
    patient_id: int
    mobile: str


def api_bookers(server: Server, count: int, *, department_codes: list[str], threads: int = 8,
                seed: int = 1) -> tuple[list[Booker], int]:
    """``count`` bookers made entirely through the HTTP API. Returns them and the notice version."""
    rng = random.Random(seed)
    mobiles = [new_mobile(rng) for _ in range(count)]
    add_his_visits(server, list(range(count)), department_codes)
    with server.client() as api:
        version = notice_version(api)

    def make(i: int) -> Booker:
        with server.client() as api:
            acct = register(api, mobiles[i], person_name(i))
            patient_id = add_returning_patient(api, acct, n=i, name=person_name(i))
            accept_notice(api, acct["token"], version)
            return Booker(acct["account_id"], acct["token"], patient_id, acct["mobile"])

    with ThreadPoolExecutor(max_workers=threads) as pool:
        bookers = list(pool.map(make, range(count)))
    return bookers, version


def cloned_bookers(server: Server, count: int, *, department_codes: list[str], seed: int = 2,
                   first_number: int = 1_000_000) -> tuple[list[Booker], int]:
    """``count`` bookers: one made through the API, the rest copied from its rows in bulk.

    Each clone has its own account (new mobile), session token, patient (own ID number and hospital card, both
    encrypted/digested exactly as the template's were written by the patients service) and notice acceptance.
    """
    from sqlalchemy import Table

    from server.accounts.models import Account, AccountSession
    from server.catalogue.models import NoticeAcceptance
    from server.ids import token_hash
    from server.patients.models import Patient

    template, version = api_bookers(server, 1, department_codes=department_codes, seed=seed)
    t = template[0]
    numbers = list(range(first_number, first_number + count - 1))
    add_his_visits(server, numbers, department_codes)
    rng = random.Random(seed)
    crypto = _id_number_columns(server)
    with server.engine.begin() as c:
        acct = c.execute(select(Account).where(Account.id == t.account_id)).mappings().one()
        sess = c.execute(select(AccountSession).where(AccountSession.account_id == t.account_id)).mappings().first()
        pat = c.execute(select(Patient).where(Patient.id == t.patient_id)).mappings().one()
        acc_tab: Table = Account.__table__  # type: ignore[assignment]
        ses_tab: Table = AccountSession.__table__  # type: ignore[assignment]
        pat_tab: Table = Patient.__table__  # type: ignore[assignment]

        def copy(row, table: Table, **changes: object) -> dict:
            # every column of the template but its id: the database numbers the clones (keeps sequences right)
            return {**{col.key: row[col.key] for col in table.columns if col.key != "id"}, **changes}

        def insert_all(table: Table, rows: list[dict], *, ids: bool) -> list[int]:
            out_ids: list[int] = []
            for i in range(0, len(rows), 2000):
                stmt = insert(table)
                if ids:
                    stmt = stmt.returning(table.c.id, sort_by_parameter_order=True)
                    out_ids += c.execute(stmt, rows[i:i + 2000]).scalars().all()
                else:
                    c.execute(stmt, rows[i:i + 2000])
            return out_ids

        t_now = now()
        mobiles = [new_mobile(rng) for _ in numbers]
        tokens = [secrets.token_urlsafe(32) for _ in numbers]
        account_ids = insert_all(acc_tab, [copy(acct, acc_tab, mobile=m, name=person_name(n), created_at=t_now)
                                           for n, m in zip(numbers, mobiles)], ids=True)
        insert_all(ses_tab, [copy(sess, ses_tab, account_id=a, token_hash=token_hash(tok), created_at=t_now,
                                  last_seen_at=t_now) for a, tok in zip(account_ids, tokens)], ids=False)
        patient_ids = insert_all(pat_tab, [copy(pat, pat_tab, account_id=a, name=person_name(n), card_no=card_no(n),
                                                created_at=t_now, **crypto(resident_id(n)))
                                           for a, n in zip(account_ids, numbers)], ids=True)
        insert_all(NoticeAcceptance.__table__, [{"account_id": a, "notice_version": version, "accepted_at": t_now}
                                               for a in account_ids], ids=False)  # type: ignore[arg-type]
    out = [t] + [Booker(a, tok, p, m) for a, tok, p, m in zip(account_ids, tokens, patient_ids, mobiles)]
    log(f"{count} bookers ready (1 through the API, {count - 1} cloned)")
    return out, version


def _id_number_columns(server: Server):
    """Encrypt and digest a clone's ID number with the server's own key (derived from its data directory)."""
    from server import crypto
    from server.config import Settings
    from server.validation import mask_id

    key = Settings(data_dir=server.data_dir, database_url=server.database_url,
                   encryption_key=server.env.get("CLINIC_ENCRYPTION_KEY", "")).encryption_key_bytes()

    def columns(id_number: str) -> dict[str, str]:
        n = crypto.normalise_id_number(id_number)
        return {"id_number_enc": crypto.encrypt_text(n, key=key), "id_number_digest": crypto.digest(n, key=key),
                "id_number_masked": mask_id(n)}

    return columns
