"""Prescription routes: the formulary, the doctor's editor and signature, the pharmacist's review, the
patient's side (fulfilment, the drug fee), the rating of a visit, and the slip's verification link.

Every POST/PUT takes an optional ``Idempotency-Key`` (server/idempotency.py): the workstation's outbox replays
actions after a crash or a dropped connection, and each must take effect exactly once. The drug fee's payment
route is idempotent the way the consultation fee's is (one open payment per prescription) and shares its
gateway hand-over (server/payments/routes.py :func:`prepay_answer`).
"""
from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Path, Query, Request, Response
from fastapi.responses import JSONResponse
from sqlalchemy.orm import Session

from server.appointments.schemas import MAX_ID
from server.audit.service import audit_refusal
from server.consultation.schemas import HospitalTime
from server.deps import (
    CurrentAccount,
    CurrentStaff,
    DbDep,
    DoctorStaff,
    PharmacistStaff,
    SessionDep,
    SettingsDep,
    StaffCtx,
    require_roles,
)
from server.errors import ErrorBody, Forbidden
from server.idempotency import IdempotencyKeyHeader, account_principal, idempotent, staff_principal
from server.payments import service as payments
from server.payments.routes import prepay_answer, remember_answer, stored_answer
from server.payments.schemas import PaymentPrepay
from server.prescriptions import schemas, service
from server.prescriptions.models import STATUSES

router = APIRouter(tags=["prescriptions"])

IdPath = Annotated[int, Path(ge=1, le=MAX_ID)]
Limit = Annotated[int, Query(ge=1, le=200)]
Offset = Annotated[int, Query(ge=0, le=100_000)]
# the roles that read prescriptions (the refund window's clerk sees a prescription's fee through its own routes)
RxReader = Annotated[StaffCtx, Depends(require_roles("doctor", "pharmacist", "admin"))]
RxStatus = Annotated[str | None, Query(pattern="^(" + "|".join(STATUSES) + ")$")]
_CONFLICTS = {409: {"model": ErrorBody, "description": "A refused transition (`invalid_state`) or another "
                                                       "conflict named by its code"}}


def _staff_view(session: Session, rx: Any) -> schemas.PrescriptionPublic:
    return service.public(session, rx)


# --- the formulary ------------------------------------------------------------------------------------------


@router.get("/staff/formulary", response_model=schemas.Formulary,
            responses={304: {"description": "Not modified (If-None-Match matched the version)"}},
            summary="The drug catalogue, frequencies, routes and limits the editor needs (ETag = version)")
def formulary(session: SessionDep, _ctx: CurrentStaff,
              if_none_match: Annotated[str | None, Header(max_length=200, pattern=r"^[\x20-\x7e]*$")] = None) -> Any:
    result = service.formulary(session)
    etag = f'"{result.version}"'
    if if_none_match is not None and if_none_match.strip() in (etag, result.version, "*"):
        return Response(status_code=304, headers={"ETag": etag})
    return JSONResponse(result.model_dump(mode="json"), headers={"ETag": etag})


# --- the doctor ---------------------------------------------------------------------------------------------


@router.post("/staff/appointments/{appointment_id}/prescriptions", status_code=201,
             response_model=schemas.PrescriptionPublic, responses=_CONFLICTS,
             summary="开处方: a new draft for the patient in consultation (needs the patient's consent)")
def create(appointment_id: IdPath, request: Request, session: SessionDep, ctx: DoctorStaff,
           body: schemas.PrescriptionDraft | None = None,
           idempotency_key: IdempotencyKeyHeader = None) -> Any:
    body = body or schemas.PrescriptionDraft()
    with idempotent(session, key=idempotency_key, principal=staff_principal(ctx), request=request,
                    body=body) as claim:
        if claim.replay is not None:
            return claim.replay
        rx = service.create(session, actor=ctx.actor, doctor_id=ctx.staff.doctor_id, staff_id=ctx.staff.id,
                            appointment_id=appointment_id, body=body)
        result = _staff_view(session, rx)
        claim.store(201, result)
        session.commit()
        return result


