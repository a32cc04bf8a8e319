"""The prescription rules, as one pure function of a draft and the catalogue: quantities, amounts, directions,
and the findings the editor shows.

This module is the only place the rules live (the workstation's editor shows the findings the server computes
and never re-implements a check). It reads no database and no clock, so every rule is tested directly
(tests/test_prescription_checks.py) and the service computes the same answer on every autosave and at signing.

A finding has a stable ``key`` (``allergy:<drug_code>``, ``interaction:<code_a>+<code_b>`` …) so that an
override the doctor gave (``{key, reason}``) still applies after unrelated edits, and stops applying once the
line it was about is gone. ``block`` findings stop signing unless they are ``overridable`` and overridden with a
reason; ``warn`` findings never stop it.

Arithmetic is exact (fractions): 0.5 g three times a day for 7 days of 0.25 g capsules is 42 capsules, never
41.99999.
"""
from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from fractions import Fraction
from typing import Any

from server.prescriptions.catalogue import FREQUENCIES, LIMITS, ROUTES, DrugInfo, Interaction

PER_DAY: dict[str, Fraction | None] = {code: (None if per_day is None else Fraction(per_day).limit_denominator(7))
                                       for code, _zh, _en, per_day in FREQUENCIES}
FREQUENCY_ZH = {code: zh for code, zh, _en, _p in FREQUENCIES}
ROUTE_ZH = {code: zh for code, zh, _en in ROUTES}
CONTROLLED = {"narcotic": "麻醉药品", "psychotropic_1": "第一类精神药品", "psychotropic_2": "第二类精神药品",
              "toxic": "医疗用毒性药品", "radioactive": "放射性药品"}
QUANTITY_SLACK = Fraction(3, 2)


@dataclass
class LineIn:
    """A line as the doctor wrote it (``quantity`` None: computed)."""

    drug_code: str
    dose: float
    route: str
    frequency: str
    days: int
    quantity: int | None = None
    notes: str = ""


@dataclass
class DraftIn:
    diagnosis_code: str = ""
    diagnosis_name: str = ""
    allergies: list[str] = field(default_factory=list)
    chronic_reason: str = ""
    validity_days: int = 1
    validity_note: str = ""
    lines: list[LineIn] = field(default_factory=list)
    overrides: dict[str, str] = field(default_factory=dict)  # key -> reason


