"""Patients (就诊人) through the live server: seed 2.2's two ways of adding, ID checks, privacy, changes."""
from __future__ import annotations

import io
import json
import random
import secrets
from collections.abc import Iterator

import httpx
import pytest
from PIL import Image
from sqlalchemy import insert, select, text, update
from stdnum.cn.ric import calc_check_digit

from server import crypto
from server.appointments.models import Appointment
from server.catalogue.models import Doctor, HisVisit, Slot
from server.config import Settings
from server.patients.models import Patient
from server.timeutil import now
from tests.conftest import LiveServer
from tests.helpers import last_sms_code, register_account

V1 = "/api/v1"


@pytest.fixture()
def api(live_server: LiveServer) -> Iterator[httpx.Client]:
    """A client with its own address (through the loopback proxy header): see tests/test_sms.py."""
    ip = f"10.{random.randint(0, 255)}.{random.randint(0, 255)}.{random.randint(1, 254)}"
    with live_server.client(headers={"X-Forwarded-For": ip}) as client:
        yield client


@pytest.fixture()
def holder(api: httpx.Client) -> dict:
    return register_account(api)


# --- makers ----------------------------------------------------------------------------------------------


def resident_id(*, born: str = "19900307", seq: str | None = None, region: str = "110101",
                male: bool = True) -> str:
    """A well-formed resident ID number with its GB 11643 check digit (made up, not a real person's)."""
    if seq is None:
        seq = f"{random.randint(0, 99):02d}" + str(random.choice("13579" if male else "02468"))
    body = region + born + seq
    return body + calc_check_digit(body + "0")


def wrong_check_digit(number: str) -> str:
    return number[:17] + next(d for d in "0123456789X" if d != number[17])


def photo(colour: tuple[int, int, int]) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (80, 50), colour).save(buf, "JPEG")
    return buf.getvalue()


def upload(api: httpx.Client, who: dict, *, purpose: str = "id_photo",
           colour: tuple[int, int, int] = (90, 90, 200)) -> int:
    r = api.post(f"{V1}/files", files={"file": ("id.jpg", photo(colour), "image/jpeg")},
                 data={"purpose": purpose}, headers=who["headers"])
    assert r.status_code == 201, r.text
    return r.json()["id"]


def id_photos(api: httpx.Client, who: dict) -> dict[str, int]:
    return {"id_front_file_id": upload(api, who, colour=(200, 10, 10)),
            "id_back_file_id": upload(api, who, colour=(10, 200, 10))}


def add_code(api: httpx.Client, who: dict) -> str:
    r = api.post(f"{V1}/me/sms/codes", json={"purpose": "add_patient"}, headers=who["headers"])
    assert r.status_code == 202, r.text
    return last_sms_code(api, who["mobile"])


def first_visit(api: httpx.Client, who: dict, **over: object) -> dict:
    body = {
        "kind": "first_visit", "name": "李小红", "sex": "female", "nationality": "中国", "ethnicity": "汉族",
        "id_type": "resident_id", "id_number": resident_id(male=False), **id_photos(api, who),
        "came_to_beijing": True, "residence_region": "河北省石家庄市长安区",
        "residence_address": "建设北大街1号",
        "beijing_region": "北京市西城区", "beijing_address": "西直门南大街11号", "visit_type": "self_pay",
        "employer": "石家庄某公司", "contact_name": "李大明",
        "contact_id_number": resident_id(born="19650101"), "contact_mobile": "13912345678",
        "occupation": "教师", "marital_status": "married", "relation": "parent",
        "code": "000000",
    }
    body.update(over)
    return body


def post(api: httpx.Client, who: dict, body: dict) -> httpx.Response:
    return api.post(f"{V1}/patients", json=body, headers=who["headers"])


