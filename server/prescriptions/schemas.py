"""Request and response shapes of prescriptions (docs/api-contract.md, "Prescriptions").

Only the shape is validated here (422): a rule the draft breaks is a finding (server/prescriptions/checks.py),
never a validation error, so the editor can always save what the doctor typed.
"""
from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, Field

from server.appointments.schemas import Rating as RatingPublic
from server.prescriptions.catalogue import FREQUENCY_CODES, ROUTE_CODES

LINE = r"^[^\x00-\x1f\x7f]*$"
LINES = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]*$"
ICD10_OR_EMPTY = r"^([A-Z][0-9]{2}(\.[0-9]{1,2})?)?$"

Route = Literal["po", "sl", "inh", "ext", "sc", "im", "iv", "ivgtt", "eye", "nasal", "rect"]
Frequency = Literal["qd", "bid", "tid", "qid", "q8h", "q12h", "qn", "hs", "qod", "qw", "biw", "prn", "st"]
assert set(Route.__args__) == set(ROUTE_CODES) and set(Frequency.__args__) == set(FREQUENCY_CODES)  # type: ignore[attr-defined]


def _three_decimals(value: float) -> float:
    if round(value, 3) != value:
        raise ValueError("剂量最多保留3位小数")
    return value


Dose = Annotated[float, Field(gt=0, le=100_000), AfterValidator(_three_decimals)]
Reason = Annotated[str, Field(min_length=2, max_length=200, pattern=LINE)]


class Diagnosis(BaseModel):
    code: str = Field(max_length=6, pattern=ICD10_OR_EMPTY, description="ICD-10, e.g. E11.9")
    name: str = Field(max_length=100, pattern=LINE)


class LineIn(BaseModel):
    drug_code: str = Field(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9_-]+$")
    dose: Dose = Field(description="in the drug's dose_unit, > 0, at most 3 decimals")
    route: Route
    frequency: Frequency
    days: int = Field(ge=1, le=84)
    quantity: int | None = Field(default=None, ge=1, le=10_000,
                                 description="dispensing units; null: computed from dose, frequency and days")
    notes: str = Field(default="", max_length=100, pattern=LINE)


class Override(BaseModel):
    key: str = Field(min_length=1, max_length=80, pattern=LINE)
    reason: Reason


class PrescriptionDraft(BaseModel):
    diagnosis: Diagnosis | None = None
    fee_category: Literal["self_pay", "insurance"] = "self_pay"
    allergies: list[Annotated[str, Field(min_length=1, max_length=30, pattern=LINE)]] = Field(
        default_factory=list, max_length=10)
    chronic_reason: str = Field(default="", max_length=200, pattern=LINE,
                                description="慢性病长期处方理由; \"\" = none")
    validity_days: int = Field(default=1, ge=1, le=3)
    validity_note: str = Field(default="", max_length=200, pattern=LINE,
                               description="required (a finding) when validity_days > 1")
    notes: str = Field(default="", max_length=500, pattern=LINES)
    lines: list[LineIn] = Field(default_factory=list, max_length=10)
    overrides: list[Override] = Field(default_factory=list, max_length=20)


class PrescriptionUpdate(PrescriptionDraft):
    revision: int = Field(ge=1, le=2**31, description="the revision this edit was made on")


class SignIn(BaseModel):
    password: str = Field(min_length=1, max_length=128, description="the doctor's own login password")
    revision: int = Field(ge=1, le=2**31)


class ReasonIn(BaseModel):
    reason: Reason


class DrugPublic(BaseModel):
    code: str
    generic_name: str
    brand_name: str
    initials: list[str]
    strength: str
    form: str
    unit: str
    dose_unit: str
    dose_per_unit: float
    package: str
    max_daily_dose: float | None
    default_route: str
    default_frequency: str
    control: Literal["ordinary", "narcotic", "psychotropic_1", "psychotropic_2", "toxic", "radioactive"]
    atc: str
    allergy_classes: list[str]
    price_fen: int


class FrequencyPublic(BaseModel):
    code: str
    label_zh: str
    label_en: str
    per_day: float | None


class RoutePublic(BaseModel):
    code: str
    label_zh: str
    label_en: str


class Limits(BaseModel):
    max_drugs: int
    max_days_plain: int
    max_days_chronic: int
    max_validity_days: int


class Formulary(BaseModel):
    version: str
    drugs: list[DrugPublic]
    frequencies: list[FrequencyPublic]
    routes: list[RoutePublic]
    limits: Limits


