"""The formulary model: search by generic and brand name, pinyin initials and code (prefix matches first, fast
for a few hundred drugs), the locally computed default quantity, the ETag cache, the lines table's estimates."""
from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from workstation.models.formulary import Formulary, default_quantity, fen_text, load_formulary
from workstation.models.prescription import LinesModel, draft_of
from workstation.services.store import Store

pytestmark = pytest.mark.db_independent

FREQS = [
    {"code": "qd", "label_zh": "每日一次", "label_en": "once daily", "per_day": 1},
    {"code": "bid", "label_zh": "每日两次", "label_en": "twice daily", "per_day": 2},
    {"code": "tid", "label_zh": "每日三次", "label_en": "three times daily", "per_day": 3},
    {"code": "qw", "label_zh": "每周一次", "label_en": "once a week", "per_day": 1 / 7},
    {"code": "prn", "label_zh": "必要时", "label_en": "as needed", "per_day": 1},
    {"code": "st", "label_zh": "立即", "label_en": "at once", "per_day": None},
]
ROUTES = [{"code": "po", "label_zh": "口服", "label_en": "oral"}, {"code": "ext", "label_zh": "外用", "label_en": "ext"}]


def drug(code: str, generic: str, brand: str, initials: list[str], **kw: Any) -> dict[str, Any]:
    d = {"code": code, "generic_name": generic, "brand_name": brand, "initials": initials, "strength": "0.5g",
         "form": "片剂", "unit": "片", "dose_unit": "g", "dose_per_unit": 0.5, "package": "0.5g×24片/盒",
         "max_daily_dose": 2.55, "default_route": "po", "default_frequency": "tid", "control": "ordinary",
         "atc": "A10BA02", "allergy_classes": [], "price_fen": 35}
    d.update(kw)
    return d


DRUGS = [
    drug("X0001", "二甲双胍片", "格华止", ["ejsgp", "ghz"]),
    drug("X0002", "阿莫西林胶囊", "阿莫仙", ["amxljn", "amx"], form="胶囊", atc="J01CA04",
         allergy_classes=["青霉素类"]),
    drug("X0003", "阿卡波糖片", "拜唐苹", ["akbtp", "btp"], dose_unit="mg", dose_per_unit=50, strength="50mg"),
    drug("X0010", "吗啡缓释片", "美施康定", ["mfhsp", "mskd"], control="narcotic"),
    drug("A0100", "甲钴胺片", "弥可保", ["jgap", "mkb"], dose_unit="μg", dose_per_unit=500),
]


def formulary(extra: int = 0) -> Formulary:
    drugs = list(DRUGS) + [drug(f"Z{i:04d}", f"测试药{i}", f"品牌{i}", [f"csy{i}", f"pp{i}"]) for i in range(extra)]
    return Formulary({"version": "v1", "drugs": drugs, "frequencies": FREQS, "routes": ROUTES,
                      "limits": {"max_drugs": 5}})


def codes(found: list[Any]) -> list[str]:
    return [d.code for d in found]


def test_search_by_generic_brand_initials_and_code() -> None:
    f = formulary()
    assert codes(f.search("二甲双胍")) == ["X0001"]
    assert codes(f.search("格华止")) == ["X0001"]  # brand name
    assert codes(f.search("ejsg")) == ["X0001"]  # pinyin initials of the generic name
    assert codes(f.search("GHZ")) == ["X0001"]  # of the brand, any case
    assert codes(f.search("x0002")) == ["X0002"]  # code
    assert f.search("") == [] and f.search("   ") == []
    assert f.search("不存在的药") == []


def test_prefix_matches_come_before_contains_and_code_first() -> None:
    f = formulary()
    # "a": code prefix A0100 first, then names/initials starting with "a" (阿莫西林 amxl, 阿卡波糖 akbt)
    found = codes(f.search("a"))
    assert found[0] == "A0100"
    assert set(found[1:3]) == {"X0002", "X0003"}
    # "x00": every X code by prefix; the controlled drug last (it cannot be prescribed online)
    found = codes(f.search("x00"))
    assert found == ["X0001", "X0002", "X0003", "X0010"]
    assert codes(f.search("mf")) == ["X0010"]  # still found when asked for: the server refuses it
    # a name that merely contains the text ranks after names that start with it
    assert codes(f.search("片"))[-1:] != [] and codes(f.search("阿"))[:2] == ["X0002", "X0003"]
    assert codes(f.search("西林")) == ["X0002"]  # contained


def test_search_is_fast_for_hundreds_of_drugs() -> None:
    f = formulary(extra=600)
    started = time.perf_counter()
    for q in ("c", "cs", "csy", "csy1", "测试", "品牌5", "z01", "amx", "x0"):
        f.search(q)
    per_keystroke = (time.perf_counter() - started) / 9
    assert per_keystroke < 0.005, per_keystroke
    assert len(f.search("csy", limit=30)) == 30