def his_card(engine, *, name: str, id_number: str | None = None,  # noqa: ANN001 - a SQLAlchemy engine
             key: bytes | None = None) -> str:
    """A visit in the hospital's records on a fresh hospital card; returns the card number."""
    card = "T" + secrets.token_hex(6).upper()
    with engine.begin() as c:
        c.execute(insert(HisVisit).values(
            card_type="hospital", card_no=card, patient_name=name, department_code="neurology",
            visit_date=now().date(), doctor_name="王医生", diagnosis="偏头痛", source="demo",
            id_number_digest=crypto.digest(id_number, key=key) if id_number else None))
    return card


def server_key(live_server: LiveServer) -> bytes:
    """The test server's data key: it runs without CLINIC_ENCRYPTION_KEY, so the key follows its data dir."""
    settings = Settings(data_dir=live_server.data_dir, encryption_key="", environment="development")
    return settings.encryption_key_bytes()


def patient_rows(engine, account_id: int) -> list[dict]:  # noqa: ANN001
    with engine.connect() as c:
        return [dict(r) for r in c.execute(text("SELECT * FROM patients WHERE account_id = :a ORDER BY id"),
                                           {"a": account_id}).mappings()]


def insert_patients(engine, account_id: int, n: int) -> list[int]:  # noqa: ANN001
    """Patients put straight into the table, for rules that need several (each API add costs an SMS code)."""
    ids = []
    with engine.begin() as c:
        for _ in range(n):
            number = resident_id()
            ids.append(c.execute(insert(Patient).values(
                account_id=account_id, kind="first_visit", name="测试", sex="male", nationality="中国",
                ethnicity="汉族", id_type="resident_id", id_number_enc="-", id_number_masked="-",
                id_number_digest=f"test-{secrets.token_hex(8)}-{number}", created_at=now()))
                .inserted_primary_key[0])
    return ids


def insert_appointment(engine, *, account_id: int, patient_id: int, status: str) -> int:  # noqa: ANN001
    """An appointment row in ``status`` (the appointments slice makes them; here only the state matters)."""
    with engine.begin() as c:
        slot = c.execute(select(Slot).limit(1)).mappings().first()
        assert slot is not None, "demo data should have slots"
        doctor = c.execute(select(Doctor).where(Doctor.id == slot["doctor_id"])).mappings().one()
        return c.execute(insert(Appointment).values(
            number=f"T{random.getrandbits(48)}", account_id=account_id, patient_id=patient_id,
            doctor_id=doctor["id"], department_id=doctor["department_id"], slot_id=slot["id"],
            starts_at=slot["starts_at"], ends_at=slot["ends_at"], fee_fen=doctor["fee_fen"], status=status,
            notice_version=1, created_at=now())).inserted_primary_key[0]


# --- adding ----------------------------------------------------------------------------------------------


def test_add_first_visit_patient(api: httpx.Client, holder: dict, db_engine) -> None:  # noqa: ANN001
    number = resident_id(born="19851224", male=False)
    body = first_visit(api, holder, id_number=number, code=add_code(api, holder))
    r = post(api, holder, body)
    assert r.status_code == 201, r.text
    p = r.json()
    assert p["kind"] == "first_visit" and p["name"] == "李小红" and p["sex"] == "female"
    assert p["birth_date"] == "1985-12-24" and isinstance(p["age"], int) and p["age"] >= 38
    assert p["id_number_masked"] == number[:3] + "*" * 11 + number[-4:]
    assert p["contact_id_number_masked"].startswith(body["contact_id_number"][:3]) and "*" in \
        p["contact_id_number_masked"]
    assert p["ethnicity"] == "汉族" and p["marital_status"] == "married" and p["relation"] == "parent"
    assert p["card_type"] is None and p["created_at"].endswith("+08:00")
    # neither full number appears anywhere in what the API says
    for path in ("/patients", f"/patients/{p['id']}"):
        out = api.get(V1 + path, headers=holder["headers"])
        assert out.status_code == 200
        assert number not in out.text and body["contact_id_number"] not in out.text
        assert "id_number" not in (out.json()[0] if isinstance(out.json(), list) else out.json())
    assert [x["id"] for x in api.get(f"{V1}/patients", headers=holder["headers"]).json()] == [p["id"]]
    # the change is an audited admin event without ID numbers
    with db_engine.connect() as c:
        ev = c.execute(text("SELECT topic, account_id, payload FROM events WHERE kind = 'patient.created' "
                            "AND object_id = :i"), {"i": p["id"]}).mappings().one()
    assert ev["topic"] == "admin" and ev["account_id"] == holder["account"]["id"]
    payload = ev["payload"] if isinstance(ev["payload"], dict) else json.loads(ev["payload"])
    assert number not in json.dumps(payload)


