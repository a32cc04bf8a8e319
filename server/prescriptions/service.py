"""Prescriptions: the doctor's draft and signature, the pharmacist's review, the patient's side, expiry.

The machine (DOMAIN.md "Prescription"; docs/api-contract.md)::

    draft --sign--> signed --pharmacist--> approved --SMS--> issued --patient--> fulfilment_chosen --pays--> paid
    signed --pharmacist--> returned --doctor edits--> draft
    paid --pharmacist--> dispensed (pickup) | shipped (delivery)
    paid --clerk refunds the drug fee--> refunded (server/refunds/drug.py; never after dispensed/shipped)
    issued|fulfilment_chosen --validity passes--> expired
    draft|signed|returned|approved|issued|fulfilment_chosen --doctor voids--> voided

Every status change is one conditional UPDATE (``WHERE status = <the status we read>``) after the row was
locked, followed by its event (topic ``prescription``; the patient's account is named only from ``issued`` on:
nothing before the pharmacist's approval reaches the patient). A refused change raises before anything is
written, and the route's transaction rolls back whatever came before it.

Rules are in server/prescriptions/checks.py; this module only feeds it the catalogue and keeps its answer with
the row. The consent gate (the latest consent of the appointment is ``consented``) is enforced on create and
again on sign: a patient who declined a later request has withdrawn it.

Lock order (the same as every other writer, so two never wait on each other): the appointment row (through the
doctor's ownership check), the prescription row, payment rows, then the audit chain lock (the first
``record_change``). The payment notification locks its payment, then the prescription, and writes nothing to
the appointment.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
from dataclasses import asdict
from typing import Any

from sqlalchemy import func, select, text, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from server.accounts.models import Account
from server.actor import SYSTEM, Actor
from server.appointments import service as appointments
from server.appointments.models import Appointment
from server.catalogue.models import Department, Doctor
from server.config import get_settings
from server.consultation import service as consultation
from server.errors import AppError, Conflict, InvalidState, NotFound
from server.events.service import record_change
from server.patients.models import Patient
from server.prescriptions import catalogue, checks, schemas
from server.prescriptions.models import Prescription
from server.sms.service import send_sms
from server.staff.models import Staff
from server.timeutil import TZ, combine, now, today
from server.video.models import ConsentRequest

LABELS = {"draft": "草稿", "signed": "待审核", "returned": "已退回", "approved": "审核通过", "issued": "已开具",
          "fulfilment_chosen": "待支付", "paid": "已支付", "dispensed": "已取药", "shipped": "已发货",
          "expired": "已过期", "voided": "已作废", "refunded": "已退费"}
ALLOWED: dict[str, frozenset[str]] = {
    "draft": frozenset({"signed", "voided"}),
    "signed": frozenset({"approved", "returned", "voided"}),
    "returned": frozenset({"draft", "voided"}),
    "approved": frozenset({"issued", "voided"}),
    "issued": frozenset({"fulfilment_chosen", "expired", "voided"}),
    "fulfilment_chosen": frozenset({"fulfilment_chosen", "paid", "expired", "voided"}),
    "paid": frozenset({"dispensed", "shipped", "refunded"}),
}
EDITABLE = ("draft", "returned")
# what the patient may see: issued and everything after it (a void after issue included)
PATIENT_VISIBLE = ("issued", "fulfilment_chosen", "paid", "dispensed", "shipped", "expired", "voided", "refunded")
SLIP_STATUSES = ("signed", "approved", "issued", "fulfilment_chosen", "paid", "dispensed", "shipped", "expired")
_ACTION = {"signed": "签名", "approved": "审核通过", "returned": "退回", "issued": "开具", "draft": "修改",
           "fulfilment_chosen": "选择取药方式", "paid": "支付", "dispensed": "发药", "shipped": "发货",
           "expired": "过期", "voided": "作废", "refunded": "退费"}
_NO_LOCK_KEY = 7_277_005


def label(status: str) -> str:
    return LABELS.get(status, status)


def _refuse(rx: Prescription, to: str, message: str | None = None) -> InvalidState:
    return InvalidState(message or f"处方当前状态为「{label(rx.status)}」，不能{_ACTION.get(to, to)}",
                        details={"status": rx.status, "to": to})


def _consent_required() -> Conflict:
    return Conflict("consent_required", "患者尚未同意处方，请先在视频中请求处方知情同意")


def consented(session: Session, appointment_id: int) -> bool:
    """The gate of the video issue: the appointment's latest consent request was answered ``consented``."""
    state = session.execute(select(ConsentRequest.state).where(ConsentRequest.appointment_id == appointment_id)
                            .order_by(ConsentRequest.id.desc()).limit(1)).scalar()
    return state == "consented"


# --- numbers, tokens, links ---------------------------------------------------------------------------------


