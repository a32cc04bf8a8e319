"""Request and response shapes of the accounts slice.

Field checks give the patient a specific Chinese message (the error handler shows a validator's text), while
the OpenAPI document still carries the pattern and length bounds so clients and schema tests know them.
"""
from __future__ import annotations

import datetime as dt
import re
import unicodedata
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

MOBILE_PATTERN = "^1[3-9][0-9]{9}$"
PASSWORD_PATTERN = "^[A-Za-z0-9]{6,18}$"
CODE_PATTERN = "^[0-9]{6}$"
MAX_ID = 2**53
FEEDBACK_MAX_FILES = 9
FEEDBACK_MAX_CHARS = 500


def _checker(pattern: str, message: str):
    # fullmatch on an ASCII class: "$" would accept a trailing newline and "\d" any script's digits
    rx = re.compile(pattern.strip("^$"))

    def check(value: str) -> str:
        if not rx.fullmatch(value):
            raise ValueError(message)
        return value

    return check


def _no_control(value: str, *, allow_newlines: bool) -> str:
    allowed = {"\n", "\r", "\t"} if allow_newlines else set()
    if any(unicodedata.category(ch) in ("Cc", "Cs") and ch not in allowed for ch in value):
        raise ValueError("含有无法识别的字符，请删除后重试")
    return value


def _name(value: str) -> str:
    value = _no_control(value, allow_newlines=False).strip()
    if not value:
        raise ValueError("请填写姓名")
    if len(value) > 32:
        raise ValueError("姓名不能超过32个字")
    return value


def _feedback_text(value: str) -> str:
    value = _no_control(value, allow_newlines=True).strip()
    if len(value) > FEEDBACK_MAX_CHARS:
        raise ValueError(f"意见内容不能超过{FEEDBACK_MAX_CHARS}字")
    return value


Mobile = Annotated[str, Field(json_schema_extra={"pattern": MOBILE_PATTERN, "minLength": 11, "maxLength": 11},
                              examples=["13800138000"]),
                   AfterValidator(_checker(MOBILE_PATTERN, "请输入正确的11位手机号码"))]
Password = Annotated[str, Field(json_schema_extra={"pattern": PASSWORD_PATTERN, "minLength": 6,
                                                   "maxLength": 18}),
                     AfterValidator(_checker(PASSWORD_PATTERN, "密码须为6-18位字母或数字"))]
Code = Annotated[str, Field(json_schema_extra={"pattern": CODE_PATTERN, "minLength": 6, "maxLength": 6}),
                 AfterValidator(_checker(CODE_PATTERN, "请输入6位数字验证码"))]
Name = Annotated[str, Field(json_schema_extra={"minLength": 1, "maxLength": 32, "pattern": r"\S"}),
                 AfterValidator(_name)]
Ticket = Annotated[str, Field(min_length=1, max_length=100)]

PublicPurpose = Literal["register", "login"]
AccountPurpose = Literal["change_mobile_old", "change_mobile_new", "change_password", "add_patient"]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CodeRequest(_In):
    mobile: Mobile
    purpose: PublicPurpose


class AccountCodeRequest(_In):
    purpose: AccountPurpose
    mobile: Mobile | None = Field(default=None, description="change_mobile_new: the new number; otherwise, if "
                                                            "given, it must be the registered number")


class CodeSent(BaseModel):
    expires_in_s: int
    resend_after_s: int


class RegisterIn(_In):
    mobile: Mobile
    code: Code
    password: Password
    password_confirm: Annotated[str, Field(max_length=64)]
    name: Name


class SmsLoginIn(_In):
    mobile: Mobile
    code: Code


class PasswordLoginIn(_In):
    mobile: Mobile
    password: Annotated[str, Field(min_length=1, max_length=64)]


class AccountPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    mobile: str
    name: str
    created_at: dt.datetime


class AuthOut(BaseModel):
    token: str
    account: AccountPublic


class VerifyIn(_In):
    code: Code


class TicketOut(BaseModel):
    ticket: str
    expires_in_s: int


class MobileChangeIn(_In):
    ticket: Ticket
    new_mobile: Mobile
    code: Code


class PasswordChangeIn(_In):
    ticket: Ticket
    password: Password
    password_confirm: Annotated[str, Field(max_length=64)]


FileId = Annotated[int, Field(ge=1, le=MAX_ID)]


class FeedbackCreate(_In):
    text: Annotated[str, Field(default="", json_schema_extra={"maxLength": FEEDBACK_MAX_CHARS}),
                    AfterValidator(_feedback_text)] = ""
    file_ids: Annotated[list[FileId], Field(default_factory=list, max_length=FEEDBACK_MAX_FILES)]

    @model_validator(mode="after")
    def _words_or_pictures(self) -> FeedbackCreate:
        # seed 2.6 (3): feedback "可采用图片或文字的方式" - either is enough, nothing at all is not
        if not self.text and not self.file_ids:
            raise ValueError("请填写意见内容或上传图片")
        if len(set(self.file_ids)) != len(self.file_ids):
            raise ValueError("同一张图片只能上传一次")
        return self


class FeedbackPublic(BaseModel):
    id: int
    text: str
    file_ids: list[int]
    created_at: dt.datetime