def test_id_numbers_are_not_stored_plain(api: httpx.Client, holder: dict, db_engine,  # noqa: ANN001
                                         live_server: LiveServer) -> None:
    number = resident_id()
    body = first_visit(api, holder, id_number=number, sex="male", code=add_code(api, holder))
    assert post(api, holder, body).status_code == 201
    [row] = patient_rows(db_engine, holder["account"]["id"])
    everything = json.dumps(row, default=str)
    assert number not in everything and body["contact_id_number"] not in everything
    assert number[6:14] not in row["id_number_enc"]
    # the digest is the keyed one HIS matching uses; the ciphertext opens with the server's key
    key = server_key(live_server)
    assert row["id_number_digest"] == crypto.digest(number.lower(), key=key)
    assert crypto.decrypt_text(row["id_number_enc"], key=key) == number
    assert crypto.decrypt_text(row["contact_id_number_enc"], key=key) == body["contact_id_number"]
    with db_engine.connect() as c:
        audit = c.execute(text("SELECT details FROM audit_log WHERE object_type = 'patient' "
                               "AND object_id = :i"), {"i": row["id"]}).scalars().all()
    assert audit and all(number not in json.dumps(d, default=str) for d in audit)


def test_check_digit_birth_date_and_format(api: httpx.Client, holder: dict,
                                           db_engine) -> None:  # noqa: ANN001
    good = resident_id()
    photos = id_photos(api, holder)
    cases = [
        wrong_check_digit(good),                                             # GB 11643 check digit
        resident_id(born="19900230"),                                        # no such day
        resident_id(born="20991231"),                                        # born in the future
        resident_id(region="990101"),                                        # no such province
        good[:17],                                                           # too short
    ]
    for bad in cases:
        r = post(api, holder, first_visit(api, holder, id_number=bad, **photos) | {"sex": None})
        assert r.status_code == 422, (bad, r.text)
        assert r.json()["code"] in ("id_number_invalid", "validation_error"), r.text
    r = post(api, holder, first_visit(api, holder, id_number=wrong_check_digit(good), **photos))
    assert r.json()["code"] == "id_number_invalid"
    assert r.json()["message"] == "身份证号码校验失败，请核对后重新输入"
    # other documents are checked by format
    r = post(api, holder, first_visit(api, holder, id_type="hk_macau_permit", id_number="X1234567"))
    assert r.status_code == 422 and r.json()["code"] == "id_number_invalid" and "港澳" in r.json()["message"]
    r = post(api, holder, first_visit(api, holder, contact_id_number=wrong_check_digit(good), **photos))
    assert r.status_code == 422 and r.json()["details"]["field"] == "contact_id_number"
    assert patient_rows(db_engine, holder["account"]["id"]) == []


def test_sex_must_agree_with_the_id_number(api: httpx.Client, holder: dict) -> None:
    r = post(api, holder, first_visit(api, holder, id_number=resident_id(male=True), sex="female"))
    assert r.status_code == 422 and r.json()["code"] == "sex_mismatch", r.text
    # without a resident ID the sex cannot be derived and must be given
    r = post(api, holder, first_visit(api, holder, id_type="passport", id_number="E12345678", sex=None))
    assert r.status_code == 422 and r.json()["code"] == "sex_required", r.text
    r = post(api, holder, first_visit(api, holder, ethnicity=None))
    assert r.status_code == 422 and r.json()["code"] == "ethnicity_required", r.text