@router.get("/staff/appointments/{appointment_id}/prescriptions",
            response_model=list[schemas.PrescriptionPublic],
            summary="The prescriptions of the doctor's own appointment, oldest first")
def list_for_appointment(appointment_id: IdPath, session: SessionDep, ctx: DoctorStaff
                         ) -> list[schemas.PrescriptionPublic]:
    rows = service.for_appointment(session, doctor_id=ctx.staff.doctor_id, appointment_id=appointment_id)
    return [_staff_view(session, rx) for rx in rows]


@router.get("/staff/prescriptions", response_model=list[schemas.PrescriptionPublic],
            summary="审方: prescriptions for review (status filter), oldest signature first; never drafts")
def review_queue(session: SessionDep, _ctx: PharmacistStaff, status: RxStatus = None, limit: Limit = 50,
                 offset: Offset = 0,
                 changed_since: Annotated[HospitalTime | None, Query(
                     description="only prescriptions changed at or after this time (e.g. today's start)")] = None,
                 ) -> list[schemas.PrescriptionPublic]:
    rows = service.review_queue(session, status=status, limit=limit, offset=offset, changed_since=changed_since)
    return [_staff_view(session, rx) for rx in rows]


@router.get("/staff/prescriptions/{rx_id}", response_model=schemas.PrescriptionPublic,
            summary="One prescription (doctor: own; pharmacist: any but drafts; admin: any)")
def read(rx_id: IdPath, session: SessionDep, ctx: RxReader) -> schemas.PrescriptionPublic:
    rx = service.staff_get(session, role=ctx.staff.role, doctor_id=ctx.staff.doctor_id, rx_id=rx_id)
    return _staff_view(session, rx)


@router.put("/staff/prescriptions/{rx_id}", response_model=schemas.PrescriptionPublic, responses=_CONFLICTS,
            summary="Save the draft (autosave): findings recomputed, revision + 1")
def save(rx_id: IdPath, body: schemas.PrescriptionUpdate, request: Request, session: SessionDep,
         ctx: DoctorStaff, idempotency_key: IdempotencyKeyHeader = None) -> Any:
    with idempotent(session, key=idempotency_key, principal=staff_principal(ctx), request=request,
                    body=body) as claim:
        if claim.replay is not None:
            return claim.replay
        rx = service.save_draft(session, actor=ctx.actor, doctor_id=ctx.staff.doctor_id, rx_id=rx_id, body=body)
        result = _staff_view(session, rx)
        claim.store(200, result)
        session.commit()
        return result


@router.post("/staff/prescriptions/{rx_id}/sign", response_model=schemas.PrescriptionPublic,
             responses=_CONFLICTS, summary="签名: the doctor re-enters the password; every block finding resolved")
def sign(rx_id: IdPath, body: schemas.SignIn, request: Request, session: SessionDep, db: DbDep,
         ctx: DoctorStaff, idempotency_key: IdempotencyKeyHeader = None) -> Any:
    try:
        with idempotent(session, key=idempotency_key, principal=staff_principal(ctx), request=request,
                        body=body) as claim:
            if claim.replay is not None:
                return claim.replay
            rx = service.sign(session, actor=ctx.actor, doctor_id=ctx.staff.doctor_id, staff=ctx.staff,
                              rx_id=rx_id, body=body)
            result = _staff_view(session, rx)
            claim.store(200, result)
            session.commit()
            return result
    except service.SignatureRefused as refused:
        session.rollback()
        audit_refusal(db, actor=ctx.actor, action="prescription.sign", object_type="prescription",
                      object_id=refused.rx_id, details={"no": refused.no, "reason": "signature_password_incorrect"})
        raise Forbidden("signature_password_incorrect", "签名密码不正确，处方未签名") from None


@router.post("/staff/prescriptions/{rx_id}/void", response_model=schemas.PrescriptionPublic,
             responses=_CONFLICTS, summary="作废 with a reason (the patient is told if it had been issued)")