def _new_number(session: Session) -> str:
    """RX + date + a four-digit sequence of the day (RX202611260001). PostgreSQL serialises the day's numbering
    with an advisory lock held to the commit; SQLite's single writer already does."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _NO_LOCK_KEY})
    prefix = f"RX{today():%Y%m%d}"
    last = session.execute(select(func.max(Prescription.no)).where(Prescription.no.like(f"{prefix}%"))).scalar()
    seq = int(last[len(prefix):]) + 1 if last else 1
    return f"{prefix}{seq:04d}"


def verify_token(no: str) -> str:
    """The slip's QR code: an HMAC of the number, so a number alone (printed on the slip) opens nothing."""
    key = hashlib.sha256(b"rx-verify:" + get_settings().encryption_key_bytes()).digest()
    return hmac.new(key, no.encode(), hashlib.sha256).hexdigest()[:32]


def verify_url(rx: Prescription) -> str:
    return f"{get_settings().public_base_url.rstrip('/')}/api/v1/rx/verify/{rx.verify_token}"


def patient_link(rx: Prescription) -> str:
    return f"{get_settings().public_base_url.rstrip('/')}/m/prescriptions/{rx.id}"


# --- reading ------------------------------------------------------------------------------------------------


def _age(birth: dt.date | None, on: dt.date) -> int | None:
    if birth is None:
        return None
    return on.year - birth.year - ((on.month, on.day) < (birth.month, birth.day))


def _diagnosis(rx: Prescription) -> schemas.Diagnosis | None:
    if not rx.diagnosis_code and not rx.diagnosis_name:
        return None
    return schemas.Diagnosis(code=rx.diagnosis_code, name=rx.diagnosis_name)


def _fulfilment(rx: Prescription) -> schemas.Fulfilment | None:
    return schemas.Fulfilment.model_validate(rx.fulfilment) if rx.fulfilment else None


def _names(session: Session, rx: Prescription) -> tuple[Patient, Doctor, str]:
    patient = session.get(Patient, rx.patient_id)
    doctor = session.get(Doctor, rx.doctor_id)
    assert patient is not None and doctor is not None
    department = session.get(Department, doctor.department_id)
    return patient, doctor, department.name if department else ""


def public(session: Session, rx: Prescription) -> schemas.PrescriptionPublic:
    patient, doctor, department = _names(session, rx)
    reviewer = session.get(Staff, rx.reviewed_by) if rx.reviewed_by else None
    return schemas.PrescriptionPublic(
        id=rx.id, no=rx.no, appointment_id=rx.appointment_id,
        patient=schemas.PatientBrief(id=patient.id, name=patient.name, sex=patient.sex,
                                     age=_age(patient.birth_date, today())),
        doctor=schemas.PersonBrief(id=doctor.id, name=doctor.name), department=department, status=rx.status,
        revision=rx.revision, diagnosis=_diagnosis(rx), fee_category=rx.fee_category,
        allergies=list(rx.allergies or []), chronic_reason=rx.chronic_reason, validity_days=rx.validity_days,
        validity_note=rx.validity_note, notes=rx.notes,
        lines=[schemas.LinePublic.model_validate(ln) for ln in rx.lines or []],
        overrides=[schemas.Override.model_validate(o) for o in rx.overrides or []], amount_fen=rx.amount_fen,
        findings=[schemas.FindingPublic.model_validate(f) for f in rx.findings or []],
        created_at=rx.created_at, signed_at=rx.signed_at, content_hash=rx.content_hash,
        return_reason=rx.return_reason, returned_at=rx.returned_at,
        reviewed_by=schemas.PersonBrief(id=reviewer.id, name=reviewer.name) if reviewer else None,
        approved_at=rx.approved_at, issued_at=rx.issued_at, valid_until=rx.valid_until,
        fulfilment=_fulfilment(rx), paid_at=rx.paid_at, dispensed_at=rx.dispensed_at, shipped_at=rx.shipped_at,
        voided_at=rx.voided_at, void_reason=rx.void_reason, verify_url=verify_url(rx))


def refund_status(session: Session, rx_id: int) -> str | None:
    """What the patient sees of the prescription's drug-fee refunds (the same rule as an appointment's)."""
    from server.refunds.drug import prescription_refund_status

    return prescription_refund_status(session, rx_id)


def patient_public(session: Session, rx: Prescription) -> schemas.PatientPrescription:
    from server.refunds.service import PATIENT_STATUS

    patient, doctor, department = _names(session, rx)
    refund = refund_status(session, rx.id)
    lines = []
    for ln in rx.lines or []:
        drug = ln.get("drug") or {}
        lines.append(schemas.PatientLine(name=drug.get("generic_name", ln["drug_code"]),
                                         strength=drug.get("strength", ""), form=drug.get("form", ""),
                                         quantity=ln["quantity"], unit=drug.get("unit", ""),
                                         directions=ln["directions"], amount_fen=ln["amount_fen"]))
    return schemas.PatientPrescription(
        id=rx.id, no=rx.no, appointment_id=rx.appointment_id, patient_name=patient.name, doctor_name=doctor.name,
        department=department, status=rx.status, diagnosis=_diagnosis(rx), lines=lines, amount_fen=rx.amount_fen,
        issued_at=rx.issued_at, valid_until=rx.valid_until, fulfilment=_fulfilment(rx), paid_at=rx.paid_at,
        verify_url=verify_url(rx), refund_status=refund,
        refund_status_label=PATIENT_STATUS.get(refund) if refund else None)