def test_sms_code_is_required_and_checked(api: httpx.Client, holder: dict, db_engine) -> None:  # noqa: ANN001
    body = first_visit(api, holder)
    del body["code"]
    r = post(api, holder, body)
    assert r.status_code == 422 and r.json()["code"] == "validation_error"
    code = add_code(api, holder)
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    r = post(api, holder, body | {"code": wrong})
    assert r.status_code == 400 and r.json()["code"] == "code_invalid", r.text
    assert patient_rows(db_engine, holder["account"]["id"]) == []
    # a code sent to another number (another account's) does not work here either
    other = register_account(api)
    r = post(api, holder, body | {"code": add_code(api, other)})
    assert r.status_code == 400 and r.json()["code"] == "code_invalid"
    r = post(api, holder, body | {"code": code})
    assert r.status_code == 201, r.text
    # spent: the same code cannot add another patient
    r = post(api, holder, first_visit(api, holder, code=code))
    assert r.status_code == 400 and r.json()["code"] == "code_invalid"


def test_returning_patient_needs_a_card_known_to_the_his(api: httpx.Client, holder: dict,
                                                         db_engine,  # noqa: ANN001
                                                         live_server: LiveServer) -> None:
    number = resident_id()
    card = his_card(db_engine, name="赵六")
    body = {"kind": "returning", "name": "赵六", "id_type": "resident_id", "id_number": number,
            "card_type": "hospital", "card_no": card, **id_photos(api, holder), "relation": "self",
            "residence_region": "北京市海淀区", "residence_address": "中关村大街1号"}
    r = post(api, holder, body | {"card_type": None, "card_no": None, "code": "123456"})
    assert r.status_code == 422 and r.json()["code"] == "card_required"
    code = add_code(api, holder)
    for wrong in ({"card_no": card + "9"}, {"name": "赵七"}, {"card_type": "insurance"}):
        r = post(api, holder, body | wrong | {"code": code})
        assert r.status_code == 400, r.text
        assert r.json()["code"] == "card_not_found"
        assert r.json()["message"] == "未查询到该就诊卡的就诊记录，请核对卡号和姓名"
    # a card the HIS knows with another person's ID number
    other_card = his_card(db_engine, name="赵六", id_number=resident_id(), key=server_key(live_server))
    r = post(api, holder, body | {"card_no": other_card, "code": code})
    assert r.status_code == 400 and r.json()["code"] == "card_not_found"
    assert patient_rows(db_engine, holder["account"]["id"]) == []
    # the refusals did not spend the code; the right card (lower case typed) matches
    r = post(api, holder, body | {"card_no": card.lower(), "code": code})
    assert r.status_code == 201, r.text
    assert r.json()["kind"] == "returning" and r.json()["card_no"] == card and r.json()["sex"] == "male"


def test_returning_patient_matched_by_card_and_id_digest(api: httpx.Client, holder: dict,
                                                         db_engine,  # noqa: ANN001
                                                         live_server: LiveServer) -> None:
    number = resident_id(male=False)
    card = his_card(db_engine, name="孙八", id_number=number, key=server_key(live_server))
    body = {"kind": "returning", "name": "孙八", "id_type": "resident_id", "id_number": number.lower(),
            "card_type": "hospital", "card_no": card, **id_photos(api, holder), "code": add_code(api, holder)}
    r = post(api, holder, body)
    assert r.status_code == 201, r.text
    assert r.json()["sex"] == "female"


def test_id_photos_are_required_and_must_be_own(api: httpx.Client, holder: dict) -> None:
    body = first_visit(api, holder)
    r = post(api, holder, body | {"id_back_file_id": None})
    assert r.status_code == 422 and r.json()["code"] == "id_photos_required"
    r = post(api, holder, body | {"id_back_file_id": body["id_front_file_id"]})
    assert r.status_code == 422 and r.json()["code"] == "id_photos_same"
    other = register_account(api)
    theirs = upload(api, other)
    r = post(api, holder, body | {"id_back_file_id": theirs})
    assert r.status_code == 404 and r.json()["code"] == "file_not_found"
    absent = post(api, holder, body | {"id_back_file_id": 2**53})
    assert absent.status_code == 404 and absent.json()["code"] == "file_not_found"
    wrong_purpose = upload(api, holder, purpose="description")
    r = post(api, holder, body | {"id_back_file_id": wrong_purpose})
    assert r.status_code == 404 and r.json()["code"] == "file_not_found"