def void(rx_id: IdPath, body: schemas.ReasonIn, request: Request, session: SessionDep, ctx: DoctorStaff,
         idempotency_key: IdempotencyKeyHeader = None) -> Any:
    with idempotent(session, key=idempotency_key, principal=staff_principal(ctx), request=request,
                    body=body) as claim:
        if claim.replay is not None:
            return claim.replay
        rx = service.void(session, actor=ctx.actor, doctor_id=ctx.staff.doctor_id, rx_id=rx_id,
                          reason=body.reason)
        result = _staff_view(session, rx)
        claim.store(200, result)
        session.commit()
        return result


@router.get("/staff/prescriptions/{rx_id}/slip", response_model=schemas.SlipData, responses=_CONFLICTS,
            summary="处方笺: what the printed slip shows (signed and later, not returned or voided)")
def slip(rx_id: IdPath, session: SessionDep, ctx: RxReader) -> schemas.SlipData:
    return service.slip(session, role=ctx.staff.role, doctor_id=ctx.staff.doctor_id, rx_id=rx_id)


# --- the pharmacist -----------------------------------------------------------------------------------------


@router.post("/staff/prescriptions/{rx_id}/approve", response_model=schemas.PrescriptionPublic,
             responses=_CONFLICTS, summary="审方通过: approved and issued (SMS with the link to the patient)")
def approve(rx_id: IdPath, request: Request, session: SessionDep, ctx: PharmacistStaff,
            idempotency_key: IdempotencyKeyHeader = None) -> Any:
    with idempotent(session, key=idempotency_key, principal=staff_principal(ctx), request=request) as claim:
        if claim.replay is not None:
            return claim.replay
        rx = service.approve(session, actor=ctx.actor, staff_id=ctx.staff.id, rx_id=rx_id)
        result = _staff_view(session, rx)
        claim.store(200, result)
        session.commit()
        return result


@router.post("/staff/prescriptions/{rx_id}/return", response_model=schemas.PrescriptionPublic,
             responses=_CONFLICTS, summary="审方退回 with a reason: the doctor edits and signs again")
def return_(rx_id: IdPath, body: schemas.ReasonIn, request: Request, session: SessionDep, ctx: PharmacistStaff,
            idempotency_key: IdempotencyKeyHeader = None) -> Any:
    with idempotent(session, key=idempotency_key, principal=staff_principal(ctx), request=request,
                    body=body) as claim:
        if claim.replay is not None:
            return claim.replay
        rx = service.return_(session, actor=ctx.actor, staff_id=ctx.staff.id, rx_id=rx_id, reason=body.reason)
        result = _staff_view(session, rx)
        claim.store(200, result)
        session.commit()
        return result


@router.post("/staff/prescriptions/{rx_id}/dispense", response_model=schemas.PrescriptionPublic,
             responses=_CONFLICTS, summary="发药: a paid prescription is dispensed (pickup) or shipped (delivery)")
def dispense(rx_id: IdPath, request: Request, session: SessionDep, ctx: PharmacistStaff,
             idempotency_key: IdempotencyKeyHeader = None) -> Any:
    with idempotent(session, key=idempotency_key, principal=staff_principal(ctx), request=request) as claim:
        if claim.replay is not None:
            return claim.replay
        rx = service.dispense(session, actor=ctx.actor, staff_id=ctx.staff.id, rx_id=rx_id)
        result = _staff_view(session, rx)
        claim.store(200, result)
        session.commit()
        return result


# --- the patient --------------------------------------------------------------------------------------------


@router.get("/prescriptions", response_model=list[schemas.PatientPrescription],
            summary="My prescriptions (issued and later), newest first")
def my_prescriptions(session: SessionDep, ctx: CurrentAccount, limit: Limit = 50, offset: Offset = 0
                     ) -> list[schemas.PatientPrescription]:
    rows = service.for_account(session, account_id=ctx.account_id, limit=limit, offset=offset)
    return [service.patient_public(session, rx) for rx in rows]