def _lock(session: Session, rx_id: int) -> Prescription | None:
    return session.execute(select(Prescription).where(Prescription.id == rx_id).with_for_update()
                           .execution_options(populate_existing=True)).scalar_one_or_none()


def _own(session: Session, *, doctor_id: int | None, rx_id: int, lock: bool = True) -> Prescription:
    """The doctor's own prescription; another doctor's answers like a missing one."""
    rx = _lock(session, rx_id) if lock else session.get(Prescription, rx_id)
    if rx is None or doctor_id is None or rx.doctor_id != doctor_id:
        raise NotFound("处方")
    return rx


def staff_get(session: Session, *, role: str, doctor_id: int | None, rx_id: int) -> Prescription:
    """Doctor: own; pharmacist: any but drafts; admin: any."""
    rx = session.get(Prescription, rx_id)
    if rx is None:
        raise NotFound("处方")
    if role == "admin" or (role == "pharmacist" and rx.status != "draft") or \
            (role == "doctor" and doctor_id is not None and rx.doctor_id == doctor_id):
        return rx
    raise NotFound("处方")


def for_appointment(session: Session, *, doctor_id: int | None, appointment_id: int) -> list[Prescription]:
    appt = consultation.own_appointment(session, doctor_id=doctor_id, appointment_id=appointment_id, lock=False)
    return list(session.execute(select(Prescription).where(Prescription.appointment_id == appt.id)
                                .order_by(Prescription.id)).scalars())


def review_queue(session: Session, *, status: str | None, limit: int, offset: int,
                 changed_since: dt.datetime | None = None) -> list[Prescription]:
    """The pharmacists' list, oldest signature first; drafts never. ``changed_since``: only those whose last
    change (status or draft) is at or after it (a desk's "done today" without paging through the archive)."""
    q = select(Prescription).where(Prescription.status != "draft")
    if status:
        q = q.where(Prescription.status == status)
    if changed_since is not None:
        q = q.where(Prescription.updated_at >= changed_since)
    q = q.order_by(Prescription.signed_at.is_(None), Prescription.signed_at, Prescription.id)
    return list(session.execute(q.limit(limit).offset(offset)).scalars())


def previous_for_chart(session: Session, *, patient_id: int, appointment_id: int) -> list[dict[str, Any]]:
    """The same patient's signed prescriptions of other visits (the chart's ``previous_prescriptions``)."""
    rows = session.execute(select(Prescription).where(Prescription.patient_id == patient_id,
                                                      Prescription.appointment_id != appointment_id,
                                                      Prescription.signed_at.is_not(None))
                           .order_by(Prescription.signed_at.desc()).limit(20)).scalars()
    return [{"id": rx.id, "no": rx.no, "appointment_id": rx.appointment_id, "status": rx.status,
             "signed_at": rx.signed_at.isoformat() if rx.signed_at else None,
             "diagnosis": {"code": rx.diagnosis_code, "name": rx.diagnosis_name},
             "lines": [{"drug_code": ln["drug_code"], "name": (ln.get("drug") or {}).get("generic_name", ""),
                        "directions": ln["directions"], "quantity": ln["quantity"],
                        # what a renewal (续方) copies into a new draft
                        "dose": ln["dose"], "route": ln["route"], "frequency": ln["frequency"],
                        "days": ln["days"], "notes": ln.get("notes", "")} for ln in rx.lines or []]}
            for rx in rows]


# --- changing status ----------------------------------------------------------------------------------------


def _event_payload(session: Session, rx: Prescription, **extra: Any) -> dict[str, Any]:
    patient = session.get(Patient, rx.patient_id)
    payload = {"prescription_id": rx.id, "appointment_id": rx.appointment_id, "no": rx.no, "status": rx.status,
               "patient_name": patient.name if patient else ""}
    payload.update(extra)
    return payload


