"""Prescriptions in the contract's shape (docs/api-contract.md "Prescriptions") for the model tests: the model
never talks to the server, so its tests feed it what the server sends."""
from __future__ import annotations

import datetime as dt
from typing import Any

from workstation.models.queue import TZ

NOW = dt.datetime(2026, 3, 2, 10, 30, tzinfo=TZ)


def at(minutes_ago: int) -> str:
    return (NOW - dt.timedelta(minutes=minutes_ago)).isoformat()


def rx(rx_id: int, *, status: str = "signed", signed_min_ago: int = 10, patient: str = "张三", sex: str = "female",
       age: int = 56, overridden: bool = False, **extra: Any) -> dict[str, Any]:
    findings = []
    if overridden:
        findings.append({"key": "max_daily_dose:D001", "code": "max_daily_dose", "severity": "block",
                         "overridable": True, "line": 0, "message": "二甲双胍每日剂量超过最大日剂量2g",
                         "overridden": True, "override_reason": "患者长期耐受，内分泌科会诊意见"})
    body: dict[str, Any] = {
        "id": rx_id, "no": f"RX20260302{rx_id:04d}", "appointment_id": 1000 + rx_id,
        "patient": {"id": 500 + rx_id, "name": patient, "sex": sex, "age": age},
        "doctor": {"id": 7, "name": "王医生"}, "department": "内分泌科", "status": status, "revision": 3,
        "diagnosis": {"code": "E11.9", "name": "2型糖尿病"}, "fee_category": "self_pay", "allergies": ["青霉素类"],
        "chronic_reason": "", "validity_days": 1, "validity_note": "", "notes": "",
        "lines": [{"drug_code": "D001", "dose": 0.5, "route": "po", "frequency": "tid", "days": 7, "quantity": 2,
                   "quantity_computed": 2, "notes": "", "amount_fen": 2460, "directions": "口服 一次0.5g 每日三次 7天",
                   "drug": {"code": "D001", "generic_name": "二甲双胍片", "brand_name": "格华止", "strength": "0.5g",
                            "form": "片剂", "unit": "盒", "package": "0.5g×20片/盒"}}],
        "amount_fen": 2460, "findings": findings, "overrides": [], "created_at": at(signed_min_ago + 5),
        "signed_at": at(signed_min_ago), "content_hash": "ab" * 32, "return_reason": None, "returned_at": None,
        "reviewed_by": None, "approved_at": None, "issued_at": None, "valid_until": None, "fulfilment": None,
        "paid_at": None, "dispensed_at": None, "shipped_at": None, "voided_at": None, "void_reason": None,
        "verify_url": None}
    body.update(extra)
    return body


def event(kind: str, rx_id: int, *, status: str | None = None, minutes_ago: int = 0, patient: str = "张三",
          event_id: int = 1) -> dict[str, Any]:
    status = status or kind
    return {"id": event_id, "kind": f"prescription.{kind}", "topic": "prescription", "object_type": "prescription",
            "object_id": rx_id, "at": at(minutes_ago),
            "payload": {"prescription_id": rx_id, "appointment_id": 1000 + rx_id, "no": f"RX20260302{rx_id:04d}",
                        "status": status, "patient_name": patient}}
