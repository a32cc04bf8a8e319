"""Example ``SlipData`` (docs/api-contract.md) for tests, the ``slip_render`` benchmark, screenshots and trying
the preview without a server. Realistic Chinese outpatient content; the people are invented."""
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
