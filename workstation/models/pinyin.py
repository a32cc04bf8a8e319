"""Pinyin initials for search boxes (张三 → ``zs``, 糖尿病 → ``tnb``), fast enough for 100,000 names.

Names: each character's initial comes from a table shipped in ``resources/icd10/hanzi_initials.txt`` (one
letter per character of the CJK Unified Ideographs block, written by ``scripts/make_icd10.py`` with pypinyin),
used as a ``str.translate`` table, so a name costs C speed and the workstation never waits for pypinyin's
dictionaries (a few hundred ms to import) at start-up. A character outside the table asks pypinyin once. A
surname read differently from the character's everyday reading (曾 zēng, not céng; 单 shàn, not dān) matches
both ways.

Phrases (diagnosis names) go through pypinyin whole, which knows 尿 in 糖尿病 is niào; the ICD-10 file carries
them precomputed, so that path only runs in the generator script or for a file without initials.
"""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from types import ModuleType
from typing import Any

TABLE_PATH = Path(__file__).resolve().parents[2] / "resources" / "icd10" / "hanzi_initials.txt"
CJK_FIRST, CJK_LAST = 0x4E00, 0x9FFF
NO_INITIAL = "_"

# surnames read differently from the character's first reading (the first character of a name)
SURNAME_INITIALS = {
    "曾": "z", "单": "s", "解": "x", "区": "o", "仇": "q", "朴": "p", "查": "z", "盖": "g", "乐": "y",
    "覃": "q", "尉": "y", "缪": "m", "秘": "b", "种": "c", "繁": "p", "员": "y", "句": "g", "阚": "k",
    "翟": "z", "召": "s", "折": "s", "黑": "h", "隗": "w", "长": "c", "重": "c", "藏": "z", "沈": "s",
    "柏": "b", "薄": "b", "宿": "s", "万": "w", "祭": "z", "能": "n", "皇": "h", "过": "g",
}

_pypinyin: ModuleType | None = None


def _pp() -> ModuleType:
    """pypinyin, imported on first use only."""
    global _pypinyin
    if _pypinyin is None:
        import pypinyin

        # medical words pypinyin reads wrong by default
        pypinyin.load_phrases_dict({"长骨": [["cháng"], ["gǔ"]]})
        _pypinyin = pypinyin
    return _pypinyin


def _first_letters(text: str, **kw: Any) -> list[str]:
    pp = _pp()
    return pp.lazy_pinyin(text, style=pp.Style.FIRST_LETTER, **kw)  # type: ignore[no-any-return]


def pypinyin_initial(ch: str) -> str | None:
    """One character's initial straight from pypinyin (the generator script builds the table with it)."""
    out = _first_letters(ch, errors="ignore")
    return out[0][:1].lower() if out and out[0] and out[0][0].isalnum() else None


class _InitialsTable(dict):  # type: ignore[type-arg]
    """A ``str.translate`` table that learns: a hit costs C speed, a character it lacks asks pypinyin once."""

    shipped = False  # filled from the shipped file: a CJK character missing from it has no reading

    def __missing__(self, codepoint: int) -> str | None:
        ch = chr(codepoint)
        if ch.isascii():
            value: str | None = ch.lower() if ch.isalnum() else None
        elif CJK_FIRST <= codepoint <= CJK_LAST and self.shipped:
            value = None  # the shipped table says this character has no reading
        else:
            value = pypinyin_initial(ch)
        self[codepoint] = value
        return value


SEPARATOR = "\x01"  # never in a name: joins many names into one string for a single translate call


# marks inside names (阿卜杜·热合曼) that have no initial: answered without asking pypinyin
_NAME_MARKS = "·•・．。　－—"


def _load_table() -> _InitialsTable:
    table = _InitialsTable({ord(SEPARATOR): SEPARATOR, **{ord(c): None for c in _NAME_MARKS}})
    try:
        text = TABLE_PATH.read_text(encoding="ascii").strip()
    except OSError:
        return table  # pypinyin answers every character then
    if len(text) == CJK_LAST - CJK_FIRST + 1:
        table.update({CJK_FIRST + i: c for i, c in enumerate(text) if c != NO_INITIAL})
        table.shipped = True
    return table


_TABLE = _load_table()


def char_initial(ch: str) -> str:
    """The initial of one character, lower case; a latin letter or digit stays itself, other marks ''."""
    return _TABLE[ord(ch)] or ""


def name_initials(name: str) -> str:
    """Initials of a person's name, character by character: 李小明 → ``lxm``."""
    return name.translate(_TABLE)


def many_initials(names: list[str]) -> list[str]:
    """:func:`name_initials` of many names in one C-speed pass (the 100,000-row queue)."""
    if not names:
        return []
    return SEPARATOR.join(names).translate(_TABLE).split(SEPARATOR)


def initials_variants(name: str) -> list[str]:
    """The name's initials, plus the surname reading when it differs (曾强 → ``cq`` and ``zq``)."""
    plain = name.translate(_TABLE)
    if name and name[0] in SURNAME_INITIALS:
        alt = SURNAME_INITIALS[name[0]] + plain[1:]
        if alt != plain:
            return [plain, alt]
    return [plain]


@lru_cache(maxsize=4096)
def phrase_initials(text: str) -> str:
    """Initials of a phrase with pypinyin's word context (polyphones read right): 2型糖尿病 → ``2xtnb``."""
    parts = _first_letters(text, errors=lambda chunk: list(chunk))
    out = []
    for p in parts:
        if not p:
            continue
        if len(p) > 1 and p.isascii():  # a run of latin letters/digits kept as is (e.g. "B12")
            out.append("".join(c.lower() for c in p if c.isalnum()))
        else:
            out.append(p[0].lower() if p[0].isalnum() else "")
    return "".join(out)
