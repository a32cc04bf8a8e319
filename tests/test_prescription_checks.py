"""The prescription rules (server/prescriptions/checks.py) on the real formulary files: every finding, its key,
its severity and whether an override resolves it; quantities, amounts and directions."""
from __future__ import annotations

import pytest

from server.prescriptions import catalogue
from server.prescriptions.checks import DraftIn, LineIn, computed_quantity, directions, evaluate

pytestmark = pytest.mark.db_independent

DRUGS = {d.code: d for d in catalogue.drugs_from_file()}
CODE = {d.generic_name: d.code for d in DRUGS.values()}
METFORMIN, ATORVASTATIN, AMOXICILLIN = CODE["盐酸二甲双胍片"], CODE["阿托伐他汀钙片"], CODE["阿莫西林胶囊"]
WARFARIN, ASPIRIN, CLOPIDOGREL = CODE["华法林钠片"], CODE["阿司匹林肠溶片"], CODE["硫酸氢氯吡格雷片"]
OMEPRAZOLE, ESOMEPRAZOLE = CODE["奥美拉唑肠溶胶囊"], CODE["艾司奥美拉唑镁肠溶片"]
NITROGLYCERIN, SILDENAFIL = CODE["硝酸甘油片"], CODE["枸橼酸西地那非片"]
CLARITHROMYCIN, SIMVASTATIN = CODE["克拉霉素片"], CODE["辛伐他汀片"]
MORPHINE, DIAZEPAM, METHYLPHENIDATE = CODE["硫酸吗啡缓释片"], CODE["地西泮片"], CODE["盐酸哌甲酯片"]
CEFUROXIME, GLIMEPIRIDE, IBUPROFEN = CODE["头孢呋辛酯片"], CODE["格列美脲片"], CODE["布洛芬缓释胶囊"]


def line(code: str, dose: float, frequency: str = "qd", days: int = 7, quantity: int | None = None,
         route: str = "po") -> LineIn:
    return LineIn(drug_code=code, dose=dose, route=route, frequency=frequency, days=days, quantity=quantity)


def draft(*lines: LineIn, **kw: object) -> DraftIn:
    base: dict[str, object] = {"diagnosis_code": "E11.9", "diagnosis_name": "2型糖尿病", "lines": list(lines)}
    base.update(kw)
    return DraftIn(**base)  # type: ignore[arg-type]


def run(d: DraftIn) -> dict[str, dict]:
    result = evaluate(d, DRUGS, catalogue.interactions())
    return {f.key: f.public() | {"unresolved": f.unresolved} for f in result.findings}


def test_formulary_files_are_complete_and_real() -> None:
    assert 120 <= len(DRUGS) <= 200
    assert DRUGS[METFORMIN].max_daily_dose == 2550 and DRUGS[METFORMIN].dose_unit == "mg"
    assert DRUGS[ATORVASTATIN].max_daily_dose == 80 and DRUGS[ATORVASTATIN].atc == "C10AA05"
    assert "青霉素类" in DRUGS[AMOXICILLIN].allergy_classes
    assert "头孢菌素类" in DRUGS[CEFUROXIME].allergy_classes and "磺胺类" in DRUGS[GLIMEPIRIDE].allergy_classes
    assert {DRUGS[MORPHINE].control, DRUGS[DIAZEPAM].control, DRUGS[METHYLPHENIDATE].control} == {
        "narcotic", "psychotropic_2", "psychotropic_1"}
    assert "EJSG" in "".join(DRUGS[METFORMIN].initials) and "GHZ" in DRUGS[METFORMIN].initials
    for d in DRUGS.values():
        assert d.price_fen > 0 and d.dose_per_unit > 0 and len(d.atc) >= 5, d
        assert d.default_route in catalogue.ROUTE_CODES and d.default_frequency in catalogue.FREQUENCY_CODES, d
    assert len(catalogue.pharmacies()) >= 10


def test_quantities_are_exact_and_directions_chinese() -> None:
    amox = DRUGS[AMOXICILLIN]  # 0.25 g capsules
    assert computed_quantity(amox, dose=0.5, frequency="tid", days=7) == 42
    assert directions(amox, dose=0.5, route="po", frequency="tid", days=7) == "口服 一次0.5g 每日三次 7天"
    assert computed_quantity(DRUGS[METFORMIN], dose=750, frequency="bid", days=3) == 9  # 1.5 × 2 × 3
    assert computed_quantity(DRUGS[METFORMIN], dose=250, frequency="qd", days=3) == 2  # ceil(1.5)
    assert computed_quantity(DRUGS[NITROGLYCERIN], dose=0.5, frequency="st", days=7) == 1  # one dose
    assert directions(DRUGS[NITROGLYCERIN], dose=0.5, route="sl", frequency="st", days=1) == "舌下含服 一次0.5mg 立即"
    assert computed_quantity(DRUGS[IBUPROFEN], dose=300, frequency="prn", days=5) == 5  # prn = once a day
    assert computed_quantity(DRUGS[CODE["阿仑膦酸钠片"]], dose=70, frequency="qw", days=28) == 4
    result = evaluate(draft(line(AMOXICILLIN, 0.5, "tid", 7)), DRUGS, ())
    assert result.lines[0].amount_fen == 42 * amox.price_fen == result.amount_fen


