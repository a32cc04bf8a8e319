"""Request and response shapes of appointments, for the mini-program and the workstation."""
from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, Field

from server.catalogue.schemas import VisitPublic

MAX_ID = 2**53
Id = Annotated[int, Field(ge=1, le=MAX_ID)]


# line breaks and tabs are fine, other control characters are not (PostgreSQL cannot even store NUL)
_TEXT_PATTERN = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]*$"


def _typed_text(value: str) -> str:
    if re.search(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]", value):
        raise ValueError("病情描述含有无法识别的字符，请删除后重新提交")
    return value


# the pattern is documented for clients; the validator gives the patient a specific message
DescriptionText = Annotated[str, Field(min_length=1, max_length=2000, json_schema_extra={"pattern": _TEXT_PATTERN}),
                            AfterValidator(_typed_text)]


class AppointmentCreate(BaseModel):
    patient_id: Id
    slot_id: Id
    notice_version: int = Field(ge=1, le=MAX_ID, description="the notice version the holder accepted")


class DescriptionCreate(BaseModel):
    text: DescriptionText = Field(description="病情描述")
    file_ids: list[Id] = Field(default_factory=list, max_length=50,
                               description="uploaded files (purpose description); at most "
                                           "settings.description_max_files (9 by default)")


class DescriptionPublic(BaseModel):
    text: str
    file_ids: list[int]
    submitted_at: dt.datetime


class AppointmentSummary(BaseModel):
    id: int
    number: str
    status: str
    status_label: str
    patient_id: int
    patient_name: str
    doctor_id: int
    doctor_name: str
    doctor_title: str
    department_id: int
    department_name: str
    slot_id: int
    starts_at: dt.datetime
    ends_at: dt.datetime
    fee_fen: int
    hold_expires_at: dt.datetime | None
    paid_at: dt.datetime | None
    created_at: dt.datetime
    refund_status: str | None = Field(default=None, description="reviewing | refunding | refunded | rejected "
                                                                 "(null: no refund)")
    refund_status_label: str | None = Field(default=None,
                                            description="退号申请审核中 | 退费中 | 已退费 | 退费申请未通过")


class AppointmentDetail(AppointmentSummary):
    checked_in_at: dt.datetime | None
    waiting_since: dt.datetime | None
    completed_at: dt.datetime | None
    ended_at: dt.datetime | None
    end_reason: str
    checkin_opens_at: dt.datetime
    checkin_closes_at: dt.datetime
    can_check_in: bool
    refund_note: str | None = Field(default=None, description="why the refund application was rejected (the "
                                                               "clerk's reason) while refund_status is rejected; "
                                                               "else null")
    description: DescriptionPublic | None
    eligibility_visit: VisitPublic | None


class RecordPublic(AppointmentSummary):
    """One entry of 我的问诊 (seed 2.4): the visit with what was written during it."""

    completed_at: dt.datetime | None
    ended_at: dt.datetime | None
    end_reason: str
    description: DescriptionPublic | None
    diagnosis: str | None = Field(description="the doctor's diagnosis, once the visit is completed")


class StaffPatient(BaseModel):
    id: int
    name: str
    sex: str
    age: int | None
    id_number_masked: str
    card_type: str | None
    card_no: str | None


class Rating(BaseModel):
    """评价 of a completed visit by the account holder (server/prescriptions)."""

    stars: int
    text: str
    rated_at: dt.datetime


class StaffAppointment(BaseModel):
    """An appointment as the workstation shows it. Clinical fields are null for a clerk."""

    id: int
    number: str
    status: str
    status_label: str
    doctor_id: int
    doctor_name: str
    department_id: int
    department_name: str
    starts_at: dt.datetime
    ends_at: dt.datetime
    fee_fen: int
    paid_at: dt.datetime | None
    checked_in_at: dt.datetime | None
    waiting_since: dt.datetime | None
    waiting_s: int | None = Field(description="seconds since the patient started waiting (while waiting)")
    patient: StaffPatient
    clinical: bool = Field(description="false when clinical fields are withheld for this role")
    eligibility_visit: VisitPublic | None
    description: DescriptionPublic | None
    diagnosis_code: str | None
    diagnosis_name: str | None
    notes: str | None
    call_state: Literal["invited", "connected", "interrupted", "ended"] | None = Field(
        default=None, description="the video call's newest segment (null: never called), so a reloaded queue "
                                  "shows an interrupted call")
    rating: Rating | None = Field(default=None, description="the holder's rating once given (completed visits)")
