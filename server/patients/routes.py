"""The account holder's patients (就诊人): list, add (seed 2.2), view, change details, remove."""
from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path

from server.deps import CurrentAccount, SessionDep
from server.patients import service
from server.patients.schemas import PatientCreate, PatientPublic, PatientUpdate

router = APIRouter(tags=["patients"])

PatientId = Annotated[int, Path(ge=1, le=2**53, description="Patient id")]


@router.get("/patients", response_model=list[PatientPublic], summary="My patients")
def list_patients(ctx: CurrentAccount, session: SessionDep) -> list[PatientPublic]:
    return [PatientPublic.model_validate(p) for p in service.list_owned(session, account_id=ctx.account.id)]


@router.post("/patients", status_code=201, response_model=PatientPublic, summary="Add a patient",
             description="`kind=returning` needs a card (hospital or insurance) the hospital's records know "
                         "under the same name; `kind=first_visit` adds sex, nationality and ethnicity. A "
                         "resident ID needs both ID photos. `code`: SMS code of purpose `add_patient`.")
def add_patient(ctx: CurrentAccount, session: SessionDep, body: PatientCreate) -> PatientPublic:
    p = service.create_patient(session, actor=ctx.actor, account_id=ctx.account.id, data=body)
    session.commit()
    return PatientPublic.model_validate(p)


@router.get("/patients/{patient_id}", response_model=PatientPublic, summary="One of my patients")
def get_patient(ctx: CurrentAccount, session: SessionDep, patient_id: PatientId) -> PatientPublic:
    return PatientPublic.model_validate(service.get_owned(session, account_id=ctx.account.id,
                                                          patient_id=patient_id))


@router.patch("/patients/{patient_id}", response_model=PatientPublic, summary="Change a patient's details",
              description="Details, contact, addresses and ID photos. Identity fields (name, ID, sex, "
                          "nationality, ethnicity, kind, card) are refused with `field_not_editable`.")
def update_patient(ctx: CurrentAccount, session: SessionDep, patient_id: PatientId,
                   body: PatientUpdate) -> PatientPublic:
    p = service.update_patient(session, actor=ctx.actor, account_id=ctx.account.id, patient_id=patient_id,
                               data=body)
    session.commit()
    return PatientPublic.model_validate(p)


@router.delete("/patients/{patient_id}", status_code=204, summary="Remove a patient",
               description="Refused with `patient_has_open_appointments` while an appointment is open.")
def remove_patient(ctx: CurrentAccount, session: SessionDep, patient_id: PatientId) -> None:
    service.remove_patient(session, actor=ctx.actor, account_id=ctx.account.id, patient_id=patient_id)
    session.commit()
