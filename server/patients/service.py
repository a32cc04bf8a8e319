"""The patients (就诊人) an account holds: adding (seed 2.2), changing details, removing.

ID numbers are stored three ways and never plain: encrypted (to print a prescription or talk to the HIS), as a
keyed digest (duplicates, HIS matching) and masked (display). A returning patient's card must be known to the
hospital's records under the same name; adding any patient spends an SMS code sent to the account's own
number, so a borrowed unlocked phone session cannot quietly add someone.

Other slices call :func:`get_owned`.
"""
from __future__ import annotations

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from server import crypto
from server.accounts.models import Account
from server.actor import Actor
from server.appointments.models import Appointment
from server.catalogue.models import HisVisit
from server.errors import AppError, Conflict, NotFound
from server.events.service import record_change
from server.files import service as files
from server.patients.models import Patient
from server.patients.schemas import PatientCreate, PatientUpdate
from server.sms.codes import consume_code
from server.timeutil import now
from server.validation import mask_id, validate_card_no, validate_id, validate_mobile, validate_resident_id

MAX_PATIENTS_PER_ACCOUNT = 10
# an appointment in one of these still needs its patient
OPEN_APPOINTMENT_STATUSES = ("pending_payment", "booked", "checked_in", "waiting", "in_consultation")


def get_owned(session: Session, *, account_id: int, patient_id: int,
              include_removed: bool = False) -> Patient:
    """The account's patient, or ``NotFound`` (absent, someone else's, or removed unless asked for)."""
    p = session.get(Patient, patient_id)
    if p is None or p.account_id != account_id or (p.removed_at is not None and not include_removed):
        raise NotFound("就诊人")
    return p


def list_owned(session: Session, *, account_id: int) -> list[Patient]:
    return list(session.execute(select(Patient).where(Patient.account_id == account_id,
                                                      Patient.removed_at.is_(None))
                                .order_by(Patient.id)).scalars())


def decrypt_id_number(patient: Patient) -> str:
    """The full ID number, for the few places that need it (prescription slip, HIS exchange)."""
    return crypto.decrypt_text(patient.id_number_enc)


def his_card_known(session: Session, *, card_type: str, card_no: str, name: str, id_digest: str) -> bool:
    """Does the HIS have a visit on this card under this name (and, where it knows the ID number, this one)?

    Reads the ``his_visits`` table directly; when the catalogue slice's HIS adapter (server/catalogue/his.py)
    offers a card look-up, this is the one place to switch to it.
    """
    hit = session.execute(
        select(HisVisit.id).where(HisVisit.card_type == card_type, HisVisit.card_no == card_no,
                                  HisVisit.patient_name == name,
                                  or_(HisVisit.id_number_digest.is_(None),
                                      HisVisit.id_number_digest == id_digest))
        .limit(1)).first()
    return hit is not None


def _lock_account(session: Session, account_id: int) -> None:
    """Serialise patient changes of one account (the cap and the duplicate check read-then-write).

    SQLite writers already hold the database's write lock; PostgreSQL locks the account row ``FOR NO KEY
    UPDATE``: it serialises these changes with each other but not with a booking's insert, whose foreign key only
    takes a key-share lock on the account (``FOR UPDATE`` deadlocked with a booking holding the patient row).
    """
    session.execute(select(Account.id).where(Account.id == account_id).with_for_update(key_share=True))


def _contact_id(value: str) -> tuple[str, str, str]:
    """(number, encrypted, masked) for a contact's ID number, checked as a resident ID; empty stays empty."""
    n = crypto.normalise_id_number(value)
    if not n:
        return "", "", ""
    validate_resident_id(n, field="contact_id_number")
    return n, crypto.encrypt_text(n), mask_id(n)


def _photos(session: Session, *, account_id: int, front: int | None, back: int | None) -> None:
    if front is not None and front == back:
        raise AppError("id_photos_same", "身份证正面和反面请分别上传两张不同的照片", status=422)
    files.owned_files(session, account_id=account_id, file_ids=[i for i in (front, back) if i is not None],
                      purpose="id_photo")