def _move(session: Session, rx: Prescription, to: str, *, actor: Actor, values: dict[str, Any] | None = None,
          reason: str | None = None, details: dict[str, Any] | None = None) -> Prescription:
    """The only way a prescription changes status: checked against the machine, one conditional UPDATE, the
    event."""
    current = rx.status
    if to not in ALLOWED.get(current, frozenset()):
        raise _refuse(rx, to)
    vals: dict[str, Any] = {"status": to, "updated_at": now(), **(values or {})}
    res = session.execute(update(Prescription).where(Prescription.id == rx.id, Prescription.status == current)
                          .values(**vals).execution_options(synchronize_session=False))
    if res.rowcount != 1:
        raise InvalidState("处方状态已发生变化，请刷新后重试", details={"status": current, "to": to})
    for key, value in vals.items():
        set_committed_value(rx, key, value)
    kind = "prescription.reopened" if to == "draft" else f"prescription.{to}"
    extra = {"reason": reason} if reason is not None else {}
    payload = _event_payload(session, rx, **extra)
    told = rx.issued_at is not None
    record_change(session, actor=actor, kind=kind, object_type="prescription", object_id=rx.id,
                  topic="prescription", doctor_id=rx.doctor_id, account_id=rx.account_id if told else None,
                  payload=payload, details={**payload, "from": current, **(details or {})})
    return rx


# --- the doctor ---------------------------------------------------------------------------------------------


def _draft_in(body: schemas.PrescriptionDraft) -> checks.DraftIn:
    return checks.DraftIn(
        diagnosis_code=body.diagnosis.code if body.diagnosis else "",
        diagnosis_name=body.diagnosis.name.strip() if body.diagnosis else "",
        allergies=[a.strip() for a in body.allergies if a.strip()], chronic_reason=body.chronic_reason.strip(),
        validity_days=body.validity_days, validity_note=body.validity_note.strip(),
        lines=[checks.LineIn(drug_code=ln.drug_code, dose=ln.dose, route=ln.route, frequency=ln.frequency,
                             days=ln.days, quantity=ln.quantity, notes=ln.notes) for ln in body.lines],
        overrides={o.key: o.reason.strip() for o in body.overrides})


def _draft_of(rx: Prescription) -> checks.DraftIn:
    return checks.DraftIn(
        diagnosis_code=rx.diagnosis_code, diagnosis_name=rx.diagnosis_name, allergies=list(rx.allergies or []),
        chronic_reason=rx.chronic_reason, validity_days=rx.validity_days, validity_note=rx.validity_note,
        lines=[checks.LineIn(drug_code=ln["drug_code"], dose=ln["dose"], route=ln["route"],
                             frequency=ln["frequency"], days=ln["days"], quantity=ln.get("quantity_entered"),
                             notes=ln.get("notes", "")) for ln in rx.lines or []],
        overrides={o["key"]: o["reason"] for o in rx.overrides or []})


def _evaluate(session: Session, draft: checks.DraftIn) -> checks.Result:
    codes = [ln.drug_code for ln in draft.lines]
    drugs = catalogue.drugs_by_code(session, codes)
    unknown = sorted({c for c in codes if c not in drugs})
    if unknown:
        raise AppError("unknown_drug", f"药品编码不存在：{'、'.join(unknown)}", status=422,
                       details={"codes": unknown})
    return checks.evaluate(draft, drugs, catalogue.interactions())


def _apply(rx: Prescription, body: schemas.PrescriptionDraft, result: checks.Result) -> None:
    rx.diagnosis_code = body.diagnosis.code if body.diagnosis else ""
    rx.diagnosis_name = body.diagnosis.name.strip() if body.diagnosis else ""
    rx.fee_category = body.fee_category
    rx.allergies = [a.strip() for a in body.allergies if a.strip()]
    rx.chronic_reason = body.chronic_reason.strip()
    rx.validity_days = body.validity_days
    rx.validity_note = body.validity_note.strip()
    rx.notes = body.notes
    rx.lines = [asdict(ln) for ln in result.lines]
    rx.overrides = [{"key": o.key, "reason": o.reason.strip()} for o in body.overrides]
    rx.findings = [f.public() for f in result.findings]
    rx.amount_fen = result.amount_fen


def _latest_allergies(session: Session, patient_id: int) -> list[str]:
    got = session.execute(select(Prescription.allergies).where(Prescription.patient_id == patient_id,
                                                               Prescription.signed_at.is_not(None))
                          .order_by(Prescription.signed_at.desc(), Prescription.id.desc()).limit(1)).scalar()
    return list(got or [])


def create(session: Session, *, actor: Actor, doctor_id: int | None, staff_id: int, appointment_id: int,
           body: schemas.PrescriptionDraft) -> Prescription:
    """A new draft for the doctor's own patient, in consultation (or completed today), with consent."""
    appt = consultation.own_appointment(session, doctor_id=doctor_id, appointment_id=appointment_id)
    completed_today = appt.status == "completed" and appt.completed_at is not None \
        and appt.completed_at.astimezone(TZ).date() == today()
    if appt.status != "in_consultation" and not completed_today:
        raise InvalidState("只能为正在就诊（或当日已结束就诊）的患者开具处方",
                           details={"status": appt.status, "to": "draft"})
    if not consented(session, appt.id):
        raise _consent_required()
    if "allergies" not in body.model_fields_set:
        body = body.model_copy(update={"allergies": _latest_allergies(session, appt.patient_id)})
    result = _evaluate(session, _draft_in(body))
    no = _new_number(session)
    t = now()
    rx = Prescription(no=no, verify_token=verify_token(no), appointment_id=appt.id, doctor_id=appt.doctor_id,
                      account_id=appt.account_id, patient_id=appt.patient_id, created_by=staff_id,
                      status="draft", revision=1, created_at=t, updated_at=t)
    _apply(rx, body, result)
    session.add(rx)
    session.flush()
    # a draft is audited, not streamed (autosaves write no event)
    from server.audit.service import audit

    audit(session, actor=actor, action="prescription.created", object_type="prescription", object_id=rx.id,
          details={"no": rx.no, "appointment_id": appt.id})
    return rx