def test_same_id_number_twice_is_refused(api: httpx.Client, holder: dict, db_engine) -> None:  # noqa: ANN001
    number = resident_id()
    body = first_visit(api, holder, id_number=number, sex="male")
    first = post(api, holder, body | {"code": add_code(api, holder)})
    assert first.status_code == 201, first.text
    # told before any code is spent; spelled with a lower-case x or spaces it is still the same number
    r = post(api, holder, body | {"id_number": " " + number.lower() + " "})
    assert r.status_code == 409 and r.json()["code"] == "patient_exists", r.text
    # another account may hold the same person
    other = register_account(api)
    r = post(api, other, first_visit(api, other, id_number=number, sex="male", code=add_code(api, other)))
    assert r.status_code == 201, r.text
    # removed, the number can be added again (told apart from the duplicate by getting past it to the code)
    assert api.delete(f"{V1}/patients/{first.json()['id']}", headers=holder["headers"]).status_code == 204
    r = post(api, holder, body | {"code": "000000"})
    assert r.status_code == 400 and r.json()["code"] in ("code_invalid", "code_voided")


def test_patients_per_account_are_capped(api: httpx.Client, holder: dict, db_engine) -> None:  # noqa: ANN001
    insert_patients(db_engine, holder["account"]["id"], 10)
    r = post(api, holder, first_visit(api, holder))
    assert r.status_code == 409 and r.json()["code"] == "too_many_patients", r.text
    assert len(api.get(f"{V1}/patients", headers=holder["headers"]).json()) == 10


def test_bad_shapes_are_refused(api: httpx.Client, holder: dict) -> None:
    for over in ({"kind": "vip"}, {"id_type": "driver_licence"}, {"contact_mobile": "12345678901"},
                 {"marital_status": "single"}, {"relation": "boss"}, {"name": ""}, {"name": "x" * 33},
                 {"code": "12345"}, {"ethnicity": "火星族"}, {"id_front_file_id": 2**63}, {"surprise": 1}):
        r = post(api, holder, first_visit(api, holder, **over) if "id_front_file_id" not in over
                 else {**first_visit(api, holder), **over})
        assert r.status_code == 422, (over, r.text)


# --- one account's patients are its own ------------------------------------------------------------------


def test_other_accounts_patient_answers_like_an_absent_one(api: httpx.Client, holder: dict,
                                                           db_engine) -> None:  # noqa: ANN001
    [pid] = insert_patients(db_engine, holder["account"]["id"], 1)
    other = register_account(api)
    for method, body in (("GET", None), ("PATCH", {"occupation": "工程师"}), ("DELETE", None)):
        theirs = api.request(method, f"{V1}/patients/{pid}", json=body, headers=other["headers"])
        absent = api.request(method, f"{V1}/patients/{2**53}", json=body, headers=other["headers"])
        assert theirs.status_code == absent.status_code == 404, (method, theirs.text)
        assert theirs.json() == absent.json() and theirs.json()["code"] == "not_found"
    assert api.get(f"{V1}/patients", headers=other["headers"]).json() == []
    # nothing happened to it
    mine = api.get(f"{V1}/patients/{pid}", headers=holder["headers"])
    assert mine.status_code == 200 and mine.json()["occupation"] == ""
    assert api.get(f"{V1}/patients/{pid}").status_code == 401
    assert api.get(f"{V1}/patients/{2**63}", headers=holder["headers"]).status_code == 422


# --- changing and removing -------------------------------------------------------------------------------