@router.get("/prescriptions/{rx_id}", response_model=schemas.PatientPrescription, summary="One of my prescriptions")
def my_prescription(rx_id: IdPath, session: SessionDep, ctx: CurrentAccount) -> schemas.PatientPrescription:
    return service.patient_public(session, service.owned(session, account_id=ctx.account_id, rx_id=rx_id))


@router.get("/pharmacies", response_model=list[schemas.PharmacyPublic],
            summary="Pharmacies for pickup (nearest first when a position is given)")
def pharmacies(lat: Annotated[float | None, Query(ge=-90, le=90)] = None,
               lng: Annotated[float | None, Query(ge=-180, le=180)] = None) -> list[schemas.PharmacyPublic]:
    return service.pharmacies(lat=lat, lng=lng)


@router.post("/prescriptions/{rx_id}/fulfilment", response_model=schemas.PatientPrescription,
             responses=_CONFLICTS, summary="取药方式: pickup at a pharmacy or home delivery (again while unpaid)")
def choose_fulfilment(rx_id: IdPath, body: schemas.FulfilmentIn, request: Request, session: SessionDep,
                      ctx: CurrentAccount, idempotency_key: IdempotencyKeyHeader = None) -> Any:
    with idempotent(session, key=idempotency_key, principal=account_principal(ctx), request=request,
                    body=body) as claim:
        if claim.replay is not None:
            return claim.replay
        rx = service.choose_fulfilment(session, actor=ctx.actor, account_id=ctx.account_id, rx_id=rx_id,
                                       body=body)
        result = service.patient_public(session, rx)
        claim.store(200, result)
        session.commit()
        return result


@router.post("/prescriptions/{rx_id}/payment", status_code=201, response_model=PaymentPrepay,
             responses={200: {"model": PaymentPrepay, "description": "The open payment of this prescription"},
                        **_CONFLICTS},
             summary="Pay the drug fee (after choosing pickup or delivery)")
def pay(rx_id: IdPath, ctx: CurrentAccount, session: SessionDep, db: DbDep, settings: SettingsDep,
        request: Request, response: Response, idempotency_key: IdempotencyKeyHeader = None) -> Any:
    principal = account_principal(ctx)
    replay = stored_answer(session, key=idempotency_key, principal=principal, request=request)
    if replay is not None:
        return replay
    payment, created = payments.open_drug_payment(session, account_id=ctx.account_id, prescription_id=rx_id,
                                                  actor=ctx.actor, settings=settings)
    session.commit()
    answer = prepay_answer(session, db, settings, payment=payment, created=created, response=response)
    return remember_answer(session, key=idempotency_key, principal=principal, request=request,
                           status_code=response.status_code or 201, answer=answer)


@router.post("/appointments/{appointment_id}/rating", status_code=201, response_model=schemas.RatingPublic,
             responses=_CONFLICTS, summary="评价: stars and words once the visit is completed, once")
def rate(appointment_id: IdPath, body: schemas.RatingIn, request: Request, session: SessionDep,
         ctx: CurrentAccount, idempotency_key: IdempotencyKeyHeader = None) -> Any:
    with idempotent(session, key=idempotency_key, principal=account_principal(ctx), request=request,
                    body=body) as claim:
        if claim.replay is not None:
            return claim.replay
        appt = service.rate(session, actor=ctx.actor, account_id=ctx.account_id, appointment_id=appointment_id,
                            body=body)
        result = schemas.RatingPublic(stars=appt.rating_stars or body.stars, text=appt.rating_text or "",
                                      rated_at=appt.rated_at)
        claim.store(201, result)
        session.commit()
        return result


@router.get("/rx/verify/{token}", response_model=schemas.Verification,
            summary="处方验证 (the slip's QR code, no login): number, hospital, doctor, status, masked patient")
def verify(token: Annotated[str, Path(min_length=8, max_length=64, pattern=r"^[0-9a-f]+$")],
           session: SessionDep) -> schemas.Verification:
    return service.verification(session, token=token)