def create_patient(session: Session, *, actor: Actor, account_id: int, data: PatientCreate) -> Patient:
    # 1. what the form itself must satisfy (no database needed)
    info = validate_id(data.id_type, data.id_number)
    sex = data.sex
    if info.sex is not None:
        if sex is not None and sex != info.sex:
            raise AppError("sex_mismatch", "所选性别与证件号码不一致，请核对后重新填写", status=422,
                           details={"field": "sex"})
        sex = info.sex
    elif sex is None:
        raise AppError("sex_required", "请选择就诊人性别", status=422, details={"field": "sex"})
    nationality = data.nationality or "中国"
    if data.kind == "first_visit" and nationality == "中国" and data.ethnicity is None:
        raise AppError("ethnicity_required", "请选择就诊人民族", status=422, details={"field": "ethnicity"})
    card_type, card_no = data.card_type, data.card_no
    if data.kind == "returning" and (card_type is None or card_no is None):
        raise AppError("card_required", "在本院就诊过的就诊人，请填写就诊卡或医保卡的卡类别和卡号",
                       status=422, details={"field": "card_no"})
    if (card_type is None) != (card_no is None):
        raise AppError("card_incomplete", "卡类别和卡号请一并填写", status=422, details={"field": "card_no"})
    if card_type is not None and card_no is not None:
        card_no = validate_card_no(card_type, card_no)
    if data.id_type == "resident_id" and (data.id_front_file_id is None or data.id_back_file_id is None):
        raise AppError("id_photos_required", "请上传身份证正面和反面照片", status=422,
                       details={"field": "id_front_file_id"})
    if data.id_back_file_id is not None and data.id_front_file_id is None:
        raise AppError("id_photos_required", "请先上传证件正面照片", status=422,
                       details={"field": "id_front_file_id"})
    _, contact_enc, contact_masked = _contact_id(data.contact_id_number)
    contact_mobile = ""
    if data.contact_mobile:
        contact_mobile = validate_mobile(data.contact_mobile, field="contact_mobile")
    if data.came_to_beijing and not (data.beijing_region or data.beijing_address):
        raise AppError("beijing_address_required", "专程来京就诊的，请填写在京地址", status=422,
                       details={"field": "beijing_address"})

    # 2. what the account must allow
    account = session.get(Account, account_id)
    if account is None:
        raise NotFound("账号")
    _lock_account(session, account_id)
    _photos(session, account_id=account_id, front=data.id_front_file_id, back=data.id_back_file_id)
    id_digest = crypto.digest(info.number)
    active = select(Patient).where(Patient.account_id == account_id, Patient.removed_at.is_(None))
    if session.execute(active.where(Patient.id_number_digest == id_digest).limit(1)).first() is not None:
        raise Conflict("patient_exists", "该证件号码的就诊人已添加，无需重复添加")
    count = session.execute(select(func.count()).select_from(active.subquery())).scalar_one()
    if count >= MAX_PATIENTS_PER_ACCOUNT:
        raise Conflict("too_many_patients", f"每个账号最多添加{MAX_PATIENTS_PER_ACCOUNT}位就诊人，"
                                             "请先删除不再就诊的就诊人")

    # 3. the SMS check of the registered number (a wrong code is counted and rolls this transaction back)
    consume_code(session, mobile=account.mobile, purpose="add_patient", code=data.code)

    # 4. the hospital's records, only after the code: no probing the HIS with guessed cards
    if data.kind == "returning" and card_type is not None and card_no is not None:
        if not his_card_known(session, card_type=card_type, card_no=card_no, name=data.name,
                              id_digest=id_digest):
            raise AppError("card_not_found", "未查询到该就诊卡的就诊记录，请核对卡号和姓名", status=400,
                           details={"field": "card_no"})

    p = Patient(
        account_id=account_id, kind=data.kind, name=data.name, sex=sex, birth_date=info.birth_date,
        nationality=nationality, ethnicity=data.ethnicity or "", id_type=data.id_type,
        id_number_enc=crypto.encrypt_text(info.number), id_number_digest=id_digest,
        id_number_masked=mask_id(info.number), card_type=card_type, card_no=card_no,
        id_front_file_id=data.id_front_file_id, id_back_file_id=data.id_back_file_id,
        came_to_beijing=data.came_to_beijing, residence_region=data.residence_region,
        residence_address=data.residence_address, beijing_region=data.beijing_region,
        beijing_address=data.beijing_address, visit_type=data.visit_type, employer=data.employer,
        contact_name=data.contact_name, contact_id_number_enc=contact_enc,
        contact_id_number_masked=contact_masked, contact_mobile=contact_mobile, occupation=data.occupation,
        marital_status=data.marital_status or "", relation=data.relation,
    )
    session.add(p)
    session.flush()
    record_change(session, actor=actor, kind="patient.created", object_type="patient", object_id=p.id,
                  topic="admin", account_id=account_id,
                  payload={"kind": p.kind, "id_type": p.id_type, "relation": p.relation})
    return p