def save_draft(session: Session, *, actor: Actor, doctor_id: int | None, rx_id: int,
               body: schemas.PrescriptionUpdate) -> Prescription:
    """Autosave: findings recomputed, ``revision`` + 1. A returned prescription becomes a draft again."""
    rx = _own(session, doctor_id=doctor_id, rx_id=rx_id)
    if rx.status not in EDITABLE:
        raise Conflict("prescription_immutable", "处方已签名，不能再修改；如需更改请作废后重新开具",
                       details={"status": rx.status})
    if body.revision != rx.revision:
        raise Conflict("draft_conflict", "处方已在其他窗口修改，请刷新后再编辑", details={"revision": rx.revision})
    draft = schemas.PrescriptionDraft.model_validate(body.model_dump(exclude={"revision"}))
    result = _evaluate(session, _draft_in(draft))
    if rx.status == "returned":
        _move(session, rx, "draft", actor=actor)
    _apply(rx, draft, result)
    rx.revision = rx.revision + 1
    rx.updated_at = now()
    session.flush()
    return rx


def canonical_content(rx: Prescription) -> dict[str, Any]:
    """What the signature covers: everything clinical and the money, in a stable shape."""
    return {"no": rx.no, "appointment_id": rx.appointment_id, "patient_id": rx.patient_id,
            "doctor_id": rx.doctor_id, "diagnosis": {"code": rx.diagnosis_code, "name": rx.diagnosis_name},
            "fee_category": rx.fee_category, "allergies": rx.allergies, "chronic_reason": rx.chronic_reason,
            "validity_days": rx.validity_days, "validity_note": rx.validity_note, "notes": rx.notes,
            "lines": rx.lines, "overrides": rx.overrides, "amount_fen": rx.amount_fen, "revision": rx.revision}


