"""Request and response shapes of the staff slice.

The checks here refuse bad input with a 422 before anything is read or written; the same rules live in
:mod:`server.staff.service` for callers that bypass HTTP (``clinic-server demo-data``).
"""
from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from server.staff.service import (
    NAME_MAX,
    PASSWORD_MAX,
    PASSWORD_MIN,
    USERNAME_PATTERN,
    name_problem,
    password_problem,
    username_problem,
)

MAX_ID = 2**53

Role = Literal["doctor", "pharmacist", "clerk", "admin"]


def _raise_if(problem: str | None) -> None:
    if problem:
        raise ValueError(problem)


def _username(value: str) -> str:
    _raise_if(username_problem(value))
    return value


def _password(value: str) -> str:
    _raise_if(password_problem(value))
    return value


def _name(value: str) -> str:
    value = value.strip()
    _raise_if(name_problem(value))
    return value


Username = Annotated[str, Field(min_length=3, max_length=32, json_schema_extra={"pattern": USERNAME_PATTERN},
                                examples=["doctor1"]), AfterValidator(_username)]
NewPassword = Annotated[str, Field(min_length=PASSWORD_MIN, max_length=PASSWORD_MAX,
                                   description="At least 10 characters, with letters and digits"),
                        AfterValidator(_password)]
StaffName = Annotated[str, Field(min_length=1, max_length=NAME_MAX), AfterValidator(_name)]


class LoginIn(BaseModel):
    # no control characters: they are never part of a username, and PostgreSQL cannot even compare text with NUL
    username: str = Field(min_length=1, max_length=64, pattern=r"^[^\x00-\x1f\x7f]+$")
    password: str = Field(min_length=1, max_length=PASSWORD_MAX)


class StaffPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    username: str
    name: str
    role: Role
    doctor_id: int | None


class LoginOut(BaseModel):
    token: str
    staff: StaffPublic
    idle_timeout_s: int = Field(description="A session unused this long ends; log in again")
    expires_at: dt.datetime = Field(description="The session ends at this time however it is used")
    hospital: str = Field("", description="The hospital's name, as printed on slips and refund receipts")


class StaffAdminPublic(StaffPublic):
    active: bool
    failed_logins: int
    locked_until: dt.datetime | None = Field(description="Set while the account is locked after failed logins")
    created_at: dt.datetime


class StaffCreate(BaseModel):
    username: Username
    name: StaffName
    role: Role
    password: NewPassword
    doctor_id: int | None = Field(default=None, ge=1, le=MAX_ID,
                                  description="The doctor this account is; required for, and only for, doctors")

    @model_validator(mode="after")
    def _doctor_link(self) -> StaffCreate:
        if self.role == "doctor" and self.doctor_id is None:
            raise ValueError("医生账号必须选择对应的医生")
        if self.role != "doctor" and self.doctor_id is not None:
            raise ValueError("只有医生账号可以关联医生")
        return self


class StaffUpdate(BaseModel):
    name: StaffName | None = None
    active: bool | None = Field(default=None, description="false: the account can no longer log in")
    password: NewPassword | None = Field(default=None, description="A new password; ends the account's sessions")
    unlock: bool = Field(default=False, description="true: lift a lockout after failed logins")