def update_patient(session: Session, *, actor: Actor, account_id: int, patient_id: int,
                   data: PatientUpdate) -> Patient:
    p = get_owned(session, account_id=account_id, patient_id=patient_id)
    changes = data.model_dump(exclude_none=True)

    if "id_front_file_id" in changes or "id_back_file_id" in changes:
        front = changes.get("id_front_file_id", p.id_front_file_id)
        back = changes.get("id_back_file_id", p.id_back_file_id)
        new = [i for i in (changes.get("id_front_file_id"), changes.get("id_back_file_id")) if i is not None]
        if front is not None and front == back:
            raise AppError("id_photos_same", "身份证正面和反面请分别上传两张不同的照片", status=422)
        files.owned_files(session, account_id=account_id, file_ids=new, purpose="id_photo")
    contact_changed = False
    if "contact_id_number" in changes:
        number, enc, masked = _contact_id(changes.pop("contact_id_number"))
        before = crypto.decrypt_text(p.contact_id_number_enc) if p.contact_id_number_enc else ""
        if number != before:
            p.contact_id_number_enc, p.contact_id_number_masked = enc, masked
            contact_changed = True
    if changes.get("contact_mobile"):
        changes["contact_mobile"] = validate_mobile(changes["contact_mobile"], field="contact_mobile")
    came = changes.get("came_to_beijing", p.came_to_beijing)
    region = changes.get("beijing_region", p.beijing_region)
    address = changes.get("beijing_address", p.beijing_address)
    if came and not (region or address):
        raise AppError("beijing_address_required", "专程来京就诊的，请填写在京地址", status=422,
                       details={"field": "beijing_address"})

    changed: list[str] = ["contact_id_number"] if contact_changed else []  # named, never its value
    for field, value in changes.items():
        if getattr(p, field) != value:
            setattr(p, field, value)
            changed.append(field)
    if changed:
        p.updated_at = now()
        session.flush()
        record_change(session, actor=actor, kind="patient.updated", object_type="patient", object_id=p.id,
                      topic="admin", account_id=account_id, payload={"fields": sorted(changed)})
    return p


def remove_patient(session: Session, *, actor: Actor, account_id: int, patient_id: int) -> None:
    """Soft removal: appointments and records keep pointing at the row. Refused while one is open.

    The patient row is locked before the check (PostgreSQL): a booking locks it too (``_PATIENT_LOCK`` in the
    appointments slice) until it commits, so the check below sees a booking that got there first, and a booking
    that comes second finds the patient removed."""
    _lock_account(session, account_id)
    session.execute(select(Patient.id).where(Patient.id == patient_id).with_for_update())
    p = get_owned(session, account_id=account_id, patient_id=patient_id)
    open_appt = session.execute(select(Appointment.id)
                                .where(Appointment.patient_id == p.id,
                                       Appointment.status.in_(OPEN_APPOINTMENT_STATUSES))
                                .limit(1)).first()
    if open_appt is not None:
        raise Conflict("patient_has_open_appointments",
                       "该就诊人还有未完成的预约，请先完成或取消预约后再删除")
    p.removed_at = now()
    session.flush()
    record_change(session, actor=actor, kind="patient.removed", object_type="patient", object_id=p.id,
                  topic="admin", account_id=account_id, payload={})
