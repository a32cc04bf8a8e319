"""Example ``SlipData`` and ``RefundPublic`` (docs/api-contract.md) for tests, the ``slip_render`` benchmark,
screenshots and trying the preview without a server. Realistic Chinese outpatient content; the people are
invented."""
from __future__ import annotations

import copy
from typing import Any

DRUGS: list[dict[str, str]] = [
    {"name": "盐酸二甲双胍缓释片", "strength": "0.5g", "form": "缓释片", "quantity_label": "2盒",
     "directions": "口服 一次1g 每日一次 晚餐时服用 28天"},
    {"name": "阿托伐他汀钙片", "strength": "20mg", "form": "片剂", "quantity_label": "1盒",
     "directions": "口服 一次20mg 每晚一次 28天"},
    {"name": "苯磺酸氨氯地平片", "strength": "5mg", "form": "片剂", "quantity_label": "28片",
     "directions": "口服 一次5mg 每日一次 28天"},
    {"name": "阿卡波糖片", "strength": "50mg", "form": "片剂", "quantity_label": "3盒",
     "directions": "口服 一次50mg 每日三次 与第一口饭同时嚼服 28天"},
    {"name": "甘精胰岛素注射液", "strength": "3ml:300IU", "form": "注射液", "quantity_label": "2支",
     "directions": "皮下注射 一次12IU 每晚一次（睡前） 28天"},
]

PAEDIATRIC_DRUG = {"name": "布洛芬混悬液", "strength": "100ml:2g", "form": "混悬液", "quantity_label": "1瓶",
                   "directions": "口服 一次5ml 必要时 间隔不少于6小时 每日不超过4次"}

BASE: dict[str, Any] = {
    "hospital": "杭州市第一人民医院互联网医院",
    "title": "处方笺",
    "slip_type": "ordinary",
    "slip_mark": "普通",
    "no": "RX20261126000123",
    "fee_category_label": "医保",
    "patient": {"name": "王建国", "sex": "男", "age_label": "58岁", "card_no": "3301****7788",
                "id_masked": "330106********1234"},
    "department": "内分泌科",
    "date": "2026-11-26",
    "diagnosis": "E11.9 2型糖尿病",
    "lines": [],
    "doctor_name": "李慧敏",
    "signed_at": "2026-11-26T02:31:05Z",
    "amount_fen": 48650,
    "reviewer_name": "陈静",
    "verify_url": "https://hospital.example.cn/rx/verify/3f9c2a7be01d4c55a8e1c0ffee42d9b7",
    "allergies": ["青霉素类"],
    "notes": "",
    "validity_label": "当日有效",
}

LONG_DIAGNOSIS = ("E11.9 2型糖尿病；I10.x00 原发性高血压（2级，高危）；E78.5 高脂血症；"
                  "K21.9 胃食管反流病；N18.3 慢性肾脏病3期")


def sample_slip(kind: str = "ordinary", *, drugs: int = 5, long_diagnosis: bool = False) -> dict[str, Any]:
    """A slip: ``kind`` ordinary|paediatric|emergency, with ``drugs`` lines (1..5; paediatric: the syrup first)."""
    data = copy.deepcopy(BASE)
    if kind == "paediatric":
        data.update(slip_type="paediatric", slip_mark="儿科", no="RX20261126000124", fee_category_label="自费",
                    department="儿科", diagnosis="J06.9 急性上呼吸道感染", amount_fen=2380, reviewer_name=None,
                    allergies=[], notes="体重 15kg；体温超过38.5℃时服用，多饮水，三日不退热请线下就诊。")
        data["patient"] = {"name": "刘子涵", "sex": "女", "age_label": "3岁2月", "card_no": "3301****2046",
                           "id_masked": "330102********0021"}
        data["lines"] = [copy.deepcopy(PAEDIATRIC_DRUG)] + copy.deepcopy(DRUGS[1:drugs])
    else:
        data["lines"] = copy.deepcopy(DRUGS[:drugs])
        if kind == "emergency":
            data.update(slip_type="emergency", slip_mark="急诊")
    if long_diagnosis:
        data["diagnosis"] = LONG_DIAGNOSIS
    return data


def latin_slip(data: dict[str, Any]) -> dict[str, Any]:
    """The same slip with every text replaced by ASCII of the same length: the benchmark's baseline, which draws
    it in a standard (not embedded) font."""
    def asc(v: Any) -> Any:
        if isinstance(v, str):
            return "".join(ch if ch.isascii() else "X" for ch in v)
        if isinstance(v, list):
            return [asc(x) for x in v]
        if isinstance(v, dict):
            return {k: asc(x) for k, x in v.items()}
        return v
    return asc(data)