def test_default_quantity() -> None:
    f = formulary()
    metformin = f.drug("X0001")
    assert metformin is not None
    tid, qw, st, prn = (f.frequency(c) for c in ("tid", "qw", "st", "prn"))
    assert default_quantity(metformin, dose=0.5, frequency=tid, days=7) == 21  # 1 tablet × 3 × 7
    assert default_quantity(metformin, dose=0.75, frequency=tid, days=7) == 32  # 1.5 × 21 = 31.5 → up
    assert default_quantity(metformin, dose=0.5, frequency=qw, days=28) == 4  # once a week for 4 weeks
    assert default_quantity(metformin, dose=1, frequency=st, days=7) == 2  # one dose of two tablets
    assert default_quantity(metformin, dose=0.5, frequency=prn, days=3) == 3
    acarbose = f.drug("X0003")
    assert acarbose is not None and default_quantity(acarbose, dose=50, frequency=tid, days=84) == 252
    assert fen_text(1234) == "¥12.34" and fen_text(5) == "¥0.05"


def test_drug_fields_and_control() -> None:
    f = formulary()
    morphine, amox = f.drug("X0010"), f.drug("X0002")
    assert morphine is not None and morphine.controlled
    assert amox is not None and not amox.controlled and amox.name == "阿莫西林胶囊（阿莫仙）"
    assert amox.allergy_classes == ("青霉素类",)
    assert f.frequency("bid") is not None and f.route("po") is not None and f.limits["max_days_chronic"] == 84


def test_missing_initials_are_computed_locally() -> None:
    f = Formulary({"drugs": [drug("Y1", "格列齐特片", "", [])], "frequencies": FREQS, "routes": ROUTES})
    assert codes(f.search("glqtp")) == ["Y1"]


def test_cache_with_etag(tmp_path: Path) -> None:
    store = Store(tmp_path / "ws.sqlite3")
    calls: list[str | None] = []
    data = {"version": "v7", "drugs": DRUGS, "frequencies": FREQS, "routes": ROUTES}

    def server(*, etag: str | None = None) -> tuple[Any, str | None]:
        calls.append(etag)
        return (None, etag) if etag == "v7" else (data, "v7")

    first, fresh = load_formulary(server, store)
    assert fresh and len(first) == 5 and calls == [None]
    second, fresh = load_formulary(server, store)  # 304: the cached copy
    assert fresh and len(second) == 5 and calls == [None, "v7"]

    def offline(*, etag: str | None = None) -> tuple[Any, str | None]:
        raise ConnectionError("down")

    third, fresh = load_formulary(offline, store)
    assert not fresh and third.version == "v7"
    with pytest.raises(ConnectionError):
        load_formulary(offline, Store(tmp_path / "empty.sqlite3"))
    store.close()


def test_lines_model_estimates_until_the_server_answers(qapp: Any) -> None:
    f = formulary()
    model = LinesModel()
    model.set_formulary(f)
    model.set_lines([])
    metformin = f.drug("X0001")
    assert metformin is not None
    row = model.add_drug(metformin)
    assert model.lines[row]["frequency"] == "tid" and model.lines[row]["route"] == "po"
    assert model.quantity(row) == 21 and model.amount_fen(row) == 21 * 35
    assert model.setData(model.index(row, LinesModel.COL_DAYS), 14)
    assert model.quantity(row) == 42
    # the server's answer wins while the line is unchanged
    server_line = {**model.lines[row], "quantity": 40, "quantity_computed": 40, "amount_fen": 1400}
    model.set_server_lines([server_line])
    assert model.quantity(row) == 40 and model.total_fen() == 1400
    # a quantity typed by hand
    assert model.setData(model.index(row, LinesModel.COL_QTY), 50)
    assert model.lines[row]["quantity"] == 50 and model.quantity(row) == 50
    assert model.setData(model.index(row, LinesModel.COL_QTY), 0)  # 0: computed again
    assert model.lines[row]["quantity"] is None
    # draft_of: the server's filled-in quantity is not an explicit one
    d = draft_of({"lines": [server_line], "diagnosis": {"code": "E11.9", "name": "2型糖尿病", "x": 1}})
    assert d["lines"][0]["quantity"] is None and d["diagnosis"] == {"code": "E11.9", "name": "2型糖尿病"}
    # quantity_entered (the server's word for a typed quantity) wins over the comparison
    typed = {**server_line, "quantity": 40, "quantity_computed": 40, "quantity_entered": 40}
    assert draft_of({"lines": [typed]})["lines"][0]["quantity"] == 40
    assert draft_of({"lines": [{**typed, "quantity_entered": None}]})["lines"][0]["quantity"] is None
    model.remove(row)
    assert model.rowCount() == 0