def content_hash(content: dict[str, Any]) -> str:
    raw = json.dumps(content, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(raw.encode()).hexdigest()


class SignatureRefused(Exception):
    """The password did not match: the route rolls back, audits the refusal and answers 403."""

    def __init__(self, rx_id: int, no: str) -> None:
        super().__init__("signature_password_incorrect")
        self.rx_id = rx_id
        self.no = no


def sign(session: Session, *, actor: Actor, doctor_id: int | None, staff: Staff, rx_id: int,
         body: schemas.SignIn) -> Prescription:
    from server.security import verify_password

    rx = _own(session, doctor_id=doctor_id, rx_id=rx_id)
    if rx.status != "draft":
        raise _refuse(rx, "signed", "处方已签名" if rx.status != "returned" else
                      "处方已被药师退回，请修改后再签名")
    if body.revision != rx.revision:
        raise Conflict("draft_conflict", "处方已在其他窗口修改，请刷新后再签名", details={"revision": rx.revision})
    if not verify_password(staff.password_hash, body.password):
        raise SignatureRefused(rx.id, rx.no)
    if not consented(session, rx.appointment_id):
        raise _consent_required()
    # the rules again, on the catalogue of now (the same function the autosaves used)
    result = _evaluate(session, _draft_of(rx))
    rx.lines = [asdict(ln) for ln in result.lines]
    rx.findings = [f.public() for f in result.findings]
    rx.amount_fen = result.amount_fen
    unresolved = result.unresolved
    if unresolved:
        raise Conflict("checks_unresolved", "处方还有未解决的问题，请修改或填写理由后再签名",
                       details={"findings": [f.public() for f in unresolved]})
    content = canonical_content(rx)
    digest = content_hash(content)
    t = now()
    return _move(session, rx, "signed", actor=actor,
                 values={"signed_at": t, "signed_by": staff.id, "content_hash": digest, "lines": rx.lines,
                         "findings": rx.findings, "amount_fen": rx.amount_fen, "updated_at": t},
                 details={"content_hash": digest, "content": content})


def void(session: Session, *, actor: Actor, doctor_id: int | None, rx_id: int, reason: str) -> Prescription:
    rx = _own(session, doctor_id=doctor_id, rx_id=rx_id)
    reason = reason.strip()
    if len(reason) < 2:
        raise AppError("reason_too_short", "请填写作废原因（至少2个字）", status=422)
    if rx.status == "voided":
        raise _refuse(rx, "voided", "处方已作废")
    if rx.status in ("paid", "dispensed", "shipped"):
        raise _refuse(rx, "voided", "患者已支付药费，处方不能作废；如需退药退费请联系药房")
    told = rx.issued_at is not None
    _move(session, rx, "voided", actor=actor, values={"voided_at": now(), "void_reason": reason}, reason=reason)
    if told:
        account = session.get(Account, rx.account_id)
        patient, doctor, _ = _names(session, rx)
        if account is not None:
            send_sms(session, mobile=account.mobile, kind="prescription_voided",
                     body=f"【{get_settings().hospital_name}】{patient.name}您好，{doctor.name}医生为您开具的处方"
                          f"（{rx.no}）已作废，原因：{reason}。请勿再取药或支付，如有疑问请联系医生。")
    return rx


# --- the pharmacist -----------------------------------------------------------------------------------------


def _any(session: Session, rx_id: int) -> Prescription:
    rx = _lock(session, rx_id)
    if rx is None or rx.status == "draft":
        raise NotFound("处方")
    return rx


def valid_until(issued: dt.datetime, validity_days: int) -> dt.datetime:
    """当日有效 = until the end of the day of issue; n days = the end of the n-th day."""
    last_day = issued.astimezone(TZ).date() + dt.timedelta(days=validity_days - 1)
    return combine(last_day, dt.time(23, 59, 59))


def approve(session: Session, *, actor: Actor, staff_id: int, rx_id: int) -> Prescription:
    """审方通过: approved, then issued in the same transaction with the SMS (link to the prescription)."""
    rx = _any(session, rx_id)
    if rx.status != "signed":
        raise _refuse(rx, "approved")
    t = now()
    _move(session, rx, "approved", actor=actor, values={"approved_at": t, "reviewed_by": staff_id})
    until = valid_until(t, rx.validity_days)
    _move(session, rx, "issued", actor=actor, values={"issued_at": t, "valid_until": until})
    account = session.get(Account, rx.account_id)
    patient, doctor, _ = _names(session, rx)
    if account is not None:
        send_sms(session, mobile=account.mobile, kind="prescription_issued",
                 body=f"【{get_settings().hospital_name}】{patient.name}您好，{doctor.name}医生为您开具的处方（{rx.no}）"
                      f"已通过药师审核，请于{until.month}月{until.day}日前点击链接查看处方，选择就近药店取药或送药上门并"
                      f"支付药费：{patient_link(rx)}")
    return rx


def return_(session: Session, *, actor: Actor, staff_id: int, rx_id: int, reason: str) -> Prescription:
    rx = _any(session, rx_id)
    reason = reason.strip()
    if len(reason) < 2:
        raise AppError("reason_too_short", "请填写退回原因（至少2个字）", status=422)
    if rx.status != "signed":
        raise _refuse(rx, "returned")
    return _move(session, rx, "returned", actor=actor,
                 values={"return_reason": reason, "returned_at": now(), "reviewed_by": staff_id}, reason=reason)


def dispense(session: Session, *, actor: Actor, staff_id: int, rx_id: int) -> Prescription:
    rx = _any(session, rx_id)
    if rx.status != "paid":
        refusals = {"dispensed": "该处方已发药", "shipped": "该处方已发药", "refunded": "该处方药费已退费，不能发药"}
        raise _refuse(rx, "dispensed", refusals.get(rx.status, "只能为已支付的处方发药"))
    method = (rx.fulfilment or {}).get("method")
    if method == "delivery":
        return _move(session, rx, "shipped", actor=actor, values={"shipped_at": now(), "dispensed_by": staff_id})
    return _move(session, rx, "dispensed", actor=actor, values={"dispensed_at": now(), "dispensed_by": staff_id})


# --- the slip -----------------------------------------------------------------------------------------------


def age_label(birth: dt.date | None, on: dt.date) -> str:
    """"45岁"; children under 14 with months ("3岁2月", "8月")."""
    if birth is None:
        return ""
    months = (on.year - birth.year) * 12 + on.month - birth.month - (on.day < birth.day)
    years, rest = divmod(max(0, months), 12)
    if years >= 14 or rest == 0:
        return f"{years}岁" if years else "不足1月"
    return f"{years}岁{rest}月" if years else f"{rest}月"


def slip(session: Session, *, role: str, doctor_id: int | None, rx_id: int) -> schemas.SlipData:
    rx = staff_get(session, role=role, doctor_id=doctor_id, rx_id=rx_id)
    if rx.status not in SLIP_STATUSES:
        raise _refuse(rx, "slip", f"处方当前状态为「{label(rx.status)}」，不能打印处方笺")
    patient, doctor, department = _names(session, rx)
    reviewer = session.get(Staff, rx.reviewed_by) if rx.reviewed_by else None
    on = (rx.signed_at or rx.created_at).astimezone(TZ).date()
    paediatric = (_age(patient.birth_date, on) or 99) < 14
    lines = []
    for ln in rx.lines or []:
        drug = ln.get("drug") or {}
        lines.append(schemas.SlipLine(name=drug.get("generic_name", ln["drug_code"]), strength=drug.get("strength", ""),
                                      form=drug.get("form", ""), quantity_label=f"{ln['quantity']}{drug.get('unit', '')}",
                                      directions=ln["directions"]))
    return schemas.SlipData(
        hospital=get_settings().hospital_name, title="处方笺", slip_type="paediatric" if paediatric else "ordinary",
        slip_mark="儿科" if paediatric else "普通", no=rx.no,
        fee_category_label="医保" if rx.fee_category == "insurance" else "自费",
        patient=schemas.SlipPatient(name=patient.name, sex="男" if patient.sex == "male" else "女",
                                    age_label=age_label(patient.birth_date, on), card_no=patient.card_no,
                                    id_masked=patient.id_number_masked),
        department=department, date=on.isoformat(), diagnosis=f"{rx.diagnosis_code} {rx.diagnosis_name}".strip(),
        lines=lines, doctor_name=doctor.name, signed_at=rx.signed_at, amount_fen=rx.amount_fen,
        reviewer_name=reviewer.name if reviewer else None, verify_url=verify_url(rx),
        allergies=list(rx.allergies or []), notes=rx.notes,
        validity_label="当日有效" if rx.validity_days == 1 else f"{rx.validity_days}日内有效")


# --- the patient --------------------------------------------------------------------------------------------


def for_account(session: Session, *, account_id: int, limit: int = 50, offset: int = 0) -> list[Prescription]:
    return list(session.execute(select(Prescription).where(Prescription.account_id == account_id,
                                                           Prescription.issued_at.is_not(None),
                                                           Prescription.status.in_(PATIENT_VISIBLE))
                                .order_by(Prescription.issued_at.desc(), Prescription.id.desc())
                                .limit(limit).offset(offset)).scalars())


def owned(session: Session, *, account_id: int, rx_id: int, lock: bool = False) -> Prescription:
    """The holder's own prescription, once issued; before that (and another holder's) answers like absent."""
    rx = _lock(session, rx_id) if lock else session.get(Prescription, rx_id)
    if rx is None or rx.account_id != account_id or rx.issued_at is None or rx.status not in PATIENT_VISIBLE:
        raise NotFound("处方")
    return rx


def _expired() -> Conflict:
    return Conflict("prescription_expired", "处方已过期，请重新问诊")


def _check_open(rx: Prescription, to: str) -> None:
    if rx.status == "expired" or (rx.status in ("issued", "fulfilment_chosen") and rx.valid_until is not None
                                  and rx.valid_until <= now()):
        raise _expired()
    if rx.status == "voided":
        raise _refuse(rx, to, "处方已被医生作废")
    if rx.status == "refunded":
        raise _refuse(rx, to, "药费已退费，该处方不能再取药或支付，如需用药请重新问诊")
    if rx.status in ("paid", "dispensed", "shipped"):
        raise _refuse(rx, to, "药费已支付，不能再修改取药方式" if to == "fulfilment_chosen" else "药费已支付")


def choose_fulfilment(session: Session, *, actor: Actor, account_id: int, rx_id: int,
                      body: schemas.FulfilmentIn) -> Prescription:
    rx = owned(session, account_id=account_id, rx_id=rx_id, lock=True)
    _check_open(rx, "fulfilment_chosen")
    if body.method == "pickup":
        if body.pharmacy_id is None:
            raise AppError("pharmacy_required", "请选择取药药店", status=422)
        shop = catalogue.pharmacy(body.pharmacy_id)
        if shop is None:
            raise AppError("unknown_pharmacy", "药店不存在，请重新选择", status=422)
        fulfilment: dict[str, Any] = {"method": "pickup", "pharmacy": {
            "id": shop.id, "name": shop.name, "address": shop.address, "district": shop.district,
            "phone": shop.phone, "hours": shop.hours, "distance_m": None}, "address": None}
    else:
        if body.address is None:
            raise AppError("address_required", "请填写收货地址", status=422)
        fulfilment = {"method": "delivery", "pharmacy": None, "address": body.address.model_dump()}
    return _move(session, rx, "fulfilment_chosen", actor=actor,
                 values={"fulfilment": fulfilment, "fulfilment_at": now()})


def payable(session: Session, *, account_id: int, rx_id: int) -> Prescription:
    """The prescription a drug-fee payment may be opened for (locked), or the refusal."""
    rx = owned(session, account_id=account_id, rx_id=rx_id, lock=True)
    if rx.status == "issued":
        if rx.valid_until is not None and rx.valid_until <= now():
            raise _expired()
        raise Conflict("fulfilment_required", "请先选择取药方式（就近药店取药或送药上门）")
    _check_open(rx, "paid")
    if rx.amount_fen <= 0:
        raise Conflict("no_payment_needed", "该处方无需支付药费")
    return rx


def mark_paid(session: Session, *, prescription_id: int, payment_id: int, paid_at: dt.datetime,
              actor: Actor) -> str | None:
    """The payment notification's hand-over (server/payments/service.py): once, from ``fulfilment_chosen``.
    Returns why it could not take the money (for the refund work), or None."""
    rx = _lock(session, prescription_id)
    if rx is None:
        return "prescription_missing"
    if rx.status != "fulfilment_chosen":
        return "prescription_not_payable"
    _move(session, rx, "paid", actor=actor, values={"paid_at": paid_at, "payment_id": payment_id})
    return None


def lock_for_refund(session: Session, rx_id: int) -> Prescription | None:
    """The prescription row locked for a drug-fee refund (the caller holds its payment's lock already)."""
    return _lock(session, rx_id)


def mark_refunded(session: Session, rx: Prescription, *, actor: Actor, reason: str) -> Prescription:
    """退费: a paid prescription whose drug fee goes back (server/refunds/drug.py); paid -> refunded only."""
    return _move(session, rx, "refunded", actor=actor, reason=reason)


def expire(session: Session, *, rx_id: int, at: dt.datetime) -> int:
    rx = _lock(session, rx_id)
    if rx is None or rx.status not in ("issued", "fulfilment_chosen") or rx.valid_until is None \
            or rx.valid_until >= at:
        return 0
    _move(session, rx, "expired", actor=SYSTEM, values={"expired_at": at})
    return 1


# --- rating and verification --------------------------------------------------------------------------------


def rate(session: Session, *, actor: Actor, account_id: int, appointment_id: int,
         body: schemas.RatingIn) -> Appointment:
    appt = appointments.get_owned(session, account_id=account_id, appointment_id=appointment_id, lock=True)
    if appt.rated_at is not None:
        raise Conflict("already_rated", "您已评价过本次就诊")
    if appt.status != "completed":
        raise InvalidState("就诊结束后才能评价", details={"status": appt.status, "to": "rated"})
    t = now()
    values = {"rating_stars": body.stars, "rating_text": body.text.strip(), "rated_at": t}
    res = session.execute(update(Appointment).where(Appointment.id == appt.id, Appointment.rated_at.is_(None))
                          .values(**values).execution_options(synchronize_session=False))
    if res.rowcount != 1:
        raise Conflict("already_rated", "您已评价过本次就诊")
    for k, v in values.items():
        set_committed_value(appt, k, v)
    payload = {**appointments.event_payload(session, appt), "stars": body.stars}
    record_change(session, actor=actor, kind="appointment.rated", object_type="appointment", object_id=appt.id,
                  topic="clinical", doctor_id=appt.doctor_id, account_id=appt.account_id, payload=payload,
                  details={**payload, "text": values["rating_text"]})
    return appt


def mask_name(name: str) -> str:
    if len(name) <= 1:
        return name
    if len(name) == 2:
        return name[0] + "*"
    return name[0] + "*" * (len(name) - 2) + name[-1]


def verification(session: Session, *, token: str) -> schemas.Verification:
    rx = session.execute(select(Prescription).where(Prescription.verify_token == token)).scalar_one_or_none()
    if rx is None or rx.status in ("draft",) or rx.signed_at is None:
        raise NotFound("处方")
    patient, doctor, department = _names(session, rx)
    return schemas.Verification(no=rx.no, hospital=get_settings().hospital_name,
                                issued_on=rx.issued_at.astimezone(TZ).date().isoformat()
                                if rx.issued_at else None,
                                doctor=doctor.name, department=department, status=rx.status,
                                patient_masked=mask_name(patient.name))


# --- the formulary ------------------------------------------------------------------------------------------


def formulary(session: Session) -> schemas.Formulary:
    drugs = catalogue.active_drugs(session)
    return schemas.Formulary(
        version=catalogue.version_of(drugs), drugs=[schemas.DrugPublic.model_validate(d.public()) for d in drugs],
        frequencies=[schemas.FrequencyPublic(code=c, label_zh=zh, label_en=en, per_day=p)
                     for c, zh, en, p in catalogue.FREQUENCIES],
        routes=[schemas.RoutePublic(code=c, label_zh=zh, label_en=en) for c, zh, en in catalogue.ROUTES],
        limits=schemas.Limits(**catalogue.LIMITS))


def pharmacies(*, lat: float | None, lng: float | None) -> list[schemas.PharmacyPublic]:
    out = []
    for p in catalogue.pharmacies():
        d = p.distance_m(lat, lng) if lat is not None and lng is not None else None
        out.append(schemas.PharmacyPublic(id=p.id, name=p.name, address=p.address, district=p.district,
                                          phone=p.phone, hours=p.hours, distance_m=d))
    if lat is not None and lng is not None:
        out.sort(key=lambda p: (p.distance_m or 0, p.id))
    return out