# --- refund receipts (RefundPublic, docs/api-contract.md "Refunds (issue 6)" and "Refunds part 2") -----------------

RECEIPT_HOSPITAL = BASE["hospital"]
RECEIPT_CLERK = "周晓梅"

REFUND_BASE: dict[str, Any] = {
    "id": 4211,
    "out_refund_no": "R20261126141502c4e9a1",
    "out_trade_no": "P20261124203318f07b2d",
    "payment_id": 3187,
    "account_id": 905,
    "appointment_id": 7702,
    "prescription_id": None,
    "amount_fen": 5000,
    "path": "window",
    "path_label": "窗口退费",
    "reason": "患者临时出差无法按时就诊，申请退号",
    "status": "refunded",
    "status_label": "已退费",
    "gateway_status": "SUCCESS",
    "retry_of_id": None,
    "reviewer_id": 12,
    "reviewer_name": "周晓梅",
    "reject_reason": "",
    "query_attempts": 1,
    "last_error": "",
    "created_at": "2026-11-26T14:15:02+08:00",
    "updated_at": "2026-11-26T14:15:09+08:00",
    "submitted_at": "2026-11-26T14:15:03+08:00",
    "refunded_at": "2026-11-26T14:15:09+08:00",
    "purpose": "consultation",
    "paid_fen": 5000,
    "paid_at": "2026-11-24T20:33:41+08:00",
    "patient_name": "王建国",
    "id_number_masked": "330***********1234",
    "mobile_masked": "138****5678",
    "appointment_number": "A20261124203305e1d0c7",
    "appointment_status": "cancelled",
    "appointment_status_label": "已取消",
    "starts_at": "2026-11-26T09:30:00+08:00",
    "doctor_name": "李慧敏",
    "department_name": "内分泌科",
}

LONG_REFUND_REASON = ("患者于就诊当日因突发急性胃肠炎前往线下急诊治疗，无法参加预约的视频问诊，家属持患者身份证及"
                      "住院证明到窗口代为申请退号；经核实该号源尚未接诊，医生未书写病历、未开具处方，同意全额退还"
                      "挂号诊疗费。患者另述：希望康复后重新预约同一医生的复诊号，并请医院短信通知退款到账情况。")
LONG_PATIENT_NAME = "阿卜杜热合曼·买买提明·艾力江·热依木江"


def sample_refund(state: str = "refunded", *, long_text: bool = False) -> dict[str, Any]:
    """A ``RefundPublic`` dict: ``state`` refunded (a window refund of a consultation fee, money back) or
    processing (a drug fee refund sent to the gateway, not arrived yet); ``long_text``: a long name and reason."""
    data = copy.deepcopy(REFUND_BASE)
    if state == "processing":
        data.update(
            id=4230, out_refund_no="R20261126160847a93f02", out_trade_no="P20261126101224b81c6e", payment_id=3205,
            appointment_id=None, prescription_id=1188, amount_fen=48650, path="drug", path_label="药费退费",
            reason="处方药品暂无库存，患者改至线下药房购买，申请退还药费", status="processing",
            status_label="退费中", gateway_status="PROCESSING", refunded_at=None, purpose="drug", paid_fen=48650,
            paid_at="2026-11-26T10:12:37+08:00", created_at="2026-11-26T16:08:47+08:00",
            updated_at="2026-11-26T16:08:48+08:00", submitted_at="2026-11-26T16:08:48+08:00",
            appointment_status="completed", appointment_status_label="已完成",
            starts_at="2026-11-26T10:00:00+08:00")
    elif state != "refunded":
        raise ValueError(f"unknown sample state {state!r}")
    if long_text:
        data.update(patient_name=LONG_PATIENT_NAME, reason=LONG_REFUND_REASON,
                    department_name="内分泌与代谢性疾病科（糖尿病专病门诊）", doctor_name="欧阳慧敏")
    return data


def sample_receipt(state: str = "refunded", *, long_text: bool = False) -> Any:
    """A ``ReceiptData`` of :func:`sample_refund`, printed by :data:`RECEIPT_CLERK` a few minutes after."""
    from datetime import datetime

    from workstation.services.printing.layout import CHINA_TZ
    from workstation.services.printing.receipt import ReceiptData

    printed = datetime(2026, 11, 26, 14, 16, 30, tzinfo=CHINA_TZ) if state == "refunded" else \
        datetime(2026, 11, 26, 16, 9, 5, tzinfo=CHINA_TZ)
    return ReceiptData.from_refund(sample_refund(state, long_text=long_text), hospital=RECEIPT_HOSPITAL,
                                   clerk=RECEIPT_CLERK, printed_at=printed)
