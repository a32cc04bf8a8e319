"""The shipped ICD-10 subset: searchable by code prefix, Chinese name and pinyin initials; every code is one the
server accepts; the CSV is what the generator script writes."""
from __future__ import annotations

import re
from typing import Any

import pytest

from workstation.models.icd10 import DEFAULT_PATH, Icd10Catalog, Icd10SearchModel, default_catalog

pytestmark = pytest.mark.db_independent

SERVER_PATTERN = re.compile(r"^[A-Z][0-9]{2}(\.[0-9]{1,2})?$")  # server/consultation/schemas.py ICD10_PATTERN


@pytest.fixture(scope="module")
def catalog() -> Icd10Catalog:
    return default_catalog()


def codes(entries: list[Any]) -> list[str]:
    return [e.code for e in entries]


def test_the_subset_covers_the_four_departments(catalog: Icd10Catalog) -> None:
    assert 150 <= len(catalog) <= 350
    assert all(SERVER_PATTERN.match(e.code) and 1 <= len(e.name) <= 100 for e in catalog.entries)
    by_dept = {d: sum(d in e.departments for e in catalog.entries)
               for d in ("bone_tumor", "neurology", "endocrinology", "hematology")}
    assert all(n >= 30 for n in by_dept.values()), by_dept
    for code, name in [("C40.2", "下肢长骨恶性肿瘤"), ("G40.9", "未特指的癫痫"), ("G20", "帕金森病"),
                       ("I63.9", "未特指的脑梗死"), ("E11.9", "2型糖尿病不伴有并发症"), ("D50.9", "未特指的缺铁性贫血"),
                       ("C92.0", "急性髓样白血病"), ("D69.3", "特发性血小板减少性紫癜")]:
        entry = catalog.by_code(code)
        assert entry is not None and entry.name == name


def test_code_prefix(catalog: Icd10Catalog) -> None:
    found = codes(catalog.search("E11"))
    assert found[:10] == [f"E11.{i}" for i in range(10)]
    assert codes(catalog.search("e11.9"))[0] == "E11.9"
    assert codes(catalog.search("e119"))[0] == "E11.9"  # without the dot
    assert codes(catalog.search("G20"))[0] == "G20"
    assert set(codes(catalog.search("C9", limit=100))) >= {"C90.0", "C91.0", "C92.0", "C95.9"}
    assert catalog.search("Z99") == []


def test_chinese_substring(catalog: Icd10Catalog) -> None:
    found = catalog.search("糖尿病", limit=100)
    assert {"E10.9", "E11.9", "E14.9", "O24.4", "G63.2"} <= set(codes(found))
    assert all("糖尿病" in e.name for e in found)
    assert codes(catalog.search("帕金森"))[0] == "G20"  # a name that starts with it ranks first
    assert "D46.9" in codes(catalog.search("骨髓增生异常综合征"))


def test_pinyin_initials(catalog: Icd10Catalog) -> None:
    found = catalog.search("tnb", limit=100)
    assert {"E10.9", "E11.9", "E14.9"} <= set(codes(found))
    assert all("tnb" in e.initials for e in found)
    assert codes(catalog.search("pjsb"))[0] == "G20"  # 帕金森病
    assert "D50.9" in codes(catalog.search("qtxpx"))  # 缺铁性贫血
    assert "C40.2" in codes(catalog.search("xzcg"))  # 下肢长骨: 长 read cháng here
    assert "D69.3" in codes(catalog.search("XXBJSXZD"))  # any case


def test_own_department_first(catalog: Icd10Catalog) -> None:
    mixed = catalog.search("xg", limit=200)  # 血管… (neurology) and 血… others
    assert mixed
    neuro_first = catalog.search("xg", limit=200, department="neurology")
    first_other = next(i for i, e in enumerate(neuro_first) if "neurology" not in e.departments) \
        if any("neurology" not in e.departments for e in neuro_first) else len(neuro_first)
    assert all("neurology" in e.departments for e in neuro_first[:first_other])
    empty = catalog.search("", limit=5, department="hematology")
    assert len(empty) == 5 and all("hematology" in e.departments for e in empty)


def test_search_model(catalog: Icd10Catalog, qtmodeltester: Any) -> None:
    model = Icd10SearchModel(catalog, department="endocrinology", limit=20)
    qtmodeltester.check(model)
    model.set_query("tnb")
    assert 0 < model.rowCount() <= 20
    first = model.index(0, 0)
    shown = [model.data(model.index(r, 0), Icd10SearchModel.CodeRole) for r in range(model.rowCount())]
    assert "E10.9" in shown and shown[0] == "G63.2"  # 糖尿病性… starts with tnb: ranked before "…型糖尿病…"
    assert model.data(first).startswith(model.data(first, Icd10SearchModel.CodeRole))
    qtmodeltester.check(model)
    model.set_query("nothing-like-this")
    assert model.rowCount() == 0


def test_csv_is_what_the_script_writes() -> None:
    import importlib.util

    spec = importlib.util.spec_from_file_location("make_icd10", DEFAULT_PATH.parents[2] / "scripts" / "make_icd10.py")
    assert spec is not None and spec.loader is not None
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    assert DEFAULT_PATH.read_text(encoding="utf-8") == script.render()


def test_the_shipped_initials_table_agrees_with_pypinyin() -> None:
    from workstation.models.pinyin import (
        CJK_FIRST,
        CJK_LAST,
        TABLE_PATH,
        initials_variants,
        many_initials,
        pypinyin_initial,
    )

    text = TABLE_PATH.read_text(encoding="ascii").strip()
    assert len(text) == CJK_LAST - CJK_FIRST + 1
    for ch in "张王李赵曾单长乐糖尿病血液科骨肿瘤癫痫":
        assert text[ord(ch) - CJK_FIRST] == pypinyin_initial(ch)
    assert many_initials(["张三", "欧阳娜娜", "阿卜杜·热合曼", "Tom李"]) == ["zs", "oynn", "abdrhm", "toml"]
    assert initials_variants("单田芳") == ["dtf", "stf"]
