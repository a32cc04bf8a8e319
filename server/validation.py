"""Checking what people type: ID numbers, mobile numbers, card numbers; and masking them for display.

Two layers, used together:

* Pydantic types (``MobileStr``, ``IdNumberStr``, ``CardNoStr``, ``IdType``) refuse the wrong *shape* with a
  422 before a route runs, and put the pattern into the OpenAPI document.
* ``validate_*`` functions check the *meaning* (the GB 11643 check digit, a real birth date) and raise
  :class:`AppError` with a stable code, because the rule depends on another field (the ID type) or the caller
  wants a specific code (``id_number_invalid``).
"""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Annotated, Literal

from pydantic import AfterValidator, StringConstraints
from stdnum.cn import ric
from stdnum.exceptions import ValidationError as StdnumError

from server.errors import AppError
from server.timeutil import today

# ----------------------------------------------------------------------------------------------------------
# ID documents

IdType = Literal["resident_id", "passport", "hk_macau_permit", "taiwan_permit", "foreign_permanent_id",
                 "hmt_residence_permit"]

ID_TYPE_LABELS: dict[str, str] = {
    "resident_id": "居民身份证",
    "passport": "护照",
    "hk_macau_permit": "港澳居民来往内地通行证",
    "taiwan_permit": "台湾居民来往大陆通行证",
    "foreign_permanent_id": "外国人永久居留身份证",
    "hmt_residence_permit": "港澳台居民居住证",
}

Sex = Literal["male", "female"]

# GB/T 2260 province-level codes that begin a resident ID number (71 Taiwan is issued only exceptionally)
_PROVINCES = frozenset({
    "11", "12", "13", "14", "15", "21", "22", "23", "31", "32", "33", "34", "35", "36", "37",
    "41", "42", "43", "44", "45", "46", "50", "51", "52", "53", "54", "61", "62", "63", "64", "65", "71",
})
# 港澳台居民居住证: Hong Kong, Macao, Taiwan; the rest of the address code is zero
_HMT_PREFIXES = ("810000", "820000", "830000")
_EARLIEST_BIRTH = dt.date(1900, 1, 1)

_PASSPORT = re.compile(r"[A-Z0-9]{5,17}")
_HK_MACAU = re.compile(r"[HM][0-9]{8,10}")
_TAIWAN = re.compile(r"[0-9]{8}")
_FOREIGN_15 = re.compile(r"[A-Z]{3}[0-9]{12}")  # 2004/2017 cards: ISO country letters + 12 digits
_GB11643_BODY = re.compile(r"[0-9]{17}[0-9X]")

_INVALID_MESSAGES: dict[str, str] = {
    "resident_id": "身份证号码校验失败，请核对后重新输入",
    "passport": "护照号码格式不正确（5至17位字母或数字），请核对后重新输入",
    "hk_macau_permit": "港澳居民来往内地通行证号码格式不正确（H或M开头加8至10位数字），请核对后重新输入",
    "taiwan_permit": "台湾居民来往大陆通行证号码格式不正确（8位数字），请核对后重新输入",
    "foreign_permanent_id": "外国人永久居留身份证号码格式不正确，请核对后重新输入",
    "hmt_residence_permit": "港澳台居民居住证号码校验失败，请核对后重新输入",
}


@dataclass(frozen=True, slots=True)
class IdInfo:
    """A checked ID number in canonical spelling, with what the number itself tells (when it tells it)."""

    number: str
    birth_date: dt.date | None = None
    sex: str | None = None  # male | female


def normalise(number: str) -> str:
    """No whitespace, upper case: the form that is stored, digested and compared."""
    return "".join(number.split()).upper()


def _invalid(id_type: str, field: str) -> AppError:
    message = _INVALID_MESSAGES.get(id_type, "证件号码格式不正确，请核对后重新输入")
    return AppError("id_number_invalid", message, status=422, details={"field": field, "id_type": id_type})


def _gb11643(number: str) -> tuple[dt.date, str] | None:
    """Check an 18-character GB 11643 number (check digit, birth date that exists and is not in the future);
    return (birth date, sex) or None.

    The county part of the address code is deliberately not looked up: a county list in a library lags behind
    real re-codings, and refusing a genuine card is worse than accepting a well-formed number.
    """
    if not _GB11643_BODY.fullmatch(number):
        return None
    if ric.calc_check_digit(number) != number[-1]:
        return None
    try:
        born = ric.get_birth_date(number)
    except (StdnumError, ValueError):
        return None
    if born < _EARLIEST_BIRTH or born > today():
        return None
    sex = "male" if int(number[16]) % 2 == 1 else "female"
    return born, sex


