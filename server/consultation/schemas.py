"""Request and response shapes of the doctor's workstation: the visit record, the chart, clinic stops."""
from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, Field

from server.appointments.schemas import MAX_ID, StaffPatient
from server.catalogue.schemas import VisitPublic
from server.timeutil import local

# ICD-10 by format: a letter, two digits, optionally a dot and one or two digits (E11, E11.9, I10.01)
ICD10_PATTERN = r"^[A-Z][0-9]{2}(\.[0-9]{1,2})?$"
ICD10_OR_EMPTY = r"^([A-Z][0-9]{2}(\.[0-9]{1,2})?)?$"
MIN_YEAR, MAX_YEAR = 2000, 2100
# typed text: no control characters (PostgreSQL cannot even store NUL); notes may have line breaks and tabs
LINE = r"^[^\x00-\x1f\x7f]*$"
LINES = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]*$"


def _shanghai(value: dt.datetime) -> dt.datetime:
    """A time the hospital can mean: between 2000 and 2100, naive values read as Shanghai time."""
    if not MIN_YEAR <= value.year <= MAX_YEAR:
        raise ValueError(f"时间须在{MIN_YEAR}年至{MAX_YEAR}年之间")
    return local(value)


HospitalTime = Annotated[dt.datetime, AfterValidator(_shanghai)]


class VisitRecord(BaseModel):
    """The doctor's record of a visit: the draft pushed while in consultation, or the final one at finish."""

    diagnosis_code: str = Field(default="", max_length=6, pattern=ICD10_OR_EMPTY,
                                description="ICD-10 code, e.g. E11.9 (may be empty in a draft; required to "
                                            "finish)")
    diagnosis_name: str = Field(default="", max_length=100, pattern=LINE,
                                description="诊断名称, 1–100 characters (may be empty in a draft; required to "
                                            "finish)")
    notes: str = Field(default="", max_length=5000, pattern=LINES,
                       description="病历记录: complaint, findings, advice")


class MissedCreate(BaseModel):
    reason: str = Field(default="", max_length=200, pattern=LINE, description="e.g. 呼叫三次未应答")


class ChartFile(BaseModel):
    id: int
    content_type: str
    size: int
    purpose: str


class ChartDescription(BaseModel):
    text: str
    submitted_at: dt.datetime
    files: list[ChartFile]


class PreviousVisit(BaseModel):
    appointment_id: int
    number: str
    status: str
    status_label: str
    starts_at: dt.datetime
    doctor_id: int
    doctor_name: str
    department_name: str
    diagnosis_code: str | None = Field(description="once the visit is completed")
    diagnosis_name: str | None = Field(description="once the visit is completed")
    completed_at: dt.datetime | None


class Chart(BaseModel):
    """Everything the workstation's chart panel shows for one appointment."""

    appointment_id: int
    number: str
    status: str
    status_label: str
    doctor_id: int
    doctor_name: str
    department_name: str
    starts_at: dt.datetime
    ends_at: dt.datetime
    checked_in_at: dt.datetime | None
    waiting_since: dt.datetime | None
    called_at: dt.datetime | None
    completed_at: dt.datetime | None
    diagnosis_code: str
    diagnosis_name: str
    notes: str
    patient: StaffPatient = Field(description="age in whole years on today's date in Shanghai")
    eligibility_visit: VisitPublic | None = Field(description="the HIS outpatient visit that made the "
                                                              "patient eligible for this online revisit")
    description: ChartDescription | None = Field(description="病情描述, once the patient submitted it")
    previous_visits: list[PreviousVisit] = Field(description="this patient's earlier paid appointments at "
                                                             "the service, newest first")
    previous_prescriptions: list[dict[str, Any]] = Field(default_factory=list,
                                                         description="filled once prescriptions exist")


class ClinicStopCreate(BaseModel):
    doctor_id: int | None = Field(default=None, ge=1, le=MAX_ID,
                                  description="the doctor who stops; a doctor may omit it (themselves); "
                                              "an admin must give it")
    starts_at: HospitalTime
    ends_at: HospitalTime = Field(description="after starts_at, in the future, at most 31 days after "
                                              "starts_at")
    reason: str = Field(min_length=2, max_length=200, pattern=LINE, description="停诊原因, shown to the patients")


class ClinicStopPublic(BaseModel):
    id: int
    doctor_id: int
    doctor_name: str
    starts_at: dt.datetime
    ends_at: dt.datetime
    reason: str
    declared_by: int = Field(description="staff id of who declared it")
    stopped_slots: int = Field(description="slots of the period that were open and are now stopped")
    cancelled_appointments: int = Field(description="appointments cancelled by the hospital (refunds "
                                                    "requested for the paid ones)")
    created_at: dt.datetime


class ClinicStopPreview(BaseModel):
    """What ``POST /staff/clinic-stops`` of the same doctor and period would do if declared now (counts only;
    bookings made or cancelled in between change them)."""

    doctor_id: int
    doctor_name: str
    starts_at: dt.datetime
    ends_at: dt.datetime
    slots: int = Field(description="open slots of the period the stop would stop")
    appointments: int = Field(description="appointments the stop would cancel (booked patients)")
    paid_appointments: int = Field(description="of those, the paid ones (a refund would be requested)")
    first_starts_at: dt.datetime | None = Field(description="start of the earliest of those appointments")
    last_starts_at: dt.datetime | None = Field(description="start of the latest of those appointments")