def test_details_can_change_identity_cannot(api: httpx.Client, holder: dict,
                                            db_engine) -> None:  # noqa: ANN001
    created = post(api, holder, first_visit(api, holder, code=add_code(api, holder)))
    assert created.status_code == 201, created.text
    p = created.json()
    url = f"{V1}/patients/{p['id']}"
    new_contact = resident_id(born="19700101", male=False)
    new_front = upload(api, holder, colour=(1, 1, 1))
    change = {"residence_address": "  新华路2号 ", "occupation": "退休", "marital_status": "widowed",
              "contact_id_number": new_contact, "contact_mobile": "", "id_front_file_id": new_front}
    r = api.patch(url, json=change, headers=holder["headers"])
    assert r.status_code == 200, r.text
    q = r.json()
    assert q["residence_address"] == "新华路2号" and q["occupation"] == "退休"
    assert q["marital_status"] == "widowed"
    assert q["contact_mobile"] == "" and q["id_front_file_id"] == new_front
    assert q["contact_id_number_masked"] == new_contact[:3] + "*" * 11 + new_contact[-4:]
    assert q["updated_at"] is not None and q["name"] == p["name"]
    assert q["residence_region"] == p["residence_region"]
    assert api.get(url, headers=holder["headers"]).json() == q

    for fixed in ({"name": "王二"}, {"id_number": resident_id()}, {"kind": "returning"}, {"sex": "male"},
                  {"card_no": "A123456", "card_type": "hospital"},
                  {"occupation": "医生", "id_type": "passport"}):
        r = api.patch(url, json=fixed, headers=holder["headers"])
        assert r.status_code == 422, r.text
        assert r.json()["code"] == "field_not_editable" and "不能修改" in r.json()["message"]
    assert api.get(url, headers=holder["headers"]).json()["occupation"] == "退休"
    for bad in ({"contact_id_number": wrong_check_digit(new_contact)}, {"contact_mobile": "1234"},
                {"id_back_file_id": upload(api, register_account(api))},
                {"id_front_file_id": p["id_back_file_id"]},
                {"whatever": 1}):
        r = api.patch(url, json=bad, headers=holder["headers"])
        assert r.status_code in (404, 422), (bad, r.text)
    assert api.get(url, headers=holder["headers"]).json() == q
    with db_engine.connect() as c:
        kinds = c.execute(text("SELECT payload FROM events WHERE kind = 'patient.updated' "
                               "AND object_id = :i"), {"i": p["id"]}).scalars().all()
    assert len(kinds) == 1 and new_contact not in json.dumps(kinds[0], default=str)


def test_remove_refused_while_an_appointment_is_open(api: httpx.Client, holder: dict,
                                                     db_engine) -> None:  # noqa: ANN001
    [pid] = insert_patients(db_engine, holder["account"]["id"], 1)
    appt = insert_appointment(db_engine, account_id=holder["account"]["id"], patient_id=pid, status="booked")
    url = f"{V1}/patients/{pid}"
    for status in ("booked", "pending_payment", "checked_in", "waiting", "in_consultation"):
        with db_engine.begin() as c:
            c.execute(update(Appointment).where(Appointment.id == appt).values(status=status))
        r = api.delete(url, headers=holder["headers"])
        assert r.status_code == 409 and r.json()["code"] == "patient_has_open_appointments", (status, r.text)
    with db_engine.begin() as c:
        c.execute(update(Appointment).where(Appointment.id == appt).values(status="completed"))
    assert api.delete(url, headers=holder["headers"]).status_code == 204
    assert api.get(url, headers=holder["headers"]).status_code == 404
    assert api.delete(url, headers=holder["headers"]).status_code == 404
    assert api.patch(url, json={"occupation": "x"}, headers=holder["headers"]).status_code == 404
    assert api.get(f"{V1}/patients", headers=holder["headers"]).json() == []
    [row] = patient_rows(db_engine, holder["account"]["id"])
    assert row["removed_at"] is not None  # kept for the records that point at it