def test_diagnosis_and_lines_required_and_not_overridable() -> None:
    f = run(DraftIn(overrides={"diagnosis_required": "紧急", "no_lines": "紧急"}))
    assert f["diagnosis_required"]["severity"] == "block" and not f["diagnosis_required"]["overridable"]
    assert f["no_lines"]["unresolved"] and f["diagnosis_required"]["unresolved"]
    assert run(draft(line(METFORMIN, 500, "bid"))) == {}


def test_controlled_drugs_are_refused_for_every_class() -> None:
    for code in (MORPHINE, CODE["盐酸羟考酮缓释片"], DIAZEPAM, CODE["阿普唑仑片"], METHYLPHENIDATE,
                 CODE["硫酸阿托品片"], CODE["碘[131I]化钠口服溶液"]):
        f = run(draft(line(code, DRUGS[code].dose_per_unit), overrides={f"controlled_drug:{code}": "疼痛剧烈"}))
        got = f[f"controlled_drug:{code}"]
        assert got["severity"] == "block" and not got["overridable"] and got["unresolved"]
        assert "互联网医院不得在线开具麻醉、精神类等特殊管理药品" in got["message"]


def test_too_many_and_duplicate_drugs() -> None:
    six = [line(c, DRUGS[c].dose_per_unit) for c in (METFORMIN, ATORVASTATIN, AMOXICILLIN, OMEPRAZOLE,
                                                    CODE["叶酸片"], CODE["甲钴胺片"])]
    assert run(draft(*six))["too_many_drugs"]["unresolved"]
    assert "too_many_drugs" not in run(draft(*six[:5]))
    f = run(draft(line(METFORMIN, 500), line(METFORMIN, 500)))
    assert f[f"duplicate_drug:{METFORMIN}"]["line"] == 1 and f[f"duplicate_drug:{METFORMIN}"]["unresolved"]


def test_days_limits_and_chronic_reason() -> None:
    f = run(draft(line(METFORMIN, 500, "bid", days=14)))
    assert f[f"days_over_limit:{METFORMIN}"]["unresolved"]
    assert run(draft(line(METFORMIN, 500, "bid", days=84), chronic_reason="2型糖尿病长期稳定用药")) == {}
    f = run(draft(line(METFORMIN, 500, "bid", days=90), chronic_reason="长期用药"))
    assert f[f"days_over_chronic_limit:{METFORMIN}"]["unresolved"]


def test_allergy_blocks_and_an_override_with_a_reason_resolves_it() -> None:
    for allergy, code in (("青霉素", AMOXICILLIN), ("青霉素类", AMOXICILLIN), ("阿莫西林", AMOXICILLIN),
                          ("头孢", CEFUROXIME), ("磺胺类", GLIMEPIRIDE)):
        key = f"allergy:{code}"
        f = run(draft(line(code, DRUGS[code].dose_per_unit), allergies=[allergy]))
        assert f[key]["code"] == "allergy" and f[key]["overridable"] and f[key]["unresolved"], allergy
        f = run(draft(line(code, DRUGS[code].dose_per_unit), allergies=[allergy],
                      overrides={key: "既往皮试阴性"}))
        assert f[key]["overridden"] and f[key]["override_reason"] == "既往皮试阴性" and not f[key]["unresolved"]
    assert run(draft(line(METFORMIN, 500), allergies=["青霉素"])) == {}


def test_duplicate_therapy_same_atc_level_four() -> None:
    f = run(draft(line(OMEPRAZOLE, 20), line(ESOMEPRAZOLE, 20)))
    key = "duplicate_therapy:A02BC"
    assert f[key]["line"] == 1 and f[key]["overridable"] and f[key]["unresolved"]
    assert not run(draft(line(OMEPRAZOLE, 20), line(ESOMEPRAZOLE, 20), overrides={key: "换药过渡"}))[key][
        "unresolved"]



