"""Request and response shapes of the catalogue: departments, doctors, slots, the notice, eligibility, schedules."""
from __future__ import annotations

import datetime as dt
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

MAX_ID = 2**53
Id = Annotated[int, Field(ge=1, le=MAX_ID)]
# dates a person could mean; keeps date arithmetic far from the calendar's ends
MIN_DAY = dt.date(2000, 1, 1)
MAX_DAY = dt.date(2100, 12, 31)
Day = Annotated[dt.date, Field(ge=MIN_DAY, le=MAX_DAY)]
# typed text: no control characters (PostgreSQL cannot store NUL at all); the introduction may have line breaks
LINE = r"^[^\x00-\x1f\x7f]*$"
LINES = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]*$"
HHMM = Annotated[str, Field(pattern=r"^([01]\d|2[0-3]):[0-5]\d$", examples=["09:00"],
                            description="Shanghai wall-clock time, HH:MM")]
HHMM_END = Annotated[str, Field(pattern=r"^(([01]\d|2[0-3]):[0-5]\d|24:00)$", examples=["11:30"],
                                description="Shanghai wall-clock time, HH:MM; 24:00 is the end of the day")]


class DepartmentPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    code: str
    name: str
    introduction: str


class DoctorPublic(BaseModel):
    id: int
    department_id: int
    department_name: str
    name: str
    title: str
    specialty: str
    introduction: str
    photo_url: str | None
    fee_fen: int
    active: bool


class DoctorCreate(BaseModel):
    department_id: Id
    name: str = Field(min_length=1, max_length=32, pattern=LINE)
    title: str = Field(min_length=1, max_length=32, pattern=LINE, examples=["主任医师"])
    specialty: str = Field(default="", max_length=200, pattern=LINE)
    introduction: str = Field(default="", max_length=4000, pattern=LINES)
    fee_fen: int = Field(ge=0, le=10_000_000, description="consultation fee in fen")
    photo_file_id: Id | None = None


class DoctorUpdate(BaseModel):
    department_id: Id | None = None
    name: str | None = Field(default=None, min_length=1, max_length=32, pattern=LINE)
    title: str | None = Field(default=None, min_length=1, max_length=32, pattern=LINE)
    specialty: str | None = Field(default=None, max_length=200, pattern=LINE)
    introduction: str | None = Field(default=None, max_length=4000, pattern=LINES)
    fee_fen: int | None = Field(default=None, ge=0, le=10_000_000)
    photo_file_id: Id | None = None
    active: bool | None = None


class SlotPublic(BaseModel):
    id: int
    doctor_id: int
    starts_at: dt.datetime
    ends_at: dt.datetime
    capacity: int
    remaining: int
    status: str = Field(description="open | stopped")
    bookable: bool


class NoticePublic(BaseModel):
    version: int
    title: str
    body: str
    published_at: dt.datetime | None


class NoticeAccept(BaseModel):
    version: int = Field(ge=1, le=MAX_ID)


class VisitPublic(BaseModel):
    """A past outpatient visit that makes a patient eligible for an online revisit."""

    visit_date: dt.date
    department: str
    doctor_name: str
    diagnosis: str


class EligibilityPublic(BaseModel):
    eligible: bool
    reason: str
    visit: VisitPublic | None


class ScheduleCreate(BaseModel):
    doctor_id: Id
    day: Day
    start: HHMM
    end: HHMM_END
    slot_minutes: int = Field(ge=5, le=240)
    capacity_per_slot: int = Field(ge=1, le=100)


class ScheduleSlot(BaseModel):
    id: int
    starts_at: dt.datetime
    ends_at: dt.datetime
    capacity: int
    booked: int
    status: str


class SchedulePublic(BaseModel):
    id: int
    doctor_id: int
    doctor_name: str
    day: dt.date
    starts_at: dt.datetime
    ends_at: dt.datetime
    status: str
    created_at: dt.datetime
    slots: list[ScheduleSlot]
    affected_appointment_ids: list[int] = Field(
        default_factory=list, description="paid appointments on the schedule's slots when it was deleted")