@dataclass
class Finding:
    key: str
    code: str
    severity: str  # warn | block
    overridable: bool
    line: int | None
    message: str
    overridden: bool = False
    override_reason: str | None = None

    def public(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def unresolved(self) -> bool:
        return self.severity == "block" and not (self.overridable and self.overridden)


@dataclass
class LineOut:
    """A computed line: what the editor, the pharmacist, the slip and the patient see."""

    drug_code: str
    dose: float
    route: str
    frequency: str
    days: int
    quantity: int
    quantity_computed: int
    quantity_entered: int | None
    notes: str
    amount_fen: int
    directions: str
    drug: dict[str, Any] | None


@dataclass
class Result:
    lines: list[LineOut]
    findings: list[Finding]
    amount_fen: int

    @property
    def unresolved(self) -> list[Finding]:
        return [f for f in self.findings if f.unresolved]


def _exact(value: float) -> Fraction:
    return Fraction(str(value))


def number_text(value: float | Fraction) -> str:
    """0.5 → "0.5", 500.0 → "500", 1/3 → "0.333"."""
    text = f"{float(value):.3f}".rstrip("0").rstrip(".")
    return text or "0"


def computed_quantity(drug: DrugInfo, *, dose: float, frequency: str, days: int) -> int:
    """Dispensing units for the course: ceil(dose / dose_per_unit × per_day × days); st = one dose; prn counts
    one dose a day."""
    per_dose = _exact(dose) / _exact(drug.dose_per_unit)
    per_day = PER_DAY.get(frequency)
    total = per_dose if per_day is None else per_dose * per_day * days
    return max(1, math.ceil(total))


def directions(drug: DrugInfo | None, *, dose: float, route: str, frequency: str, days: int) -> str:
    """The patient's instructions, e.g. "口服 一次0.5g 每日三次 7天"."""
    unit = drug.dose_unit if drug else ""
    parts = [ROUTE_ZH.get(route, route), f"一次{number_text(dose)}{unit}", FREQUENCY_ZH.get(frequency, frequency)]
    if PER_DAY.get(frequency) is not None:
        parts.append(f"{days}天")
    return " ".join(parts)


def daily_dose(dose: float, frequency: str) -> Fraction:
    per_day = PER_DAY.get(frequency)
    return _exact(dose) * (1 if per_day is None else per_day)


# Classes whose members duplicate each other although ATC splits them at level 4: two systemic NSAIDs
# (celecoxib M01AH, diclofenac M01AB, ibuprofen M01AE) are the textbook duplicate therapy. Everywhere else level 4
# is the class: metformin (A10BA) with a sulfonylurea (A10BB) is a normal combination, not a duplicate.
DUPLICATE_AT_LEVEL_3 = frozenset({"M01A"})


def atc4(atc: str) -> str:
    """ATC level 4 (the chemical/therapeutic subgroup): the first five characters, e.g. A10BA."""
    return atc[:5]


def therapy_class(atc: str) -> str:
    """The class two drugs of which are duplicate therapy: ATC level 4, or level 3 for the classes above."""
    return atc[:4] if atc[:4] in DUPLICATE_AT_LEVEL_3 else atc4(atc)


def _matches_allergy(drug: DrugInfo, allergy: str) -> bool:
    a = allergy.strip()
    if not a:
        return False
    names = [n for n in (drug.generic_name, drug.brand_name) if n]
    if any(a in n or (len(n) >= 2 and n in a) for n in names):
        return True
    for cls in drug.allergy_classes:
        # "青霉素类" matches "青霉素类" and "青霉素"; "头孢" matches "头孢菌素类"
        stem = cls.removesuffix("类")
        if a == cls or a == stem or (len(a) >= 2 and (a in cls or stem in a)):
            return True
    return False


def evaluate(draft: DraftIn, drugs: dict[str, DrugInfo], interactions: Iterable[Interaction],
             limits: dict[str, int] | None = None) -> Result:
    """Lines with quantities, amounts and directions, and every finding of the draft (contract: Finding)."""
    limits = limits or LIMITS
    findings: list[Finding] = []

    def add(key: str, code: str, severity: str, overridable: bool, line: int | None, message: str) -> None:
        if any(f.key == key for f in findings):
            return
        reason = draft.overrides.get(key) if overridable else None
        findings.append(Finding(key=key, code=code, severity=severity, overridable=overridable, line=line,
                                message=message, overridden=reason is not None, override_reason=reason))

    if not (draft.diagnosis_code.strip() and draft.diagnosis_name.strip()):
        add("diagnosis_required", "diagnosis_required", "block", False, None, "请填写诊断（ICD-10编码及名称）")
    if not draft.lines:
        add("no_lines", "no_lines", "block", False, None, "处方至少需要一种药品")
    if draft.validity_days > 1 and not draft.validity_note.strip():
        add("validity_note_required", "validity_note_required", "block", False, None,
            f"处方有效期延长至{draft.validity_days}天，请注明理由")
    if len(draft.lines) > limits["max_drugs"]:
        add("too_many_drugs", "too_many_drugs", "block", False, None,
            f"每张处方不得超过{limits['max_drugs']}种药品，当前{len(draft.lines)}种")

    out: list[LineOut] = []
    seen_codes: dict[str, int] = {}
    seen_atc4: dict[str, int] = {}
    chronic = bool(draft.chronic_reason.strip())
    for i, line in enumerate(draft.lines):
        drug = drugs.get(line.drug_code)
        name = drug.generic_name if drug else line.drug_code
        computed = computed_quantity(drug, dose=line.dose, frequency=line.frequency, days=line.days) if drug else 0
        quantity = line.quantity if line.quantity is not None else computed
        out.append(LineOut(drug_code=line.drug_code, dose=line.dose, route=line.route, frequency=line.frequency,
                           days=line.days, quantity=quantity, quantity_computed=computed,
                           quantity_entered=line.quantity, notes=line.notes,
                           amount_fen=quantity * drug.price_fen if drug else 0,
                           directions=directions(drug, dose=line.dose, route=line.route, frequency=line.frequency,
                                                 days=line.days),
                           drug=drug.public() if drug else None))
        if drug is None:
            continue
        if line.drug_code in seen_codes:
            add(f"duplicate_drug:{line.drug_code}", "duplicate_drug", "block", False, i,
                f"{name}重复开具，请合并为一行")
        seen_codes.setdefault(line.drug_code, i)
        if drug.control in CONTROLLED:
            add(f"controlled_drug:{drug.code}", "controlled_drug", "block", False, i,
                f"{name}属于{CONTROLLED[drug.control]}：互联网医院不得在线开具麻醉、精神类等特殊管理药品")
        if line.days > limits["max_days_chronic"]:
            add(f"days_over_chronic_limit:{drug.code}", "days_over_chronic_limit", "block", False, i,
                f"{name}用药{line.days}天，慢性病长期处方最长{limits['max_days_chronic']}天")
        elif line.days > limits["max_days_plain"] and not chronic:
            add(f"days_over_limit:{drug.code}", "days_over_limit", "block", False, i,
                f"{name}用药{line.days}天超过{limits['max_days_plain']}天，慢性病长期处方请填写理由")
        for allergy in draft.allergies:
            if _matches_allergy(drug, allergy):
                add(f"allergy:{drug.code}", "allergy", "block", True, i,
                    f"患者对「{allergy.strip()}」过敏，{name}可能引起过敏反应")
                break
        if drug.atc and len(drug.atc) >= 5:
            group = therapy_class(drug.atc)
            if group in seen_atc4 and draft.lines[seen_atc4[group]].drug_code != drug.code:
                first = drugs[draft.lines[seen_atc4[group]].drug_code]
                add(f"duplicate_therapy:{group}", "duplicate_therapy", "block", True, i,
                    f"{first.generic_name}与{name}属同一类药物（{group}），重复用药")
            seen_atc4.setdefault(group, i)
        if drug.max_daily_dose is not None:
            per_day = daily_dose(line.dose, line.frequency)
            if per_day > _exact(drug.max_daily_dose):
                add(f"max_daily_dose:{drug.code}", "max_daily_dose", "block", True, i,
                    f"{name}日剂量{number_text(per_day)}{drug.dose_unit}超过最大日剂量"
                    f"{number_text(drug.max_daily_dose)}{drug.dose_unit}")
        if line.quantity is not None and computed and Fraction(line.quantity) > computed * QUANTITY_SLACK:
            add(f"quantity_mismatch:{drug.code}", "quantity_mismatch", "warn", False, i,
                f"{name}数量{line.quantity}{drug.unit}明显多于按用法计算的{computed}{drug.unit}")

    # interactions between every pair of lines (each pair once, by drug code)
    rules = list(interactions)
    present = [(i, drugs[ln.drug_code]) for i, ln in enumerate(draft.lines) if ln.drug_code in drugs]
    for x in range(len(present)):
        for y in range(x + 1, len(present)):
            (_, dx), (iy, dy) = present[x], present[y]
            if dx.code == dy.code or not dx.atc or not dy.atc:
                continue
            for rule in rules:
                if not rule.matches(dx.atc, dy.atc):
                    continue
                a, b = sorted((dx.code, dy.code))
                key = f"interaction:{a}+{b}"
                text = f"{dx.generic_name}与{dy.generic_name}：{rule.message}"
                if rule.severity == "contraindicated":
                    add(key, "interaction", "block", False, iy, f"禁止合用。{text}")
                elif rule.severity == "major":
                    add(key, "interaction", "block", True, iy, f"严重相互作用。{text}")
                else:
                    add(key, "interaction", "warn", False, iy, f"相互作用提示。{text}")
                break

    return Result(lines=out, findings=findings, amount_fen=sum(ln.amount_fen for ln in out))