def test_duplicate_therapy_of_two_nsaids_across_atc_level_four() -> None:
    # celecoxib (M01AH) with ibuprofen (M01AE): two systemic NSAIDs, one class although ATC splits them
    celecoxib, ibuprofen = CODE["塞来昔布胶囊"], CODE["布洛芬缓释胶囊"]
    f = run(draft(line(celecoxib, 200), line(ibuprofen, 300)))
    assert f["duplicate_therapy:M01A"]["line"] == 1 and f["duplicate_therapy:M01A"]["overridable"]
    # metformin (A10BA) with glimepiride (A10BB) is a usual combination: no duplicate
    assert not [k for k in run(draft(line(METFORMIN, 500), line(CODE["格列美脲片"], 2)))
                if k.startswith("duplicate_therapy")]

def test_interactions_by_severity() -> None:
    # major: block, overridable; the key is the two drug codes sorted
    key = "interaction:" + "+".join(sorted((WARFARIN, ASPIRIN)))
    f = run(draft(line(WARFARIN, 3), line(ASPIRIN, 100)))
    assert f[key]["severity"] == "block" and f[key]["overridable"] and f[key]["unresolved"]
    assert not run(draft(line(WARFARIN, 3), line(ASPIRIN, 100), overrides={key: "机械瓣置换术后"}))[key][
        "unresolved"]
    # contraindicated: block, never overridable
    for a, b in ((NITROGLYCERIN, SILDENAFIL), (CLARITHROMYCIN, SIMVASTATIN)):
        k = "interaction:" + "+".join(sorted((a, b)))
        f = run(draft(line(a, DRUGS[a].dose_per_unit), line(b, DRUGS[b].dose_per_unit), overrides={k: "必须"}))
        assert not f[k]["overridable"] and f[k]["unresolved"] and "禁止合用" in f[k]["message"]
    # moderate: a warning only (aspirin + clopidogrel: also the same ATC level 4)
    k = "interaction:" + "+".join(sorted((ASPIRIN, CLOPIDOGREL)))
    f = run(draft(line(ASPIRIN, 100), line(CLOPIDOGREL, 75)))
    assert f[k]["severity"] == "warn" and not f[k]["unresolved"]
    # clopidogrel + omeprazole (CYP2C19): major
    k = "interaction:" + "+".join(sorted((CLOPIDOGREL, OMEPRAZOLE)))
    assert run(draft(line(CLOPIDOGREL, 75), line(OMEPRAZOLE, 20)))[k]["severity"] == "block"


@pytest.mark.parametrize(("code", "dose", "frequency", "over"), [
    (METFORMIN, 1000, "tid", True),     # 3000 mg > 2550
    (METFORMIN, 850, "tid", False),     # 2550 mg, the label's maximum
    (ATORVASTATIN, 40, "bid", False),   # 80 mg
    (ATORVASTATIN, 100, "qd", True),
])
def test_max_daily_dose(code: str, dose: float, frequency: str, over: bool) -> None:
    key = f"max_daily_dose:{code}"
    f = run(draft(line(code, dose, frequency)))
    assert (key in f) == over
    if over:
        assert f[key]["overridable"] and f[key]["unresolved"]
        assert not run(draft(line(code, dose, frequency), overrides={key: "内分泌科会诊意见"}))[key]["unresolved"]


def test_quantity_mismatch_warns_only_beyond_one_and_a_half() -> None:
    key = f"quantity_mismatch:{METFORMIN}"
    assert key not in run(draft(line(METFORMIN, 500, "bid", 7, quantity=21)))  # computed 14, 1.5× = 21
    f = run(draft(line(METFORMIN, 500, "bid", 7, quantity=22)))
    assert f[key]["severity"] == "warn" and not f[key]["unresolved"]


def test_validity_note_required_beyond_one_day() -> None:
    f = run(draft(line(METFORMIN, 500), validity_days=3))
    assert f["validity_note_required"]["unresolved"]
    assert run(draft(line(METFORMIN, 500), validity_days=3, validity_note="行动不便，需家属代取")) == {}


def test_keys_are_stable_across_unrelated_edits() -> None:
    base = [line(WARFARIN, 3), line(ASPIRIN, 100)]
    key = "interaction:" + "+".join(sorted((WARFARIN, ASPIRIN)))
    overrides = {key: "机械瓣置换术后"}
    first = run(draft(*base, overrides=overrides))
    moved = run(draft(line(METFORMIN, 500), *reversed(base), overrides=overrides))
    assert first[key]["overridden"] and moved[key]["overridden"]
    # the line the override was about is gone: the finding is gone too, the override applies to nothing
    assert key not in run(draft(line(WARFARIN, 3), overrides=overrides))