class FindingPublic(BaseModel):
    key: str
    code: str
    severity: Literal["warn", "block"]
    overridable: bool
    line: int | None
    message: str
    overridden: bool
    override_reason: str | None


class LinePublic(BaseModel):
    drug_code: str
    dose: float
    route: str
    frequency: str
    days: int
    quantity: int = Field(description="the entered quantity, or the computed one when none was entered")
    quantity_computed: int
    quantity_entered: int | None = Field(default=None, description="what the doctor typed (null: computed)")
    notes: str
    drug: DrugPublic | None
    amount_fen: int
    directions: str


class PatientBrief(BaseModel):
    id: int
    name: str
    sex: str
    age: int | None


class PersonBrief(BaseModel):
    id: int
    name: str


class PharmacyPublic(BaseModel):
    id: int
    name: str
    address: str
    district: str
    phone: str
    hours: str
    distance_m: int | None = None


class Address(BaseModel):
    name: str = Field(min_length=1, max_length=32, pattern=LINE)
    mobile: str = Field(pattern=r"^1[3-9][0-9]{9}$")
    region: str = Field(min_length=2, max_length=60, pattern=LINE, description="省市区, e.g. 北京市西城区")
    detail: str = Field(min_length=2, max_length=120, pattern=LINE)


class Fulfilment(BaseModel):
    method: Literal["pickup", "delivery"]
    pharmacy: PharmacyPublic | None = None
    address: Address | None = None


class FulfilmentIn(BaseModel):
    method: Literal["pickup", "delivery"]
    pharmacy_id: int | None = Field(default=None, ge=1, le=2**31)
    address: Address | None = None


class PrescriptionPublic(BaseModel):
    id: int
    no: str
    appointment_id: int
    patient: PatientBrief
    doctor: PersonBrief
    department: str
    status: str
    revision: int
    diagnosis: Diagnosis | None
    fee_category: str
    allergies: list[str]
    chronic_reason: str
    validity_days: int
    validity_note: str
    notes: str
    lines: list[LinePublic]
    overrides: list[Override]
    amount_fen: int
    findings: list[FindingPublic]
    created_at: dt.datetime
    signed_at: dt.datetime | None
    content_hash: str | None
    return_reason: str | None
    returned_at: dt.datetime | None
    reviewed_by: PersonBrief | None
    approved_at: dt.datetime | None
    issued_at: dt.datetime | None
    valid_until: dt.datetime | None
    fulfilment: Fulfilment | None
    paid_at: dt.datetime | None
    dispensed_at: dt.datetime | None
    shipped_at: dt.datetime | None
    voided_at: dt.datetime | None
    void_reason: str | None
    verify_url: str


class PatientLine(BaseModel):
    name: str
    strength: str
    form: str
    quantity: int
    unit: str
    directions: str
    amount_fen: int


class PatientPrescription(BaseModel):
    id: int
    no: str
    appointment_id: int
    patient_name: str
    doctor_name: str
    department: str
    status: str
    diagnosis: Diagnosis | None
    lines: list[PatientLine]
    amount_fen: int
    issued_at: dt.datetime | None
    valid_until: dt.datetime | None
    fulfilment: Fulfilment | None
    paid_at: dt.datetime | None
    verify_url: str
    refund_status: str | None = Field(default=None, description="refunding | refunded | rejected (null: no refund of "
                                                                "the drug fee)")
    refund_status_label: str | None = Field(default=None, description="退费中 | 已退费 | 退费申请未通过")


class SlipPatient(BaseModel):
    name: str
    sex: str
    age_label: str
    card_no: str | None
    id_masked: str


class SlipLine(BaseModel):
    name: str
    strength: str
    form: str
    quantity_label: str
    directions: str


class SlipData(BaseModel):
    hospital: str
    title: str
    slip_type: Literal["ordinary", "paediatric", "emergency"]
    slip_mark: str
    no: str
    fee_category_label: str
    patient: SlipPatient
    department: str
    date: str
    diagnosis: str
    lines: list[SlipLine]
    doctor_name: str
    signed_at: dt.datetime | None
    amount_fen: int
    reviewer_name: str | None
    verify_url: str
    allergies: list[str]
    notes: str
    validity_label: str


class RatingIn(BaseModel):
    stars: int = Field(ge=1, le=5)
    text: str = Field(default="", max_length=500, pattern=LINES)


class Verification(BaseModel):
    no: str
    hospital: str
    issued_on: str | None
    doctor: str
    department: str
    status: str
    patient_masked: str


__all__ = ["RatingPublic"]


def drop_none(d: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in d.items() if v is not None}