def validate_resident_id(number: str, *, field: str = "id_number") -> tuple[dt.date, str]:
    """A 居民身份证 number per GB 11643: 18 characters, province code, real past birth date, MOD 11-2 check.

    Returns (birth date, sex); raises ``AppError("id_number_invalid")``.
    """
    n = ric.compact(normalise(number))
    checked = _gb11643(n) if n[:2] in _PROVINCES else None
    if checked is None:
        raise _invalid("resident_id", field)
    return checked


def validate_id(id_type: str, number: str, *, field: str = "id_number") -> IdInfo:
    """Check ``number`` as a document of ``id_type``; ``AppError("id_number_invalid")`` if it is not one."""
    n = normalise(number)
    if id_type == "resident_id":
        born, sex = validate_resident_id(n, field=field)
        return IdInfo(n, born, sex)
    if id_type == "hmt_residence_permit":
        checked = _gb11643(n) if n.startswith(_HMT_PREFIXES) else None
        if checked is None:
            raise _invalid(id_type, field)
        return IdInfo(n, *checked)
    if id_type == "foreign_permanent_id":
        # 2023 cards: 18 characters, leading 9, GB 11643 check character; older cards: 3 letters + 12 digits
        if _FOREIGN_15.fullmatch(n):
            return IdInfo(n)
        if n.startswith("9") and _GB11643_BODY.fullmatch(n) and ric.calc_check_digit(n) == n[-1]:
            return IdInfo(n)
        raise _invalid(id_type, field)
    pattern = {"passport": _PASSPORT, "hk_macau_permit": _HK_MACAU, "taiwan_permit": _TAIWAN}.get(id_type)
    if pattern is None or not pattern.fullmatch(n):
        raise _invalid(id_type, field)
    return IdInfo(n)


def mask_id(number: str) -> str:
    """Keep the first 3 and last 4 characters (110***********1234): enough to tell one's own cards apart,
    not enough to reveal birth date or place."""
    n = normalise(number)
    if len(n) >= 10:
        return n[:3] + "*" * (len(n) - 7) + n[-4:]
    if len(n) >= 6:
        return n[:2] + "*" * (len(n) - 4) + n[-2:]
    if len(n) >= 2:
        return n[:1] + "*" * (len(n) - 1)
    return "*" * len(n)


# ----------------------------------------------------------------------------------------------------------
# mobile numbers and cards

MOBILE_PATTERN = r"^1[3-9][0-9]{9}$"
_MOBILE = re.compile(MOBILE_PATTERN)

CardType = Literal["hospital", "insurance"]
CARD_TYPE_LABELS: dict[str, str] = {"hospital": "就诊卡", "insurance": "医保卡"}
CARD_NO_PATTERN = r"^[0-9A-Za-z]{6,20}$"
_CARD_NO = re.compile(CARD_NO_PATTERN)


def validate_mobile(value: str, *, field: str = "mobile") -> str:
    """A mainland mobile number: 1, then 3–9, then nine digits (ASCII only)."""
    m = value.strip()
    if not _MOBILE.fullmatch(m):
        raise AppError("mobile_invalid", "手机号码格式不正确，请输入11位中国大陆手机号码", status=422,
                       details={"field": field})
    return m


def validate_card_no(card_type: str, value: str, *, field: str = "card_no") -> str:
    """A hospital or insurance card number: 6–20 letters or digits, stored upper-case."""
    n = normalise(value)
    if not _CARD_NO.fullmatch(n):
        label = CARD_TYPE_LABELS.get(card_type, "卡")
        raise AppError("card_no_invalid", f"{label}号格式不正确（6至20位字母或数字），请核对后重新输入",
                       status=422, details={"field": field})
    return n


def mask_mobile(value: str) -> str:
    return value[:3] + "****" + value[-4:] if len(value) == 11 else value


# ----------------------------------------------------------------------------------------------------------
# Pydantic types: shape checks that also document the format in OpenAPI


def _resident_id_value(value: str) -> str:
    n = ric.compact(normalise(value))
    if not (n[:2] in _PROVINCES and _gb11643(n)):
        raise ValueError("身份证号码校验失败，请核对后重新输入")
    return n


MobileStr = Annotated[str, StringConstraints(strip_whitespace=True, pattern=MOBILE_PATTERN)]
IdNumberStr = Annotated[str, StringConstraints(strip_whitespace=True, to_upper=True, min_length=5,
                                               max_length=18, pattern=r"^[0-9A-Za-z]{5,18}$")]
CardNoStr = Annotated[str, StringConstraints(strip_whitespace=True, to_upper=True, pattern=CARD_NO_PATTERN)]
# a resident ID checked in full (check digit, birth date) as a field type, for schemas taking only that kind
ResidentIdStr = Annotated[str, StringConstraints(strip_whitespace=True, to_upper=True,
                                                 pattern=r"^[0-9]{17}[0-9Xx]$"),
                          AfterValidator(_resident_id_value)]
